// The staff console reads the answers to the intake questions out of a
// decrypted message, taking only strings.
import { test } from "node:test";
import assert from "node:assert/strict";
import { answerRows } from "../../frontend/js/answers.js";

test("a message without answers has no rows", () => {
  assert.equal(answerRows({ v: 1, text: "hi" }), null);
  assert.equal(answerRows({ v: 1, answers: null }), null);
  assert.equal(answerRows({ v: 1, answers: { items: [] } }), null);
  assert.equal(answerRows(null), null);
});

test("answers become labelled rows, in order, with their questionnaire named", () => {
  const got = answerRows({
    v: 1,
    answers: {
      questionnaire: "police-conduct",
      version: 1,
      items: [
        { id: "platform", label: "Where were the messages posted?", value: "WhatsApp" },
        { id: "when", label: "When did it happen, roughly?", value: "2024-03 to 2024-05" },
      ],
    },
  });
  assert.deepEqual(got, {
    heading: "Answers (questionnaire police-conduct, version 1)",
    rows: [
      { label: "Where were the messages posted?", value: "WhatsApp" },
      { label: "When did it happen, roughly?", value: "2024-03 to 2024-05" },
    ],
  });
});

test("items that are not strings are skipped, and markup stays text", () => {
  const got = answerRows({
    answers: {
      questionnaire: 7,
      version: "1",
      items: [{ label: { toString: () => "x" }, value: "v" }, null, { label: "<img src=x onerror=alert(1)>", value: "<b>" }],
    },
  });
  assert.deepEqual(got, { heading: "Answers (questionnaire unknown, version ?)", rows: [{ label: "<img src=x onerror=alert(1)>", value: "<b>" }] });
});
