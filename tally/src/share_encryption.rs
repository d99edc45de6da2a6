//! Encryption of a key-ceremony share to its recipient: an ephemeral Diffie-Hellman on
//! Ristretto255, HKDF-SHA256, and ChaCha20-Poly1305.
//!
//! `E = e*G`, `K = e*EK` (the recipient computes `K = x*E`), `key = HKDF-SHA256(salt =
//! manifest_hash, ikm = enc(K), info = HKDF_SHARE || LE32(dealer) || LE32(recipient) ||
//! enc(E) || enc(EK))`, ciphertext = ChaCha20-Poly1305(key, nonce = 0^12, aad = empty,
//! plaintext = the share's 32-byte scalar encoding): 48 bytes. Each key encrypts exactly
//! one message, so the fixed nonce is safe.

use crate::labels;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use hkdf::Hkdf;
use rand_core::CryptoRngCore;
use sha2::Sha256;
use zeroize::Zeroizing;
use zkvote_core::elgamal::mul_base;
use zkvote_core::Element;

/// Length of an encrypted share.
pub const CIPHERTEXT_LEN: usize = 48;

fn derive_key(
    manifest_hash: &[u8; 32],
    shared: &RistrettoPoint,
    dealer: u32,
    recipient: u32,
    ephemeral: &Element,
    recipient_key: &Element,
) -> Zeroizing<[u8; 32]> {
    let ikm = Zeroizing::new(shared.compress().to_bytes());
    let hk = Hkdf::<Sha256>::new(Some(manifest_hash), &ikm[..]);
    let mut info = Vec::with_capacity(labels::HKDF_SHARE.len() + 72);
    info.extend_from_slice(labels::HKDF_SHARE);
    info.extend_from_slice(&dealer.to_le_bytes());
    info.extend_from_slice(&recipient.to_le_bytes());
    info.extend_from_slice(ephemeral.as_bytes());
    info.extend_from_slice(recipient_key.as_bytes());
    let mut key = Zeroizing::new([0u8; 32]);
    hk.expand(&info, &mut key[..])
        .expect("32 bytes is a valid HKDF length");
    key
}

/// Encrypts `share` from `dealer` to `recipient` (whose encryption key is `recipient_key`).
/// Returns the ephemeral key and the 48-byte ciphertext.
pub fn encrypt_share(
    manifest_hash: &[u8; 32],
    dealer: u32,
    recipient: u32,
    recipient_key: &Element,
    share: &Scalar,
    rng: &mut impl CryptoRngCore,
) -> (Element, Vec<u8>) {
    let e = Zeroizing::new(Scalar::random(rng));
    let ephemeral = Element::from_point(mul_base(&e));
    let shared = Zeroizing::new(recipient_key.point() * *e);
    let key = derive_key(
        manifest_hash,
        &shared,
        dealer,
        recipient,
        &ephemeral,
        recipient_key,
    );
    let cipher = ChaCha20Poly1305::new(Key::from_slice(&key[..]));
    let ct = cipher
        .encrypt(Nonce::from_slice(&[0u8; 12]), share.as_bytes().as_slice())
        .expect("ChaCha20-Poly1305 encryption of 32 bytes cannot fail");
    (ephemeral, ct)
}

/// Decrypts a share given the Diffie-Hellman value `shared = x * ephemeral` (computed by
/// the recipient, or revealed in a complaint). `None` if authentication fails or the
/// plaintext is not a canonical scalar.
pub fn decrypt_share(
    manifest_hash: &[u8; 32],
    dealer: u32,
    recipient: u32,
    recipient_key: &Element,
    ephemeral: &Element,
    shared: &RistrettoPoint,
    ciphertext: &[u8],
) -> Option<Scalar> {
    let key = derive_key(
        manifest_hash,
        shared,
        dealer,
        recipient,
        ephemeral,
        recipient_key,
    );
    let cipher = ChaCha20Poly1305::new(Key::from_slice(&key[..]));
    let pt = Zeroizing::new(
        cipher
            .decrypt(Nonce::from_slice(&[0u8; 12]), ciphertext)
            .ok()?,
    );
    let bytes: [u8; 32] = pt.as_slice().try_into().ok()?;
    Option::from(Scalar::from_canonical_bytes(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::OsRng;
    use zkvote_core::SecretKey;

    #[test]
    fn round_trip_and_binding() {
        let sk = SecretKey::random(&mut OsRng);
        let pk = *sk.public_key().element();
        let share = Scalar::random(&mut OsRng);
        let h = [9u8; 32];
        let (eph, ct) = encrypt_share(&h, 1, 2, &pk, &share, &mut OsRng);
        assert_eq!(ct.len(), CIPHERTEXT_LEN);
        let shared = eph.point() * sk.as_scalar();
        assert_eq!(
            decrypt_share(&h, 1, 2, &pk, &eph, &shared, &ct),
            Some(share)
        );
        // Wrong context (dealer, recipient, manifest) or a flipped bit: refused.
        assert_eq!(decrypt_share(&h, 3, 2, &pk, &eph, &shared, &ct), None);
        assert_eq!(decrypt_share(&h, 1, 3, &pk, &eph, &shared, &ct), None);
        assert_eq!(decrypt_share(&[8; 32], 1, 2, &pk, &eph, &shared, &ct), None);
        let mut bad = ct.clone();
        bad[5] ^= 1;
        assert_eq!(decrypt_share(&h, 1, 2, &pk, &eph, &shared, &bad), None);
    }
}
