//! The witness protocol's request, shared by the witness and the board that asks it: the
//! body of `POST /add-checkpoint` (C2SP tlog-witness; `docs/protocol.md` section 15.2):
//! `old <size>`, zero to 63 consistency-proof lines (base64 hashes), an empty line, then
//! the log's signed checkpoint note. Every line ends in a line feed.

use base64::Engine;
use zkvote_core::log::Hash;

/// Most consistency-proof lines a request may carry.
pub const MAX_PROOF_LINES: usize = 63;

/// A parsed add-checkpoint request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddCheckpoint {
    /// The size of the checkpoint the log believes the witness cosigned last.
    pub old_size: u64,
    /// The consistency proof from `old_size` to the checkpoint's size.
    pub proof: Vec<Hash>,
    /// The log's signed checkpoint note (body, blank line, signature lines).
    pub checkpoint: String,
}

/// A body that does not follow the format (HTTP 400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed add-checkpoint request: {0}")]
pub struct MalformedRequest(pub String);

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

/// Parses a canonical decimal size (no sign, no leading zero): the witness's `409` body
/// and the request's old size.
pub fn canonical_size(text: &str) -> Option<u64> {
    let canonical = !text.is_empty()
        && text.bytes().all(|c| c.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    canonical.then(|| text.parse().ok()).flatten()
}

impl AddCheckpoint {
    /// Parses a request body.
    pub fn parse(body: &str) -> Result<Self, MalformedRequest> {
        let bad = |m: &str| MalformedRequest(m.to_string());
        let (head, checkpoint) = body
            .split_once("\n\n")
            .ok_or_else(|| bad("no empty line before the checkpoint"))?;
        let mut lines = head.split('\n');
        let old_size = lines
            .next()
            .and_then(|l| l.strip_prefix("old "))
            .and_then(canonical_size)
            .ok_or_else(|| bad("the first line is not `old <size>`"))?;
        let proof = lines
            .map(|l| {
                b64()
                    .decode(l)
                    .ok()
                    .and_then(|h| Hash::try_from(h).ok())
                    .ok_or_else(|| bad("a proof line is not a base64 32-byte hash"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if proof.len() > MAX_PROOF_LINES {
            return Err(bad("more than 63 proof lines"));
        }
        if !checkpoint.ends_with('\n') {
            return Err(bad("the checkpoint does not end in a line feed"));
        }
        Ok(AddCheckpoint {
            old_size,
            proof,
            checkpoint: checkpoint.to_string(),
        })
    }

    /// The request body.
    pub fn encode(&self) -> String {
        let mut out = format!("old {}\n", self.old_size);
        for h in &self.proof {
            out.push_str(&b64().encode(h));
            out.push('\n');
        }
        out.push('\n');
        out.push_str(&self.checkpoint);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOTE: &str = "zkvote/00\n5\nAAAA\n\n\u{2014} zkvote-board AAAA\n";

    #[test]
    fn a_request_round_trips() {
        let r = AddCheckpoint {
            old_size: 3,
            proof: vec![[1; 32], [2; 32]],
            checkpoint: NOTE.into(),
        };
        assert_eq!(AddCheckpoint::parse(&r.encode()), Ok(r.clone()));
        let empty = AddCheckpoint {
            old_size: 0,
            proof: vec![],
            checkpoint: NOTE.into(),
        };
        assert!(empty.encode().starts_with("old 0\n\nzkvote/00\n"));
        assert_eq!(AddCheckpoint::parse(&empty.encode()), Ok(empty));
    }

    #[test]
    fn malformed_requests_are_refused() {
        let h = b64().encode([1u8; 32]);
        for body in [
            format!("old 03\n\n{NOTE}"),
            format!("old -1\n\n{NOTE}"),
            format!("old 3 \n\n{NOTE}"),
            format!("new 3\n\n{NOTE}"),
            format!("old 3\n{NOTE}"),
            format!("old 3\nAAAA\n\n{NOTE}"),
            format!("old 3\n{h}\n\n{}", NOTE.trim_end()),
            format!("old 3\n{}\n{NOTE}", vec![h.as_str(); 64].join("\n")),
            format!("old 99999999999999999999\n\n{NOTE}"),
        ] {
            assert!(AddCheckpoint::parse(&body).is_err(), "{body:?}");
        }
        let most = format!("old 3\n{}\n\n{NOTE}", vec![h.as_str(); 63].join("\n"));
        assert_eq!(AddCheckpoint::parse(&most).unwrap().proof.len(), 63);
    }
}
