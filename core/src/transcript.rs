//! The one merlin transcript extension trait of this crate, with a versioned domain
//! separator per proof and every label as a `&'static [u8]` constant.
//!
//! Callers pass `&mut Transcript` so that the context of a proof (election, key, nullifier,
//! ciphertexts, contest and selection) is bound into its challenge: this is the strong
//! Fiat-Shamir transform (every challenge hashes the whole statement).

use curve25519_dalek::ristretto::CompressedRistretto;
use curve25519_dalek::scalar::Scalar;
use merlin::Transcript;

/// Every transcript label used by zkvote. `docs/protocol.md` lists the same strings.
pub mod labels {
    /// Label of every domain-separator message.
    pub const DOM_SEP: &[u8] = b"dom-sep";
    /// Protocol label of the ballot transcript (`Transcript::new`).
    pub const BALLOT_PROTOCOL: &[u8] = b"zkvote/v1/ballot";
    /// Domain separator of the Schnorr proof of knowledge.
    pub const PROOF_SCHNORR: &[u8] = b"zkvote/v1/proof/schnorr";
    /// Domain separator of the Chaum-Pedersen proof of equal discrete logarithms.
    pub const PROOF_DLEQ: &[u8] = b"zkvote/v1/proof/chaum-pedersen";
    /// Domain separator of the disjunctive proof that a selection encrypts 0 or 1.
    pub const PROOF_BIT: &[u8] = b"zkvote/v1/proof/bit";
    /// Domain separator of the disjunctive proof that a contest's sum lies in `[min, max]`.
    pub const PROOF_RANGE: &[u8] = b"zkvote/v1/proof/range";

    /// Manifest hash.
    pub const MANIFEST_HASH: &[u8] = b"manifest-hash";
    /// Election id.
    pub const ELECTION_ID: &[u8] = b"election-id";
    /// Joint election public key.
    pub const ELECTION_PK: &[u8] = b"election-pk";
    /// Voter nullifier.
    pub const NULLIFIER: &[u8] = b"nullifier";
    /// Number of contests in the ballot.
    pub const CONTEST_COUNT: &[u8] = b"contest-count";
    /// Number of selections in a contest.
    pub const SELECTION_COUNT: &[u8] = b"selection-count";
    /// First component of an ElGamal ciphertext.
    pub const CT_A: &[u8] = b"ct-a";
    /// Second component of an ElGamal ciphertext.
    pub const CT_B: &[u8] = b"ct-b";
    /// Contest position in the manifest.
    pub const CONTEST_INDEX: &[u8] = b"contest-index";
    /// Contest id string.
    pub const CONTEST_ID: &[u8] = b"contest-id";
    /// Selection (option) position in its contest.
    pub const SELECTION_INDEX: &[u8] = b"selection-index";
    /// Lowest value a disjunctive proof allows.
    pub const LO: &[u8] = b"lo";
    /// Highest value a disjunctive proof allows.
    pub const HI: &[u8] = b"hi";
    /// First commitment of a disjunctive branch.
    pub const COMMIT_A: &[u8] = b"commit-a";
    /// Second commitment of a disjunctive branch.
    pub const COMMIT_B: &[u8] = b"commit-b";
    /// The Fiat-Shamir challenge.
    pub const CHALLENGE: &[u8] = b"challenge";
    /// Public key of a Schnorr statement.
    pub const SCHNORR_PK: &[u8] = b"schnorr-pk";
    /// Commitment of a Schnorr proof.
    pub const SCHNORR_COMMIT: &[u8] = b"schnorr-commit";
    /// First base of a Chaum-Pedersen statement.
    pub const DLEQ_G: &[u8] = b"dleq-g";
    /// `x * g` of a Chaum-Pedersen statement.
    pub const DLEQ_X: &[u8] = b"dleq-x";
    /// Second base of a Chaum-Pedersen statement.
    pub const DLEQ_H: &[u8] = b"dleq-h";
    /// `x * h` of a Chaum-Pedersen statement.
    pub const DLEQ_Y: &[u8] = b"dleq-y";
    /// Commitment `u * g` of a Chaum-Pedersen proof.
    pub const DLEQ_COMMIT_G: &[u8] = b"dleq-commit-g";
    /// Commitment `u * h` of a Chaum-Pedersen proof.
    pub const DLEQ_COMMIT_H: &[u8] = b"dleq-commit-h";

    /// Every label above, for the uniqueness test and the protocol document.
    pub const ALL: &[&[u8]] = &[
        DOM_SEP,
        BALLOT_PROTOCOL,
        PROOF_SCHNORR,
        PROOF_DLEQ,
        PROOF_BIT,
        PROOF_RANGE,
        MANIFEST_HASH,
        ELECTION_ID,
        ELECTION_PK,
        NULLIFIER,
        CONTEST_COUNT,
        SELECTION_COUNT,
        CT_A,
        CT_B,
        CONTEST_INDEX,
        CONTEST_ID,
        SELECTION_INDEX,
        LO,
        HI,
        COMMIT_A,
        COMMIT_B,
        CHALLENGE,
        SCHNORR_PK,
        SCHNORR_COMMIT,
        DLEQ_G,
        DLEQ_X,
        DLEQ_H,
        DLEQ_Y,
        DLEQ_COMMIT_G,
        DLEQ_COMMIT_H,
    ];
}

/// zkvote's extension of [`merlin::Transcript`].
pub trait TranscriptProtocol {
    /// Starts a Schnorr proof of knowledge.
    fn schnorr_domain_sep(&mut self);
    /// Starts a Chaum-Pedersen proof of equal discrete logarithms.
    fn dleq_domain_sep(&mut self);
    /// Starts a proof that a selection encrypts 0 or 1.
    fn bit_proof_domain_sep(&mut self);
    /// Starts a proof that a contest's sum lies in `[min, max]`.
    fn range_proof_domain_sep(&mut self);
    /// Appends the canonical encoding of a point.
    fn append_point(&mut self, label: &'static [u8], point: &CompressedRistretto);
    /// Derives a challenge scalar from 64 transcript bytes reduced modulo `l`.
    fn challenge_scalar(&mut self, label: &'static [u8]) -> Scalar;
}

impl TranscriptProtocol for Transcript {
    fn schnorr_domain_sep(&mut self) {
        self.append_message(labels::DOM_SEP, labels::PROOF_SCHNORR);
    }
    fn dleq_domain_sep(&mut self) {
        self.append_message(labels::DOM_SEP, labels::PROOF_DLEQ);
    }
    fn bit_proof_domain_sep(&mut self) {
        self.append_message(labels::DOM_SEP, labels::PROOF_BIT);
    }
    fn range_proof_domain_sep(&mut self) {
        self.append_message(labels::DOM_SEP, labels::PROOF_RANGE);
    }
    fn append_point(&mut self, label: &'static [u8], point: &CompressedRistretto) {
        self.append_message(label, point.as_bytes());
    }
    fn challenge_scalar(&mut self, label: &'static [u8]) -> Scalar {
        let mut buf = [0u8; 64];
        self.challenge_bytes(label, &mut buf);
        Scalar::from_bytes_mod_order_wide(&buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn labels_are_unique() {
        let set: HashSet<&[u8]> = labels::ALL.iter().copied().collect();
        assert_eq!(set.len(), labels::ALL.len(), "duplicate transcript label");
    }

    #[test]
    fn domain_separators_change_the_challenge() {
        let seps: [fn(&mut Transcript); 4] = [
            |t| t.schnorr_domain_sep(),
            |t| t.dleq_domain_sep(),
            |t| t.bit_proof_domain_sep(),
            |t| t.range_proof_domain_sep(),
        ];
        let challenges: HashSet<[u8; 32]> = seps
            .iter()
            .map(|f| {
                let mut t = Transcript::new(labels::BALLOT_PROTOCOL);
                f(&mut t);
                t.challenge_scalar(labels::CHALLENGE).to_bytes()
            })
            .collect();
        assert_eq!(challenges.len(), 4);
    }
}
