// The answers to the intake questions that a decrypted message may carry
// (crypto.Answers in crypto/message.go), as the staff console shows them:
// a heading naming the questionnaire and its version, then one labelled
// row per answer, in the order they were asked.
//
// A message comes from a reporter and is hostile input. Only strings are
// taken (anything else is skipped), the number of rows and of values in a
// row is bounded, file names are cleaned as every file name is (safeName),
// and renderAnswers inserts every string with textContent (through the
// page's el helper, its "text" property), never as HTML.
// `candour decrypt` writes the same answers as text (cmd/candour/answers.go):
// keep the two readings alike.

import { safeName } from "./safename.js";

// maxRows bounds the answers shown (a questionnaire has at most 60
// questions); maxValues the choices or files listed in one answer.
export const maxRows = 100;
export const maxValues = 100;

const months = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];

// readableDate turns "2024-03" into "March 2024" and "2024-03-05" into
// "5 March 2024"; anything else is returned as it is.
export function readableDate(s) {
  const m = /^([0-9]{4})-(0[1-9]|1[0-2])(?:-(0[1-9]|[12][0-9]|3[01]))?$/.exec(s);
  if (!m) return s;
  const month = `${months[Number(m[2]) - 1]} ${m[1]}`;
  return m[3] ? `${Number(m[3])} ${month}` : month;
}

// readableRange is a date range in words: "March 2024 to May 2024",
// "from March 2024", "until May 2024"; "" if neither end is given.
export function readableRange(from, to) {
  const f = typeof from === "string" ? from : "";
  const t = typeof to === "string" ? to : "";
  if (f && t) return `${readableDate(f)} to ${readableDate(t)}`;
  if (f) return `from ${readableDate(f)}`;
  if (t) return `until ${readableDate(t)}`;
  return "";
}

const strings = (xs) => (Array.isArray(xs) ? xs.filter((x) => typeof x === "string") : []);

// answerRows returns a message's answers as { heading, rows, omitted }, or
// null if it has none. Each row has a label and one of:
//   text  — the answer as one text, its line breaks kept;
//   items — a list of texts (a multiple choice's choices; a file
//           question's files, each pointing to its attachment below).
// omitted counts the answers beyond maxRows, not shown.
export function answerRows(m) {
  const a = m && m.answers;
  if (!a || typeof a !== "object" || !Array.isArray(a.items)) return null;
  // The files that answer each file question, by question id, in order.
  const filesOf = new Map();
  for (const x of Array.isArray(m.attachments) ? m.attachments : []) {
    if (!x || typeof x.question !== "string" || typeof x.name !== "string") continue;
    if (!filesOf.has(x.question)) filesOf.set(x.question, []);
    filesOf.get(x.question).push(x.name);
  }
  const rows = [];
  let omitted = 0;
  for (const it of a.items) {
    if (!it || typeof it !== "object" || typeof it.label !== "string") continue;
    if (rows.length >= maxRows) {
      omitted++; // counted, not read: a hostile message may hold very many
      continue;
    }
    const row = answerRow(it, filesOf);
    if (row) rows.push(row);
  }
  if (rows.length === 0) return null;
  const id = typeof a.questionnaire === "string" && a.questionnaire ? a.questionnaire : "unknown questionnaire";
  const version = Number.isSafeInteger(a.version) ? `version ${a.version}` : "unknown version";
  return { heading: `Intake answers (${id}, ${version})`, rows, omitted };
}

// answerRow reads one answer by its type; an answer of no type (written
// before questionnaires had types) or of a type this console does not
// know is shown from its value, as it was written.
function answerRow(it, filesOf) {
  const label = it.label;
  const value = typeof it.value === "string" ? it.value : null;
  // At most maxValues of xs, each through show, and how many more there are.
  const bounded = (xs, show = (x) => x) =>
    xs
      .slice(0, maxValues)
      .map(show)
      .concat(xs.length > maxValues ? [`… and ${xs.length - maxValues} more`] : []);
  switch (it.type) {
    case "multi_choice": {
      const values = strings(it.values);
      if (values.length > 0) return { label, items: bounded(values) };
      break;
    }
    case "date_range":
    case "month_range": {
      const text = readableRange(it.from, it.to);
      if (text) return { label, text };
      break;
    }
    case "date":
      if (value) return { label, text: readableDate(value) };
      break;
    case "file": {
      const files = (typeof it.id === "string" && filesOf.get(it.id)) || [];
      if (files.length > 0) return { label, items: bounded(files, (n) => `${safeName(n)} (see the attachment below)`) };
      const names = strings(it.values);
      if (names.length > 0) return { label, items: bounded(names, (n) => `${safeName(n)} (not among this message's attachments)`) };
      break;
    }
  }
  if (value === null) return null;
  // Short and long text, choice, yes/no, answers without a type, and any
  // of the above whose structured parts are missing or junk: the value as
  // written.
  return { label, text: value };
}

// renderAnswers builds the answers' section with el(tag, props, ...children),
// the page's element helper, whose "text" property sets textContent.
export function renderAnswers({ heading, rows, omitted }, el) {
  const dl = el("dl", { class: "answers", "aria-label": heading });
  for (const r of rows) {
    dl.append(el("dt", { text: r.label }));
    if (r.items) dl.append(el("dd", {}, el("ul", { class: "answer-values" }, ...r.items.map((v) => el("li", { text: v })))));
    else dl.append(el("dd", { class: "pre-wrap", text: r.text })); // a long text keeps its line breaks
  }
  const section = el("section", { class: "answers" }, el("h3", { text: heading }), dl);
  if (omitted > 0) section.append(el("p", { class: "notice", text: `${omitted} more answers are not shown: decrypt this case with candour decrypt to read them all.` }));
  return section;
}

// questionLabels maps each answered question's id to its label, so that an
// attachment can say which question it answers (Attachment.question).
export function questionLabels(m) {
  const labels = new Map();
  const items = m && m.answers && Array.isArray(m.answers.items) ? m.answers.items : [];
  for (const it of items.slice(0, maxRows * 10)) {
    if (it && typeof it.id === "string" && typeof it.label === "string" && !labels.has(it.id)) labels.set(it.id, it.label);
  }
  return labels;
}
