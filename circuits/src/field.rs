//! Canonical encodings of BLS12-381 scalar-field elements and the field elements derived
//! from the election id and the ballot digest.

use ark_bls12_381::Fr;
use ark_ff::{BigInteger, BigInteger256, PrimeField};
use sha2::{Digest, Sha256};
use zkvote_core::BallotDigest;

/// Domain prefix of the election's field element.
pub const ELECTION_SCALAR_DOMAIN: &[u8] = b"zkvote/v1/election-scalar";

/// A 32-byte string that is not a canonical field element.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what}: not a canonical BLS12-381 scalar (must be < r, 32 bytes little-endian)")]
pub struct FieldError {
    /// Which value was refused.
    pub what: &'static str,
}

/// The canonical 32-byte little-endian encoding of a field element.
pub fn fr_to_bytes(x: &Fr) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(&x.into_bigint().to_bytes_le());
    out
}

/// Decodes a canonical field element; values `>= r` are refused, never reduced.
pub fn fr_from_bytes(bytes: &[u8; 32], what: &'static str) -> Result<Fr, FieldError> {
    let mut limbs = [0u64; 4];
    for (i, l) in limbs.iter_mut().enumerate() {
        *l = u64::from_le_bytes(bytes[8 * i..8 * i + 8].try_into().expect("8 bytes"));
    }
    Fr::from_bigint(BigInteger256::new(limbs)).ok_or(FieldError { what })
}

/// The election's field element (a public input of the eligibility circuit and an input
/// of the nullifier): `SHA-256(ELECTION_SCALAR_DOMAIN || election_id)` with the two top
/// bits of the last byte cleared, read little-endian (below `2^254 < r`).
pub fn election_scalar(election_id: &[u8; 32]) -> Fr {
    let mut h = Sha256::new();
    h.update(ELECTION_SCALAR_DOMAIN);
    h.update(election_id);
    let mut d: [u8; 32] = h.finalize().into();
    d[31] &= 0x3f;
    fr_from_bytes(&d, "election scalar").expect("below 2^254")
}

/// The ballot digest as a field element (it is canonical by construction).
pub fn digest_scalar(d: &BallotDigest) -> Fr {
    fr_from_bytes(d.as_bytes(), "ballot digest").expect("digests are below 2^254")
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ff::Field;

    #[test]
    fn canonical_only() {
        let minus_one = -Fr::ONE;
        let b = fr_to_bytes(&minus_one);
        assert_eq!(fr_from_bytes(&b, "x").unwrap(), minus_one);
        // r itself, and 2^256 - 1, are refused.
        let mut r = fr_to_bytes(&minus_one);
        r[0] += 1;
        assert!(fr_from_bytes(&r, "x").is_err());
        assert!(fr_from_bytes(&[0xff; 32], "x").is_err());
        assert_eq!(fr_from_bytes(&[0; 32], "x").unwrap(), Fr::from(0u64));
    }

    #[test]
    fn election_scalars_differ() {
        assert_ne!(election_scalar(&[1; 32]), election_scalar(&[2; 32]));
    }
}
