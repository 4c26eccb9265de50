// Outcomes (issue 13) in a real browser: an administrator's outcomes page,
// closing a case with an outcome and an explanation that the console
// encrypts before posting (read back decrypted as a note), reopening, and
// deleting a case by typing its reference. axe-core checks the new pages
// against WCAG 2.2 A/AA, desktop and phone.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, launchBrowser, testTimeout, enrol, login, axeViolations, describeViolation } from "./helpers.mjs";

const viewports = {
  desktop: { viewport: { width: 1280, height: 800 } },
  phone: { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true },
};
const reportText = "The sergeant deleted the custody record.";
const explanation = "CCTV confirms it; referred to PSD on the 3rd.";

let srv, browser;

before(async () => {
  srv = await startServer();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await srv?.stop();
});

async function submit(page, selector) {
  const [res] = await Promise.all([page.waitForNavigation(), page.click(selector)]);
  return res;
}

async function report(text) {
  const ctx = await browser.newContext({ javaScriptEnabled: false });
  const page = await ctx.newPage();
  await page.goto(srv.base + "/report");
  await page.fill("textarea[name=body]", text);
  await submit(page, "main button[type=submit]");
  assert.ok(await page.isVisible("#case-code"), "no case code");
  await ctx.close();
}

test("outcomes: close with an encrypted explanation, reopen, delete; axe-core on the new pages", { timeout: testTimeout }, async () => {
  await report(reportText);
  await report("A second report, to be deleted.");
  const { base, key, enrolLink } = srv;
  const desk = await browser.newContext(viewports.desktop);
  const dp = await desk.newPage();
  const errors = [];
  dp.on("pageerror", (e) => errors.push(e.message));
  await dp.goto(enrolLink);
  const { secret, step } = await enrol(dp);
  await login(dp, base, secret, step + 1);
  const phone = await browser.newContext({ ...viewports.phone, storageState: await desk.storageState() });
  const pp = await phone.newPage();
  pp.on("pageerror", (e) => errors.push(e.message));
  const found = [];
  const check = async (page, vp, name) => found.push(...(await runAxe(page)).map((l) => `${vp} ${name}: ${l}`));

  // The administrator adds an outcome and archives one.
  await dp.goto(base + "/staff/admin/outcomes");
  await dp.fill("#new-outcome", "Resolved informally");
  await submit(dp, "form[action$='/outcomes/add'] button[type=submit]");
  assert.ok(await dp.isVisible("input[value='Resolved informally']"), "the outcome was not added");
  await submit(dp, "tr:has(input[value='Outside our remit']) button[value=archive]");
  assert.ok(await dp.isVisible("text=archived: not offered"), "the outcome was not archived");
  await dp.fill("#new-outcome", "Substantiated");
  await submit(dp, "form[action$='/outcomes/add'] button[type=submit]");
  assert.ok(await dp.isVisible(".notice-error"), "a duplicate outcome shows no error");
  for (const [vp, page] of [["desktop", dp], ["phone", pp]]) {
    await page.goto(base + "/staff/admin/outcomes");
    await check(page, vp, "outcomes");
  }

  // Close the first case with an outcome and an explanation.
  await dp.goto(base + "/staff/");
  const refs = await dp.$$eval("table.inbox a", (as) => as.map((a) => a.textContent.trim()));
  assert.equal(refs.length, 2);
  let target = null;
  for (const ref of refs) {
    await dp.goto(`${base}/staff/case/${ref}`);
    await dp.setInputFiles("#identity-file", key);
    await dp.waitForSelector(".decrypted .pre-wrap");
    if ((await dp.textContent("#thread")).includes(reportText)) target = ref;
  }
  assert.ok(target, "the report was not found");
  const other = refs.find((r) => r !== target);
  await dp.goto(`${base}/staff/case/${target}`);
  assert.ok(await dp.isVisible("#outcome-note"), "the explanation field is not shown with JavaScript");
  const offered = await dp.$$eval("#outcome option", (os) => os.map((o) => o.textContent));
  assert.ok(offered.includes("Resolved informally") && !offered.includes("Outside our remit"), `offered: ${offered}`);
  await dp.selectOption("#outcome", { label: "Referred to another body" });
  await dp.fill("#outcome-note", explanation);
  await Promise.all([dp.waitForNavigation(), dp.click("#close-form button[type=submit]")]);
  assert.equal(await dp.textContent("#case-outcome"), "Referred to another body");
  await dp.setInputFiles("#identity-file", key);
  await dp.waitForSelector(`#notes .decrypted .pre-wrap:text("${explanation}")`);
  for (const [vp, page] of [["desktop", dp], ["phone", pp]]) {
    await page.goto(`${base}/staff/case/${target}`);
    await check(page, vp, "closed case");
    await page.goto(base + "/staff/");
    assert.ok(await page.isVisible("td:text('Closed: Referred to another body')"), "the inbox does not show the outcome");
    await check(page, vp, "inbox with an outcome");
  }
  await dp.goto(`${base}/staff/case/${target}`);
  await submit(dp, "#reopen-form button[type=submit]");
  assert.equal(await dp.textContent("#case-status"), "In review");
  assert.ok(!(await dp.$("#case-outcome")), "the outcome was not cleared");

  // Delete the other case: the confirmation, a wrong reference, then the right one.
  for (const [vp, page] of [["desktop", dp], ["phone", pp]]) {
    await page.goto(`${base}/staff/case/${other}/delete`);
    await check(page, vp, "delete confirmation");
  }
  await dp.fill("#confirm", target);
  await submit(dp, "main button[type=submit]");
  assert.ok(await dp.isVisible(".notice-error"), "a wrong reference shows no error");
  await check(dp, "desktop", "delete refused");
  await dp.fill("#confirm", other);
  await submit(dp, "main button[type=submit]");
  assert.equal(new URL(dp.url()).pathname, "/staff/");
  assert.ok(await dp.isVisible("text=The case was deleted for good"), "no notice after deletion");
  const left = await dp.$$eval("table.inbox a", (as) => as.map((a) => a.textContent.trim()));
  assert.deepEqual(left, [target]);

  assert.deepEqual(errors, [], "the console raised script errors");
  await phone.close();
  await desk.close();
  assert.deepEqual(found, [], `axe-core found WCAG 2.2 A/AA violations:\n${found.join("\n")}\n`);
});

// runAxe is axe-core's violations on the page, a line each.
async function runAxe(page) {
  return (await axeViolations(page)).map(describeViolation);
}
