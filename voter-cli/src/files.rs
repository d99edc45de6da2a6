//! Key, share, registration and receipt files. Secret files are created with mode 0600
//! (on Unix), never overwritten, and their contents zeroized after use.

use crate::CliError;
use serde::{Deserialize, Serialize};
use std::path::Path;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};
use zkvote_circuits::credential::Credential;
use zkvote_core::SecretKey;
use zkvote_protocol::voter::roll::RegistrationFile;
use zkvote_protocol::voter::ReceiptFile;
use zkvote_tally::{CeremonyOutcome, TrusteeKeys, TrusteeShare};

/// Writes a new private file (mode 0600 on Unix); refuses to overwrite.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<(), CliError> {
    zkvote_core::keyfile::write_private_file(path, bytes)
        .map_err(|e| CliError::msg(format!("cannot create {}: {e}", path.display())))
}

/// Writes a new credential file (mode 0600 on Unix); refuses to overwrite.
pub fn save_credential(path: &Path, credential: &Credential) -> Result<(), CliError> {
    write_private(path, credential.to_file_text().as_bytes())
}

/// Reads a credential file.
pub fn load_credential(path: &Path) -> Result<Credential, CliError> {
    let unreadable = |e: &dyn std::fmt::Display| {
        CliError::msg(format!(
            "unreadable credential file {}: {e}",
            path.display()
        ))
    };
    let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| unreadable(&e))?);
    Credential::from_file_text(&text).map_err(|e| unreadable(&e))
}

/// Writes a public file (replacing it).
pub fn write_public(path: &Path, bytes: &[u8]) -> Result<(), CliError> {
    std::fs::write(path, bytes)
        .map_err(|e| CliError::msg(format!("cannot write {}: {e}", path.display())))
}

/// Reads a text file.
pub fn read_text(path: &Path, what: &str) -> Result<String, CliError> {
    std::fs::read_to_string(path)
        .map_err(|e| CliError::msg(format!("cannot read {what} {}: {e}", path.display())))
}

/// The key file's contents; the hex secrets are zeroized when it is dropped, on every
/// path.
#[derive(Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
#[serde(deny_unknown_fields)]
struct TrusteeKeyFile {
    #[zeroize(skip)]
    version: u32,
    #[zeroize(skip)]
    index: u32,
    #[zeroize(skip)]
    name: String,
    signing_seed: String,
    encryption_secret: String,
}

/// A trustee's long-term keys and display name.
pub struct TrusteeIdentity {
    /// The keys.
    pub keys: TrusteeKeys,
    /// Display name.
    pub name: String,
}

impl TrusteeIdentity {
    /// The manifest snippet naming this trustee (TOML).
    pub fn manifest_snippet(&self) -> String {
        format!(
            "[[trustees.members]]\nindex = {}\nname = {}\nsigning_key = \"{}\"\nencryption_key = \"{}\"\n",
            self.keys.index(),
            toml::Value::String(self.name.clone()),
            hex::encode(self.keys.signing_public()),
            hex::encode(self.keys.encryption_public().as_bytes())
        )
    }
}

/// Creates trustee `index`'s key file.
pub fn create_trustee_keys(
    path: &Path,
    index: u32,
    name: &str,
) -> Result<TrusteeIdentity, CliError> {
    if index == 0 {
        return Err(CliError::msg("trustee indices start at 1"));
    }
    let keys = TrusteeKeys::generate(index, &mut rand_core::OsRng);
    let file = TrusteeKeyFile {
        version: 1,
        index,
        name: name.to_string(),
        signing_seed: hex::encode(*keys.signing_seed()),
        encryption_secret: hex::encode(keys.encryption_secret().as_scalar().to_bytes()),
    };
    let text = Zeroizing::new(
        serde_json::to_string_pretty(&file).map_err(|e| CliError::msg(e.to_string()))?,
    );
    drop(file);
    write_private(path, text.as_bytes())?;
    Ok(TrusteeIdentity {
        keys,
        name: name.to_string(),
    })
}

fn secret32(text: &str, origin: &str, what: &str) -> Result<Zeroizing<[u8; 32]>, CliError> {
    let mut out = Zeroizing::new([0u8; 32]);
    zkvote_core::codec::hex_exact(text, &mut out[..])
        .map_err(|_| CliError::msg(format!("unreadable {origin}: bad {what}")))?;
    Ok(out)
}

fn check_version(version: u32, origin: &str) -> Result<(), CliError> {
    if version == 1 {
        Ok(())
    } else {
        Err(CliError::msg(format!(
            "unreadable {origin}: version {version} (this zkvote reads version 1)"
        )))
    }
}

fn scalar(text: &str, origin: &str, what: &str) -> Result<curve25519_dalek::Scalar, CliError> {
    let bytes = secret32(text, origin, what)?;
    Option::from(curve25519_dalek::Scalar::from_canonical_bytes(*bytes)).ok_or_else(|| {
        CliError::msg(format!(
            "unreadable {origin}: {what} is not a canonical scalar"
        ))
    })
}

/// Reads a trustee key file.
pub fn load_trustee_keys(path: &Path) -> Result<TrusteeIdentity, CliError> {
    let text = Zeroizing::new(read_text(path, "trustee key file")?);
    parse_trustee_keys(&text, &path.display().to_string())
}

/// Parses a trustee key file's text (`origin` names it in errors).
pub fn parse_trustee_keys(text: &str, origin: &str) -> Result<TrusteeIdentity, CliError> {
    let file: TrusteeKeyFile = serde_json::from_str(text)
        .map_err(|e| CliError::msg(format!("unreadable trustee key file {origin}: {e}")))?;
    check_version(file.version, origin)?;
    let seed = secret32(&file.signing_seed, origin, "signing_seed")?;
    let enc = scalar(&file.encryption_secret, origin, "encryption_secret")?;
    let keys = TrusteeKeys::from_secrets(file.index, &seed, SecretKey::from_scalar(enc));
    Ok(TrusteeIdentity {
        keys,
        name: file.name.clone(),
    })
}

/// The share file's contents; the hex secret is zeroized when it is dropped, on every
/// path.
#[derive(Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
#[serde(deny_unknown_fields)]
struct ShareFile {
    #[zeroize(skip)]
    version: u32,
    #[zeroize(skip)]
    election_id: String,
    #[zeroize(skip)]
    index: u32,
    secret: String,
    #[zeroize(skip)]
    outcome: CeremonyOutcome,
}

/// Saves a trustee's share of the election key after the ceremony.
pub fn save_share(
    path: &Path,
    election_id: &[u8; 32],
    share: &TrusteeShare,
) -> Result<(), CliError> {
    let file = ShareFile {
        version: 1,
        election_id: hex::encode(election_id),
        index: share.index(),
        secret: hex::encode(share.secret().to_bytes()),
        outcome: share.outcome().clone(),
    };
    let text = Zeroizing::new(
        serde_json::to_string_pretty(&file).map_err(|e| CliError::msg(e.to_string()))?,
    );
    drop(file);
    write_private(path, text.as_bytes())
}

/// Loads a trustee's share, checking it is for `election_id` and matches its outcome.
pub fn load_share(path: &Path, election_id: &[u8; 32]) -> Result<TrusteeShare, CliError> {
    let text = Zeroizing::new(read_text(path, "share file")?);
    parse_share(&text, &path.display().to_string(), election_id)
}

/// Parses a share file's text (`origin` names it in errors), checking it is for
/// `election_id` and matches its outcome.
pub fn parse_share(
    text: &str,
    origin: &str,
    election_id: &[u8; 32],
) -> Result<TrusteeShare, CliError> {
    let file: ShareFile = serde_json::from_str(text)
        .map_err(|e| CliError::msg(format!("unreadable share file {origin}: {e}")))?;
    check_version(file.version, origin)?;
    if file.election_id != hex::encode(election_id) {
        return Err(CliError::msg(format!(
            "share file {origin} is for election {}, not this one",
            file.election_id
        )));
    }
    let secret = scalar(&file.secret, origin, "secret")?;
    TrusteeShare::from_parts(file.index, secret, file.outcome.clone())
        .map_err(|e| CliError::msg(format!("share file {origin}: {e}")))
}

/// Reads a receipt file (the format is [`ReceiptFile`]'s, shared with the web booth).
pub fn load_receipt(path: &Path) -> Result<ReceiptFile, CliError> {
    let text = read_text(path, "receipt file")?;
    ReceiptFile::parse(&text)
        .map_err(|e| CliError::msg(format!("unreadable receipt file {}: {e}", path.display())))
}

/// Writes a receipt file (a new file).
pub fn save_receipt(file: &ReceiptFile, path: &Path) -> Result<(), CliError> {
    write_public(path, file.to_text().as_bytes())
}

/// Reads a registration file ([`RegistrationFile`]).
pub fn load_registration(path: &Path) -> Result<RegistrationFile, CliError> {
    let text = read_text(path, "registration file")?;
    RegistrationFile::parse(&text).map_err(|e| {
        CliError::msg(format!(
            "unreadable registration file {}: {e}",
            path.display()
        ))
    })
}

/// Writes a registration file.
pub fn save_registration(file: &RegistrationFile, path: &Path) -> Result<(), CliError> {
    write_public(path, file.to_text().as_bytes())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn credentials_are_saved_with_mode_0600_and_never_overwritten() {
        let dir = std::env::temp_dir().join(format!("zkvote-cred-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("voter.json");
        let _ = std::fs::remove_file(&path);
        let c = Credential::generate(&mut rand_core::OsRng);
        save_credential(&path, &c).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert!(save_credential(&path, &c).is_err());
        assert_eq!(load_credential(&path).unwrap().commitment(), c.commitment());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
