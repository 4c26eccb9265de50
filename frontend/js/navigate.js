// The console's navigation layer: it keeps the console's document, and so
// the caseworker's key in its memory (keyring.js), alive while they work.
// Links and forms that stay in the console (same origin, under /staff/) are
// fetched here, and the page that comes back replaces the body of this one
// (header, main, footer), with its title and address; history.pushState
// keeps the address bar, back and forward true to what is shown. Without
// this script every link and form works as an ordinary navigation: the
// layer changes how a page arrives, never what the server does.
//
// Some navigations must unload the page, and with it the key: leaving the
// console, logging out (or everywhere), the login page (a session that has
// ended), anything that is not HTML (a download, which the browser saves
// without unloading the page), a link with a download attribute, anything
// marked data-native (on the element or an ancestor), and a GET whose
// fetch fails. A POST whose answer is lost is never sent again (fallBack).
//
// What arrives is parsed with DOMParser, which runs nothing, and its
// scripts are dropped before its nodes join the page: the console's own
// script is already running, and a page never brings code of its own.
//
// The pure helpers (no DOM, no network) are exported for node to test.

const loginPath = "/staff/login";
const sessionEnders = new Set(["/staff/logout", "/staff/logout-everywhere"]);

// inConsole reports whether url may be fetched and shown in place: a page
// of this origin's console that neither ends the session nor is the login
// page.
export function inConsole(url, origin) {
  if (url.origin !== origin || !url.pathname.startsWith("/staff/")) return false;
  return url.pathname !== loginPath && !sessionEnders.has(url.pathname);
}

// endsSession reports whether going to url ends the staff session (a
// logout) or shows that it has ended (the login page): the key must go.
export function endsSession(url, origin) {
  return url.origin === origin && (url.pathname === loginPath || sessionEnders.has(url.pathname));
}

// withoutHash is url as text without its fragment: two addresses that
// differ only there are the same page.
export function withoutHash(url) {
  const u = new URL(url);
  u.hash = "";
  return u.href;
}

// requestFor turns a form submission into the request a browser would
// make (HTML's form submission algorithm, for the encodings the console
// uses), or null to leave it to the browser: GET replaces the action's
// query with the fields; POST sends them urlencoded or, for
// multipart/form-data, as the FormData itself. data is the FormData of the
// form and its submitter, in document order.
export function requestFor(action, method, enctype, data) {
  const url = new URL(action);
  method = String(method || "get").toLowerCase();
  enctype = String(enctype || "application/x-www-form-urlencoded").toLowerCase();
  const fields = () => {
    const p = new URLSearchParams();
    for (const [k, v] of data) p.append(k, typeof v === "string" ? v : v.name);
    return p;
  };
  if (method === "get") {
    url.search = fields().toString();
    return { method: "GET", url, body: null };
  }
  if (method !== "post") return null; // dialog
  if (enctype === "multipart/form-data") return { method: "POST", url, body: data };
  if (enctype === "application/x-www-form-urlencoded") return { method: "POST", url, body: fields() };
  return null; // text/plain: not the console's
}

// filenameOf is the file name a Content-Disposition header gives, or "".
export function filenameOf(disposition) {
  if (!disposition) return "";
  const star = /filename\*\s*=\s*(?:UTF-8|utf-8)''([^;]+)/.exec(disposition);
  if (star) {
    try {
      return decodeURIComponent(star[1].trim());
    } catch {
      // a malformed escape: fall back to the plain name
    }
  }
  const plain = /filename\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]+))/.exec(disposition);
  if (!plain) return "";
  return plain[1] !== undefined ? plain[1].replace(/\\(.)/g, "$1") : plain[2];
}

let hooks = { onPage() {}, onLeave() {} };
let shown = ""; // the address (without fragment) of the page on show
let current = null; // the navigation under way: {controller, method}
let entry = 0; // the id of the newest history entry this layer made
const scrolls = new Map(); // history entry id → scroll position when left

// startNavigation takes over the console's links and forms. onPage runs
// after each page shown in place (to start that page's scripts), onLeave
// before a navigation that ends the session (to drop the key).
export function startNavigation({ onPage, onLeave }) {
  hooks = { onPage, onLeave };
  shown = withoutHash(location.href);
  history.scrollRestoration = "manual";
  document.addEventListener("click", onClick);
  document.addEventListener("submit", onSubmit);
  window.addEventListener("popstate", onPopState);
}

// reloadPage shows the current page again, fetched anew, in place: what
// the console's scripts do after an action instead of location.reload(),
// which would drop the key. notice, if given, is shown (and focused) at
// the top of the page; focus names the id of an element to focus instead.
export function reloadPage({ notice = "", focus = "" } = {}) {
  const url = new URL(location.href);
  if (!inConsole(url, location.origin)) {
    location.reload();
    return new Promise(() => {}); // the page goes
  }
  return go({ method: "GET", url, body: null }, { history: "replace", notice, focus, keepScroll: true });
}

function onClick(ev) {
  if (ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
  const a = ev.target instanceof Element ? ev.target.closest("a[href]") : null;
  if (!(a instanceof HTMLAnchorElement) || a.hasAttribute("download") || a.closest("[data-native]")) return;
  if (a.target && a.target !== "_self") return;
  const url = new URL(a.href);
  if (endsSession(url, location.origin)) {
    hooks.onLeave();
    return;
  }
  if (!inConsole(url, location.origin)) return;
  // A fragment of the page on show: the browser scrolls to it.
  if (url.hash && withoutHash(url) === shown) return;
  ev.preventDefault();
  go({ method: "GET", url, body: null }, { history: "push" });
}

function onSubmit(ev) {
  const form = ev.target;
  if (!(form instanceof HTMLFormElement)) return;
  if (ev.defaultPrevented) return;
  const submitter = ev.submitter || null;
  if (form.closest("[data-native]") || (submitter && submitter.hasAttribute("data-native"))) return;
  const attr = (name, formName) => (submitter && submitter.hasAttribute(name) ? submitter.getAttribute(name) : form.getAttribute(formName));
  const target = attr("formtarget", "target");
  if (target && target !== "_self") return;
  const action = new URL(attr("formaction", "action") || location.href, location.href);
  if (endsSession(action, location.origin)) {
    hooks.onLeave();
    return;
  }
  if (!inConsole(action, location.origin)) return;
  const req = requestFor(action.href, attr("formmethod", "method"), attr("formenctype", "enctype"), formData(form, submitter));
  if (!req) return;
  ev.preventDefault();
  // A second press while the first is on its way would change the case
  // twice: the first one's answer is coming.
  if (req.method === "POST" && current && current.method === "POST") return;
  go(req, { history: "push", form, submitter });
}

// formData is the form's data set with the submitter's name and value, as
// the browser would send them.
function formData(form, submitter) {
  try {
    return new FormData(form, submitter);
  } catch {
    const data = new FormData(form); // a browser without the submitter argument
    if (submitter && submitter.name) data.append(submitter.name, submitter.value);
    return data;
  }
}

function onPopState(ev) {
  const url = new URL(location.href);
  if (withoutHash(url) === shown) return; // a fragment of the page on show
  if (!inConsole(url, location.origin)) {
    location.reload();
    return;
  }
  const id = (ev.state && ev.state.candour) || 0;
  go({ method: "GET", url, body: null }, { history: "none", scroll: scrolls.get(id) || 0 });
}

// go fetches req and shows the answer in place, or leaves it to the
// browser when it must (see the top of this file). It resolves when the
// new page is shown and started.
async function go(req, opts) {
  if (current) current.controller.abort();
  const controller = new AbortController();
  const me = { controller, method: req.method };
  current = me;
  document.documentElement.classList.add("navigating");
  try {
    let res, doc;
    try {
      res = await fetch(req.url, {
        method: req.method,
        body: req.body,
        credentials: "same-origin",
        headers: { Accept: "text/html" },
        signal: controller.signal,
      });
      if ((res.headers.get("Content-Type") || "").startsWith("text/html")) {
        doc = new DOMParser().parseFromString(await res.text(), "text/html");
      }
    } catch (err) {
      // Only a failure to fetch (or to read the answer) falls back.
      if (!controller.signal.aborted) fallBack(req);
      return;
    }
    if (current !== me) return; // another navigation took over
    const final = new URL(res.url);
    if (!inConsole(final, location.origin)) {
      if (endsSession(final, location.origin)) hooks.onLeave();
      location.assign(final.href);
      return;
    }
    if (!doc) {
      if (req.method === "GET") {
        // A download, which the browser saves without unloading the page:
        // asked for again natively (mark such links data-native to ask
        // once), this copy is not read.
        if (res.body) res.body.cancel().catch(() => {});
        location.assign(req.url.href);
      } else {
        await save(res);
      }
      return;
    }
    // A page that is not the console's (an enrolment or recovery page) is
    // loaded as such; an error page is shown in place.
    const isConsole = doc.body.classList.contains("staff");
    if (!doc.querySelector("main") || (req.method === "GET" && res.ok && !isConsole)) {
      location.assign(final.href);
      return;
    }
    // A form sent after the session ended is answered with a page that
    // says so and leads to the login page: the key goes now.
    if (!isConsole && doc.querySelector(`main a[href="${loginPath}"]`)) hooks.onLeave();
    show(doc, req, res, final, opts);
  } finally {
    if (current === me) {
      current = null;
      document.documentElement.classList.remove("navigating");
    }
  }
}

// show puts doc in place of the page on show, records the address, starts
// the new page's scripts, and moves focus and scroll as a new page would.
function show(doc, req, res, final, opts) {
  for (const s of doc.querySelectorAll("script")) s.remove();
  // The address shown: where the request ended, except for a POST answered
  // in place (a refusal), whose action is no page to come back to.
  const address = req.method === "POST" && !res.redirected ? location.href : final.href;
  const leaving = history.state && history.state.candour;
  scrolls.set(leaving || 0, window.scrollY);
  const html = document.documentElement;
  for (const a of ["lang", "dir"]) {
    const v = doc.documentElement.getAttribute(a);
    if (v === null) html.removeAttribute(a);
    else html.setAttribute(a, v);
  }
  document.title = doc.title;
  document.body.className = doc.body.className;
  document.body.replaceChildren(...[...doc.body.childNodes].map((n) => document.adoptNode(n)));

  // History after the page is in place, so that whoever waits for the
  // address to change finds the new page there.
  if (opts.history === "push" && withoutHash(address) !== withoutHash(location.href)) {
    entry++;
    history.pushState({ candour: entry }, "", address);
  } else if (opts.history !== "none") {
    history.replaceState(history.state, "", address);
  }
  shown = withoutHash(location.href);

  try {
    hooks.onPage();
  } finally {
    placeFocus(opts, leaving);
  }
}

// placeFocus moves focus and scroll as on a newly loaded page: to a
// notice given by the caller, an error or confirmation the server put on
// the page, else its heading; to the fragment of the address, if any.
function placeFocus(opts, leaving) {
  const main = document.querySelector("main");
  let focus = null;
  if (opts.notice) {
    const box = document.createElement("div");
    box.className = opts.warning ? "notice notice-error" : "notice notice-success";
    box.setAttribute("role", opts.warning ? "alert" : "status");
    const p = document.createElement("p");
    p.textContent = opts.notice;
    box.append(p);
    const h1 = main.querySelector("h1");
    if (h1) h1.after(box);
    else main.prepend(box);
    focus = box;
  } else if (opts.focus) {
    focus = document.getElementById(opts.focus);
  }
  // What a sighted reader would look at first: an error or a confirmation
  // the server put on the page, else its heading.
  focus = focus || main.querySelector(".notice-error, [role=alert], .notice[role=status]") || main.querySelector("h1") || main;
  if (!focus.hasAttribute("tabindex") && !focus.matches("a[href], button, input, select, textarea")) focus.setAttribute("tabindex", "-1");
  focus.focus({ preventScroll: true });

  const hash = new URL(location.href).hash;
  const anchor = hash && document.getElementById(decodeURIComponent(hash.slice(1)));
  if (anchor) anchor.scrollIntoView();
  else if (opts.history === "none") window.scrollTo(0, opts.scroll || 0);
  else if (opts.keepScroll && !opts.notice) window.scrollTo(0, scrolls.get(leaving || 0) || 0);
  else window.scrollTo(0, 0);
}

// fallBack does what the browser would have done when the fetch failed:
// loads the page again for a GET. A form sent by POST is never sent again:
// the server may have acted on it before the answer was lost (a dropped
// connection), and a browser never repeats a POST on its own either. The
// page is shown afresh instead, with a warning to check it before sending
// again.
function fallBack(req) {
  if (req.method === "GET") {
    location.assign(req.url.href);
    return;
  }
  const url = new URL(location.href);
  const notice =
    "The answer to what you sent did not arrive (the connection failed): it may or may not have been done. " +
    "Check this page, which is shown as it is now, before sending it again.";
  go({ method: "GET", url, body: null }, { history: "replace", notice, warning: true });
}

// save hands a POST's non-HTML answer (an export, say) to the browser as
// the download it is, keeping the page.
async function save(res) {
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement("a");
  a.href = url;
  a.download = filenameOf(res.headers.get("Content-Disposition")) || "download";
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
