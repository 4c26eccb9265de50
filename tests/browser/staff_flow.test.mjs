// End-to-end in a real browser (Debian's Chromium driven by playwright-core):
// a reporter with JavaScript disabled submits a report with an image; a
// caseworker enrols, logs in with a TOTP computed here, loads their identity
// file, reads the report decrypted in the browser, views the image and
// replies; the reporter reads the reply with their case code.
//
// Run by `make test` (which builds ./.bin/candour and the bundle first).
// Talks only to 127.0.0.1.

import { test } from "node:test";
import assert from "node:assert/strict";
import { png, startServer, launchBrowser, testTimeout, enrol, login } from "./helpers.mjs";

test("reporter, caseworker and reporter again, in a real browser", { timeout: testTimeout }, async (t) => {
  const { base, key, enrolLink, stop } = await startServer();
  t.after(stop);
  const browser = await launchBrowser();
  t.after(() => browser.close());

  // 1. The reporter, JavaScript off (Tor Browser "Safest").
  const reporter = await browser.newContext({ javaScriptEnabled: false });
  let page = await reporter.newPage();
  await page.goto(base + "/report");
  const reportText = "PC Grey shared a racist meme in the team chat on Monday.";
  // Three of the intake questions, answered by their labels (the months by id).
  await page.getByLabel("Which police force is this about?").fill("Northshire <Police>");
  await page.fill("#q_when_from", "2024-03");
  await page.fill("#q_when_to", "2024-05");
  await page.getByRole("group", { name: "Where were the messages posted?" }).getByLabel("Microsoft Teams").check();
  await page.fill("textarea[name=body]", reportText);
  await page.setInputFiles("input[name=attachments]", { name: "screenshot.png", mimeType: "image/png", buffer: png });
  await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
  const code = (await page.textContent("#case-code")).trim();
  assert.match(code, /^[0-9A-Z]{4}(-[0-9A-Z]{4}){4}$/);
  await reporter.close();

  // 2. The caseworker enrols and logs in.
  const staff = await browser.newContext();
  page = await staff.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(enrolLink);
  const qr = await page.$eval("img[alt^='QR code']", (img) => img.naturalWidth);
  assert.ok(qr > 0, "the enrolment QR code does not display");
  const { secret, step } = await enrol(page);
  assert.ok(await page.isVisible("#recovery-codes"), "no recovery codes after enrolment");
  await login(page, base, secret, step + 1); // the enrolment step is spent; the next one is within the allowed skew

  // 3. The case page as served holds no plaintext; decrypted in the browser it does.
  await Promise.all([page.waitForNavigation(), page.click("table.inbox a")]); // shown in place (navigate.js)
  const caseURL = page.url();
  const served = await (await staff.request.get(caseURL)).text();
  assert.ok(!served.includes("PC Grey"), "the staff page as served contains report plaintext");
  await page.setInputFiles("#identity-file", key);
  await page.waitForSelector(`.decrypted .pre-wrap:text("${reportText}")`);
  // The answers, above the text, as a labelled list, as text, under a
  // heading naming the questionnaire; the date range in words.
  const answers = await page.$$eval(".decrypted dl.answers", (dls) =>
    dls.map((dl) => [...dl.children].map((c) => `${c.tagName}:${c.textContent}`)),
  );
  assert.deepEqual(answers, [
    [
      "DT:Which police force is this about?",
      "DD:Northshire <Police>",
      "DT:When did it happen, roughly?",
      "DD:March 2024 to May 2024",
      "DT:Where were the messages posted?",
      "DD:Microsoft Teams",
    ],
  ]);
  assert.equal(await page.textContent(".decrypted section.answers h3"), "Intake answers (police-conduct, version 1)");
  assert.equal(await page.$$eval(".decrypted dl.answers img, .decrypted dl.answers b", (e) => e.length), 0);
  await page.click("button:text('Decrypt screenshot.png')");
  await page.waitForSelector("img.preview");
  assert.match(await page.textContent(".integrity"), /SHA-256 verified/);
  // The hash is shown once, with its check; the Decrypt button is gone.
  const box = await page.textContent(".attachment");
  const sum = (await page.textContent(".integrity")).match(/[0-9a-f]{64}/)[0];
  assert.equal(box.split(sum).length - 1, 1, `the file's hash is shown more than once: ${box}`);
  assert.equal(await page.locator("button:text('Decrypt screenshot.png')").count(), 0, "the Decrypt button stays after decrypting");
  assert.ok(await page.isVisible("a:text('Save screenshot.png')"), "no link to save the decrypted file");
  const width = await page.$eval("img.preview", (img) => img.naturalWidth);
  assert.equal(width, 2, "the decrypted image does not display");

  // 4. Reply, encrypted in the browser.
  const reply = "Thank you. Which chat group was it, and who else saw it?";
  await page.fill("#reply-text", reply);
  await Promise.all([page.waitForNavigation(), page.click("#reply-form button[type=submit]")]);
  await page.setInputFiles("#identity-file", key);
  await page.waitForSelector(`.decrypted .pre-wrap:text("${reply}")`);
  assert.deepEqual(errors, [], "the console page raised script errors");
  await staff.close();

  // 5. The reporter comes back with the code and reads the reply.
  const back = await browser.newContext({ javaScriptEnabled: false });
  page = await back.newPage();
  await page.goto(base + "/followup");
  await page.fill("input[name=code]", code.toLowerCase().replaceAll("-", " "));
  await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
  const thread = await page.textContent("main");
  assert.ok(thread.includes(reportText), "the reporter's own report is missing");
  assert.ok(thread.includes(reply), "the reporter cannot read the caseworker's reply");
  await back.close();
});
