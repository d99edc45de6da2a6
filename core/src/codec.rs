//! Canonical encodings: the checked group element type, the binary reader used by every
//! decoder of untrusted bytes, and the hex forms used in JSON.
//!
//! Every decoder in this crate goes through [`Reader`], so the rules are enforced in one
//! place: points must be canonical Ristretto255 encodings (and not the identity unless the
//! caller says the identity is meaningful), scalars must be canonical (`< l`), lengths must
//! match exactly and no trailing bytes are allowed.

use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::IsIdentity;
use serde::{de, Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// Why a byte string (or its hex form) was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The input ended before a field of `needed` bytes could be read.
    #[error("input too short: needed {needed} more bytes at offset {offset}, {remaining} left")]
    UnexpectedEnd {
        /// Byte offset of the field.
        offset: usize,
        /// Bytes the field needs.
        needed: usize,
        /// Bytes that were left.
        remaining: usize,
    },
    /// Bytes were left over after a complete value.
    #[error("{0} trailing bytes after the encoded value")]
    TrailingBytes(usize),
    /// A field had the wrong length.
    #[error("wrong length: expected {expected} bytes, got {got}")]
    Length {
        /// Expected length in bytes.
        expected: usize,
        /// Length found.
        got: usize,
    },
    /// 32 bytes that are not the canonical encoding of a Ristretto255 point.
    #[error("not a canonical Ristretto255 point encoding at offset {offset}")]
    NonCanonicalPoint {
        /// Byte offset of the point (0 for a standalone value).
        offset: usize,
    },
    /// The identity element where it is meaningless.
    #[error("the identity point is not allowed here (offset {offset})")]
    IdentityPoint {
        /// Byte offset of the point (0 for a standalone value).
        offset: usize,
    },
    /// 32 bytes encoding an integer `>= l`, the order of the Ristretto255 group.
    #[error("scalar is not canonical (>= group order) at offset {offset}")]
    NonCanonicalScalar {
        /// Byte offset of the scalar (0 for a standalone value).
        offset: usize,
    },
    /// An unknown format version byte.
    #[error("unsupported encoding version {0}")]
    Version(u8),
    /// Hex text that is not lowercase hex of the right length.
    #[error("invalid hex: {0}")]
    Hex(String),
    /// A ballot digest whose little-endian integer is not below `2^254`.
    #[error("a ballot digest must be below 2^254 (its top two bits clear)")]
    DigestRange,
}

/// A checked Ristretto255 group element: a canonical encoding together with its decoded
/// point. Values of this type only come from decoding canonical bytes or from compressing
/// a point, so the two halves always agree and untrusted bytes are parsed exactly once.
#[derive(Clone, Copy)]
pub struct Element {
    compressed: CompressedRistretto,
    point: RistrettoPoint,
}

impl Element {
    /// Wraps a point, computing its canonical encoding.
    pub fn from_point(point: RistrettoPoint) -> Self {
        Element {
            compressed: point.compress(),
            point,
        }
    }

    /// Decodes a canonical, non-identity point.
    pub fn decode(bytes: &[u8; 32]) -> Result<Self, DecodeError> {
        let e = Self::decode_allow_identity(bytes)?;
        if e.point.is_identity() {
            return Err(DecodeError::IdentityPoint { offset: 0 });
        }
        Ok(e)
    }

    /// Decodes a canonical point, accepting the identity (for places where it is a valid
    /// value, such as an aggregate of zero ciphertexts).
    pub fn decode_allow_identity(bytes: &[u8; 32]) -> Result<Self, DecodeError> {
        let compressed = CompressedRistretto(*bytes);
        // `decompress` implements the Ristretto255 decoding of RFC 9496, which rejects
        // every non-canonical encoding.
        let point = compressed
            .decompress()
            .ok_or(DecodeError::NonCanonicalPoint { offset: 0 })?;
        Ok(Element { compressed, point })
    }

    /// The decoded point.
    pub fn point(&self) -> &RistrettoPoint {
        &self.point
    }

    /// The canonical 32-byte encoding.
    pub fn compressed(&self) -> &CompressedRistretto {
        &self.compressed
    }

    /// The canonical 32-byte encoding as an array.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.compressed.to_bytes()
    }

    /// The canonical encoding as a byte slice.
    pub fn as_bytes(&self) -> &[u8; 32] {
        self.compressed.as_bytes()
    }

    /// True for the identity element.
    pub fn is_identity(&self) -> bool {
        self.point.is_identity()
    }
}

impl PartialEq for Element {
    fn eq(&self, other: &Self) -> bool {
        self.compressed == other.compressed
    }
}
impl Eq for Element {}

impl fmt::Debug for Element {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Element({})", hex::encode(self.compressed.as_bytes()))
    }
}

impl Serialize for Element {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(self.compressed.as_bytes()))
    }
}

impl<'de> Deserialize<'de> for Element {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        let bytes = hex32(&text).map_err(de::Error::custom)?;
        Element::decode(&bytes).map_err(de::Error::custom)
    }
}

/// Decodes exactly 64 lowercase hex digits into 32 bytes.
pub fn hex32(text: &str) -> Result<[u8; 32], DecodeError> {
    let mut out = [0u8; 32];
    hex_exact(text, &mut out)?;
    Ok(out)
}

/// Decodes lowercase hex of exactly `out.len()` bytes into `out`. Uppercase digits are
/// refused so that every value has a single JSON form.
pub fn hex_exact(text: &str, out: &mut [u8]) -> Result<(), DecodeError> {
    if text.len() != 2 * out.len() {
        return Err(DecodeError::Hex(format!(
            "expected {} hex digits, got {}",
            2 * out.len(),
            text.len()
        )));
    }
    if text.bytes().any(|c| c.is_ascii_uppercase()) {
        return Err(DecodeError::Hex(
            "uppercase hex digits are not canonical".into(),
        ));
    }
    hex::decode_to_slice(text, out).map_err(|e| DecodeError::Hex(e.to_string()))
}

/// Decodes a canonical scalar (an integer `< l` in 32 little-endian bytes).
pub fn decode_scalar(bytes: &[u8; 32]) -> Result<Scalar, DecodeError> {
    Option::from(Scalar::from_canonical_bytes(*bytes))
        .ok_or(DecodeError::NonCanonicalScalar { offset: 0 })
}

/// A cursor over untrusted bytes. Every read checks the remaining length; [`Reader::finish`]
/// refuses trailing bytes.
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// Starts reading at the beginning of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    /// Current byte offset.
    pub fn offset(&self) -> usize {
        self.pos
    }

    /// Takes the next `n` bytes.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let remaining = self.buf.len() - self.pos;
        if remaining < n {
            return Err(DecodeError::UnexpectedEnd {
                offset: self.pos,
                needed: n,
                remaining,
            });
        }
        let out = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    /// Reads one byte.
    pub fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?[0])
    }

    /// Reads a fixed-size array.
    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    /// Reads a canonical, non-identity point.
    pub fn element(&mut self) -> Result<Element, DecodeError> {
        let offset = self.pos;
        let bytes = self.array::<32>()?;
        Element::decode(&bytes).map_err(|e| with_offset(e, offset))
    }

    /// Reads a canonical scalar.
    pub fn scalar(&mut self) -> Result<Scalar, DecodeError> {
        let offset = self.pos;
        let bytes = self.array::<32>()?;
        decode_scalar(&bytes).map_err(|e| with_offset(e, offset))
    }

    /// Ends decoding; fails if bytes are left.
    pub fn finish(self) -> Result<(), DecodeError> {
        let left = self.buf.len() - self.pos;
        if left != 0 {
            return Err(DecodeError::TrailingBytes(left));
        }
        Ok(())
    }
}

fn with_offset(e: DecodeError, offset: usize) -> DecodeError {
    match e {
        DecodeError::NonCanonicalPoint { .. } => DecodeError::NonCanonicalPoint { offset },
        DecodeError::IdentityPoint { .. } => DecodeError::IdentityPoint { offset },
        DecodeError::NonCanonicalScalar { .. } => DecodeError::NonCanonicalScalar { offset },
        other => other,
    }
}

/// Serde helpers for the JSON form: 32-byte values as 64 lowercase hex digits.
pub mod serde_hex32 {
    use super::*;

    /// Serializes 32 bytes as lowercase hex.
    pub fn serialize<S: Serializer>(v: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(v))
    }

    /// Deserializes exactly 64 lowercase hex digits.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        hex32(&text).map_err(de::Error::custom)
    }
}

/// Serde helpers for the JSON form of a canonical scalar.
pub mod serde_scalar {
    use super::*;

    /// Serializes a scalar as the lowercase hex of its 32 little-endian bytes.
    pub fn serialize<S: Serializer>(v: &Scalar, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(v.as_bytes()))
    }

    /// Deserializes a scalar, refusing values `>= l`.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Scalar, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        let bytes = hex32(&text).map_err(de::Error::custom)?;
        decode_scalar(&bytes).map_err(de::Error::custom)
    }
}

/// Serde helpers for a list of canonical scalars.
pub mod serde_scalar_vec {
    use super::*;
    use serde::ser::SerializeSeq;

    /// Serializes each scalar as lowercase hex.
    pub fn serialize<S: Serializer>(v: &[Scalar], s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(v.len()))?;
        for x in v {
            seq.serialize_element(&hex::encode(x.as_bytes()))?;
        }
        seq.end()
    }

    /// Deserializes a list of canonical scalars.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Scalar>, D::Error> {
        let texts = Vec::<std::borrow::Cow<'de, str>>::deserialize(d)?;
        texts
            .iter()
            .map(|t| {
                let bytes = hex32(t).map_err(de::Error::custom)?;
                decode_scalar(&bytes).map_err(de::Error::custom)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use curve25519_dalek::constants::RISTRETTO_BASEPOINT_POINT;

    #[test]
    fn reader_refuses_short_and_trailing_input() {
        let mut r = Reader::new(&[1, 2, 3]);
        assert_eq!(r.u8().unwrap(), 1);
        assert!(matches!(
            r.array::<4>(),
            Err(DecodeError::UnexpectedEnd { needed: 4, .. })
        ));
        let mut r = Reader::new(&[1, 2, 3]);
        r.u8().unwrap();
        assert_eq!(r.finish(), Err(DecodeError::TrailingBytes(2)));
    }

    #[test]
    fn element_rejects_identity_and_non_canonical() {
        assert_eq!(
            Element::decode(&[0u8; 32]),
            Err(DecodeError::IdentityPoint { offset: 0 })
        );
        assert!(Element::decode_allow_identity(&[0u8; 32]).is_ok());
        // The field element p = 2^255 - 19 itself: a non-canonical encoding of 0.
        let mut p = [0xffu8; 32];
        p[0] = 0xed;
        p[31] = 0x7f;
        assert!(matches!(
            Element::decode(&p),
            Err(DecodeError::NonCanonicalPoint { .. })
        ));
        // Negative field elements (odd low bit) are not canonical Ristretto encodings.
        let mut g = RISTRETTO_BASEPOINT_POINT.compress().to_bytes();
        g[0] |= 1;
        assert!(Element::decode(&g).is_err());
        // High bit set.
        let mut g = RISTRETTO_BASEPOINT_POINT.compress().to_bytes();
        g[31] |= 0x80;
        assert!(Element::decode(&g).is_err());
    }

    #[test]
    fn scalar_rejects_group_order_and_above() {
        // l = 2^252 + 27742317777372353535851937790883648493, little-endian.
        let l: [u8; 32] = [
            0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9,
            0xde, 0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
        ];
        assert!(decode_scalar(&l).is_err());
        let mut l_minus_1 = l;
        l_minus_1[0] -= 1;
        assert!(decode_scalar(&l_minus_1).is_ok());
        assert!(decode_scalar(&[0xff; 32]).is_err());
    }

    #[test]
    fn hex_is_strict() {
        assert!(hex32(&"ab".repeat(32)).is_ok());
        assert!(hex32(&"AB".repeat(32)).is_err());
        assert!(hex32(&"ab".repeat(31)).is_err());
        assert!(hex32(&"zz".repeat(32)).is_err());
    }
}
