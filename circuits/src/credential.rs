//! Voter credentials: a secret `s`, uniform in the BLS12-381 scalar field, its public
//! commitment `Poseidon(DOMAIN_COMMIT, s)` (what the voter registers) and the
//! per-election nullifier `Poseidon(DOMAIN_NULLIFIER, s, election)`.
//!
//! The credential file is versioned JSON (its text here; the CLI writes it with mode
//! 0600); the secret is zeroized when the credential is dropped and never appears in Debug
//! output.

use crate::field::{election_scalar, fr_from_bytes, fr_to_bytes, FieldError};
use crate::poseidon;
use ark_bls12_381::Fr;
use ark_std::UniformRand;
use rand_core::CryptoRngCore;
use serde::{Deserialize, Serialize};
use std::fmt;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// The `format` field of a credential file.
pub const CREDENTIAL_FORMAT: &str = "zkvote-credential";
/// The credential file version this crate reads and writes.
pub const CREDENTIAL_VERSION: u32 = 1;

/// Why a credential could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    /// The file is not a credential of a supported version.
    #[error("not a zkvote credential file (version {CREDENTIAL_VERSION}): {0}")]
    Format(String),
    /// A value in the file is not a canonical field element.
    #[error(transparent)]
    Field(#[from] FieldError),
    /// The stored commitment does not match the secret.
    #[error("credential file is corrupt: the commitment does not match the secret")]
    CommitmentMismatch,
}

/// A voter credential. Zeroized on drop.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Credential {
    secret: Fr,
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Credential(commitment {})",
            hex::encode(fr_to_bytes(&self.commitment()))
        )
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CredentialFile {
    format: String,
    version: u32,
    secret: String,
    commitment: String,
}

impl Credential {
    /// A fresh credential from a cryptographic RNG (use the operating system's).
    pub fn generate(rng: &mut impl CryptoRngCore) -> Self {
        Credential {
            secret: Fr::rand(rng),
        }
    }

    /// The secret (for the prover).
    pub fn secret(&self) -> &Fr {
        &self.secret
    }

    /// The public commitment the voter registers.
    pub fn commitment(&self) -> Fr {
        poseidon::commitment(&self.secret)
    }

    /// The nullifier for the election with this id.
    pub fn nullifier(&self, election_id: &[u8; 32]) -> Fr {
        poseidon::nullifier(&self.secret, &election_scalar(election_id))
    }

    /// The credential file's text.
    pub fn to_file_text(&self) -> Zeroizing<String> {
        let secret_hex = Zeroizing::new(hex::encode(fr_to_bytes(&self.secret)));
        let file = CredentialFile {
            format: CREDENTIAL_FORMAT.into(),
            version: CREDENTIAL_VERSION,
            secret: (*secret_hex).clone(),
            commitment: hex::encode(fr_to_bytes(&self.commitment())),
        };
        let text = Zeroizing::new(serde_json::to_string_pretty(&file).expect("serializes") + "\n");
        let mut file = file;
        file.secret.zeroize();
        text
    }

    /// Parses a credential file's text, checking its version and commitment.
    pub fn from_file_text(text: &str) -> Result<Self, CredentialError> {
        let mut file: CredentialFile =
            serde_json::from_str(text).map_err(|e| CredentialError::Format(e.to_string()))?;
        let result = Self::from_parsed(&file);
        file.secret.zeroize();
        result
    }

    fn from_parsed(file: &CredentialFile) -> Result<Self, CredentialError> {
        if file.format != CREDENTIAL_FORMAT || file.version != CREDENTIAL_VERSION {
            return Err(CredentialError::Format(format!(
                "format {:?} version {}",
                file.format, file.version
            )));
        }
        let mut bytes = Zeroizing::new([0u8; 32]);
        zkvote_core::codec::hex_exact(&file.secret, &mut bytes[..])
            .map_err(|e| CredentialError::Format(format!("secret: {e}")))?;
        let secret = fr_from_bytes(&bytes, "credential secret")?;
        let cred = Credential { secret };
        let mut c = [0u8; 32];
        zkvote_core::codec::hex_exact(&file.commitment, &mut c)
            .map_err(|e| CredentialError::Format(format!("commitment: {e}")))?;
        if fr_from_bytes(&c, "credential commitment")? != cred.commitment() {
            return Err(CredentialError::CommitmentMismatch);
        }
        Ok(cred)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::OsRng;

    #[test]
    fn file_round_trip_and_checks() {
        let c = Credential::generate(&mut OsRng);
        let text = c.to_file_text();
        let back = Credential::from_file_text(&text).unwrap();
        assert_eq!(back.secret(), c.secret());
        assert!(!format!("{c:?}").contains(&hex::encode(fr_to_bytes(c.secret()))));
        let other = Credential::generate(&mut OsRng);
        let commit = hex::encode(fr_to_bytes(&c.commitment()));
        let forged = text.replace(&commit, &hex::encode(fr_to_bytes(&other.commitment())));
        assert!(matches!(
            Credential::from_file_text(&forged),
            Err(CredentialError::CommitmentMismatch)
        ));
        let v2 = text.replace("\"version\": 1", "\"version\": 2");
        assert!(matches!(
            Credential::from_file_text(&v2),
            Err(CredentialError::Format(_))
        ));
        let secret = hex::encode(fr_to_bytes(c.secret()));
        let big = text.replace(&secret, &"ff".repeat(32));
        assert!(matches!(
            Credential::from_file_text(&big),
            Err(CredentialError::Field(_))
        ));
    }

    #[test]
    fn nullifiers_are_per_election_and_per_voter() {
        let a = Credential::generate(&mut OsRng);
        let b = Credential::generate(&mut OsRng);
        assert_ne!(a.nullifier(&[1; 32]), a.nullifier(&[2; 32]));
        assert_ne!(a.nullifier(&[1; 32]), b.nullifier(&[1; 32]));
        assert_eq!(a.nullifier(&[1; 32]), a.clone().nullifier(&[1; 32]));
        assert_ne!(a.nullifier(&[1; 32]), a.commitment());
    }
}
