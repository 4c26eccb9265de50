// Confidential identity (docs/confidential-identity.md): a reporter's
// identity details are a standard age file whose plaintext is
// {"v":1,"name":…,"contact":…,"role":…}, encrypted to the custodians' own
// keys. A custodian opens it with their own identity; approving a request
// re-encrypts the same plaintext to the requesting caseworker's own
// recipient (the grant). These functions touch no DOM and no network, so
// that node can test them; nothing here sends an identity anywhere.

import { Decrypter, Encrypter } from "age-encryption";

const fields = [
  ["name", "Name"],
  ["contact", "Contact details"],
  ["role", "Role"],
];

// parseIdentityDetails checks the plaintext of an identity file and returns
// its fields as strings ("" when absent).
export function parseIdentityDetails(text) {
  let m;
  try {
    m = JSON.parse(text);
  } catch {
    throw new Error("the identity details are not the expected JSON");
  }
  if (m === null || typeof m !== "object" || m.v !== 1) throw new Error("unsupported identity details version");
  const out = {};
  for (const [k] of fields) {
    if (m[k] !== undefined && typeof m[k] !== "string") throw new Error(`identity field ${k} is not text`);
    out[k] = m[k] || "";
  }
  return out;
}

// identityRows labels the fields that were filled in, for display (the
// caller inserts them with textContent only).
export function identityRows(details) {
  return fields.filter(([k]) => details[k] !== "").map(([k, label]) => ({ label, value: details[k] }));
}

async function decryptText(bytes, ownIdentities) {
  if (!Array.isArray(ownIdentities) || ownIdentities.length === 0) throw new Error("load your own key first");
  const d = new Decrypter();
  for (const id of ownIdentities) d.addIdentity(id);
  try {
    return await d.decrypt(bytes, "text");
  } catch (err) {
    throw new Error(`your key does not open these identity details (${err.message})`);
  }
}

// openIdentity decrypts an identity file (the custodians' block or a grant)
// with the caller's own identities.
export async function openIdentity(bytes, ownIdentities) {
  return parseIdentityDetails(await decryptText(bytes, ownIdentities));
}

// regrant decrypts the custodians' block with the custodian's own
// identities and encrypts the same plaintext to one caseworker's recipient:
// the grant, an age file only that caseworker's key opens.
export async function regrant(bytes, ownIdentities, recipient) {
  if (typeof recipient !== "string" || !recipient.startsWith("age1")) throw new Error("the requester has no registered age key");
  const text = await decryptText(bytes, ownIdentities);
  parseIdentityDetails(text); // only a well-formed block is passed on
  const e = new Encrypter();
  e.addRecipient(recipient);
  return e.encrypt(text);
}
