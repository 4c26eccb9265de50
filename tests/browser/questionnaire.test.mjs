// A channel's own questionnaire, in steps, in a real browser with
// JavaScript off (docs/intake-questions.md): an operator stores it with
// `candour questionnaire set` (every question type, a step asked only
// for some answers, translations); a reporter walks the steps, meets a
// wrong answer that keeps everything entered, goes back and on again,
// answers a file question with a file, sends the report and reads the
// answers back on their case page, in English and in Welsh. axe-core
// checks a step page, a step with an error and the last page in every
// language, desktop and phone (as tests/browser/accessibility.test.mjs
// does: pages fetched with JavaScript off, audited as served).
//
// Run by `make test` (which builds ./.bin/candour first). Talks only to
// 127.0.0.1.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { bin, chatPNG, enrol, login, startServer, launchBrowser, testTimeout, axeViolations as runAxe } from "./helpers.mjs";

const viewports = {
  desktop: { viewport: { width: 1280, height: 800 } },
  phone: { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true },
};

const questionnaire = {
  steps: [
    {
      title: { en: "About you", cy: "Amdanoch chi" },
      questions: [
        {
          id: "role", type: "choice", required: true,
          label: { en: "Who are you?", cy: "Pwy ydych chi?" },
          help: { en: "Choose the one that fits best." },
          choices: [
            { value: "Police officer", label: { en: "Police officer", cy: "Swyddog heddlu" } },
            { value: "Police staff", label: { en: "Police staff" } },
            { value: "Member of the public", label: { en: "Member of the public" } },
          ],
        },
        { id: "seen", type: "yes_no", label: { en: "Did you see the messages yourself?" } },
      ],
    },
    {
      title: { en: "The messages" },
      when: { question: "role", values: ["Police officer", "Police staff"] },
      questions: [
        {
          id: "apps", type: "multi_choice", label: { en: "Which apps were they posted in?" },
          choices: [
            { value: "WhatsApp", label: { en: "WhatsApp" } },
            { value: "Signal", label: { en: "Signal" } },
            { value: "Teams", label: { en: "Teams" } },
          ],
        },
        { id: "period", type: "date_range", precision: "day", label: { en: "Between which days?" } },
        { id: "months", type: "date_range", precision: "month", label: { en: "In which months?" } },
      ],
    },
    {
      title: { en: "Details" },
      questions: [
        { id: "summary", type: "short_text", required: true, label: { en: "In one line, what happened?" } },
        { id: "detail", type: "long_text", label: { en: "Anything else?" } },
        { id: "reported", type: "date", label: { en: "When did you first report it?" } },
        { id: "evidence", type: "file", label: { en: "A screenshot of the chat" }, help: { en: "Its hidden data is removed." } },
      ],
    },
  ],
};

let srv, browser, data;
const auditors = {};

before(async () => {
  srv = await startServer();
  // The server's data folder is beside its key (helpers.mjs); the
  // questionnaire is stored beside the running server, as an operator
  // would, and asked from the next form on.
  data = join(dirname(srv.key), "data");
  const file = join(dirname(srv.key), "questions.json");
  writeFileSync(file, JSON.stringify(questionnaire, null, 2));
  const out = execFileSync(bin, ["questionnaire", "set", "--data", data, "--channel", "1", file]).toString();
  assert.match(out, /Stored version 1 of channel 1's questionnaire/);
  const shown = JSON.parse(execFileSync(bin, ["questionnaire", "show", "--data", data, "--channel", "1"]).toString());
  assert.equal(shown.steps.length, 3);
  assert.equal(shown.steps[1].when.question, "role");
  browser = await launchBrowser();
  for (const [name, opts] of Object.entries(viewports)) {
    const ctx = await browser.newContext(opts);
    auditors[name] = { ctx, page: await ctx.newPage() };
  }
});

after(async () => {
  await browser?.close();
  await srv?.stop();
});

// submit clicks a button and returns the response it leads to.
async function submit(page, selector) {
  const [res] = await Promise.all([page.waitForNavigation(), page.click(selector)]);
  return res;
}

const next = "main button[name=nav][value=next]";
const back = "main button[name=nav][value=back]";
const send = "main form[action='/report'] button[type=submit]:not([name=nav])";

test("a reporter walks a channel's questions in steps with JavaScript off and reads the answers back", { timeout: testTimeout }, async () => {
  const ctx = await browser.newContext({ javaScriptEnabled: false });
  const page = await ctx.newPage();
  const { base } = srv;

  await page.goto(base + "/report");
  assert.equal((await page.textContent("#step-progress")).trim(), "Step 1 of 3");
  assert.match(await page.textContent("main form legend"), /About you/);
  assert.match(await page.textContent("main"), /\(required\)/);

  // Next without the required answer: the same step, the answer given kept.
  await page.check("#q_seen-0");
  let res = await submit(page, next);
  assert.equal(res.status(), 400);
  assert.match(await page.textContent("#q_role-error"), /Please answer "\u2068Who are you\?\u2069": it is required\./);
  assert.ok(await page.isChecked("#q_seen-0"), "the answer given was lost");
  assert.equal(await page.getAttribute("#error-summary a", "href"), "#q_role-0");

  await page.check("#q_role-0");
  res = await submit(page, next);
  assert.equal(res.status(), 200);
  assert.equal((await page.textContent("#step-progress")).trim(), "Step 2 of 3");

  // Step 2: ticks, days, months the wrong way round: shown again, kept.
  await page.check("#q_apps-0");
  await page.check("#q_apps-1");
  await page.fill("#q_period_from", "2024-02-01");
  await page.fill("#q_period_to", "2024-02-29");
  await page.fill("#q_months_from", "2024-05");
  await page.fill("#q_months_to", "2024-01");
  res = await submit(page, next);
  assert.equal(res.status(), 400);
  assert.match(await page.textContent("#q_months-error"), /first month after its second/);
  assert.ok((await page.isChecked("#q_apps-0")) && (await page.isChecked("#q_apps-1")), "the ticks were lost");
  assert.equal(await page.inputValue("#q_period_to"), "2024-02-29");

  // Back keeps everything, unchecked; then on again.
  await submit(page, back);
  assert.equal((await page.textContent("#step-progress")).trim(), "Step 1 of 3");
  assert.ok(await page.isChecked("#q_role-0"));
  await submit(page, next);
  assert.equal(await page.inputValue("#q_months_to"), "2024-01");
  await page.fill("#q_months_to", "2024-06");
  res = await submit(page, next);
  assert.equal(res.status(), 200);
  assert.equal((await page.textContent("#step-progress")).trim(), "Step 3 of 3");

  // The last page: the report form, with the file question.
  await page.fill("#q_summary", "Racist memes in the team chat");
  await page.fill("#q_detail", "Every week.\nSince the spring.");
  await page.fill("#q_reported", "2024-07-01");
  await page.setInputFiles("#q_evidence", { name: "chat.png", mimeType: "image/png", buffer: chatPNG });
  await page.fill("textarea[name=body]", "PC Grey posts them; others react.");
  res = await submit(page, send);
  assert.equal(res.status(), 200);
  const code = (await page.textContent("#case-code")).trim();
  assert.match(await page.textContent("#answers-count"), /Questions answered: 9\. Your answers were encrypted with your report\./);
  assert.ok(await page.isVisible(".file-list >> text=chat.png"), "the receipt does not list the file");

  // The case page shows the answers as they were asked.
  await page.goto(base + "/followup");
  await page.fill("input[name=code]", code);
  await submit(page, "main button[type=submit]");
  const answers = await page.textContent("dl.answers");
  for (const want of ["Who are you?", "Police officer", "Did you see the messages yourself?", "Yes", "WhatsApp; Signal",
    "2024-02-01 to 2024-02-29", "2024-05 to 2024-06", "Racist memes in the team chat", "2024-07-01", "chat.png"]) {
    assert.ok(answers.includes(want), `the case page's answers lack ${want}: ${answers}`);
  }
  assert.ok(await page.isVisible(".file-list >> text=chat.png"), "the case page does not offer the file");
  await page.goto(base + "/case?lang=cy");
  const cy = await page.textContent("dl.answers");
  for (const want of ["Pwy ydych chi?", "Swyddog heddlu", "Ie", "2024-02-01 i 2024-02-29"]) {
    assert.ok(cy.includes(want), `the Welsh case page's answers lack ${want}: ${cy}`);
  }
  await ctx.close();

  // A caseworker decrypts the case in the console: the answers as a
  // labelled form, each type readable, the file answer pointing to its
  // attachment.
  const staff = await browser.newContext();
  const sp = await staff.newPage();
  const errors = [];
  sp.on("pageerror", (e) => errors.push(e.message));
  await sp.goto(srv.enrolLink);
  const { secret, step } = await enrol(sp);
  await login(sp, base, secret, step + 1);
  await Promise.all([sp.waitForNavigation(), sp.click("table.inbox a")]); // shown in place (navigate.js)
  const served = await (await staff.request.get(sp.url())).text();
  assert.ok(!served.includes("Racist memes in the team chat"), "the staff page as served contains an answer in clear");
  await sp.setInputFiles("#identity-file", srv.key);
  await sp.waitForSelector(".decrypted section.answers");
  assert.equal(await sp.textContent(".decrypted section.answers h3"), "Intake answers (channel-1, version 1)");
  const rows = await sp.$$eval(".decrypted dl.answers > *", (els) => els.map((e) => `${e.tagName}:${e.textContent}`));
  for (const want of ["DT:Who are you?", "DD:Police officer", "DD:WhatsAppSignal", "DD:1 February 2024 to 29 February 2024",
    "DD:May 2024 to June 2024", "DD:Racist memes in the team chat", "DD:Every week.\nSince the spring.", "DD:1 July 2024",
    "DD:chat.png (see the attachment below)"]) {
    assert.ok(rows.includes(want), `the console's answers lack ${JSON.stringify(want)}: ${JSON.stringify(rows)}`);
  }
  assert.deepEqual(await sp.$$eval(".decrypted dl.answers ul.answer-values li", (li) => li.map((e) => e.textContent)).then((l) => l.slice(0, 2)),
    ["WhatsApp", "Signal"]);
  assert.deepEqual(errors, [], "the console page raised script errors");
  await staff.close();
});

test("a file the reporter chose is named to choose again after going back", { timeout: testTimeout }, async () => {
  const ctx = await browser.newContext({ javaScriptEnabled: false });
  const page = await ctx.newPage();
  await page.goto(srv.base + "/report");
  await page.check("#q_role-2"); // a member of the public: step 2 is not asked
  await submit(page, next);
  assert.equal((await page.textContent("#step-progress")).trim(), "Step 2 of 2");
  await page.fill("textarea[name=body]", "Typed before going back.");
  await page.setInputFiles("input[name=attachments]", { name: "log.txt", mimeType: "text/plain", buffer: Buffer.from("log") });
  await submit(page, back);
  assert.equal((await page.textContent("#step-progress")).trim(), "Step 1 of 2");
  assert.ok(await page.isChecked("#q_role-2"), "the answer was lost");
  assert.ok(await page.isVisible("main .file-list >> text=log.txt"), "the file to choose again is not named");
  await submit(page, next);
  assert.equal(await page.inputValue("textarea[name=body]"), "Typed before going back.");
  assert.ok(await page.isVisible("#attachments-kept + .file-list >> text=log.txt"));
  await ctx.close();
});

async function capture(name, res) {
  assert.ok(res, `no response for ${name}`);
  const headers = { ...(await res.allHeaders()) };
  for (const h of ["set-cookie", "content-length", "content-encoding", "transfer-encoding"]) delete headers[h];
  const body = await res.body();
  assert.doesNotMatch(body.toString(), /<script|<noscript/i, `${name}: a reporter page must work without JavaScript`);
  return { name, url: res.url(), status: res.status(), headers, body };
}

async function replay(page, p) {
  await page.route((u) => u.href === p.url, (route) => route.fulfill({ status: p.status, headers: p.headers, body: p.body }));
  const res = await page.goto(p.url);
  await page.unrouteAll();
  assert.equal(res.status(), p.status, `${p.name}: the captured page was not replayed`);
}

test("axe-core: the step pages and the last page in every language, desktop and phone", { timeout: testTimeout }, async () => {
  const ctx = await browser.newContext({ javaScriptEnabled: false });
  const page = await ctx.newPage();
  await page.goto(srv.base + "/");
  const tags = ["en", ...(await page.$$eval("nav.languages a[hreflang]", (as) => as.map((a) => a.getAttribute("hreflang"))))];
  assert.equal(tags.length, 6, `languages: ${tags}`);
  const kept = [];
  for (const lang of tags) {
    kept.push(await capture(`${lang} first step`, await page.goto(`${srv.base}/report?channel=1&lang=${lang}`)));
    const error = await capture(`${lang} step with an error`, await submit(page, next));
    assert.equal(error.status, 400);
    kept.push(error);
    await page.check("#q_role-1");
    kept.push(await capture(`${lang} second step`, await submit(page, next)));
    await page.fill("#q_months_from", "2024-05");
    kept.push(await capture(`${lang} last page`, await submit(page, next)));
    assert.ok(await page.isVisible("#q_evidence"), `${lang}: the last page has no file question`);
  }
  await ctx.close();
  const found = [];
  for (const [vp, { page: auditor }] of Object.entries(auditors)) {
    for (const p of kept) {
      await replay(auditor, p);
      for (const v of await runAxe(auditor)) {
        found.push(`${vp} ${p.name}: ${v.id} (${v.impact}) ${v.help} [${v.nodes.map((n) => n.target.join(" ")).join(", ")}]`);
      }
    }
  }
  assert.deepEqual(found, [], `axe-core found WCAG 2.2 A/AA violations:\n${found.join("\n")}\n`);
});
