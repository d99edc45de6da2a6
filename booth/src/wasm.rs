//! The wasm-bindgen surface the booth's worker calls. Every failure is thrown as a
//! JavaScript `Error` whose message is the [`BoothError`]'s JSON, so the worker can hand
//! the page its stable code.

use crate::{BoothError, Serialize};
use wasm_bindgen::prelude::*;

fn thrown(e: BoothError) -> JsError {
    JsError::new(&e.to_json())
}

fn json(value: &impl Serialize) -> String {
    serde_json::to_string(value).expect("serializes")
}

/// A new credential's file text.
#[wasm_bindgen(js_name = newCredential)]
pub fn new_credential() -> String {
    (*crate::new_credential()).clone()
}

/// A credential file's public commitment (hex); throws if the file is not a credential.
#[wasm_bindgen(js_name = credentialCommitment)]
pub fn credential_commitment(text: &str) -> Result<String, JsError> {
    crate::credential_commitment(text).map_err(thrown)
}

/// The registration request's JSON body.
#[wasm_bindgen(js_name = registrationBody)]
pub fn registration_body(code: &str, credential: &str) -> Result<String, JsError> {
    crate::registration_body(code, credential).map_err(thrown)
}

/// The registration file's text for a checked registration answer (see
/// [`crate::registration_file`]).
#[wasm_bindgen(js_name = registrationFile)]
pub fn registration_file(
    board_url: &str,
    election_id: &str,
    manifest: &str,
    credential: &str,
    registered: &str,
) -> Result<String, JsError> {
    crate::registration_file(board_url, election_id, manifest, credential, registered)
        .map_err(thrown)
}

/// The bucket of the roll holding a saved registration, as `{"index", "bits"}` JSON (see
/// [`crate::roll_bucket`]).
#[wasm_bindgen(js_name = rollBucket)]
pub fn roll_bucket(
    election_id: &str,
    manifest: &str,
    credential: &str,
    registration: &str,
) -> Result<String, JsError> {
    crate::roll_bucket(election_id, manifest, credential, registration)
        .map(|b| json(&b))
        .map_err(thrown)
}

/// The pinned hash of a served proving key (hex).
#[wasm_bindgen(js_name = provingKeyHash)]
pub fn proving_key_hash(bytes: &[u8]) -> String {
    crate::proving_key_hash(bytes)
}

/// A receipt check's result as JSON.
#[wasm_bindgen(js_name = checkReceipt)]
pub fn check_receipt(
    manifest: &str,
    receipt_file: &str,
    latest: &str,
    consistency: &str,
) -> Result<String, JsError> {
    crate::check_receipt(manifest, receipt_file, latest, consistency)
        .map(|c| json(&c))
        .map_err(thrown)
}

/// The checkpoint size a receipt file is signed at.
#[wasm_bindgen(js_name = receiptSize)]
pub fn receipt_size(manifest: &str, receipt_file: &str) -> Result<f64, JsError> {
    crate::receipt_size(manifest, receipt_file)
        .map(|s| s as f64)
        .map_err(thrown)
}

/// Verifies a whole record (its text); calls `progress(bytes read)` as it goes and returns
/// the report's JSON.
#[wasm_bindgen(js_name = verifyRecord)]
pub fn verify_record(text: &str, progress: &js_sys::Function) -> Result<String, JsError> {
    let report = |bytes: u64| {
        // A failing progress callback changes nothing about the verdict.
        let _ = progress.call1(&JsValue::NULL, &JsValue::from_f64(bytes as f64));
    };
    crate::verify_record(text, &report).map_err(thrown)
}

/// One open election (see [`crate::Booth`]).
#[wasm_bindgen]
pub struct Booth(crate::Booth);

#[wasm_bindgen]
impl Booth {
    /// Opens an election from the board's answers; `bucket` is the `{"index", "bits"}`
    /// JSON of [`roll_bucket`] when `roll` is that bucket's answer, none for the whole roll.
    #[wasm_bindgen(constructor)]
    pub fn open(
        election_id: &str,
        manifest: &str,
        status: &str,
        roll: &[u8],
        bucket: Option<String>,
        proving_key: &[u8],
    ) -> Result<Booth, JsError> {
        let bucket = bucket
            .map(|b| crate::parse("bucket", &b))
            .transpose()
            .map_err(thrown)?;
        crate::Booth::open(election_id, manifest, status, roll, bucket, proving_key)
            .map(Booth)
            .map_err(thrown)
    }

    /// Whether the opened roll holds the credential (see [`crate::Booth::holds`]).
    pub fn holds(&self, credential: &str) -> Result<bool, JsError> {
        self.0.holds(credential).map_err(thrown)
    }

    /// Builds a ballot; returns `{"tracker", "body"}` as JSON.
    pub fn build(&mut self, credential: &str, choices: &str) -> Result<String, JsError> {
        self.0
            .build(credential, choices)
            .map(|b| json(&b))
            .map_err(thrown)
    }

    /// Starts a two-worker ballot; returns the assignment for the helper.
    pub fn start(&mut self, credential: &str, choices: &str) -> Result<Vec<u8>, JsError> {
        self.0.start(credential, choices).map_err(thrown)
    }

    /// The G1 part of the started ballot's proof.
    #[wasm_bindgen(js_name = proveG1)]
    pub fn prove_g1(&mut self) -> Result<(), JsError> {
        self.0.prove_g1().map_err(thrown)
    }

    /// Completes the started ballot with the helper's G2 sum; returns `{"tracker", "body"}`.
    pub fn finish(&mut self, b_g2_sum: &[u8]) -> Result<String, JsError> {
        self.0.finish(b_g2_sum).map(|b| json(&b)).map_err(thrown)
    }

    /// Audits the ballot built last; returns the audit report as JSON.
    pub fn audit(&mut self) -> Result<String, JsError> {
        self.0.audit().map(|a| json(&a)).map_err(thrown)
    }

    /// Checks the cast ballot's receipt; returns the receipt file's text.
    #[wasm_bindgen(js_name = castReceipt)]
    pub fn cast_receipt(&mut self, board_url: &str, receipt: &str) -> Result<String, JsError> {
        self.0.cast_receipt(board_url, receipt).map_err(thrown)
    }
}

/// The second worker's part of a two-worker proof (see [`crate::Helper`]).
#[wasm_bindgen]
pub struct Helper(crate::Helper);

#[wasm_bindgen]
impl Helper {
    /// Loads the election's proving key, checked against its pin.
    #[wasm_bindgen(constructor)]
    pub fn open(
        election_id: &str,
        manifest: &str,
        status: &str,
        proving_key: &[u8],
    ) -> Result<Helper, JsError> {
        crate::Helper::open(election_id, manifest, status, proving_key)
            .map(Helper)
            .map_err(thrown)
    }

    /// The G2 sum of an assignment (192 bytes).
    #[wasm_bindgen(js_name = bG2Sum)]
    pub fn b_g2_sum(&self, assignment: &[u8]) -> Result<Vec<u8>, JsError> {
        self.0.b_g2_sum(assignment).map_err(thrown)
    }
}
