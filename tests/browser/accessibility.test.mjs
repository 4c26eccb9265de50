// Accessibility in a real browser: every reporter and staff page is checked
// with axe-core against WCAG 2.0, 2.1 and 2.2 levels A and AA, in a desktop
// and a phone viewport; and the whole reporter flow is done with the
// keyboard alone, JavaScript off, with a visible focus indicator at every
// step. With CANDOUR_SCREENSHOTS=docs/screenshots set, it also takes the
// README's screenshots.
//
// How axe sees the reporter pages as served. Reporter pages are used with
// JavaScript off and carry `script-src 'none'`. axe needs JavaScript, and in
// a context with JavaScript disabled its asynchronous run never finishes
// (timers do not fire). So each reporter page is first fetched by a
// JavaScript-off context (the reporter's browser), which keeps the exact
// response (status, headers with the CSP, bytes); an audit context with
// JavaScript on then opens the same URL and is handed that response
// unchanged, so the page renders under its own CSP (no inline script or
// style can apply; bypassCSP is not needed because axe goes in through
// page.evaluate, i.e. the DevTools protocol, which the CSP does not govern,
// not through a script tag). With `script-src 'none'` no page script could
// run either way, and the test checks that reporter pages hold no <script>
// and no <noscript>, so JavaScript being on in the audit context changes
// nothing the reporter would see. Staff pages are audited live, after the
// console's script has run (the case page with a report decrypted and an
// image previewed in the browser).

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { png, chatPNG, startServer, launchBrowser, testTimeout, enrol, login, screenshot, axeViolations as runAxe } from "./helpers.mjs";


const viewports = {
  desktop: { viewport: { width: 1280, height: 800 } },
  phone: { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true },
};

const reportText = "PC Grey shared a racist meme in the team chat on Monday.";
const replyText = "Thank you. Which chat group was it, and who else saw it?";
const noteText = "Check the duty roster for Monday.";
const messageText = "It was the response team's group chat; four others saw it.";

let srv, browser;
// One audit context and page per viewport, JavaScript on (axe needs it).
const auditors = {};
// State carried from one step of the flow to the next.
const state = {};

before(async () => {
  // A visitor whose proxy-reported address is in 10.0.0.0/8 is warned that
  // they may be on their employer's network (a state of every reporter page).
  // A mail server is named (nothing listens there: no mail is sent while
  // the test runs), so that the notification settings page has its form.
  srv = await startServer("--employer-networks", "10.0.0.0/8", "--client-ip-header", "X-Forwarded-For",
    "--smtp-host", "127.0.0.1", "--smtp-port", "9", "--smtp-tls", "none", "--smtp-from", "candour@watchdog.example");
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

// describe turns axe violations into one readable line each.
function describe(where, violations) {
  return violations.map(
    (v) => `${where}: ${v.id} (${v.impact}) ${v.help} [${v.nodes.map((n) => n.target.join(" ")).join(", ")}]`,
  );
}

// capture keeps a response as it was sent (cookies aside) to be served again.
async function capture(name, res) {
  assert.ok(res, `no response for ${name}`);
  const headers = { ...(await res.allHeaders()) };
  for (const h of ["set-cookie", "content-length", "content-encoding", "transfer-encoding"]) delete headers[h];
  return { name, url: res.url(), status: res.status(), headers, body: await res.body() };
}

// replay opens p.url in page and serves it the captured response.
async function replay(page, p) {
  await page.route((u) => u.href === p.url, (route) => route.fulfill({ status: p.status, headers: p.headers, body: p.body }));
  const res = await page.goto(p.url);
  await page.unrouteAll();
  assert.equal(res.status(), p.status, `${p.name}: the captured page was not replayed`);
}

// keep records a reporter page exactly as the server sent it to the
// JavaScript-off browser. shots names the screenshots to take of it, by
// viewport: a file name, or [file name, screenshot options].
async function keep(name, res, shots = {}) {
  const p = { ...(await capture(name, res)), shots };
  assert.doesNotMatch(p.body.toString(), /<script|<noscript/i, `${name}: a reporter page must work, and look the same, without JavaScript`);
  assert.match(p.headers["content-security-policy"] || "", /script-src 'none'/, `${name}: no reporter CSP`);
  return p;
}

// auditKept opens each kept page in every audit context, served the kept
// response, and returns the violations found.
async function auditKept(pages) {
  const found = [];
  for (const [vp, { page }] of Object.entries(auditors)) {
    for (const p of pages) {
      await replay(page, p);
      found.push(...describe(`${vp} ${p.name} (${new URL(p.url).pathname})`, await runAxe(page)));
      if (p.shots[vp]) await screenshot(page, ...[p.shots[vp]].flat());
    }
  }
  return found;
}

function assertNone(found) {
  assert.deepEqual(found, [], `axe-core found WCAG 2.2 A/AA violations:\n${found.join("\n")}\n`);
}

// submit clicks a form's submit button and returns the response it leads to.
// fitsTheScreen fails when a page scrolls sideways (its content is wider
// than the window).
async function fitsTheScreen(page, vp, name) {
  const [content, view] = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
  assert.ok(content <= view, `${vp} ${name}: the page is ${content} px wide in a ${view} px window`);
}

async function submit(page, selector = "main button[type=submit]") {
  const [res] = await Promise.all([page.waitForNavigation(), page.click(selector)]);
  return res;
}

test("axe-core: reporter pages up to the receipt, JavaScript off, desktop and phone", { timeout: testTimeout }, async () => {
  const ctx = await browser.newContext({ javaScriptEnabled: false });
  const page = await ctx.newPage();
  const { base } = srv;
  const kept = [];
  kept.push(await keep("home", await page.goto(base + "/"), { desktop: ["reporter-home.png", { maxHeight: 1000 }] }));
  kept.push(
    await keep("report form", await page.goto(base + "/report"), {
      desktop: "reporter-report-form.png",
      phone: "reporter-report-form-phone.png",
    }),
  );
  kept.push(await keep("empty report refused", await submit(page)));
  assert.match(await page.textContent("h1"), /empty/);

  // A wrong answer (months the wrong way round): the form again, with what
  // was entered, the answer named, and the file to choose again.
  await page.goto(base + "/report");
  await page.fill("#q_when_from", "2024-06");
  await page.fill("#q_when_to", "2024-01");
  await page.fill("textarea[name=body]", reportText);
  await page.setInputFiles("input[name=attachments]", { name: "chat-screenshot.png", mimeType: "image/png", buffer: chatPNG });
  kept.push(await keep("wrong answer refused", await submit(page)));
  assert.equal(kept.at(-1).status, 400);
  assert.match(await page.textContent("#q_when-error"), /first month after its second/);
  assert.equal(await page.inputValue("textarea[name=body]"), reportText);
  assert.ok(await page.isVisible("#attachments-kept + .file-list >> text=chat-screenshot.png"), "the file to choose again is not named");

  await page.goto(base + "/report");
  await page.fill("#q_force", "Northshire Police"); // shown back on the case page, audited below
  await page.check("#q_how_known-0");
  await page.fill("textarea[name=body]", reportText);
  await page.setInputFiles("input[name=attachments]", { name: "chat-screenshot.png", mimeType: "image/png", buffer: chatPNG });
  kept.push(await keep("receipt with a file", await submit(page), { desktop: "reporter-receipt.png" }));
  state.code = (await page.textContent("#case-code")).trim();
  assert.match(state.code, /^[0-9A-Z]{4}(-[0-9A-Z]{4}){4}$/);
  assert.ok(await page.isVisible(".file-list >> text=chat-screenshot.png"), "the receipt does not list the file");

  kept.push(await keep("follow-up form", await page.goto(base + "/followup")));
  await page.fill("input[name=code]", "AAAA-BBBB-CCCC-DDDD-EEEE");
  kept.push(await keep("follow-up refused", await submit(page)));
  assert.ok(await page.isVisible(".notice-error"), "a wrong code shows no error");
  kept.push(await keep("page not found", await page.goto(base + "/no-such-page")));
  assert.equal(kept.at(-1).status, 404);
  await ctx.close();

  const work = await browser.newContext({ javaScriptEnabled: false, extraHTTPHeaders: { "X-Forwarded-For": "10.1.2.3" } });
  const wp = await work.newPage();
  kept.push(await keep("home from an employer's network", await wp.goto(base + "/")));
  assert.ok(await wp.isVisible("#employer-network-warning"), "no employer-network warning");
  await work.close();

  assertNone(await auditKept(kept));

  // The check can fail: the home page stripped of its language is caught.
  const home = kept[0];
  const broken = { ...home, name: "home without lang", body: Buffer.from(home.body.toString().replace(/<html[^>]*>/, "<html>")) };
  const caught = await auditKept([broken]);
  assert.equal(caught.length, 2, caught.join("\n"));
  for (const line of caught) assert.match(line, /html-has-lang/);
});

test("axe-core: reporter home and form in every other language, right to left included, desktop and phone", { timeout: testTimeout }, async () => {
  const ctx = await browser.newContext({ javaScriptEnabled: false });
  const page = await ctx.newPage();
  await page.goto(srv.base + "/");
  const tags = await page.$$eval("nav.languages a[hreflang]", (as) => as.map((a) => a.getAttribute("hreflang")));
  assert.ok(tags.length >= 1, "no language switcher on the home page");
  const kept = [];
  for (const tag of tags) {
    // The switcher's choice is remembered for the session: the form follows it.
    kept.push(await keep(`home (${tag})`, await page.goto(`${srv.base}/?lang=${tag}`)));
    kept.push(await keep(`report form (${tag})`, await page.goto(srv.base + "/report")));
    for (const p of kept.slice(-2)) assert.match(p.body.toString(), new RegExp(`<html lang="${tag}"`), `${p.name} is not marked as ${tag}`);
  }
  await ctx.close();
  assertNone(await auditKept(kept));
});

test("axe-core: staff console, desktop and phone", { timeout: testTimeout }, async () => {
  assert.ok(state.code, "needs the report made by the previous test");
  const { base, key, enrolLink } = srv;
  const desk = await browser.newContext(viewports.desktop);
  const dp = await desk.newPage();
  const errors = [];
  dp.on("pageerror", (e) => errors.push(e.message));
  const found = [];
  const check = async (page, vp, name) => found.push(...describe(`${vp} ${name} (${new URL(page.url()).pathname})`, await runAxe(page)));
  // A phone context for pages before login, and again after (with the session).
  let phone = await browser.newContext(viewports.phone);
  let pp = await phone.newPage();
  pp.on("pageerror", (e) => errors.push(e.message));

  for (const [vp, page] of [["desktop", dp], ["phone", pp]]) {
    await page.goto(base + "/staff/login");
    await check(page, vp, "login");
    await page.goto(enrolLink); // showing the form does not spend the link
    assert.ok((await page.$eval("img[alt^='QR code']", (img) => img.naturalWidth)) > 0, "the QR code does not display");
    await check(page, vp, "enrolment");
  }
  await pp.goto(base + "/staff/login");
  await pp.fill("#username", "nobody");
  await pp.fill("#password", "not the password");
  await pp.fill("#totp", "000000");
  await submit(pp);
  assert.ok(await pp.isVisible(".notice-error"), "a failed login shows no error");
  await check(pp, "phone", "login refused");

  await dp.goto(enrolLink);
  const { secret, step, res } = await enrol(dp);
  assert.ok(await dp.isVisible("#recovery-codes"), "no recovery codes after enrolment");
  await check(dp, "desktop", "recovery codes");
  // The recovery codes are shown once: the phone is served the same response.
  await replay(pp, await capture("recovery codes", res));
  assert.ok(await pp.isVisible("#recovery-codes"));
  await check(pp, "phone", "recovery codes");

  await login(dp, base, secret, step + 1);
  await phone.close();
  phone = await browser.newContext({ ...viewports.phone, storageState: await desk.storageState() });
  pp = await phone.newPage();
  pp.on("pageerror", (e) => errors.push(e.message));

  // The caseworker answers, so that the case page has a reply and a note.
  await Promise.all([dp.waitForNavigation(), dp.click("table.inbox a")]); // shown in place (navigate.js)
  const caseURL = dp.url();
  await dp.setInputFiles("#identity-file", key);
  await dp.waitForSelector(`.decrypted .pre-wrap:text("${reportText}")`);
  await dp.fill("#reply-text", replyText);
  await Promise.all([dp.waitForNavigation(), dp.click("#reply-form button[type=submit]")]);
  await dp.fill("#note-text", noteText);
  await Promise.all([dp.waitForNavigation(), dp.click("#note-form button[type=submit]")]);
  await dp.selectOption("#assignee", { label: "casey" });
  await submit(dp, "form[action$='/assign'] button[type=submit]");

  for (const [vp, page] of [["desktop", dp], ["phone", pp]]) {
    await page.goto(base + "/staff/");
    assert.ok(await page.isVisible("table.inbox a"), "the inbox lists no case");
    await check(page, vp, "inbox");
    // With the key loaded, each row shows its decrypted summary.
    await page.setInputFiles("#identity-file", key);
    await page.waitForSelector(`.case-summary:not([hidden]):has-text("${reportText.split("\n")[0].slice(0, 30)}")`);
    await check(page, vp, "inbox with summaries");
    await fitsTheScreen(page, vp, "inbox");
    if (vp === "desktop") await screenshot(page, "staff-inbox.png");

    await page.goto(caseURL);
    await page.setInputFiles("#identity-file", key);
    await page.waitForSelector(`.decrypted .pre-wrap:text("${reportText}")`);
    await page.waitForSelector(`.decrypted .pre-wrap:text("${replyText}")`);
    await page.waitForSelector(`#notes .decrypted .pre-wrap:text("${noteText}")`);
    await page.click("button:text('Decrypt chat-screenshot.png')");
    await page.waitForSelector("img.preview");
    assert.equal(await page.$eval("img.preview", (img) => img.naturalWidth), 360, "the decrypted image does not display");
    assert.match(await page.textContent(".integrity"), /SHA-256 verified/);
    await check(page, vp, "case, decrypted, with image preview");
    await fitsTheScreen(page, vp, "case");
    // On a desktop screen the thread and the workflow stand side by side;
    // on a phone, one above the other, the thread first.
    const [main, side] = await Promise.all([".case-main", ".case-side"].map((sel) => page.$eval(sel, (e) => e.getBoundingClientRect().toJSON())));
    if (vp === "desktop") assert.ok(side.left >= main.right && side.top < main.bottom, `the workflow is not beside the thread: ${JSON.stringify({ main, side })}`);
    else assert.ok(side.top >= main.bottom - 1, `the workflow is not below the thread on a phone: ${JSON.stringify({ main, side })}`);
    assert.match(await page.textContent("#thread .message:first-child a[href*='/message/']"), /^Message 1 /);
    if (vp === "desktop") await screenshot(page, "staff-case.png", { maxHeight: 1900 });

    await page.goto(base + "/staff/admin/staff");
    await check(page, vp, "staff administration");
    await page.goto(base + "/staff/admin/recipients");
    await check(page, vp, "organisation keys");
    await page.goto(base + "/staff/admin/audit");
    assert.ok(await page.isVisible("table.inbox td"), "the audit trail is empty");
    await check(page, vp, "audit trail");
    await page.goto(base + "/staff/key");
    await check(page, vp, "own key");
    await page.goto(base + "/staff/notifications");
    await check(page, vp, "notifications");
    if (vp === "desktop") {
      await page.fill("#email", "casey@watchdog.example");
      await submit(page, "form[action='/staff/notifications'] button[value=save]");
      assert.ok(await page.isVisible("#notify-email"), "no address shown after opting in");
      await check(page, vp, "notifications, opted in");
    }
    await page.goto(base + "/staff/admin/channels");
    await check(page, vp, "channels");
    await page.goto(base + "/staff/admin/channels/1");
    assert.ok(await page.$("#channel-data"), "no channel page");
    await check(page, vp, "channel");
  }
  // A second channel, so that reporters choose (the next test audits that).
  await dp.goto(base + "/staff/admin/channels");
  await dp.fill("[name=name_en]", "Conduct in Kent Police");
  await dp.fill("[name=description_en]", "Officers and staff of Kent Police.");
  await submit(dp, "form:has([name=name_en]) button[type=submit]");
  assert.ok(await dp.$("#channel-data"), "no channel page after creating a channel");
  await check(dp, "desktop", "channel just created");
  // An invitation: the administration page with its one-time link shown.
  await dp.goto(base + "/staff/admin/staff");
  await dp.fill("#username", "robin");
  await submit(dp, "form[action='/staff/admin/invite'] button[type=submit]");
  assert.ok(await dp.isVisible("#enrolment-link"), "no enrolment link after an invitation");
  await check(dp, "desktop", "staff administration after an invitation");

  assert.deepEqual(errors, [], "the console raised script errors");
  await phone.close();
  await desk.close();
  assertNone(found);
});

test("axe-core: the reporter's choice of channel, and the form for one, in every language, JavaScript off", { timeout: testTimeout }, async () => {
  const ctx = await browser.newContext({ javaScriptEnabled: false });
  const page = await ctx.newPage();
  await page.goto(srv.base + "/");
  const tags = await page.$$eval("nav.languages a[hreflang]", (as) => as.map((a) => a.getAttribute("hreflang")));
  const kept = [];
  for (const tag of ["en", ...tags]) {
    await page.goto(`${srv.base}/?lang=${tag}`);
    kept.push(await keep(`channel choice (${tag})`, await page.goto(srv.base + "/report")));
    assert.ok(await page.isVisible("ul.channels a:has-text('Conduct in Kent Police')"), `no choice of channel (${tag})`);
    kept.push(await keep(`report form for a channel (${tag})`, await page.goto(await page.locator("ul.channels a").last().evaluate((a) => a.href))));
    assert.ok(await page.isVisible("#channel-name"), `the form does not say which channel (${tag})`);
  }
  await ctx.close();
  assertNone(await auditKept(kept));
});

test("axe-core: reporter case pages, withdrawal and its confirmation, JavaScript off, desktop and phone", { timeout: testTimeout }, async () => {
  assert.ok(state.code, "needs the report made by the first test");
  const ctx = await browser.newContext({ javaScriptEnabled: false });
  const page = await ctx.newPage();
  const { base } = srv;
  const kept = [];
  await page.goto(base + "/followup");
  await page.fill("input[name=code]", state.code);
  kept.push(await keep("case with a reply", await submit(page)));
  assert.ok((await page.textContent("main")).includes(replyText), "the reporter cannot read the reply");
  assert.ok(await page.isVisible("dl.answers dd >> text=Northshire Police"), "the reporter's answers are not shown back");
  await page.fill("textarea[name=body]", messageText);
  kept.push(await keep("case, message sent", await submit(page, "form[action='/case/message'] button[type=submit]"), { desktop: "reporter-case.png" }));
  const main = await page.textContent("main");
  assert.ok(main.includes(messageText) && main.includes(replyText) && main.includes(reportText), "the thread is incomplete");
  assert.ok(await page.isVisible(".file-list a:has-text('chat-screenshot.png')"), "the reporter's file is not listed");

  kept.push(await keep("withdrawal confirmation", await page.goto(base + "/case/withdraw")));
  kept.push(await keep("withdrawal not confirmed", await submit(page)));
  assert.ok(await page.isVisible(".notice-error"), "an unconfirmed withdrawal shows no error");
  await page.check("#confirm");
  kept.push(await keep("withdrawn", await submit(page)));
  assert.match(await page.textContent("h1"), /deleted/);
  await ctx.close();

  assertNone(await auditKept(kept));
});

// focused describes the focused element: what it is, and whether it shows
// a focus indicator and is within the window. The indicator is an outline
// at least 2px wide or a box shadow: ours is a 3px outline in a 6px halo;
// Chromium's own default (a 1px "auto" ring) would not pass.
// page.evaluate works with JavaScript off (it goes through DevTools); the
// page's own scripts stay off.
function focused(page) {
  return page.evaluate(() => {
    const e = document.activeElement;
    if (!e || e === document.body || e === document.documentElement) return null;
    const s = getComputedStyle(e);
    const r = e.getBoundingClientRect();
    return {
      tag: e.tagName.toLowerCase(),
      id: e.id,
      type: e.getAttribute("type"),
      href: e.getAttribute("href"),
      className: e.className,
      text: (e.textContent || "").trim().replace(/\s+/g, " "),
      checked: e.checked,
      indicator: (s.outlineStyle !== "none" && parseFloat(s.outlineWidth) >= 2) || s.boxShadow !== "none",
      inView: r.width > 0 && r.height > 0 && r.bottom > 0 && r.right > 0 && r.top < innerHeight && r.left < innerWidth,
    };
  });
}

// tabTo presses key (Tab or Shift+Tab) until the focused element matches,
// checking on the way that every element focused shows a focus indicator,
// is on screen, and is never the hidden robot trap.
async function tabTo(page, what, match, key = "Tab") {
  for (let i = 0; i < 40; i++) {
    await page.keyboard.press(key);
    const f = await focused(page);
    assert.ok(f, `${key} left the page while looking for ${what}`);
    assert.notEqual(f.id, "website", "the hidden trap field takes keyboard focus");
    assert.ok(f.indicator, `no visible focus indicator on ${f.tag}#${f.id} "${f.text}"`);
    assert.ok(f.inView, `focused ${f.tag}#${f.id} "${f.text}" is not on screen`);
    if (match(f)) return f;
  }
  assert.fail(`could not reach ${what} with ${key}`);
}

async function press(page, key) {
  const [res] = await Promise.all([page.waitForNavigation(), page.keyboard.press(key)]);
  return res;
}

test("keyboard only: the whole reporter flow with JavaScript off", { timeout: testTimeout }, async () => {
  const ctx = await browser.newContext({ ...viewports.desktop, javaScriptEnabled: false });
  const page = await ctx.newPage();
  const report = "Sergeant Black deleted evidence from the custody log.";
  const message = "It happened on the night shift, about ten days ago.";
  await page.goto(srv.base + "/");

  // The skip link comes first, shows itself, and jumps past the navigation.
  await page.keyboard.press("Tab");
  let f = await focused(page);
  assert.equal(f?.text, "Skip to main content");
  assert.ok(f.indicator && f.inView, "the skip link is not visible when focused");
  await page.keyboard.press("Enter");
  f = await tabTo(page, "the first link in main", () => true);
  assert.equal(f.href, "/report", "the skip link did not lead into the main content");
  assert.match(f.className, /\bbutton\b/);
  await press(page, "Enter");
  assert.equal(new URL(page.url()).pathname, "/report");
  // There are two channels (the staff console test made the second): the
  // reporter chooses one by keyboard.
  await tabTo(page, "the first channel", (f) => (f.href || "").startsWith("/report?channel="));
  await press(page, "Enter");
  assert.match(new URL(page.url()).search, /^\?channel=\d+$/);

  // An intake question: typed into, and a choice made with the arrow keys.
  await tabTo(page, "the first question", (f) => f.id === "q_force");
  await page.keyboard.type("Northshire Police");
  await tabTo(page, "the platform question", (f) => f.id.startsWith("q_platform-"));
  await page.keyboard.press("ArrowDown");
  assert.equal((await focused(page)).id, "q_platform-0", "the arrow keys do not choose an answer");
  await tabTo(page, "the report text", (f) => f.id === "body");
  await page.keyboard.type(report);
  await tabTo(page, "the keep-originals box", (f) => f.id === "keep_originals");
  await page.keyboard.press("Space");
  assert.equal((await focused(page)).checked, true, "Space does not tick the box");
  await page.keyboard.press("Space");
  assert.equal((await focused(page)).checked, false, "Space does not untick the box");
  await tabTo(page, "the file chooser", (f) => f.id === "attachments");
  // A native file chooser has no keyboard equivalent in headless Chromium:
  // the file is set directly on the focused input, the one exception.
  await page.setInputFiles("#attachments", { name: "log.png", mimeType: "image/png", buffer: png });
  await tabTo(page, "the send button", (f) => f.tag === "button" && f.text === "Send report securely");
  await press(page, "Enter");
  const code = (await page.textContent("#case-code")).trim();
  assert.match(code, /^[0-9A-Z]{4}(-[0-9A-Z]{4}){4}$/);
  assert.ok((await page.textContent(".file-list")).includes("log.png"), "the receipt does not list the file");

  // Backwards from the end of the page to the last link, "Check your case".
  await tabTo(page, "the check-your-case button", (f) => f.href === "/followup" && /\bbutton\b/.test(f.className), "Shift+Tab");
  await press(page, "Enter");
  assert.equal(new URL(page.url()).pathname, "/followup");

  await tabTo(page, "the case code field", (f) => f.id === "code");
  await page.keyboard.type(code.toLowerCase().replaceAll("-", " "));
  await tabTo(page, "the open button", (f) => f.tag === "button" && f.text === "Open my case");
  await press(page, "Space");
  assert.equal(new URL(page.url()).pathname, "/case");
  assert.ok((await page.textContent("main")).includes(report), "the case page does not show the report");

  await tabTo(page, "the message text", (f) => f.id === "body");
  await page.keyboard.type(message);
  await tabTo(page, "the send message button", (f) => f.tag === "button" && f.text === "Send message");
  await press(page, "Enter");
  assert.ok(await page.isVisible(".notice-success"), "no confirmation after sending a message");
  assert.ok((await page.textContent("main")).includes(message), "the message is not in the thread");
  await ctx.close();
});
