//! The verification report: per numbered check, its status, counts and failures.

use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;

/// Most failures listed per check (the total is always given).
pub const MAX_LISTED_FAILURES: usize = 50;

/// Outcome of one check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Everything checked holds.
    Pass,
    /// Something is wrong (see the failures).
    Fail,
    /// Nothing to check yet (e.g. no result published): not a failure.
    NotApplicable,
}

/// One thing that is wrong.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Failure {
    /// The log index of the entry at fault, when there is one.
    pub index: Option<u64>,
    /// What is wrong.
    pub message: String,
}

/// The report of one numbered check.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CheckReport {
    /// Its number (1 to 8), as in `docs/protocol.md`.
    pub number: u8,
    /// Its name.
    pub name: &'static str,
    /// Outcome.
    pub status: Status,
    /// What was counted (entries, ballots, ...).
    pub counts: BTreeMap<&'static str, u64>,
    /// Number of failures.
    pub failure_count: u64,
    /// The first failures, in log order.
    pub failures: Vec<Failure>,
    /// Why the check does not apply, when it does not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl CheckReport {
    pub(crate) fn new(number: u8, name: &'static str) -> Self {
        CheckReport {
            number,
            name,
            status: Status::Pass,
            counts: BTreeMap::new(),
            failure_count: 0,
            failures: Vec::new(),
            note: None,
        }
    }

    /// Records a failure.
    pub(crate) fn fail(&mut self, index: Option<u64>, message: impl Into<String>) {
        self.status = Status::Fail;
        self.failure_count += 1;
        if self.failures.len() < MAX_LISTED_FAILURES {
            self.failures.push(Failure {
                index,
                message: message.into(),
            });
        }
    }

    pub(crate) fn count(&mut self, what: &'static str, n: u64) {
        self.counts.insert(what, n);
    }

    pub(crate) fn not_applicable(&mut self, why: impl Into<String>) {
        if self.status == Status::Pass {
            self.status = Status::NotApplicable;
        }
        self.note = Some(why.into());
    }

    /// Whether entry `index` is named by a failure.
    pub fn names(&self, index: u64) -> bool {
        self.failures.iter().any(|f| f.index == Some(index))
    }
}

/// The whole report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The election id (hex), when the manifest could be read.
    pub election_id: Option<String>,
    /// Number of entries in the record.
    pub entries: u64,
    /// The eight checks, in order.
    pub checks: Vec<CheckReport>,
}

impl Report {
    /// True when no check failed.
    pub fn ok(&self) -> bool {
        self.checks.iter().all(|c| c.status != Status::Fail)
    }

    /// Check number `n` (1-based).
    pub fn check(&self, n: u8) -> &CheckReport {
        &self.checks[(n - 1) as usize]
    }

    /// Whether check `n` failed, naming entry `index` among its failures when one is given.
    pub fn fails(&self, n: u8, index: Option<u64>) -> bool {
        let c = self.check(n);
        c.status == Status::Fail && index.map_or(true, |i| c.names(i))
    }

    /// The report as JSON.
    pub fn to_json(&self) -> String {
        let mut v = serde_json::to_value(self).expect("reports serialize");
        v["ok"] = serde_json::Value::Bool(self.ok());
        serde_json::to_string_pretty(&v).expect("reports serialize")
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "election {} ({} entries)",
            self.election_id.as_deref().unwrap_or("<unknown>"),
            self.entries
        )?;
        for c in &self.checks {
            let status = match c.status {
                Status::Pass => "PASS",
                Status::Fail => "FAIL",
                Status::NotApplicable => "n/a ",
            };
            let counts: Vec<String> = c.counts.iter().map(|(k, v)| format!("{k} {v}")).collect();
            writeln!(
                f,
                "  [{status}] {}. {} ({})",
                c.number,
                c.name,
                counts.join(", ")
            )?;
            if let Some(note) = &c.note {
                writeln!(f, "         {note}")?;
            }
            for x in &c.failures {
                match x.index {
                    Some(i) => writeln!(f, "         entry {i}: {}", x.message)?,
                    None => writeln!(f, "         {}", x.message)?,
                }
            }
            if c.failure_count > c.failures.len() as u64 {
                writeln!(
                    f,
                    "         ... and {} more",
                    c.failure_count - c.failures.len() as u64
                )?;
            }
        }
        let failed = self
            .checks
            .iter()
            .filter(|c| c.status == Status::Fail)
            .count();
        if failed == 0 {
            write!(f, "every check passed")
        } else {
            write!(f, "{failed} check(s) FAILED")
        }
    }
}
