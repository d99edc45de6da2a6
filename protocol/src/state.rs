//! An election's public state as its log builds it, entry by entry: the phase, the
//! registrations and roll root, the ceremony messages, the joint key and the ceremony's
//! outcome (verified once, when voting opens), the partial decryptions and the counts.
//! The board keeps one per election (live and on replay) and decides with it what it may
//! append next.

use crate::entry::Entry;
use crate::fields::VerifyingKeyBytes;
use crate::kind::{genesis_phase, transition, EntryKind, Phase, TransitionError};
use crate::setup::{SetupRuleError, SetupState};
use ark_bls12_381::Fr;
use std::collections::HashSet;
use std::sync::Arc;
use zkvote_circuits::groth16::EligibilityVerifier;
use zkvote_core::{ElectionContext, ElectionPublicKey, Manifest};
use zkvote_tally::{
    verify_ceremony, CeremonyContext, CeremonyOutcome, Complaint, Dealing, PartialDecryption,
};

/// Why an election cannot start from a manifest, or an entry cannot follow.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ApplyError {
    /// The phase rule does not allow the entry here.
    #[error(transparent)]
    Transition(#[from] TransitionError),
    /// The verifying key does not decode.
    #[error("the Groth16 verifying key is invalid: {0}")]
    VerifyingKey(String),
    /// The verifying key's hash is not the manifest's (or the manifest, of version 2, pins
    /// no verifying key: its keys come from a setup ceremony).
    #[error("the verifying key's hash is not the manifest's groth16_vk_hash (a version-2 manifest has none: its keys come from a setup ceremony)")]
    VerifyingKeyMismatch,
    /// The manifest's trustees do not make a ceremony.
    #[error("the manifest's trustees: {0}")]
    Manifest(String),
    /// The log already holds an entry with this key (`Entry::unique_key`).
    #[error("the log already holds {0}; a copy is refused")]
    Duplicate(String),
    /// The roll holds as many registrations as its depth allows.
    #[error("the voter roll is full ({0} registrations)")]
    RollFull(u64),
    /// A ceremony message is not its author's.
    #[error(transparent)]
    Author(#[from] crate::entry::AuthorError),
    /// The frozen roll's count is not the number of registrations.
    #[error("the frozen roll claims {claimed} registrations, the log has {registered}")]
    RollCount {
        /// The count in the roll-frozen entry.
        claimed: u64,
        /// The registrations in the log.
        registered: u64,
    },
    /// The key ceremony does not give the open entry's joint key and qualified dealers.
    #[error("the ceremony does not give this open entry: {0}")]
    Ceremony(String),
    /// A setup-ceremony entry is refused (`crate::setup`).
    #[error(transparent)]
    Setup(#[from] SetupRuleError),
    /// A setup-ceremony entry in a version-1 election (whose keys the manifest pins).
    #[error("a version-1 election has no setup ceremony")]
    NoSetup,
}

/// An election's public state.
pub struct ElectionState {
    manifest: Manifest,
    /// The eligibility verifying key: the manifest's (version 1), or the one the setup
    /// ceremony's final entry pins (version 2; `None` until then).
    vk: Option<VerifyingKeyBytes>,
    /// The verifying key, decoded and prepared once.
    verifier: Option<Arc<EligibilityVerifier>>,
    /// The setup ceremony (version 2), until it closes.
    setup: Option<Box<SetupState>>,
    /// The proving-key hash the setup ceremony's final entry pins (version 2).
    proving_key_hash: Option<[u8; 32]>,
    ceremony: CeremonyContext,
    phase: Phase,
    commitments: Vec<Fr>,
    root: Option<Fr>,
    dealings: Vec<Dealing>,
    complaints: Vec<Complaint>,
    outcome: Option<CeremonyOutcome>,
    context: Option<Arc<ElectionContext>>,
    partials: Vec<PartialDecryption>,
    unique_keys: HashSet<String>,
    ballots: u64,
    entries: u64,
}

impl std::fmt::Debug for ElectionState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ElectionState")
            .field("election_id", &hex::encode(self.manifest.election_id))
            .field("phase", &self.phase)
            .field("entries", &self.entries)
            .field("registrations", &self.commitments.len())
            .field("ballots", &self.ballots)
            .finish_non_exhaustive()
    }
}

impl ElectionState {
    /// The state after the genesis entry: the manifest with, in version 1, the verifying
    /// key whose hash it names (version 2 has none: its setup ceremony starts here).
    pub fn new(manifest: Manifest, vk: Option<VerifyingKeyBytes>) -> Result<Self, ApplyError> {
        let (verifier, setup) = match (&vk, manifest.groth16_vk_hash) {
            (Some(vk), Some(pinned)) => {
                let verifier = vk
                    .verifier()
                    .map_err(|e| ApplyError::VerifyingKey(e.to_string()))?;
                if *verifier.vk_hash() != pinned {
                    return Err(ApplyError::VerifyingKeyMismatch);
                }
                (Some(Arc::new(verifier)), None)
            }
            (None, None) => (None, Some(Box::new(SetupState::new(&manifest)))),
            _ => return Err(ApplyError::VerifyingKeyMismatch),
        };
        let ceremony = CeremonyContext::from_manifest(&manifest)
            .map_err(|e| ApplyError::Manifest(e.to_string()))?;
        Ok(ElectionState {
            phase: genesis_phase(manifest.version()),
            manifest,
            vk,
            verifier,
            setup,
            proving_key_hash: None,
            ceremony,
            commitments: Vec::new(),
            root: None,
            dealings: Vec::new(),
            complaints: Vec::new(),
            outcome: None,
            context: None,
            partials: Vec::new(),
            unique_keys: HashSet::new(),
            ballots: 0,
            entries: 1,
        })
    }

    /// The state after the genesis entry `entry`.
    pub fn from_genesis(entry: &Entry) -> Result<Self, ApplyError> {
        match entry {
            Entry::Manifest {
                manifest,
                groth16_vk,
            } => ElectionState::new(manifest.clone(), groth16_vk.clone()),
            other => Err(TransitionError::NoGenesis(other.kind()).into()),
        }
    }

    /// The rules every entry meets before its content is read: the phase rule, its
    /// author's signature (ceremony messages), and a unique key not yet in the log. Returns
    /// the phase after it and its unique key.
    fn admit(&self, entry: &Entry) -> Result<(Phase, Option<String>), ApplyError> {
        let next = transition(Some(self.phase), entry.kind())?;
        entry.check_author(&self.ceremony)?;
        let key = entry.unique_key();
        if let Some(k) = &key {
            if self.unique_keys.contains(k) {
                return Err(ApplyError::Duplicate(k.clone()));
            }
        }
        Ok((next, key))
    }

    /// Applies the next entry of the log. A refusal changes nothing.
    pub fn apply(&mut self, entry: &Entry) -> Result<(), ApplyError> {
        let (next, key) = self.admit(entry)?;
        match entry {
            Entry::Manifest { .. } => unreachable!("the transition refuses a second manifest"),
            Entry::SetupContribution {
                phase,
                contributor,
                key,
                params,
                proof,
                signature,
            } => self.setup_mut()?.apply_contribution(
                *phase,
                contributor,
                key,
                params,
                proof,
                signature,
            )?,
            Entry::SetupFinal {
                groth16_vk,
                proving_key_hash,
            } => self.close_setup(groth16_vk, proving_key_hash)?,
            Entry::Dealing { dealing } => self.dealings.push(dealing.clone()),
            Entry::Complaint { complaint } => self.complaints.push(complaint.clone()),
            Entry::Registration { commitment } => {
                if self.commitments.len() as u64 >= self.roll_capacity() {
                    return Err(ApplyError::RollFull(self.commitments.len() as u64));
                }
                self.commitments.push(commitment.get());
            }
            Entry::RollFrozen { root, count } => {
                let registered = self.commitments.len() as u64;
                if *count != registered {
                    return Err(ApplyError::RollCount {
                        claimed: *count,
                        registered,
                    });
                }
                self.root = Some(root.get());
            }
            Entry::Open {
                joint_key,
                qualified,
            } => self.open(joint_key, qualified)?,
            Entry::Ballot { .. } => self.ballots += 1,
            Entry::Close {} | Entry::Result { .. } => {}
            Entry::PartialDecryption { partial } => self.partials.push(partial.clone()),
        }
        if let Some(k) = key {
            self.unique_keys.insert(k);
        }
        self.phase = next;
        self.entries += 1;
        Ok(())
    }

    /// Applies a ballot entry without reading its body (the ballot box verified it before
    /// the board appended it): replaying millions of ballots only counts them.
    pub fn apply_unread_ballot(&mut self) -> Result<(), ApplyError> {
        self.apply_unread(EntryKind::Ballot)
    }

    /// Moves the election past an entry of `kind` by the phase rule alone, without its
    /// content: a ballot whose body is not read, or, for a verifier, an entry it could not
    /// decode or whose content [`ElectionState::apply`] refused and it has named, so that
    /// the entries after it are judged in the phase the log says.
    pub fn apply_unread(&mut self, kind: EntryKind) -> Result<(), ApplyError> {
        self.phase = transition(Some(self.phase), kind)?;
        if kind == EntryKind::Ballot {
            self.ballots += 1;
        }
        self.entries += 1;
        Ok(())
    }

    /// Checks a `setup-contribution` entry against the state as [`ElectionState::apply`]
    /// would, changing nothing (the board checks before it appends; variable time, public
    /// data only).
    pub fn check_setup_contribution(&self, entry: &Entry) -> Result<(), ApplyError> {
        self.admit(entry)?;
        let setup = self.setup.as_deref().ok_or(ApplyError::NoSetup)?;
        if let Entry::SetupContribution {
            phase,
            contributor,
            key,
            params,
            proof,
            signature,
        } = entry
        {
            setup.vartime_check_contribution(*phase, contributor, key, params, proof, signature)?;
        }
        Ok(())
    }

    fn setup_mut(&mut self) -> Result<&mut SetupState, ApplyError> {
        self.setup.as_deref_mut().ok_or(ApplyError::NoSetup)
    }

    /// Closes the setup ceremony: the final entry must pin the transcript's keys, which
    /// become the election's.
    fn close_setup(
        &mut self,
        vk: &VerifyingKeyBytes,
        pk_hash: &[u8; 32],
    ) -> Result<(), ApplyError> {
        let setup = self.setup.as_deref().ok_or(ApplyError::NoSetup)?;
        setup.check_final(vk, pk_hash)?;
        let verifier = vk
            .verifier()
            .map_err(|e| ApplyError::VerifyingKey(e.to_string()))?;
        self.verifier = Some(Arc::new(verifier));
        self.vk = Some(vk.clone());
        self.proving_key_hash = Some(*pk_hash);
        Ok(())
    }

    /// Verifies the ceremony once, at the open: its outcome must be the open entry's.
    fn open(
        &mut self,
        joint_key: &zkvote_core::Element,
        qualified: &[u32],
    ) -> Result<(), ApplyError> {
        let outcome = self
            .ceremony_outcome()
            .map_err(|e| ApplyError::Ceremony(e.to_string()))?;
        if outcome.joint_key != *joint_key || outcome.qualified != qualified {
            return Err(ApplyError::Ceremony(
                "the joint key or the qualified dealers differ".into(),
            ));
        }
        let pk =
            ElectionPublicKey::new(*joint_key).map_err(|e| ApplyError::Ceremony(e.to_string()))?;
        self.context = Some(Arc::new(ElectionContext::new(self.manifest.clone(), pk)));
        self.outcome = Some(outcome);
        Ok(())
    }

    /// The ceremony's public outcome from the dealings and complaints so far (the one
    /// cached at the open, once voting has opened).
    pub fn ceremony_outcome(&self) -> Result<CeremonyOutcome, zkvote_tally::CeremonyError> {
        match &self.outcome {
            Some(o) => Ok(o.clone()),
            None => verify_ceremony(
                &self.ceremony,
                &self.dealings,
                &self.complaints,
                &mut rand_core::OsRng,
            ),
        }
    }

    /// The manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }
    /// The eligibility verifying key (in version 2, once the setup ceremony has closed).
    pub fn verifying_key(&self) -> Option<&VerifyingKeyBytes> {
        self.vk.as_ref()
    }
    /// The prepared eligibility verifier of that key.
    pub fn verifier(&self) -> Option<&Arc<EligibilityVerifier>> {
        self.verifier.as_ref()
    }
    /// The proving-key hash the setup ceremony pinned (version 2, once it has closed).
    pub fn proving_key_hash(&self) -> Option<&[u8; 32]> {
        self.proving_key_hash.as_ref()
    }
    /// The setup ceremony (version 2).
    pub fn setup(&self) -> Option<&SetupState> {
        self.setup.as_deref()
    }
    /// The ceremony's parameters.
    pub fn ceremony(&self) -> &CeremonyContext {
        &self.ceremony
    }
    /// The phase.
    pub fn phase(&self) -> Phase {
        self.phase
    }
    /// The registered commitments, in log order.
    pub fn commitments(&self) -> &[Fr] {
        &self.commitments
    }
    /// The registered commitments, taken out of the state (a verifier's last use of it).
    pub fn into_commitments(self) -> Vec<Fr> {
        self.commitments
    }

    /// How many registrations the roll's depth allows.
    pub fn roll_capacity(&self) -> u64 {
        1u64 << self.manifest.roll_depth
    }
    /// The frozen roll's root.
    pub fn root(&self) -> Option<Fr> {
        self.root
    }
    /// The dealings.
    pub fn dealings(&self) -> &[Dealing] {
        &self.dealings
    }
    /// The complaints.
    pub fn complaints(&self) -> &[Complaint] {
        &self.complaints
    }
    /// The ceremony outcome verified at the open.
    pub fn outcome(&self) -> Option<&CeremonyOutcome> {
        self.outcome.as_ref()
    }
    /// The election context (manifest and joint key), once voting has opened.
    pub fn context(&self) -> Option<&Arc<ElectionContext>> {
        self.context.as_ref()
    }
    /// The partial decryptions.
    pub fn partials(&self) -> &[PartialDecryption] {
        &self.partials
    }
    /// The number of ballot entries.
    pub fn ballots(&self) -> u64 {
        self.ballots
    }
    /// The number of entries applied (the genesis included): the index of the next one.
    pub fn entries(&self) -> u64 {
        self.entries
    }
}
