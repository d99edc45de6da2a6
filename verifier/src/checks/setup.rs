//! Check 9: the setup ceremony of the eligibility keys (`docs/protocol.md` sections 9.8
//! and 12.1). The election state applies every `setup-contribution` entry (signature,
//! trustees before phase 2, the contribution against the transcript) and the `setup-final`
//! entry (every trustee in phase 2, exactly the transcript's keys); this check names what
//! it refused and every contributor. A version-1 election has no ceremony: its
//! single-party setup is reported as a trust point.

use super::Verifier;
use crate::report::CheckReport;
use zkvote_circuits::setup::SetupPhase;
use zkvote_core::Manifest;

/// The check's name.
pub(super) const NAME: &str = "setup ceremony of the eligibility keys";

impl Verifier {
    /// Check 9.
    pub(super) fn check_9(&mut self, m: &Manifest) -> CheckReport {
        let mut c = CheckReport::new(9, NAME);
        if m.version() == 1 {
            c.not_applicable(
                "trust point: a version-1 election's eligibility keys come from a single-party \
                 setup; whoever ran it could prove eligibility for any nullifier",
            );
            return c;
        }
        self.name_refused(9, &mut c);
        let Some(setup) = self.state.as_ref().and_then(|s| s.setup()) else {
            c.fail(None, "the election state could not be built (check 2 or 3)");
            return c;
        };
        let [one, two] = setup.ceremony().counts();
        c.count("phase-1 contributions", one as u64);
        c.count("phase-2 contributions", two as u64);
        let closed = self
            .state
            .as_ref()
            .and_then(|s| s.proving_key_hash())
            .is_some();
        let mut names = Vec::new();
        for phase in [SetupPhase::One, SetupPhase::Two] {
            let who: Vec<String> = setup
                .contributors()
                .iter()
                .filter(|x| x.phase == phase)
                .map(|x| match x.trustee {
                    Some(i) => format!("{} (trustee {i})", x.name),
                    None => format!("{} (key {})", x.name, hex::encode(&x.key[..8])),
                })
                .collect();
            names.push(format!("phase {}: {}", u8::from(phase), who.join(", ")));
        }
        let contributors = names.join("; ");
        if closed {
            c.note = Some(format!("contributors: {contributors}"));
        } else {
            c.not_applicable(format!(
                "the ceremony has not closed (no setup-final entry); contributors so far: {contributors}"
            ));
        }
        c
    }
}
