// The staff console's safeName must clean attachment names exactly as the
// server's crypto.CleanAttachmentName does: both run the same table of
// cases, crypto/testdata/attachment-names.json (the Go side in
// crypto/attachment_names_test.go).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { safeName } from "../../frontend/js/safename.js";

const cases = JSON.parse(readFileSync(new URL("../../crypto/testdata/attachment-names.json", import.meta.url), "utf8"));

const show = (s) => JSON.stringify(s).replace(/[^\x20-\x7e]/g, (c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0"));

test("the shared table has cases", () => {
  assert.ok(cases.length >= 50, `only ${cases.length} cases`);
});

for (const { name, in: input, want } of cases) {
  test(name, () => {
    const got = safeName(input);
    assert.ok(got === want, `safeName(${show(input)}) = ${show(got)}, want ${show(want)}`);
    assert.equal(safeName(want), want, "cleaning a clean name changes it");
  });
}

test("a name that is not a string is cleaned as its text", () => {
  assert.equal(safeName(undefined), "undefined");
  assert.equal(safeName(12), "12");
});
