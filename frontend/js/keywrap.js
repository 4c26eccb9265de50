// A caseworker's age identity held by a passkey or security key (issue 15):
// their identity lines, encrypted in this tab to the authenticator with
// the WebAuthn PRF extension (age-encryption's webauthn.WebAuthnRecipient,
// the age-encryption.org/fido2prf stanza that age-plugin-fido2prf reads
// too), kept by the server with their account, and unlocked with one tap
// (webauthn.WebAuthnIdentity). The unwrapped identity goes to keyring.js,
// in the tab's memory, as one loaded from a file does. The server never
// sees it: it keeps a file it cannot open without the authenticator.
//
// No DOM here: fetch and navigator.credentials only where a function needs
// them, so that node can test this module with a stand-in authenticator.

import { Decrypter, Encrypter, armor, webauthn } from "age-encryption";
import { refusal } from "./refusal.js";

// noPRF is what a caseworker is told when the browser or the authenticator
// cannot do the PRF extension (or WebAuthn at all).
export const noPRF = "This browser or key cannot hold your key; use your key file.";

const wrappedURL = "/staff/key/wrapped";

let wrapped; // undefined: not asked yet; null: none; else {file, hint}

// protectIdentity makes a new credential (type "passkey": discoverable, on
// a device or in a password manager; "security-key": a key that keeps no
// passkeys, found through the identity string it returns) and encrypts
// lines to it. It returns the armored age file and the
// AGE-PLUGIN-FIDO2PRF-1… string naming the credential; the string is
// needed later only for a security key.
export async function protectIdentity(lines, { type = "passkey", keyName = "Candour key", rpId } = {}) {
  if (!Array.isArray(lines) || lines.length === 0) throw new Error("Load your key file first: it is what gets protected.");
  if (typeof navigator === "undefined" || !navigator.credentials) throw new Error(noPRF);
  const identity = await webauthn.createCredential({ keyName, type, rpId });
  const e = new Encrypter();
  e.addRecipient(new webauthn.WebAuthnRecipient({ identity }));
  const file = armor.encode(await e.encrypt(lines.join("\n") + "\n"));
  return { file, identity };
}

// unlockIdentity decrypts a wrapped identity file (armored text or bytes)
// with the authenticator: the credential that identity names, or any
// passkey of this site the browser offers if identity is "". It returns
// the AGE-SECRET-KEY-… lines it held.
export async function unlockIdentity(file, identity = "", { rpId } = {}) {
  if (typeof navigator === "undefined" || !navigator.credentials) throw new Error(noPRF);
  const d = new Decrypter();
  d.addIdentity(new webauthn.WebAuthnIdentity(identity ? { identity } : { rpId }));
  const text = await d.decrypt(toBytes(file), "text");
  const lines = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.startsWith("AGE-SECRET-KEY-"));
  if (lines.length === 0) throw new Error("The protected file holds no age identity.");
  return lines;
}

// toBytes is the binary age file of file, armored or not, text or bytes.
function toBytes(file) {
  const begin = "-----BEGIN AGE ENCRYPTED FILE-----";
  const text = typeof file === "string" ? file : new TextDecoder().decode(file.subarray(0, 64));
  if (!text.trimStart().startsWith(begin)) return typeof file === "string" ? new TextEncoder().encode(file) : file;
  return armor.decode(typeof file === "string" ? file : new TextDecoder().decode(file));
}

// explain turns a failure of the passkey into words for the caseworker.
export function explain(err) {
  const msg = String((err && err.message) || err);
  if (/PRF extension not available|PRF result/.test(msg) || (err && err.name === "NotSupportedError")) return noPRF;
  if (err && err.name === "NotAllowedError") {
    return "The passkey was not used: the request was cancelled or timed out, or none of your passkeys is on this device. Try again, or use your key file.";
  }
  if (err && err.name === "SecurityError") return "This address cannot use passkeys: open the console at its usual address (HTTPS or .onion). Use your key file here.";
  if (/incorrect|no identity matched|failed to decrypt/i.test(msg)) {
    return "That passkey or security key does not open your protected key. Use the one you protected it with, or your key file.";
  }
  return msg;
}

// wrappedIdentity is the account's wrapped identity as the server keeps it
// ({file: Uint8Array, hint}), or null if it keeps none; asked once per tab
// and remembered (it is useless without the authenticator), until
// rememberWrapped changes it.
export async function wrappedIdentity(fetchImpl = globalThis.fetch) {
  if (wrapped !== undefined) return wrapped;
  const res = await fetchImpl(wrappedURL, { credentials: "same-origin", headers: { Accept: "application/json" } });
  if (res.status === 404) return (wrapped = null);
  if (!res.ok) throw new Error(`the server refused the protected key (${res.status})`);
  const j = await res.json();
  wrapped = { file: base64ToBytes(j.file), hint: j.hint || "" };
  return wrapped;
}

// rememberWrapped sets what wrappedIdentity answers (after a save, a
// removal: null).
export function rememberWrapped(w) {
  wrapped = w;
}

// saveWrapped sends the wrapped file (and the identity string, for a
// security key) to be kept with the account.
export async function saveWrapped(csrf, file, hint, fetchImpl = globalThis.fetch) {
  const form = new FormData();
  form.append("csrf", csrf); // first: the server checks it before reading on
  form.append("hint", hint);
  form.append("file", new Blob([file], { type: "application/octet-stream" }), "wrapped.age");
  const res = await fetchImpl(wrappedURL, { method: "POST", body: form, credentials: "same-origin", headers: { Accept: "application/json" } });
  if (!res.ok) throw new Error(await refusal(res, "the protected key"));
  rememberWrapped({ file: typeof file === "string" ? new TextEncoder().encode(file) : file, hint });
}

function base64ToBytes(s) {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}
