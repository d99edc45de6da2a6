// The booth's Web Worker: the only place the WebAssembly module runs, so the page stays
// responsive while a ballot is proved or a record verified. The page sends {id, op, args};
// the worker answers {id, ok: true, value} or {id, ok: false, error: {code, message}},
// after any number of {id, progress} messages. The module's bytes are
// checked against the SHA-256 the page was built with before they are compiled.
"use strict";

let ready = null;
const booths = new Map(); // election id -> wasm_bindgen.Booth
const helpers = new Map(); // election id -> wasm_bindgen.Helper (the second worker's)

function hex(buffer) {
  return Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function init({ glue, wasm, sha256 }) {
  importScripts(glue);
  const response = await fetch(wasm);
  if (!response.ok) throw { code: "unreachable", message: `${wasm}: HTTP ${response.status}` };
  const bytes = await response.arrayBuffer();
  const digest = hex(await crypto.subtle.digest("SHA-256", bytes));
  if (digest !== sha256) {
    throw { code: "input", message: `the booth's WebAssembly module hashes to ${digest}, not ${sha256}` };
  }
  await wasm_bindgen({ module_or_path: await WebAssembly.compile(bytes) });
}

function booth(eid) {
  const b = booths.get(eid);
  if (!b) throw { code: "no-ballot", message: "the election is not open in this booth" };
  return b;
}

const OPS = {
  newCredential: () => wasm_bindgen.newCredential(),
  credentialCommitment: ({ text }) => wasm_bindgen.credentialCommitment(text),
  registrationBody: ({ code, credential }) => wasm_bindgen.registrationBody(code, credential),
  registrationFile: ({ board, eid, manifest, credential, registered }) =>
    wasm_bindgen.registrationFile(board, eid, manifest, credential, registered),
  rollBucket: ({ eid, manifest, credential, registration }) =>
    JSON.parse(wasm_bindgen.rollBucket(eid, manifest, credential, registration)),
  provingKeyHash: ({ bytes }) => wasm_bindgen.provingKeyHash(new Uint8Array(bytes)),
  // `bucket` is rollBucket's JSON when `roll` is that bucket's answer, null for the whole roll.
  open: ({ eid, manifest, status, roll, bucket, pk }) => {
    const previous = booths.get(eid);
    const b = new wasm_bindgen.Booth(eid, manifest, status, new Uint8Array(roll), bucket ?? undefined,
      new Uint8Array(pk));
    if (previous) previous.free();
    booths.set(eid, b);
    return true;
  },
  holds: ({ eid, credential }) => booth(eid).holds(credential),
  build: ({ eid, credential, choices }) => JSON.parse(booth(eid).build(credential, choices)),
  // A proof on two workers: start (this worker) -> bG2Sum (the helper) and proveG1 (this
  // worker) at the same time -> finish (this worker).
  start: ({ eid, credential, choices }) => booth(eid).start(credential, choices),
  proveG1: ({ eid }) => booth(eid).proveG1(),
  finish: ({ eid, sum }) => JSON.parse(booth(eid).finish(new Uint8Array(sum))),
  helperOpen: ({ eid, manifest, status, pk }) => {
    const previous = helpers.get(eid);
    helpers.set(eid, new wasm_bindgen.Helper(eid, manifest, status, new Uint8Array(pk)));
    if (previous) previous.free();
    return true;
  },
  bG2Sum: ({ eid, assignment }) => {
    const h = helpers.get(eid);
    if (!h) throw { code: "no-ballot", message: "the election is not open in the helper" };
    return h.bG2Sum(new Uint8Array(assignment));
  },
  audit: ({ eid }) => JSON.parse(booth(eid).audit()),
  castReceipt: ({ eid, board, receipt }) => booth(eid).castReceipt(board, receipt),
  checkReceipt: ({ manifest, file, latest, consistency }) =>
    JSON.parse(wasm_bindgen.checkReceipt(manifest, file, latest, consistency)),
  receiptSize: ({ manifest, file }) => wasm_bindgen.receiptSize(manifest, file),
  // Progress goes to the page as {id, progress: bytes read} while the record is checked.
  verifyRecord: ({ text }, id) =>
    JSON.parse(wasm_bindgen.verifyRecord(text, (bytes) => self.postMessage({ id, progress: bytes }))),
};

// A thrown wasm error's message is the booth error's JSON; anything else is reported as is.
function asError(e) {
  if (e && typeof e.code === "string") return e;
  const text = e && e.message ? e.message : String(e);
  try {
    const parsed = JSON.parse(text);
    if (parsed && typeof parsed.code === "string") return parsed;
  } catch (_) { /* not JSON */ }
  return { code: "worker", message: text };
}

self.onmessage = async ({ data: { id, op, args } }) => {
  try {
    if (op === "init") {
      ready = ready || init(args);
      await ready;
      self.postMessage({ id, ok: true, value: true });
      return;
    }
    await ready;
    if (!OPS[op]) throw { code: "input", message: `unknown operation ${op}` };
    self.postMessage({ id, ok: true, value: OPS[op](args || {}, id) });
  } catch (e) {
    self.postMessage({ id, ok: false, error: asError(e) });
  }
};
