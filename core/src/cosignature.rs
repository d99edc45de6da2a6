//! Witness cosignatures of checkpoints: the C2SP `tlog-cosignature` Ed25519 type
//! (`cosignature/v1`, key type `0x04`), timestamped.
//!
//! A witness that cosigns a checkpoint states that, at the cosignature's time, the largest
//! checkpoint of that log it had seen consistent with every one before has this root. A
//! cosignature is one signed-note line, `— <name> base64(key id || timestamp || signature)`,
//! that can be appended to the checkpoint's note after the board's own line.
//! (`docs/protocol.md` section 15.)

use crate::log::Checkpoint;
use base64::Engine;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

/// Largest timestamp a cosignature may carry (C2SP: at most 2^63 - 1).
pub const MAX_TIMESTAMP: u64 = i64::MAX as u64;

/// Bytes of a cosignature's blob: key id (4), timestamp (8), Ed25519 signature (64).
const BLOB_BYTES: usize = 4 + 8 + 64;

/// A witness as clients know it: its name (a schema-less URL, e.g.
/// `witness.example.org/zkvote`) and its Ed25519 public key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WitnessKey {
    /// The key name of its signature lines.
    pub name: String,
    /// Its public key.
    pub key: VerifyingKey,
}

impl WitnessKey {
    /// The 4-byte key id of its cosignature lines:
    /// `SHA-256(name || 0x0A || 0x04 || public key)[..4]`.
    pub fn key_id(&self) -> [u8; 4] {
        let mut h = Sha256::new();
        h.update(self.name.as_bytes());
        h.update([0x0a, 0x04]);
        h.update(self.key.as_bytes());
        let d = h.finalize();
        [d[0], d[1], d[2], d[3]]
    }
}

/// Why a set of cosignature lines was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CosignatureError {
    /// A line that is not a signature line (`— <name> <base64>`).
    #[error("malformed cosignature line: {0}")]
    Malformed(String),
    /// A line with a known witness's name and key id whose signature does not verify: a
    /// forgery, or a cosignature of another checkpoint.
    #[error("the cosignature of witness {0} does not verify for this checkpoint")]
    Invalid(String),
    /// Fewer valid cosignatures from distinct known witnesses than the threshold.
    #[error(
        "{valid} of the election's witnesses cosigned this checkpoint, {threshold} are required"
    )]
    TooFew {
        /// Distinct witnesses with a valid cosignature.
        valid: usize,
        /// Cosignatures required.
        threshold: usize,
    },
}

/// The message a witness signs: `cosignature/v1\ntime <timestamp>\n` then the
/// checkpoint's note body.
pub fn signed_message(checkpoint: &Checkpoint, timestamp: u64) -> String {
    format!("cosignature/v1\ntime {timestamp}\n{}", checkpoint.body())
}

/// A witness's cosignature line for `checkpoint` at `timestamp` (POSIX seconds, 1 to
/// [`MAX_TIMESTAMP`]), ending in a line feed.
pub fn cosign(checkpoint: &Checkpoint, name: &str, key: &SigningKey, timestamp: u64) -> String {
    assert!(
        (1..=MAX_TIMESTAMP).contains(&timestamp),
        "a cosignature's timestamp is between 1 and 2^63 - 1"
    );
    let witness = WitnessKey {
        name: name.to_string(),
        key: key.verifying_key(),
    };
    let signature = key.sign(signed_message(checkpoint, timestamp).as_bytes());
    let mut blob = witness.key_id().to_vec();
    blob.extend_from_slice(&timestamp.to_be_bytes());
    blob.extend_from_slice(&signature.to_bytes());
    format!(
        "\u{2014} {name} {}\n",
        base64::engine::general_purpose::STANDARD.encode(blob)
    )
}

/// A valid cosignature: which witness (its index in the list given), and when.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cosigned {
    /// Index of the witness in the list of known witnesses.
    pub witness: usize,
    /// The cosignature's timestamp (POSIX seconds).
    pub timestamp: u64,
}

/// The valid cosignatures of `checkpoint` among signature `lines` (each `— name base64`,
/// as appended to a note), one per known witness (the first valid line of each).
///
/// Lines of unknown names or key ids are ignored (they may be the board's signature or
/// other witnesses'). A line that carries a known witness's name and key id but does not
/// verify refuses the whole set, as the signed-note format requires. Verification is
/// strict Ed25519 (`verify_strict`).
pub fn verify_cosignatures(
    checkpoint: &Checkpoint,
    lines: &str,
    witnesses: &[WitnessKey],
) -> Result<Vec<Cosigned>, CosignatureError> {
    let ids: Vec<[u8; 4]> = witnesses.iter().map(WitnessKey::key_id).collect();
    let mut found: Vec<Cosigned> = Vec::new();
    for line in lines.lines().filter(|l| !l.is_empty()) {
        let malformed = || CosignatureError::Malformed(line.to_string());
        let rest = line.strip_prefix("\u{2014} ").ok_or_else(malformed)?;
        let (name, blob) = rest.split_once(' ').ok_or_else(malformed)?;
        let blob = base64::engine::general_purpose::STANDARD
            .decode(blob)
            .map_err(|_| malformed())?;
        let Some(w) = (0..witnesses.len())
            .find(|&i| witnesses[i].name == name && blob.len() >= 4 && blob[..4] == ids[i])
        else {
            continue;
        };
        let invalid = || CosignatureError::Invalid(name.to_string());
        if blob.len() != BLOB_BYTES {
            return Err(invalid());
        }
        let timestamp = u64::from_be_bytes(blob[4..12].try_into().expect("8 bytes"));
        let signature = Signature::from_bytes(blob[12..].try_into().expect("64 bytes"));
        let message = signed_message(checkpoint, timestamp);
        if timestamp == 0
            || timestamp > MAX_TIMESTAMP
            || witnesses[w]
                .key
                .verify_strict(message.as_bytes(), &signature)
                .is_err()
        {
            return Err(invalid());
        }
        if !found.iter().any(|c| c.witness == w) {
            found.push(Cosigned {
                witness: w,
                timestamp,
            });
        }
    }
    Ok(found)
}

/// [`verify_cosignatures`], then at least `threshold` distinct witnesses must have cosigned.
pub fn require_cosignatures(
    checkpoint: &Checkpoint,
    lines: &str,
    witnesses: &[WitnessKey],
    threshold: usize,
) -> Result<Vec<Cosigned>, CosignatureError> {
    let found = verify_cosignatures(checkpoint, lines, witnesses)?;
    if found.len() < threshold {
        return Err(CosignatureError::TooFew {
            valid: found.len(),
            threshold,
        });
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::origin_for;

    fn checkpoint(size: u64, root: u8) -> Checkpoint {
        Checkpoint {
            origin: origin_for(&[7; 32]),
            size,
            root: [root; 32],
        }
    }

    fn witness(seed: u8, name: &str) -> (SigningKey, WitnessKey) {
        let key = SigningKey::from_bytes(&[seed; 32]);
        let known = WitnessKey {
            name: name.into(),
            key: key.verifying_key(),
        };
        (key, known)
    }

    #[test]
    fn the_signed_message_and_key_id_follow_c2sp() {
        let cp = checkpoint(3, 1);
        let message = signed_message(&cp, 1_679_315_147);
        assert!(message.starts_with("cosignature/v1\ntime 1679315147\nzkvote/0707"));
        assert!(message.ends_with(&cp.body()));
        let (_, w) = witness(1, "w.example/1");
        let mut h = Sha256::new();
        h.update(b"w.example/1\n\x04");
        h.update(w.key.as_bytes());
        assert_eq!(w.key_id()[..], h.finalize()[..4]);
        // Not the board's key id (type 0x01) for the same name and key.
        assert_ne!(w.key_id(), crate::log::note_key_id("w.example/1", &w.key));
    }

    #[test]
    fn cosignatures_of_known_witnesses_are_counted_once_each() {
        let cp = checkpoint(5, 2);
        let (k1, w1) = witness(1, "w.example/1");
        let (k2, w2) = witness(2, "w.example/2");
        let (k3, _) = witness(3, "w.example/3");
        let lines = [
            "\u{2014} zkvote-board AAAA\n".to_string(),
            cosign(&cp, &w1.name, &k1, 100),
            cosign(&cp, &w1.name, &k1, 101),
            cosign(&cp, "w.example/3", &k3, 102),
            cosign(&cp, &w2.name, &k2, 103),
        ]
        .concat();
        let known = [w1, w2];
        let found = verify_cosignatures(&cp, &lines, &known).unwrap();
        assert_eq!(
            found,
            vec![
                Cosigned {
                    witness: 0,
                    timestamp: 100
                },
                Cosigned {
                    witness: 1,
                    timestamp: 103
                }
            ]
        );
        assert!(require_cosignatures(&cp, &lines, &known, 2).is_ok());
        assert_eq!(
            require_cosignatures(&cp, &lines, &known, 3),
            Err(CosignatureError::TooFew {
                valid: 2,
                threshold: 3
            })
        );
    }

    #[test]
    fn forged_or_replayed_cosignatures_are_refused() {
        let cp = checkpoint(5, 2);
        let (k1, w1) = witness(1, "w.example/1");
        let line = cosign(&cp, &w1.name, &k1, 100);
        let known = [w1.clone()];
        // Replayed on another checkpoint (another root, another size, another election).
        for other in [checkpoint(5, 3), checkpoint(6, 2)] {
            assert_eq!(
                verify_cosignatures(&other, &line, &known),
                Err(CosignatureError::Invalid(w1.name.clone()))
            );
        }
        let mut elsewhere = cp.clone();
        elsewhere.origin = origin_for(&[8; 32]);
        assert!(verify_cosignatures(&elsewhere, &line, &known).is_err());
        // A changed timestamp, a flipped signature bit, a truncated blob.
        let blob = base64::engine::general_purpose::STANDARD
            .decode(line.trim_end().rsplit(' ').next().unwrap())
            .unwrap();
        let reencode = |b: &[u8]| {
            format!(
                "\u{2014} {} {}\n",
                w1.name,
                base64::engine::general_purpose::STANDARD.encode(b)
            )
        };
        let mut later = blob.clone();
        later[11] ^= 1;
        let mut flipped = blob.clone();
        flipped[40] ^= 1;
        for bad in [reencode(&later), reencode(&flipped), reencode(&blob[..70])] {
            assert_eq!(
                verify_cosignatures(&cp, &bad, &known),
                Err(CosignatureError::Invalid(w1.name.clone()))
            );
        }
        // Signed by another key under the witness's name: its key id differs, so it is
        // not the witness's line at all.
        let (k9, _) = witness(9, "w.example/1");
        let impostor = cosign(&cp, &w1.name, &k9, 100);
        assert_eq!(verify_cosignatures(&cp, &impostor, &known), Ok(vec![]));
        // Not a signature line.
        assert!(matches!(
            verify_cosignatures(&cp, "w.example/1 AAAA\n", &known),
            Err(CosignatureError::Malformed(_))
        ));
    }
}
