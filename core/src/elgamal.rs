//! Exponential ElGamal on Ristretto255.
//!
//! `Enc(m; r) = (r*G, m*G + r*PK)`. Ciphertexts add component-wise, so the sum of
//! encryptions of votes is an encryption of the vote count. Only sums are ever decrypted;
//! recovering a small count from `m*G` is the tally crate's job.

use crate::codec::{DecodeError, Element};
use curve25519_dalek::constants::{RISTRETTO_BASEPOINT_POINT, RISTRETTO_BASEPOINT_TABLE};
use curve25519_dalek::ristretto::{RistrettoBasepointTable, RistrettoPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::Identity;
use rand_core::CryptoRngCore;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::iter::Sum;
use std::ops::{Add, AddAssign};
use subtle::{Choice, ConditionallySelectable};
use zeroize::{Zeroize, ZeroizeOnDrop};

/// The group generator `G` (the Ristretto255 basepoint).
pub const G: RistrettoPoint = RISTRETTO_BASEPOINT_POINT;

/// `s * G` in constant time through the static basepoint table.
pub fn mul_base(s: &Scalar) -> RistrettoPoint {
    RISTRETTO_BASEPOINT_TABLE * s
}

/// An ElGamal ciphertext as a pair of points (the working form; the wire form of a
/// ballot's ciphertext is a pair of checked [`Element`]s).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ciphertext {
    /// `r * G`.
    pub a: RistrettoPoint,
    /// `m * G + r * PK`.
    pub b: RistrettoPoint,
}

impl Ciphertext {
    /// The encryption of 0 with nonce 0: the neutral element of ciphertext addition.
    pub fn zero() -> Self {
        Ciphertext {
            a: RistrettoPoint::identity(),
            b: RistrettoPoint::identity(),
        }
    }
}

impl Add for Ciphertext {
    type Output = Ciphertext;
    fn add(self, rhs: Ciphertext) -> Ciphertext {
        Ciphertext {
            a: self.a + rhs.a,
            b: self.b + rhs.b,
        }
    }
}

impl AddAssign for Ciphertext {
    fn add_assign(&mut self, rhs: Ciphertext) {
        self.a += rhs.a;
        self.b += rhs.b;
    }
}

impl Sum for Ciphertext {
    fn sum<I: Iterator<Item = Ciphertext>>(iter: I) -> Self {
        iter.fold(Ciphertext::zero(), |x, y| x + y)
    }
}

/// An election public key with a precomputed multiplication table, so that encryption
/// costs two fixed-base multiplications.
#[derive(Clone)]
pub struct ElectionPublicKey {
    element: Element,
    table: Box<RistrettoBasepointTable>,
}

impl ElectionPublicKey {
    /// Wraps a public key. The identity is refused by [`Element::decode`]; a key built
    /// from a point is checked here too.
    pub fn new(element: Element) -> Result<Self, DecodeError> {
        if element.is_identity() {
            return Err(DecodeError::IdentityPoint { offset: 0 });
        }
        let table = Box::new(RistrettoBasepointTable::create(element.point()));
        Ok(ElectionPublicKey { element, table })
    }

    /// Decodes a canonical, non-identity public key.
    pub fn decode(bytes: &[u8; 32]) -> Result<Self, DecodeError> {
        Self::new(Element::decode(bytes)?)
    }

    /// The key as a checked element.
    pub fn element(&self) -> &Element {
        &self.element
    }

    /// The key as a point.
    pub fn point(&self) -> &RistrettoPoint {
        self.element.point()
    }

    /// `s * PK` in constant time through the precomputed table.
    pub fn mul(&self, s: &Scalar) -> RistrettoPoint {
        &*self.table * s
    }

    /// Encrypts `m` with the explicit nonce `r`, in constant time.
    pub fn encrypt(&self, m: &Scalar, r: &Scalar) -> Ciphertext {
        Ciphertext {
            a: mul_base(r),
            b: mul_base(m) + self.mul(r),
        }
    }
}

impl ElectionPublicKey {
    /// Encrypts a bit (`m` in {0, 1}) with the explicit nonce `r`, in constant time: the
    /// same as [`ElectionPublicKey::encrypt`] with one fixed-base multiplication fewer.
    pub fn encrypt_bit(&self, m: Choice, r: &Scalar) -> Ciphertext {
        let m_g = RistrettoPoint::conditional_select(&RistrettoPoint::identity(), &G, m);
        Ciphertext {
            a: mul_base(r),
            b: m_g + self.mul(r),
        }
    }
}

impl fmt::Debug for ElectionPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ElectionPublicKey({})",
            hex::encode(self.element.as_bytes())
        )
    }
}

impl PartialEq for ElectionPublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.element == other.element
    }
}

impl Serialize for ElectionPublicKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.element.serialize(s)
    }
}

impl<'de> Deserialize<'de> for ElectionPublicKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let element = Element::deserialize(d)?;
        ElectionPublicKey::new(element).map_err(serde::de::Error::custom)
    }
}

/// An ElGamal secret key. Zeroized on drop; its Debug output is redacted.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SecretKey(Scalar);

impl SecretKey {
    /// Samples a uniformly random non-zero secret key.
    pub fn random(rng: &mut impl CryptoRngCore) -> Self {
        loop {
            let s = Scalar::random(rng);
            if s != Scalar::ZERO {
                return SecretKey(s);
            }
        }
    }

    /// Wraps an existing secret scalar.
    pub fn from_scalar(s: Scalar) -> Self {
        SecretKey(s)
    }

    /// The secret scalar.
    pub fn as_scalar(&self) -> &Scalar {
        &self.0
    }

    /// The public key `x * G`.
    pub fn public_key(&self) -> ElectionPublicKey {
        ElectionPublicKey::new(Element::from_point(mul_base(&self.0)))
            .expect("a non-zero secret key gives a non-identity public key")
    }

    /// `B - x*A = m*G`, in constant time.
    pub fn decrypt_to_point(&self, ct: &Ciphertext) -> RistrettoPoint {
        ct.b - ct.a * self.0
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::OsRng;

    #[test]
    fn encrypt_decrypt_and_add() {
        let sk = SecretKey::random(&mut OsRng);
        let pk = sk.public_key();
        let c1 = pk.encrypt(&Scalar::from(3u64), &Scalar::random(&mut OsRng));
        let c2 = pk.encrypt(&Scalar::from(4u64), &Scalar::random(&mut OsRng));
        assert_eq!(sk.decrypt_to_point(&(c1 + c2)), G * Scalar::from(7u64));
        let total: Ciphertext = [c1, c2, c1].into_iter().sum();
        let r = Scalar::random(&mut OsRng);
        for m in [0u8, 1] {
            assert_eq!(
                pk.encrypt_bit(m.into(), &r),
                pk.encrypt(&Scalar::from(m), &r)
            );
        }
        assert_eq!(sk.decrypt_to_point(&total), G * Scalar::from(10u64));
    }

    #[test]
    fn secret_key_debug_is_redacted() {
        let sk = SecretKey::random(&mut OsRng);
        let shown = format!("{sk:?}");
        assert!(!shown.contains(&hex::encode(sk.as_scalar().as_bytes())));
        assert!(shown.contains("redacted"));
    }

    #[test]
    fn identity_public_key_is_refused() {
        assert!(ElectionPublicKey::decode(&[0u8; 32]).is_err());
    }
}
