//! zkvote-board: the bulletin board. Each election is one append-only log of typed
//! entries (manifest, trustee messages, registrations, frozen roll, ballots, close, partial
//! decryptions, result), hashed per RFC 9162, with signed checkpoints, inclusion and
//! consistency proofs, and receipts, stored through sqlx in SQLite (embedded default) or
//! PostgreSQL (production).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod api;
pub mod ballot_box;
#[cfg(feature = "booth")]
pub mod booth;
mod cosigner;
pub mod log;
pub mod rate_limit;
pub mod server;
pub mod snapshot;
pub mod store;

pub use ballot_box::{BallotBox, BallotBoxConfig, Rejection};
pub use log::{BoardLog, LogServiceError};
pub use store::{EntryKind, NewEntry, Store, StoreError, StoredCheckpoint, StoredEntry};
