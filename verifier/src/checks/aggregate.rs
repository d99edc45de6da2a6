//! Check 6: the aggregate published with the result is the sum of the counted ballots.

use super::Verifier;
use crate::report::CheckReport;
use zkvote_core::Manifest;
use zkvote_protocol::{encode_aggregate, Entry};
use zkvote_tally::Aggregate;

impl Verifier {
    /// Check 6. Returns the report and the aggregate of the counted ballots.
    pub(super) fn check_6(&mut self, m: &Manifest) -> (CheckReport, Aggregate) {
        let mut c6 = CheckReport::new(6, "aggregate of the counted ballots");
        let agg = self.aggregate.take().unwrap_or_else(|| Aggregate::empty(m));
        c6.count("ballots added", agg.ballots);
        if let Some(why) = &self.broken {
            c6.fail(None, why.clone());
        }
        match &self.result {
            None => c6.not_applicable("no result published: nothing to compare with"),
            Some((
                idx,
                Ok(Entry::Result {
                    ballots_counted,
                    aggregate: published,
                    ..
                }),
            )) => {
                if *ballots_counted != agg.ballots {
                    c6.fail(
                        Some(*idx),
                        format!(
                            "the result says {ballots_counted} ballots were counted; the record's counted ballots are {}",
                            agg.ballots
                        ),
                    );
                } else if *published != encode_aggregate(&agg) {
                    c6.fail(
                        Some(*idx),
                        "the published aggregate is not the sum of the counted ballots",
                    );
                }
            }
            Some((idx, _)) => c6.fail(Some(*idx), "the result entry does not decode"),
        }
        (c6, agg)
    }
}
