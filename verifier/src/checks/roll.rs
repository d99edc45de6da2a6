//! Check 4: the voter roll. The frozen root is the root of the registered commitments,
//! in log order, and no registration follows the freeze.

use super::Verifier;
use crate::report::CheckReport;
use zkvote_circuits::field::fr_to_bytes;
use zkvote_circuits::merkle::VoterRoll;
use zkvote_core::Manifest;
use zkvote_protocol::{ElectionState, Entry};

impl Verifier {
    /// Check 4.
    pub(super) fn check_4(&mut self, m: &Manifest) -> CheckReport {
        let mut c4 = CheckReport::new(4, "voter roll");
        // The state's commitments (applied by the board's rules), or, without a state, the
        // verifier's own list.
        let mut commitments = self
            .state
            .take()
            .map(ElectionState::into_commitments)
            .unwrap_or_default();
        for (index, c) in std::mem::take(&mut self.registrations) {
            match c {
                Ok(c) => commitments.push(c),
                Err(e) => c4.fail(Some(index), format!("bad registration: {e}")),
            }
        }
        c4.count("registrations", commitments.len() as u64);
        match &self.frozen {
            None => c4.not_applicable("the roll is not frozen"),
            Some((fi, frozen)) => {
                for late in &self.late_registrations {
                    c4.fail(
                        Some(*late),
                        format!("registration after the roll was frozen (entry {fi})"),
                    );
                }
                match frozen {
                    Ok(Entry::RollFrozen { root, .. }) => {
                        match (self.root, VoterRoll::new(m.roll_depth, commitments)) {
                            (None, _) => {
                                c4.fail(Some(*fi), "the frozen root is not a field element")
                            }
                            (_, Err(e)) => c4.fail(Some(*fi), format!("the roll: {e}")),
                            (Some(r), Ok(roll)) => {
                                if roll.root() != r {
                                    c4.fail(
                                        Some(*fi),
                                        format!(
                                            "the frozen root is {}, the registered commitments give {}",
                                            root.to_hex(),
                                            hex::encode(fr_to_bytes(&roll.root()))
                                        ),
                                    );
                                }
                            }
                        }
                    }
                    _ => c4.fail(Some(*fi), "the roll-frozen entry does not decode"),
                }
            }
        }
        // The roll's capacity and the frozen count: `ElectionState::apply`.
        self.name_refused(4, &mut c4);
        c4.failures.sort_by_key(|f| f.index);
        c4
    }
}
