//! Check 2: the manifest at index 0 and the eligibility verifying key it names.

use super::Verifier;
use zkvote_protocol::{ElectionState, Entry};
use zkvote_tally::Aggregate;

impl Verifier {
    /// Check 2, on entry 0.
    pub(super) fn take_manifest(&mut self, index: u64, decoded: &Result<Entry, String>) {
        match decoded {
            Err(e) => self.c2.fail(
                Some(index),
                format!("the first entry is not a valid manifest: {e}"),
            ),
            Ok(Entry::Manifest {
                manifest,
                groth16_vk,
            }) => {
                let key = groth16_vk.verifier().map_err(|e| e.to_string());
                match key {
                    Err(e) => self.c2.fail(
                        Some(index),
                        format!("the Groth16 verifying key is invalid: {e}"),
                    ),
                    Ok(v) if v.vk_hash() != &manifest.groth16_vk_hash => self.c2.fail(
                        Some(index),
                        "the Groth16 verifying key's hash is not the manifest's groth16_vk_hash",
                    ),
                    Ok(v) => {
                        // The election's state starts here (if the manifest's trustees
                        // make no ceremony, check 3 says so).
                        let genesis = decoded.as_ref().expect("matched as Ok");
                        self.state = ElectionState::from_genesis(genesis).ok();
                        self.verifier = Some(v);
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
