// Channels end to end in a real browser (docs/channels.md): an administrator
// makes a second channel and its team; the members register their own age
// keys; the administrator's browser makes the channel's key and wraps it to
// them; a reporter (JavaScript off) sends a report to that channel; a member
// reads it decrypted in the browser with their own key (through their wrap);
// a staff member outside the channel gets 404 for the case; a member added
// later is granted the key by a member's browser and then reads it too.
//
// Every URL and selector it assumes of the server's pages is in `ui` below:
//   - GET/POST /staff/key: a staff member registers their own age recipient
//     (a form field named "recipient").
//   - GET/POST /staff/admin/channels: an administrator creates a channel
//     (fields for its English name and description), then reaches its page.
//   - GET /staff/channels/:id, the channel page: #channel-data (data-channel,
//     data-csrf, data-generation, data-kind), the identity loader
//     (#identity-file, #identity-remember, #identity-forget, #key-status),
//     #channel-key-create while it has no key, a form to add a member
//     (form.channel-add with a <select name="staff">), and for each member a
//     row holding their username and a button .channel-grant[data-staff].
//   - GET /staff/channels/:id/keys, POST /staff/channels/:id/key and
//     /staff/channels/:id/grant as in docs/channels.md.
//   - /report: the reporter picks a channel (a <select name="channel"> or
//     radio buttons name="channel", labelled with the channel's name).
//   - The staff case page's #case-data with data-channel,
//     data-channel-generation and data-channel-recipient; 404 for the case
//     page to staff outside its channel; reports encrypted to the channel's
//     newest key.
//
// Run by `make test` (which builds ./.bin/candour and the bundle first).
// Talks only to 127.0.0.1.

import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Decrypter } from "age-encryption";
import { startServer, launchBrowser, testTimeout, enrol, login, staffPage, loginAs, invite, makeKeyFile, registerKey } from "./helpers.mjs";

// What this test assumes of the server's pages beyond docs/channels.md.
const ui = {
  channelsAdmin: "/staff/admin/channels",
  channelNameField: "[name=name_en]",
  channelDescriptionField: "[name=description_en]",
  channelPage: (id) => `/staff/admin/channels/${id}`,
  channelKeys: (id) => `/staff/channels/${id}/keys`,
  teamPage: (id) => `/staff/channels/${id}`,
  addMemberForm: "form[action$='/members/add']",
};

const channelName = "Conduct in Kent Police";
const reportText = "DS Black leaked a witness's address to a suspect's family.";

test("a channel's cases are read by its team only, through their own keys", { timeout: testTimeout }, async (t) => {
  const { base, enrolLink, stop, log } = await startServer();
  t.after(stop);
  const browser = await launchBrowser();
  t.after(() => browser.close());
  const dir = mkdtempSync(join(tmpdir(), "candour-channel-keys-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const errors = [];

  // 1. The administrator enrols, logs in and registers her own key: she is
  //    in the new channel's team too.
  const admin = await staffPage(browser, errors);
  await admin.goto(enrolLink);
  const casey = await enrol(admin);
  await login(admin, base, casey.secret, casey.step + 1);
  const caseyKey = await makeKeyFile(dir, "casey", "pq");
  await registerKey(admin, base, caseyKey.recipient);

  // 2. Three caseworkers: alex (in the channel from the start), blake
  //    (never in it) and drew (added later). Each registers their own key.
  const people = {};
  for (const [username, kind] of [["alex", "pq"], ["blake", "pq"], ["drew", "x25519"]]) {
    const link = await invite(admin, base, username);
    const page = await staffPage(browser, errors);
    await page.goto(link);
    const { secret, step } = await enrol(page);
    await loginAs(page, base, username, secret, step + 1);
    const key = await makeKeyFile(dir, username, kind);
    await registerKey(page, base, key.recipient);
    people[username] = { page, ...key };
  }

  // 3. The second channel, with alex in its team; then its first key, made
  //    in the administrator's browser.
  const channel = await createChannel(admin, base);
  await addMember(admin, base, channel, "casey");
  await addMember(admin, base, channel, "alex");
  await admin.goto(base + ui.channelPage(channel));
  assert.equal(await admin.getAttribute("#channel-data", "data-generation"), "0");
  await clickAndReload(admin, "#channel-key-create");
  assert.equal(await admin.getAttribute("#channel-data", "data-generation"), "1", `the channel's key was not made: ${await admin.textContent("#key-status")}`);
  const keys = await (await admin.request.get(base + ui.channelKeys(channel))).json();
  assert.deepEqual(Object.keys(keys.wraps), ["1"], "the administrator, a member, holds no wrap");
  assert.deepEqual(
    keys.members.map((m) => [m.username, m.generations]).sort(),
    [["alex", [1]], ["casey", [1]]],
  );

  // 4. A report to the channel, JavaScript off.
  const reporter = await browser.newContext({ javaScriptEnabled: false });
  const rp = await reporter.newPage();
  await rp.goto(base + "/report");
  await chooseChannel(rp, channelName);
  await rp.fill("textarea[name=body]", reportText);
  await Promise.all([rp.waitForNavigation(), rp.click("button[type=submit]")]);
  assert.match((await rp.textContent("#case-code")).trim(), /^[0-9A-Z]{4}(-[0-9A-Z]{4}){4}$/);
  await reporter.close();

  // 5. Alex reads it: own key → wrap → channel key → report.
  const alex = people.alex.page;
  await alex.goto(base + "/staff/");
  await Promise.all([alex.waitForNavigation(), alex.click(`table.inbox a`)]); // shown in place (navigate.js)
  const caseURL = alex.url();
  assert.equal(await alex.getAttribute("#case-data", "data-channel"), String(channel));
  assert.equal(await alex.getAttribute("#case-data", "data-channel-generation"), "1");
  assert.equal(await alex.getAttribute("#case-data", "data-channel-recipient"), keys.recipient);
  const served = await (await alex.request.get(caseURL)).text();
  assert.ok(!served.includes("DS Black"), "the staff page as served contains report plaintext");
  await alex.setInputFiles("#identity-file", people.alex.file);
  await alex.waitForSelector(`.decrypted .pre-wrap:text("${reportText}")`);

  // 6. Blake, outside the channel, is told it does not exist; so is drew,
  //    before being added.
  for (const who of ["blake", "drew"]) {
    const res = await people[who].page.request.get(caseURL);
    assert.equal(res.status(), 404, `${who} (not a member) got ${res.status()} for the case page`);
  }

  // Cryptographically, not only by the server's refusal: the report's
  //    ciphertext, as a copy of the database would hold it, does not open
  //    with blake's own key (nor drew's), and opens with the channel's key
  //    that alex's wrap holds.
  const messageURL = base + (await alex.getAttribute(".message a[href*='/message/']", "href"));
  const ciphertext = new Uint8Array(await (await alex.request.get(messageURL)).body());
  for (const who of ["blake", "drew"]) {
    const d = new Decrypter();
    d.addIdentity(people[who].identity);
    await assert.rejects(d.decrypt(ciphertext), `${who}'s own key opened a report to a channel they are not in`);
  }
  const wrap = (await (await alex.request.get(base + ui.channelKeys(channel))).json()).wraps["1"];
  const unwrap = new Decrypter();
  unwrap.addIdentity(people.alex.identity);
  const channelIdentity = (await unwrap.decrypt(Uint8Array.from(atob(wrap), (c) => c.charCodeAt(0)), "text")).trim();
  const open = new Decrypter();
  open.addIdentity(channelIdentity.split("\n").find((l) => l.startsWith("AGE-SECRET-KEY")));
  assert.ok((await open.decrypt(ciphertext, "text")).includes(reportText), "the channel's key does not open the report");

  // 7. Drew joins; the server alone cannot give him the key, so he reads
  //    nothing until a member's browser grants it.
  await addMember(admin, base, channel, "drew");
  const drew = people.drew.page;
  await drew.goto(caseURL);
  await drew.setInputFiles("#identity-file", people.drew.file);
  await drew.waitForSelector(`#key-status:has-text("You have not been given this channel's key yet")`);
  assert.equal(await drew.locator(`.decrypted .pre-wrap:text("${reportText}")`).count(), 0);

  // The grant is made in the browser of alex, a caseworker in the team, on
  // the members' page of the channel: his own key opens his wrap, and the
  // channel's key is wrapped to drew's.
  await alex.goto(base + ui.teamPage(channel));
  assert.equal(await alex.locator("form.channel-remove").count(), 0, "a caseworker is offered the administrators' controls");
  await alex.setInputFiles("#identity-file", people.alex.file);
  await alex.waitForSelector("#key-status:has-text('Key loaded')");
  await clickAndReload(alex, `tr:has-text("drew") .channel-grant[data-staff]`);
  const after = await (await admin.request.get(base + ui.channelKeys(channel))).json();
  const drewRow = after.members.find((m) => m.username === "drew");
  assert.deepEqual(drewRow && drewRow.generations, [1], `drew was not granted generation 1: ${await alex.textContent("#key-status")}`);

  await drew.goto(caseURL);
  await drew.setInputFiles("#identity-file", people.drew.file);
  await drew.waitForSelector(`.decrypted .pre-wrap:text("${reportText}")`);

  assert.deepEqual(errors, [], "the console pages raised script errors");
  assert.ok(!log().includes("AGE-SECRET-KEY"), "an identity reached the server's log");
});

// clickAndReload clicks a channel page control whose script reloads the
// page on success, and fails with the page's own explanation otherwise
// (rather than waiting out a navigation that will never come).
async function clickAndReload(page, selector) {
  const reloaded = page.waitForNavigation().then(() => null);
  // After the reload this wait may end in an error nobody awaits: swallow it.
  const refused = page.waitForSelector("#key-status.notice-error").then((e) => e.textContent(), () => new Promise(() => {}));
  await page.click(selector);
  const why = await Promise.race([reloaded, refused]);
  assert.equal(why, null, `${selector} was refused: ${why}`);
}

// createChannel makes the channel and returns its id, read from its page.
async function createChannel(admin, base) {
  await admin.goto(base + ui.channelsAdmin);
  await admin.fill(ui.channelNameField, channelName);
  await admin.fill(ui.channelDescriptionField, "Complaints about officers and staff of Kent Police.");
  await Promise.all([admin.waitForNavigation(), admin.click(`form:has(${ui.channelNameField}) button[type=submit]`)]);
  if (!(await admin.$("#channel-data"))) {
    await Promise.all([admin.waitForNavigation(), admin.click(`a:has-text("${channelName}")`)]);
  }
  const id = await admin.getAttribute("#channel-data", "data-channel");
  assert.match(id || "", /^[0-9]+$/, "no channel page after creating the channel");
  assert.notEqual(id, "1", "the new channel has the default channel's id");
  return Number(id);
}

async function addMember(admin, base, channel, username) {
  await admin.goto(base + ui.channelPage(channel));
  const option = admin.locator(`${ui.addMemberForm} select[name=staff] option`, { hasText: username });
  await admin.selectOption(`${ui.addMemberForm} select[name=staff]`, await option.getAttribute("value"));
  await Promise.all([admin.waitForNavigation(), admin.click(`${ui.addMemberForm} button[type=submit]`)]);
  assert.ok(await admin.isVisible(`tr:has-text("${username}")`), `${username} is not listed as a member after being added`);
}

// chooseChannel picks the channel from the list /report shows when there
// are several (links, JavaScript off).
async function chooseChannel(page, name) {
  await Promise.all([page.waitForNavigation(), page.click(`ul.channels a:has-text("${name}")`)]);
  assert.ok((await page.textContent("#channel-name")).includes(name), "the report form does not say which channel");
}
