//! The typed entries of an election's log. An entry's bytes (its leaf data) are its
//! compact JSON serialization, exactly as stored; `docs/protocol.md` lists the fields.

use serde::{Deserialize, Serialize};
use zkvote_circuits::complete::CompleteBallot;
use zkvote_core::{Element, Manifest};
use zkvote_tally::{Aggregate, Complaint, Dealing, PartialDecryption};

/// One log entry.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Entry {
    /// Genesis: the manifest and the eligibility verifying key (compressed, hex).
    Manifest {
        /// The manifest.
        manifest: Manifest,
        /// The Groth16 verifying key, compressed, hex; its hash is the manifest's.
        groth16_vk: String,
    },
    /// A trustee's dealing.
    Dealing {
        /// The signed dealing.
        dealing: Dealing,
    },
    /// A trustee's complaint.
    Complaint {
        /// The signed complaint.
        complaint: Complaint,
    },
    /// A voter's credential commitment (field element, hex).
    Registration {
        /// The commitment.
        commitment: String,
    },
    /// The roll is frozen: its root and number of registrations.
    RollFrozen {
        /// Root (field element, hex).
        root: String,
        /// Number of registrations.
        count: u64,
    },
    /// Voting opens under the joint key from the ceremony.
    Open {
        /// The joint election key.
        joint_key: Element,
        /// Qualified dealers.
        qualified: Vec<u32>,
    },
    /// A ballot.
    Ballot {
        /// The complete ballot.
        ballot: CompleteBallot,
    },
    /// Voting closes.
    Close {},
    /// A trustee's partial decryption of the aggregate.
    PartialDecryption {
        /// The signed partial decryption.
        partial: PartialDecryption,
    },
    /// The published result.
    Result {
        /// Number of ballots counted (those added into the aggregate).
        ballots_counted: u64,
        /// The decrypted aggregate: per contest and option, `hex(A || B)` (64 bytes).
        aggregate: Vec<Vec<String>>,
        /// Counts per contest and option.
        counts: Vec<Vec<u64>>,
    },
}

/// The kinds of entry, in the order of an election's phases.
pub const KINDS: [&str; 10] = [
    "manifest",
    "dealing",
    "complaint",
    "registration",
    "roll-frozen",
    "open",
    "ballot",
    "close",
    "partial-decryption",
    "result",
];

impl Entry {
    /// The entry's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("entries serialize")
    }

    /// Decodes an entry's bytes, accepting only its one canonical form: the bytes must
    /// be exactly [`Entry::to_bytes`] of what they decode to (compact JSON, fields in
    /// the order of `docs/protocol.md`, numbers in plain decimal, no duplicate keys).
    pub fn decode(bytes: &[u8]) -> Result<Entry, String> {
        let entry: Entry = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        if entry.to_bytes() != bytes {
            return Err(format!(
                "the {} entry is not in its canonical encoding (compact JSON, fields in \
                 protocol order, plain decimal numbers)",
                entry.kind()
            ));
        }
        Ok(entry)
    }

    /// The key of which an election's log holds at most one entry (`docs/protocol.md`
    /// section 12.1): `dealing/<dealer>`, `complaint/<accuser>/<dealer>`,
    /// `partial-decryption/<trustee>`; `None` for the other kinds. Signed trustee messages
    /// are public, so anyone can re-post a copy: the board refuses it (in the appending
    /// transaction) and the verifier names it, so clients never see one author twice.
    pub fn unique_key(&self) -> Option<String> {
        match self {
            Entry::Dealing { dealing } => Some(format!("dealing/{}", dealing.dealer)),
            Entry::Complaint { complaint } => Some(format!(
                "complaint/{}/{}",
                complaint.accuser, complaint.dealer
            )),
            Entry::PartialDecryption { partial } => {
                Some(format!("partial-decryption/{}", partial.trustee))
            }
            _ => None,
        }
    }

    /// The entry's kind, as in its `kind` field.
    pub fn kind(&self) -> &'static str {
        match self {
            Entry::Manifest { .. } => "manifest",
            Entry::Dealing { .. } => "dealing",
            Entry::Complaint { .. } => "complaint",
            Entry::Registration { .. } => "registration",
            Entry::RollFrozen { .. } => "roll-frozen",
            Entry::Open { .. } => "open",
            Entry::Ballot { .. } => "ballot",
            Entry::Close {} => "close",
            Entry::PartialDecryption { .. } => "partial-decryption",
            Entry::Result { .. } => "result",
        }
    }
}

/// The phases in which an entry of `kind` may be appended, and the phase it moves the
/// election to (none: it stays); `None` for an unknown kind. The one statement of the rule
/// that the board enforces and the verifier checks (`docs/protocol.md` section 13, check 1).
/// A `manifest` entry is the genesis only: index 0, before any phase, moving to `setup`.
pub fn phase_rule(kind: &str) -> Option<(&'static [&'static str], Option<&'static str>)> {
    Some(match kind {
        "manifest" => (&[], Some("setup")),
        "registration" => (&["setup"], None),
        "roll-frozen" => (&["setup"], Some("frozen")),
        "dealing" | "complaint" => (&["setup", "frozen"], None),
        "open" => (&["frozen"], Some("open")),
        "ballot" => (&["open"], None),
        "close" => (&["open"], Some("closed")),
        "partial-decryption" => (&["closed"], None),
        "result" => (&["closed"], Some("tallied")),
        _ => return None,
    })
}

/// The aggregate as published in a result entry: per contest and option, `hex(A || B)`.
pub fn encode_aggregate(aggregate: &Aggregate) -> Vec<Vec<String>> {
    aggregate
        .contests
        .iter()
        .map(|row| {
            row.iter()
                .map(|c| {
                    let mut bytes = c.a.compress().to_bytes().to_vec();
                    bytes.extend_from_slice(c.b.compress().as_bytes());
                    hex::encode(bytes)
                })
                .collect()
        })
        .collect()
}
