//! The setup ceremony of the eligibility keys in an election's log (protocol version 2,
//! `docs/protocol.md` section 9.8): who may contribute when, the contributors' signatures,
//! and the entry that closes the ceremony and pins its keys.
//!
//! Every trustee of the manifest contributes to both phases, signing with its manifest
//! signing key; anyone else may contribute too, under a key of its own. Phase 2 begins
//! only once every trustee has contributed to phase 1, and the ceremony closes only once
//! every trustee has contributed to phase 2, so the keys are sound unless every trustee
//! colludes (with every other contributor of one phase).

use crate::entry::Entry;
use crate::fields::{
    ContributorName, PublicKeyBytes, SetupParams, SetupProofBytes, VerifyingKeyBytes,
};
use ed25519_dalek::{Signer, SigningKey};
use sha2::{Digest, Sha256};
use zkvote_circuits::groth16::{key_to_bytes, proving_key_to_pinned_bytes, ProvingKey};
use zkvote_circuits::setup::{
    params_hash, Ceremony, Checked, Contribution, SetupDigest, SetupError, SetupPhase,
};
use zkvote_core::Manifest;
use zkvote_tally::ceremony::{signed_bytes, verify_signature};
use zkvote_tally::labels::SIG_SETUP_CONTRIBUTION;

/// Domain prefix of the proving-key hash pinned by the `setup-final` entry.
pub const PK_HASH_DOMAIN: &[u8] = b"zkvote/v2/groth16-pk";

/// `SHA-256(PK_HASH_DOMAIN || uncompressed proving key)`: the pin clients check the
/// proving key a board serves against.
pub fn proving_key_hash(pk: &ProvingKey) -> [u8; 32] {
    pinned_bytes_hash(&proving_key_to_pinned_bytes(pk))
}

/// `SHA-256(PK_HASH_DOMAIN || bytes)` of a proving key served in its pinned (uncompressed)
/// form: a client compares it with the pin before decoding anything.
pub fn pinned_bytes_hash(bytes: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(PK_HASH_DOMAIN);
    h.update(bytes);
    h.finalize().into()
}

/// Why a setup entry is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SetupRuleError {
    /// The contribution does not verify against the transcript.
    #[error("the contribution does not verify: {0}")]
    Contribution(#[from] SetupError),
    /// The contributor's signature does not verify.
    #[error("the contribution is not signed by the key it names")]
    Signature,
    /// The contribution was made on an earlier point of the transcript (another
    /// contribution landed first): contribute again on the current one.
    #[error("the contribution was made on an earlier point of the transcript; contribute again on the current one")]
    Stale,
    /// Phase 2 may not begin yet, or the ceremony may not close yet.
    #[error(
        "{step} once every trustee has contributed to phase {phase}; missing: trustees {missing:?}"
    )]
    TrusteesMissing {
        /// What waits.
        step: &'static str,
        /// The phase the trustees have not all contributed to.
        phase: u8,
        /// The trustees missing.
        missing: Vec<u32>,
    },
    /// The `setup-final` entry does not pin the transcript's keys.
    #[error("the setup-final entry does not pin the keys of the transcript ({0} differs)")]
    Final(&'static str),
}

/// The signed body of a contribution: `digest (32, before it) || phase (1) ||
/// LE32(len(name)) || name || key (32) || params hash (32) || proof`, signed as
/// `SIG_SETUP_CONTRIBUTION || manifest hash || body`.
pub fn contribution_body(
    digest: &SetupDigest,
    phase: SetupPhase,
    name: &ContributorName,
    key: &[u8; 32],
    params: &[u8],
    proof: &[u8],
) -> Vec<u8> {
    let mut body = Vec::with_capacity(32 + 1 + 4 + name.as_str().len() + 64 + proof.len());
    body.extend_from_slice(digest.as_bytes());
    body.push(phase.into());
    body.extend_from_slice(&(name.as_str().len() as u32).to_le_bytes());
    body.extend_from_slice(name.as_str().as_bytes());
    body.extend_from_slice(key);
    body.extend_from_slice(&params_hash(params));
    body.extend_from_slice(proof);
    body
}

/// One contributor, as the log names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Contributor {
    /// The phase contributed to.
    pub phase: SetupPhase,
    /// The name given.
    pub name: String,
    /// The ed25519 key that signed.
    pub key: [u8; 32],
    /// The trustee whose manifest signing key this is, if any.
    pub trustee: Option<u32>,
}

/// The ceremony's state in an election's log.
pub struct SetupState {
    ceremony: Ceremony,
    manifest_hash: [u8; 32],
    trustee_keys: Vec<(u32, [u8; 32])>,
    contributors: Vec<Contributor>,
    /// The digests the transcript had before its current one.
    earlier: Vec<SetupDigest>,
}

impl std::fmt::Debug for SetupState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SetupState({:?}, {} contributors)",
            self.ceremony,
            self.contributors.len()
        )
    }
}

impl SetupState {
    /// The initial state for a version-2 manifest.
    pub fn new(manifest: &Manifest) -> SetupState {
        let manifest_hash = manifest.hash();
        SetupState {
            ceremony: Ceremony::new(&manifest_hash, manifest.roll_depth),
            manifest_hash,
            trustee_keys: manifest
                .trustees
                .iter()
                .map(|t| (t.index, t.signing_key))
                .collect(),
            contributors: Vec::new(),
            earlier: Vec::new(),
        }
    }

    /// The transcript.
    pub fn ceremony(&self) -> &Ceremony {
        &self.ceremony
    }

    /// The contributors so far, in log order.
    pub fn contributors(&self) -> &[Contributor] {
        &self.contributors
    }

    /// The trustees without a contribution to `phase`.
    pub fn missing_trustees(&self, phase: SetupPhase) -> Vec<u32> {
        self.trustee_keys
            .iter()
            .filter(|(_, key)| {
                !self
                    .contributors
                    .iter()
                    .any(|c| c.phase == phase && &c.key == key)
            })
            .map(|(i, _)| *i)
            .collect()
    }

    fn require_trustees(
        &self,
        step: &'static str,
        phase: SetupPhase,
    ) -> Result<(), SetupRuleError> {
        let missing = self.missing_trustees(phase);
        if missing.is_empty() {
            Ok(())
        } else {
            Err(SetupRuleError::TrusteesMissing {
                step,
                phase: phase.into(),
                missing,
            })
        }
    }

    /// Checks a `setup-contribution` entry's fields and appends the contribution (its
    /// proofs and pairings checked; a second contribution by one key to one phase is the
    /// election state's unique-key rule). A refusal changes nothing.
    pub fn apply_contribution(
        &mut self,
        phase: SetupPhase,
        name: &ContributorName,
        key: &PublicKeyBytes,
        params: &SetupParams,
        proof: &SetupProofBytes,
        signature: &[u8; 64],
    ) -> Result<(), SetupRuleError> {
        let checked =
            self.vartime_check_contribution(phase, name, key, params, proof, signature)?;
        let before = *self.ceremony.digest();
        self.ceremony.accept(checked)?;
        self.earlier.push(before);
        self.contributors.push(Contributor {
            phase,
            name: name.as_str().to_string(),
            key: key.0,
            trustee: self
                .trustee_keys
                .iter()
                .find(|(_, k)| *k == key.0)
                .map(|(i, _)| *i),
        });
        Ok(())
    }

    /// The checks of [`SetupState::apply_contribution`], changing nothing (the board makes
    /// them before it appends).
    pub fn vartime_check_contribution(
        &self,
        phase: SetupPhase,
        name: &ContributorName,
        key: &PublicKeyBytes,
        params: &SetupParams,
        proof: &SetupProofBytes,
        signature: &[u8; 64],
    ) -> Result<Checked, SetupRuleError> {
        let signed_at = |digest: &SetupDigest| {
            let body = contribution_body(
                digest,
                phase,
                name,
                &key.0,
                params.as_bytes(),
                proof.as_bytes(),
            );
            verify_signature(
                &key.key(),
                SIG_SETUP_CONTRIBUTION,
                &self.manifest_hash,
                &body,
                signature,
            )
            .is_ok()
        };
        if !signed_at(self.ceremony.digest()) {
            return Err(if self.earlier.iter().any(signed_at) {
                SetupRuleError::Stale
            } else {
                SetupRuleError::Signature
            });
        }
        if phase == SetupPhase::Two && self.ceremony.phase() == SetupPhase::One {
            self.require_trustees("phase 2 begins", SetupPhase::One)?;
        }
        let contribution = Contribution {
            phase,
            params: params.as_bytes().to_vec(),
            proof: proof.as_bytes().to_vec(),
        };
        Ok(self
            .ceremony
            .vartime_check(&contribution, &mut rand_core::OsRng)?)
    }

    /// The transcript's proving key, once every trustee has contributed to phase 2 (the
    /// transition of section 9.8.5 is computed once and kept).
    pub fn proving_key(&self) -> Result<ProvingKey, SetupRuleError> {
        self.require_trustees("the ceremony closes", SetupPhase::Two)?;
        Ok(self.ceremony.proving_key()?)
    }

    /// The `setup-final` entry that closes the ceremony (the board computes it).
    pub fn final_entry(&self) -> Result<(Entry, ProvingKey), SetupRuleError> {
        let pk = self.proving_key()?;
        let entry = Entry::SetupFinal {
            groth16_vk: VerifyingKeyBytes::new(key_to_bytes(&pk.vk))
                .expect("the transcript's key is well formed"),
            proving_key_hash: proving_key_hash(&pk),
        };
        Ok((entry, pk))
    }

    /// Checks that a `setup-final` entry pins the transcript's keys.
    pub fn check_final(
        &self,
        groth16_vk: &VerifyingKeyBytes,
        pk_hash: &[u8; 32],
    ) -> Result<(), SetupRuleError> {
        let pk = self.proving_key()?;
        if groth16_vk.as_bytes() != key_to_bytes(&pk.vk) {
            return Err(SetupRuleError::Final("the verifying key"));
        }
        if *pk_hash != proving_key_hash(&pk) {
            return Err(SetupRuleError::Final("the proving-key hash"));
        }
        Ok(())
    }
}

/// A signed `setup-contribution` entry for `contribution`, made at `digest`.
pub fn contribution_entry(
    signing_key: &SigningKey,
    manifest_hash: &[u8; 32],
    digest: &SetupDigest,
    name: ContributorName,
    contribution: Contribution,
) -> Result<Entry, String> {
    let key = signing_key.verifying_key().to_bytes();
    let body = contribution_body(
        digest,
        contribution.phase,
        &name,
        &key,
        &contribution.params,
        &contribution.proof,
    );
    let signature = signing_key
        .sign(&signed_bytes(SIG_SETUP_CONTRIBUTION, manifest_hash, &body))
        .to_bytes();
    Ok(Entry::SetupContribution {
        phase: contribution.phase,
        contributor: name,
        key: PublicKeyBytes(key),
        params: SetupParams::new(contribution.params)?,
        proof: SetupProofBytes::new(contribution.proof)?,
        signature,
    })
}
