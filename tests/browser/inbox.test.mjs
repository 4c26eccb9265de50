// The inbox with decrypted summaries, in a real browser: the channel gets
// its key (post-quantum, as the organisation's), made in the caseworker's
// browser and wrapped to her own key; 55 reports (more than a page) are
// sent over HTTP to the real report form's endpoint, each with a word of
// its own; the caseworker loads her own key on the inbox, which opens the
// channel's key, which opens the summaries;
// every row then shows its channel, first line and the answers the
// questionnaire flags for the inbox (force and platform), decrypted here;
// the search finds a case by a word of its report on this page and on the
// next one, with its progress shown, and can be stopped. The time from the
// key loaded to the 50 rows shown is measured in the page (performance.now)
// and printed, for docs/benchmarks.md: a measurement, not an assertion.
// axe-core checks the inbox with summaries and search results (WCAG 2.2
// A/AA) at desktop and phone widths, and the phone width must not scroll
// sideways.
//
// Talks only to 127.0.0.1.

import { test } from "node:test";
import assert from "node:assert/strict";
import { Decrypter, Encrypter } from "age-encryption";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer, launchBrowser, testTimeout, enrol, login, auditWidths, makeKeyFile, registerKey } from "./helpers.mjs";

const cases = 55;
const forces = ["Kent Police", "Northshire Police", "Essex Police"];
const platforms = ["WhatsApp", "Signal", "Microsoft Teams"];

const link = (i) => `https://chat.example.org/g/${"a1b2c3d4".repeat(10)}/${i}`;

// report sends one report as the report form would (multipart, the
// channel's only questionnaire), JavaScript being irrelevant to the server.
async function report(base, i) {
  const form = new FormData();
  form.append("q_force", forces[i % forces.length]);
  form.append("q_platform", platforms[i % platforms.length]);
  form.append("q_people", `secretperson${i}`); // a long text: not in the summary
  // The first line ends with a long link, as a pasted one would: it must
  // wrap on a phone.
  form.append("body", `\n  Report ${i}: tag${i}z jokes in the team chat ${link(i)}\nsecondline${i} more detail`);
  const res = await fetch(base + "/report", { method: "POST", body: form });
  const page = await res.text();
  assert.equal(res.status, 200, `report ${i}: ${res.status}`);
  assert.match(page, /id="case-code"/);
}

// floor is the least the page's work can cost, measured here in node (the
// same V8 and the same age-encryption as the bundle): 50 decryptions of a
// summary-sized age file with a post-quantum identity, one stanza each.
async function floor(own, channelRecipient) {
  const e = new Encrypter();
  e.addRecipient(channelRecipient);
  const sealed = await e.encrypt(JSON.stringify({ v: 1, channel: "Report misconduct", first_line: "x".repeat(60), answers: [] }));
  const d = new Decrypter();
  d.addIdentity(own);
  const start = performance.now();
  for (let i = 0; i < 50; i++) await d.decrypt(sealed, "text");
  return performance.now() - start;
}

// decryptChannelKey opens the caseworker's wrap of channel 1's key (as
// the console does), for the floor.
async function decryptChannelKey(page, base, own) {
  const keys = await (await page.request.get(base + "/staff/channels/1/keys")).json();
  const d = new Decrypter();
  d.addIdentity(own.identity);
  const text = await d.decrypt(Buffer.from(keys.wraps["1"], "base64"), "text");
  return { identity: text.trim() };
}

// markersShown are the numbers of the reports whose summaries the rows of
// this page show.
async function markersShown(page) {
  const texts = await page.$$eval("#inbox-cases tr[data-ref] .case-summary", (boxes) => boxes.map((b) => b.textContent));
  return texts.map((t) => Number((/tag(\d+)z/.exec(t) || [])[1]));
}

test("the inbox shows decrypted summaries and the search finds a case by a word of its report", { timeout: testTimeout }, async (t) => {
  const { base, enrolLink, stop } = await startServer("--submissions-per-minute", "100000");
  t.after(stop);
  const browser = await launchBrowser();
  t.after(() => browser.close());
  const dir = mkdtempSync(join(tmpdir(), "candour-inbox-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));

  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(enrolLink);
  const { secret, step } = await enrol(page);
  await login(page, base, secret, step + 1);
  const own = await makeKeyFile(dir, "casey", "pq");
  await registerKey(page, base, own.recipient);
  await page.goto(base + "/staff/admin/channels/1");
  await page.click("#channel-key-create");
  await page.waitForSelector("#channel-data[data-generation='1']", { state: "attached" });

  for (let i = 0; i < cases; i++) await report(base, i);
  await page.goto(base + "/staff/");
  // More than a page: the next page's cursor is there for the search.
  await page.waitForSelector("#inbox-data[data-total='55']:not([data-next=''])", { state: "attached" });
  assert.equal(await page.$$eval("#inbox-cases tr[data-ref]", (r) => r.length), 50);
  assert.ok(await page.isHidden("#inbox-search"), "the search is offered before a key is loaded");
  assert.equal(await page.$$eval(".case-summary:not([hidden])", (b) => b.length), 0);

  // Her own key, which opens the channel's. Measured three times (a fresh
  // page each), in turns with the floor, for docs/benchmarks.md.
  const runs = [];
  const floors = [];
  const channelRecipient = await (await page.request.get(base + "/staff/channels/1/keys")).json().then((k) => k.recipient);
  const { identity: channelIdentity } = await decryptChannelKey(page, base, own);
  floors.push(await floor(channelIdentity, channelRecipient));
  for (let r = 0; r < 3; r++) {
    if (r > 0) await page.goto(base + "/staff/");
    await page.setInputFiles("#identity-file", own.file);
    await page.waitForSelector("#inbox-data[data-state='done']", { state: "attached" });
    runs.push(Number(await page.getAttribute("#inbox-data", "data-rendered-ms")));
    assert.equal(Number(await page.getAttribute("#inbox-data", "data-rendered")), 50);
    floors.push(await floor(channelIdentity, channelRecipient));
  }
  const sorted = (xs) => [...xs].sort((a, b) => a - b);
  console.log(
    `inbox: 50 summaries fetched, decrypted and shown ${runs.join(", ")} ms after the key was loaded ` +
      `(post-quantum keys: own key → channel key → summaries; Chromium); ` +
      `floor, 50 bare decryptions in node, same run: ${sorted(floors).map((f) => Math.round(f)).join(", ")} ms`,
  );

  // Every row shows its channel, first line and flagged answers, and
  // nothing else of the report.
  const shown = await markersShown(page);
  assert.equal(shown.length, 50);
  assert.equal(new Set(shown).size, 50, `rows do not each show their own summary: ${shown}`);
  for (const n of shown) assert.ok(Number.isInteger(n) && n >= 0 && n < cases, `a row shows ${n}`);
  const first = await page.$eval("#inbox-cases tr[data-ref] .case-summary", (b) => b.textContent);
  const n = shown[0];
  assert.ok(first.includes(`Report ${n}: tag${n}z jokes in the team chat ${link(n)}`), `first line: ${first}`);
  assert.ok(first.includes("Channel: Report misconduct"), `channel: ${first}`);
  assert.ok(first.includes(`Which police force is this about? ${forces[n % forces.length]}`), `force: ${first}`);
  assert.ok(first.includes(`Where were the messages posted? ${platforms[n % platforms.length]}`), `platform: ${first}`);
  const all = await page.textContent("#inbox-cases");
  assert.ok(!/secondline|secretperson/.test(all), "the inbox shows more of the report than its summary");

  // The search walks the pages: a case on the second page, first stopped
  // while that page is on its way, with the progress shown.
  assert.ok(await page.isVisible("#inbox-search-text"));
  const missing = [...Array(cases).keys()].filter((i) => !shown.includes(i));
  assert.equal(missing.length, cases - 50);
  const word = `tag${missing[0]}z`;
  let release;
  const held = new Promise((r) => (release = r));
  await page.route(/\/staff\/summaries\?.*at=/, async (route) => {
    await held;
    await route.continue().catch(() => {});
  });
  await page.fill("#inbox-search-text", word);
  await page.click("#inbox-search-go");
  await page.waitForFunction(() => /Searched 50 of 55 cases/.test(document.querySelector("#inbox-search-progress-box label").textContent));
  assert.ok(await page.isVisible("#inbox-search-progress"), "no progress shown while the next page is fetched");
  assert.equal(await page.getAttribute("#inbox-search-progress", "max"), String(cases));
  await page.click("#inbox-search-stop");
  await page.waitForFunction(() => /stopped after/.test(document.getElementById("inbox-search-status").textContent));
  assert.match(await page.textContent("#inbox-search-status"), new RegExp(`^No case found for “${word}”; stopped after 50 of ${cases} cases\\.$`));
  release();
  await page.unroute(/\/staff\/summaries\?.*at=/);

  // A word of a case on this page.
  await page.fill("#inbox-search-text", `TAG${shown[3]}Z`);
  await page.click("#inbox-search-go");
  await page.waitForFunction((w) => document.getElementById("inbox-search-status").textContent.includes(`found for “${w}” in`), `tag${shown[3]}z`);
  const onThisPage = await page.$$eval("#inbox-search-results li", (li) => li.map((l) => l.textContent));
  assert.equal(onThisPage.length, 1, `search for tag${shown[3]}z: ${onThisPage}`);
  assert.ok(onThisPage[0].includes(`tag${shown[3]}z jokes`));
  assert.match(await page.textContent("#inbox-search-status"), new RegExp(`^1 case found for “tag${shown[3]}z” in ${cases} cases\\.$`));

  // And the case on the second page, searched to the end.
  await page.fill("#inbox-search-text", word);
  await page.click("#inbox-search-go");
  await page.waitForFunction((w) => document.getElementById("inbox-search-status").textContent.includes(`found for “${w}” in`), word);
  const results = await page.$$eval("#inbox-search-results li", (li) => li.map((l) => l.textContent));
  assert.equal(results.length, 1, `search for ${word}: ${results}`);
  assert.ok(results[0].includes(`Report ${missing[0]}: ${word} jokes`), results[0]);
  assert.match(await page.textContent("#inbox-search-progress-box label"), new RegExp(`^Searched ${cases} of ${cases} cases$`));
  assert.equal(await page.$eval("#inbox-search-progress", (p) => p.value), cases);
  // An answer's word, in another case: a force matches a third of them.
  await page.fill("#inbox-search-text", "northshire");
  await page.click("#inbox-search-go");
  await page.waitForFunction(() => /cases found for “northshire”/.test(document.getElementById("inbox-search-status").textContent));
  assert.equal(await page.$$eval("#inbox-search-results li", (li) => li.length), Math.ceil((cases - 1) / 3));
  const found = await auditWidths(page, "inbox with summaries and search results");

  // The result links to its case.
  await page.fill("#inbox-search-text", word);
  await page.click("#inbox-search-go");
  await page.waitForFunction((w) => document.getElementById("inbox-search-status").textContent.includes(`found for “${w}” in`), word);
  await page.click("#inbox-search-results a");
  await page.waitForURL(/\/staff\/case\/[0-9A-Z]{4}-[0-9A-Z]{4}$/);

  // The pager: Older leads to the other 5 cases, with the way back.
  await page.goto(base + "/staff/");
  await page.click("nav.pager >> text=Older");
  await page.waitForURL(/\/staff\/\?at=/);
  await page.waitForFunction(() => document.querySelectorAll("#inbox-cases tr[data-ref]").length === 5);
  assert.ok(await page.isVisible("nav.pager >> text=First page"));
  assert.ok(await page.isVisible("nav.pager >> text=Newer"));
  assert.equal(await page.isVisible("nav.pager >> text=Older"), false, "an Older link on the last page");
  assert.match(await page.textContent("#inbox-count"), new RegExp(`^${cases} cases\\.`));
  const older = await auditWidths(page, "inbox, second page");
  await page.click("nav.pager >> text=Newer");
  await page.waitForFunction(() => document.querySelectorAll("#inbox-cases tr[data-ref]").length === 50);

  assert.deepEqual(errors, [], "the console raised script errors");
  assert.deepEqual([...found, ...older], [], `axe-core found WCAG 2.2 A/AA violations:\n${[...found, ...older].join("\n")}\n`);
});
