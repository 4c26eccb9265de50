// Shared set-up for the browser tests: a candour server on 127.0.0.1 with a
// fresh data folder and key, Debian's Chromium, staff enrolment and login
// with TOTP codes computed here, and optional screenshots for the docs.
// Nothing here talks to anything but 127.0.0.1.

import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { createHmac } from "node:crypto";
import { mkdirSync, mkdtempSync, writeFileSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { crc32, deflateSync } from "node:zlib";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { generateHybridIdentity, generateX25519Identity, identityToRecipient } from "age-encryption";

export const bin = process.env.CANDOUR_BIN || join(process.cwd(), ".bin", "candour");

// patience is how long any one wait may take (the server to start, a page
// to load, a selector to appear): CI shares two cores between several jobs
// at a load of 7 or more, where playwright's default of 30 s is not enough.
// Only what never happens waits this long; no test asserts on durations.
export const patience = 120_000;

// testTimeout bounds a whole test of many such steps.
export const testTimeout = 600_000;

// A real 2×2 PNG, red pixels.
export const png = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAEklEQVR4nGP4z8AARAwMDAwMAB/qA/3dTx7GAAAAAElFTkSuQmCC",
  "base64",
);

// makePNG encodes a width×height RGB picture, colour(x, y) giving each
// pixel as [r, g, b].
export function makePNG(width, height, colour) {
  const raw = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) raw.set(colour(x, y), y * (width * 3 + 1) + 1 + x * 3);
  }
  const chunk = (type, data) => {
    const body = Buffer.concat([Buffer.from(type, "latin1"), data]);
    const out = Buffer.alloc(8 + body.length);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc32(body), 4 + body.length);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bits per channel
  ihdr[9] = 2; // RGB
  return Buffer.concat([Buffer.from("\x89PNG\r\n\x1a\n", "latin1"), chunk("IHDR", ihdr), chunk("IDAT", deflateSync(raw)), chunk("IEND", Buffer.alloc(0))]);
}

// chatPNG looks like a screenshot of a chat: three message bubbles.
export const chatPNG = makePNG(360, 210, (x, y) => {
  const inside = ([x0, y0, x1, y1]) => x >= x0 && x < x1 && y >= y0 && y < y1;
  if (inside([16, 16, 250, 60]) || inside([16, 146, 220, 190])) return [255, 255, 255];
  if (inside([110, 80, 344, 124])) return [220, 248, 198];
  return [229, 221, 213];
});

function freePort() {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// totp computes an RFC 6238 code (SHA-1, 6 digits, 30 s) for step.
export function totp(secret, step) {
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

// startServer makes a post-quantum key, an administrator "casey" with a
// one-time enrolment link, and starts `candour serve` with a cheap KDF and
// any extra flags. Call the returned stop() when done (it also removes the
// folder). A first argument { host: "localhost" } makes base (and the
// --public-url) http://localhost:PORT, as WebAuthn needs (an IP address is
// not a valid RP ID); the server still listens on 127.0.0.1 only.
export async function startServer(...extra) {
  const { host = "127.0.0.1" } = typeof extra[0] === "object" ? extra.shift() : {};
  const dir = mkdtempSync(join(tmpdir(), "candour-browser-"));
  const key = join(dir, "key.txt");
  execFileSync(bin, ["keygen", "-o", key], { stdio: "pipe" });
  const pub = readFileSync(key, "utf8").match(/# public key: (age1pq1\S+)/)[1];
  writeFileSync(join(dir, "recipients.txt"), pub + "\n");
  const port = await freePort();
  const base = `http://${host}:${port}`;
  const admin = execFileSync(bin, ["admin", "create", "--data", join(dir, "data"), "--username", "casey", "--url", base]).toString();
  const enrolLink = admin.match(/http\S+\/staff\/enrol\/\S+/)[0];

  const server = spawn(bin, ["serve", "--addr", `127.0.0.1:${port}`, "--data", join(dir, "data"),
    "--recipients", join(dir, "recipients.txt"), "--public-url", base, "--kdf-memory-mib", "8", "--kdf-time", "1", "--login-floor", "10ms", ...extra], { stdio: "pipe" });
  let log = "";
  server.stderr.on("data", (d) => (log += d));
  const exited = new Promise((resolve) => server.once("exit", resolve));
  const stop = async () => {
    if (server.exitCode === null && server.signalCode === null) {
      server.kill();
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + patience;
  for (;;) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/`)).ok) break;
    } catch {}
    if (Date.now() > deadline) {
      await stop();
      assert.fail(`waited ${patience / 1000} s for the server to answer 200 on ${base}/; it did not. Its log:\n` + log);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { base, key, enrolLink, stop, log: () => log };
}

// launchBrowser starts Chromium. Every context it makes waits up to
// patience for navigations, selectors and actions, not playwright's 30 s.
export async function launchBrowser() {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    timeout: patience,
    args: ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
  const newContext = browser.newContext.bind(browser);
  browser.newContext = async (...args) => {
    const ctx = await newContext(...args);
    ctx.setDefaultTimeout(patience);
    ctx.setDefaultNavigationTimeout(patience);
    return ctx;
  };
  return browser;
}

export const password = "plum kettle orbit lantern";

// enrol completes the enrolment form on page (already at the enrolment
// link) and returns the TOTP secret and the step its code was spent in.
export async function enrol(page) {
  const secret = (await page.textContent("#totp-secret")).trim();
  const step = Math.floor(Date.now() / 1000 / 30);
  await page.fill("#password", password);
  await page.fill("#password2", password);
  await page.fill("#totp", totp(secret, step));
  const [res] = await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
  return { secret, step, res };
}

// login logs "casey" in with the code of the given step, or of the
// current one if that is later (each step's code is accepted once; the
// next step is within the allowed skew, but on a slow machine the clock
// may have moved on further since the step was spent).
export async function login(page, base, secret, step) {
  await page.goto(base + "/staff/login");
  await page.fill("#username", "casey");
  await page.fill("#password", password);
  await page.fill("#totp", totp(secret, Math.max(step, Math.floor(Date.now() / 1000 / 30))));
  await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
  assert.equal(new URL(page.url()).pathname, "/staff/", "staff login failed");
}

// screenshot saves a PNG named name into $CANDOUR_SCREENSHOTS (e.g.
// docs/screenshots, for the README) when that is set, and does nothing
// otherwise. The whole page is taken, down to maxHeight CSS pixels if given
// (to keep the files small).
export async function screenshot(page, name, { maxHeight } = {}) {
  const dir = process.env.CANDOUR_SCREENSHOTS;
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  const opts = { path: join(dir, name), fullPage: true, scale: "css" };
  if (maxHeight) {
    const height = await page.evaluate(() => document.documentElement.scrollHeight);
    opts.clip = { x: 0, y: 0, width: page.viewportSize().width, height: Math.min(height, maxHeight) };
  }
  await page.screenshot(opts);
}

// Staff accounts in a browser: shared by the channel and identity tests.

// staffPage opens a page in its own context (its own session cookie),
// collecting script errors.
export async function staffPage(browser, errors) {
  const page = await (await browser.newContext()).newPage();
  page.on("pageerror", (e) => errors.push(e.message));
  return page;
}

// loginAs is helpers.login for a username other than "casey".
export async function loginAs(page, base, username, secret, step) {
  await page.goto(base + "/staff/login");
  await page.fill("#username", username);
  await page.fill("#password", password);
  await page.fill("#totp", totp(secret, Math.max(step, Math.floor(Date.now() / 1000 / 30))));
  await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
  assert.equal(new URL(page.url()).pathname, "/staff/", `${username} could not log in`);
}

export async function invite(admin, base, username) {
  await admin.goto(base + "/staff/admin/staff");
  await admin.fill("#username", username);
  await admin.selectOption("#role", "caseworker");
  await Promise.all([admin.waitForNavigation(), admin.click("form[action='/staff/admin/invite'] button[type=submit]")]);
  return (await admin.textContent("#enrolment-link")).trim();
}

// makeKeyFile writes an identity file as age-keygen would, and returns its
// path and public key.
export async function makeKeyFile(dir, username, kind) {
  const identity = kind === "pq" ? await generateHybridIdentity() : await generateX25519Identity();
  const recipient = await identityToRecipient(identity);
  const file = join(dir, `${username}.txt`);
  writeFileSync(file, `# public key: ${recipient}\n${identity}\n`);
  return { file, recipient, identity };
}

export async function registerKey(page, base, recipient) {
  await page.goto(base + "/staff/key");
  await page.fill("[name=recipient]", recipient);
  await Promise.all([page.waitForNavigation(), page.click("form:has([name=recipient]) button[type=submit]")]);
  const shown = await page.textContent("main");
  assert.ok(shown.includes(recipient), `the key page does not show the registered key ${recipient}`);
}

// axe-core, run on a page for the WCAG 2.2 A and AA rules: shared by every
// accessibility check of the browser tests.
const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
export const wcagTags = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"];

// axeViolations runs axe-core on the page as it is and returns its
// violations; it fails if axe checked nothing.
export async function axeViolations(page) {
  if (!(await page.evaluate(() => typeof window.axe === "object"))) await page.evaluate(axeSource);
  const res = await page.evaluate(
    (values) => window.axe.run(document, { runOnly: { type: "tag", values }, resultTypes: ["violations"] }),
    wcagTags,
  );
  assert.ok(res.passes.length > 0, "axe-core checked nothing");
  return res.violations;
}

// describeViolation is one axe violation in a line.
export function describeViolation(v) {
  return `${v.id} (${v.impact}) ${v.help} [${v.nodes.map((n) => n.target.join(" ")).join(", ")}]`;
}

// widths are the desktop and phone windows the console's pages are checked at.
export const widths = { desktop: { width: 1280, height: 800 }, phone: { width: 375, height: 812 } };

// auditWidths runs axe-core on the page at each of widths and checks that
// it does not scroll sideways; it returns what it found, a line each, and
// leaves the page at the desktop width.
export async function auditWidths(page, name) {
  const found = [];
  for (const [vp, size] of Object.entries(widths)) {
    await page.setViewportSize(size);
    for (const v of await axeViolations(page)) found.push(`${vp} ${name}: ${describeViolation(v)}`);
    const [content, view] = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
    if (content > view) found.push(`${vp} ${name}: the page scrolls sideways (${content} px wide in a ${view} px window)`);
  }
  await page.setViewportSize(widths.desktop);
  return found;
}

// sendReports sends each text as a report through the form with
// JavaScript off, as a reporter in Tor Browser's safest mode would.
export async function sendReports(browser, base, texts) {
  const reporter = await browser.newContext({ javaScriptEnabled: false });
  const rp = await reporter.newPage();
  for (const text of texts) {
    await rp.goto(base + "/report");
    await rp.fill("textarea[name=body]", text);
    await rp.click("main button[type=submit]");
    await rp.waitForSelector("#case-code");
  }
  await reporter.close();
}

// firstAdmin enrols the first administrator from the enrolment link in a
// desktop-sized page of its own and logs them in; errors collects the
// page's script errors.
export async function firstAdmin(browser, base, enrolLink) {
  const ctx = await browser.newContext({ viewport: widths.desktop });
  const page = await ctx.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(enrolLink);
  const { secret, step } = await enrol(page);
  await login(page, base, secret, step + 1);
  return { page, errors, secret, step };
}
