// The inbox's summaries and search (docs/caseworker-guide.md, "The inbox").
//
// Each case has a short summary sealed by the server with the report
// (crypto.Summary in crypto/summary.go): the channel, the first line of the
// report and a few answers, an age file to the organisation's keys and the
// channel's. GET /staff/summaries gives a page of them, with the inbox's own
// filters; this script decrypts them with the caseworker's key (and the
// channel keys it opens, fetched once per channel and held in memory only),
// shows each under its case, and searches them, page after page, on this
// device. Nothing decrypted is sent anywhere or stored.
//
// A summary's plaintext comes from a reporter and is hostile input: only
// strings are taken, each bounded, and every one is inserted with
// textContent, never as HTML.

import { Decrypter } from "age-encryption";
import { base64ToBytes, unwrapGenerations } from "./channelkeys.js";
import { el } from "./dom.js";

// Bounds on what a decrypted summary may hold (the server's are lower:
// crypto.MaxSummary*); anything longer is cut.
export const maxField = 300;
export const maxAnswers = 5;
// maxQuery bounds the search text.
export const maxQuery = 200;

export const noSummary = "No summary (received before summaries were kept)";

// A case reference as the server makes them: only such a reference may
// shape a link.
const refPattern = /^[0-9A-Z]{4}-[0-9A-Z]{4}$/;

const text = (v) => (typeof v === "string" ? v.slice(0, maxField) : "");

// parseSummary checks a decrypted summary's JSON and returns
// { channel, firstLine, answers: [{ label, value }] }, or throws.
export function parseSummary(json) {
  let s;
  try {
    s = JSON.parse(json);
  } catch {
    throw new Error("the summary is not readable");
  }
  if (s === null || typeof s !== "object" || s.v !== 1) throw new Error("the summary is of an unknown version");
  const answers = [];
  if (Array.isArray(s.answers)) {
    for (const a of s.answers.slice(0, maxAnswers)) {
      if (a && typeof a === "object" && typeof a.label === "string" && typeof a.value === "string" && a.value !== "") {
        answers.push({ label: text(a.label), value: text(a.value) });
      }
    }
  }
  return { channel: text(s.channel), firstLine: text(s.first_line), answers };
}

// openSummary decrypts a summary (the bytes of an age file) with a
// Decrypter that holds the caller's identities.
export async function openSummary(bytes, decrypter) {
  return parseSummary(await decrypter.decrypt(bytes, "text"));
}

// summaryText is everything a search looks in: channel, first line and
// answers (labels and values), lower case.
export function summaryText(summary) {
  const parts = [summary.channel, summary.firstLine];
  for (const a of summary.answers) parts.push(a.label, a.value);
  return parts.join("\n").toLocaleLowerCase();
}

// queryWords splits a search into lower-case words.
export function queryWords(query) {
  return String(query).slice(0, maxQuery).toLocaleLowerCase().split(/\s+/).filter((w) => w !== "");
}

// matches reports whether a summary holds every word of the search, as
// part of a word or whole, case-insensitively.
export function matches(summary, words) {
  if (!summary || words.length === 0) return false;
  const hay = summaryText(summary);
  return words.every((w) => hay.includes(w));
}

// answerLine is the answers as "Label: value" pairs, one line; a label
// that is a question ("Which force?") is followed by its answer alone.
export function answerLine(summary) {
  return summary.answers.map((a) => (/[?:：؟]$/.test(a.label) ? `${a.label} ${a.value}` : `${a.label}: ${a.value}`)).join(" · ");
}


// summaryView is a summary as the inbox shows it: the first line, then the
// channel and the answers.
function summaryView(summary) {
  const out = [el("p", { class: "summary-first", text: summary.firstLine || "(no text: files or answers only)" })];
  const details = [`Channel: ${summary.channel}`];
  if (summary.answers.length > 0) details.push(answerLine(summary));
  out.push(el("p", { class: "hint summary-answers", text: details.join(" · ") }));
  return out;
}

// keyring opens summaries. A channel's keys (every generation the
// caseworker holds) are fetched and unwrapped once; then one Decrypter per
// channel and generation holds that generation's identity first, the
// channel's others next and the caseworker's own last. An age identity
// tries a file's stanzas in order, and a post-quantum one pays a full
// decapsulation for each: with the right identity first, and the channel's
// stanza first in the file (server/report_summary.go), a summary opens at
// the first try. A channel whose keys cannot be had is opened with the own
// key alone (an organisation key may still open it).
export function keyring(own, fetchKeys) {
  const channels = new Map(); // channel → Promise<Map generation → identity>
  const decrypters = new Map(); // "channel/generation" → Promise<Decrypter>
  const generationsOf = (channel) => {
    if (!channels.has(channel)) {
      channels.set(
        channel,
        fetchKeys(channel)
          .then((keys) => (keys ? unwrapGenerations(keys, own) : new Map()))
          .catch(() => new Map()),
      );
    }
    return channels.get(channel);
  };
  return (channel, generation) => {
    const key = `${channel}/${generation}`;
    if (!decrypters.has(key)) {
      decrypters.set(
        key,
        generationsOf(channel).then((byGeneration) => {
          const ids = [];
          if (byGeneration.has(generation)) ids.push(byGeneration.get(generation));
          for (const [gen, id] of [...byGeneration].reverse()) if (gen !== generation) ids.push(id);
          const d = new Decrypter();
          for (const id of [...ids, ...own]) d.addIdentity(id);
          return d;
        }),
      );
    }
    return decrypters.get(key);
  };
}

// fetchChannelKeys is GET /staff/channels/:id/keys, or null if refused.
async function fetchChannelKeys(channel) {
  const res = await fetch(`/staff/channels/${encodeURIComponent(channel)}/keys`, {
    credentials: "same-origin",
    headers: { Accept: "application/json" },
  });
  return res.ok ? res.json() : null;
}

// decryptRows opens the summaries of one page's rows (from GET
// /staff/summaries): each row gets summary (or null) and, if it did not
// open, problem.
async function decryptRows(rows, decrypterOf) {
  return Promise.all(
    rows.map(async (row) => {
      const out = { ref: String(row.ref), summary: null, problem: null };
      if (row.summary === null || row.summary === undefined) return out;
      try {
        out.summary = await openSummary(base64ToBytes(row.summary), await decrypterOf(String(row.channel), Number(row.generation) || 0));
      } catch (err) {
        out.problem = `Summary not decrypted: ${err.message}`;
      }
      return out;
    }),
  );
}

// fetchPage is the page of summaries at a cursor ("": the first page).
async function fetchPage(baseURL, at, signal) {
  const sep = baseURL.includes("?") ? "&" : "?";
  const url = at ? `${baseURL}${sep}at=${encodeURIComponent(at)}` : baseURL;
  const res = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" }, signal });
  if (!res.ok) throw new Error(`the server refused the summaries (${res.status})`);
  const answer = await res.json();
  if (!answer || !Array.isArray(answer.rows)) throw new Error("the server's summaries answer has no rows");
  return answer;
}

// inboxPage wires the inbox: once the caseworker's key is loaded (the
// onIdentities callback, called with their own identity lines now if one
// is loaded and whenever one is), the rows of this page show their
// summaries and the search box appears.
export function inboxPage(data, { onIdentities }) {
  const baseURL = data.dataset.summariesUrl;
  // This page's cursor ("" for the first page) and the next one's.
  const at = data.dataset.at || "";
  const next = data.dataset.next || "";
  // How many cases the list holds, or, with totalMore, more than that.
  const total = Number(data.dataset.total) || 0;
  const totalMore = data.dataset.totalMore !== undefined;
  const ofTotal = (n) => (totalMore ? `${n} of more than ${total.toLocaleString("en")} cases` : `${n} of ${total} cases`);
  const table = document.getElementById("inbox-cases");
  const rowsOf = (ref) => (table ? [...table.querySelectorAll("tr[data-ref]")].filter((tr) => tr.dataset.ref === ref) : []);
  let session = 0; // a key loaded again starts over
  let decrypterOf = null;
  // Decrypted pages, by cursor: a search walks each once per key. Each
  // is { rows, next }: next is the following page's cursor, "" after the
  // last.
  const pageCache = new Map();

  const loadPage = async (cursor, signal) => {
    if (!pageCache.has(cursor)) {
      const answer = await fetchPage(baseURL, cursor, signal);
      const next = typeof answer.next === "string" ? answer.next : "";
      pageCache.set(cursor, { rows: await decryptRows(answer.rows, decrypterOf), next });
    }
    return pageCache.get(cursor);
  };

  onIdentities(async (own) => {
    const mine = ++session;
    const started = performance.now();
    data.dataset.state = "decrypting";
    decrypterOf = keyring(own, fetchChannelKeys);
    pageCache.clear();
    const { rows } = await loadPage(at);
    if (mine !== session) return;
    for (const r of rows) {
      for (const tr of rowsOf(r.ref)) {
        const box = tr.querySelector(".case-summary");
        if (!box) continue;
        if (r.summary) box.replaceChildren(...summaryView(r.summary));
        else box.replaceChildren(el("p", { class: "hint", text: r.problem || noSummary }));
        box.hidden = false;
      }
    }
    // How long from the key to the page's summaries shown (docs/benchmarks.md).
    data.dataset.renderedMs = String(Math.round(performance.now() - started));
    data.dataset.rendered = String(rows.length);
    data.dataset.state = "done";
    setupSearch();
  });

  let searchReady = false;
  function setupSearch() {
    const section = document.getElementById("inbox-search");
    if (!section || searchReady) {
      if (section) section.hidden = false;
      return;
    }
    searchReady = true;
    section.hidden = false;
    const form = document.getElementById("inbox-search-form");
    const input = document.getElementById("inbox-search-text");
    const go = document.getElementById("inbox-search-go");
    const stop = document.getElementById("inbox-search-stop");
    const progressBox = document.getElementById("inbox-search-progress-box");
    const progress = document.getElementById("inbox-search-progress");
    const statusBox = document.getElementById("inbox-search-status");
    const results = document.getElementById("inbox-search-results");
    let controller = null;

    stop.addEventListener("click", () => controller && controller.abort());
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const words = queryWords(input.value);
      results.replaceChildren();
      if (words.length === 0) {
        statusBox.textContent = "Type a word to search for.";
        return;
      }
      if (controller) controller.abort();
      const mine = (controller = new AbortController());
      const found = [];
      let searched = 0;
      // This page first, then the following pages (by their cursors),
      // then the earlier ones from the first page until this page's cases
      // come round again: the whole list with these filters. A case is
      // searched once even if new activity moved it between pages.
      const seen = new Set();
      const many = next !== "" || at !== "";
      progress.max = Math.max(total, 1);
      progress.value = 0;
      progressBox.hidden = !many;
      stop.hidden = !many;
      go.disabled = true;
      statusBox.textContent = many ? `Searching ${totalMore ? `more than ${total.toLocaleString("en")}` : total} cases…` : "Searching…";
      let stopped = false;
      try {
        let cursor = at;
        let wrapped = false; // past the last page, round to the first
        for (;;) {
          const { rows, next: after } = await loadPage(cursor, mine.signal);
          if (mine.signal.aborted) {
            stopped = true;
            break;
          }
          let again = false;
          for (const r of rows) {
            if (seen.has(r.ref)) {
              again = wrapped;
              continue;
            }
            seen.add(r.ref);
            searched++;
            if (matches(r.summary, words)) {
              found.push(r);
              results.append(resultItem(r));
            }
          }
          progress.value = Math.min(searched, progress.max);
          if (many) progressBox.querySelector("label").textContent = `Searched ${ofTotal(searched)}…`;
          if (again) break;
          if (after !== "") cursor = after;
          else if (!wrapped && at !== "") {
            wrapped = true;
            cursor = "";
          } else break;
        }
      } catch (err) {
        if (mine.signal.aborted) stopped = true;
        else statusBox.textContent = `The search stopped: ${err.message}`;
        if (!stopped) {
          finish();
          return;
        }
      }
      statusBox.textContent =
        `${found.length === 0 ? "No case" : found.length === 1 ? "1 case" : `${found.length} cases`} found for “${words.join(" ")}”` +
        (stopped ? `; stopped after ${ofTotal(searched)}.` : ` in ${searched} ${searched === 1 ? "case" : "cases"}.`);
      finish();

      function finish() {
        go.disabled = false;
        stop.hidden = true;
        progressBox.querySelector("label").textContent = `Searched ${ofTotal(searched)}`;
        if (controller === mine) controller = null;
      }
    });
  }
}

// resultItem is one case found: a link to it and its summary.
function resultItem(r) {
  const li = el("li");
  if (refPattern.test(r.ref)) li.append(el("a", { href: `/staff/case/${r.ref}` }, el("code", { text: r.ref })));
  else li.append(el("code", { text: r.ref }));
  li.append(...summaryView(r.summary));
  return li;
}
