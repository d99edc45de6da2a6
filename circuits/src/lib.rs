//! zkvote-circuits: anonymous eligibility and non-duplication.
// Only `blst_backend` (FFI calls into blst) allows unsafe code.
#![deny(unsafe_code)]
#![deny(missing_docs)]

#[cfg(not(target_arch = "wasm32"))]
mod blst_backend;
pub mod circuit;
pub mod complete;
pub mod credential;
pub mod field;
pub mod groth16;
pub mod merkle;
pub mod poseidon;
pub mod setup;
pub mod split_prover;
