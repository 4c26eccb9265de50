// safeName cleans an attachment's name exactly as the server's
// crypto.CleanAttachmentName (crypto/message.go) does, so that a name shown
// or saved by the staff console is the name the server and `candour decrypt`
// use. The two are checked against one table of cases,
// crypto/testdata/attachment-names.json, by crypto's Go tests and by
// tests/unit/safename.test.mjs.
//
// Step by step, as the Go code: lone UTF-16 surrogates (JavaScript's form of
// invalid UTF-8) become U+FFFD; only what follows the last / or \ is kept;
// every control (Cc) or format (Cf) character, U+FFFD and each of <>:"|?*
// becomes "_"; trailing white space, then leading dots and white space, are
// trimmed; the name is cut to at most 200 bytes of UTF-8 on a character
// boundary, and a cut that ends at white space is trimmed again; an empty
// result is "attachment".

const loneSurrogate = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
const unsafe = /[\p{Cc}\p{Cf}\ufffd<>:"|?*]/gu;
const trailingSpace = /\p{White_Space}+$/u;
const leadingDotsAndSpace = /^[.\p{White_Space}]+/u;

export const maxNameBytes = 200;

export function safeName(name) {
  let s = String(name).replace(loneSurrogate, "\ufffd");
  s = s.slice(Math.max(s.lastIndexOf("/"), s.lastIndexOf("\\")) + 1);
  s = s.replace(unsafe, "_").replace(trailingSpace, "").replace(leadingDotsAndSpace, "");
  let bytes = 0;
  let cut = "";
  for (const ch of s) {
    const cp = ch.codePointAt(0);
    bytes += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    if (bytes > maxNameBytes) break;
    cut += ch;
  }
  if (cut.length < s.length) cut = cut.replace(trailingSpace, ""); // the cut may end at a space
  return cut || "attachment";
}
