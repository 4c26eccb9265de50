// A key left loaded in an unused tab is forgotten when the server's
// session would end (30 minutes without use), not only at the next page:
// the browser's clock is driven by the test (Playwright's clock), so this
// does not depend on the machine's speed.
import { test } from "node:test";
import assert from "node:assert/strict";
import { startServer, launchBrowser, testTimeout, sendReports, firstAdmin } from "./helpers.mjs";

const reportText = "The duty sergeant deleted the custody footage.";

test("the key is forgotten after the session's idle time without use", { timeout: testTimeout }, async (t) => {
  const { base, key, enrolLink, stop } = await startServer();
  t.after(stop);
  const browser = await launchBrowser();
  t.after(() => browser.close());
  await sendReports(browser, base, [reportText]);
  const { page, errors } = await firstAdmin(browser, base, enrolLink);
  await page.goto(base + "/staff/");
  const ref = await page.$eval("table.inbox tr[data-ref]", (tr) => tr.dataset.ref);
  // The page's timers from here on run on the test's clock.
  await page.clock.install();
  await page.goto(`${base}/staff/case/${ref}`);
  await page.setInputFiles("#identity-file", key);
  await page.waitForSelector(`[data-message] .decrypted .pre-wrap:text("${reportText}")`);

  // Used within the idle time, the key stays.
  await page.clock.fastForward("20:00");
  await page.click("h1");
  await page.clock.fastForward("20:00");
  assert.ok(await page.isVisible("#key-loaded"), "the key was forgotten although the tab was used");
  // Then 30 minutes without use: it goes.
  await page.clock.fastForward("30:01");
  await page.waitForSelector("main [role=status]:has-text('Your key was forgotten after 30 minutes without use')");
  assert.ok(await page.isVisible("#identity-file"), "the key panel does not ask for the key again");
  assert.equal(await page.locator(`.decrypted .pre-wrap:text("${reportText}")`).count(), 0, "the report is still shown decrypted");
  assert.deepEqual(await page.evaluate(() => [sessionStorage.length, localStorage.length]), [0, 0]);
  assert.deepEqual(errors, []);
});
