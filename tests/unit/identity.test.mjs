// The identity functions of the staff console (frontend/js/identity.js)
// with the real age-encryption library: a custodian's key opens the
// custodians' block, a grant made from it opens with the requester's key
// and no other, and malformed details are refused rather than shown.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Decrypter, Encrypter } from "age-encryption";
import { newChannelKey } from "../../frontend/js/channelkeys.js";
import { identityRows, openIdentity, parseIdentityDetails, regrant } from "../../frontend/js/identity.js";

async function encryptTo(recipients, text) {
  const e = new Encrypter();
  for (const r of recipients) e.addRecipient(r);
  return e.encrypt(text);
}

const details = { v: 1, name: "Jane <b>Doe</b>", contact: "jane@example.org", role: "" };

test("a custodian opens the block and grants it to one caseworker only", async () => {
  const custodian = await newChannelKey("pq");
  const other = await newChannelKey("pq");
  const alex = await newChannelKey("x25519");
  const blake = await newChannelKey("x25519");
  const block = await encryptTo([custodian.recipient, other.recipient], JSON.stringify(details));

  const opened = await openIdentity(block, [custodian.identity]);
  assert.deepEqual(opened, { name: "Jane <b>Doe</b>", contact: "jane@example.org", role: "" });
  assert.deepEqual(identityRows(opened), [
    { label: "Name", value: "Jane <b>Doe</b>" },
    { label: "Contact details", value: "jane@example.org" },
  ]);

  const grant = await regrant(block, [custodian.identity], alex.recipient);
  assert.equal((await openIdentity(grant, [alex.identity])).name, "Jane <b>Doe</b>");
  await assert.rejects(openIdentity(grant, [blake.identity]), /does not open/);
  await assert.rejects(openIdentity(grant, [custodian.identity]), /does not open/);
  await assert.rejects(openIdentity(block, [alex.identity]), /does not open/);
  await assert.rejects(regrant(block, [alex.identity], blake.recipient), /does not open/);
  await assert.rejects(regrant(block, [custodian.identity], ""), /no registered age key/);
  await assert.rejects(openIdentity(block, []), /load your own key/);
  const d = new Decrypter();
  d.addIdentity(alex.identity);
  assert.deepEqual(JSON.parse(await d.decrypt(grant, "text")), details, "the grant is the same plaintext");
});

test("malformed identity details are refused", () => {
  for (const bad of ["not json", "null", '{"v":2,"name":"x"}', '{"v":1,"name":7}', "[1]"]) {
    assert.throws(() => parseIdentityDetails(bad), undefined, bad);
  }
  assert.deepEqual(parseIdentityDetails('{"v":1}'), { name: "", contact: "", role: "" });
});
