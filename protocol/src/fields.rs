//! Validated field types of entries and API bodies. Each one checks itself once, when it
//! is decoded, and serializes back to the exact text it was read from (lowercase hex of
//! its canonical bytes), so an entry's leaf bytes round-trip.

use ark_bls12_381::Fr;
use curve25519_dalek::ristretto::CompressedRistretto;
use serde::{de, Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use zkvote_circuits::field::{fr_from_bytes, fr_to_bytes};
use zkvote_circuits::groth16::{verifying_key_from_bytes, EligibilityVerifier, Groth16Error};
use zkvote_core::codec::{hex32, hex_exact};
use zkvote_core::Ciphertext;

/// A BLS12-381 scalar-field element: 64 lowercase hex digits of its canonical 32-byte
/// little-endian encoding (values `>= r` are refused, never reduced).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct FieldElement(Fr);

impl FieldElement {
    /// Wraps a field element.
    pub fn new(x: Fr) -> Self {
        FieldElement(x)
    }

    /// The field element.
    pub fn get(&self) -> Fr {
        self.0
    }

    /// Its canonical bytes.
    pub fn to_bytes(&self) -> [u8; 32] {
        fr_to_bytes(&self.0)
    }

    /// Decodes its hex form.
    pub fn from_hex(text: &str) -> Result<Self, String> {
        let bytes = hex32(text).map_err(|e| e.to_string())?;
        fr_from_bytes(&bytes, "field element")
            .map(FieldElement)
            .map_err(|e| e.to_string())
    }

    /// Its hex form.
    pub fn to_hex(&self) -> String {
        hex::encode(self.to_bytes())
    }
}

impl fmt::Debug for FieldElement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FieldElement({})", self.to_hex())
    }
}

impl Serialize for FieldElement {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // Into a buffer on the stack: a board re-encodes millions of registrations when
        // it checks its start-up snapshot.
        let mut hex = [0u8; 64];
        hex::encode_to_slice(self.to_bytes(), &mut hex).map_err(serde::ser::Error::custom)?;
        s.serialize_str(std::str::from_utf8(&hex).map_err(serde::ser::Error::custom)?)
    }
}

impl<'de> Deserialize<'de> for FieldElement {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        FieldElement::from_hex(&text).map_err(de::Error::custom)
    }
}

/// A compressed Groth16 verifying key (exactly `VK_SIZE` bytes, every point validated),
/// in hex. It keeps its bytes, which the manifest's `groth16_vk_hash` covers.
#[derive(Clone, PartialEq, Eq)]
pub struct VerifyingKeyBytes(Vec<u8>);

impl VerifyingKeyBytes {
    /// Checks compressed verifying-key bytes.
    pub fn new(bytes: Vec<u8>) -> Result<Self, Groth16Error> {
        verifying_key_from_bytes(&bytes)?;
        Ok(VerifyingKeyBytes(bytes))
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The prepared verifier of this key.
    pub fn verifier(&self) -> Result<EligibilityVerifier, Groth16Error> {
        EligibilityVerifier::new(&verifying_key_from_bytes(&self.0)?)
    }
}

impl fmt::Debug for VerifyingKeyBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VerifyingKeyBytes({} bytes)", self.0.len())
    }
}

impl Serialize for VerifyingKeyBytes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for VerifyingKeyBytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        let mut bytes = vec![0u8; text.len() / 2];
        hex_exact(&text, &mut bytes).map_err(de::Error::custom)?;
        VerifyingKeyBytes::new(bytes).map_err(de::Error::custom)
    }
}

/// An ElGamal ciphertext as published in a result: `hex(A || B)`, 64 bytes (compressed
/// points; compared with the recomputed aggregate's encoding, never decompressed).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct EncodedCiphertext([u8; 64]);

impl EncodedCiphertext {
    /// The encoding of a ciphertext.
    pub fn of(c: &Ciphertext) -> Self {
        let mut bytes = [0u8; 64];
        bytes[..32].copy_from_slice(c.a.compress().as_bytes());
        bytes[32..].copy_from_slice(c.b.compress().as_bytes());
        EncodedCiphertext(bytes)
    }

    /// The encoding given as its 64 bytes (not checked: it is compared, never decompressed,
    /// until [`EncodedCiphertext::decode`]).
    pub fn from_bytes(bytes: [u8; 64]) -> Self {
        EncodedCiphertext(bytes)
    }

    /// The ciphertext, when both halves are canonical encodings of Ristretto points.
    pub fn decode(&self) -> Option<Ciphertext> {
        let point = |b: &[u8]| CompressedRistretto::from_slice(b).ok()?.decompress();
        Some(Ciphertext {
            a: point(&self.0[..32])?,
            b: point(&self.0[32..])?,
        })
    }

    /// The 64 bytes.
    pub fn as_bytes(&self) -> &[u8; 64] {
        &self.0
    }
}

impl fmt::Debug for EncodedCiphertext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EncodedCiphertext({})", hex::encode(self.0))
    }
}

impl Serialize for EncodedCiphertext {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(self.0))
    }
}

impl<'de> Deserialize<'de> for EncodedCiphertext {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        let mut bytes = [0u8; 64];
        hex_exact(&text, &mut bytes).map_err(de::Error::custom)?;
        Ok(EncodedCiphertext(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ff::Field;

    #[test]
    fn field_elements_are_canonical_hex_only() {
        let x = FieldElement::new(Fr::from(7u64));
        let text = serde_json::to_string(&x).unwrap();
        assert_eq!(serde_json::from_str::<FieldElement>(&text).unwrap(), x);
        let minus_one = hex::encode(fr_to_bytes(&-Fr::ONE));
        let mut r = fr_to_bytes(&-Fr::ONE);
        r[0] += 1; // r itself: not canonical
        for bad in [
            hex::encode(r),
            minus_one.to_uppercase(),
            minus_one[2..].to_string(),
            format!("{minus_one}00"),
        ] {
            assert!(FieldElement::from_hex(&bad).is_err(), "{bad}");
        }
        assert!(FieldElement::from_hex(&minus_one).is_ok());
    }

    #[test]
    fn ciphertexts_need_64_bytes_of_lowercase_hex() {
        let good = format!("\"{}\"", "ab".repeat(64));
        assert!(serde_json::from_str::<EncodedCiphertext>(&good).is_ok());
        for bad in ["ab".repeat(63), "AB".repeat(64), "ab".repeat(65)] {
            assert!(serde_json::from_str::<EncodedCiphertext>(&format!("\"{bad}\"")).is_err());
        }
    }

    #[test]
    fn verifying_keys_are_checked() {
        let text = format!("\"{}\"", "00".repeat(zkvote_circuits::groth16::VK_SIZE));
        assert!(serde_json::from_str::<VerifyingKeyBytes>(&text).is_err());
        assert!(serde_json::from_str::<VerifyingKeyBytes>("\"abc\"").is_err());
    }
}

/// Most bytes of a setup-contribution's parameters (phase 1 at roll depth 32 is under
/// 5 MB; `docs/protocol.md` section 9.8.2).
pub const MAX_SETUP_PARAMS: usize = 8 << 20;

/// A setup contribution's encoded parameters (section 9.8.2), in standard padded base64
/// with its one canonical form (no whitespace, zero trailing bits). The points are decoded
/// when the contribution is applied, where their number is known.
#[derive(Clone, PartialEq, Eq)]
pub struct SetupParams(Vec<u8>);

impl SetupParams {
    /// Wraps encoded parameters (at most [`MAX_SETUP_PARAMS`] bytes).
    pub fn new(bytes: Vec<u8>) -> Result<Self, String> {
        if bytes.is_empty() || bytes.len() > MAX_SETUP_PARAMS {
            return Err(format!(
                "setup parameters of {} bytes (1 to {MAX_SETUP_PARAMS})",
                bytes.len()
            ));
        }
        Ok(SetupParams(bytes))
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for SetupParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SetupParams({} bytes)", self.0.len())
    }
}

impl Serialize for SetupParams {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use base64::Engine;
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for SetupParams {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use base64::Engine;
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        if text.len() > MAX_SETUP_PARAMS.div_ceil(3) * 4 {
            return Err(de::Error::custom("setup parameters too long"));
        }
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text.as_bytes())
            .map_err(|e| de::Error::custom(format!("not canonical base64: {e}")))?;
        SetupParams::new(bytes).map_err(de::Error::custom)
    }
}

/// A setup contribution's encoded proof (section 9.8.2), lowercase hex: 1,152 bytes for
/// phase 1, 384 for phase 2 (checked when applied).
#[derive(Clone, PartialEq, Eq)]
pub struct SetupProofBytes(Vec<u8>);

impl SetupProofBytes {
    /// Wraps an encoded proof of one of the two lengths.
    pub fn new(bytes: Vec<u8>) -> Result<Self, String> {
        use zkvote_circuits::setup::{Phase1Proof, Phase2Proof};
        if bytes.len() != Phase1Proof::SIZE && bytes.len() != Phase2Proof::SIZE {
            return Err(format!("a setup proof of {} bytes", bytes.len()));
        }
        Ok(SetupProofBytes(bytes))
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for SetupProofBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SetupProofBytes({})", hex::encode(&self.0))
    }
}

impl Serialize for SetupProofBytes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for SetupProofBytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        if text.len() > 4096 {
            return Err(de::Error::custom("setup proof too long"));
        }
        let mut bytes = vec![0u8; text.len() / 2];
        hex_exact(&text, &mut bytes).map_err(de::Error::custom)?;
        SetupProofBytes::new(bytes).map_err(de::Error::custom)
    }
}

/// The name a setup contributor gives: 1 to 128 bytes of UTF-8 without control characters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct ContributorName(String);

impl ContributorName {
    /// Checks a name.
    pub fn new(name: String) -> Result<Self, String> {
        if name.is_empty() || name.len() > 128 || name.chars().any(char::is_control) {
            return Err("a contributor name is 1 to 128 bytes without control characters".into());
        }
        Ok(ContributorName(name))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for ContributorName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        ContributorName::new(String::deserialize(d)?).map_err(de::Error::custom)
    }
}

/// An ed25519 public key (64 lowercase hex digits) that decodes and is not of small order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PublicKeyBytes(pub [u8; 32]);

impl PublicKeyBytes {
    /// The decoded key.
    pub fn key(&self) -> ed25519_dalek::VerifyingKey {
        ed25519_dalek::VerifyingKey::from_bytes(&self.0).expect("checked when decoded")
    }
}

impl Serialize for PublicKeyBytes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(self.0))
    }
}

impl<'de> Deserialize<'de> for PublicKeyBytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        let bytes = hex32(&text).map_err(de::Error::custom)?;
        match ed25519_dalek::VerifyingKey::from_bytes(&bytes) {
            Ok(k) if !k.is_weak() => Ok(PublicKeyBytes(bytes)),
            _ => Err(de::Error::custom(
                "not an ed25519 public key of prime order",
            )),
        }
    }
}
