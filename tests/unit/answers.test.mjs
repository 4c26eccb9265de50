// The staff console reads the answers to the intake questions out of a
// decrypted message, taking only strings, and shows them as a labelled
// form: one row per answer, by its type.
import { test } from "node:test";
import assert from "node:assert/strict";
import { answerRows, maxRows, maxValues, questionLabels, readableDate, readableRange, renderAnswers } from "../../frontend/js/answers.js";

const police = (items, extra = {}) => ({ v: 1, text: "t", answers: { questionnaire: "police-conduct", version: 1, items }, ...extra });
const rowOf = (item, extra) => answerRows(police([item], extra)).rows[0];

// A stand-in for the page's element helper: it records what would be
// built, and only the "text" property ever sets text (textContent).
function el(tag, props = {}, ...children) {
  const node = { tag, attrs: {}, text: undefined, children: [...children] };
  for (const [k, v] of Object.entries(props)) {
    if (k === "text") node.text = v;
    else node.attrs[k] = v;
  }
  node.append = (...c) => node.children.push(...c);
  return node;
}
const textOf = (n) => (n.text ?? "") + n.children.map(textOf).join("");
const find = (n, tag) => (n.tag === tag ? [n] : []).concat(...n.children.map((c) => find(c, tag)));

test("a message without answers has no rows", () => {
  assert.equal(answerRows({ v: 1, text: "hi" }), null);
  assert.equal(answerRows({ v: 1, answers: null }), null);
  assert.equal(answerRows({ v: 1, answers: { items: [] } }), null);
  assert.equal(answerRows({ v: 1, answers: "junk" }), null);
  assert.equal(answerRows({ v: 1, answers: { items: "junk" } }), null);
  assert.equal(answerRows(null), null);
});

test("the heading names the questionnaire and its version in plain words", () => {
  assert.equal(answerRows(police([{ id: "force", label: "Force?", value: "Kent" }])).heading, "Intake answers (police-conduct, version 1)");
  const channel = { answers: { questionnaire: "channel-3", version: 2, items: [{ label: "L", value: "v" }] } };
  assert.equal(answerRows(channel).heading, "Intake answers (channel-3, version 2)");
});

test("a short text, a choice and a yes/no answer are their value", () => {
  assert.deepEqual(rowOf({ id: "force", type: "short_text", label: "Which police force?", value: "Northshire <Police>" }), {
    label: "Which police force?",
    text: "Northshire <Police>",
  });
  assert.deepEqual(rowOf({ id: "platform", type: "choice", label: "Where?", value: "Microsoft Teams" }), { label: "Where?", text: "Microsoft Teams" });
  assert.deepEqual(rowOf({ id: "seen", type: "yes_no", label: "Did you see it?", value: "No" }), { label: "Did you see it?", text: "No" });
});

test("a long text keeps its line breaks, shown with white-space: pre-wrap", () => {
  const got = answerRows(police([{ id: "people", type: "long_text", label: "Who?", value: "A sergeant\n\nTwo constables" }]));
  assert.deepEqual(got.rows, [{ label: "Who?", text: "A sergeant\n\nTwo constables" }]);
  const dd = find(renderAnswers(got, el), "dd")[0];
  assert.equal(dd.text, "A sergeant\n\nTwo constables");
  assert.equal(dd.attrs.class, "pre-wrap");
});

test("a multiple choice is the list of its choices", () => {
  const got = rowOf({ id: "apps", type: "multi_choice", label: "Which apps?", value: "WhatsApp; Signal", values: ["WhatsApp", "Signal"] });
  assert.deepEqual(got, { label: "Which apps?", items: ["WhatsApp", "Signal"] });
  const li = find(renderAnswers(answerRows(police([{ type: "multi_choice", label: "Which apps?", values: ["WhatsApp", "Signal"] }])), el), "li");
  assert.deepEqual(
    li.map((n) => n.text),
    ["WhatsApp", "Signal"],
  );
});

test("a date range reads in words, by month or by day, either end alone", () => {
  const range = (from, to, precision = "") => rowOf({ id: "when", type: "date_range", label: "When?", value: "raw", from, to, precision }).text;
  assert.equal(range("2024-03", "2024-05"), "March 2024 to May 2024");
  assert.equal(range("2024-03", ""), "from March 2024");
  assert.equal(range(undefined, "2024-12"), "until December 2024");
  assert.equal(range("2024-03-05", "2024-05-31"), "5 March 2024 to 31 May 2024");
  // A legacy month range, too.
  assert.equal(rowOf({ type: "month_range", label: "When?", value: "2024-01 to 2024-02", from: "2024-01", to: "2024-02" }).text, "January 2024 to February 2024");
  // No ends: the value as written.
  assert.equal(rowOf({ type: "date_range", label: "When?", value: "2024-03 to 2024-05" }).text, "2024-03 to 2024-05");
  // Ends that are not dates are shown as they are, never invented.
  assert.equal(readableRange("2024-13", "soon"), "2024-13 to soon");
  assert.equal(readableDate("2024-02-30x"), "2024-02-30x");
});

test("a date reads in words", () => {
  assert.equal(rowOf({ type: "date", label: "On which day?", value: "2024-03-05" }).text, "5 March 2024");
});

test("a file answer names its files and points to the attachments of the same message", () => {
  const m = police([{ id: "evidence", type: "file", label: "Screenshots of the messages", value: "screenshot.png; chat.txt", values: ["screenshot.png", "chat.txt"] }], {
    attachments: [
      { id: 7, name: "screenshot.png", question: "evidence" },
      { id: 8, name: "other.pdf" },
      { id: 9, name: "../chat\u202e.txt", question: "evidence" },
    ],
  });
  assert.deepEqual(answerRows(m).rows, [
    { label: "Screenshots of the messages", items: ["screenshot.png (see the attachment below)", "chat_.txt (see the attachment below)"] },
  ]);
  assert.equal(questionLabels(m).get("evidence"), "Screenshots of the messages");
  // Names without attachments are still named, and said to be missing.
  assert.deepEqual(rowOf({ id: "evidence", type: "file", label: "Files", value: "a.png", values: ["a.png"] }), {
    label: "Files",
    items: ["a.png (not among this message's attachments)"],
  });
});

test("answers written before questionnaires had types are shown from their label and value", () => {
  const got = answerRows(
    police([
      { id: "platform", label: "Where were the messages posted?", value: "WhatsApp" },
      { id: "when", label: "When did it happen, roughly?", value: "2024-03 to 2024-05" },
    ]),
  );
  assert.deepEqual(got, {
    heading: "Intake answers (police-conduct, version 1)",
    rows: [
      { label: "Where were the messages posted?", text: "WhatsApp" },
      { label: "When did it happen, roughly?", text: "2024-03 to 2024-05" },
    ],
    omitted: 0,
  });
  // An unknown type is read the same way.
  assert.deepEqual(rowOf({ type: "rating", label: "How bad?", value: "4" }), { label: "How bad?", text: "4" });
});

test("items that are not strings are skipped, and markup stays text", () => {
  const got = answerRows({
    answers: {
      questionnaire: 7,
      version: "1",
      items: [
        { label: { toString: () => "x" }, value: "v" },
        null,
        "junk",
        { label: "no value" },
        { label: "L", value: 5 },
        { label: "<img src=x onerror=alert(1)>", value: "<b>" },
        { type: "multi_choice", label: "M", values: [1, { a: 1 }, "ok", null] },
        { type: "multi_choice", label: "N", value: "fallback", values: "not a list" },
        { type: "date_range", label: "D", value: "v", from: 2024, to: ["x"] },
      ],
    },
  });
  assert.deepEqual(got, {
    heading: "Intake answers (unknown questionnaire, unknown version)",
    rows: [
      { label: "<img src=x onerror=alert(1)>", text: "<b>" },
      { label: "M", items: ["ok"] },
      { label: "N", text: "fallback" },
      { label: "D", text: "v" },
    ],
    omitted: 0,
  });
  const section = renderAnswers(got, el);
  assert.deepEqual(find(section, "img"), []);
  assert.deepEqual(find(section, "b"), []);
  assert.ok(textOf(section).includes("<img src=x onerror=alert(1)>"));
  // Nothing set as HTML: the only properties are class and aria-label.
  const attrs = new Set(find(section, "dl").concat(find(section, "dd"), find(section, "section")).flatMap((n) => Object.keys(n.attrs)));
  for (const a of attrs) assert.ok(a === "class" || a === "aria-label", a);
});

test("the rows and the values of one row are bounded", () => {
  const many = Array.from({ length: maxRows + 25 }, (_, i) => ({ label: `Q${i}`, value: `A${i}` }));
  const got = answerRows(police(many));
  assert.equal(got.rows.length, maxRows);
  assert.equal(got.omitted, 25);
  const section = renderAnswers(got, el);
  assert.equal(find(section, "dt").length, maxRows);
  assert.match(textOf(section), /25 more answers are not shown/);
  const values = Array.from({ length: maxValues + 3 }, (_, i) => `v${i}`);
  const row = rowOf({ type: "multi_choice", label: "Many", values });
  assert.equal(row.items.length, maxValues + 1);
  assert.equal(row.items[maxValues], "… and 3 more");
});

test("rendered as a definition list under a heading, the order kept", () => {
  const got = answerRows(
    police([
      { id: "force", type: "short_text", label: "Force?", value: "Kent" },
      { id: "apps", type: "multi_choice", label: "Apps?", values: ["WhatsApp"] },
    ]),
  );
  const section = renderAnswers(got, el);
  assert.equal(section.tag, "section");
  assert.equal(find(section, "h3")[0].text, "Intake answers (police-conduct, version 1)");
  const dl = find(section, "dl")[0];
  assert.equal(dl.attrs.class, "answers");
  assert.deepEqual(
    dl.children.map((c) => `${c.tag}:${textOf(c)}`),
    ["dt:Force?", "dd:Kent", "dt:Apps?", "dd:WhatsApp"],
  );
});

test("a hostile message with very many answers and files is read in bounded time", () => {
  const n = 50000;
  const items = Array.from({ length: n }, () => ({ id: "f", type: "file", label: "Files", value: "" }));
  const attachments = Array.from({ length: n }, (_, i) => ({ id: i + 1, name: `… and ${i}`, question: "f" }));
  const start = Date.now();
  const got = answerRows(police(items, { attachments }));
  assert.ok(Date.now() - start < 2000, "too slow");
  assert.equal(got.rows.length, maxRows);
  assert.equal(got.omitted, n - maxRows);
  assert.equal(got.rows[0].items.length, maxValues + 1);
  assert.equal(got.rows[0].items[0], "… and 0 (see the attachment below)");
  assert.equal(got.rows[0].items[maxValues], `… and ${n - maxValues} more`);
});
