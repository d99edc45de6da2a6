// The booth's pages: one document, views chosen by the address's fragment
// (#/<election id>[/register|/vote|/receipt|/results]). The page talks to the board and
// keeps the voter's credential, registration and receipts in IndexedDB; every cryptographic step runs in
// the worker (worker.js, over the WebAssembly module). Nothing secret is ever sent: the
// only bodies posted are a registration (code and public commitment) and a ballot.
"use strict";

const meta = (name) => document.querySelector(`meta[name="${name}"]`).content;
const BOARD = (meta("zkvote-board") || location.origin).replace(/\/$/, "");

/** A failure shown to the voter: a catalogue key, its values, and a detail. */
class Failure extends Error {
  constructor(key, detail, vars) {
    super(detail || key);
    this.key = key;
    this.detail = detail || "";
    this.vars = vars || {};
  }
}

// ---------------------------------------------------------------- elements

/** An element with attributes (`on*` are listeners) and children (strings are text). */
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === false || v === null || v === undefined) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "text") el.textContent = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) el.append(c);
  return el;
}

function show(...nodes) {
  const main = document.getElementById("main");
  main.replaceChildren(...nodes.flat());
}

// Each address change starts a view; a view still loading when the address changes again
// must not draw over the newer one: it draws through the renderer it took when it started.
let routeToken = 0;

function renderer() {
  const token = routeToken;
  return (...nodes) => {
    if (token === routeToken) show(...nodes);
  };
}

function errorBox(e) {
  const f = e instanceof Failure ? e : new Failure("err.input", String(e && e.message ? e.message : e));
  return h("div", { class: "error", role: "alert" },
    h("p", { class: "error-title", text: t(f.key, f.vars) }),
    f.detail ? h("p", { class: "detail" }, `${t("err.detail")}: ${f.detail}`) : null);
}

function statusLine(key, vars) {
  return h("p", { class: "status", role: "status", "aria-live": "polite", text: t(key, vars) });
}

function download(name, text, label) {
  const url = URL.createObjectURL(new Blob([text], { type: "application/json" }));
  return h("a", { class: "button", href: url, download: name, text: label });
}

// ---------------------------------------------------------------- worker

/** A Web Worker running worker.js, with calls that resolve to its answers. */
function spawnWorker() {
  const w = new Worker(meta("zkvote-worker"));
  const waiting = new Map();
  let next = 1;
  w.onmessage = ({ data }) => {
    const p = waiting.get(data.id);
    if ("progress" in data) {
      if (p.onProgress) p.onProgress(data.progress);
      return;
    }
    waiting.delete(data.id);
    if (data.ok) p.resolve(data.value);
    else p.reject(new Failure(`err.${data.error.code}`, data.error.message));
  };
  w.onerror = () => {
    for (const p of waiting.values()) p.reject(new Failure("err.worker"));
    waiting.clear();
  };
  /** Runs `op` in this worker; `onProgress` hears its progress messages. */
  const run = (op, args, transfer, onProgress) => new Promise((resolve, reject) => {
    const id = next++;
    waiting.set(id, { resolve, reject, onProgress });
    w.postMessage({ id, op, args }, transfer || []);
  });
  const ready = run("init", { glue: meta("zkvote-glue"), wasm: meta("zkvote-wasm"), sha256: meta("zkvote-wasm-sha256") });
  return { run, ready };
}

// The main worker does every step; on a device with two or more cores a helper worker
// makes the G2 half of each eligibility proof at the same time (split_prover).
let worker = null;
let helper = null;

function startWorker() {
  worker = spawnWorker();
  if ((navigator.hardwareConcurrency || 1) >= 2) helper = spawnWorker();
  return worker.ready;
}

/** Runs `op` in the main worker. */
function call(op, args, transfer, onProgress) {
  return worker.run(op, args, transfer, onProgress);
}

// ---------------------------------------------------------------- board

/** A board request; JSON answers are parsed, `bytes` answers returned as ArrayBuffer,
 * `text` answers as text. */
async function board(path, { method = "GET", body, bytes = false, text = false } = {}) {
  let response;
  try {
    response = await fetch(`${BOARD}${path}`, {
      method,
      body,
      headers: body ? { "content-type": "application/json" } : {},
      credentials: "omit",
      cache: "no-store",
    });
  } catch (e) {
    throw new Failure("err.unreachable", String(e));
  }
  if (!response.ok) {
    let code = "other", message = `HTTP ${response.status}`;
    try {
      const err = (await response.json()).error;
      code = err.code;
      message = err.message;
    } catch (_) { /* not a zkvote error body */ }
    const key = CATALOGUE.en[`api.${code}`] ? `api.${code}` : "api.other";
    throw new Failure(key, message, { code });
  }
  if (bytes) return response.arrayBuffer();
  return text ? response.text() : response.json();
}

const electionPath = (eid) => `/v1/elections/${eid}`;

// ---------------------------------------------------------------- storage

let dbPromise = null;

function database() {
  dbPromise = dbPromise || new Promise((resolve, reject) => {
    if (!("indexedDB" in self)) return reject(new Failure("err.no-storage"));
    const req = indexedDB.open("zkvote-booth", 2);
    req.onupgradeneeded = () => {
      // Version 2 added the registrations (a booth of version 1 kept the other two).
      for (const name of ["credentials", "registrations", "receipts"]) {
        if (!req.result.objectStoreNames.contains(name)) req.result.createObjectStore(name);
      }
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(new Failure("err.no-storage", String(req.error)));
  });
  return dbPromise;
}

async function stored(store, key, value) {
  const db = await database();
  return new Promise((resolve, reject) => {
    const tx = db.transaction(store, value === undefined ? "readonly" : "readwrite");
    const req = value === undefined ? tx.objectStore(store).get(key) : tx.objectStore(store).put(value, key);
    tx.oncomplete = () => resolve(req.result);
    tx.onerror = () => reject(new Failure("err.no-storage", String(tx.error)));
  });
}

const loadCredential = (eid) => stored("credentials", eid);
const saveCredential = (eid, text) => stored("credentials", eid, text);
const loadRegistration = (eid) => stored("registrations", eid);
const saveRegistration = (eid, text) => stored("registrations", eid, text);
const loadReceipt = (eid) => stored("receipts", eid);
const saveReceipt = (eid, text) => stored("receipts", eid, text);

/** Forgets the election's credential and the registration saved with it. */
async function forgetCredential(eid) {
  const db = await database();
  await new Promise((resolve) => {
    const tx = db.transaction(["credentials", "registrations"], "readwrite");
    tx.objectStore("credentials").delete(eid);
    tx.objectStore("registrations").delete(eid);
    tx.oncomplete = resolve;
    tx.onerror = resolve;
  });
}

/** Reads a chosen file's text. */
function fileText(input) {
  const file = input.files && input.files[0];
  if (!file) return Promise.reject(new Failure("err.file"));
  return file.text().catch((e) => { throw new Failure("err.file", String(e)); });
}

// ---------------------------------------------------------------- election data

const elections = new Map(); // eid -> {manifest, manifestText}

async function election(eid) {
  if (!elections.has(eid)) {
    const manifest = await board(`${electionPath(eid)}/manifest`);
    if (manifest.election_id !== eid) throw new Failure("err.board-answer", "another election's manifest");
    elections.set(eid, { manifest, manifestText: JSON.stringify(manifest) });
  }
  return elections.get(eid);
}

/** The proving key: from the browser's cache if its pin matches, else from the board. */
async function provingKey(eid, pin) {
  const name = pin ? `${BOARD}/proving-keys/${pin}` : null;
  const cache = name && self.caches ? await caches.open("zkvote-proving-keys").catch(() => null) : null;
  const hit = cache ? await cache.match(name) : null;
  if (hit) return hit.arrayBuffer();
  const bytes = await board(`${electionPath(eid)}/proving-key`, { bytes: true });
  if (pin) {
    const hash = await call("provingKeyHash", { bytes });
    if (hash !== pin) throw new Failure("err.proving-key", `it hashes to ${hash}, the election pins ${pin}`);
    if (cache) await cache.put(name, new Response(bytes.slice(0))).catch(() => null);
  }
  return bytes;
}

const opened = new Map(); // eid -> the roll the worker holds: "bucket" or "whole"

/**
 * Opens the election in the worker: status, roll and proving key, checked there. The roll
 * is the bucket holding the saved registration (the board learns the bucket), or the whole
 * roll when the voter asks for it or no registration is saved (docs/protocol.md 9.4.1). A
 * bucket without the credential (a wrong position from the board) is replaced by the whole
 * roll and `notice` says so.
 */
async function openBooth(eid, status, credential, roll, notice) {
  const want = roll.registration && !roll.whole() ? "bucket" : "whole";
  if (opened.get(eid) === want || opened.get(eid) === "whole") return;
  const { manifestText } = await election(eid);
  const pk = await provingKey(eid, status.proving_key_hash);
  const statusText = JSON.stringify(status);
  if (helper && !opened.has(eid)) {
    await helper.ready;
    const copy = pk.slice(0);
    await helper.run("helperOpen", { eid, manifest: manifestText, status: statusText, pk: copy }, [copy]);
  }
  const open = async (bytes, bucket) => {
    const copy = pk.slice(0);
    await call("open", { eid, manifest: manifestText, status: statusText, roll: bytes, bucket, pk: copy }, [bytes, copy]);
  };
  if (want === "bucket") {
    const bucket = await call("rollBucket", { eid, manifest: manifestText, credential, registration: roll.registration });
    await open(await board(`${electionPath(eid)}/roll/buckets/${bucket.index}?bits=${bucket.bits}`, { bytes: true }),
      JSON.stringify(bucket));
    if (await call("holds", { eid, credential })) {
      opened.set(eid, "bucket");
      return;
    }
    notice.replaceChildren(h("p", { class: "error", role: "alert", text: t("vote.bucket_missing") }));
  }
  await open(await board(`${electionPath(eid)}/roll`, { bytes: true }), null);
  opened.set(eid, "whole");
}

// ---------------------------------------------------------------- views

function navigation(eid, current) {
  const views = ["election", "register", "vote", "receipt", "results", "verify"];
  const nav = document.getElementById("nav");
  nav.setAttribute("aria-label", t("app.title"));
  nav.replaceChildren(h("ul", {}, views.map((v) => h("li", {},
    h("a", { href: v === "election" ? `#/${eid}` : `#/${eid}/${v}`, "aria-current": v === current ? "page" : false, text: t(`nav.${v}`) })))));
}

function homeView() {
  const render = renderer();
  document.getElementById("nav").replaceChildren();
  const input = h("input", { id: "eid", name: "eid", required: true, autocomplete: "off", spellcheck: "false", pattern: "[0-9a-fA-F]{64}" });
  const form = h("form", { onsubmit: (ev) => {
    ev.preventDefault();
    const id = input.value.trim().toLowerCase();
    if (/^[0-9a-f]{64}$/.test(id)) location.hash = `#/${id}`;
    else form.append(errorBox(new Failure("err.bad-id")));
  } },
  h("label", { for: "eid", text: t("home.id") }), input,
  h("button", { type: "submit", text: t("home.open") }));
  render(h("h2", { text: t("home.heading") }), h("p", { text: t("home.help") }), form);
}

async function electionView(eid) {
  const render = renderer();
  const { manifest } = await election(eid);
  const [status, cp] = await Promise.all([board(electionPath(eid)), board(`${electionPath(eid)}/checkpoint`)]);
  const facts = h("dl", { class: "facts" },
    h("dt", { text: t("election.phase") }), h("dd", { id: "phase", "data-phase": status.phase, text: t(`phase.${status.phase}`) }),
    h("dt", { text: t("election.registrations") }), h("dd", { text: String(status.registrations) }),
    h("dt", { text: t("election.ballots") }), h("dd", { text: String(status.ballots) }),
    h("dt", { text: t("election.checkpoint") }), h("dd", { class: "mono", text: t("election.checkpoint_value", { size: cp.size, root: cp.root.slice(0, 16) + "…" }) }));
  const contests = manifest.contests.map((c) => h("section", { class: "contest" },
    h("h4", { text: c.title }),
    h("p", { class: "hint", text: t("election.choose", { min: c.min_selections, max: c.max_selections }) }),
    h("ul", {}, c.options.map((o) => h("li", { text: o.label })))));
  render(h("h2", { text: manifest.title }), facts,
    h("p", { text: t(`election.revote.${manifest.revote_policy}`) }),
    h("h3", { text: t("election.contests") }), contests);
}

async function registerView(eid) {
  const render = renderer();
  const { manifest } = await election(eid);
  const heading = h("h2", { text: t("register.heading") });
  const existing = await loadCredential(eid);
  const out = h("div", { id: "register-result" });
  const importer = credentialImporter(eid, out);
  if (existing) {
    render(heading, h("p", { text: t("register.have") }),
      download("credential.json", existing, t("register.download")), importer);
    return;
  }
  const code = h("input", { id: "code", name: "code", required: true, autocomplete: "one-time-code", spellcheck: "false" });
  const button = h("button", { type: "submit", text: t("register.submit") });
  const form = h("form", { onsubmit: (ev) => {
    ev.preventDefault();
    register(eid, manifest, code.value, button, out);
  } }, h("label", { for: "code", text: t("register.code") }), code, button);
  render(heading, h("p", { text: t("register.help") }), form, out, importer);
}

async function register(eid, manifest, code, button, out) {
  button.disabled = true;
  out.replaceChildren(statusLine("register.working"));
  try {
    const { manifestText } = await election(eid);
    const credential = await call("newCredential");
    // Kept before it is registered, so a reload never loses a registered credential.
    await saveCredential(eid, credential);
    let registered;
    try {
      const body = await call("registrationBody", { code, credential });
      registered = await board(`${electionPath(eid)}/registrations`, { method: "POST", body });
    } catch (e) {
      if (e instanceof Failure && e.key.startsWith("api.")) await forgetCredential(eid);
      throw e;
    }
    // The receipt is checked and the roll position kept: the vote fetches only its bucket.
    const registration = await call("registrationFile",
      { board: BOARD, eid, manifest: manifestText, credential, registered: JSON.stringify(registered) });
    await saveRegistration(eid, registration);
    out.replaceChildren(statusLine("register.done", { index: registered.receipt.index }),
      download("credential.json", credential, t("register.download")),
      " ", download("registration.json", registration, t("register.download_registration")));
  } catch (e) {
    out.replaceChildren(errorBox(e));
    button.disabled = false;
  }
}

function credentialImporter(eid, out) {
  const input = h("input", { type: "file", id: "credential-file", accept: ".json,application/json" });
  input.addEventListener("change", async () => {
    try {
      const text = await fileText(input);
      await call("credentialCommitment", { text });
      // A registration saved before was for the credential this one replaces.
      await forgetCredential(eid);
      await saveCredential(eid, text);
      out.replaceChildren(statusLine("register.imported"));
    } catch (e) {
      out.replaceChildren(errorBox(e));
    }
  });
  return h("p", { class: "import" }, h("label", { for: "credential-file", text: t("register.import") }), input);
}

function choiceForm(manifest, onSubmit) {
  const fieldsets = manifest.contests.map((c, ci) => {
    const single = c.min_selections === 1 && c.max_selections === 1;
    return h("fieldset", { "data-contest": c.id },
      h("legend", {}, `${c.title} — ${t("election.choose", { min: c.min_selections, max: c.max_selections })}`),
      c.options.map((o, oi) => h("div", { class: "option" },
        h("input", { type: single ? "radio" : "checkbox", name: `c${ci}`, id: `c${ci}o${oi}`, value: o.id }),
        h("label", { for: `c${ci}o${oi}`, text: o.label }))));
  });
  const problems = h("div", { id: "choice-problems" });
  const form = h("form", { onsubmit: (ev) => {
    ev.preventDefault();
    const choices = {};
    const wrong = [];
    manifest.contests.forEach((c, ci) => {
      const picked = [...form.querySelectorAll(`input[name="c${ci}"]:checked`)].map((i) => i.value);
      if (picked.length < c.min_selections || picked.length > c.max_selections) {
        wrong.push(t("vote.select_between", { contest: c.title, min: c.min_selections, max: c.max_selections }));
      }
      choices[c.id] = picked;
    });
    problems.replaceChildren(...wrong.map((w) => h("p", { class: "error", role: "alert", text: w })));
    if (!wrong.length) onSubmit(choices);
  } }, fieldsets, problems, h("button", { type: "submit", id: "build", text: t("vote.build") }));
  return form;
}

async function voteView(eid) {
  const render = renderer();
  const { manifest } = await election(eid);
  const heading = h("h2", { text: t("vote.heading") });
  const credential = await loadCredential(eid);
  const out = h("div", { id: "vote-result" });
  if (!credential) {
    render(heading, h("p", { text: t("vote.need_credential") }), credentialImporter(eid, out), out);
    return;
  }
  const status = await board(electionPath(eid));
  if (status.phase !== "open") throw new Failure("err.not-open", t(`phase.${status.phase}`));
  const registration = await loadRegistration(eid);
  const whole = h("input", { type: "checkbox", id: "whole-roll" });
  const notice = h("div", { id: "roll-notice" });
  const roll = { registration, whole: () => whole.checked };
  const rollChoice = registration
    ? h("div", {}, h("div", { class: "option" }, whole, h("label", { for: "whole-roll", text: t("vote.whole_roll") })),
      h("p", { class: "hint", text: t("vote.roll_bucket_help") }))
    : h("p", { class: "hint", text: t("vote.roll_whole_only") });
  const form = choiceForm(manifest, (choices) => buildBallot(eid, status, credential, choices, form, out, { roll, notice }));
  render(heading, h("p", { text: t(`election.revote.${manifest.revote_policy}`) }), rollChoice, notice, form, out);
}

async function withProgress(out, key, work) {
  const started = performance.now();
  const progress = h("progress", { "aria-label": t("busy") });
  const line = statusLine(key, { seconds: 0 });
  out.replaceChildren(line, progress);
  const timer = setInterval(() => {
    line.textContent = t(key, { seconds: ((performance.now() - started) / 1000).toFixed(0) });
  }, 500);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}

async function buildBallot(eid, status, credential, choices, form, out, { roll, notice }) {
  const button = form.querySelector("#build");
  button.disabled = true;
  try {
    const opening = performance.now();
    await withProgress(out, "vote.loading_key", () => openBooth(eid, status, credential, roll, notice));
    // How long opening took (read by the booth's benchmark; near zero once open).
    document.documentElement.dataset.openMs = (performance.now() - opening).toFixed(0);
    const started = performance.now();
    const built = await withProgress(out, "vote.proving", () => prove(eid, credential, JSON.stringify(choices)));
    const ms = (performance.now() - started).toFixed(0);
    const again = () => buildBallot(eid, status, credential, choices, form, out, { roll, notice });
    out.replaceChildren(
      h("p", { text: t("vote.built") }),
      h("p", {}, `${t("vote.tracker")}: `, h("code", { id: "tracker", "data-ms": ms, text: built.tracker })),
      h("div", { class: "actions" },
        h("button", { type: "button", id: "audit", onclick: () => auditBallot(eid, out, again), text: t("vote.audit") }),
        h("button", { type: "button", id: "cast", class: "primary", onclick: (ev) => castBallot(eid, built, ev.target, out), text: t("vote.cast") })));
    out.querySelector("#cast").focus();
  } catch (e) {
    out.replaceChildren(errorBox(e));
  } finally {
    button.disabled = false;
  }
}

/** Builds a complete ballot: on both workers when there is a helper, else on one. */
async function prove(eid, credential, choices) {
  if (!helper) return call("build", { eid, credential, choices });
  const assignment = await call("start", { eid, credential, choices });
  const [sum] = await Promise.all([
    helper.run("bG2Sum", { eid, assignment: assignment.buffer }, [assignment.buffer]),
    call("proveG1", { eid }),
  ]);
  return call("finish", { eid, sum: sum.buffer }, [sum.buffer]);
}

async function auditBallot(eid, out, again) {
  try {
    const report = await call("audit", { eid });
    const { manifest } = await election(eid);
    const found = report.choices.map(([cid, ids]) => {
      const c = manifest.contests.find((x) => x.id === cid);
      const labels = ids.map((id) => c.options.find((o) => o.id === id).label);
      return h("li", { text: t("vote.audit_found", { contest: c.title, options: labels.join(", ") || t("vote.nothing") }) });
    });
    out.replaceChildren(
      h("p", { class: "ok", role: "status", text: t("vote.audited") }),
      h("ul", { id: "audit-found" }, found),
      h("details", {}, h("summary", { text: t("vote.nonces") }),
        h("pre", { id: "audit-nonces", class: "mono", text: report.nonces.map((c) => c.join("\n")).join("\n\n") })),
      h("button", { type: "button", id: "again", onclick: again, text: t("vote.again") }));
    out.querySelector("#again").focus();
  } catch (e) {
    out.replaceChildren(errorBox(e));
  }
}

async function castBallot(eid, built, button, out) {
  button.disabled = true;
  out.append(statusLine("vote.casting"));
  try {
    const receipt = await board(`${electionPath(eid)}/ballots`, { method: "POST", body: built.body });
    const file = await call("castReceipt", { eid, board: BOARD, receipt: JSON.stringify(receipt) });
    await saveReceipt(eid, file);
    location.hash = `#/${eid}/receipt`;
  } catch (e) {
    out.append(errorBox(e));
    button.disabled = false;
  }
}

async function receiptView(eid) {
  const render = renderer();
  const { manifestText } = await election(eid);
  const heading = h("h2", { text: t("receipt.heading") });
  const out = h("div", { id: "receipt-result" });
  const input = h("input", { type: "file", id: "receipt-file", accept: ".json,application/json" });
  input.addEventListener("change", async () => {
    try {
      const text = await fileText(input);
      await call("receiptSize", { manifest: manifestText, file: text });
      await saveReceipt(eid, text);
      await route();
    } catch (e) {
      out.replaceChildren(errorBox(e));
    }
  });
  const loader = h("p", { class: "import" }, h("label", { for: "receipt-file", text: t("receipt.file") }), input);
  const text = await loadReceipt(eid);
  if (!text) {
    render(heading, h("p", { text: t("receipt.none") }), loader, out);
    return;
  }
  const file = JSON.parse(text);
  const size = await call("receiptSize", { manifest: manifestText, file: text });
  render(heading,
    h("dl", { class: "facts" },
      h("dt", { text: t("receipt.tracker") }), h("dd", { class: "mono", id: "receipt-tracker", text: file.tracker }),
      h("dt", { text: t("receipt.index") }), h("dd", { id: "receipt-index", text: String(file.receipt.index) }),
      h("dt", { text: t("receipt.checkpoint") }), h("dd", { text: String(size) })),
    h("div", { class: "actions" },
      h("button", { type: "button", id: "check", onclick: () => checkReceipt(eid, manifestText, text, size, out), text: t("receipt.check") }),
      download("receipt.json", text, t("receipt.download"))),
    out, loader);
}

async function checkReceipt(eid, manifest, file, size, out) {
  out.replaceChildren(statusLine("busy"));
  try {
    const latest = await board(`${electionPath(eid)}/checkpoint`);
    const proof = await board(`${electionPath(eid)}/proofs/consistency?old=${size}&new=${latest.size}`);
    const r = await call("checkReceipt", { manifest, file, latest: JSON.stringify(latest), consistency: JSON.stringify(proof) });
    out.replaceChildren(h("p", { class: "ok", role: "status", id: "receipt-ok",
      text: t("receipt.ok", { index: r.index, old: r.receipt_size, new: r.latest_size }) }),
      r.witnesses.length ? h("p", { id: "receipt-witnesses", text: t("receipt.witnesses", { names: r.witnesses.join(", ") }) }) : null);
  } catch (e) {
    out.replaceChildren(errorBox(e));
  }
}

async function resultsView(eid) {
  const render = renderer();
  const { manifest } = await election(eid);
  const heading = h("h2", { text: t("results.heading") });
  const entries = await board(`${electionPath(eid)}/entries?kind=result&from=0&limit=1`);
  if (!entries.length) {
    render(heading, h("p", { text: t("results.none") }));
    return;
  }
  const result = entries[0].entry;
  const charts = manifest.contests.map((c, ci) => {
    const counts = result.counts[ci];
    const top = Math.max(1, ...counts);
    return h("section", { class: "contest" }, h("h3", { text: c.title }),
      h("table", { class: "chart" },
        h("caption", { class: "visually-hidden", text: c.title }),
        h("tbody", {}, c.options.map((o, oi) => h("tr", { "data-option": o.id },
          h("th", { scope: "row", text: o.label }),
          h("td", {}, h("span", { class: "bar", style: null, "data-share": (counts[oi] / top).toFixed(4) })),
          h("td", { class: "count", text: t(counts[oi] === 1 ? "results.vote" : "results.votes", { n: counts[oi] }) }))))));
  });
  render(heading, h("p", { id: "counted", text: t("results.counted", { n: result.ballots_counted }) }), charts);
  // Bar widths through the CSSOM (no inline style attributes under the CSP).
  for (const bar of document.querySelectorAll(".bar")) bar.style.width = `${Number(bar.dataset.share) * 100}%`;
}

async function verifyView(eid) {
  const render = renderer();
  const out = h("div", { id: "verify-result" });
  const run = (button, text) => verifyRecord(button, text, out);
  const button = h("button", { type: "button", id: "verify", class: "primary", text: t("verify.run"), onclick: async () => {
    button.disabled = true;
    try {
      await run(button, () => board(`${electionPath(eid)}/record`, { text: true }));
    } finally {
      button.disabled = false;
    }
  } });
  const input = h("input", { type: "file", id: "record-file", accept: ".jsonl,.json,text/plain" });
  input.addEventListener("change", () => run(button, () => fileText(input)));
  render(h("h2", { text: t("verify.heading") }), h("p", { text: t("verify.help") }), button,
    h("p", { class: "import" }, h("label", { for: "record-file", text: t("verify.file") }), input), out);
}

async function verifyRecord(button, source, out) {
  const progress = h("progress", { max: "1", value: "0", "aria-label": t("verify.progress") });
  out.replaceChildren(statusLine("verify.progress"), progress);
  try {
    const text = await source();
    const total = new TextEncoder().encode(text).length || 1;
    const started = performance.now();
    const report = await call("verifyRecord", { text }, [], (bytes) => { progress.value = bytes / total; });
    progress.value = 1;
    out.replaceChildren(reportView(report, (performance.now() - started) / 1000));
  } catch (e) {
    out.replaceChildren(errorBox(e));
  }
}

function reportView(report, seconds) {
  const status = (c) => ({ pass: "PASS", fail: "FAIL", "not-applicable": "n/a" })[c.status];
  return h("div", { id: "report", "data-ok": String(report.ok), "data-seconds": seconds.toFixed(3) },
    h("p", { class: report.ok ? "ok" : "error", role: "status",
      text: t(report.ok ? "verify.ok" : "verify.failed", { entries: report.entries, seconds: seconds.toFixed(1) }) }),
    h("ol", { class: "checks" }, report.checks.map((c) => h("li", { "data-status": c.status, value: String(c.number) },
      h("strong", {}, `[${status(c)}] `), t(`check.${c.number}`),
      c.failures.length ? h("ul", {}, c.failures.map((f) => h("li", { class: "detail" },
        f.index === null || f.index === undefined ? f.message : `${t("verify.entry", { index: f.index })}: ${f.message}`))) : null))));
}

// ---------------------------------------------------------------- router

const VIEWS = {
  "": electionView, register: registerView, vote: voteView, receipt: receiptView,
  results: resultsView, verify: verifyView,
};

async function route() {
  const token = ++routeToken;
  const [, eid = "", view = ""] = location.hash.replace(/^#/, "").split("/");
  document.getElementById("app-title").textContent = t("app.title");
  document.getElementById("lang-switch").textContent = t("lang.switch");
  if (!/^[0-9a-f]{64}$/.test(eid) || !(view in VIEWS)) return homeView();
  navigation(eid, view || "election");
  show(statusLine("busy"));
  try {
    await VIEWS[view](eid);
  } catch (e) {
    if (token === routeToken) show(errorBox(e));
  }
  document.getElementById("main").focus({ preventScroll: true });
}

async function footer() {
  const el = document.getElementById("bundle");
  try {
    const bundle = await (await fetch("bundle.json", { cache: "no-store" })).json();
    el.replaceChildren(h("span", { id: "bundle-hash", text: t("footer.bundle", { hash: bundle.sha256 }) }),
      h("br"), h("span", { text: t("footer.compare") }));
  } catch (_) {
    el.textContent = "";
  }
}

async function start() {
  document.documentElement.lang = LANG;
  document.getElementById("lang-switch").addEventListener("click", () => {
    setLanguage(LANG === "ko" ? "en" : "ko");
    route();
    footer();
  });
  window.addEventListener("hashchange", route);
  footer();
  if (typeof WebAssembly !== "object") {
    show(errorBox(new Failure("err.no-wasm")));
    return;
  }
  // When the module is ready, the page records how long loading took (milliseconds since
  // navigation; read by the booth's benchmark).
  startWorker()
    .then(() => { document.documentElement.dataset.readyMs = performance.now().toFixed(0); })
    .catch((e) => show(errorBox(e)));
  await route();
}

start();
