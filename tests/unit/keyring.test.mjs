// The key held for the tab (frontend/js/keyring.js), with a stand-in
// sessionStorage: it is stored only when the caseworker asks, forgetting
// removes it everywhere, a page's callbacks end with the page, and the
// channel keys it opened are cached in memory and fetched again only when
// the cache does not cover what a page needs.
import { test, beforeEach } from "node:test";
import assert from "node:assert/strict";
import { generateHybridIdentity, identityToRecipient } from "age-encryption";
import { bytesToBase64, wrapIdentity } from "../../frontend/js/channelkeys.js";

class MemoryStorage {
  constructor() {
    this.items = new Map();
  }
  getItem(k) {
    return this.items.has(k) ? this.items.get(k) : null;
  }
  setItem(k, v) {
    this.items.set(k, String(v));
  }
  removeItem(k) {
    this.items.delete(k);
  }
}
globalThis.sessionStorage = new MemoryStorage();

const keyring = await import("../../frontend/js/keyring.js");
const own = await generateHybridIdentity();
const ownRecipient = await identityToRecipient(own);

beforeEach(() => {
  keyring.forgetIdentities();
  keyring.pageChanged();
  globalThis.sessionStorage = new MemoryStorage();
});

test("a key is held in memory, and stored only when the caseworker asks", async () => {
  assert.equal(keyring.currentIdentities(), null);
  await keyring.setIdentities([own]);
  assert.deepEqual(keyring.currentIdentities(), [own]);
  assert.equal(sessionStorage.items.size, 0, "a key not to be remembered was stored");
  keyring.setRemembered(true);
  assert.equal(keyring.remembered(), own);
  keyring.setRemembered(false);
  assert.equal(keyring.remembered(), null);
  await keyring.setIdentities([own], { remember: true });
  assert.equal(keyring.remembered(), own);
  // Loading another key without "remember" does not leave the first stored.
  await keyring.setIdentities(["AGE-SECRET-KEY-1OTHER"]);
  assert.equal(keyring.remembered(), null);
  keyring.forgetIdentities();
  assert.equal(keyring.currentIdentities(), null);
  assert.equal(sessionStorage.items.size, 0);
});

test("a page is told of a key loaded before it started and after, until the page changes", async () => {
  const seen = [];
  await keyring.onIdentities((ids) => seen.push(["first", ...ids]));
  assert.deepEqual(seen, [], "called without a key");
  await keyring.setIdentities([own]);
  assert.deepEqual(seen, [["first", own]]);
  keyring.pageChanged();
  await keyring.onIdentities((ids) => seen.push(["second", ...ids]));
  assert.deepEqual(seen, [["first", own], ["second", own]], "a page started with a key loaded was not told at once");
  await keyring.setIdentities([own]);
  assert.deepEqual(seen.map((s) => s[0]), ["first", "second", "second"], "the previous page's callback ran again");
});

test("a failing callback is reported and does not stop the others", async () => {
  const reported = [];
  keyring.reportTo((err) => reported.push(err.message));
  const ran = [];
  keyring.onIdentities(async () => {
    throw new Error("boom");
  });
  keyring.onIdentities(() => ran.push("other"));
  await keyring.setIdentities([own]);
  assert.deepEqual(reported, ["boom"]);
  assert.deepEqual(ran, ["other"]);
});

test("channel keys opened with the key are cached until they no longer cover what a page needs", async () => {
  const gen1 = await generateHybridIdentity();
  const gen2 = await generateHybridIdentity();
  let fetched = 0;
  let held = [gen1]; // the channel's generations, in order, wrapped to own
  const fetchKeys = async () => {
    fetched++;
    const wraps = {};
    for (const [i, id] of held.entries()) wraps[String(i + 1)] = bytesToBase64(await wrapIdentity(id, ownRecipient));
    return { wraps };
  };
  await assert.rejects(keyring.channelIdentities(2, { generation: 1 }, fetchKeys), /no identity loaded/);
  await keyring.setIdentities([own]);
  const first = await keyring.channelIdentities(2, { generation: 1, recipient: await identityToRecipient(gen1) }, fetchKeys);
  assert.deepEqual([...first], [[1, gen1]]);
  await keyring.channelIdentities(2, { generation: 1, recipient: await identityToRecipient(gen1) }, fetchKeys);
  assert.equal(fetched, 1, "the cached channel keys were fetched again");

  // A newer generation (a member was removed): the cache lacks its key.
  held = [gen1, gen2];
  const second = await keyring.channelIdentities(2, { generation: 1, recipient: await identityToRecipient(gen2) }, fetchKeys);
  assert.deepEqual([...second], [[1, gen1], [2, gen2]]);
  assert.equal(fetched, 2);
  keyring.dropChannel(2);
  await keyring.channelIdentities(2, { generation: 2 }, fetchKeys);
  assert.equal(fetched, 3, "a dropped channel was not fetched again");

  // A new key loaded, or the key forgotten, empties the cache.
  await keyring.setIdentities([own]);
  await keyring.channelIdentities(2, { generation: 2 }, fetchKeys);
  assert.equal(fetched, 4);
  keyring.forgetIdentities();
  await assert.rejects(keyring.channelIdentities(2, { generation: 2 }, fetchKeys), /no identity loaded/);
});
