//! Check 7: every partial decryption is its trustee's share of the aggregate (one per
//! trustee), and a result has at least the threshold of valid ones.

use super::Verifier;
use crate::report::CheckReport;
use rand_core::OsRng;
use zkvote_protocol::Entry;
use zkvote_tally::{
    verify_partial_decryption, Aggregate, CeremonyContext, CeremonyError, CeremonyOutcome,
    PartialDecryption,
};

impl Verifier {
    /// Check 7. Returns the report and the partial decryptions that verify.
    pub(super) fn check_7(
        &self,
        ceremony: &Result<CeremonyContext, CeremonyError>,
        outcome: &Option<CeremonyOutcome>,
        agg: &Aggregate,
    ) -> (CheckReport, Vec<PartialDecryption>) {
        let mut c7 = CheckReport::new(7, "partial decryptions");
        let mut valid_partials: Vec<PartialDecryption> = Vec::new();
        match (&ceremony, &outcome) {
            (Ok(cctx), Some(o)) => {
                for (idx, decoded) in &self.partials {
                    match decoded {
                        Ok(Entry::PartialDecryption { partial }) => {
                            if let Err(e) =
                                verify_partial_decryption(cctx, o, agg, partial, &mut OsRng)
                            {
                                c7.fail(Some(*idx), e.to_string());
                            } else {
                                valid_partials.push(partial.clone());
                            }
                        }
                        Ok(_) => {}
                        Err(e) => c7.fail(Some(*idx), format!("does not decode: {e}")),
                    }
                }
                if self.result.is_some() && (valid_partials.len() as u32) < cctx.threshold {
                    c7.fail(
                        self.result.as_ref().map(|r| r.0),
                        format!(
                            "{} valid partial decryptions, the threshold is {}",
                            valid_partials.len(),
                            cctx.threshold
                        ),
                    );
                }
                if self.partials.is_empty() && self.result.is_none() {
                    c7.not_applicable("no partial decryptions yet");
                }
            }
            _ if self.partials.is_empty() => c7.not_applicable("no partial decryptions"),
            _ => c7.fail(
                None,
                "no valid ceremony outcome (check 3) to check them against",
            ),
        }
        self.name_refused(7, &mut c7);
        c7.failures.sort_by_key(|f| f.index);
        c7.count("partial decryptions", self.partials.len() as u64);
        c7.count("valid", valid_partials.len() as u64);
        (c7, valid_partials)
    }
}
