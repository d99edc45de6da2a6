//! The protocol's vocabulary of entry kinds and election phases, and the one rule that
//! says which entry may follow in which phase (`docs/protocol.md` section 12.1).

use serde::{Deserialize, Serialize};
use std::fmt;

/// What a log entry is. Its name is the entry's `kind` field and the record line's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EntryKind {
    /// The manifest (genesis, index 0).
    Manifest,
    /// A contribution to the setup ceremony of the eligibility keys (version 2).
    SetupContribution,
    /// The setup ceremony closed, its keys pinned (version 2).
    SetupFinal,
    /// A trustee's ceremony dealing.
    Dealing,
    /// A trustee's ceremony complaint.
    Complaint,
    /// A voter registration (credential commitment).
    Registration,
    /// The frozen voter roll.
    RollFrozen,
    /// Voting opened under the joint key.
    Open,
    /// A ballot.
    Ballot,
    /// Voting closed.
    Close,
    /// A trustee's partial decryption of the aggregate.
    PartialDecryption,
    /// The published result.
    Result,
}

impl EntryKind {
    /// Every kind, in the order of an election's phases.
    pub const ALL: [EntryKind; 12] = [
        EntryKind::Manifest,
        EntryKind::SetupContribution,
        EntryKind::SetupFinal,
        EntryKind::Dealing,
        EntryKind::Complaint,
        EntryKind::Registration,
        EntryKind::RollFrozen,
        EntryKind::Open,
        EntryKind::Ballot,
        EntryKind::Close,
        EntryKind::PartialDecryption,
        EntryKind::Result,
    ];

    /// The kind's name, as in entries, record lines and the store.
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Manifest => "manifest",
            EntryKind::SetupContribution => "setup-contribution",
            EntryKind::SetupFinal => "setup-final",
            EntryKind::Dealing => "dealing",
            EntryKind::Complaint => "complaint",
            EntryKind::Registration => "registration",
            EntryKind::RollFrozen => "roll-frozen",
            EntryKind::Open => "open",
            EntryKind::Ballot => "ballot",
            EntryKind::Close => "close",
            EntryKind::PartialDecryption => "partial-decryption",
            EntryKind::Result => "result",
        }
    }

    /// The kind with this name.
    pub fn from_name(name: &str) -> Option<EntryKind> {
        EntryKind::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// The phases in which an entry of this kind may be appended (none for the manifest,
    /// which only starts a log), and the phase it moves the election to (`None`: the
    /// election stays where it is). [`transition`] applies it.
    pub fn rule(self) -> (&'static [Phase], Option<Phase>) {
        use Phase::*;
        match self {
            EntryKind::Manifest => (&[], Some(Setup)),
            EntryKind::SetupContribution => (&[Ceremony], None),
            EntryKind::SetupFinal => (&[Ceremony], Some(Setup)),
            EntryKind::Registration => (&[Setup], None),
            EntryKind::RollFrozen => (&[Setup], Some(Frozen)),
            EntryKind::Dealing | EntryKind::Complaint => (&[Ceremony, Setup, Frozen], None),
            EntryKind::Open => (&[Frozen], Some(Open)),
            EntryKind::Ballot => (&[Open], None),
            EntryKind::Close => (&[Open], Some(Closed)),
            EntryKind::PartialDecryption => (&[Closed], None),
            EntryKind::Result => (&[Closed], Some(Tallied)),
        }
    }
}

impl EntryKind {
    /// Whether an entry of this kind moves the election to another phase.
    pub fn moves_phase(self) -> bool {
        self.rule().1.is_some()
    }
}

impl fmt::Display for EntryKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where an election is in its lifecycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    /// The setup ceremony of the eligibility keys (version 2), and the trustees' key
    /// ceremony.
    Ceremony,
    /// Registrations and the trustees' key ceremony.
    Setup,
    /// Roll frozen; the ceremony may continue.
    Frozen,
    /// Ballots accepted.
    Open,
    /// Voting closed; trustees decrypt.
    Closed,
    /// Result published.
    Tallied,
}

impl Phase {
    /// Every phase, in order.
    pub const ALL: [Phase; 6] = [
        Phase::Ceremony,
        Phase::Setup,
        Phase::Frozen,
        Phase::Open,
        Phase::Closed,
        Phase::Tallied,
    ];

    /// The phase's name (the board's status and store use it).
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Ceremony => "ceremony",
            Phase::Setup => "setup",
            Phase::Frozen => "frozen",
            Phase::Open => "open",
            Phase::Closed => "closed",
            Phase::Tallied => "tallied",
        }
    }

    /// The phase with this name.
    pub fn from_name(name: &str) -> Option<Phase> {
        Phase::ALL.into_iter().find(|p| p.as_str() == name)
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An entry that the phase rule does not allow where it stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    /// A log must start with its manifest.
    #[error("a log starts with its manifest, not a {0} entry")]
    NoGenesis(EntryKind),
    /// A manifest after the genesis.
    #[error("a manifest entry is allowed only at index 0")]
    SecondManifest,
    /// The entry is not allowed in the election's phase.
    #[error("a {kind} entry is not allowed in phase {phase}")]
    WrongPhase {
        /// The entry's kind.
        kind: EntryKind,
        /// The election's phase.
        phase: Phase,
    },
}

/// The phase an election starts in, after its manifest of `version`: `setup` for version
/// 1, `ceremony` for version 2 (whose eligibility keys come from a setup ceremony that
/// ends before the first registration).
pub fn genesis_phase(version: u32) -> Phase {
    if version >= 2 {
        Phase::Ceremony
    } else {
        Phase::Setup
    }
}

/// The one rule of which entry may follow in which phase: the phase an election is in
/// after an entry of `kind`, given the phase it was in (`None`: the log is empty; the
/// manifest then starts a version-1 election, see [`genesis_phase`]). The board's append
/// transaction, the board's replay, [`crate::ElectionState::apply`] and the verifier's
/// check 1 all call this function.
pub fn transition(phase: Option<Phase>, kind: EntryKind) -> Result<Phase, TransitionError> {
    let (allowed, next) = kind.rule();
    match (phase, kind) {
        (None, EntryKind::Manifest) => Ok(genesis_phase(1)),
        (None, other) => Err(TransitionError::NoGenesis(other)),
        (Some(_), EntryKind::Manifest) => Err(TransitionError::SecondManifest),
        (Some(p), _) if allowed.contains(&p) => Ok(next.unwrap_or(p)),
        (Some(p), _) => Err(TransitionError::WrongPhase { kind, phase: p }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_match_serde() {
        for k in EntryKind::ALL {
            assert_eq!(EntryKind::from_name(k.as_str()), Some(k));
            assert_eq!(
                serde_json::to_string(&k).unwrap(),
                format!("\"{}\"", k.as_str())
            );
        }
        for p in Phase::ALL {
            assert_eq!(Phase::from_name(p.as_str()), Some(p));
            assert_eq!(
                serde_json::to_string(&p).unwrap(),
                format!("\"{}\"", p.as_str())
            );
        }
        assert_eq!(EntryKind::from_name("Ballot"), None);
    }

    #[test]
    fn the_lifecycle_in_order_is_allowed() {
        use EntryKind::*;
        let mut phase = None;
        for k in [
            Manifest,
            Dealing,
            Registration,
            Complaint,
            RollFrozen,
            Dealing,
            Open,
            Ballot,
            Close,
            PartialDecryption,
            Result,
        ] {
            phase = Some(transition(phase, k).unwrap());
        }
        assert_eq!(phase, Some(Phase::Tallied));
    }

    #[test]
    fn a_version_2_lifecycle_starts_with_the_setup_ceremony() {
        use EntryKind::*;
        let mut phase = Some(genesis_phase(2));
        for k in [
            SetupContribution,
            Dealing,
            SetupContribution,
            SetupFinal,
            Registration,
            RollFrozen,
            Open,
        ] {
            phase = Some(transition(phase, k).unwrap());
        }
        assert_eq!(phase, Some(Phase::Open));
        // Nothing of the ceremony after it closed; no registration before.
        assert!(transition(Some(Phase::Setup), SetupContribution).is_err());
        assert!(transition(Some(Phase::Setup), SetupFinal).is_err());
        assert!(transition(Some(Phase::Ceremony), Registration).is_err());
        assert!(transition(Some(Phase::Ceremony), RollFrozen).is_err());
    }

    #[test]
    fn everything_else_is_refused() {
        use EntryKind::*;
        assert_eq!(
            transition(None, Ballot),
            Err(TransitionError::NoGenesis(Ballot))
        );
        assert_eq!(
            transition(Some(Phase::Setup), Manifest),
            Err(TransitionError::SecondManifest)
        );
        // Exactly the listed (kind, phase) pairs are allowed.
        let mut allowed = 0;
        for k in EntryKind::ALL {
            for p in Phase::ALL {
                if transition(Some(p), k).is_ok() {
                    allowed += 1;
                }
            }
        }
        assert_eq!(allowed, 15);
        assert_eq!(
            transition(Some(Phase::Frozen), Registration),
            Err(TransitionError::WrongPhase {
                kind: Registration,
                phase: Phase::Frozen
            })
        );
        assert!(transition(Some(Phase::Tallied), Ballot).is_err());
        assert!(transition(Some(Phase::Closed), Ballot).is_err());
        assert!(transition(Some(Phase::Open), Dealing).is_err());
    }
}
