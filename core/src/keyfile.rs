//! Secret files on disk: the one place where zkvote writes a file that holds a secret
//! (voter credentials, board, commission and trustee keys, shares), and reads an ed25519
//! key file. The only module of this crate that touches the filesystem; it is not built
//! for WebAssembly, where the browser holds the secrets.

use ed25519_dalek::SigningKey;
use std::path::Path;
use zeroize::Zeroizing;

/// A key file that could not be read, parsed or created.
#[derive(Debug, thiserror::Error)]
#[error("key file {path}: {message}")]
pub struct KeyFileError {
    /// The file.
    pub path: String,
    /// What went wrong.
    pub message: String,
}

impl KeyFileError {
    fn new(path: &Path, message: impl ToString) -> Self {
        KeyFileError {
            path: path.display().to_string(),
            message: message.to_string(),
        }
    }
}

/// Writes a new file readable and writable by its owner only (mode 0600 on Unix), synced
/// to disk; an existing file is never overwritten.
pub fn write_private_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options.open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

/// Reads an ed25519 key file: the 32-byte seed as 64 lowercase hex digits (and a line
/// feed).
pub fn read_signing_key(path: &Path) -> Result<SigningKey, KeyFileError> {
    let text =
        Zeroizing::new(std::fs::read_to_string(path).map_err(|e| KeyFileError::new(path, e))?);
    let mut seed = Zeroizing::new([0u8; 32]);
    crate::codec::hex_exact(text.trim(), &mut seed[..])
        .map_err(|e| KeyFileError::new(path, format!("not a 64-hex-digit seed: {e}")))?;
    Ok(SigningKey::from_bytes(&seed))
}

/// Creates a new ed25519 key file (mode 0600 on Unix); an existing file is never
/// overwritten.
pub fn create_signing_key(path: &Path) -> Result<SigningKey, KeyFileError> {
    let key = SigningKey::generate(&mut rand_core::OsRng);
    let text = Zeroizing::new(format!("{}\n", hex::encode(key.to_bytes())));
    write_private_file(path, text.as_bytes()).map_err(|e| KeyFileError::new(path, e))?;
    Ok(key)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn key_files_are_private_and_never_overwritten() {
        let dir = std::env::temp_dir().join(format!("zkvote-keyfile-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("key");
        let _ = std::fs::remove_file(&path);
        let key = create_signing_key(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(read_signing_key(&path).unwrap().to_bytes(), key.to_bytes());
        assert!(create_signing_key(&path).is_err());
        std::fs::write(dir.join("bad"), "zz\n").unwrap();
        assert!(read_signing_key(&dir.join("bad")).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
