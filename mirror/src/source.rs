//! The board, as the mirror reads it: its published checkpoint, consistency proofs and
//! pages of entries (`docs/protocol.md` section 10). Nothing it answers is trusted here;
//! `follow` checks every answer.

use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use std::time::Duration;
use zkvote_core::codec::hex32;
use zkvote_core::log::Hash;
use zkvote_protocol::api::{CheckpointView, ConsistencyView};
use zkvote_protocol::record::{parse_line, Line};
use zkvote_protocol::{ErrorBody, RecordEntry};

/// Most entries asked for in one page (the board's own cap).
pub const PAGE: u64 = 1000;

/// A board at a base URL such as `http://127.0.0.1:8080`, for one election.
#[derive(Clone, Debug)]
pub struct Source {
    http: reqwest::Client,
    base: String,
    path: String,
}

impl Source {
    /// The board at `base`, election `eid`.
    pub fn new(base: &str, eid: &[u8; 32]) -> Result<Self, String> {
        let base = base.trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(format!(
                "board URL {base:?} must start with http:// or https://"
            ));
        }
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| format!("cannot start the HTTP client: {e}"))?;
        Ok(Source {
            http,
            base,
            path: format!("/v1/elections/{}", hex::encode(eid)),
        })
    }

    /// The board's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    async fn get<T: DeserializeOwned>(&self, rest: &str) -> Result<T, String> {
        let url = format!("{}{}{rest}", self.base, self.path);
        let r = self
            .http
            .get(&url)
            .send()
            .await
            .map_err(|e| format!("board unreachable at {}: {e}", self.base))?;
        let status = r.status();
        let bytes = r.bytes().await.map_err(|e| format!("reading {url}: {e}"))?;
        if !status.is_success() {
            return Err(match serde_json::from_slice::<ErrorBody>(&bytes) {
                Ok(b) => format!(
                    "the board refused {url}: {} ({})",
                    b.error.message, b.error.code
                ),
                Err(_) => format!("the board answered HTTP {status} to {url}"),
            });
        }
        serde_json::from_slice(&bytes).map_err(|e| format!("unexpected answer to {url}: {e}"))
    }

    /// The board's published checkpoint.
    pub async fn checkpoint(&self) -> Result<CheckpointView, String> {
        self.get("/checkpoint").await
    }

    /// The consistency proof from size `old` to size `new`.
    pub async fn consistency(&self, old: u64, new: u64) -> Result<Vec<Hash>, String> {
        let v: ConsistencyView = self
            .get(&format!("/proofs/consistency?old={old}&new={new}"))
            .await?;
        if (v.old, v.new) != (old, new) {
            return Err(format!(
                "the board answered a consistency proof from {} to {} for {old} to {new}",
                v.old, v.new
            ));
        }
        v.proof
            .iter()
            .map(|h| hex32(h).map_err(|e| format!("a consistency proof hash: {e}")))
            .collect()
    }

    /// The entries `[from, to)`, checked to be exactly those indices, each in the record's
    /// one line form.
    pub async fn entries(&self, from: u64, to: u64) -> Result<Vec<RecordEntry>, String> {
        let mut out = Vec::with_capacity((to - from) as usize);
        let mut next = from;
        while next < to {
            let limit = PAGE.min(to - next);
            let page: Vec<Box<RawValue>> = self
                .get(&format!("/entries?from={next}&limit={limit}"))
                .await?;
            if page.is_empty() {
                return Err(format!(
                    "the board has no entry {next}, below its checkpoint"
                ));
            }
            for raw in page.iter().take(limit as usize) {
                let e = match parse_line(raw.get()) {
                    Ok(Line::Entry(e)) => e,
                    Ok(Line::Checkpoint(_)) => {
                        return Err(format!("the board answered a checkpoint for entry {next}"))
                    }
                    Err(why) => return Err(format!("the board's entry {next}: {why}")),
                };
                if e.index != next {
                    return Err(format!(
                        "the board answered entry {} for entry {next}",
                        e.index
                    ));
                }
                out.push(e);
                next += 1;
            }
        }
        Ok(out)
    }
}
