//! A typed client of the board's HTTP API.

use crate::CliError;
use ed25519_dalek::SigningKey;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::time::Duration;
use zkvote_core::Manifest;
use zkvote_protocol::api::{ElectionStatus, Health, LoggedEntry};
use zkvote_protocol::request::sign_request;
use zkvote_protocol::ErrorBody;
use zkvote_protocol::{Entry, EntryKind};

/// A board at a base URL such as `http://127.0.0.1:8080`.
#[derive(Clone, Debug)]
pub struct BoardClient {
    http: reqwest::Client,
    base: String,
}

/// `/v1/elections/<id hex>`.
pub fn election_path(election_id: &[u8; 32]) -> String {
    format!("/v1/elections/{}", hex::encode(election_id))
}

/// Parses an election id given on the command line.
pub fn parse_election_id(text: &str) -> Result<[u8; 32], CliError> {
    zkvote_core::codec::hex32(text.trim()).map_err(|_| {
        CliError::msg(format!(
            "wrong election id {text:?}: an election id is 64 hex digits"
        ))
    })
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

impl BoardClient {
    /// A client of the board at `base`.
    pub fn new(base: &str) -> Result<Self, CliError> {
        let base = base.trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(CliError::msg(format!(
                "board URL {base:?} must start with http:// or https://"
            )));
        }
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(120))
            .build()
            .map_err(|e| CliError::msg(format!("cannot start the HTTP client: {e}")))?;
        Ok(BoardClient { http, base })
    }

    /// The base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Result<reqwest::Response, CliError> {
        let r = req.send().await.map_err(|e| {
            CliError::msg(format!(
                "board unreachable at {}: {}",
                self.base,
                root_cause(&e)
            ))
        })?;
        if r.status().is_success() {
            return Ok(r);
        }
        let status = r.status();
        Err(match r.json::<ErrorBody>().await {
            Ok(body) => CliError::Board {
                code: Some(body.error.code),
                message: body.error.message,
            },
            Err(_) => CliError::Board {
                code: None,
                message: format!("HTTP {status}"),
            },
        })
    }

    /// GET a JSON document.
    pub async fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T, CliError> {
        let r = self
            .send(self.http.get(format!("{}{path}", self.base)))
            .await?;
        r.json()
            .await
            .map_err(|e| CliError::msg(format!("unexpected answer from the board ({path}): {e}")))
    }

    /// GET raw bytes.
    pub async fn get_bytes(&self, path: &str) -> Result<Vec<u8>, CliError> {
        let r = self
            .send(self.http.get(format!("{}{path}", self.base)))
            .await?;
        Ok(r.bytes()
            .await
            .map_err(|e| CliError::msg(format!("reading {path} from the board: {e}")))?
            .to_vec())
    }

    /// POST a JSON body (anonymous or self-signed messages).
    pub async fn post_json<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &impl Serialize,
    ) -> Result<T, CliError> {
        let bytes = serde_json::to_vec(body).map_err(|e| CliError::msg(e.to_string()))?;
        let r = self
            .send(
                self.http
                    .post(format!("{}{path}", self.base))
                    .header("content-type", "application/json")
                    .body(bytes),
            )
            .await?;
        r.json()
            .await
            .map_err(|e| CliError::msg(format!("unexpected answer from the board ({path}): {e}")))
    }

    /// POST a JSON body signed with the commission's key.
    pub async fn post_signed<T: DeserializeOwned>(
        &self,
        key: &SigningKey,
        path: &str,
        body: &impl Serialize,
    ) -> Result<T, CliError> {
        let bytes = serde_json::to_vec(body).map_err(|e| CliError::msg(e.to_string()))?;
        let signed = sign_request(key, "POST", path, &bytes, now());
        let mut request = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/json");
        for (name, value) in signed.headers() {
            request = request.header(name, value);
        }
        let r = self.send(request.body(bytes)).await?;
        r.json()
            .await
            .map_err(|e| CliError::msg(format!("unexpected answer from the board ({path}): {e}")))
    }

    /// The board's health document (status, storage backend, public key).
    pub async fn health(&self) -> Result<Health, CliError> {
        self.get_json("/v1/health").await
    }

    /// The board's ed25519 public key.
    pub async fn board_key(&self) -> Result<[u8; 32], CliError> {
        let h = self.health().await?;
        zkvote_core::codec::hex32(&h.board_key)
            .map_err(|_| CliError::msg("the board did not give a valid public key"))
    }

    /// An election's manifest (the client checks it names the requested election).
    pub async fn manifest(&self, election_id: &[u8; 32]) -> Result<Manifest, CliError> {
        let m: Manifest = self
            .get_json(&format!("{}/manifest", election_path(election_id)))
            .await
            .map_err(|e| e.with_unknown_election(election_id))?;
        if &m.election_id != election_id {
            return Err(CliError::msg(
                "the board answered with another election's manifest",
            ));
        }
        Ok(m)
    }

    /// An election's status (phase, counts, roll root, joint key).
    pub async fn status(&self, election_id: &[u8; 32]) -> Result<ElectionStatus, CliError> {
        self.get_json(&election_path(election_id))
            .await
            .map_err(|e| e.with_unknown_election(election_id))
    }

    /// Every entry of one kind, in log order (an entry that does not decode, or of
    /// another kind, is the board's error).
    pub async fn entries_of_kind(
        &self,
        election_id: &[u8; 32],
        kind: EntryKind,
    ) -> Result<Vec<Entry>, CliError> {
        Ok(self
            .entries_of_kind_from(election_id, kind, 0)
            .await?
            .into_iter()
            .map(|(_, e)| e)
            .collect())
    }

    /// The entries of one kind at log index `from` or later, with their indices, in log
    /// order.
    pub async fn entries_of_kind_from(
        &self,
        election_id: &[u8; 32],
        kind: EntryKind,
        mut from: u64,
    ) -> Result<Vec<(u64, Entry)>, CliError> {
        let mut out = Vec::new();
        loop {
            let page: Vec<LoggedEntry> = self
                .get_json(&format!(
                    "{}/entries?kind={kind}&from={from}&limit=1000",
                    election_path(election_id)
                ))
                .await?;
            let full = page.len() == 1000;
            for e in page {
                if e.index < from {
                    return Err(CliError::msg(format!(
                        "the board answered entry {} for a page from index {from}",
                        e.index
                    )));
                }
                from = e.index.saturating_add(1);
                if e.kind != kind || e.entry.kind() != kind {
                    return Err(CliError::msg(format!(
                        "the board answered a {} entry (index {}) for a page of {kind} entries",
                        e.entry.kind(),
                        e.index
                    )));
                }
                out.push((e.index, e.entry));
            }
            if !full {
                break;
            }
        }
        Ok(out)
    }

    /// Streams the whole election record (JSON Lines) into a new file at `out`; returns
    /// its size in bytes.
    pub async fn download_record(
        &self,
        election_id: &[u8; 32],
        out: &std::path::Path,
    ) -> Result<u64, CliError> {
        use std::io::Write;
        let path = format!("{}/record", election_path(election_id));
        let mut r = self
            .send(
                self.http
                    .get(format!("{}{path}", self.base))
                    .timeout(Duration::from_secs(7 * 24 * 3600)),
            )
            .await
            .map_err(|e| e.with_unknown_election(election_id))?;
        let fail =
            |e: std::io::Error| CliError::msg(format!("cannot write {}: {e}", out.display()));
        let mut file = std::fs::File::create(out).map_err(fail)?;
        let mut size = 0u64;
        while let Some(chunk) = r
            .chunk()
            .await
            .map_err(|e| CliError::msg(format!("reading the record from the board: {e}")))?
        {
            file.write_all(&chunk).map_err(fail)?;
            size += chunk.len() as u64;
        }
        file.sync_all().map_err(fail)?;
        Ok(size)
    }

    /// The whole election record (JSON Lines), in memory.
    pub async fn record(&self, election_id: &[u8; 32]) -> Result<String, CliError> {
        let bytes = self
            .get_bytes(&format!("{}/record", election_path(election_id)))
            .await
            .map_err(|e| e.with_unknown_election(election_id))?;
        String::from_utf8(bytes).map_err(|_| CliError::msg("the record is not UTF-8"))
    }
}

fn root_cause(e: &dyn std::error::Error) -> String {
    let mut cause = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        cause = s.to_string();
        source = s.source();
    }
    cause
}
