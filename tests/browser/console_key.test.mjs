// The caseworker's key survives every page and action of the console
// (issue 13): loaded once from a file, it stays usable while the
// caseworker changes a case's status, assigns it, acknowledges it, writes
// a note, replies, downloads a ciphertext, goes to the inbox and back,
// uses the browser's back and forward buttons, closes and reopens the case. After each step the report is still decrypted, the
// page was never unloaded (a marker set on the window stays), and neither
// sessionStorage nor localStorage holds anything. Forgetting the key,
// logging out and a session ended elsewhere drop it (the latter two by a
// full navigation to the login page). axe-core checks pages shown in place
// (WCAG 2.2 A/AA, desktop and phone, no sideways scrolling on the phone),
// and focus lands on the new page's heading or its message.
//
// Talks only to 127.0.0.1.

import { test } from "node:test";
import assert from "node:assert/strict";
import { startServer, launchBrowser, testTimeout, enrol, login, auditWidths, widths } from "./helpers.mjs";

const reportText = "Sgt Mills wiped the body-worn footage of the arrest.";
const noteText = "Ask the force for the evidence log.";
const replyText = "Thank you. Do you know when the footage was wiped?";

async function submit(page, selector) {
  await Promise.all([page.waitForNavigation(), page.click(selector)]);
}

// stillLoaded checks that the page was shown in place (the window's marker
// is there), that the report is decrypted without loading the key again,
// that the panel says the key is loaded, and that nothing was stored.
async function stillLoaded(page, step, { remembered = false } = {}) {
  await page.waitForSelector(`[data-message] .decrypted .pre-wrap:text("${reportText}")`);
  assert.equal(await page.evaluate(() => window.consoleMarker), "kept", `${step}: the page was unloaded`);
  assert.ok(await page.isVisible("#key-loaded"), `${step}: the key panel does not say the key is loaded`);
  assert.ok(!(await page.isVisible("#identity-file")), `${step}: the key panel asks for the key again`);
  const stored = await page.evaluate(() => [sessionStorage.length, localStorage.length]);
  assert.deepEqual(stored, [remembered ? 1 : 0, 0], `${step}: sessionStorage or localStorage holds what it should not`);
}

// focused is the text of the focused element.
async function focused(page) {
  return page.evaluate(() => `${document.activeElement.tagName}: ${document.activeElement.textContent.trim()}`);
}

// waitForStep waits until TOTP step is no longer in the future (a code is
// accepted once, and at most one step ahead).
async function waitForStep(step) {
  while (Math.floor(Date.now() / 1000 / 30) < step - 1) await new Promise((r) => setTimeout(r, 500));
}

test("the caseworker's key survives status, assignment, acknowledgement, note, reply and navigation", { timeout: testTimeout }, async (t) => {
  const { base, key, enrolLink, stop, log } = await startServer();
  t.after(stop);
  const browser = await launchBrowser();
  t.after(() => browser.close());

  // A report, JavaScript off.
  const reporter = await browser.newContext({ javaScriptEnabled: false });
  const rp = await reporter.newPage();
  await rp.goto(base + "/report");
  await rp.fill("textarea[name=body]", reportText);
  await submit(rp, "main button[type=submit]");
  assert.ok(await rp.isVisible("#case-code"), "no case code");
  await reporter.close();

  const ctx = await browser.newContext({ viewport: widths.desktop });
  const page = await ctx.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  const sent = [];
  page.on("request", (r) => sent.push(r.postData() || ""));
  await page.goto(enrolLink);
  const { secret, step } = await enrol(page);
  await login(page, base, secret, step + 1);
  const lastStep = Math.max(step + 1, Math.floor(Date.now() / 1000 / 30));
  const found = [];
  const audit = async (name) => found.push(...(await auditWidths(page, name)));

  // From the inbox (a full page load) to the case, shown in place; the key
  // is loaded once, "remember" not ticked.
  await page.evaluate(() => (window.consoleMarker = "kept"));
  await submit(page, "table.inbox a");
  const caseURL = page.url();
  assert.match(new URL(caseURL).pathname, /^\/staff\/case\/[0-9A-Z-]+$/);
  assert.match(await focused(page), /^H1: Case /, "focus is not on the case page's heading");
  assert.match(await page.title(), /^Case /);
  assert.ok(!(await page.isChecked("#identity-remember")));
  await page.setInputFiles("#identity-file", key);
  await stillLoaded(page, "key loaded");

  // Status.
  await page.selectOption("#status", { label: "Waiting for the reporter" });
  await submit(page, "form[action$='/status'] button[type=submit]");
  assert.equal(await page.textContent("#case-status"), "Waiting for the reporter");
  assert.equal(page.url(), caseURL);
  assert.match(await focused(page), /^H1: Case /);
  await stillLoaded(page, "status changed");
  await audit("case page shown in place");

  // Assignment.
  await page.selectOption("#assignee", { label: "casey" });
  await submit(page, "form[action$='/assign'] button[type=submit]");
  assert.equal(await page.$eval("#assignee", (s) => s.selectedOptions[0].textContent), "casey");
  await stillLoaded(page, "assigned");

  // Acknowledgement (a plain form).
  await submit(page, "#acknowledge button[type=submit]");
  assert.match(await page.textContent("#deadlines"), /acknowledged on/);
  await stillLoaded(page, "acknowledged");

  // An internal note and a reply, encrypted here.
  await page.fill("#note-text", noteText);
  await submit(page, "#note-form button[type=submit]");
  await page.waitForSelector(`#notes .decrypted .pre-wrap:text("${noteText}")`);
  assert.match(await focused(page), /^DIV: Your note was encrypted and saved\./);
  await stillLoaded(page, "note written");
  await page.fill("#reply-text", replyText);
  await submit(page, "#reply-form button[type=submit]");
  await page.waitForSelector(`[data-message] .decrypted .pre-wrap:text("${replyText}")`);
  await stillLoaded(page, "reply sent");
  // Each was sent once: the handlers of earlier pages shown are gone.
  assert.equal(await page.locator("#notes [data-note]").count(), 1, "the note was sent more than once");
  assert.equal(await page.locator("#thread [data-message]").count(), 2, "the reply was sent more than once");

  // A download (marked data-native) is the browser's: the page stays.
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("#thread [data-message] a[href*='/message/']")]);
  assert.match(download.suggestedFilename(), /\.age$/);
  await stillLoaded(page, "ciphertext downloaded");
  await audit("case page after a reply");

  // To the inbox and back.
  await submit(page, "nav a[href='/staff/']");
  assert.equal(new URL(page.url()).pathname, "/staff/");
  assert.match(await focused(page), /^H1: Inbox/);
  assert.match(await page.textContent("table.inbox tbody"), /Waiting for the reporter/);
  await audit("inbox shown in place");
  await submit(page, "table.inbox a");
  assert.equal(page.url(), caseURL);
  await stillLoaded(page, "back from the inbox");

  // The browser's back and forward buttons.
  await submit(page, "nav a[href='/staff/key']");
  assert.match(await page.textContent("h1"), /Your key/);
  await page.goBack();
  await page.waitForURL(caseURL);
  await stillLoaded(page, "browser back");
  await page.goForward();
  await page.waitForSelector("h1:text('Your key')");
  await page.goBack();
  await stillLoaded(page, "browser back again");

  // Closing (a multipart form, without an explanation, so not the
  // script's) and reopening.
  await page.selectOption("#outcome", { index: 1 });
  await submit(page, "#close-form button[type=submit]");
  assert.equal(await page.textContent("#case-status"), "Closed");
  await stillLoaded(page, "closed");
  await submit(page, "#reopen-form button[type=submit]");
  assert.equal(await page.textContent("#case-status"), "In review");
  await stillLoaded(page, "reopened");

  // Forget: the page is shown again without what the key decrypted, and
  // the panel asks for the key.
  await page.click("#identity-forget");
  await page.waitForSelector("#key-status:has-text('forgotten')");
  assert.ok(await page.isVisible("#identity-file"), "the key panel does not ask for the key after forgetting it");
  assert.equal(await page.locator(".decrypted .pre-wrap").count(), 0, "decrypted text stays after forgetting the key");

  // Loaded again, remembered as asked: sessionStorage holds it, so a reload
  // keeps it; logging out drops it from there too.
  await page.check("#identity-remember");
  await page.setInputFiles("#identity-file", key);
  await page.waitForSelector(`[data-message] .decrypted .pre-wrap:text("${reportText}")`);
  assert.equal(await page.evaluate(() => sessionStorage.length), 1, "the key was not remembered as asked");
  await page.reload();
  await page.waitForSelector(`[data-message] .decrypted .pre-wrap:text("${reportText}")`);
  await Promise.all([page.waitForURL(base + "/staff/login"), page.click(".logout button[type=submit]")]);
  assert.deepEqual(await page.evaluate(() => [sessionStorage.length, localStorage.length]), [0, 0], "logging out left the key in storage");
  await waitForStep(lastStep + 1);
  await login(page, base, secret, lastStep + 1);
  await page.goto(caseURL);
  assert.ok(await page.isVisible("#identity-file"), "after logging in again the key panel does not ask for the key");
  assert.ok(!(await page.isVisible("#key-loaded")));
  assert.equal(await page.locator(".decrypted .pre-wrap").count(), 0, "the case is decrypted after logging in again");

  // A session ended elsewhere (logged out from another request of this
  // browser): a form sent then is refused with a page that says so, and
  // the key is dropped; the next console page is the login page, loaded in
  // full (the key goes with the page).
  await page.check("#identity-remember");
  await page.setInputFiles("#identity-file", key);
  await page.waitForSelector(`[data-message] .decrypted .pre-wrap:text("${reportText}")`);
  await page.evaluate(() => (window.consoleMarker = "kept"));
  await submit(page, "nav a[href='/staff/']");
  await submit(page, "table.inbox a");
  await stillLoaded(page, "logged in again, remembered", { remembered: true });
  const csrf = await page.getAttribute(".logout input[name=csrf]", "value");
  const ended = await ctx.request.post(base + "/staff/logout", { form: { csrf }, maxRedirects: 0 });
  assert.equal(ended.status(), 303);
  await page.selectOption("#status", { label: "In review" });
  await submit(page, "form[action$='/status'] button[type=submit]");
  assert.equal(await page.textContent("h1"), "Your session has ended");
  assert.equal(await page.evaluate(() => window.consoleMarker), "kept", "the refusal was not shown in place");
  assert.equal(await page.evaluate(() => sessionStorage.length), 0, "the key stays remembered after the session ended");
  await Promise.all([page.waitForURL(base + "/staff/login"), page.goBack()]);
  await page.waitForSelector("#username");
  assert.equal(await page.evaluate(() => window.consoleMarker), undefined, "the login page was shown in place");

  assert.deepEqual(errors, [], "the console raised script errors");
  assert.ok(!sent.some((b) => b.includes("AGE-SECRET-KEY")), "a request carried a secret key");
  assert.ok(!log().includes("AGE-SECRET-KEY"), "a secret key reached the server's log");
  assert.deepEqual(found, [], `axe-core found WCAG 2.2 A/AA violations:\n${found.join("\n")}\n`);
});
