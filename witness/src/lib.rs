//! zkvote-witness: an independent organization's check on a board. For every election
//! whose board key it trusts, the witness keeps the last checkpoint it cosigned and
//! cosigns a new one only if a consistency proof shows that it extends it (C2SP
//! tlog-witness `add-checkpoint`; cosignatures in the C2SP tlog-cosignature Ed25519 form,
//! `zkvote_core::cosignature`). A board that shows two histories cannot get both cosigned
//! by one honest witness, and the one refused is kept as evidence.
//! (`docs/protocol.md` section 15.)
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod api;
pub mod server;
pub mod store;
pub mod witness;

pub use store::{Evidence, WitnessStore};
pub use witness::{Refusal, Witness};
pub use zkvote_protocol::witness::AddCheckpoint;
