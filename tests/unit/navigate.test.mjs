// The navigation layer's decisions (frontend/js/navigate.js), without a
// browser: which addresses are shown in place, which end the session, and
// how a form becomes a request. The browser half is tested by
// tests/browser/console_key.test.mjs.
import { test } from "node:test";
import assert from "node:assert/strict";
import { endsSession, filenameOf, inConsole, requestFor, withoutHash } from "../../frontend/js/navigate.js";

const origin = "http://127.0.0.1:8080";
const u = (path) => new URL(path, origin);

test("console pages are shown in place; the login page, logouts and other sites are not", () => {
  for (const path of ["/staff/", "/staff/case/ABCD-1234", "/staff/admin/channels/2", "/staff/?status=new&page=2", "/staff/key#x"]) {
    assert.equal(inConsole(u(path), origin), true, path);
  }
  for (const path of ["/", "/report", "/case", "/staff", "/staffing", "/static/x/staff.js", "/staff/login", "/staff/logout", "/staff/logout-everywhere"]) {
    assert.equal(inConsole(u(path), origin), false, path);
  }
  assert.equal(inConsole(new URL("http://elsewhere.example/staff/"), origin), false, "another origin");
  assert.equal(inConsole(new URL("https://127.0.0.1:8080/staff/"), origin), false, "another scheme");
});

test("logging out, and the login page, end the session", () => {
  for (const path of ["/staff/login", "/staff/logout", "/staff/logout-everywhere", "/staff/login?next=x"]) assert.equal(endsSession(u(path), origin), true, path);
  for (const path of ["/staff/", "/staff/key", "/case/logout"]) assert.equal(endsSession(u(path), origin), false, path);
  assert.equal(endsSession(new URL("http://elsewhere.example/staff/logout"), origin), false);
});

test("addresses that differ only in the fragment are the same page", () => {
  assert.equal(withoutHash(u("/staff/case/A#note-3")), withoutHash(u("/staff/case/A")));
  assert.notEqual(withoutHash(u("/staff/case/A?x=1#n")), withoutHash(u("/staff/case/A")));
});

test("a GET form replaces the action's query with its fields, files by name", () => {
  const data = new FormData();
  data.append("status", "new");
  data.append("assigned", "me");
  data.append("q", "a b&c");
  data.append("f", new File(["x"], "evidence.png"));
  const req = requestFor(origin + "/staff/?page=3&status=closed#top", "GET", "", data);
  assert.equal(req.method, "GET");
  assert.equal(req.body, null);
  assert.equal(req.url.pathname, "/staff/");
  assert.equal(req.url.search, "?status=new&assigned=me&q=a+b%26c&f=evidence.png");
  assert.equal(req.url.hash, "#top");
});

test("a POST form is sent urlencoded, or as its FormData when multipart", () => {
  const data = new FormData();
  data.append("csrf", "tok");
  data.append("status", "in_review");
  const plain = requestFor(origin + "/staff/case/A/status", "post", "", data);
  assert.equal(plain.method, "POST");
  assert.ok(plain.body instanceof URLSearchParams);
  assert.equal(plain.body.toString(), "csrf=tok&status=in_review");
  const multi = requestFor(origin + "/staff/case/A/close", "POST", "multipart/form-data", data);
  assert.equal(multi.body, data, "a multipart form is not sent as its FormData (files and order kept)");
});

test("what the console does not use is left to the browser", () => {
  const data = new FormData();
  assert.equal(requestFor(origin + "/staff/", "dialog", "", data), null);
  assert.equal(requestFor(origin + "/staff/", "post", "text/plain", data), null);
});

test("a download's file name comes from Content-Disposition", () => {
  assert.equal(filenameOf('attachment; filename="cases-2026.zip"'), "cases-2026.zip");
  assert.equal(filenameOf("attachment; filename=plain.zip"), "plain.zip");
  assert.equal(filenameOf(`attachment; filename="a \\"quoted\\" name.zip"`), 'a "quoted" name.zip');
  assert.equal(filenameOf("attachment; filename=\"fallback.zip\"; filename*=UTF-8''r%C3%A9sum%C3%A9.zip"), "résumé.zip");
  assert.equal(filenameOf("attachment; filename*=UTF-8''%E0%A4%A.zip; filename=ok.zip"), "ok.zip", "a malformed escape falls back");
  assert.equal(filenameOf("attachment"), "");
  assert.equal(filenameOf(null), "");
});
