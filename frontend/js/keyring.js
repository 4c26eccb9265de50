// The caseworker's own age identities (from their key file, or unlocked
// with their passkey: keywrap.js), held for the whole browser tab: in
// this module's memory, which lives as long as the console's document, and
// navigate.js keeps that document while the caseworker works (pages are
// fetched and shown in place). They are written nowhere, except to
// sessionStorage when the caseworker asks ("remember in this tab"), and
// never sent anywhere. Forgetting, logging out, or a session that has
// ended (the login page) drops them.
//
// Page scripts use onIdentities and currentIdentities; they are told of a
// key loaded on their page, or already loaded when they start. pageChanged
// drops the previous page's callbacks, so that a page no longer shown does
// no work and nothing runs twice.
//
// The channel identities that the caseworker's key opens (their wraps,
// channelkeys.js) are cached here too, in memory only, so that each case
// page need not fetch and open them again.
//
// No DOM here; sessionStorage and fetch only where a function needs them,
// so that node can test this module with stand-ins.

import { identityToRecipient } from "age-encryption";
import { unwrapGenerations } from "./channelkeys.js";

const storageKey = "candour-identity";

let own = null; // the caseworker's identities (AGE-SECRET-KEY-… lines), once loaded
let callbacks = []; // the current page's onIdentities callbacks
let report = (err) => console.error(err); // where a callback's failure goes
const channels = new Map(); // channel id → {byGeneration, recipients}

// reportTo sets where the failures of onIdentities callbacks are shown.
export function reportTo(fn) {
  report = fn;
}

// currentIdentities is the caseworker's identities, or null before a key
// is loaded. Callers must not keep them beyond their use.
export function currentIdentities() {
  return own;
}

// onIdentities calls callback with the caseworker's identities now if a
// key is loaded, and each time one is loaded while this page is shown.
// It returns the promise of the call made now, if any.
export function onIdentities(callback) {
  callbacks.push(callback);
  return own ? call(callback, own) : Promise.resolve();
}

async function call(callback, ids) {
  try {
    await callback(ids);
  } catch (err) {
    report(err);
  }
}

// setIdentities makes lines the caseworker's identities, remembered in
// sessionStorage only if remember (and removed from there otherwise, so
// that a key once remembered does not come back instead), and tells the
// page. It resolves when every callback has finished.
export function setIdentities(lines, { remember = false } = {}) {
  if (!Array.isArray(lines) || lines.length === 0) throw new Error("no identity to load");
  own = [...lines];
  channels.clear();
  setRemembered(remember);
  return Promise.all(callbacks.map((cb) => call(cb, own)));
}

// setRemembered keeps the loaded key in sessionStorage for this tab, or
// removes it from there.
export function setRemembered(on) {
  if (on && own) sessionStorage.setItem(storageKey, own.join("\n"));
  else sessionStorage.removeItem(storageKey);
}

// remembered is the key text that sessionStorage holds for this tab, or
// null.
export function remembered() {
  return sessionStorage.getItem(storageKey);
}

// forgetIdentities drops the key from memory and from sessionStorage, with
// the channel identities it opened.
export function forgetIdentities() {
  dropFromMemory();
  sessionStorage.removeItem(storageKey);
}

// dropFromMemory drops the key and the channel identities it opened from
// memory only, as unloading the page does.
export function dropFromMemory() {
  own = null;
  channels.clear();
}

// pageChanged forgets the callbacks of the page that was shown.
export function pageChanged() {
  callbacks = [];
}

// channelIdentities returns a Map generation → identity of the channel's
// keys that the loaded key opens, from the cache if it holds generation
// (the case's first) and recipient (the channel's newest key), else from
// fetchKeys() (the answer of GET /staff/channels/:id/keys; by default
// fetched from there). Errors (no key loaded, a wrap that does not open,
// a refusal) are thrown.
export async function channelIdentities(channel, { generation = 0, recipient = "" } = {}, fetchKeys = () => fetchChannelKeys(channel)) {
  if (!own) throw new Error("no identity loaded to open the channel key with");
  const key = String(channel);
  const cached = channels.get(key);
  const covers = (c) => (!(generation > 0) || c.byGeneration.has(generation)) && (!recipient || c.recipients.has(recipient));
  if (cached && covers(cached)) return cached.byGeneration;
  const openedWith = own;
  const byGeneration = await unwrapGenerations(await fetchKeys(), openedWith);
  const recipients = new Set();
  for (const id of byGeneration.values()) recipients.add(await identityToRecipient(id));
  // Cached only if the key that opened them is still the one loaded.
  if (own === openedWith) channels.set(key, { byGeneration, recipients });
  return byGeneration;
}

// dropChannel forgets the cached keys of a channel whose keys changed.
export function dropChannel(channel) {
  channels.delete(String(channel));
}

async function fetchChannelKeys(channel) {
  const res = await fetch(`/staff/channels/${encodeURIComponent(channel)}/keys`, { credentials: "same-origin", headers: { Accept: "application/json" } });
  const why = res.ok ? null : await res.json().then((j) => j && j.error, () => null);
  if (!res.ok) throw new Error(why || `the server refused the channel's keys (${res.status})`);
  return res.json();
}
