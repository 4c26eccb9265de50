// The yearly statistics (issue 13) in a real browser: an administrator
// and a statistics-only account (invited through the staff page) open the
// statistics; axe-core finds no WCAG 2.2 A/AA violation on desktop or a
// 375 px phone, which does not scroll sideways; the CSV link downloads the
// page's figures; the statistics account reaches nothing else.
//
// Waits are for content or an address, not for load events, so that the
// test holds whether the console navigates by full page loads or not.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { startServer, launchBrowser, testTimeout, enrol, login, password, totp, axeViolations, describeViolation } from "./helpers.mjs";

const viewports = {
  desktop: { viewport: { width: 1280, height: 800 } },
  phone: { viewport: { width: 375, height: 812 }, isMobile: true, hasTouch: true },
};

let srv, browser;

before(async () => {
  srv = await startServer();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await srv?.stop();
});

async function report(text) {
  const ctx = await browser.newContext({ javaScriptEnabled: false });
  const page = await ctx.newPage();
  await page.goto(srv.base + "/report");
  await page.fill("textarea[name=body]", text);
  await page.click("main button[type=submit]");
  await page.waitForSelector("#case-code");
  await ctx.close();
}

// checkStats opens the statistics page in page, waits for its figures and
// runs axe-core and the sideways-scroll check on it.
async function checkStats(page, vp, who, found) {
  await page.goto(srv.base + "/staff/stats");
  await page.waitForSelector("#received-by-month caption");
  await page.waitForSelector("svg#chart-months[role=img]");
  found.push(...(await axeViolations(page)).map((v) => `${vp} ${who}: ${describeViolation(v)}`));
  const [content, view] = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
  assert.ok(content <= view, `${vp} ${who}: the statistics page is ${content} px wide in a ${view} px window`);
}

test("statistics: an administrator and a statistics-only account; axe-core, phone width, CSV download", { timeout: testTimeout }, async () => {
  const year = new Date().getUTCFullYear();
  for (let i = 0; i < 6; i++) await report(`Report number ${i} for the statistics.`);
  const { base, enrolLink } = srv;
  const errors = [];
  const found = [];

  // The administrator.
  const admin = await (await browser.newContext(viewports.desktop)).newPage();
  admin.on("pageerror", (e) => errors.push(e.message));
  await admin.goto(enrolLink);
  const { secret, step } = await enrol(admin);
  await login(admin, base, secret, step + 1);
  await admin.click("nav a[href='/staff/stats']");
  await admin.waitForURL((u) => u.pathname === "/staff/stats");
  await admin.waitForSelector(`h1:text("Statistics, ${year}")`);
  const total = await admin.textContent("#received-by-month tr.total td");
  assert.equal(total.trim(), "6", "the year's total is not the six reports");
  await checkStats(admin, "desktop", "administrator", found);
  const adminPhone = await (await browser.newContext({ ...viewports.phone, storageState: await admin.context().storageState() })).newPage();
  await checkStats(adminPhone, "phone", "administrator", found);

  // The administrator invites a statistics-only account.
  await admin.goto(base + "/staff/admin/staff");
  await admin.fill("#username", "stella");
  await admin.selectOption("#role", "statistics");
  await admin.click("form[action='/staff/admin/invite'] button[type=submit]");
  const link = (await (await admin.waitForSelector("#enrolment-link")).textContent()).trim();

  // It enrols, logs in, and lands on the statistics.
  const stats = await (await browser.newContext(viewports.desktop)).newPage();
  stats.on("pageerror", (e) => errors.push(e.message));
  await stats.goto(link);
  const enrolled = await enrol(stats);
  await stats.goto(base + "/staff/login");
  await stats.fill("#username", "stella");
  await stats.fill("#password", password);
  await stats.fill("#totp", totp(enrolled.secret, Math.max(enrolled.step + 1, Math.floor(Date.now() / 1000 / 30))));
  await stats.click("button[type=submit]");
  await stats.waitForURL((u) => u.pathname === "/staff/stats");
  await stats.waitForSelector("#received-by-month caption");
  const nav = await stats.$$eval("nav[aria-label=Staff] a", (as) => as.map((a) => a.getAttribute("href")));
  // Its own passkeys too: a policy may require one of it.
  assert.deepEqual(nav, ["/staff/passkeys", "/staff/stats"], "the statistics account's menu has more than the statistics and its passkeys");
  await checkStats(stats, "desktop", "statistics account", found);
  const statsPhone = await (await browser.newContext({ ...viewports.phone, storageState: await stats.context().storageState() })).newPage();
  await checkStats(statsPhone, "phone", "statistics account", found);

  // The CSV link downloads the figures of the page.
  const [download] = await Promise.all([stats.waitForEvent("download"), stats.click("#stats-csv")]);
  assert.equal(download.suggestedFilename(), `candour-statistics-${year}.csv`);
  const csv = readFileSync(await download.path(), "utf8");
  assert.ok(csv.startsWith("period,table,row,column,value\n"), "the CSV has no header row");
  assert.ok(csv.includes(`${year},"Reports received in ${year}, by month",Total,Reports,6\n`), `the CSV lacks the year's total:\n${csv}`);
  const rowsOnPage = await stats.$$eval("table.stats tbody td", (tds) => tds.length);
  assert.equal(csv.trim().split("\n").length - 1, rowsOnPage, "the CSV does not have a line for each figure of the page");

  // The console's home sends it back to the statistics; the rest refuses.
  await stats.goto(base + "/staff/");
  await stats.waitForURL((u) => u.pathname === "/staff/stats");
  for (const path of ["/staff/admin/staff", "/staff/key", "/staff/admin/audit"]) {
    const res = await stats.goto(base + path);
    assert.equal(res.status(), 403, `${path} is open to the statistics account`);
    await stats.waitForSelector("text=Your account does not have access to this page.");
  }

  assert.deepEqual(found, [], "axe-core found WCAG 2.2 A/AA violations:\n" + found.join("\n"));
  assert.deepEqual(errors, [], "script errors: " + errors.join("; "));
});
