// A form the console sends with fetch whose answer is lost (the server
// acted, then the connection dropped) is never sent again: the page is
// shown afresh with a warning to check it, and the change is made once.
import { test } from "node:test";
import assert from "node:assert/strict";
import { startServer, launchBrowser, testTimeout, patience, sendReports, firstAdmin } from "./helpers.mjs";

test("a lost answer is not sent again: the page says so and the change is made once", { timeout: testTimeout }, async (t) => {
  const { base, enrolLink, stop } = await startServer();
  t.after(stop);
  const browser = await launchBrowser();
  t.after(() => browser.close());
  await sendReports(browser, base, ["A report whose status is changed once."]);
  const { page: sp, errors } = await firstAdmin(browser, base, enrolLink);
  await sp.goto(base + "/staff/");
  const ref = await sp.$eval("table.inbox tr[data-ref]", (tr) => tr.dataset.ref);
  await sp.goto(`${base}/staff/case/${ref}`);
  await sp.evaluate(() => (window.consoleMarker = "kept"));

  // The first request reaches the server, which acts on it; its answer is
  // then lost. Any further request to the same form would be a repeat.
  let sent = 0;
  await sp.route(`**/staff/case/${ref}/status`, async (route) => {
    sent++;
    if (sent === 1) {
      await route.fetch({ maxRedirects: 0 });
      await route.abort("connectionreset");
    } else {
      await route.continue();
    }
  });
  const label = await sp.$eval("select#status", (s) => s.options[1].textContent);
  await sp.selectOption("select#status", { index: 1 });
  await sp.click("form[action$='/status'] button[type=submit]");
  const warning = await sp.waitForSelector("main [role=alert]:has-text('did not arrive')", { timeout: patience });
  assert.match(await warning.textContent(), /Check this page/);
  assert.equal(await sp.evaluate(() => window.consoleMarker), "kept", "the page was unloaded");
  // The page shown afresh has the change, made once.
  assert.match(await sp.textContent("main"), new RegExp(label.trim()));
  assert.equal(sent, 1, `the form was sent ${sent} times`);
  await sp.unroute(`**/staff/case/${ref}/status`);
  await sp.goto(base + "/staff/admin/audit");
  const entries = ((await sp.textContent("main")).match(/case\.status/g) || []).length;
  assert.equal(entries, 1, `the status was changed ${entries} times`);
  assert.deepEqual(errors, []);
});
