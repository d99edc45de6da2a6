//! Signed commission requests (`docs/protocol.md` section 12.4). A request carries
//! `x-zkvote-timestamp` (Unix seconds, canonical decimal), `x-zkvote-nonce` (16 random
//! bytes, 32 lowercase hex digits) and `x-zkvote-signature` (ed25519 by the commission key,
//! 128 lowercase hex digits) over [`request_message`]. The board accepts a request within
//! [`MAX_SKEW_SECS`] of its clock and once only: it claims the nonce in its store.

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};
use zkvote_core::codec::hex_exact;

/// Header carrying a signed request's timestamp (Unix seconds, canonical decimal).
pub const TIMESTAMP_HEADER: &str = "x-zkvote-timestamp";
/// Header carrying a signed request's nonce (32 lowercase hex digits).
pub const NONCE_HEADER: &str = "x-zkvote-nonce";
/// Header carrying a signed request's ed25519 signature (128 lowercase hex digits).
pub const SIGNATURE_HEADER: &str = "x-zkvote-signature";
/// Accepted clock skew of signed requests, in seconds.
pub const MAX_SKEW_SECS: i64 = 300;

/// The bytes a commission signs for a request:
/// `"zkvote/v1/request\n" || METHOD || "\n" || PATH || "\n" || timestamp || "\n" || nonce
/// || "\n" || hex(SHA-256(body))`.
pub fn request_message(
    method: &str,
    path: &str,
    timestamp: i64,
    nonce: &str,
    body: &[u8],
) -> Vec<u8> {
    format!(
        "zkvote/v1/request\n{method}\n{path}\n{timestamp}\n{nonce}\n{}",
        hex::encode(Sha256::digest(body))
    )
    .into_bytes()
}

/// The headers of a signed commission request.
#[derive(Clone, Debug)]
pub struct SignedRequest {
    /// Unix seconds, decimal.
    pub timestamp: String,
    /// 16 fresh random bytes, hex: the request is accepted once.
    pub nonce: String,
    /// The signature, hex.
    pub signature: String,
}

impl SignedRequest {
    /// The headers to send, as (name, value) pairs.
    pub fn headers(&self) -> [(&'static str, &str); 3] {
        [
            (TIMESTAMP_HEADER, &self.timestamp),
            (NONCE_HEADER, &self.nonce),
            (SIGNATURE_HEADER, &self.signature),
        ]
    }
}

/// Signs a commission request at `timestamp` with a fresh random nonce.
pub fn sign_request(
    key: &SigningKey,
    method: &str,
    path: &str,
    body: &[u8],
    timestamp: i64,
) -> SignedRequest {
    let mut nonce = [0u8; 16];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut nonce);
    let nonce = hex::encode(nonce);
    let sig = key.sign(&request_message(method, path, timestamp, &nonce, body));
    SignedRequest {
        timestamp: timestamp.to_string(),
        nonce,
        signature: hex::encode(sig.to_bytes()),
    }
}

/// A timestamp in its one accepted form: canonical decimal (no sign, no leading zero),
/// fitting in an `i64`.
pub fn parse_timestamp(text: &str) -> Option<i64> {
    let canonical = text == "0"
        || (!text.is_empty()
            && !text.starts_with('0')
            && text.len() <= 19
            && text.bytes().all(|c| c.is_ascii_digit()));
    canonical.then(|| text.parse().ok()).flatten()
}

/// Why a signed request was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// The timestamp header is missing or not canonical decimal.
    #[error("missing or malformed x-zkvote-timestamp")]
    Timestamp,
    /// The timestamp is more than [`MAX_SKEW_SECS`] from the verifier's clock.
    #[error("request timestamp is too far from the board's clock")]
    Skew,
    /// The nonce header is missing or not 32 lowercase hex digits.
    #[error("missing or malformed x-zkvote-nonce (32 lowercase hex digits)")]
    Nonce,
    /// The signature header is missing or not 128 lowercase hex digits.
    #[error("missing or malformed x-zkvote-signature")]
    Signature,
    /// The expected signer's key is not a valid ed25519 key.
    #[error("invalid commission key")]
    Key,
    /// The signature is not the expected signer's over this request.
    #[error("request is not signed by the commission key")]
    NotSigned,
}

/// A request whose signature holds: what the board must claim to make it single-use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Authorized {
    /// The nonce.
    pub nonce: [u8; 16],
    /// When the claim on the nonce may be forgotten (the timestamp plus the skew).
    pub expires_at: i64,
}

/// The received header values of a signed request (`None`: absent or not text).
#[derive(Clone, Copy, Debug, Default)]
pub struct RequestHeaders<'a> {
    /// `x-zkvote-timestamp`.
    pub timestamp: Option<&'a str>,
    /// `x-zkvote-nonce`.
    pub nonce: Option<&'a str>,
    /// `x-zkvote-signature`.
    pub signature: Option<&'a str>,
}

/// Checks a request's headers and signature under `key` at time `now`, in the order of
/// section 12.4: timestamp form, skew, nonce form, signature form, key, signature.
pub fn verify_request(
    key: &[u8; 32],
    method: &str,
    path: &str,
    body: &[u8],
    headers: RequestHeaders<'_>,
    now: i64,
) -> Result<Authorized, RequestError> {
    let ts = headers
        .timestamp
        .and_then(parse_timestamp)
        .ok_or(RequestError::Timestamp)?;
    if (i128::from(now) - i128::from(ts)).abs() > i128::from(MAX_SKEW_SECS) {
        return Err(RequestError::Skew);
    }
    let mut nonce = [0u8; 16];
    let nonce_text = headers
        .nonce
        .filter(|v| hex_exact(v, &mut nonce).is_ok())
        .ok_or(RequestError::Nonce)?;
    let mut sig = [0u8; 64];
    headers
        .signature
        .and_then(|v| hex_exact(v, &mut sig).ok())
        .ok_or(RequestError::Signature)?;
    let vk = VerifyingKey::from_bytes(key).map_err(|_| RequestError::Key)?;
    vk.verify_strict(
        &request_message(method, path, ts, nonce_text, body),
        &Signature::from_bytes(&sig),
    )
    .map_err(|_| RequestError::NotSigned)?;
    Ok(Authorized {
        nonce,
        // `ts` is within the skew of `now`, so this cannot overflow.
        expires_at: ts + MAX_SKEW_SECS,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(r: &SignedRequest) -> RequestHeaders<'_> {
        RequestHeaders {
            timestamp: Some(&r.timestamp),
            nonce: Some(&r.nonce),
            signature: Some(&r.signature),
        }
    }

    #[test]
    fn a_signed_request_verifies_only_as_signed() {
        let key = SigningKey::from_bytes(&[7u8; 32]);
        let pk = key.verifying_key().to_bytes();
        let r = sign_request(&key, "POST", "/v1/elections", b"{}", 1000);
        let ok = verify_request(&pk, "POST", "/v1/elections", b"{}", headers(&r), 1100).unwrap();
        assert_eq!(ok.expires_at, 1300);
        assert_eq!(hex::encode(ok.nonce), r.nonce);
        let check = |method, path, body: &[u8], now| {
            verify_request(&pk, method, path, body, headers(&r), now)
        };
        assert_eq!(
            check("GET", "/v1/elections", b"{}", 1000),
            Err(RequestError::NotSigned)
        );
        assert_eq!(
            check("POST", "/v1/other", b"{}", 1000),
            Err(RequestError::NotSigned)
        );
        assert_eq!(
            check("POST", "/v1/elections", b"{ }", 1000),
            Err(RequestError::NotSigned)
        );
        assert_eq!(
            check("POST", "/v1/elections", b"{}", 1301),
            Err(RequestError::Skew)
        );
        assert_eq!(
            check("POST", "/v1/elections", b"{}", 699),
            Err(RequestError::Skew)
        );
        let other = SigningKey::from_bytes(&[8u8; 32])
            .verifying_key()
            .to_bytes();
        assert_eq!(
            verify_request(&other, "POST", "/v1/elections", b"{}", headers(&r), 1000),
            Err(RequestError::NotSigned)
        );
    }

    #[test]
    fn header_forms_are_exact() {
        for t in ["+1", "01", "-1", "1.0", "", "1e3", "99999999999999999999"] {
            assert_eq!(parse_timestamp(t), None, "{t}");
        }
        assert_eq!(parse_timestamp("0"), Some(0));
        let key = SigningKey::from_bytes(&[7u8; 32]);
        let pk = key.verifying_key().to_bytes();
        let r = sign_request(&key, "POST", "/p", b"", 10);
        let upper = r.nonce.to_uppercase();
        let h = RequestHeaders {
            nonce: Some(&upper),
            ..headers(&r)
        };
        assert_eq!(
            verify_request(&pk, "POST", "/p", b"", h, 10),
            Err(RequestError::Nonce)
        );
        let h = RequestHeaders {
            signature: None,
            ..headers(&r)
        };
        assert_eq!(
            verify_request(&pk, "POST", "/p", b"", h, 10),
            Err(RequestError::Signature)
        );
    }
}
