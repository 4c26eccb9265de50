// A key held by a passkey (frontend/js/keywrap.js), with a stand-in
// authenticator: the PRF of a credential is HMAC-SHA-256 under a secret of
// its own of SHA-256("WebAuthn PRF" || 0 || input), as a CTAP2 hmac-secret
// authenticator computes it for the browser. Protecting and unlocking
// round-trip, another credential does not open the file, a browser
// without PRF gets the message that says to use the key file, and the
// file is a standard age file with one fido2prf stanza.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash, createHmac, randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { armor, generateHybridIdentity } from "age-encryption";
import { bech32 } from "@scure/base";

const credentials = new Map(); // base64 credential id → secret
let nextSecret = null; // the secret of the next credential made
let prfEnabled = true;
let chosen = null; // the credential a discoverable request gets

function prf(secret, input) {
  const salt = createHash("sha256").update(Buffer.concat([Buffer.from("WebAuthn PRF"), Buffer.from([0]), Buffer.from(input)])).digest();
  return new Uint8Array(createHmac("sha256", secret).update(salt).digest());
}

const authenticator = {
  async create({ publicKey }) {
    assert.deepEqual(publicKey.extensions, { prf: {} });
    const id = new Uint8Array(randomBytes(16));
    credentials.set(Buffer.from(id).toString("base64"), nextSecret || randomBytes(32));
    chosen = id;
    return {
      rawId: id.buffer,
      response: { getTransports: () => ["internal"] },
      getClientExtensionResults: () => (prfEnabled ? { prf: { enabled: true } } : {}),
    };
  },
  async get({ publicKey }) {
    const allowed = publicKey.allowCredentials.length ? new Uint8Array(publicKey.allowCredentials[0].id) : chosen;
    const secret = credentials.get(Buffer.from(allowed).toString("base64"));
    if (!secret) throw Object.assign(new Error("no credential"), { name: "NotAllowedError" });
    const { first, second } = publicKey.extensions.prf.eval;
    return { getClientExtensionResults: () => (prfEnabled ? { prf: { results: { first: prf(secret, first), second: prf(secret, second) } } } : {}) };
  },
};
if (globalThis.navigator) Object.defineProperty(globalThis.navigator, "credentials", { value: authenticator, configurable: true });
else globalThis.navigator = { credentials: authenticator };
// createCredential's default RP ID comes from the page's origin.
globalThis.window = { origin: "http://localhost:8080" };

const { protectIdentity, unlockIdentity, explain, noPRF } = await import("../../frontend/js/keywrap.js");

test("a key protected with a passkey unlocks with the same passkey, and not with another", async () => {
  const own = await generateHybridIdentity();
  const { file, identity } = await protectIdentity([own], { type: "passkey", keyName: "erin" });
  assert.match(identity, /^AGE-PLUGIN-FIDO2PRF-1[0-9A-Z]+$/);
  assert.match(file, /^-----BEGIN AGE ENCRYPTED FILE-----/);
  const header = new TextDecoder().decode(armor.decode(file)).split("\n---")[0];
  const stanzas = header.split("\n").filter((l) => l.startsWith("-> "));
  assert.equal(stanzas.length, 1);
  assert.match(stanzas[0], /^-> age-encryption\.org\/fido2prf [A-Za-z0-9+/]{22}$/);
  assert.ok(!file.includes("AGE-SECRET-KEY"));

  // Discoverable (no identity string), by the string, and as bytes.
  assert.deepEqual(await unlockIdentity(file), [own]);
  assert.deepEqual(await unlockIdentity(file, identity), [own]);
  assert.deepEqual(await unlockIdentity(new TextEncoder().encode(file), identity), [own]);

  await protectIdentity([own], { type: "passkey" }); // another credential, now chosen
  await assert.rejects(unlockIdentity(file), (err) => /does not open your protected key/.test(explain(err)));
});

test("a browser or key without PRF is told to use the key file", async () => {
  prfEnabled = false;
  try {
    const own = await generateHybridIdentity();
    await assert.rejects(protectIdentity([own]), (err) => explain(err) === noPRF);
  } finally {
    prfEnabled = true;
  }
  assert.equal(explain(Object.assign(new Error("x"), { name: "NotAllowedError" })).startsWith("The passkey was not used"), true);
});

// The file that cmd/candour's decrypt test opens with its emulated
// authenticator (cmd/candour/testdata/fido2prf-plugin): made by this very
// code, so that the Go derivation is checked against the JS one. Written
// again with WRITE_FIDO2PRF_FIXTURE=1; otherwise the committed one must
// still open here.
test("the committed fixture for candour decrypt opens with the stand-in authenticator", async () => {
  const dir = new URL("../../cmd/candour/testdata/", import.meta.url);
  const secret = Buffer.from("candour test authenticator secre"); // 32 bytes, as in the Go test plugin
  if (process.env.WRITE_FIDO2PRF_FIXTURE) {
    nextSecret = secret;
    const own = await generateHybridIdentity();
    const { file, identity } = await protectIdentity([own], { type: "security-key", keyName: "fixture" });
    nextSecret = null;
    writeFileSync(new URL("fido2prf-wrapped.age", dir), file);
    writeFileSync(new URL("fido2prf-identity.txt", dir), identity + "\n");
    writeFileSync(new URL("fido2prf-unwrapped.txt", dir), own + "\n");
  }
  const identity = readFileSync(new URL("fido2prf-identity.txt", dir), "utf8").trim();
  credentials.set(Buffer.from(credIdOf(identity)).toString("base64"), secret);
  const file = readFileSync(new URL("fido2prf-wrapped.age", dir), "utf8");
  const own = readFileSync(new URL("fido2prf-unwrapped.txt", dir), "utf8").trim();
  assert.deepEqual(await unlockIdentity(file, identity), [own]);
});

// credIdOf reads the credential id out of an AGE-PLUGIN-FIDO2PRF-1… string:
// bech32 of CBOR (the version, 1; the id, a byte string; …).
function credIdOf(identity) {
  const b = bech32.fromWords(bech32.decode(identity, false).words);
  assert.equal(b[0], 1, "identity version");
  const info = b[1] & 0x1f;
  assert.equal(b[1] >> 5, 2, "a byte string");
  if (info < 24) return b.subarray(2, 2 + info);
  assert.equal(info, 24);
  return b.subarray(3, 3 + b[2]);
}
