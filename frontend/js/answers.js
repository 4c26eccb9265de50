// The answers to the intake questions that a decrypted message may carry
// (crypto.Answers). A message comes from a reporter and is hostile input:
// only string labels and values are taken, and the caller inserts them
// with textContent, never as HTML.

// answerRows returns a message's answers as { heading, rows: [{ label, value }] },
// or null if it has none.
export function answerRows(m) {
  const a = m && m.answers;
  if (!a || typeof a !== "object" || !Array.isArray(a.items)) return null;
  const rows = [];
  for (const it of a.items) {
    if (!it || typeof it.label !== "string" || typeof it.value !== "string") continue;
    rows.push({ label: it.label, value: it.value });
  }
  if (rows.length === 0) return null;
  const id = typeof a.questionnaire === "string" ? a.questionnaire : "unknown";
  const version = Number.isInteger(a.version) ? a.version : "?";
  return { heading: `Answers (questionnaire ${id}, version ${version})`, rows };
}
