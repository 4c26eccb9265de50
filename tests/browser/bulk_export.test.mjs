// Bulk actions and the console's export in a real browser: a caseworker
// ticks two cases in the inbox and assigns them both at once; then exports
// a selection as a zip download, which is unpacked and one of whose
// reports the stock `age` tool decrypts with the organisation's key, with
// no Candour code; then exports one case from its page. axe-core checks
// the inbox with the bulk form and the case page with its export button
// (WCAG 2.2 A/AA), desktop and phone, and neither scrolls sideways on a
// phone.
//
// Needs ./.bin/candour, ./.bin/age (make tools) and the bundle (`npm run
// build`), and Info-ZIP's unzip. Talks only to 127.0.0.1.

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { bin, startServer, launchBrowser, testTimeout, invite, auditWidths, sendReports, firstAdmin } from "./helpers.mjs";

const ageBin = process.env.AGE_BIN || join(dirname(bin), "age");
const reports = [
  "PC Grey shared a racist meme in the team chat.",
  "The sergeant deleted the custody record.",
  "An inspector leaked a witness's address.",
];

// unzip unpacks a download with Info-ZIP's unzip and returns the folder
// and its manifest.
async function unzip(download, dir) {
  const zip = join(dir, "export.zip");
  await download.saveAs(zip);
  const out = join(dir, "export");
  execFileSync("unzip", ["-q", zip, "-d", out]);
  return { out, manifest: JSON.parse(readFileSync(join(out, "manifest.json"), "utf8")) };
}

// ageDecrypt opens an age file with the stock age tool.
function ageDecrypt(identityFile, file) {
  return execFileSync(ageBin, ["-d", "-i", identityFile, file]).toString();
}

test("bulk assign in the inbox; console export opens with stock age", { timeout: testTimeout }, async (t) => {
  const { base, key, enrolLink, stop } = await startServer();
  t.after(stop);
  const browser = await launchBrowser();
  t.after(() => browser.close());
  const tmp = mkdtempSync(join(tmpdir(), "candour-bulk-"));
  t.after(() => rmSync(tmp, { recursive: true, force: true }));
  const found = [];

  // Three reports, JavaScript off.
  await sendReports(browser, base, reports);

  // The administrator enrols, invites a caseworker, and opens the inbox.
  const { page: sp, errors } = await firstAdmin(browser, base, enrolLink);
  await invite(sp, base, "dana");
  await sp.goto(base + "/staff/");
  await sp.waitForSelector("form#bulk");
  const refs = await sp.$$eval("table.inbox input[type=checkbox][form=bulk]", (boxes) => boxes.map((b) => b.value));
  assert.equal(refs.length, 3, "the inbox does not offer a box for each case");
  // Each box is labelled with its case.
  assert.equal(await sp.textContent(`label[for="select-${refs[0]}"]`), `Select case ${refs[0]}`);
  found.push(...(await auditWidths(sp, "inbox with the bulk form")));

  // Tick two cases and assign them both to dana.
  const picked = refs.slice(0, 2);
  for (const ref of picked) await sp.check(`#select-${ref}`);
  await sp.selectOption("#bulk-assignee", { label: "dana" });
  await sp.click("form#bulk button[name=action][value=assign]");
  await sp.waitForSelector("#bulk-notice:has-text('2 cases assigned to dana.')");
  const assignee = (ref) => sp.textContent(`tr:has(#select-${ref}) td[data-label="Assigned to"]`);
  for (const ref of picked) assert.equal((await assignee(ref)).trim(), "dana", `case ${ref} was not assigned`);
  assert.equal((await assignee(refs[2])).trim(), "no one", "a case not ticked was assigned");
  found.push(...(await auditWidths(sp, "inbox after a bulk assignment")));

  // "Select all on this page" ticks every box.
  await sp.click("#bulk-select-all");
  await sp.waitForSelector("#bulk-clear");
  assert.equal(await sp.$$eval("table.inbox input[form=bulk]:checked", (b) => b.length), 3, "select all did not tick every box");
  await sp.click("#bulk-clear");
  await sp.waitForSelector("#bulk-select-all");

  // Export two cases as a zip; unpack it and read one report with stock age.
  for (const ref of [refs[1], refs[2]]) await sp.check(`#select-${ref}`);
  const [download] = await Promise.all([sp.waitForEvent("download"), sp.click("#bulk-export")]);
  assert.match(download.suggestedFilename(), /^candour-export-\d{4}-\d{2}-\d{2}\.zip$/);
  const bulk = await unzip(download, join(tmp, "bulk"));
  assert.deepEqual(bulk.manifest.cases.map((c) => c.ref).sort(), [refs[1], refs[2]].sort(), "the zip holds other cases");
  const top = readdirSync(bulk.out).filter((n) => n !== "questionnaires" && n !== "channels");
  assert.deepEqual(top.sort(), ["manifest.json", refs[1], refs[2]].sort(), "the zip holds more than the selection");
  const opened = [];
  for (const c of bulk.manifest.cases) {
    const msg = c.files.find((f) => f.kind === "message");
    opened.push(ageDecrypt(key, join(bulk.out, msg.path)));
  }
  for (const text of opened) assert.ok(reports.some((r) => text.includes(r)), "a decrypted report holds none of the reports' text");
  assert.notEqual(opened[0], opened[1]);

  // Export the first case from its page.
  await sp.goto(`${base}/staff/case/${refs[0]}`);
  await sp.waitForSelector("#export-form");
  found.push(...(await auditWidths(sp, "case page with the export button")));
  const [one] = await Promise.all([sp.waitForEvent("download"), sp.click("#export-form button[type=submit]")]);
  const single = await unzip(one, join(tmp, "one"));
  assert.deepEqual(single.manifest.cases.map((c) => c.ref), [refs[0]]);
  const text = ageDecrypt(key, join(single.out, single.manifest.cases[0].files[0].path));
  assert.ok(reports.some((r) => text.includes(r)), "the case's report does not decrypt with stock age");
  // The page stays: a download does not navigate.
  assert.equal(new URL(sp.url()).pathname, `/staff/case/${refs[0]}`);

  // The audit trail has an entry per exported case.
  await sp.goto(base + "/staff/admin/audit");
  await sp.waitForSelector("table.inbox td");
  const audit_ = await sp.textContent("main");
  assert.equal((audit_.match(/case\.export/g) || []).length, 3, "the audit trail does not record each exported case");

  assert.deepEqual(errors, [], "the console raised script errors");
  await sp.context().close();
  assert.deepEqual(found, [], `axe-core found WCAG 2.2 A/AA violations:\n${found.join("\n")}\n`);
});
