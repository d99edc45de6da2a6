// The web booth's benchmarks in headless Chromium (Debian's), on loopback:
//
//   - load to ready: from navigation to the WebAssembly module compiled in the worker
//     (fresh profile, then reloads with the browser's cache);
//   - opening the election for voting: roll and proving key fetched (then from the Cache
//     API), hashed against the pin, decoded;
//   - a complete ballot (encryption, validity proofs, Groth16 eligibility proof) built in
//     the worker, RUNS times (audit, then a fresh ballot);
//   - a whole record verified in the worker (ballots/s), if a record file is given.
//
//   node bench.mjs ZKVOTE_BINARY ROLL_DEPTH RUNS [RECORD_FILE]
//
// With ONE_WORKER=1 the page is told the device has one core, so it proves ballots on one
// worker (its fallback) instead of two.
//
// Prints one JSON object with every figure (milliseconds) and the module's sizes.
import { chromium } from "playwright-core";
import { spawn } from "node:child_process";
import { readFileSync, readdirSync, rmSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { tmpdir } from "node:os";
import { join } from "node:path";

const [zkvote, depth = "20", runs = "5", record] = process.argv.slice(2);
const demo = spawn(zkvote, ["demo", "--web", "--voters", "2", "--roll-depth", depth, "--quiet"],
  { stdio: ["pipe", "pipe", "inherit"] });
let output = "";
demo.stdout.on("data", (c) => { output += c; });
async function expectOutput(re) {
  for (;;) {
    const m = output.match(re);
    if (m) return m;
    if (demo.exitCode !== null) throw new Error(`the demo stopped: ${output}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
const profile = join(tmpdir(), `zkvote-bench-${process.pid}`);
const browser = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run"],
});
const page = browser.pages()[0] || await browser.newPage();
// ONE_WORKER=1: the page sees one core, so it proves on one worker (the fallback).
if (process.env.ONE_WORKER) {
  await page.addInitScript(() => Object.defineProperty(navigator, "hardwareConcurrency", { get: () => 1 }));
}
const attr = async (sel, name) => Number(await page.getAttribute(sel, name));
const figures = { roll_depth: Number(depth), workers: process.env.ONE_WORKER ? 1 : 2, chromium: browser.browser() ? browser.browser().version() : "" };

try {
  const booth = (await expectOutput(/web booth: (\S+)/))[1];
  const code = (await expectOutput(/unused registration codes for the booth: (\S+)/))[1];
  const t0 = Date.now();
  await expectOutput(/register in the browser/);

  figures.load_to_ready_ms = [];
  for (let i = 0; i < 4; i++) {
    if (i === 0) await page.goto(booth); else await page.reload();
    await page.waitForSelector("html[data-ready-ms]", { timeout: 60000 });
    figures.load_to_ready_ms.push(await attr("html", "data-ready-ms"));
  }

  await page.goto(`${booth}/register`);
  await page.fill("#code", code);
  await page.click("button[type=submit]");
  await page.waitForSelector("text=You are registered");
  demo.stdin.write("\n");
  await expectOutput(/voting is open/);

  await page.goto(booth);
  await page.goto(`${booth}/vote`);
  await page.waitForSelector("#build");
  for (const f of await page.$$("fieldset")) await (await f.$("input")).check();
  figures.ballot_ms = [];
  await page.click("#build");
  for (let i = 0; i < Number(runs); i++) {
    await page.waitForSelector("#tracker", { timeout: 600000 });
    figures.ballot_ms.push(await attr("#tracker", "data-ms"));
    if (i === 0) figures.open_ms = await attr("html", "data-open-ms");
    await page.click("#audit");
    await page.waitForSelector("#again");
    await page.click("#again");
  }
  await page.waitForSelector("#tracker", { timeout: 600000 });
  // Opening again in a fresh page: the proving key now comes from the Cache API.
  await page.reload();
  await page.waitForSelector("#build");
  for (const f of await page.$$("fieldset")) await (await f.$("input")).check();
  await page.click("#build");
  await page.waitForSelector("#tracker", { timeout: 600000 });
  figures.open_cached_ms = await attr("html", "data-open-ms");

  if (record) {
    await page.goto(`${booth}/verify`);
    await page.setInputFiles("#record-file", record);
    await page.waitForSelector("#report", { timeout: 1800000 });
    const ballots = readFileSync(record, "utf8").split("\n").filter((l) => l.includes('"kind":"ballot"')).length;
    const seconds = await attr("#report", "data-seconds");
    figures.verify = { ballots, seconds, ok: await page.getAttribute("#report", "data-ok"),
      ballots_per_s: Math.round(ballots / seconds) };
  }

  const dist = "booth/dist";
  const wasm = readdirSync(dist).find((f) => f.endsWith(".wasm"));
  const all = readdirSync(dist).map((f) => readFileSync(join(dist, f)));
  figures.wasm_bytes = readFileSync(join(dist, wasm)).length;
  figures.wasm_gzip_bytes = gzipSync(readFileSync(join(dist, wasm)), { level: 9 }).length;
  figures.bundle_gzip_bytes = all.reduce((n, b) => n + gzipSync(b, { level: 9 }).length, 0);
  figures.wall_s = Math.round((Date.now() - t0) / 1000);
  console.log(JSON.stringify(figures, null, 2));
} finally {
  demo.kill("SIGKILL");
  await browser.close();
  rmSync(profile, { recursive: true, force: true });
}
