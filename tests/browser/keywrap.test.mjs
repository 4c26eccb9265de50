// A caseworker's key held by a passkey (issue 15, frontend/js/keywrap.js),
// in Chromium with the DevTools Protocol's virtual authenticator (resident
// keys, user verification, PRF): the caseworker loads their key file on
// "Your key", protects it with a passkey (the server keeps an age file it
// cannot open, and never receives the key), reloads the page, unlocks with
// one tap from the inbox, and reads a report's decrypted text.
//
// Then "another machine". The virtual authenticator belongs to one tab,
// and its PRF secret cannot be carried to another: WebAuthn.getCredentials
// does not export it, and a credential added with WebAuthn.addCredential to
// another tab's authenticator signs but gives no PRF results (checked in
// Chromium 156). So the test shows the two halves honestly, apart:
// - the same tab, made a stranger: logged out, its cookies, storage and
//   HTTP cache cleared and its document reloaded, logs in again and reads
//   the case with nothing but the wrapped file from the server and a tap;
// - a new browser context (its own profile: no file, nothing stored) logs
//   in as the same caseworker and is offered the same wrapped file and the
//   unlock button; with the cloned credential (no PRF) unlocking fails with
//   "use your key file", and the key file still works there.
// axe-core (WCAG 2.2 A/AA, desktop and phone) checks the key page with the
// new section and the inbox with the unlock button.
//
// Talks only to localhost (127.0.0.1).

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { startServer, launchBrowser, testTimeout, enrol, login, auditWidths, widths, sendReports } from "./helpers.mjs";
import { virtualAuthenticator, cloneCredential } from "./webauthn.mjs";

const reportText = "The duty inspector shredded the custody record on Friday.";

// waitForStep waits until TOTP step is no longer in the future (a code is
// accepted once, and at most one step ahead).
async function waitForStep(step) {
  while (Math.floor(Date.now() / 1000 / 30) < step - 1) await new Promise((r) => setTimeout(r, 500));
}

const stepNow = () => Math.floor(Date.now() / 1000 / 30);

async function openCase(page) {
  await Promise.all([page.waitForURL(/\/staff\/case\//), page.click("table.inbox a")]);
}

async function readsReport(page, step) {
  await page.waitForSelector(`[data-message] .decrypted .pre-wrap:text("${reportText}")`);
  assert.ok(await page.isVisible("#key-loaded"), `${step}: the key panel does not say the key is loaded`);
}

test("a caseworker protects their key with a passkey, unlocks it with a tap, and reads a case without the key file", { timeout: testTimeout }, async (t) => {
  const { base, key, enrolLink, stop } = await startServer({ host: "localhost" });
  t.after(stop);
  const browser = await launchBrowser();
  t.after(() => browser.close());
  const secretKey = readFileSync(key, "utf8").match(/AGE-SECRET-KEY-\S+/)[0];
  await sendReports(browser, base, [reportText]);

  const ctx = await browser.newContext({ viewport: widths.desktop });
  const page = await ctx.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  const sent = [];
  page.on("request", (r) => sent.push(r.postDataBuffer() || Buffer.alloc(0)));
  const passkey = await virtualAuthenticator(page);
  await page.goto(enrolLink);
  const { secret, step } = await enrol(page);
  await login(page, base, secret, step + 1);
  let lastStep = Math.max(step + 1, stepNow());
  const found = [];

  // Protect: the key file is loaded on "Your key", and the section to
  // protect it appears.
  await page.goto(base + "/staff/key");
  assert.match(await page.textContent("#keywrap-current"), /keeps no protected key/);
  assert.ok(!(await page.isVisible("#keywrap-make")), "the protect button is offered before a key is loaded");
  await page.setInputFiles("#identity-file", key);
  await page.waitForSelector("#keywrap-make", { state: "visible" });
  found.push(...(await auditWidths(page, "key page, key loaded")));
  await page.click("#keywrap-protect");
  await page.waitForSelector("text=Your key is protected by your passkey and kept with your account.");
  assert.match(await page.textContent("#keywrap-current"), /protected by a passkey since \d{4}-\d{2}-\d{2}/);
  found.push(...(await auditWidths(page, "key page, key protected")));
  const creds = await passkey.getCredentials();
  assert.equal(creds.length, 1, "one passkey was made");
  assert.ok(creds[0].isResidentCredential, "the passkey is discoverable");

  // What the server keeps is an age file of one fido2prf stanza, and no
  // request ever carried the key.
  const kept = await page.evaluate(async () => (await fetch("/staff/key/wrapped", { headers: { Accept: "application/json" } })).json());
  const keptText = Buffer.from(kept.file, "base64").toString("latin1");
  assert.match(keptText, /^-----BEGIN AGE ENCRYPTED FILE-----/);
  assert.equal(kept.hint, "", "a passkey needs no identity string");
  for (const body of sent) assert.ok(!body.toString("latin1").toUpperCase().includes(secretKey.slice(-30).toUpperCase()), "a request carried the secret key");

  // A reload drops the key; the inbox offers the passkey; one tap unlocks.
  await page.reload();
  await page.goto(base + "/staff/");
  await page.waitForSelector("#identity-unlock", { state: "visible" });
  assert.ok(await page.isVisible("#identity-file"), "the key file is no longer offered");
  found.push(...(await auditWidths(page, "inbox with the unlock button")));
  await page.click("#identity-unlock");
  await page.waitForSelector("#key-loaded", { state: "visible" });
  assert.match(await page.textContent("#key-status"), /Key unlocked with your passkey/);
  assert.ok(!(await page.isVisible("#identity-unlock")), "the unlock button stays once the key is loaded");
  await openCase(page);
  await readsReport(page, "unlocked after a reload");
  assert.deepEqual(await page.evaluate(() => [sessionStorage.length, localStorage.length]), [0, 0], "the unlocked key was stored");

  // The same tab made a stranger: logged out, cookies, storage and cache
  // cleared, the document loaded afresh. Only the passkey (this tab's
  // authenticator) and the server's wrapped file remain.
  await Promise.all([page.waitForURL(base + "/staff/login"), page.click(".logout button[type=submit]")]);
  await ctx.clearCookies();
  await page.evaluate(() => {
    sessionStorage.clear();
    localStorage.clear();
  });
  await passkey.cdp.send("Network.clearBrowserCache");
  await waitForStep(lastStep + 1);
  await login(page, base, secret, lastStep + 1);
  lastStep = Math.max(lastStep + 1, stepNow());
  assert.ok(!(await page.isVisible("#key-loaded")), "a key is loaded before unlocking");
  await page.click("#identity-unlock");
  await page.waitForSelector("#key-loaded", { state: "visible" });
  await openCase(page);
  await readsReport(page, "unlocked after logging in again with nothing stored");
  assert.equal((await passkey.getCredentials())[0].credentialId, creds[0].credentialId);

  // A new browser profile: the same caseworker's new session gets the
  // same wrapped file and the unlock button, and no key file.
  const other = await browser.newContext({ viewport: widths.desktop });
  const second = await other.newPage();
  second.on("pageerror", (e) => errors.push(e.message));
  await waitForStep(lastStep + 1);
  await login(second, base, secret, lastStep + 1);
  assert.deepEqual(await second.evaluate(() => [sessionStorage.length, localStorage.length]), [0, 0]);
  const keptThere = await second.evaluate(async () => (await fetch("/staff/key/wrapped", { headers: { Accept: "application/json" } })).json());
  assert.equal(keptThere.file, kept.file, "the second profile is served another file");
  await second.waitForSelector("#identity-unlock", { state: "visible" });
  // The passkey's credential copied into this tab's authenticator: it
  // signs, but Chromium does not carry its PRF secret, so the key cannot
  // be opened here, and the caseworker is told to use their key file.
  const clone = await virtualAuthenticator(second);
  await cloneCredential(clone, creds[0], 100);
  await second.click("#identity-unlock");
  await second.waitForSelector("#key-status.notice-error");
  assert.equal(await second.textContent("#key-status"), "This browser or key cannot hold your key; use your key file.");
  assert.ok(!(await second.isVisible("#key-loaded")));
  await second.setInputFiles("#identity-file", key);
  await openCase(second);
  await readsReport(second, "the key file in the second profile");

  assert.deepEqual(errors, []);
  assert.deepEqual(found, [], found.join("\n"));
});

// A security key that keeps no passkeys (no resident credentials): the
// key is protected to a credential that only the identity string names;
// the server keeps the string with the file and the key page shows it;
// after a reload, one tap unlocks through it.
test("a key protected by a security key that keeps no passkeys unlocks through its identity string", { timeout: testTimeout }, async (t) => {
  const { base, key, enrolLink, stop } = await startServer({ host: "localhost" });
  t.after(stop);
  const browser = await launchBrowser();
  t.after(() => browser.close());
  await sendReports(browser, base, [reportText]);
  const page = await (await browser.newContext({ viewport: widths.desktop })).newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  const securityKey = await virtualAuthenticator(page, { transport: "usb", hasResidentKey: false });
  await page.goto(enrolLink);
  const { secret, step } = await enrol(page);
  await login(page, base, secret, step + 1);

  await page.goto(base + "/staff/key");
  await page.setInputFiles("#identity-file", key);
  await page.check("#keywrap-security-key");
  await page.click("#keywrap-protect");
  await page.waitForSelector("text=Your key is protected by your passkey and kept with your account.");
  assert.match(await page.textContent("#keywrap-current"), /protected by a security key since/);
  const shown = (await page.textContent("#keywrap-kept-identity")).trim();
  assert.match(shown, /^AGE-PLUGIN-FIDO2PRF-1[0-9A-Z]+$/);
  const creds = await securityKey.getCredentials();
  assert.equal(creds.length, 1);
  assert.ok(!creds[0].isResidentCredential, "the security key stored a passkey");
  const found = await auditWidths(page, "key page, security key");

  await page.reload();
  await page.goto(base + "/staff/");
  await page.click("#identity-unlock");
  await page.waitForSelector("#key-loaded", { state: "visible" });
  await openCase(page);
  await readsReport(page, "unlocked with the security key");
  assert.deepEqual(errors, []);
  assert.deepEqual(found, [], found.join("\n"));
});
