//! zkvote-circuits: anonymous eligibility and non-duplication.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod poseidon;
