// End-to-end in a real browser (Debian's Chromium driven by playwright-core):
// a reporter with JavaScript disabled submits a report with an image; a
// caseworker enrols, logs in with a TOTP computed here, loads their identity
// file, reads the report decrypted in the browser, views the image and
// replies; the reporter reads the reply with their case code.
//
// Run by `make test` (which builds ./.bin/candour and the bundle first).
// Talks only to 127.0.0.1.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { createHmac } from "node:crypto";
import { mkdtempSync, writeFileSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const bin = process.env.CANDOUR_BIN || join(process.cwd(), ".bin", "candour");

function freePort() {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// totp computes an RFC 6238 code (SHA-1, 6 digits, 30 s) for step.
function totp(secret, step) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const c of secret.replace(/=+$/, "")) bits += alphabet.indexOf(c).toString(2).padStart(5, "0");
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const h = createHmac("sha1", key).update(counter).digest();
  const off = h[h.length - 1] & 0xf;
  return String((h.readUInt32BE(off) & 0x7fffffff) % 1_000_000).padStart(6, "0");
}

// A real 2×2 PNG, red pixels.
const png = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAEklEQVR4nGP4z8AARAwMDAwMAB/qA/3dTx7GAAAAAElFTkSuQmCC",
  "base64",
);

test("reporter, caseworker and reporter again, in a real browser", { timeout: 180_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "candour-browser-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const key = join(dir, "key.txt");
  execFileSync(bin, ["keygen", "-o", key], { stdio: "pipe" });
  const pub = readFileSync(key, "utf8").match(/# public key: (age1pq1\S+)/)[1];
  writeFileSync(join(dir, "recipients.txt"), pub + "\n");
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const admin = execFileSync(bin, ["admin", "create", "--data", join(dir, "data"), "--username", "casey", "--url", base]).toString();
  const enrolLink = admin.match(/http\S+\/staff\/enrol\/\S+/)[0];

  const server = spawn(bin, ["serve", "--addr", `127.0.0.1:${port}`, "--data", join(dir, "data"),
    "--recipients", join(dir, "recipients.txt"), "--kdf-memory-mib", "8", "--kdf-time", "1", "--login-floor", "10ms"], { stdio: "pipe" });
  let log = "";
  server.stderr.on("data", (d) => (log += d));
  t.after(() => server.kill());
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(base + "/")).ok) break;
    } catch {}
    if (i > 200) assert.fail("server did not start: " + log);
    await new Promise((r) => setTimeout(r, 50));
  }

  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
  t.after(() => browser.close());

  // 1. The reporter, JavaScript off (Tor Browser "Safest").
  const reporter = await browser.newContext({ javaScriptEnabled: false });
  let page = await reporter.newPage();
  await page.goto(base + "/report");
  const reportText = "PC Grey shared a racist meme in the team chat on Monday.";
  await page.fill("textarea[name=body]", reportText);
  await page.setInputFiles("input[name=attachments]", { name: "screenshot.png", mimeType: "image/png", buffer: png });
  await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
  const code = (await page.textContent("#case-code")).trim();
  assert.match(code, /^[0-9A-Z]{4}(-[0-9A-Z]{4}){4}$/);
  await reporter.close();

  // 2. The caseworker enrols and logs in.
  const staff = await browser.newContext();
  page = await staff.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(enrolLink);
  const secret = (await page.textContent("#totp-secret")).trim();
  const qr = await page.$eval("img[alt^='QR code']", (img) => img.naturalWidth);
  assert.ok(qr > 0, "the enrolment QR code does not display");
  const step = Math.floor(Date.now() / 1000 / 30);
  await page.fill("#password", "plum kettle orbit lantern");
  await page.fill("#password2", "plum kettle orbit lantern");
  await page.fill("#totp", totp(secret, step));
  await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
  assert.ok(await page.isVisible("#recovery-codes"), "no recovery codes after enrolment");
  await page.goto(base + "/staff/login");
  await page.fill("#username", "casey");
  await page.fill("#password", "plum kettle orbit lantern");
  await page.fill("#totp", totp(secret, step + 1)); // the enrolment step is spent; the next one is within the allowed skew
  await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
  assert.equal(new URL(page.url()).pathname, "/staff/");

  // 3. The case page as served holds no plaintext; decrypted in the browser it does.
  await page.click("table.inbox a");
  const caseURL = page.url();
  const served = await (await staff.request.get(caseURL)).text();
  assert.ok(!served.includes("PC Grey"), "the staff page as served contains report plaintext");
  await page.setInputFiles("#identity-file", key);
  await page.waitForSelector(`.decrypted .pre-wrap:text("${reportText}")`);
  await page.click("button:text('Decrypt screenshot.png')");
  await page.waitForSelector("img.preview");
  assert.match(await page.textContent(".integrity"), /SHA-256 verified/);
  const width = await page.$eval("img.preview", (img) => img.naturalWidth);
  assert.equal(width, 2, "the decrypted image does not display");

  if (process.env.CANDOUR_SCREENSHOTS) {
    await page.screenshot({ path: join(process.env.CANDOUR_SCREENSHOTS, "staff-case.png"), fullPage: true });
  }

  // 4. Reply, encrypted in the browser.
  const reply = "Thank you. Which chat group was it, and who else saw it?";
  await page.fill("#reply-text", reply);
  await Promise.all([page.waitForNavigation(), page.click("#reply-form button[type=submit]")]);
  await page.setInputFiles("#identity-file", key);
  await page.waitForSelector(`.decrypted .pre-wrap:text("${reply}")`);
  assert.deepEqual(errors, [], "the console page raised script errors");
  await staff.close();

  // 5. The reporter comes back with the code and reads the reply.
  const back = await browser.newContext({ javaScriptEnabled: false });
  page = await back.newPage();
  await page.goto(base + "/followup");
  await page.fill("input[name=code]", code.toLowerCase().replaceAll("-", " "));
  await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
  const thread = await page.textContent("main");
  assert.ok(thread.includes(reportText), "the reporter's own report is missing");
  assert.ok(thread.includes(reply), "the reporter cannot read the caseworker's reply");
  await back.close();
});
