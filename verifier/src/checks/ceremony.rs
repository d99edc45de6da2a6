//! Check 3: the key ceremony (every dealing and complaint signed by its author, one per
//! author) and the joint key and qualified dealers of the open entry.

use super::Verifier;
use crate::report::CheckReport;
use rand_core::OsRng;
use zkvote_core::Manifest;
use zkvote_protocol::Entry;
use zkvote_tally::{
    verify_ceremony, CeremonyContext, CeremonyError, CeremonyOutcome, Complaint, Dealing,
};

impl Verifier {
    /// Check 3. Returns the report, the ceremony's parameters and, once voting opened,
    /// its outcome.
    pub(super) fn check_3(
        &self,
        m: &Manifest,
    ) -> (
        CheckReport,
        Result<CeremonyContext, CeremonyError>,
        Option<CeremonyOutcome>,
    ) {
        let mut c3 = CheckReport::new(3, "key ceremony and joint key");
        let mut outcome = None;
        let ceremony = CeremonyContext::from_manifest(m);
        match &ceremony {
            Err(e) => c3.fail(Some(0), format!("the manifest's trustees: {e}")),
            Ok(cctx) => {
                let mut dealings: Vec<Dealing> = Vec::new();
                let mut complaints: Vec<Complaint> = Vec::new();
                for (index, decoded) in &self.ceremony_messages {
                    let entry = match decoded {
                        Ok(entry) => entry,
                        Err(e) => {
                            c3.fail(Some(*index), format!("does not decode: {e}"));
                            continue;
                        }
                    };
                    match entry {
                        Entry::Dealing { dealing } => dealings.push(dealing.clone()),
                        Entry::Complaint { complaint } => complaints.push(complaint.clone()),
                        _ => {}
                    }
                }
                // Signatures, copies and the open entry's outcome: `ElectionState::apply`.
                self.name_refused(3, &mut c3);
                c3.count("dealings", dealings.len() as u64);
                c3.count("complaints", complaints.len() as u64);
                match &self.open {
                    None => c3.not_applicable("voting was never opened: the ceremony is not final"),
                    Some((oi, open)) => {
                        // The outcome the election state verified when it applied the open
                        // entry; computed here only when it refused that entry (named
                        // above) or has no state.
                        let verified = match self.state.as_ref().and_then(|s| s.outcome()) {
                            Some(o) => Ok(o.clone()),
                            None => verify_ceremony(cctx, &dealings, &complaints, &mut OsRng),
                        };
                        match verified {
                            Err(e) => c3.fail(Some(*oi), format!("the ceremony failed: {e}")),
                            Ok(o) => {
                                c3.count("qualified", o.qualified.len() as u64);
                                c3.count("disqualified", o.disqualified.len() as u64);
                                if open.is_err() {
                                    c3.fail(Some(*oi), "the open entry does not decode");
                                }
                                outcome = Some(o);
                            }
                        }
                    }
                }
            }
        }
        c3.failures.sort_by_key(|f| f.index);
        (c3, ceremony, outcome)
    }
}
