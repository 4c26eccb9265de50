// The staff console's in-browser decryption. The caseworker's age identity
// is read from a file they choose and held for the whole browser tab
// (keyring.js): in memory, and in sessionStorage only if they ask. It is
// never sent to the server. A caseworker who keeps it wrapped by a passkey
// (keywrap.js) unlocks it instead, with one tap, into the same place.
// Messages, attachments and notes arrive as age ciphertext and are
// decrypted here; replies and notes are encrypted here before upload.
//
// The key survives every page and action of the console because the
// console's document does: navigate.js fetches the console's links and
// forms and shows the answer in place, and this script's actions show the
// server's new state the same way (reloadPage) instead of reloading. After
// each page shown, initPage starts that page's part of this script again.
//
// Channels (docs/channels.md): the caseworker's own key opens their wraps of
// the case's channel key, which opens the case. Channel identities are held
// in memory only, never stored, and never leave the page; the channel page
// makes, grants and rotates them here and posts only recipients and wraps.
//
// Decrypted text is only ever inserted with textContent, never as HTML.

import { Decrypter, Encrypter } from "age-encryption";
import { safeName } from "./safename.js";
import { answerRows, questionLabels, renderAnswers } from "./answers.js";
import { bytesToBase64, newChannelKey, unwrapGenerations, wrapGenerations, wrapsForMembers } from "./channelkeys.js";
import { identityRows, openIdentity, regrant } from "./identity.js";
import { inboxPage } from "./inbox.js";
import {
  channelIdentities,
  currentIdentities,
  dropChannel,
  dropFromMemory,
  forgetIdentities,
  onIdentities,
  pageChanged,
  remembered,
  reportTo,
  setIdentities,
  setRemembered,
} from "./keyring.js";
import { explain, protectIdentity, rememberWrapped, saveWrapped, unlockIdentity, wrappedIdentity } from "./keywrap.js";
import { reloadPage, startNavigation } from "./navigate.js";
import { el } from "./dom.js";
import { refusal } from "./refusal.js";
import { passkeysPage } from "./passkey.js";

// For the console's other page scripts: the loaded key, and a callback for
// when one is loaded (see keyring.js).
export { currentIdentities, onIdentities };


const failed = (err) => status(`Something went wrong: ${err.message}`, true);
reportTo(failed);

// A key this tab was asked to remember comes back when the console is
// loaded afresh (a reload, a new page typed in the address bar).
const saved = remembered();
if (saved) {
  const lines = usableIdentities(saved);
  if (lines) setIdentities(lines, { remember: true });
}
startNavigation({ onPage: initPage, onLeave: forgetIdentities });
initPage();
// A page that is left goes with its key, even if the browser keeps it to
// come back to (the back-forward cache): one that comes back is loaded
// afresh, with the key only if the tab remembers it.
window.addEventListener("pagehide", dropFromMemory);
window.addEventListener("pageshow", (ev) => {
  if (ev.persisted) location.reload();
});
forgetWhenIdle(Number(document.body.dataset.idleMinutes) || 0);

// forgetWhenIdle forgets the key of a tab left unused (no key pressed, no
// click) for as long as the server keeps an unused session: the key goes
// when the session would, not at the next page asked for, and the page is
// asked for again (the login page, if the session has ended meanwhile).
function forgetWhenIdle(minutes) {
  if (!(minutes > 0)) return;
  let timer = 0;
  const idle = () => {
    if (!currentIdentities()) return;
    forgetIdentities();
    reloadPage({ notice: `Your key was forgotten after ${minutes} minutes without use. Load it again to go on.` });
  };
  const restart = () => {
    clearTimeout(timer);
    timer = setTimeout(idle, minutes * 60_000);
  };
  for (const type of ["pointerdown", "keydown", "submit"]) document.addEventListener(type, restart, true);
  restart();
}

// initPage starts the script of the page on show: the key panel, then the
// page's own part, chosen by the data element the page carries. It runs on
// each page shown, whether loaded or shown in place.
function initPage() {
  pageChanged();
  // What the tab remembers of the key kept wrapped by a passkey follows
  // the key page, which shows the server's state (after a removal, say).
  const keywrap = document.getElementById("keywrap");
  if (keywrap) rememberWrapped(keywrap.dataset.wrapped ? undefined : null);
  setupKeyPanel();
  const caseData = document.getElementById("case-data");
  const channelData = document.getElementById("channel-data");
  const identityData = document.getElementById("identity-data");
  const inboxData = document.getElementById("inbox-data");
  if (keywrap) keywrapPage(keywrap);
  if (caseData) casePage(caseData);
  else if (channelData) channelPage(channelData);
  else if (identityData) identityPage(identityData);
  else if (inboxData) inboxPage(inboxData, { onIdentities });
  const passkeys = document.getElementById("passkeys");
  if (passkeys) passkeysPage(passkeys, reloadPage);
}

function status(msg, error = false) {
  const box = document.getElementById("key-status");
  if (!box) return;
  box.textContent = msg;
  box.className = error ? "notice notice-error" : "notice notice-success";
}

// identityLines returns the secret key lines of an identity file.
function identityLines(text) {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.startsWith("AGE-SECRET-KEY-"));
}

// usableIdentities returns the keys of an identity file this page can use,
// or null after saying why there are none.
function usableIdentities(text) {
  const lines = identityLines(text);
  if (lines.length === 0) {
    status("That file holds no age identity (a line starting AGE-SECRET-KEY-).", true);
    return null;
  }
  if (!window.isSecureContext && lines.some((l) => l.startsWith("AGE-SECRET-KEY-1"))) {
    status(
      "This page is not served over HTTPS, and browsers allow classic (X25519) keys only on secure pages. " +
        "Open the console over HTTPS (or on localhost), or use a post-quantum key.",
      true,
    );
    return null;
  }
  return lines;
}

// setupKeyPanel wires the key panel (partial_key.html) of the page on
// show, if it has one: the identity file picker, "remember" and "forget".
// With a key loaded the panel says so instead of asking for it again.
// Only the caseworker's own key may go to sessionStorage, and only if they
// ask: channel identities derived from it stay in memory.
function setupKeyPanel() {
  const picker = document.getElementById("identity-file");
  const remember = document.getElementById("identity-remember");
  const forget = document.getElementById("identity-forget");
  if (!picker) return;
  showKeyState();

  picker.addEventListener("change", async () => {
    const f = picker.files[0];
    picker.value = "";
    if (!f) return;
    try {
      const lines = usableIdentities(await f.text());
      if (!lines) return;
      status("Key loaded. It stays on this device and is never uploaded.");
      const done = setIdentities(lines, { remember: Boolean(remember && remember.checked) });
      showKeyState();
      await done;
    } catch (err) {
      failed(err);
    }
  });
  if (remember) remember.addEventListener("change", () => setRemembered(remember.checked));
  setupUnlock(remember);
  if (forget) {
    forget.addEventListener("click", async () => {
      forgetIdentities();
      // Shown again without what the key decrypted.
      await reloadPage({ focus: "identity-file" });
      status("The key is forgotten in this tab. Load it again to decrypt.");
    });
  }
}

// showKeyState shows the key panel as loaded (with "forget") or asking for
// the key file.
function showKeyState() {
  const loaded = currentIdentities() !== null;
  const ask = document.getElementById("identity-load");
  const done = document.getElementById("key-loaded");
  const forget = document.getElementById("identity-forget");
  const remember = document.getElementById("identity-remember");
  if (ask) ask.hidden = loaded;
  if (done) done.hidden = !loaded;
  if (forget) forget.hidden = !loaded;
  if (remember) remember.checked = remembered() !== null;
  const unlock = document.getElementById("identity-unlock-row");
  if (unlock && loaded) unlock.hidden = true;
}

// setupUnlock offers "Unlock with your passkey" in the key panel while no
// key is loaded, if the server keeps the account's key wrapped by a
// passkey (keywrap.js): one tap, and the key it opens is loaded as one
// from a file is.
function setupUnlock(remember) {
  const row = document.getElementById("identity-unlock-row");
  const button = document.getElementById("identity-unlock");
  if (!row || !button) return;
  const offer = async () => {
    if (currentIdentities()) return;
    const w = await wrappedIdentity().catch(() => null);
    if (w && button.isConnected && !currentIdentities()) row.hidden = false;
  };
  offer();
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      const w = await wrappedIdentity();
      if (!w) throw new Error("The server keeps no key protected by a passkey for you: load your key file.");
      status("Use your passkey or security key to unlock your key…");
      const lines = usableIdentities((await unlockIdentity(w.file, w.hint)).join("\n"));
      if (!lines) return;
      status("Key unlocked with your passkey. It stays in this tab's memory and is never uploaded.");
      const done = setIdentities(lines, { remember: Boolean(remember && remember.checked) });
      showKeyState();
      await done;
    } catch (err) {
      status(explain(err), true);
    } finally {
      button.disabled = false;
    }
  });
}

// keywrapPage wires "Protect my key with a passkey" on the key page: with
// a key loaded in the tab, it makes a credential, encrypts the key to it
// (keywrap.js), sends the file for the server to keep, and offers it for
// download (the page shown again), with the identity string a security key
// needs.
function keywrapPage(root) {
  const make = document.getElementById("keywrap-make");
  const button = document.getElementById("keywrap-protect");
  const out = document.getElementById("keywrap-status");
  const say = (msg, error = false) => {
    out.textContent = msg;
    out.className = error ? "notice notice-error" : "notice notice-success";
    out.setAttribute("role", error ? "alert" : "status");
  };
  onIdentities(() => {
    make.hidden = false;
  });
  button.addEventListener("click", async () => {
    const own = currentIdentities();
    if (!own) {
      say("Load your key file first: it is what gets protected.", true);
      return;
    }
    const type = document.querySelector('input[name="keywrap-type"]:checked')?.value === "security-key" ? "security-key" : "passkey";
    button.disabled = true;
    try {
      say("Create the passkey when your browser asks, then touch it again to protect your key…");
      const { file, identity } = await protectIdentity(own, { type, keyName: `Candour key (${root.dataset.user})` });
      const hint = type === "security-key" ? identity : "";
      await saveWrapped(root.dataset.csrf, file, hint);
      // Shown again as the server now has it: with the file to download,
      // and a security key's identity string.
      await reloadPage({
        notice: "Your key is protected by your passkey and kept with your account. Next time, unlock it with one tap.",
        focus: "",
      });
    } catch (err) {
      rememberWrapped(undefined);
      say(explain(err), true);
    } finally {
      button.disabled = false;
    }
  });
}

function casePage(data) {
  const ref = data.dataset.case;
  const csrf = data.dataset.csrf;
  const orgRecipients = JSON.parse(data.dataset.recipients);
  const caseRecipient = data.dataset.caseRecipient;
  const channel = data.dataset.channel;
  const generation = Number(data.dataset.channelGeneration || 0);
  // The channel's newest key, so that the whole team (today's) can read
  // what is written now, whichever generation the case began with.
  const channelRecipients = data.dataset.channelRecipient ? [data.dataset.channelRecipient] : [];
  const root = data.closest("main") || document;

  // The forms first: a loaded key decrypts the whole thread, and replying
  // must not wait for that.
  document.getElementById("reply-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const text = document.getElementById("reply-text").value;
    const files = [...document.getElementById("reply-files").files];
    await send(ref, csrf, [...orgRecipients, caseRecipient, ...channelRecipients], text, files, "reply");
  });
  document.getElementById("note-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const text = document.getElementById("note-text").value;
    await send(ref, csrf, [...orgRecipients, ...channelRecipients], text, [], "note");
  });

  setupCloseForm(ref, csrf, [...orgRecipients, ...channelRecipients]);

  const decryptIdentity = document.getElementById("identity-decrypt");
  if (decryptIdentity) {
    decryptIdentity.addEventListener("click", () =>
      showIdentity(decryptIdentity.dataset.url, currentIdentities(), document.getElementById("identity-details")).catch(failed),
    );
  }

  onIdentities(async (own) => {
    const ids = await caseChannelIdentities(data, channel, generation, channelRecipients[0] || "");
    if (!data.isConnected) return; // another page is shown now
    await decryptAll(root, ref, [...own, ...ids]);
  });
}

// setupCloseForm lets the closing form carry an explanation, encrypted here
// as an internal note is (to the organisation's and the channel's keys) and
// posted with the outcome. The textarea has no name: without this script
// its text could never be sent in clear, and it stays hidden.
function setupCloseForm(ref, csrf, recipients) {
  const form = document.getElementById("close-form");
  if (!form) return;
  document.getElementById("outcome-note-field").hidden = false;
  form.addEventListener("submit", async (ev) => {
    const text = document.getElementById("outcome-note").value;
    if (!text.trim()) return; // the plain form: outcome only
    ev.preventDefault();
    const out = document.getElementById("close-status");
    out.textContent = "Encrypting…";
    try {
      const sealed = await encryptTo(recipients, JSON.stringify({ v: 1, text, attachments: [] }));
      const outcome = form.elements.outcome.value;
      await post(`/staff/case/${ref}/close`, csrf, [["outcome", outcome], ["note", new Blob([sealed])]]);
      await reloadPage({ notice: "The case is closed, with its explanation encrypted as an internal note." });
    } catch (err) {
      out.textContent = `Not closed: ${err.message}`;
    }
  });
}

// caseChannelIdentities opens the caller's wraps of the case's channel: all
// generations they hold, since replies may be to a newer generation than the
// case's first files (recipient is the channel's newest key). A failure is
// reported and yields none, so that a caseworker who holds an organisation
// key still reads the case with it. A case that began before its channel
// had a key (generation 0) may still have later messages encrypted to the
// channel's key (recipient). The keys opened are kept for the tab
// (keyring.js), in memory only.
async function caseChannelIdentities(data, channel, generation, recipient) {
  if (!(generation > 0) && !recipient) return [];
  let byGeneration;
  try {
    byGeneration = await channelIdentities(channel, { generation, recipient }, () => fetchKeys(channel));
  } catch (err) {
    if (data.isConnected) status(`Could not open this channel's key: ${err.message}`, true);
    return [];
  }
  if (data.isConnected && (generation > 0 ? !byGeneration.has(generation) : byGeneration.size === 0)) {
    status("You have not been given this channel's key yet: ask a member of the channel to grant it.", true);
  }
  return [...byGeneration.values()];
}

// The channel page: an administrator makes the first key, a member grants
// the keys they hold to a new member, and removing a member makes a new
// generation for the others in the same request.
function channelPage(data) {
  const channel = data.dataset.channel;
  const csrf = data.dataset.csrf;
  const generation = Number(data.dataset.generation || 0);
  const kind = data.dataset.kind;
  // Each action changes the channel's keys: the cached ones are dropped.
  const change = (target, action) =>
    run(target, async () => {
      dropChannel(channel);
      await action();
    });

  const create = document.getElementById("channel-key-create");
  if (create) onActivate(create, () => createChannelKey(channel, csrf, kind), change);
  for (const b of document.querySelectorAll(".channel-grant[data-staff]")) {
    onActivate(b, () => grantChannelKeys(channel, csrf, b.dataset.staff, currentIdentities()), change);
  }
  for (const form of document.querySelectorAll("form.channel-remove")) {
    form.addEventListener("submit", (ev) => {
      // Without a key there is nothing to rotate: the server removes as
      // usual (the form goes through navigate.js, or natively).
      if (!(generation > 0)) return;
      ev.preventDefault();
      change(form, () => removeWithNewKey(channel, csrf, generation, kind, removedStaff(form)));
    });
  }
}

// The custodians' page: open a case's identity details with the
// custodian's own key, or approve a request by re-encrypting them to the
// requester's own key in this browser. Refusing is a plain form.
function identityPage(data) {
  const csrf = data.dataset.csrf;
  for (const b of document.querySelectorAll("button.identity-open[data-case]")) {
    // The block, or if it was not encrypted to this custodian (who joined
    // later) the copy another custodian gave them.
    const url = `/staff/identity/case/${encodeURIComponent(b.dataset.case)}`;
    b.addEventListener("click", () => showIdentity([url, `${url}/copy`], currentIdentities(), b.parentElement.querySelector(".identity-out")).catch(failed));
  }
  for (const form of document.querySelectorAll("form.identity-copy[data-case]")) {
    onActivate(form, async () => {
      const own = currentIdentities();
      if (!own) throw new Error("Load your own key first: a copy is made from the identity details your key opens.");
      const option = form.elements.namedItem("staff").selectedOptions[0];
      const url = `/staff/identity/case/${encodeURIComponent(form.dataset.case)}`;
      const copy = await regrant(await fetchFirstOpening([url, `${url}/copy`], own), own, option.dataset.recipient);
      await post(`${url}/copy`, csrf, [
        ["staff", option.value],
        ["grant", bytesToBase64(copy)],
      ]);
    });
  }
  for (const b of document.querySelectorAll("button.identity-approve[data-request]")) {
    onActivate(b, async () => {
      const own = currentIdentities();
      if (!own) throw new Error("Load your own key first: approving decrypts the identity details with it.");
      const url = `/staff/identity/case/${encodeURIComponent(b.dataset.case)}`;
      const block = await fetchFirstOpening([url, `${url}/copy`], own);
      const grant = await regrant(block, own, b.dataset.recipient);
      await post(`/staff/identity/request/${encodeURIComponent(b.dataset.request)}/approve`, csrf, [["grant", bytesToBase64(grant)]]);
    });
  }
}

// fetchFirstOpening returns the first identity file of urls that own
// opens (the custodians' block, then the caller's own copy).
async function fetchFirstOpening(urls, own) {
  let first;
  for (const url of urls) {
    try {
      const bytes = await fetchBytes(url);
      await openIdentity(bytes, own);
      return bytes;
    } catch (err) {
      first = first || err;
    }
  }
  if (urls.length > 1) {
    throw new Error(
      "Your key does not open these identity details: they were encrypted to the custodians registered when the report arrived. " +
        "Ask another custodian to give you a copy.",
    );
  }
  throw first;
}

// showIdentity fetches an identity file (the first of urls that the
// caller's own key opens), opens it and lists its fields in out (a <dl>),
// as text only.
async function showIdentity(urls, own, out) {
  if (!own) {
    status("Load your own key first: the identity details are encrypted to it.", true);
    return;
  }
  const details = await openIdentity(await fetchFirstOpening([urls].flat(), own), own);
  out.replaceChildren();
  for (const r of identityRows(details)) out.append(el("dt", { text: r.label }), el("dd", { class: "pre-wrap", text: r.value }));
  status("Identity details decrypted on this device. The opening is recorded in the audit trail.");
}

// onActivate runs action on a button's click or a form's submit, through
// runner (run, or a wrapper of it).
function onActivate(target, action, runner = run) {
  const isForm = target.tagName === "FORM";
  target.addEventListener(isForm ? "submit" : "click", (ev) => {
    ev.preventDefault();
    runner(target, action);
  });
}

// run performs one key change: the page is shown again in place with the
// server's new state (the key stays loaded), or the reason for a refusal
// is shown and the control re-enabled.
async function run(target, action) {
  const controls = target.tagName === "FORM" ? [...target.querySelectorAll("button")] : [target];
  for (const c of controls) c.disabled = true;
  status("Working…");
  try {
    await action();
    await reloadPage({ notice: "Done. The page shows the new state." });
  } catch (err) {
    status(err.message, true);
    for (const c of controls) c.disabled = false;
  }
}

// removedStaff is the staff id a removal form is about: data-staff, as on
// the grant buttons, else its "staff" field.
function removedStaff(form) {
  const field = form.elements.namedItem("staff");
  const id = form.dataset.staff || (field && field.value);
  if (!id) throw new Error("this removal form does not say whom it removes");
  return id;
}

async function fetchKeys(channel) {
  const res = await fetch(`/staff/channels/${encodeURIComponent(channel)}/keys`, { credentials: "same-origin", headers: { Accept: "application/json" } });
  if (!res.ok) throw new Error(await refusal(res));
  return res.json();
}

// The first key: made here, wrapped to every member, and forgotten when the
// page reloads. The administrator's own key is not needed.
async function createChannelKey(channel, csrf, kind) {
  const keys = await fetchKeys(channel);
  if (keys.members.length === 0) throw new Error("This channel has no members yet: add its team first, or no one could read its cases.");
  const { identity, recipient } = await newChannelKey(kind);
  const wraps = await wrapsForMembers(identity, keys.members);
  await post(`/staff/channels/${encodeURIComponent(channel)}/key`, csrf, [
    ["previous", "0"],
    ["recipient", recipient],
    ["wraps", JSON.stringify(wraps)],
  ]);
}

// A grant copies, to the new member's own key, every generation the caller
// holds and the grantee does not yet.
async function grantChannelKeys(channel, csrf, staffId, own) {
  if (!own) throw new Error("Load your own key first: a grant passes on the channel keys that your key opens.");
  const keys = await fetchKeys(channel);
  const grantee = keys.members.find((m) => String(m.id) === String(staffId));
  if (!grantee) throw new Error("That person is not a member of this channel.");
  if (!grantee.recipient) throw new Error(`${grantee.username} has not registered their own key yet: ask them to, then grant again.`);
  const mine = await unwrapGenerations(keys, own);
  if (mine.size === 0) throw new Error("You hold none of this channel's keys, so you have none to grant.");
  const held = new Set((grantee.generations || []).map(Number));
  const toGive = new Map([...mine].filter(([gen]) => !held.has(gen)));
  if (toGive.size === 0) throw new Error(`${grantee.username} already holds every key of this channel that you hold.`);
  await post(`/staff/channels/${encodeURIComponent(channel)}/grant`, csrf, [
    ["staff", String(staffId)],
    ["wraps", JSON.stringify(await wrapGenerations(toGive, grantee.recipient))],
  ]);
}

// Removal protects the future: a new generation for everyone but the
// removed member, posted with the removal so the server can check both.
async function removeWithNewKey(channel, csrf, generation, kind, staffId) {
  const keys = await fetchKeys(channel);
  if (keys.generation !== generation) throw new Error("This channel's key has changed since the page loaded: reload it and try again.");
  const remaining = keys.members.filter((m) => String(m.id) !== String(staffId));
  if (remaining.length === keys.members.length) throw new Error("That person is not a member of this channel.");
  const { identity, recipient } = await newChannelKey(kind);
  const wraps = await wrapsForMembers(identity, remaining);
  await post(`/staff/channels/${encodeURIComponent(channel)}/key`, csrf, [
    ["previous", String(generation)],
    ["recipient", recipient],
    ["wraps", JSON.stringify(wraps)],
    ["remove", String(staffId)],
  ]);
}

function decrypter(identities) {
  const d = new Decrypter();
  for (const id of identities) d.addIdentity(id);
  return d;
}

async function fetchBytes(url) {
  const res = await fetch(url, { credentials: "same-origin" });
  if (!res.ok) throw new Error(`could not fetch ${url} (${res.status})`);
  return new Uint8Array(await res.arrayBuffer());
}

async function decryptMessage(url, identities) {
  const text = await decrypter(identities).decrypt(await fetchBytes(url), "text");
  const m = JSON.parse(text);
  if (m.v !== 1) throw new Error("unsupported message version");
  return m;
}

async function sha256Hex(bytes) {
  if (!crypto.subtle) return null;
  const h = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return [...h].map((b) => b.toString(16).padStart(2, "0")).join("");
}

// decryptAll decrypts the thread and notes of the case page root, as long
// as that page is shown.
async function decryptAll(root, ref, identities) {
  for (const li of root.querySelectorAll("[data-message]")) {
    if (!li.isConnected) return;
    const out = li.querySelector(".decrypted");
    out.replaceChildren();
    try {
      const m = await decryptMessage(`/staff/case/${ref}/message/${li.dataset.message}`, identities);
      // The answers to the intake questions, above the text; a file
      // question's answer points to the attachments below.
      const answers = answerRows(m);
      if (answers) out.append(renderAnswers(answers, el));
      out.append(el("div", { class: "pre-wrap", text: m.text }));
      const labels = questionLabels(m);
      for (const a of m.attachments || []) out.append(attachmentView(ref, a, identities, labels));
    } catch (err) {
      out.append(el("p", { class: "notice notice-error", text: `Could not decrypt: ${err.message}` }));
    }
  }
  for (const li of root.querySelectorAll("[data-note]")) {
    if (!li.isConnected) return;
    const out = li.querySelector(".decrypted");
    out.replaceChildren();
    try {
      const m = await decryptMessage(`/staff/case/${ref}/note/${li.dataset.note}`, identities);
      out.append(el("div", { class: "pre-wrap", text: m.text }));
    } catch (err) {
      out.append(el("p", { class: "notice notice-error", text: `Could not decrypt: ${err.message}` }));
    }
  }
}

function attachmentView(ref, a, identities, labels = new Map()) {
  const name = safeName(a.name);
  if (!Number.isSafeInteger(a.id) || a.id <= 0) {
    // The id comes from decrypted (sender-controlled) data: never let it
    // shape a URL beyond a positive integer.
    return el("p", { class: "notice notice-error", text: `${name}: malformed attachment reference` });
  }
  const box = el("div", { class: "attachment" });
  const button = el("button", { type: "button", class: "button-secondary", text: `Decrypt ${name}` });
  // The hash recorded at submission, shown once: replaced by the result of
  // its check once the file is decrypted.
  const hashLine = el("p", { text: `SHA-256 at submission: ${a.sha256}` });
  box.append(el("p", { text: `${name} (${a.type}, ${a.size} bytes)` }), hashLine);
  if (typeof a.question === "string" && labels.has(a.question)) box.append(el("p", { text: `Sent in answer to: ${labels.get(a.question)}` }));
  // How the file was treated on receipt (all from the sealed message).
  if (a.kept_original) box.append(el("p", { text: "Stored as the reporter sent it: they chose to keep hidden data (it may identify them)." }));
  else if (Array.isArray(a.removed) && a.removed.length) box.append(el("p", { text: `Hidden data removed on receipt: ${a.removed.map(String).join("; ")}.` }));
  else if (typeof a.note === "string" && a.note) box.append(el("p", { text: `Not cleaned: ${a.note}.` }));
  else if (!a.cleaned) box.append(el("p", { text: "Not checked for hidden data (a type this service does not clean)." }));
  if (typeof a.original_sha256 === "string" && a.original_sha256) box.append(el("p", { text: `SHA-256 of the file as the reporter sent it: ${a.original_sha256}` }));
  box.append(button);
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      const plain = await decrypter(identities).decrypt(await fetchBytes(`/staff/case/${encodeURIComponent(ref)}/attachment/${a.id}`));
      const sum = await sha256Hex(plain);
      const check =
        sum === null
          ? "SHA-256 not checked (this browser page is not a secure context)."
          : sum === a.sha256
            ? `SHA-256 verified: ${sum}`
            : `WARNING: SHA-256 ${sum} does not match the one recorded at submission.`;
      // Served as a download with a neutral type, so nothing in it runs here.
      const blob = new Blob([plain], { type: "application/octet-stream" });
      const url = URL.createObjectURL(blob);
      // The check takes the hash's place, and the button (done with) gives
      // way to the link that saves the file.
      hashLine.replaceWith(el("p", { class: "integrity", text: check }));
      button.replaceWith(el("a", { href: url, download: name, text: `Save ${name}` }));
      if (/^image\/(png|jpeg|gif|webp)$/.test(a.type)) {
        const img = URL.createObjectURL(new Blob([plain], { type: a.type }));
        box.append(el("img", { src: img, alt: `Preview of ${name}`, class: "preview" }));
      }
    } catch (err) {
      button.disabled = false; // to try again, with another key say
      box.append(el("p", { class: "notice notice-error", text: `Could not decrypt: ${err.message}` }));
    }
  });
  return box;
}

async function encryptTo(recipients, data) {
  const e = new Encrypter();
  for (const r of recipients) e.addRecipient(r);
  return e.encrypt(data);
}

async function post(url, csrf, parts) {
  const form = new FormData();
  form.append("csrf", csrf); // first: the server checks it before reading on
  for (const [k, v, filename] of parts) {
    if (filename) form.append(k, v, filename);
    else form.append(k, v);
  }
  const res = await fetch(url, { method: "POST", body: form, credentials: "same-origin", headers: { Accept: "application/json" } });
  if (!res.ok) throw new Error(await refusal(res));
  return res.json();
}


async function send(ref, csrf, recipients, text, files, kind) {
  const out = document.getElementById(`${kind}-status`);
  out.textContent = "Encrypting…";
  try {
    const attachments = [];
    for (const f of files) {
      const plain = new Uint8Array(await f.arrayBuffer());
      const ct = await encryptTo(recipients, plain);
      const { id } = await post(`/staff/case/${ref}/attachment`, csrf, [["file", new Blob([ct]), "blob.age"]]);
      attachments.push({ id, name: safeName(f.name), type: f.type || "application/octet-stream", size: plain.length, sha256: (await sha256Hex(plain)) || "" });
    }
    const sealed = await encryptTo(recipients, JSON.stringify({ v: 1, text, attachments }));
    const field = kind === "note" ? "note" : "message";
    const parts = [[field, new Blob([sealed])]];
    if (kind === "reply") parts.push(["attachments", attachments.map((a) => a.id).join(",")]);
    await post(`/staff/case/${ref}/${kind}`, csrf, parts);
    await reloadPage({ notice: kind === "note" ? "Your note was encrypted and saved." : "Your reply was encrypted and sent." });
  } catch (err) {
    out.textContent = `Not sent: ${err.message}`;
  }
}
