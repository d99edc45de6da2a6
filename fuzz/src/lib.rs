//! What the fuzz targets share: the sample election every decoder is run against, and a
//! fixed board key for the signed structures.

use std::sync::OnceLock;
use zkvote_core::Manifest;

/// The manifest of the pinned vectors (`core/tests/vectors/ballot-v1.json`), so that the
/// vectors' ballot seeds the binary ballot targets.
pub fn manifest() -> &'static Manifest {
    static M: OnceLock<Manifest> = OnceLock::new();
    M.get_or_init(|| {
        let vectors: serde_json::Value =
            serde_json::from_str(include_str!("../../core/tests/vectors/ballot-v1.json"))
                .expect("the vectors are JSON");
        Manifest::from_toml(vectors["manifest_toml"].as_str().expect("a TOML manifest"))
            .expect("the vectors' manifest parses")
    })
}

/// The election id checkpoints and receipts are checked against.
pub const ELECTION_ID: [u8; 32] = [7; 32];

/// A fixed board key.
pub fn board_key() -> ed25519_dalek::VerifyingKey {
    ed25519_dalek::SigningKey::from_bytes(&[9; 32]).verifying_key()
}

/// The input as text, if it is UTF-8 (parsers of text get only text).
pub fn text(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data).ok()
}
