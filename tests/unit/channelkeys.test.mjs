// The channel key functions of the staff console (frontend/js/channelkeys.js)
// with the real age-encryption library: wraps open with the member's own key
// and no other, a channel's files open with its unwrapped identity and not
// another channel's, and nothing that fails is skipped quietly.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Decrypter, Encrypter } from "age-encryption";
import {
  base64ToBytes,
  bytesToBase64,
  newChannelKey,
  unwrapAll,
  unwrapGenerations,
  unwrapIdentity,
  wrapGenerations,
  wrapIdentity,
  wrapsForMembers,
} from "../../frontend/js/channelkeys.js";

const kinds = ["pq", "x25519"];

async function encryptTo(recipients, text) {
  const e = new Encrypter();
  for (const r of recipients) e.addRecipient(r);
  return e.encrypt(text);
}

async function decryptWith(identities, bytes) {
  const d = new Decrypter();
  for (const id of identities) d.addIdentity(id);
  return d.decrypt(bytes, "text");
}

test("base64 round trip, empty and longer than one chunk", () => {
  assert.equal(bytesToBase64(new Uint8Array()), "");
  const big = new Uint8Array(100_000).map((_, i) => (i * 7) & 0xff);
  const text = bytesToBase64(big);
  assert.equal(text, Buffer.from(big).toString("base64"));
  assert.deepEqual(base64ToBytes(text), big);
  assert.throws(() => base64ToBytes("not base64!"));
  assert.throws(() => base64ToBytes(undefined));
});

for (const kind of kinds) {
  test(`newChannelKey("${kind}") makes a matching identity and recipient`, async () => {
    const { identity, recipient } = await newChannelKey(kind);
    assert.match(identity, kind === "pq" ? /^AGE-SECRET-KEY-PQ-1/ : /^AGE-SECRET-KEY-1/);
    assert.match(recipient, kind === "pq" ? /^age1pq1/ : /^age1(?!pq1)/);
    assert.equal(await decryptWith([identity], await encryptTo([recipient], "hello")), "hello");
  });
}

test("newChannelKey refuses an unknown kind instead of falling back to X25519", async () => {
  await assert.rejects(newChannelKey("PQ"), /unknown channel key kind/);
  await assert.rejects(newChannelKey(undefined), /unknown channel key kind/);
});

for (const channelKind of kinds) {
  for (const memberKind of kinds) {
    test(`a ${channelKind} channel key wrapped to a ${memberKind} member round-trips`, async () => {
      const channel = await newChannelKey(channelKind);
      const member = await newChannelKey(memberKind);
      const wrap = await wrapIdentity(channel.identity, member.recipient);
      assert.ok(wrap instanceof Uint8Array);
      assert.equal(await unwrapIdentity(wrap, [member.identity]), channel.identity);
      // Also among other identities the member may have loaded.
      const other = await newChannelKey(memberKind);
      assert.equal(await unwrapIdentity(wrap, [other.identity, member.identity]), channel.identity);
    });
  }
}

test("a wrap is a standard age file holding an identity file, for stock age -d -i", async () => {
  const channel = await newChannelKey("pq");
  const member = await newChannelKey("x25519");
  const wrap = await wrapIdentity(channel.identity, member.recipient);
  assert.equal(new TextDecoder().decode(wrap.subarray(0, 21)), "age-encryption.org/v1");
  assert.equal(await decryptWith([member.identity], wrap), channel.identity + "\n");
});

for (const kind of kinds) {
  test(`unwrapping with the wrong ${kind} identity throws`, async () => {
    const channel = await newChannelKey(kind);
    const member = await newChannelKey(kind);
    const stranger = await newChannelKey(kind);
    const wrap = await wrapIdentity(channel.identity, member.recipient);
    await assert.rejects(unwrapIdentity(wrap, [stranger.identity]), /your key does not open this channel key wrap/);
  });
}

test("unwrapping with no identity throws", async () => {
  const channel = await newChannelKey("x25519");
  const wrap = await wrapIdentity(channel.identity, channel.recipient);
  await assert.rejects(unwrapIdentity(wrap, []), /no identity loaded/);
  await assert.rejects(unwrapIdentity(wrap, undefined), /no identity loaded/);
});

test("a wrap that opens but holds no identity is refused", async () => {
  const member = await newChannelKey("pq");
  const other = await newChannelKey("x25519");
  for (const plain of ["hello", "", other.identity + "\n" + other.identity + "\n", "AGE-SECRET-KEY-1lowercase", `x ${other.identity}`]) {
    const wrap = await encryptTo([member.recipient], plain);
    await assert.rejects(unwrapIdentity(wrap, [member.identity]), /does not hold an age identity/, JSON.stringify(plain));
  }
});

test("a wrap of an age-keygen file (comments, CRLF) opens", async () => {
  const member = await newChannelKey("pq");
  const channel = await newChannelKey("x25519");
  const file = `# created: 2026-01-01T00:00:00Z\r\n# public key: ${channel.recipient}\r\n${channel.identity}\r\n`;
  assert.equal(await unwrapIdentity(await encryptTo([member.recipient], file), [member.identity]), channel.identity);
});

test("wrapIdentity refuses what is not an identity or a recipient", async () => {
  const k = await newChannelKey("x25519");
  await assert.rejects(wrapIdentity("hello", k.recipient), /not an age identity/);
  await assert.rejects(wrapIdentity(k.identity, ""), /not an age recipient/);
  await assert.rejects(wrapIdentity(k.identity, k.identity), /not an age recipient/);
});

for (const kind of kinds) {
  test(`a file to a ${kind} channel opens with its unwrapped identity, not with another channel's`, async () => {
    const member = await newChannelKey("pq");
    const channelA = await newChannelKey(kind);
    const channelB = await newChannelKey(kind);
    const keys = {
      channel: 1,
      generation: 1,
      recipient: channelA.recipient,
      wraps: { 1: bytesToBase64(await wrapIdentity(channelA.identity, member.recipient)) },
      members: [],
    };
    const org = await newChannelKey("pq");
    const report = await encryptTo([org.recipient, channelA.recipient], "PC Grey shared a meme.");
    const ids = await unwrapAll(keys, [member.identity]);
    assert.deepEqual(ids, [channelA.identity]);
    assert.equal(await decryptWith([member.identity, ...ids], report), "PC Grey shared a meme.");
    // The member's own key alone, or another channel's key, opens nothing.
    await assert.rejects(decryptWith([member.identity], report));
    await assert.rejects(decryptWith([member.identity, channelB.identity], report));
  });
}

test("wrapsForMembers wraps to every member, by staff id, each opening with that member's key only", async () => {
  const channel = await newChannelKey("pq");
  const alice = await newChannelKey("pq");
  const bob = await newChannelKey("x25519");
  const members = [
    { id: 3, username: "alice", recipient: alice.recipient, generations: [] },
    { id: 12, username: "bob", recipient: bob.recipient, generations: [1] },
  ];
  const wraps = await wrapsForMembers(channel.identity, members);
  assert.deepEqual(Object.keys(wraps).sort(), ["12", "3"]);
  assert.equal(await unwrapIdentity(base64ToBytes(wraps["3"]), [alice.identity]), channel.identity);
  assert.equal(await unwrapIdentity(base64ToBytes(wraps["12"]), [bob.identity]), channel.identity);
  await assert.rejects(unwrapIdentity(base64ToBytes(wraps["3"]), [bob.identity]));
  // JSON as posted in the form field.
  assert.deepEqual(JSON.parse(JSON.stringify(wraps)), wraps);
});

test("wrapsForMembers names every member without a key and wraps to nobody", async () => {
  const channel = await newChannelKey("x25519");
  const alice = await newChannelKey("pq");
  const members = [
    { id: 1, username: "alice", recipient: alice.recipient },
    { id: 2, username: "bob", recipient: "" },
    { id: 3, username: "carol" }, // no recipient field at all
  ];
  await assert.rejects(wrapsForMembers(channel.identity, members), (err) => {
    assert.match(err.message, /have not registered their own key/);
    assert.match(err.message, /bob/);
    assert.match(err.message, /carol/);
    assert.doesNotMatch(err.message, /alice/);
    return true;
  });
});

test("wrapsForMembers names a member whose recipient is not an age recipient", async () => {
  const channel = await newChannelKey("x25519");
  await assert.rejects(wrapsForMembers(channel.identity, [{ id: 4, username: "dave", recipient: "ssh-ed25519 AAAA" }]), /dave/);
  await assert.rejects(wrapsForMembers(channel.identity, [{ id: 4, username: "dave", recipient: "age1notreally" }]), /dave/);
});

test("wrapsForMembers of no members is an empty object", async () => {
  const channel = await newChannelKey("x25519");
  assert.deepEqual(await wrapsForMembers(channel.identity, []), {});
  await assert.rejects(wrapsForMembers(channel.identity, undefined), /must be a list/);
});

test("unwrapGenerations returns every generation in order; wrapGenerations grants them all", async () => {
  const member = await newChannelKey("pq");
  const gens = [await newChannelKey("pq"), await newChannelKey("pq"), await newChannelKey("pq")];
  const wraps = {};
  // Inserted out of order, and with "10" to catch a string sort.
  for (const [gen, k] of [[10, gens[2]], [2, gens[1]], [1, gens[0]]]) wraps[gen] = bytesToBase64(await wrapIdentity(k.identity, member.recipient));
  const byGen = await unwrapGenerations({ wraps }, [member.identity]);
  assert.deepEqual([...byGen.keys()], [1, 2, 10]);
  assert.deepEqual([...byGen.values()], gens.map((k) => k.identity));
  assert.deepEqual(await unwrapAll({ wraps }, [member.identity]), gens.map((k) => k.identity));

  const grantee = await newChannelKey("x25519");
  const granted = await wrapGenerations(byGen, grantee.recipient);
  assert.deepEqual(Object.keys(granted), ["1", "2", "10"]);
  assert.deepEqual(await unwrapGenerations({ wraps: granted }, [grantee.identity]), byGen);
});

test("unwrapAll with no wraps is empty", async () => {
  const member = await newChannelKey("pq");
  assert.deepEqual(await unwrapAll({ channel: 1, generation: 0, recipient: "", wraps: {}, members: [] }, [member.identity]), []);
});

test("unwrapAll ignores nothing silently: one bad wrap fails the whole, naming its generation", async () => {
  const member = await newChannelKey("pq");
  const stranger = await newChannelKey("pq");
  const good = await newChannelKey("pq");
  const bad = await newChannelKey("pq");
  const wraps = {
    1: bytesToBase64(await wrapIdentity(good.identity, member.recipient)),
    2: bytesToBase64(await wrapIdentity(bad.identity, stranger.recipient)),
  };
  await assert.rejects(unwrapAll({ wraps }, [member.identity]), /generation 2: your key does not open/);
  await assert.rejects(unwrapAll({ wraps: { 1: "%%%" } }, [member.identity]), /generation 1/);
  await assert.rejects(unwrapAll({ wraps: { 1: bytesToBase64(new TextEncoder().encode("not age")) } }, [member.identity]), /generation 1/);
  await assert.rejects(unwrapAll({ wraps: { one: wraps[1] } }, [member.identity]), /malformed channel key generation/);
  await assert.rejects(unwrapAll({ wraps: { 0: wraps[1] } }, [member.identity]), /malformed channel key generation/);
  for (const answer of [{}, { wraps: null }, { wraps: [] }, null, undefined]) {
    await assert.rejects(unwrapAll(answer, [member.identity]), /no wraps object/, JSON.stringify(answer));
  }
  // With no identity loaded, a non-empty set of wraps cannot be opened.
  await assert.rejects(unwrapAll({ wraps: { 1: wraps[1] } }, []), /no identity loaded/);
});
