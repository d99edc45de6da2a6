//! zkvote-circuits: anonymous eligibility and non-duplication.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod circuit;
pub mod complete;
pub mod credential;
pub mod field;
pub mod groth16;
pub mod merkle;
pub mod poseidon;
pub mod setup;
pub mod split_prover;
