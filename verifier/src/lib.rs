//! zkvote-verifier: checks a whole election record without trusting the commission, the
//! board or the trustees. [`verify`] runs nine numbered checks, each described in the
//! "Verification" section of `docs/protocol.md` under the same number:
//!
//! 1. the log (indices, leaf hashes, Merkle root, signed checkpoint, order of entries);
//! 2. the manifest and the eligibility verifying key it names;
//! 3. the key ceremony and the joint key;
//! 4. the voter roll;
//! 5. every ballot;
//! 6. the aggregate of the counted ballots;
//! 7. the partial decryptions;
//! 8. the published result;
//! 9. the setup ceremony of the eligibility keys (version 2).
//!
//! [`transcript`] checks a setup ceremony's transcript on its own; [`memory`] is what check
//! 5's rules remember per ballot; [`split`] spreads check 5's work over machines, by ranges
//! of entries, and merges their [`verdict`]s.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod checks;
pub mod report;
pub mod split;
pub mod transcript;

pub use checks::memory;
pub use checks::verdict;
pub use checks::{verify, verify_reader, verify_record, TallyInputs, Verifier};
pub use report::{CheckReport, Failure, Report, Status};
pub use zkvote_protocol::{Record, RecordEntry, RecordError};
