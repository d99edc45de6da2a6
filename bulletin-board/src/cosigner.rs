//! Asking an election's witnesses to cosign its checkpoints (`docs/protocol.md` section
//! 15). One round at a time per election: a round asks every witness at once to cosign
//! the latest checkpoint, with a consistency proof from the size that witness cosigned
//! last, and ends as soon as the manifest's threshold of them answered. Receipts that
//! wait meanwhile are served by the round's checkpoint when it covers them, so the
//! witnesses see one request per round, not one per entry.

use crate::log::{BoardLog, LogServiceError};
use crate::store::StoredCheckpoint;
use futures_util::stream::{FuturesUnordered, StreamExt};
use std::time::Duration;
use zkvote_core::cosignature::verify_cosignatures;
use zkvote_core::log::{origin_for, Checkpoint};
use zkvote_core::manifest::ElectionWitness;
use zkvote_core::Manifest;
use zkvote_protocol::witness::{canonical_size, AddCheckpoint};

/// How long one request to a witness may take.
const WITNESS_TIMEOUT: Duration = Duration::from_secs(5);

/// The cosigning of one election's checkpoints.
pub(crate) struct Cosigner {
    manifest: Manifest,
    http: reqwest::Client,
    round: tokio::sync::Mutex<Round>,
}

/// What this process knows between rounds.
struct Round {
    /// Per witness: the size it cosigned last, as far as this process knows (a witness
    /// answering 409 tells).
    known: Vec<u64>,
    /// The latest checkpoint published with enough cosignatures.
    cosigned: Option<StoredCheckpoint>,
}

/// One witness's answer in a round.
struct Answer {
    witness: usize,
    /// The size it cosigned last, if it said.
    known: Option<u64>,
    /// Its cosignature line, or why there is none.
    line: Result<String, String>,
}

/// The board's own signed note of a stored note: the body and the board's signature line,
/// without the cosignatures a stored note may carry.
fn board_note(note: &str) -> &str {
    let Some(blank) = note.find("\n\n") else {
        return note;
    };
    match note[blank + 2..].find('\n') {
        Some(end) => &note[..blank + 2 + end + 1],
        None => note,
    }
}

impl Cosigner {
    /// The cosigner of an election whose manifest names witnesses.
    pub(crate) fn new(manifest: &Manifest) -> Self {
        let http = reqwest::Client::builder()
            .timeout(WITNESS_TIMEOUT)
            .connect_timeout(WITNESS_TIMEOUT)
            .build()
            .expect("an HTTP client without TLS always builds");
        Cosigner {
            manifest: manifest.clone(),
            http,
            round: tokio::sync::Mutex::new(Round {
                known: vec![0; manifest.witnesses.len()],
                cosigned: None,
            }),
        }
    }

    fn threshold(&self) -> usize {
        self.manifest.witness_threshold as usize
    }

    fn enough(&self, cp: &StoredCheckpoint) -> bool {
        let checkpoint = Checkpoint {
            origin: origin_for(&self.manifest.election_id),
            size: cp.size,
            root: cp.root,
        };
        zkvote_protocol::voter::cosigners(&self.manifest, &checkpoint, &cp.note).is_ok()
    }

    /// The latest checkpoint of at least `size` entries with the threshold's cosignatures:
    /// the one published last if it covers `size`, else a new round's.
    pub(crate) async fn cosigned(
        &self,
        log: &BoardLog,
        size: u64,
    ) -> Result<StoredCheckpoint, LogServiceError> {
        let eid = self.manifest.election_id;
        let mut round = self.round.lock().await;
        if let Some(cp) = round.cosigned.as_ref().filter(|cp| cp.size >= size) {
            return Ok(cp.clone());
        }
        let latest = log.checkpoint(&eid).await?;
        if self.enough(&latest) {
            round.cosigned = Some(latest.clone());
            return Ok(latest);
        }
        let lines = self.ask_all(log, &latest, &mut round.known).await;
        let (cosigned, refused): (Vec<_>, Vec<_>) = lines.into_iter().partition(Result::is_ok);
        if cosigned.len() < self.threshold() {
            let why: Vec<String> = refused.into_iter().filter_map(Result::err).collect();
            return Err(LogServiceError::Witnesses(format!(
                "{} of the election's witnesses cosigned the checkpoint of size {}, {} are required ({})",
                cosigned.len(),
                latest.size,
                self.threshold(),
                why.join("; ")
            )));
        }
        let mut note = board_note(&latest.note).to_string();
        for line in cosigned.into_iter().flatten() {
            note.push_str(&line);
        }
        let published = StoredCheckpoint { note, ..latest };
        log.store()
            .put_cosigned(&eid, published.size, &published.note)
            .await?;
        round.cosigned = Some(published.clone());
        Ok(published)
    }

    /// Asks every witness at once to cosign `cp`; returns, as soon as the threshold is
    /// reached or every witness has answered, the cosignature lines and the refusals.
    async fn ask_all(
        &self,
        log: &BoardLog,
        cp: &StoredCheckpoint,
        known: &mut [u64],
    ) -> Vec<Result<String, String>> {
        let mut asks: FuturesUnordered<_> = (0..self.manifest.witnesses.len())
            .map(|i| self.ask(log, cp, i, known[i]))
            .collect();
        let mut out = Vec::new();
        let mut cosigned = 0;
        while let Some(a) = asks.next().await {
            if let Some(k) = a.known {
                known[a.witness] = k;
            }
            cosigned += usize::from(a.line.is_ok());
            out.push(a.line);
            if cosigned >= self.threshold() {
                break;
            }
        }
        out
    }

    /// Asks witness `i` to cosign `cp` from size `old`; after a 409 naming a size up to
    /// `cp`'s, asks once more from that size.
    async fn ask(&self, log: &BoardLog, cp: &StoredCheckpoint, i: usize, old: u64) -> Answer {
        let w = &self.manifest.witnesses[i];
        let answer = |known, line| Answer {
            witness: i,
            known,
            line,
        };
        let mut old = old.min(cp.size);
        for _ in 0..2 {
            match self.post(log, w, cp, old).await {
                Ok(Ok(line)) => return answer(Some(cp.size), Ok(line)),
                Ok(Err(m)) if m <= cp.size && m != old => old = m,
                Ok(Err(m)) => {
                    let why = format!("{}: it cosigned size {m} last", w.key.name);
                    return answer(Some(m), Err(why));
                }
                Err(why) => return answer(None, Err(format!("{}: {why}", w.key.name))),
            }
        }
        answer(
            Some(old),
            Err(format!("{}: its size moved twice", w.key.name)),
        )
    }

    /// One `add-checkpoint` request: the cosignature line, `Ok(Err(size))` on a 409 naming
    /// the size the witness cosigned last, or why it failed.
    async fn post(
        &self,
        log: &BoardLog,
        w: &ElectionWitness,
        cp: &StoredCheckpoint,
        old: u64,
    ) -> Result<Result<String, u64>, String> {
        let eid = self.manifest.election_id;
        let proof = if old == 0 || old == cp.size {
            Vec::new()
        } else {
            log.consistency_proof(&eid, old, cp.size)
                .await
                .map_err(|e| e.to_string())?
        };
        let body = AddCheckpoint {
            old_size: old,
            proof,
            checkpoint: board_note(&cp.note).to_string(),
        }
        .encode();
        let response = self
            .http
            .post(format!("{}/add-checkpoint", w.url))
            .body(body)
            .send()
            .await
            .map_err(|e| format!("unreachable ({e})"))?;
        let status = response.status().as_u16();
        let text = response.text().await.map_err(|e| e.to_string())?;
        match status {
            200 => self.checked_line(w, cp, &text).map(Ok),
            409 => canonical_size(text.trim_end_matches('\n'))
                .map(Err)
                .ok_or_else(|| format!("a 409 without a size: {text:?}")),
            _ => Err(format!("HTTP {status}: {}", text.trim_end())),
        }
    }

    /// The witness's cosignature line of `cp` among the lines it answered, verified.
    fn checked_line(
        &self,
        w: &ElectionWitness,
        cp: &StoredCheckpoint,
        text: &str,
    ) -> Result<String, String> {
        let checkpoint = Checkpoint {
            origin: origin_for(&self.manifest.election_id),
            size: cp.size,
            root: cp.root,
        };
        let prefix = format!("\u{2014} {} ", w.key.name);
        for line in text.lines().filter(|l| l.starts_with(&prefix)) {
            let line = format!("{line}\n");
            if let Ok(found) = verify_cosignatures(&checkpoint, &line, std::slice::from_ref(&w.key))
            {
                if !found.is_empty() {
                    return Ok(line);
                }
            }
        }
        Err("its answer holds no valid cosignature of the checkpoint".into())
    }
}

#[cfg(test)]
mod tests {
    use super::board_note;

    #[test]
    fn the_board_note_drops_the_cosignatures() {
        let board = "o\n5\nAAAA\n\n\u{2014} zkvote-board xyz\n";
        assert_eq!(board_note(board), board);
        let cosigned = format!("{board}\u{2014} w.example/1 abc\n\u{2014} w.example/2 def\n");
        assert_eq!(board_note(&cosigned), board);
    }
}
