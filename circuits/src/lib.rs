//! zkvote-circuits: anonymous eligibility and non-duplication.
// Only `blst_backend` and `blst_group` (FFI calls into blst) allow unsafe code.
#![deny(unsafe_code)]
#![deny(missing_docs)]

#[cfg(not(target_arch = "wasm32"))]
mod blst_backend;
#[cfg(not(target_arch = "wasm32"))]
mod blst_group;
pub mod circuit;
pub mod complete;
pub mod credential;
pub mod field;
pub mod groth16;
pub mod merkle;
pub mod poseidon;
pub mod setup;
pub mod split_prover;
