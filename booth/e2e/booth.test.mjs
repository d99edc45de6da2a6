// End-to-end test of the web booth in a real browser (Debian's Chromium, headless, driven
// by playwright-core), against `zkvote demo --web` on loopback:
//
//   the booth's security headers, and its footer's hash equal to `zkvote booth hash`; a
//   mistyped code is refused and changes nothing; a voter registers with a code in the
//   browser and downloads the credential and the checked registration (the CLI's formats);
//   a corrupt credential file is
//   refused; voting before the election opens is refused; the roll is frozen and voting
//   opens; a reload in the middle of a proof loses nothing; the voter builds a ballot,
//   audits it (Benaloh), builds a fresh one, casts it and checks the receipt (cosigned by
//   the demo's two witnesses), having
//   fetched only its bucket of the roll; a second ballot, made with the keyboard only and
//   over the whole roll, is refused (one ballot per voter); the demo's
//   other voters vote with the CLI; the commission closes, the trustees decrypt, the record
//   verifies; the results page shows the published counts, which include the browser's
//   ballot; the in-browser verifier passes on the real record and names check 8 on a
//   tampered one. The browser's network log shows that neither the credential's secret nor
//   the audited ballot's nonces ever left the page, and that no request went anywhere but
//   the board. A static bundle on another origin shows the results from the board; once
//   the board is gone, the kept receipt is still shown and checking it says why it cannot.
//   Screenshots of every page (English, Korean, phone width) go to the artifacts folder.
//
//   node booth.test.mjs ZKVOTE_BINARY ARTIFACTS_DIR
import { chromium } from "playwright-core";
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { createServer } from "node:net";
import { join } from "node:path";
import assert from "node:assert/strict";

const [zkvote, artifacts] = process.argv.slice(2);
if (!zkvote || !artifacts) {
  console.error("usage: node booth.test.mjs ZKVOTE_BINARY ARTIFACTS_DIR");
  process.exit(2);
}
mkdirSync(artifacts, { recursive: true });
const step = (text) => console.log(`== ${text}`);

// ------------------------------------------------------------------ the demo

const demo = spawn(zkvote, ["demo", "--web", "--voters", "3", "--roll-depth", "2", "--quiet",
  "--record-out", join(artifacts, "record.jsonl")], { stdio: ["pipe", "pipe", "inherit"] });
let output = "";
const waiters = [];
demo.stdout.on("data", (chunk) => {
  output += chunk;
  process.stdout.write(chunk);
  for (const w of waiters.splice(0)) w();
});
const exited = new Promise((resolve) => demo.on("exit", (code) => resolve(code)));

/** Waits until the demo's output matches `re`; returns the match. */
async function expectOutput(re, seconds = 600) {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const m = output.match(re);
    if (m) return m;
    if (Date.now() > deadline || demo.exitCode !== null) {
      throw new Error(`the demo did not print ${re} (exit ${demo.exitCode})`);
    }
    await new Promise((r) => { waiters.push(r); setTimeout(r, 1000); });
  }
}

const go = () => demo.stdin.write("\n");

// ------------------------------------------------------------------ the browser

const profile = join(tmpdir(), `zkvote-e2e-${process.pid}`);
const browser = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  acceptDownloads: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run"],
  viewport: { width: 1000, height: 900 },
  locale: "en-US",
});
const sent = []; // every request the booth made: url, method, body
browser.on("request", (r) => sent.push({ url: r.url(), method: r.method(), body: r.postData() || "" }));
const page = browser.pages()[0] || await browser.newPage();
const consoleErrors = [];
page.on("console", (m) => { if (m.type() === "error") consoleErrors.push(m.text()); });
page.on("pageerror", (e) => consoleErrors.push(String(e)));

async function shot(name) {
  await page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
}

/** A free loopback port. */
function freePort() {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.listen(0, "127.0.0.1", () => { const { port } = srv.address(); srv.close(() => resolve(port)); });
  });
}

/** Presses Tab until the focused element matches `selector` (keyboard-only operation). */
async function tabTo(selector) {
  for (let i = 0; i < 60; i++) {
    await page.keyboard.press("Tab");
    if (await page.evaluate((s) => document.activeElement && document.activeElement.matches(s), selector)) return;
  }
  throw new Error(`Tab never reaches ${selector}`);
}

/** Every form control on the page has a label. */
async function assertLabelled(where) {
  const unlabelled = await page.$$eval("input, select, textarea", (els) =>
    els.filter((e) => !e.labels || e.labels.length === 0).map((e) => e.outerHTML));
  assert.deepEqual(unlabelled, [], `${where}: controls without a label`);
}

async function saveDownload(linkText, name) {
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByText(linkText).click()]);
  const path = join(artifacts, name);
  await download.saveAs(path);
  return readFileSync(path, "utf8");
}

try {
  const booth = (await expectOutput(/web booth: (\S+)/))[1];
  const codes = (await expectOutput(/unused registration codes for the booth: (.+)\n/))[1].trim().split(/\s+/);
  const eid = booth.split("#/")[1];
  const origin = new URL(booth).origin;
  assert.equal(codes.length, 5);

  step("election page (English, then Korean, then at phone width); the page's headers and hash");
  const response = await page.goto(booth);
  const headers = response.headers();
  assert.match(headers["content-security-policy"], /script-src 'self' 'wasm-unsafe-eval';/);
  assert.match(headers["content-security-policy"], /frame-ancestors 'none'/);
  assert.doesNotMatch(headers["content-security-policy"], /unsafe-inline/);
  assert.equal(headers["cross-origin-opener-policy"], "same-origin");
  assert.equal(headers["cross-origin-embedder-policy"], "require-corp");
  assert.equal(headers["x-content-type-options"], "nosniff");
  await page.waitForSelector("#phase");
  assert.equal(await page.getAttribute("#phase", "data-phase"), "setup");
  await page.waitForSelector("#bundle-hash");
  const hash = execFileSync(zkvote, ["booth", "hash"], { encoding: "utf8" }).trim();
  assert.match(hash, /^[0-9a-f]{64}$/);
  assert.ok((await page.textContent("#bundle-hash")).includes(hash), "the footer shows `zkvote booth hash`");
  await shot("1-election");
  await page.click("#lang-switch");
  await page.waitForFunction(() => document.documentElement.lang === "ko");
  await page.waitForSelector("#phase");
  assert.match(await page.textContent("#phase"), /유권자 등록/);
  await shot("1-election-ko");
  await page.click("#lang-switch");
  await page.setViewportSize({ width: 390, height: 844 });
  await page.waitForSelector("#phase");
  await shot("1-election-phone");
  await page.setViewportSize({ width: 1000, height: 900 });

  step("register: a mistyped code is refused, then a real one registers");
  await page.goto(`${booth}/register`);
  await assertLabelled("register");
  await page.fill("#code", "not-a-code");
  await page.click("button[type=submit]");
  await page.waitForSelector(".error");
  assert.match(await page.textContent(".error"), /unknown or already used/);
  await shot("2-register-refused");
  await page.fill("#code", codes[0]);
  await page.click("button[type=submit]");
  await page.waitForSelector("text=You are registered");
  await shot("2-registered");
  const credentialText = await saveDownload("Download my credential file", "credential.json");
  const credential = JSON.parse(credentialText);
  assert.equal(credential.format, "zkvote-credential");
  assert.match(credential.secret, /^[0-9a-f]{64}$/);
  const registration = JSON.parse(await saveDownload("Download my registration file", "registration.json"));
  assert.equal(registration.election_id, eid);
  assert.ok(Number.isInteger(registration.roll_position) && registration.roll_position < 4);
  assert.equal(registration.receipt.index, Number((await page.textContent("text=You are registered")).match(/entry (\d+)/)[1]));

  step("a corrupt credential file is refused and changes nothing");
  const corruptPath = join(artifacts, "credential-corrupt.json");
  writeFileSync(corruptPath, credentialText.replace(credential.secret, credential.secret.replace(/^./, (c) => (c === "0" ? "1" : "0"))));
  await page.setInputFiles("#credential-file", corruptPath);
  await page.waitForSelector(".error");
  assert.match(await page.textContent(".error"), /not a valid credential file/);
  await shot("2-credential-corrupt");

  step("voting before the election opens is refused in the voter's language");
  await page.goto(`${booth}/vote`);
  await page.waitForSelector(".error");
  assert.match(await page.textContent(".error"), /not open for voting/);
  await shot("2-vote-not-open");

  step("the commission freezes the roll; voting opens");
  go();
  await expectOutput(/voting is open/);

  step("vote: build, audit, build afresh, cast");
  await page.goto(booth); // the same address again would not run the page's router
  await page.goto(`${booth}/vote`);
  await page.waitForSelector("#build");
  await assertLabelled("vote");
  // Too few choices are refused in the page, before anything is built.
  await page.click("#build");
  await page.waitForSelector("#choice-problems .error");
  await shot("3-vote-form-refused");
  const fieldsets = await page.$$("fieldset");
  for (const f of fieldsets) {
    await (await f.$("input")).check();
  }
  // A reload while the ballot is being proved loses nothing that was saved.
  await page.click("#build");
  await page.waitForSelector("progress");
  await page.reload();
  await page.waitForSelector("#build");
  for (const f of await page.$$("fieldset")) await (await f.$("input")).check();
  await page.click("#build");
  await page.waitForSelector("#tracker", { timeout: 300000 });
  const auditedTracker = await page.textContent("#tracker");
  await shot("3-vote-built");
  await page.click("#audit");
  await page.waitForSelector("#audit-found");
  await page.click("details summary");
  const nonces = (await page.textContent("#audit-nonces")).split(/\s+/).filter(Boolean);
  assert.ok(nonces.length >= 2 && nonces.every((n) => /^[0-9a-f]{64}$/.test(n)));
  await shot("4-audited");
  await page.click("#again");
  await page.waitForSelector("#tracker", { timeout: 300000 });
  const castTracker = await page.textContent("#tracker");
  assert.notEqual(castTracker, auditedTracker);
  await page.click("#cast");

  step("receipt: shown, downloaded, checked");
  await page.waitForSelector("#receipt-tracker", { timeout: 60000 });
  assert.equal(await page.textContent("#receipt-tracker"), castTracker);
  await page.click("#check");
  await page.waitForSelector("#receipt-ok");
  // The demo's two witnesses cosigned the latest checkpoint.
  assert.match(await page.textContent("#receipt-witnesses"), /witness-1\.demo\.zkvote, witness-2\.demo\.zkvote/);
  await shot("5-receipt-checked");
  const receipt = JSON.parse(await saveDownload("Download my receipt", "receipt.json"));
  assert.equal(receipt.tracker, castTracker);
  assert.equal(receipt.election_id, eid);

  // Only the voter's bucket of the roll was fetched (at depth 2 the bucket is 2^2 leaves).
  const rollGets = () => sent.filter((r) => r.method === "GET" && /\/roll(\/|$)/.test(new URL(r.url).pathname))
    .map((r) => { const u = new URL(r.url); return u.pathname.replace(/^.*\/roll/, "roll") + u.search; });
  assert.ok(rollGets().length >= 1, "the roll was fetched");
  assert.deepEqual([...new Set(rollGets())], ["roll/buckets/0?bits=2"]);

  step("a second ballot from the same voter, over the whole roll, is refused (the election's policy)");
  // This time with the keyboard only: Tab to the whole-roll choice and to each contest's
  // first option, Space, Enter.
  await page.goto(`${booth}/vote`);
  await page.waitForSelector("#build");
  await tabTo("#whole-roll");
  await page.keyboard.press("Space");
  await tabTo("#c0o0");
  await page.keyboard.press("Space");
  await tabTo("#c1o0");
  await page.keyboard.press("Space");
  await shot("6-keyboard-focus");
  await tabTo("#build");
  await page.keyboard.press("Enter");
  await page.waitForSelector("#cast", { timeout: 300000 });
  await tabTo("#cast");
  await page.keyboard.press("Enter");
  await page.waitForSelector(".error");
  assert.match(await page.textContent(".error"), /already in the log/);
  await shot("6-second-ballot-refused");
  assert.deepEqual([...new Set(rollGets())], ["roll/buckets/0?bits=2", "roll"]);

  step("close, tally and verify");
  go();
  await expectOutput(/press Enter \(or Ctrl-C\) to stop the board/);
  assert.match(output, /\[PASS\] 9\./);
  assert.doesNotMatch(output, /\[FAIL\]/);
  const lines = readFileSync(join(artifacts, "record.jsonl"), "utf8").trim().split("\n").map(JSON.parse);
  const result = lines.map((l) => l.entry || l).find((e) => e.kind === "result");
  assert.ok(result, "the record has a result");
  assert.equal(result.ballots_counted, 4, "three CLI voters and the browser's voter");

  step("results page");
  await page.goto(`${booth}/results`);
  await page.waitForSelector("#counted");
  assert.match(await page.textContent("#counted"), /^4 ballots counted/);
  const shown = await page.$$eval("table.chart", (tables) => tables.map((t) =>
    [...t.querySelectorAll("td.count")].map((td) => Number(td.textContent.replace(/\D+/g, "")))));
  assert.deepEqual(shown, result.counts);
  await shot("7-results");

  step("the in-browser verifier passes on the real record and fails on a tampered one");
  await page.goto(`${booth}/verify`);
  await page.click("#verify");
  await page.waitForSelector("#report", { timeout: 300000 });
  assert.equal(await page.getAttribute("#report", "data-ok"), "true");
  assert.equal((await page.$$("#report li[data-status=pass]")).length, 9);
  await shot("8-verified");
  const tamperedPath = join(artifacts, "record-tampered.jsonl");
  const recordText = readFileSync(join(artifacts, "record.jsonl"), "utf8");
  const tamperedText = recordText.replace(/("counts":\[\[)(\d+)/, (_, head, n) => `${head}${Number(n) + 1}`);
  assert.notEqual(tamperedText, recordText);
  writeFileSync(tamperedPath, tamperedText);
  await page.setInputFiles("#record-file", tamperedPath);
  await page.waitForSelector("#report[data-ok=false]", { timeout: 300000 });
  assert.ok(await page.$("#report li[value='8'][data-status=fail]"), "check 8 names the changed count");
  await shot("8-verify-tampered");

  step("network log: secrets never left the page; only the board was contacted");
  for (const r of sent) {
    assert.equal(new URL(r.url).origin, origin, `a request went to ${r.url}`);
    const haystack = `${r.url}\n${r.body}`;
    assert.ok(!haystack.includes(credential.secret), `the credential secret was sent to ${r.url}`);
    for (const n of nonces) assert.ok(!haystack.includes(n), `a ballot nonce was sent to ${r.url}`);
  }
  const posts = sent.filter((r) => r.method === "POST").map((r) => new URL(r.url).pathname.split("/").pop());
  assert.deepEqual(posts, ["registrations", "registrations", "ballots", "ballots"]);
  assert.deepEqual(consoleErrors.filter((e) => !/status of 4\d\d/.test(e)), []);

  step("a static bundle hosted on another origin talks to the board (CORS)");
  const staticDir = join(tmpdir(), `zkvote-static-${process.pid}`);
  execFileSync("scripts/build-booth.sh", ["--board", origin, staticDir], { stdio: "ignore" });
  const port = await freePort();
  const host = spawn("python3", ["-m", "http.server", "--bind", "127.0.0.1", String(port), "--directory", staticDir], { stdio: "ignore" });
  try {
    await new Promise((r) => setTimeout(r, 1000));
    // In a second tab, so that the first keeps the board's origin (and its storage).
    const other = await browser.newPage();
    await other.goto(`http://127.0.0.1:${port}/index.html#/${eid}/results`);
    await other.waitForSelector("#counted");
    assert.match(await other.textContent("#counted"), /^4 ballots counted/);
    await other.screenshot({ path: join(artifacts, "9-static-bundle-results.png"), fullPage: true });
    await other.close();
  } finally {
    host.kill();
    rmSync(staticDir, { recursive: true, force: true });
  }

  go();
  assert.equal(await exited, 0, "the demo exits cleanly");

  step("the board gone: the kept receipt is still there, and checking it says why it cannot");
  await page.evaluate((e) => { location.hash = `#/${e}/receipt`; }, eid);
  await page.waitForSelector("#receipt-tracker");
  assert.equal(await page.textContent("#receipt-tracker"), castTracker);
  await page.click("#check");
  await page.waitForSelector(".error");
  assert.match(await page.textContent(".error"), /cannot be reached/);
  await shot("8-board-unreachable");
  console.log(`booth end-to-end test passed (${sent.length} requests checked)`);
} catch (e) {
  if (consoleErrors.length) console.error("the browser's console errors:", consoleErrors);
  await shot("failure").catch(() => {});
  demo.kill("SIGKILL");
  throw e;
} finally {
  await browser.close();
  rmSync(profile, { recursive: true, force: true });
}
