// Deadlines in a real browser: an administrator sets the channel's
// deadlines on its page; a reporter (JavaScript off) reports and is told by
// when to expect an acknowledgement; the caseworker sees the case due soon
// in the inbox and on the case page, acknowledges it, extends the feedback
// date with a reason; the reporter is then told by when to expect
// feedback. axe-core checks each changed page in its new states (WCAG 2.2
// A/AA), at desktop and phone widths.
//
// The server runs on the real clock, so a case is at most due soon here
// (a one-day acknowledgement); overdue states are tested in Go with the
// injectable clock (server/deadline_test.go). Reporter pages are audited
// in a JavaScript-on context (axe needs it): they hold no script, so they
// render the same (accessibility.test.mjs checks that for every page).
//
// Talks only to 127.0.0.1.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { startServer, launchBrowser, testTimeout, enrol, login } from "./helpers.mjs";

const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
const wcagTags = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"];
const widths = { desktop: { width: 1280, height: 800 }, phone: { width: 390, height: 844 } };

// audit runs axe-core on page at each width and returns the violations.
async function audit(page, name) {
  const found = [];
  for (const [vp, size] of Object.entries(widths)) {
    await page.setViewportSize(size);
    if (!(await page.evaluate(() => typeof window.axe === "object"))) await page.evaluate(axeSource);
    const res = await page.evaluate(
      (values) => window.axe.run(document, { runOnly: { type: "tag", values }, resultTypes: ["violations"] }),
      wcagTags,
    );
    assert.ok(res.passes.length > 0, "axe-core checked nothing");
    for (const v of res.violations) {
      found.push(`${vp} ${name}: ${v.id} (${v.impact}) ${v.help} [${v.nodes.map((n) => n.target.join(" ")).join(", ")}]`);
    }
  }
  await page.setViewportSize(widths.desktop);
  return found;
}

async function submit(page, selector) {
  const [res] = await Promise.all([page.waitForNavigation(), page.click(selector)]);
  return res;
}

test("deadlines: set per channel, due soon, acknowledged, extended, and told to the reporter", { timeout: testTimeout }, async (t) => {
  const { base, enrolLink, stop } = await startServer();
  t.after(stop);
  const browser = await launchBrowser();
  t.after(() => browser.close());
  const found = [];

  // The administrator sets the channel's deadlines: one day, six months.
  const staff = await browser.newContext();
  const sp = await staff.newPage();
  const errors = [];
  sp.on("pageerror", (e) => errors.push(e.message));
  await sp.goto(enrolLink);
  const { secret, step } = await enrol(sp);
  await login(sp, base, secret, step + 1);
  await sp.goto(base + "/staff/admin/channels/1");
  await sp.fill("#ack_days", "1");
  await sp.fill("#feedback_months", "6");
  await submit(sp, "#channel-deadlines button[type=submit]");
  assert.equal(await sp.inputValue("#ack_days"), "1");
  assert.equal(await sp.inputValue("#feedback_months"), "6");
  found.push(...(await audit(sp, "channel page")));

  // The reporter, JavaScript off, reports and reads by when to expect an
  // acknowledgement.
  const reporter = await browser.newContext({ javaScriptEnabled: false });
  let rp = await reporter.newPage();
  await rp.goto(base + "/report");
  await rp.fill("#q_force", "Northshire Police");
  await rp.fill("textarea[name=body]", "PC Grey shared a racist meme in the team chat.");
  await submit(rp, "main button[type=submit]");
  const code = (await rp.textContent("#case-code")).trim();
  await reporter.close();
  const reader = await browser.newContext();
  rp = await reader.newPage();
  const followup = async () => {
    await rp.goto(base + "/followup");
    await rp.fill("input[name=code]", code);
    await submit(rp, "main button[type=submit]");
    assert.equal(await rp.$$eval("script", (s) => s.length), 0, "a reporter page holds a script");
  };
  await followup();
  assert.match(await rp.textContent("#case-deadline"), /^We aim to acknowledge your report by \d{1,2} [A-Z][a-z]+ \d{4}\.$/);
  found.push(...(await audit(rp, "reporter case page, to be acknowledged")));

  // The caseworker: due soon in the inbox, in words.
  await sp.goto(base + "/staff/");
  assert.match(await sp.textContent("table.inbox tbody tr"), /Due soon: acknowledge by/);
  assert.match(await sp.textContent("#my-overdue"), /None of the cases assigned to you is overdue/);
  found.push(...(await audit(sp, "inbox with a case due soon")));
  await sp.selectOption("#deadline", "due");
  await sp.selectOption("#sort", "deadline");
  await submit(sp, "form.filter button[type=submit]");
  assert.equal(await sp.$$eval("table.inbox tbody tr", (r) => r.length), 1, "the due filter does not list the case");
  found.push(...(await audit(sp, "inbox filtered by deadline")));

  // The case page: due soon, then acknowledged, then extended.
  await Promise.all([sp.waitForNavigation(), sp.click("table.inbox tbody a")]); // shown in place (navigate.js)
  assert.match(await sp.textContent("#deadline-state"), /Due soon: acknowledgement is due by/);
  found.push(...(await audit(sp, "case page, to be acknowledged")));
  await submit(sp, "#acknowledge button[type=submit]");
  assert.match(await sp.textContent("#deadlines"), /acknowledged on/);
  const before = await sp.textContent("#deadlines");
  await sp.fill("#extend-months", "9");
  await sp.fill("#extend-reason", "Awaiting the force's disclosure of the chat logs");
  await submit(sp, "#extend button[type=submit]");
  assert.notEqual(await sp.textContent("#deadlines"), before, "the extension did not change the feedback date");
  found.push(...(await audit(sp, "case page, acknowledged and extended")));
  await sp.goto(base + "/staff/admin/audit");
  assert.match(await sp.textContent("main"), /Awaiting the force's disclosure of the chat logs/);
  assert.deepEqual(errors, [], "the console raised script errors");

  // The reporter now reads by when to expect feedback.
  await followup();
  assert.match(await rp.textContent("#case-deadline"), /^We aim to give you feedback by \d{1,2} [A-Z][a-z]+ \d{4}\.$/);
  found.push(...(await audit(rp, "reporter case page, acknowledged")));

  assert.deepEqual(found, [], `axe-core found WCAG 2.2 A/AA violations:\n${found.join("\n")}\n`);
});
