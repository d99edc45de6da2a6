//! Fixtures that tests and benchmarks share: a manifest with its keys and trustees set, the
//! body that creates an election, and signed and plain POSTs to a board. Dev-only: no
//! production crate depends on it.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use base64::Engine;
use ed25519_dalek::{SigningKey, VerifyingKey};
use serde_json::Value;
use zkvote_circuits::groth16::{key_to_bytes, vk_hash, ProvingKey};
use zkvote_core::manifest::ManifestDocument;
use zkvote_core::Manifest;
use zkvote_protocol::api::CreateElection;
use zkvote_protocol::request::sign_request;
use zkvote_protocol::{Entry, RecordEntry};
use zkvote_tally::TrusteeKeys;

/// Unix seconds now.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_secs() as i64
}

/// What a test election's manifest is made of, besides its template.
pub struct TestManifest<'a> {
    /// The election id.
    pub election_id: [u8; 32],
    /// The commission's key.
    pub commission: &'a VerifyingKey,
    /// The board's key.
    pub board: &'a VerifyingKey,
    /// The eligibility keys (their verifying key's hash goes into the manifest).
    pub eligibility: &'a ProvingKey,
    /// The voter roll's depth.
    pub roll_depth: u8,
    /// `reject` or `last-ballot-counts`.
    pub revote_policy: &'a str,
    /// The trustees and the threshold.
    pub trustees: (&'a [TrusteeKeys], u32),
}

impl TestManifest<'_> {
    /// The manifest: `template` (TOML) with these ids, keys and trustees.
    pub fn build(&self, template: &str) -> Manifest {
        let mut doc = ManifestDocument::from(Manifest::from_toml(template).expect("template"));
        doc.election_id = hex::encode(self.election_id);
        doc.revote_policy = self.revote_policy.into();
        doc.commission_key = hex::encode(self.commission.to_bytes());
        doc.board_key = hex::encode(self.board.to_bytes());
        doc.eligibility.roll_depth = self.roll_depth;
        doc.eligibility.groth16_vk_hash = Some(hex::encode(vk_hash(&self.eligibility.vk)));
        let (keys, threshold) = self.trustees;
        doc.trustees.threshold = threshold;
        doc.trustees.members = keys
            .iter()
            .map(|k| k.document(format!("T{}", k.index())))
            .collect();
        Manifest::try_from(doc).expect("a valid test manifest")
    }
}

/// The body of `POST /v1/elections` for `manifest` and its eligibility keys.
pub fn create_election(manifest: &Manifest, pk: &ProvingKey) -> CreateElection {
    CreateElection {
        manifest: manifest.clone(),
        groth16_vk: Some(hex::encode(key_to_bytes(&pk.vk))),
        proving_key: Some(base64::engine::general_purpose::STANDARD.encode(key_to_bytes(pk))),
    }
}

/// POSTs `body` to `base || path` signed by `key` (a commission request); asserts success
/// and returns the answer.
pub async fn post_signed(
    http: &reqwest::Client,
    base: &str,
    key: &SigningKey,
    path: &str,
    body: impl serde::Serialize,
) -> Value {
    let bytes = serde_json::to_vec(&body).expect("bodies serialize");
    let signed = sign_request(key, "POST", path, &bytes, now());
    let mut request = http.post(format!("{base}{path}"));
    for (name, value) in signed.headers() {
        request = request.header(name, value);
    }
    let r = request.body(bytes).send().await.expect("the board answers");
    assert!(r.status().is_success(), "{path}: {}", r.status());
    r.json().await.expect("a JSON answer")
}

/// POSTs `body` (already encoded) to `base || path`; asserts success and returns the
/// answer.
pub async fn post(http: &reqwest::Client, base: &str, path: &str, body: Vec<u8>) -> Value {
    let r = http
        .post(format!("{base}{path}"))
        .body(body)
        .send()
        .await
        .expect("the board answers");
    assert!(r.status().is_success(), "{path}: {}", r.status());
    r.json().await.expect("a JSON answer")
}

/// Swaps the `A` components of the first two selections of a ballot entry's first contest:
/// the ballot still decodes, and its proofs no longer hold.
pub fn swap_ciphertexts(entry: &mut RecordEntry) {
    edit_entry(entry, |v| {
        let s = &mut v["ballot"]["ballot"]["contests"][0]["selections"];
        let (x, y) = (s[0]["a"].clone(), s[1]["a"].clone());
        s[0]["a"] = y;
        s[1]["a"] = x;
    });
}

/// Edits a record entry's JSON with `f`, then re-encodes it in the entry's canonical form
/// when it still decodes (so that only the edit is at fault), or as compact JSON otherwise.
pub fn edit_entry(entry: &mut RecordEntry, f: impl FnOnce(&mut Value)) {
    let mut v: Value = serde_json::from_slice(&entry.data).expect("entries are JSON");
    f(&mut v);
    entry.data = match serde_json::from_value::<Entry>(v.clone()) {
        Ok(e) => e.to_bytes(),
        Err(_) => serde_json::to_vec(&v).expect("JSON values serialize"),
    };
}
