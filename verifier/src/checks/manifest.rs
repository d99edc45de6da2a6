//! Check 2: the manifest at index 0 and the eligibility verifying key it names.

use super::Verifier;
use std::sync::Arc;
use zkvote_protocol::{ApplyError, ElectionState, Entry};
use zkvote_tally::Aggregate;

impl Verifier {
    /// Check 2, on entry 0.
    pub(super) fn take_manifest(&mut self, index: u64, decoded: &Result<Entry, String>) {
        match decoded {
            Err(e) => self.c2.fail(
                Some(index),
                format!("the first entry is not a valid manifest: {e}"),
            ),
            Ok(
                genesis @ Entry::Manifest {
                    manifest,
                    groth16_vk,
                },
            ) => {
                // The election's state starts here, its verifying key decoded once.
                match ElectionState::from_genesis(genesis) {
                    Ok(state) => {
                        self.verifier = state.verifier().cloned();
                        self.state = Some(state);
                        self.manifest = Some(manifest.clone());
                        self.aggregate = Some(Aggregate::empty(manifest));
                    }
                    Err(ApplyError::VerifyingKeyMismatch) => self.c2.fail(
                        Some(index),
                        "the Groth16 verifying key's hash is not the manifest's groth16_vk_hash",
                    ),
                    Err(e @ ApplyError::VerifyingKey(_)) => {
                        self.c2.fail(Some(index), e.to_string())
                    }
                    // Trustees that make no ceremony: check 3 names them; the other checks
                    // run without the election state.
                    Err(_) => {
                        self.verifier = groth16_vk
                            .as_ref()
                            .and_then(|vk| vk.verifier().ok())
                            .map(Arc::new);
                        self.manifest = Some(manifest.clone());
                        self.aggregate = Some(Aggregate::empty(manifest));
                    }
                }
                self.c2.count("contests", manifest.contests.len() as u64);
                self.c2.count("trustees", manifest.trustees.len() as u64);
            }
            Ok(other) => self.c2.fail(
                Some(index),
                format!("the first entry is a {}, not the manifest", other.kind()),
            ),
        }
    }
}
