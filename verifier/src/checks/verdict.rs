//! Check 5 in two stages. The first judges each ballot entry on its own (does it decode,
//! do its proofs hold against the election's keys and frozen root) and adds the valid ones
//! into a running sum; it is the expensive stage and needs nothing but the record's prefix,
//! so it can run over ranges of the record on separate machines ([`crate::split`]). The
//! second applies the position, replay and nullifier rules to the verdicts in log order
//! and takes every valid ballot that is not counted back out of the sum: it needs the
//! whole record's order and is cheap.

use serde::{Deserialize, Serialize};
use zkvote_protocol::EncodedCiphertext;

/// What the first stage established about one ballot entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    /// The entry's log index.
    pub index: u64,
    /// What it is.
    #[serde(flatten)]
    pub outcome: Outcome,
}

/// A ballot entry's outcome in the first stage.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Not a ballot that can be checked: named by check 5 with `ballot`, and by check 1
    /// with `log` when the line's kind is not the entry's.
    Refused {
        /// Check 1's failure, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        log: Option<String>,
        /// Check 5's failure.
        ballot: String,
    },
    /// A ballot whose proofs do not hold (check 5 names it with this reason); the position
    /// rule still applies to it.
    Invalid {
        /// Why.
        reason: String,
    },
    /// A ballot whose proofs hold: what the rules need of it.
    Valid(CastBallot),
}

/// What the rules need of a valid ballot: its nullifier and its ciphertexts (each
/// selection's compressed `A || B` in the manifest's order; the `A` halves are the keys of
/// the replay rule).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CastBallot {
    /// The nullifier (32 bytes, hex).
    #[serde(with = "zkvote_core::codec::serde_hex32")]
    pub nullifier: [u8; 32],
    /// The ciphertexts.
    pub ciphertexts: Vec<EncodedCiphertext>,
}

impl CastBallot {
    /// The replay rule's keys: every selection's `A`.
    pub fn keys(&self) -> impl Iterator<Item = &[u8; 32]> {
        self.ciphertexts
            .iter()
            .map(|c| c.as_bytes()[..32].try_into().expect("32 bytes"))
    }

    /// The ciphertexts as one byte string (what the rules keep under
    /// `last-ballot-counts`).
    pub fn ciphertext_bytes(&self) -> Vec<u8> {
        self.ciphertexts
            .iter()
            .flat_map(|c| c.as_bytes().iter().copied())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_read_back_as_written() {
        let c: EncodedCiphertext =
            serde_json::from_str(&format!("\"{}\"", "ab".repeat(64))).unwrap();
        for outcome in [
            Outcome::Refused {
                log: Some("the line says".into()),
                ballot: "does not decode".into(),
            },
            Outcome::Refused {
                log: None,
                ballot: "x".into(),
            },
            Outcome::Invalid { reason: "r".into() },
            Outcome::Valid(CastBallot {
                nullifier: [7; 32],
                ciphertexts: vec![c, c],
            }),
        ] {
            let v = Verdict { index: 9, outcome };
            let line = serde_json::to_string(&v).unwrap();
            assert_eq!(serde_json::from_str::<Verdict>(&line).unwrap(), v, "{line}");
        }
        let bad = r#"{"index":1,"valid":{"nullifier":"0011","ciphertexts":[]}}"#;
        assert!(serde_json::from_str::<Verdict>(bad).is_err());
    }
}
