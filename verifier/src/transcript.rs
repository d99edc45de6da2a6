//! A setup ceremony's transcript on its own (`zkvote setup verify`, `docs/protocol.md`
//! section 9.8): the manifest, every `setup-contribution` entry and the `setup-final`
//! entry, replayed through the election state's rules from the deterministic initial
//! parameters. Each contribution's signature, proofs of knowledge and update are checked,
//! the order rules (phase 2 after every trustee's phase 1, the close after every
//! trustee's phase 2) applied, and the final entry must pin exactly the transcript's keys.
//! The log around it (Merkle tree, checkpoint) is `zkvote verify`'s business (check 1).

use std::fmt;
use std::io::BufRead;
use zkvote_circuits::setup::{CircuitShape, SetupPhase};
use zkvote_protocol::record::LineReader;
use zkvote_protocol::setup::Contributor;
use zkvote_protocol::{ElectionState, Entry, EntryKind, RecordError};

/// Why a transcript could not be read or replayed at all.
#[derive(Debug, thiserror::Error)]
pub enum TranscriptError {
    /// The record file could not be read.
    #[error(transparent)]
    Record(#[from] RecordError),
    /// An entry of the transcript does not decode.
    #[error("entry {index}: {message}")]
    Entry {
        /// The entry's index in the log.
        index: u64,
        /// What is wrong.
        message: String,
    },
    /// The first entry is not a manifest the election state accepts.
    #[error("the transcript does not start with a valid manifest: {0}")]
    Genesis(String),
    /// A version-1 election has no ceremony.
    #[error("a version-1 election has no setup ceremony: its eligibility keys come from a single-party setup (a trust point)")]
    Version1,
}

/// The keys a closed ceremony pins.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PinnedKeys {
    /// The verifying key's hash (`docs/protocol.md` section 9.6).
    pub vk_hash: [u8; 32],
    /// The proving key's hash (section 9.8.6).
    pub pk_hash: [u8; 32],
}

/// What replaying a transcript found.
#[derive(Clone, Debug)]
pub struct TranscriptReport {
    /// The election.
    pub election_id: [u8; 32],
    /// The roll depth of its eligibility circuit.
    pub roll_depth: u8,
    /// The circuit's domain size (the phase-1 parameters' size).
    pub domain_size: usize,
    /// Every contributor whose contribution verified, in log order.
    pub contributors: Vec<Contributor>,
    /// The setup entries refused, by log index, with the reason.
    pub refused: Vec<(u64, String)>,
    /// The pinned keys, once a `setup-final` entry verified.
    pub keys: Option<PinnedKeys>,
}

impl TranscriptReport {
    /// Every setup entry verified.
    pub fn ok(&self) -> bool {
        self.refused.is_empty()
    }
}

/// Reads a record's manifest and setup entries: the genesis entry and the setup entries
/// that follow it, up to the first entry of another kind (nothing of the ceremony may
/// follow one: the phase rule, which `zkvote verify` checks for the whole record).
pub fn read_transcript(reader: impl BufRead) -> Result<Vec<(u64, Entry)>, TranscriptError> {
    let mut out = Vec::new();
    for line in LineReader::new(reader.lines()) {
        let line = line?;
        let setup = matches!(
            EntryKind::from_name(&line.kind),
            Some(EntryKind::SetupContribution | EntryKind::SetupFinal)
        );
        if !out.is_empty() && !setup {
            break;
        }
        let entry = Entry::decode(&line.data).map_err(|e| TranscriptError::Entry {
            index: line.index,
            message: e.to_string(),
        })?;
        out.push((line.index, entry));
    }
    Ok(out)
}

/// Replays a transcript: the genesis entry first, then the setup entries in log order.
/// An entry that does not verify is named and changes nothing; the replay goes on.
pub fn verify_transcript(entries: &[(u64, Entry)]) -> Result<TranscriptReport, TranscriptError> {
    let Some(((_, genesis), rest)) = entries.split_first() else {
        return Err(TranscriptError::Genesis("the transcript is empty".into()));
    };
    let mut state = ElectionState::from_genesis(genesis)
        .map_err(|e| TranscriptError::Genesis(e.to_string()))?;
    if state.setup().is_none() {
        return Err(TranscriptError::Version1);
    }
    let mut refused = Vec::new();
    for (index, entry) in rest {
        if let Err(e) = state.apply(entry) {
            refused.push((*index, format!("{} entry refused: {e}", entry.kind())));
        }
    }
    let manifest = state.manifest();
    let setup = state.setup().expect("a version-2 state");
    let keys = match (state.proving_key_hash(), state.verifier()) {
        (Some(pk_hash), Some(verifier)) => Some(PinnedKeys {
            vk_hash: *verifier.vk_hash(),
            pk_hash: *pk_hash,
        }),
        _ => None,
    };
    Ok(TranscriptReport {
        election_id: manifest.election_id,
        roll_depth: manifest.roll_depth,
        domain_size: CircuitShape::new(manifest.roll_depth).domain_size(),
        contributors: setup.contributors().to_vec(),
        refused,
        keys,
    })
}

impl fmt::Display for TranscriptReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "setup ceremony of election {} (roll depth {}, domain size {})",
            hex::encode(self.election_id),
            self.roll_depth,
            self.domain_size
        )?;
        for phase in [SetupPhase::One, SetupPhase::Two] {
            let who: Vec<&Contributor> = self
                .contributors
                .iter()
                .filter(|c| c.phase == phase)
                .collect();
            writeln!(f, "phase {}: {} contributions", u8::from(phase), who.len())?;
            for (i, c) in who.iter().enumerate() {
                let role = match c.trustee {
                    Some(t) => format!("trustee {t}"),
                    None => "outside contributor".to_string(),
                };
                writeln!(
                    f,
                    "  {}. {} ({role}, key {})",
                    i + 1,
                    c.name,
                    hex::encode(c.key)
                )?;
            }
        }
        for (index, why) in &self.refused {
            writeln!(f, "REFUSED entry {index}: {why}")?;
        }
        match &self.keys {
            Some(k) => {
                writeln!(
                    f,
                    "closed: the setup-final entry pins exactly the transcript's keys"
                )?;
                writeln!(f, "  verifying-key hash {}", hex::encode(k.vk_hash))?;
                writeln!(f, "  proving-key hash   {}", hex::encode(k.pk_hash))?;
            }
            None => writeln!(f, "not closed: no keys are pinned yet")?,
        }
        if self.ok() {
            write!(
                f,
                "the transcript verifies: its keys are sound unless every contributor to phase 1, \
                 or every contributor to phase 2, colluded"
            )
        } else {
            write!(f, "the transcript does NOT verify")
        }
    }
}
