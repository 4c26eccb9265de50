// The inbox's summary functions (frontend/js/inbox.js) with the real
// age-encryption library: a summary opens with the key it was sealed to
// and no other, hostile plaintext is reduced to bounded strings, and the
// search matches words case-insensitively in channel, first line and
// answers only.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Decrypter, Encrypter, generateX25519Identity, identityToRecipient } from "age-encryption";
import { bytesToBase64, newChannelKey, wrapIdentity } from "../../frontend/js/channelkeys.js";
import { answerLine, keyring, matches, maxAnswers, maxField, openSummary, parseSummary, queryWords } from "../../frontend/js/inbox.js";

const summary = {
  v: 1,
  channel: "Report misconduct",
  first_line: "Racist jokes in the Kent team chat",
  answers: [
    { label: "Which police force is this about?", value: "Kent Police" },
    { label: "Where were the messages posted?", value: "WhatsApp" },
  ],
};

test("a summary opens with the key it was sealed to, and not with another", async () => {
  const key = await generateX25519Identity();
  const other = await generateX25519Identity();
  const e = new Encrypter();
  e.addRecipient(await identityToRecipient(key));
  const sealed = await e.encrypt(JSON.stringify(summary));
  const d = new Decrypter();
  d.addIdentity(key);
  const s = await openSummary(sealed, d);
  assert.equal(s.channel, "Report misconduct");
  assert.equal(s.firstLine, "Racist jokes in the Kent team chat");
  assert.equal(answerLine(s), "Which police force is this about? Kent Police · Where were the messages posted? WhatsApp");
  // A label that is not a question is followed by a colon.
  assert.equal(answerLine({ answers: [{ label: "Police force", value: "Kent Police" }] }), "Police force: Kent Police");
  const wrong = new Decrypter();
  wrong.addIdentity(other);
  await assert.rejects(openSummary(sealed, wrong));
});

test("hostile summaries become bounded strings or are refused", () => {
  assert.throws(() => parseSummary("not json"), /not readable/);
  assert.throws(() => parseSummary(JSON.stringify({ ...summary, v: 2 })), /unknown version/);
  assert.throws(() => parseSummary("null"), /unknown version/);
  const s = parseSummary(
    JSON.stringify({
      v: 1,
      channel: { toString: "x" },
      first_line: "<img src=x onerror=alert(1)>" + "x".repeat(5000),
      answers: [
        { label: "ok", value: "fine" },
        { label: 1, value: "number label" },
        { label: "empty", value: "" },
        "a string",
        null,
        ...Array.from({ length: 20 }, (_, i) => ({ label: `l${i}`, value: "v" })),
      ],
    }),
  );
  assert.equal(s.channel, "");
  assert.equal(s.firstLine.length, maxField);
  assert.ok(s.firstLine.startsWith("<img"), "kept as text, to be inserted with textContent");
  // Only the first maxAnswers entries are looked at, and of those only
  // the one with a string label and a value is kept.
  assert.equal(maxAnswers, 5);
  assert.equal(s.answers.length, 1);
  assert.deepEqual(s.answers[0], { label: "ok", value: "fine" });
  assert.ok(s.answers.every((a) => typeof a.label === "string" && typeof a.value === "string" && a.value !== ""));
  assert.deepEqual(parseSummary(JSON.stringify({ v: 1 })), { channel: "", firstLine: "", answers: [] });
});

test("the search matches every word, in any case, in channel, first line or answers", () => {
  const s = parseSummary(JSON.stringify(summary));
  const yes = ["racist", "KENT", "kent whatsapp", "  Jokes   chat ", "misconduct", "police force", "whats"];
  const no = ["football", "kent football", "", "   "];
  for (const q of yes) assert.ok(matches(s, queryWords(q)), `${JSON.stringify(q)} should match`);
  for (const q of no) assert.ok(!matches(s, queryWords(q)), `${JSON.stringify(q)} should not match`);
  assert.ok(!matches(null, queryWords("kent")), "a case without a summary matches nothing");
  assert.equal(queryWords("x".repeat(1000)).join("").length, 200);
});

test("the keyring opens each channel's summaries with the generation they were sealed to, fetching its keys once", async () => {
  const own = await generateX25519Identity();
  const ownRecipient = await identityToRecipient(own);
  const gens = [await newChannelKey("x25519"), await newChannelKey("x25519")];
  const wraps = { 1: bytesToBase64(await wrapIdentity(gens[0].identity, ownRecipient)), 2: bytesToBase64(await wrapIdentity(gens[1].identity, ownRecipient)) };
  const fetched = [];
  const fetchKeys = async (channel) => {
    fetched.push(channel);
    if (channel === "7") throw new Error("refused");
    return { wraps };
  };
  const seal = async (recipient) => {
    const e = new Encrypter();
    e.addRecipient(recipient);
    return e.encrypt(JSON.stringify(summary));
  };
  const ring = keyring([own], fetchKeys);
  for (const [gen, key] of [[1, gens[0]], [2, gens[1]], [1, gens[0]]]) {
    const s = await openSummary(await seal(key.recipient), await ring("3", gen));
    assert.equal(s.firstLine, summary.first_line);
  }
  // A generation the server did not name (0) still opens with any held.
  assert.equal((await openSummary(await seal(gens[0].recipient), await ring("3", 0))).channel, summary.channel);
  // A channel whose keys are refused: the own key alone.
  assert.equal((await openSummary(await seal(ownRecipient), await ring("7", 1))).channel, summary.channel);
  await assert.rejects(openSummary(await seal(gens[0].recipient), await ring("7", 1)));
  assert.deepEqual(fetched, ["3", "7"]);
});
