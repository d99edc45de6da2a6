//! zkvote-protocol: the election as data, shared by the board, the verifier and every
//! client. It owns the protocol's vocabulary and rules, written once:
//!
//! - [`EntryKind`], [`Phase`] and [`transition`], the one rule of which entry may follow
//!   in which phase;
//! - [`Entry`], the typed log entries whose fields check themselves when decoded;
//! - [`ElectionState`], the public state an election's log builds, entry by entry;
//! - [`record`], the record's line format (reader and writer);
//! - [`api`], the board API's bodies; [`ErrorCode`], its stable error codes; and
//!   [`request`], signed commission requests;
//! - [`voter`], the voter's client steps without I/O (session, ballot, audit, receipts),
//!   which the CLI and the browser booth wrap;
//! - [`witness`], the witness protocol's request (C2SP tlog-witness `add-checkpoint`).
//!
//! Pure: no I/O beyond reading a record from any `BufRead`, no async, no server or
//! database; it compiles to `wasm32-unknown-unknown`.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod api;
pub mod entry;
pub mod error_code;
pub mod fields;
pub mod kind;
pub mod record;
pub mod request;
pub mod setup;
pub mod state;
pub mod voter;
pub mod witness;

pub use entry::{encode_aggregate, AuthorError, Entry, EntryError, IndexedEntryError};
pub use error_code::{ErrorBody, ErrorCode, ErrorDetail};
pub use fields::{EncodedCiphertext, FieldElement, VerifyingKeyBytes};
pub use kind::{genesis_phase, transition, EntryKind, Phase, TransitionError};
pub use record::{Record, RecordEntry, RecordError};
pub use state::{ApplyError, ElectionState};
