// Channel keys (docs/channels.md, "The key hierarchy"): a channel's age
// identity of each generation is stored only as "wraps", standard age files
// holding the identity's text, each encrypted to one member's own recipient.
// These functions make and open wraps. They touch no DOM and no network, so
// that node can test them and the console script stays thin.
//
// Nothing here ever sends an identity anywhere: callers post only
// recipients and wraps.

import { Decrypter, Encrypter, generateHybridIdentity, generateX25519Identity, identityToRecipient } from "age-encryption";

// A single age secret key: classic (AGE-SECRET-KEY-1…) or post-quantum
// hybrid (AGE-SECRET-KEY-PQ-1…), Bech32 upper case.
const identityPattern = /^AGE-SECRET-KEY-(PQ-)?1[02-9AC-HJ-NP-Z]+$/;

// Base64 through btoa/atob, which browsers and node both have; chunked so
// that large files do not overflow the argument list of fromCharCode.
export function bytesToBase64(bytes) {
  let bin = "";
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin);
}

export function base64ToBytes(text) {
  if (typeof text !== "string") throw new Error("expected base64 text");
  const bin = atob(text); // throws on anything that is not base64
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

// parseIdentity returns the one secret key in text. Comment and blank lines
// are allowed so that a wrap made with stock age from an age-keygen file
// also opens; anything else (or a second key) is refused, because a wrap
// that holds something other than one key is not one we made.
function parseIdentity(text) {
  const lines = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
  if (lines.length !== 1 || !identityPattern.test(lines[0])) {
    throw new Error("the channel key wrap does not hold an age identity (AGE-SECRET-KEY-…)");
  }
  return lines[0];
}

// wrapIdentity encrypts identity to one recipient. The plaintext is the
// identity and a newline: a valid identity file for `age -d -i`, so a
// member can open an exported case with stock age.
export async function wrapIdentity(identity, recipient) {
  if (typeof identity !== "string" || !identityPattern.test(identity)) throw new Error("not an age identity (AGE-SECRET-KEY-…)");
  if (typeof recipient !== "string" || !recipient.startsWith("age1")) throw new Error(`not an age recipient: ${JSON.stringify(recipient)}`);
  const e = new Encrypter();
  e.addRecipient(recipient);
  return e.encrypt(identity + "\n");
}

// unwrapIdentity opens a wrap with the member's own identities.
export async function unwrapIdentity(wrapBytes, ownIdentities) {
  if (!Array.isArray(ownIdentities) || ownIdentities.length === 0) throw new Error("no identity loaded to open the channel key with");
  const d = new Decrypter();
  for (const id of ownIdentities) d.addIdentity(id);
  let text;
  try {
    text = await d.decrypt(wrapBytes, "text");
  } catch (err) {
    throw new Error(`your key does not open this channel key wrap (${err.message})`);
  }
  return parseIdentity(text);
}

// newChannelKey makes a channel identity of the organisation's kind. An
// unknown kind is an error rather than a quiet fall back to X25519: the
// fall back would drop post-quantum protection without anyone noticing.
export async function newChannelKey(kind) {
  let identity;
  if (kind === "pq") identity = await generateHybridIdentity();
  else if (kind === "x25519") identity = await generateX25519Identity();
  else throw new Error(`unknown channel key kind ${JSON.stringify(kind)} (want "pq" or "x25519")`);
  return { identity, recipient: await identityToRecipient(identity) };
}

// unwrapGenerations opens every wrap in the answer of GET
// /staff/channels/:id/keys and returns a Map generation → identity, in
// increasing generation. A wrap that does not open is an error, not a gap:
// it means the loaded key is not the one the member registered, or the
// wrap is damaged, and the caseworker must be told which.
export async function unwrapGenerations(keysJSON, ownIdentities) {
  const wraps = keysJSON && keysJSON.wraps;
  if (wraps === null || typeof wraps !== "object" || Array.isArray(wraps)) throw new Error("the server's channel keys answer has no wraps object");
  const gens = Object.keys(wraps).sort((a, b) => Number(a) - Number(b));
  const out = new Map();
  for (const gen of gens) {
    if (!/^[1-9][0-9]*$/.test(gen)) throw new Error(`malformed channel key generation ${JSON.stringify(gen)}`);
    try {
      out.set(Number(gen), await unwrapIdentity(base64ToBytes(wraps[gen]), ownIdentities));
    } catch (err) {
      throw new Error(`channel key generation ${gen}: ${err.message}`);
    }
  }
  return out;
}

// unwrapAll is unwrapGenerations without the generation numbers: the list
// to add to a Decrypter.
export async function unwrapAll(keysJSON, ownIdentities) {
  return [...(await unwrapGenerations(keysJSON, ownIdentities)).values()];
}

// wrapsForMembers wraps identity to each member's own recipient, as the
// POST /staff/channels/:id/key field "wraps" wants (staff id → base64). A
// member without a registered key would silently lose access, so their
// names make it an error instead: they must register a key first.
export async function wrapsForMembers(identity, members) {
  if (!Array.isArray(members)) throw new Error("members must be a list");
  const missing = members.filter((m) => typeof m.recipient !== "string" || m.recipient === "");
  if (missing.length > 0) {
    const names = missing.map((m) => m.username || `staff ${m.id}`).join(", ");
    throw new Error(`These members have not registered their own key, so they cannot be given the channel key: ${names}. Ask them to register one on their key page first.`);
  }
  const out = {};
  for (const m of members) {
    try {
      out[String(m.id)] = bytesToBase64(await wrapIdentity(identity, m.recipient));
    } catch (err) {
      throw new Error(`cannot wrap the channel key to ${m.username || `staff ${m.id}`}: ${err.message}`);
    }
  }
  return out;
}

// wrapGenerations wraps each generation's identity to one recipient, as the
// POST /staff/channels/:id/grant field "wraps" wants (generation → base64).
export async function wrapGenerations(identitiesByGeneration, recipient) {
  const out = {};
  for (const [gen, identity] of identitiesByGeneration) out[String(gen)] = bytesToBase64(await wrapIdentity(identity, recipient));
  return out;
}
