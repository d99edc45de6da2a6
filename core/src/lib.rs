//! zkvote-core: the election manifest, exponential ElGamal on Ristretto255, sigma proofs on
//! merlin transcripts, encrypted ballots with their proofs, and canonical encodings.
//!
//! A pure library: no I/O, no async. Randomness is always passed in by the caller.
//! `docs/protocol.md` is the normative description of every encoding, transcript and
//! check implemented here.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod ballot;
pub mod codec;
pub mod cosignature;
pub mod elgamal;
#[cfg(not(target_arch = "wasm32"))]
pub mod keyfile;
pub mod log;
pub mod manifest;
#[cfg(feature = "sample")]
pub mod sample;
pub mod sigma;
pub mod transcript;

pub use ballot::{
    build_ballot, check_structure, vartime_verify_ballot, vartime_verify_ballots,
    vartime_verify_opening, AuditError, Ballot, BallotDigest, BallotError, BallotOpening,
    BallotSecrets, BatchError, ChoiceError, Choices, ElectionContext,
};
pub use codec::{DecodeError, Element};
pub use elgamal::{Ciphertext, ElectionPublicKey, SecretKey};
pub use manifest::{Manifest, ManifestError, RevotePolicy};

/// The protocol version every domain separator carries (`zkvote/v1/...`).
pub const PROTOCOL_VERSION: u32 = 1;

#[cfg(test)]
mod test_support {
    pub use crate::sample::sample_manifest_toml;
}
