//! Transcript protocol labels of the tally crate (the proofs themselves add zkvote-core's
//! labels). `docs/protocol.md` lists the same strings.

/// `Transcript::new` label of a proof of knowledge of a polynomial coefficient.
pub const DKG_POK: &[u8] = b"zkvote/v1/dkg-coefficient";
/// `Transcript::new` label of a complaint's proof that the revealed key is correct.
pub const DKG_COMPLAINT: &[u8] = b"zkvote/v1/dkg-complaint";
/// `Transcript::new` label of a partial decryption's proof.
pub const DECRYPTION: &[u8] = b"zkvote/v1/decryption";
/// Manifest hash.
pub const MANIFEST_HASH: &[u8] = b"manifest-hash";
/// Dealer index.
pub const DEALER: &[u8] = b"dealer";
/// Coefficient index.
pub const COEFFICIENT: &[u8] = b"coefficient";
/// Accusing trustee index.
pub const ACCUSER: &[u8] = b"accuser";
/// Decrypting trustee index.
pub const TRUSTEE: &[u8] = b"trustee";
/// Contest index.
pub const CONTEST_INDEX: &[u8] = b"contest-index";
/// Selection index.
pub const SELECTION_INDEX: &[u8] = b"selection-index";

/// Signature domain of a dealing.
pub const SIG_DEALING: &[u8] = b"zkvote/v1/sig/dkg-dealing";
/// Signature domain of a complaint.
pub const SIG_COMPLAINT: &[u8] = b"zkvote/v1/sig/dkg-complaint";
/// Signature domain of a partial decryption.
pub const SIG_DECRYPTION: &[u8] = b"zkvote/v1/sig/partial-decryption";
/// Signature domain of a contribution to the eligibility keys' setup ceremony.
pub const SIG_SETUP_CONTRIBUTION: &[u8] = b"zkvote/v2/sig/setup-contribution";
/// HKDF info prefix of a share-encryption key.
pub const HKDF_SHARE: &[u8] = b"zkvote/v1/dkg-share";

/// Every label above.
pub const ALL: &[&[u8]] = &[
    DKG_POK,
    DKG_COMPLAINT,
    DECRYPTION,
    MANIFEST_HASH,
    DEALER,
    COEFFICIENT,
    ACCUSER,
    TRUSTEE,
    CONTEST_INDEX,
    SELECTION_INDEX,
    SIG_DEALING,
    SIG_COMPLAINT,
    SIG_DECRYPTION,
    SIG_SETUP_CONTRIBUTION,
    HKDF_SHARE,
];

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    #[test]
    fn labels_are_unique_and_distinct_from_core() {
        let mut set: HashSet<&[u8]> = super::ALL.iter().copied().collect();
        assert_eq!(set.len(), super::ALL.len());
        // Context labels shared in meaning with core (manifest-hash, contest-index,
        // selection-index) are the same strings on purpose; protocol labels must differ.
        for l in zkvote_core::transcript::labels::ALL {
            if !set.insert(l) {
                assert!(
                    [
                        super::MANIFEST_HASH,
                        super::CONTEST_INDEX,
                        super::SELECTION_INDEX
                    ]
                    .contains(l),
                    "label {:?} clashes with core",
                    String::from_utf8_lossy(l)
                );
            }
        }
    }
}
