// Confidential identity end to end in a real browser
// (docs/confidential-identity.md): an administrator makes herself a
// custodian and offers the identity section on the channel; a reporter
// (JavaScript off) gives her name; a caseworker sees that the case has
// identity details but not what they are, and asks for access; the
// custodian opens them and approves in her browser (decrypt with her own
// key, re-encrypt to the caseworker's); the caseworker decrypts his grant
// with his own key; a custodian who joined later is given a copy the same
// way; the reporter's case page says the details were opened,
// to the day, and she withdraws them. axe-core checks every new page
// (WCAG 2.2 A/AA), reporter pages as served to the JavaScript-off browser.
//
// Needs ./.bin/candour and the bundle (`npm run build`). Talks only to
// 127.0.0.1.

import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer, launchBrowser, testTimeout, enrol, login, staffPage, loginAs, invite, makeKeyFile, registerKey, axeViolations as runAxe } from "./helpers.mjs";

const viewports = {
  desktop: { viewport: { width: 1280, height: 800 } },
  phone: { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true },
};

const name = "Sergeant Jane Doe";
const contact = "jane.doe.private@example.org";
const role = "Custody sergeant, Northtown";

test("Confidential identity: invisible to caseworkers, visible to the custodian, granted to one caseworker, and the reporter sees that it was opened", { timeout: testTimeout }, async (t) => {
  const { base, enrolLink, stop, log } = await startServer();
  t.after(stop);
  const browser = await launchBrowser();
  t.after(() => browser.close());
  const dir = mkdtempSync(join(tmpdir(), "candour-identity-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const errors = [];
  const found = []; // axe violations
  const auditors = {};
  for (const [vp, opts] of Object.entries(viewports)) auditors[vp] = await (await browser.newContext(opts)).newPage();

  // 1. Casey, the administrator, registers her own (post-quantum, as the
  //    organisation's) key, makes herself a custodian and offers the
  //    identity section on the one channel.
  const admin = await staffPage(browser, errors);
  await admin.goto(enrolLink);
  const casey = await enrol(admin);
  await login(admin, base, casey.secret, casey.step + 1);
  const caseyKey = await makeKeyFile(dir, "casey", "pq");
  await registerKey(admin, base, caseyKey.recipient);
  await admin.goto(base + "/staff/admin/staff");
  await Promise.all([admin.waitForNavigation(), admin.click(`button:has-text("Make casey a custodian")`)]);
  assert.ok(await admin.isVisible(`a[href="/staff/identity"]`), "no link to the custodians' page");
  await admin.goto(base + "/staff/admin/channels/1");
  await Promise.all([admin.waitForNavigation(), admin.click(`#channel-identity button[value=on]`)]);
  assert.match(await admin.textContent("#channel-identity-state"), /offers the identity section/);

  // 2. Alex, a caseworker, with his own (classic) key.
  const link = await invite(admin, base, "alex");
  const alex = await staffPage(browser, errors);
  await alex.goto(link);
  const alexEnrol = await enrol(alex);
  await loginAs(alex, base, "alex", alexEnrol.secret, alexEnrol.step + 1);
  const alexKey = await makeKeyFile(dir, "alex", "x25519");
  await registerKey(alex, base, alexKey.recipient);

  // 3. The reporter, JavaScript off, says who she is.
  const reporterCtx = await browser.newContext({ javaScriptEnabled: false });
  const rp = await reporterCtx.newPage();
  const formRes = await rp.goto(base + "/report");
  const reportForm = await keep("report form with the identity section", formRes);
  assert.ok(await rp.isVisible("#identity-section"), "the report form has no identity section");
  await rp.fill("#id_name", name);
  await rp.fill("#id_contact", contact);
  await rp.fill("#id_role", role);
  await rp.fill("textarea[name=body]", "The custody record for 3 May was altered after the fact.");
  await Promise.all([rp.waitForNavigation(), rp.click("main button[type=submit]")]);
  const code = (await rp.textContent("#case-code")).trim();
  await rp.goto(base + "/followup");
  await rp.fill("input[name=code]", code);
  const [caseRes] = await Promise.all([rp.waitForNavigation(), rp.click("main button[type=submit]")]);
  assert.match(await rp.textContent("#identity-status"), /You gave us your identity details\. They have not been opened\./);
  const casePageUnopened = await keep("case page, identity not opened", caseRes);

  // 4. Alex sees that there are details, not what they are, and asks.
  await alex.goto(base + "/staff/");
  await Promise.all([alex.waitForNavigation(), alex.click("table.inbox a")]); // shown in place (navigate.js)
  const caseURL = alex.url();
  assert.match(await alex.textContent("#identity-section"), /This reporter gave identity details, readable only by custodians/);
  const served = await (await alex.request.get(caseURL)).text();
  for (const secret of [name, contact, role]) assert.ok(!served.includes(secret), "the caseworker's page holds the identity");
  assert.equal((await alex.request.get(caseURL + "/identity")).status(), 404, "alex got identity ciphertext without a grant");
  await alex.setInputFiles("#identity-file", alexKey.file);
  await alex.waitForSelector("#key-status:has-text('Key loaded')");
  await audit(alex, "staff case page, identity request form");
  await alex.fill("#identity-reason", "To take a witness statement from the reporter.");
  await Promise.all([alex.waitForNavigation(), alex.click("#identity-request button[type=submit]")]);
  assert.ok(await alex.isVisible("#identity-pending"), "alex is not told his request is pending");

  // 5. Casey opens the details with her own key and approves alex's
  //    request in her browser.
  await admin.goto(base + "/staff/identity");
  assert.match(await admin.textContent("#identity-requests"), /To take a witness statement/);
  await admin.setInputFiles("#identity-file", caseyKey.file);
  await admin.waitForSelector("#key-status:has-text('Key loaded')");
  await admin.click("button.identity-open");
  await admin.waitForSelector(`.identity-out dd:text("${name}")`);
  assert.equal(await admin.locator(".identity-out dd", { hasText: contact }).count(), 1);
  await audit(admin, "custodians' page with the details opened");
  const reloaded = admin.waitForNavigation().then(() => null);
  const refused = admin.waitForSelector("#key-status.notice-error").then((e) => e.textContent(), () => new Promise(() => {}));
  await admin.click("button.identity-approve");
  assert.equal(await Promise.race([reloaded, refused]), null, "the approval was refused");
  assert.equal(await admin.locator("button.identity-approve").count(), 0, "the request is still pending after approval");
  await audit(admin, "custodians' page, no request waiting");

  // 6. Alex decrypts his grant with his own key: the details, as text.
  await alex.goto(caseURL);
  await alex.setInputFiles("#identity-file", alexKey.file);
  await alex.waitForSelector("#key-status:has-text('Key loaded')");
  await alex.click("#identity-decrypt");
  await alex.waitForSelector(`#identity-details dd:text("${name}")`);
  assert.equal(await alex.locator("#identity-details dd", { hasText: role }).count(), 1);
  await audit(alex, "staff case page, identity decrypted");

  // 6b. Drew becomes a custodian after the report: the block was not
  //     encrypted to him, so he cannot open it until casey's browser
  //     gives him a copy, re-encrypted to his own key.
  const drewLink = await invite(admin, base, "drew");
  const drew = await staffPage(browser, errors);
  await drew.goto(drewLink);
  const drewEnrol = await enrol(drew);
  await loginAs(drew, base, "drew", drewEnrol.secret, drewEnrol.step + 1);
  const drewKey = await makeKeyFile(dir, "drew", "pq");
  await registerKey(drew, base, drewKey.recipient);
  await admin.goto(base + "/staff/admin/staff");
  await Promise.all([admin.waitForNavigation(), admin.click(`button:has-text("Make drew a custodian")`)]);
  const openAsDrew = async () => {
    await drew.goto(base + "/staff/identity");
    await drew.setInputFiles("#identity-file", drewKey.file);
    await drew.waitForSelector("#key-status:has-text('Key loaded')");
    await drew.click("button.identity-open");
  };
  await openAsDrew();
  await drew.waitForSelector("#key-status.notice-error:has-text('does not open')");
  assert.equal(await drew.locator(".identity-out dd").count(), 0);
  await admin.goto(base + "/staff/identity");
  await admin.setInputFiles("#identity-file", caseyKey.file);
  await admin.waitForSelector("#key-status:has-text('Key loaded')");
  await audit(admin, "custodians' page with a copy form");
  await admin.selectOption("form.identity-copy select", { label: "drew" });
  const copied = admin.waitForNavigation().then(() => null);
  const copyRefused = admin.waitForSelector("#key-status.notice-error").then((e) => e.textContent(), () => new Promise(() => {}));
  await admin.click("form.identity-copy button[type=submit]");
  assert.equal(await Promise.race([copied, copyRefused]), null, "the copy was refused");
  await openAsDrew();
  await drew.waitForSelector(`.identity-out dd:text("${name}")`);

  // 7. The reporter sees they were opened, to the day, and withdraws them.
  const caseOpened = await rp.goto(base + "/case");
  const today = new Date().toLocaleDateString("en-GB", { day: "numeric", month: "long", year: "numeric", timeZone: "UTC" });
  assert.match(await rp.textContent("#identity-status"), new RegExp(`They were first opened on ${today}\\.`));
  const casePageOpened = await keep("case page, identity opened", caseOpened);
  // The same pages in every other language (the switcher's choice is
  // remembered for the session), for axe below.
  const tags = await rp.$$eval("nav.languages a[hreflang]", (as) => as.map((a) => a.getAttribute("hreflang")));
  assert.ok(tags.length >= 5, `the case page offers ${tags.length} other languages`);
  const otherLanguages = [];
  for (const tag of tags) {
    otherLanguages.push(await keep(`case page, identity opened (${tag})`, await rp.goto(`${base}/case?lang=${tag}`)));
    otherLanguages.push(await keep(`identity withdrawal confirmation (${tag})`, await rp.goto(base + "/case/identity/withdraw")));
    otherLanguages.push(await keep(`report form with the identity section (${tag})`, await rp.goto(base + "/report")));
    for (const p of otherLanguages.slice(-3)) {
      assert.match(p.body.toString(), new RegExp(`<html lang="${tag}"`), `${p.name} is not marked as ${tag}`);
    }
    assert.match(otherLanguages.at(-1).body.toString(), /name="id_name"/, `the report form in ${tag} has no identity section`);
  }
  await rp.goto(`${base}/case?lang=en`);
  const [withdrawRes] = await Promise.all([rp.waitForNavigation(), rp.click("#identity-withdraw")]);
  const withdrawPage = await keep("identity withdrawal confirmation", withdrawRes);
  await rp.check("#confirm");
  const [afterRes] = await Promise.all([rp.waitForNavigation(), rp.click("main button[type=submit]")]);
  assert.match(await rp.textContent("#identity-status"), /Your identity details were withdrawn and deleted/);
  const casePageWithdrawn = await keep("case page, identity withdrawn", afterRes);
  await reporterCtx.close();
  assert.equal((await alex.request.get(caseURL + "/identity")).status(), 404, "alex's grant outlived the withdrawal");

  // axe on the reporter pages as served (see accessibility.test.mjs).
  for (const [vp, page] of Object.entries(auditors)) {
    for (const p of [reportForm, casePageUnopened, casePageOpened, withdrawPage, casePageWithdrawn, ...otherLanguages]) {
      await replay(page, p);
      found.push(...describe(`${vp} ${p.name}`, await runAxe(page)));
    }
  }
  assert.deepEqual(found, [], `axe-core found WCAG 2.2 A/AA violations:\n${found.join("\n")}\n`);
  assert.deepEqual(errors, [], "the console pages raised script errors");
  for (const secret of [name, contact, "AGE-SECRET-KEY"]) assert.ok(!log().includes(secret), "the server's log holds an identity");

  // audit runs axe on a staff page as it is, in both viewports.
  async function audit(page, what) {
    for (const [vp, opts] of Object.entries(viewports)) {
      await page.setViewportSize(opts.viewport);
      found.push(...describe(`${vp} ${what}`, await runAxe(page)));
    }
    await page.setViewportSize(viewports.desktop.viewport);
  }
});

function describe(where, violations) {
  return violations.map((v) => `${where}: ${v.id} (${v.impact}) ${v.help} [${v.nodes.map((n) => n.target.join(" ")).join(", ")}]`);
}

// keep records a reporter page as the JavaScript-off browser got it.
async function keep(name, res) {
  assert.ok(res, `no response for ${name}`);
  const headers = { ...(await res.allHeaders()) };
  for (const h of ["set-cookie", "content-length", "content-encoding", "transfer-encoding"]) delete headers[h];
  const body = await res.body();
  assert.doesNotMatch(body.toString(), /<script|<noscript/i, `${name}: a reporter page must work without JavaScript`);
  return { name, url: res.url(), status: res.status(), headers, body };
}

// replay serves a kept page to an audit page (JavaScript on, for axe).
async function replay(page, p) {
  await page.route((u) => u.href === p.url, (route) => route.fulfill({ status: p.status, headers: p.headers, body: p.body }));
  const res = await page.goto(p.url);
  await page.unrouteAll();
  assert.equal(res.status(), p.status, `${p.name}: the kept page was not replayed`);
}

