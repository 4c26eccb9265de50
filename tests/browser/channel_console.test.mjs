// The console script's channel logic (frontend/js/staff.js, as bundled in
// frontend/static/staff.js) in a real browser, against a stand-in server: a
// small node HTTP server that serves pages with the DOM contract of
// docs/channels.md and answers the JSON endpoints as the contract says. It
// checks what the script sends (wraps that open with the right keys, the
// right fields, never an identity) and what it shows, independently of the
// real server (tests/browser/channels.test.mjs drives that one).
//
// Needs the bundle built (`npm run build`). Talks only to 127.0.0.1.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { join } from "node:path";
import { Decrypter, Encrypter } from "age-encryption";
import { base64ToBytes, bytesToBase64, newChannelKey, unwrapIdentity, wrapIdentity } from "../../frontend/js/channelkeys.js";
import { launchBrowser, testTimeout } from "./helpers.mjs";

const bundle = readFileSync(join(process.cwd(), "frontend", "static", "staff.js"));
const reportText = "DS Black leaked a witness's address <b>to</b> a suspect's family.";

let keys; // the people and keys of the stand-in installation
let state; // what the stand-in server answers and what it received
let server, base, browser;

async function encryptTo(recipients, data) {
  const e = new Encrypter();
  for (const r of recipients) e.addRecipient(r);
  return e.encrypt(data);
}

async function decryptWith(identities, bytes) {
  const d = new Decrypter();
  for (const id of identities) d.addIdentity(id);
  return d.decrypt(bytes, "text");
}

before(async () => {
  keys = {
    org: await newChannelKey("pq"),
    caseKey: await newChannelKey("x25519"),
    gen1: await newChannelKey("pq"),
    other: await newChannelKey("pq"), // another channel's key
    alex: await newChannelKey("pq"),
    bob: await newChannelKey("x25519"),
    drew: await newChannelKey("pq"),
  };
  server = createServer((req, res) => handle(req, res).catch((err) => {
    res.writeHead(500, { "Content-Type": "text/plain" });
    res.end(String(err.stack));
  }));
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${server.address().port}`;
  browser = await launchBrowser();
});

after(async () => {
  await browser.close();
  await new Promise((r) => server.close(r));
});

// members as GET /staff/channels/:id/keys lists them.
const member = (id, username, key, generations) => ({ id, username, recipient: key ? key.recipient : "", generations });

// reset sets the stand-in's answers: who is asking (their wraps), the
// channel's generation and members.
async function reset({ caller = "alex", generation = 1, members } = {}) {
  const wraps = {};
  if (caller && generation > 0) wraps["1"] = bytesToBase64(await wrapIdentity(keys.gen1.identity, keys[caller].recipient));
  state = {
    generation,
    members: members || [member(3, "alex", keys.alex, [1]), member(4, "bob", keys.bob, [1]), member(5, "drew", keys.drew, [])],
    wraps,
    posts: [], // {path, fields}
    bodies: [], // every request body, to look for identities
    requests: [], // "METHOD /path" of every request
    refuse: null, // {status, error} for the next POST
  };
}

const casePage = () => `<!doctype html><meta charset="utf-8"><title>Case</title><main>
<div id="case-data" data-case="ABCD" data-csrf="tok" data-recipients='${JSON.stringify([keys.org.recipient])}'
 data-case-recipient="${keys.caseKey.recipient}" data-channel="2" data-channel-generation="${state.generation}"
 data-channel-recipient="${state.generation > 0 ? keys.gen1.recipient : ""}"></div>
<input type="file" id="identity-file"><input type="checkbox" id="identity-remember"><button type="button" id="identity-forget">Forget</button>
<p id="key-status"></p>
<ol><li data-message="1"><div class="decrypted"></div></li></ol>
<ul><li data-note="1"><div class="decrypted"></div></li></ul>
<form id="reply-form"><textarea id="reply-text"></textarea><input type="file" id="reply-files" multiple><button type="submit">Send</button><p id="reply-status"></p></form>
<form id="note-form"><textarea id="note-text"></textarea><button type="submit">Add</button><p id="note-status"></p></form>
</main><script type="module" src="/static/staff.js"></script>`;

const channelPage = () => `<!doctype html><meta charset="utf-8"><title>Channel</title><main>
<div id="channel-data" data-channel="2" data-csrf="tok" data-generation="${state.generation}" data-kind="pq"></div>
<input type="file" id="identity-file"><input type="checkbox" id="identity-remember"><button type="button" id="identity-forget">Forget</button>
<p id="key-status"></p>
${state.generation === 0 ? '<button type="button" id="channel-key-create">Make the channel key</button>' : ""}
<table>${state.members.map((m) => `<tr><td>${m.username}</td>
<td><button type="button" class="channel-grant" data-staff="${m.id}">Grant</button></td>
<td><form method="post" action="/staff/channels/2/remove" class="channel-remove" data-staff="${m.id}"><input type="hidden" name="csrf" value="tok"><input type="hidden" name="staff" value="${m.id}"><button type="submit">Remove</button></form></td></tr>`).join("")}</table>
</main><script type="module" src="/static/staff.js"></script>`;

async function handle(req, res) {
  const url = new URL(req.url, base);
  const chunks = [];
  for await (const c of req) chunks.push(c);
  const body = Buffer.concat(chunks);
  state.bodies.push(body.toString("latin1"));
  const send = (status, type, data) => {
    res.writeHead(status, { "Content-Type": type });
    res.end(data);
  };
  const json = (status, v) => send(status, "application/json", JSON.stringify(v));
  const route = `${req.method} ${url.pathname}`;
  state.requests.push(route);

  if (route === "GET /case") return send(200, "text/html", casePage());
  if (route === "GET /channel") return send(200, "text/html", channelPage());
  if (route === "GET /static/staff.js") return send(200, "text/javascript", bundle);
  if (route === "GET /staff/case/ABCD/message/1") {
    // As the server seals a report: organisation, case key, channel key.
    const to = [keys.org.recipient, keys.caseKey.recipient, ...(state.generation > 0 ? [keys.gen1.recipient] : [])];
    return send(200, "application/octet-stream", await encryptTo(to, JSON.stringify({ v: 1, text: reportText, attachments: [] })));
  }
  if (route === "GET /staff/case/ABCD/note/1") {
    return send(200, "application/octet-stream", await encryptTo([keys.org.recipient, keys.gen1.recipient], JSON.stringify({ v: 1, text: "note text", attachments: [] })));
  }
  if (route === "GET /staff/channels/2/keys") {
    return json(200, { channel: 2, generation: state.generation, recipient: state.generation > 0 ? keys.gen1.recipient : "", wraps: state.wraps, members: state.members });
  }
  if (req.method === "POST") {
    const form = await new Request(url, { method: "POST", headers: { "content-type": req.headers["content-type"] }, body }).formData();
    const fields = {};
    for (const [k, v] of form) fields[k] = typeof v === "string" ? v : new Uint8Array(await v.arrayBuffer());
    state.posts.push({ path: url.pathname, fields });
    if (state.refuse) return json(state.refuse.status, { error: state.refuse.error });
    if (url.pathname === "/staff/channels/2/remove") {
      // The ordinary form post, answered as the real server does.
      res.writeHead(303, { Location: "/channel" });
      return res.end();
    }
    if (url.pathname === "/staff/channels/2/key") return json(200, { generation: Number(fields.previous) + 1 });
    return json(200, {});
  }
  send(404, "text/plain", "not found");
}

// open loads a stand-in page in a fresh context and collects script errors.
async function open(path) {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(base + path);
  return { ctx, page, errors };
}

async function loadKey(page, key) {
  await page.setInputFiles("#identity-file", { name: "key.txt", mimeType: "text/plain", buffer: Buffer.from(`# public key: ${key.recipient}\n${key.identity}\n`) });
}

// noIdentitySent checks that no request carried a secret key.
function noIdentitySent() {
  for (const b of state.bodies) assert.ok(!b.includes("AGE-SECRET-KEY"), "an identity was sent to the server");
}

test("case page: a member reads the case through their wrap; replies and notes go to the channel too", { timeout: testTimeout }, async () => {
  await reset({ caller: "alex" });
  const { ctx, page, errors } = await open("/case");
  await page.check("#identity-remember");
  await loadKey(page, keys.alex);
  await page.waitForSelector(".decrypted .pre-wrap >> nth=1");
  assert.equal(await page.textContent("[data-message] .pre-wrap"), reportText);
  assert.equal(await page.locator("[data-message] b").count(), 0, "decrypted text became HTML");
  assert.equal(await page.textContent("[data-note] .pre-wrap"), "note text");
  assert.match(await page.textContent("#key-status"), /Key loaded/);
  // Only the caseworker's own file is remembered, never a channel key.
  const stored = await page.evaluate(() => Object.values(sessionStorage).join("\n"));
  assert.ok(stored.includes(keys.alex.identity));
  assert.ok(!stored.includes(keys.gen1.identity), "the channel identity was stored in sessionStorage");

  await page.fill("#reply-text", "Thank you.");
  await Promise.all([page.waitForEvent("load"), page.click("#reply-form button")]);
  await page.fill("#note-text", "A note.");
  await Promise.all([page.waitForEvent("load"), page.click("#note-form button")]);
  const [reply, note] = state.posts;
  assert.equal(reply.path, "/staff/case/ABCD/reply");
  for (const id of [keys.org, keys.caseKey, keys.gen1]) assert.match(await decryptWith([id.identity], reply.fields.message), /Thank you/);
  assert.equal(note.path, "/staff/case/ABCD/note");
  for (const id of [keys.org, keys.gen1]) assert.match(await decryptWith([id.identity], note.fields.note), /A note/);
  await assert.rejects(decryptWith([keys.caseKey.identity], note.fields.note), undefined, "the reporter's key opens a note");
  noIdentitySent();
  assert.deepEqual(errors, []);
  await ctx.close();
});

test("case page: without a wrap of the case's generation the caseworker is told so", { timeout: testTimeout }, async () => {
  await reset({ caller: null });
  const { ctx, page, errors } = await open("/case");
  await loadKey(page, keys.drew);
  await page.waitForSelector("#key-status:has-text(\"You have not been given this channel's key yet: ask a member of the channel to grant it\")");
  await page.waitForSelector("[data-message] .notice-error:has-text('Could not decrypt')");
  assert.deepEqual(errors, []);
  await ctx.close();
});

test("case page: a key that opens none of the caller's wraps is reported, not ignored", { timeout: testTimeout }, async () => {
  await reset({ caller: "alex" });
  const { ctx, page, errors } = await open("/case");
  await loadKey(page, keys.other); // not alex's registered key
  await page.waitForSelector("#key-status:has-text('Could not open this channel')");
  assert.deepEqual(errors, []);
  await ctx.close();
});

test("case page: a case without a channel key needs no keys request", { timeout: testTimeout }, async () => {
  await reset({ caller: null, generation: 0 });
  const { ctx, page } = await open("/case");
  await loadKey(page, keys.org);
  await page.waitForSelector(`[data-message] .pre-wrap`);
  assert.ok(!state.requests.includes("GET /staff/channels/2/keys"), "the keys of a channel without a key were fetched");
  await page.fill("#reply-text", "Thanks.");
  await Promise.all([page.waitForEvent("load"), page.click("#reply-form button")]);
  await assert.rejects(decryptWith([keys.gen1.identity], state.posts[0].fields.message));
  await ctx.close();
});

test("channel page: the first key is made in the browser and wrapped to every member", { timeout: testTimeout }, async () => {
  await reset({ caller: null, generation: 0, members: [member(3, "alex", keys.alex, []), member(4, "bob", keys.bob, [])] });
  const { ctx, page, errors } = await open("/channel");
  await Promise.all([page.waitForEvent("load"), page.click("#channel-key-create")]);
  const [post] = state.posts;
  assert.equal(post.path, "/staff/channels/2/key");
  assert.equal(post.fields.csrf, "tok");
  assert.equal(post.fields.previous, "0");
  assert.match(post.fields.recipient, /^age1pq1/);
  assert.equal(post.fields.remove, undefined);
  const wraps = JSON.parse(post.fields.wraps);
  assert.deepEqual(Object.keys(wraps).sort(), ["3", "4"]);
  const a = await unwrapIdentity(base64ToBytes(wraps["3"]), [keys.alex.identity]);
  const b = await unwrapIdentity(base64ToBytes(wraps["4"]), [keys.bob.identity]);
  assert.equal(a, b);
  assert.equal(await decryptWith([a], await encryptTo([post.fields.recipient], "x")), "x", "the wrapped identity is not the posted recipient's");
  noIdentitySent();
  assert.deepEqual(errors, []);
  await ctx.close();
});

test("channel page: members without a key are named, and nothing is posted", { timeout: testTimeout }, async () => {
  await reset({ caller: null, generation: 0, members: [member(3, "alex", keys.alex, []), member(4, "bob", null, [])] });
  const { ctx, page } = await open("/channel");
  await page.click("#channel-key-create");
  await page.waitForSelector("#key-status.notice-error:has-text('bob')");
  assert.ok(!(await page.textContent("#key-status")).includes("alex"));
  assert.deepEqual(state.posts, []);
  assert.equal(await page.isDisabled("#channel-key-create"), false, "the button stays disabled after a refusal");
  await ctx.close();
});

test("channel page: the server's refusal is shown", { timeout: testTimeout }, async () => {
  await reset({ caller: null, generation: 0, members: [member(3, "alex", keys.alex, [])] });
  state.refuse = { status: 409, error: "Someone else made this channel's key meanwhile: reload the page." };
  const { ctx, page } = await open("/channel");
  await page.click("#channel-key-create");
  await page.waitForSelector("#key-status.notice-error:has-text('Someone else made this channel')");
  await ctx.close();
});

test("channel page: a grant needs the granter's key, and gives the grantee every generation they lack", { timeout: testTimeout }, async () => {
  await reset({ caller: "alex" });
  const { ctx, page, errors } = await open("/channel");
  await page.click(".channel-grant[data-staff='5']");
  await page.waitForSelector("#key-status.notice-error:has-text('Load your own key first')");
  assert.deepEqual(state.posts, []);

  await loadKey(page, keys.alex);
  await page.waitForSelector("#key-status:has-text('Key loaded')");
  await Promise.all([page.waitForEvent("load"), page.click(".channel-grant[data-staff='5']")]);
  const [post] = state.posts;
  assert.equal(post.path, "/staff/channels/2/grant");
  assert.equal(post.fields.csrf, "tok");
  assert.equal(post.fields.staff, "5");
  const wraps = JSON.parse(post.fields.wraps);
  assert.deepEqual(Object.keys(wraps), ["1"]);
  assert.equal(await unwrapIdentity(base64ToBytes(wraps["1"]), [keys.drew.identity]), keys.gen1.identity);
  noIdentitySent();
  assert.deepEqual(errors, []);
  await ctx.close();
});

test("channel page: removing a member makes a new generation for the others only", { timeout: testTimeout }, async () => {
  await reset({ caller: null });
  const { ctx, page, errors } = await open("/channel");
  await Promise.all([page.waitForEvent("load"), page.click("form.channel-remove[data-staff='4'] button")]);
  const [post] = state.posts;
  assert.equal(post.path, "/staff/channels/2/key", "the removal was not made with a new key");
  assert.equal(post.fields.previous, "1");
  assert.equal(post.fields.remove, "4");
  const wraps = JSON.parse(post.fields.wraps);
  assert.deepEqual(Object.keys(wraps).sort(), ["3", "5"]);
  const id = await unwrapIdentity(base64ToBytes(wraps["5"]), [keys.drew.identity]);
  assert.notEqual(id, keys.gen1.identity);
  assert.equal(await decryptWith([id], await encryptTo([post.fields.recipient], "x")), "x");
  noIdentitySent();
  assert.deepEqual(errors, []);
  await ctx.close();
});

test("channel page: without a key, a removal is an ordinary form post", { timeout: testTimeout }, async () => {
  await reset({ caller: null, generation: 0 });
  const { ctx, page } = await open("/channel");
  await Promise.all([page.waitForNavigation(), page.click("form.channel-remove[data-staff='4'] button")]);
  const [post] = state.posts;
  assert.equal(post.path, "/staff/channels/2/remove");
  assert.equal(post.fields.staff, "4");
  await ctx.close();
});
