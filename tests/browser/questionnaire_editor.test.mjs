// The intake questions editor (docs/intake-questions.md) in a real
// browser, JavaScript off: an administrator opens a new channel's
// questions (the built-in default), adds a yes/no question, a step asked
// only when it is answered "Yes" and a last step with a file question,
// only through the editor's buttons and fields, and saves it as the
// channel's version 1. Then axe-core checks the editor, a refused draft
// and a read-only version for WCAG 2.2 A/AA violations, desktop and
// phone.
//
// Every URL and selector it assumes of the server's pages:
//   - /staff/admin/channels: a form with [name=name_en] that creates a
//     channel and leads to its page, /staff/admin/channels/:id, whose
//     #questions-link opens /staff/admin/channels/:id/questions.
//   - The editor, form#editor-form: fields s<i>_q<j>_id, _type (a
//     select), _label_en; s<i>_when (a select of question ids) and
//     checkboxes s<i>_values valued "<question id>:<answer>"; buttons
//     name=action valued add-question:<i>, add-step, update and save
//     (#editor-save); #editor-notice after saving, #editor-problem when a
//     draft is refused; #shown-version saying which version is shown.
//
// Run by `make test` (which builds ./.bin/candour first). Talks only to
// 127.0.0.1.

import { test } from "node:test";
import assert from "node:assert/strict";
import { startServer, launchBrowser, testTimeout, enrol, login, screenshot, axeViolations, describeViolation } from "./helpers.mjs";

const viewports = {
  desktop: { viewport: { width: 1280, height: 800 } },
  phone: { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true },
};

// press clicks a submit button and waits for the page it leads to.
async function press(page, selector) {
  const [res] = await Promise.all([page.waitForNavigation(), page.click(selector)]);
  return res;
}

const button = (action) => `#editor-form button[name=action][value="${action}"]`;

test("an administrator builds intake questions with a dependent step, without JavaScript, and saves them", { timeout: testTimeout }, async (t) => {
  const { base, enrolLink, stop } = await startServer();
  t.after(stop);
  const browser = await launchBrowser();
  t.after(() => browser.close());

  const ctx = await browser.newContext({ ...viewports.desktop, javaScriptEnabled: false });
  const page = await ctx.newPage();
  await page.goto(enrolLink);
  const { secret, step } = await enrol(page);
  await login(page, base, secret, step + 1);

  // A new channel asks the built-in default questions.
  await page.goto(base + "/staff/admin/channels");
  await page.fill("[name=name_en]", "Conduct in Kent Police");
  await press(page, "form:has([name=name_en]) button[type=submit]");
  await press(page, "#questions-link");
  const editorURL = page.url();
  assert.match(new URL(editorURL).pathname, /^\/staff\/admin\/channels\/[0-9]+\/questions$/);
  assert.match(await page.textContent("#shown-version"), /built-in default/);
  assert.equal(await page.locator("#editor-form [name$=_id]").count(), 10, "the draft is not the default's ten questions");

  // A yes/no question at the end of step 1.
  await press(page, button("add-question:0"));
  await page.fill("#s0_q10_id", "witnessed");
  await page.selectOption("#s0_q10_type", "yes_no");
  await page.fill("#s0_q10_label_en", "Did you see it yourself?");
  await page.check("#s0_q10_required");
  // Two more steps: the middle one asked only after a "Yes".
  await press(page, button("add-step"));
  await press(page, button("add-step"));
  assert.equal(await page.inputValue("#s0_q10_id"), "witnessed", "adding a step lost the draft");
  await press(page, button("add-question:1"));
  await page.fill("#s1_title_en", "What you saw");
  await page.fill("#s1_q0_id", "seen");
  await page.selectOption("#s1_q0_type", "multi_choice");
  await page.fill("#s1_q0_label_en", "What did you see?");
  await page.fill("#s1_q0_choices_en", "Messages\nPhotos\nSomething else");
  await page.selectOption("#s1_when", "witnessed");
  await press(page, button("update")); // shows the answers of the question chosen
  await page.check(`#editor-form input[name=s1_values][value="witnessed:Yes"]`);
  await press(page, button("add-question:2"));
  await page.fill("#s2_q0_id", "screens");
  await page.selectOption("#s2_q0_type", "file");
  await page.fill("#s2_q0_label_en", "Screenshots, if you have them");
  assert.equal(await page.inputValue("#s1_when"), "witnessed", "adding a question lost the condition");
  assert.ok(await page.isChecked(`input[name=s1_values][value="witnessed:Yes"]`));

  // A draft with a mistake is refused, and kept.
  await page.fill("#s2_q0_id", "Screens!");
  let res = await press(page, "#editor-save");
  assert.equal(res.status(), 422);
  assert.match(await page.textContent("#editor-problem"), /Not saved: question id "Screens!" must be/);
  assert.equal(await page.inputValue("#s1_q0_choices_en"), "Messages\nPhotos\nSomething else");
  const refused = page.url();
  await screenshot(page, "questions-refused.png", { maxHeight: 1600 });

  // Desktop and phone: the editor with a refused draft, in a context with
  // JavaScript on (axe needs it) and the same session.
  const violations = [];
  const state = await ctx.storageState();
  const html = await page.content();
  for (const [name, vp] of Object.entries(viewports)) {
    const audit = await browser.newContext({ ...vp, storageState: state });
    const ap = await audit.newPage();
    // The refused draft is the answer to a POST: serve the same HTML.
    await ap.route(refused, (route) => route.fulfill({ status: 200, contentType: "text/html; charset=utf-8", body: html }));
    await ap.goto(refused);
    await ap.unrouteAll();
    violations.push(...(await runAxe(ap)).map((v) => `${name} refused draft: ${v}`));
    await audit.close();
  }

  await page.fill("#s2_q0_id", "screens");
  res = await press(page, "#editor-save");
  assert.equal(res.status(), 200);
  assert.match(new URL(page.url()).search, /saved=1/);
  assert.match(await page.textContent("#editor-notice"), /Saved as version 1/);
  assert.match(await page.textContent("#shown-version"), /Version 1, saved by casey/);
  const shown = await page.textContent("#questionnaire-shown");
  assert.match(shown, /Asked only when the answer to "witnessed" is "Yes"\./);
  assert.match(shown, /What did you see\?/);
  assert.match(shown, /screens/);
  await screenshot(page, "questions-saved.png", { maxHeight: 3000 });

  // The saved JSON has the dependent step.
  const def = await (await page.request.get(editorURL + "/json?version=1")).json();
  assert.equal(def.steps.length, 3);
  assert.deepEqual(def.steps[1].when, { question: "witnessed", values: ["Yes"] });
  assert.deepEqual(def.steps[1].questions[0].choices.map((c) => c.value), ["Messages", "Photos", "Something else"]);
  assert.equal(def.steps[0].questions[10].required, true);

  for (const [name, vp] of Object.entries(viewports)) {
    const audit = await browser.newContext({ ...vp, storageState: await ctx.storageState() });
    const ap = await audit.newPage();
    await ap.goto(editorURL);
    violations.push(...(await runAxe(ap)).map((v) => `${name} editor: ${v}`));
    await ap.goto(editorURL + "/1");
    violations.push(...(await runAxe(ap)).map((v) => `${name} version 1: ${v}`));
    await audit.close();
  }
  assert.deepEqual(violations, [], `axe-core found WCAG 2.2 A/AA violations:\n${violations.join("\n")}\n`);
});

// runAxe is axe-core's violations on the page, a line each.
async function runAxe(page) {
  return (await axeViolations(page)).map(describeViolation);
}
