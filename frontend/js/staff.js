// The staff console's in-browser decryption. The caseworker's age identity
// is read from a file they choose, kept in this page's memory (and, only if
// they ask, in sessionStorage for this browser tab), and never sent to the
// server. Messages, attachments and notes arrive as age ciphertext and are
// decrypted here; replies and notes are encrypted here before upload.
//
// Decrypted text is only ever inserted with textContent, never as HTML.

import { Decrypter, Encrypter } from "age-encryption";
import { safeName } from "./safename.js";

const storageKey = "candour-identity";

const el = (tag, props = {}, ...children) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c);
  return e;
};

const data = document.getElementById("case-data");
if (data) {
  main(data).catch((err) => status(`Something went wrong: ${err.message}`, true));
}

function status(msg, error = false) {
  const box = document.getElementById("key-status");
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

async function main(data) {
  const ref = data.dataset.case;
  const csrf = data.dataset.csrf;
  const orgRecipients = JSON.parse(data.dataset.recipients);
  const caseRecipient = data.dataset.caseRecipient;

  const picker = document.getElementById("identity-file");
  const remember = document.getElementById("identity-remember");
  let identities = null;

  const useIdentity = async (text) => {
    const lines = identityLines(text);
    if (lines.length === 0) {
      status("That file holds no age identity (a line starting AGE-SECRET-KEY-).", true);
      return;
    }
    if (!window.isSecureContext && lines.some((l) => l.startsWith("AGE-SECRET-KEY-1"))) {
      status(
        "This page is not served over HTTPS, and browsers allow classic (X25519) keys only on secure pages. " +
          "Open the console over HTTPS (or on localhost), or use a post-quantum key.",
        true,
      );
      return;
    }
    identities = lines;
    if (remember.checked) sessionStorage.setItem(storageKey, text);
    status("Key loaded. It stays on this device and is never uploaded.");
    await decryptAll(ref, identities);
  };

  picker.addEventListener("change", async () => {
    const f = picker.files[0];
    if (f) await useIdentity(await f.text());
    picker.value = "";
  });
  document.getElementById("identity-forget").addEventListener("click", () => {
    sessionStorage.removeItem(storageKey);
    location.reload();
  });
  const saved = sessionStorage.getItem(storageKey);
  if (saved) {
    remember.checked = true;
    await useIdentity(saved);
  }

  document.getElementById("reply-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const text = document.getElementById("reply-text").value;
    const files = [...document.getElementById("reply-files").files];
    await send(ref, csrf, [...orgRecipients, caseRecipient], text, files, "reply");
  });
  document.getElementById("note-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const text = document.getElementById("note-text").value;
    await send(ref, csrf, orgRecipients, text, [], "note");
  });
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

async function decryptAll(ref, identities) {
  for (const li of document.querySelectorAll("[data-message]")) {
    const out = li.querySelector(".decrypted");
    out.replaceChildren();
    try {
      const m = await decryptMessage(`/staff/case/${ref}/message/${li.dataset.message}`, identities);
      out.append(el("div", { class: "pre-wrap", text: m.text }));
      for (const a of m.attachments || []) out.append(attachmentView(ref, a, identities));
    } catch (err) {
      out.append(el("p", { class: "notice notice-error", text: `Could not decrypt: ${err.message}` }));
    }
  }
  for (const li of document.querySelectorAll("[data-note]")) {
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

function attachmentView(ref, a, identities) {
  const name = safeName(a.name);
  if (!Number.isSafeInteger(a.id) || a.id <= 0) {
    // The id comes from decrypted (sender-controlled) data: never let it
    // shape a URL beyond a positive integer.
    return el("p", { class: "notice notice-error", text: `${name}: malformed attachment reference` });
  }
  const box = el("div", { class: "attachment" });
  const button = el("button", { type: "button", class: "button-secondary", text: `Decrypt ${name}` });
  box.append(el("p", { text: `${name} (${a.type}, ${a.size} bytes)` }), el("p", { text: `SHA-256 at submission: ${a.sha256}` }));
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
      box.append(el("p", { class: "integrity", text: check }), el("a", { href: url, download: name, text: `Save ${name}` }));
      if (/^image\/(png|jpeg|gif|webp)$/.test(a.type)) {
        const img = URL.createObjectURL(new Blob([plain], { type: a.type }));
        box.append(el("img", { src: img, alt: `Preview of ${name}`, class: "preview" }));
      }
    } catch (err) {
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
  if (!res.ok) {
    // The server explains its refusals in plain English, as JSON.
    const why = await res.json().then((j) => j.error, () => null);
    throw new Error(why || `the server refused it (${res.status})`);
  }
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
    location.reload();
  } catch (err) {
    out.textContent = `Not sent: ${err.message}`;
  }
}
