//! zkvote-tally: the trustees' threshold key ceremony, the homomorphic tally, and
//! verifiable decryption of the aggregate only.
//!
//! A pure library: no I/O, no async. Every message the trustees exchange is public and
//! signed, so it can travel over the bulletin board; `docs/protocol.md` (section 10)
//! specifies every encoding and check.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod aggregate;
pub mod ceremony;
pub mod decryption;
pub mod dlog;
pub mod labels;
pub mod share_encryption;

pub use aggregate::{aggregate, Aggregate};
pub use ceremony::{
    verify_ceremony, CeremonyContext, CeremonyError, CeremonyOutcome, Complaint, Dealing,
    Disqualification, Trustee, TrusteeKeys, TrusteeShare,
};
pub use decryption::{
    combine, partial_decrypt, verify_partial_decryption, verify_result, DecryptError,
    PartialDecryption, TallyResult,
};
pub use dlog::DlogTable;
