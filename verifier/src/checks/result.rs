//! Check 8: the published counts are what the valid partial decryptions give.

use super::Verifier;
use crate::report::CheckReport;
use rand_core::OsRng;
use zkvote_protocol::Entry;
use zkvote_tally::{
    verify_result, Aggregate, CeremonyContext, CeremonyError, CeremonyOutcome, PartialDecryption,
};

impl Verifier {
    /// Check 8.
    pub(super) fn check_8(
        &self,
        ceremony: &Result<CeremonyContext, CeremonyError>,
        outcome: &Option<CeremonyOutcome>,
        agg: &Aggregate,
        valid_partials: &[PartialDecryption],
    ) -> CheckReport {
        let mut c8 = CheckReport::new(8, "published result");
        match (&self.result, &ceremony, &outcome) {
            (None, _, _) => c8.not_applicable("no result published"),
            (Some((idx, Ok(Entry::Result { counts, .. }))), Ok(cctx), Some(o)) => {
                if let Err(e) = verify_result(cctx, o, agg, valid_partials, counts, &mut OsRng) {
                    c8.fail(Some(*idx), e.to_string());
                }
                c8.count("contests", counts.len() as u64);
            }
            (Some((idx, Ok(Entry::Result { .. }))), _, _) => c8.fail(
                Some(*idx),
                "no valid ceremony outcome (check 3) to check the result against",
            ),
            (Some((idx, _)), _, _) => c8.fail(Some(*idx), "the result entry does not decode"),
        }
        c8
    }
}
