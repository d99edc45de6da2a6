//! An election whose manifest names three witnesses (threshold 2), on a real board
//! process over loopback, the witnesses served over loopback HTTP each on a runtime of
//! its own (stopping one drops every connection it had): every receipt carries at least
//! two cosignatures that clients check; one witness down changes nothing; two down and
//! the ballot is recorded but its receipt waits (503 `witnesses-unavailable`); once one
//! is back (restarted on its store), the receipt is served. The record's checkpoint is
//! cosigned and the verifier names the witnesses; stripped of its cosignatures, a receipt
//! and a record are refused. A second checkpoint of the same size signed with the board's
//! key (a split view) is refused by every witness, kept as evidence, and refused by a
//! client holding a receipt of the real view. A slow witness does not hold receipts back
//! while the threshold of the others answer.

mod common;

use common::*;
use ed25519_dalek::SigningKey;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use zkvote_core::log::{origin_for, Checkpoint, Receipt, BOARD_KEY_NAME};
use zkvote_core::manifest::{WitnessDocument, WitnessesDocument};
use zkvote_protocol::api::{CheckpointView, ConsistencyView};
use zkvote_protocol::voter::{
    check_cast_receipt, check_receipt_extension, cosigners, receipt_checkpoint,
};
use zkvote_protocol::witness::AddCheckpoint;
use zkvote_witness::{Witness, WitnessStore};

/// A witness served on a fixed loopback port by a runtime on its own thread.
struct LoopbackWitness {
    name: String,
    key: SigningKey,
    db: PathBuf,
    port: u16,
    board: ed25519_dalek::VerifyingKey,
    stop: Option<(
        tokio::sync::oneshot::Sender<()>,
        std::thread::JoinHandle<()>,
    )>,
}

impl LoopbackWitness {
    fn new(dir: &Path, i: u8, board: ed25519_dalek::VerifyingKey) -> Self {
        let mut w = LoopbackWitness {
            name: format!("witness-{i}.example.org/zkvote"),
            key: SigningKey::from_bytes(&[100 + i; 32]),
            db: dir.join(format!("witness-{i}.db")),
            port: free_port(),
            board,
            stop: None,
        };
        w.start();
        w
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn document(&self) -> WitnessDocument {
        WitnessDocument {
            name: self.name.clone(),
            public_key: hex::encode(self.key.verifying_key().as_bytes()),
            url: self.url(),
        }
    }

    fn start(&mut self) {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (name, key, db, port, board) = (
            self.name.clone(),
            self.key.clone(),
            self.db.display().to_string(),
            self.port,
            self.board,
        );
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Runtime::new().unwrap();
            rt.block_on(async move {
                let store = WitnessStore::open(&db).await.unwrap();
                let witness = Arc::new(Witness::new(&name, key, vec![board], store));
                let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
                    .await
                    .unwrap();
                ready_tx.send(()).unwrap();
                let app = zkvote_witness::api::router(witness);
                tokio::select! {
                    _ = axum::serve(listener, app) => {}
                    _ = rx => {}
                }
            });
            // Dropping the runtime ends every connection it served.
        });
        ready_rx.recv().unwrap();
        self.stop = Some((tx, thread));
    }

    fn stop(&mut self) {
        if let Some((tx, thread)) = self.stop.take() {
            let _ = tx.send(());
            thread.join().unwrap();
        }
    }
}

impl Drop for LoopbackWitness {
    fn drop(&mut self) {
        self.stop();
    }
}

/// POSTs a ballot; the status and the answer.
async fn cast(http: &reqwest::Client, base: &str, el: &OpenElection, i: usize) -> (u16, Value) {
    let ballot = el.vote(i, i);
    let r = http
        .post(format!("{base}{}/ballots", el.path))
        .body(serde_json::to_vec(&ballot).unwrap())
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let v: Value = r.json().await.unwrap();
    if status == 201 {
        let receipt: Receipt = serde_json::from_value(v.clone()).unwrap();
        check_cast_receipt(&el.manifest, &ballot, &receipt).unwrap();
    }
    (status, v)
}

fn signers(el: &OpenElection, receipt: &Receipt) -> Vec<String> {
    let cp = receipt_checkpoint(&el.manifest, receipt).unwrap();
    cosigners(&el.manifest, &cp, &receipt.checkpoint).unwrap()
}

/// The note without its cosignature lines (the board's line kept).
fn board_only(note: &str) -> String {
    let (body, sigs) = note.split_once("\n\n").unwrap();
    let first = sigs.lines().next().unwrap();
    format!("{body}\n\n{first}\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receipts_carry_cosignatures_and_wait_for_the_threshold() {
    let http = reqwest::Client::new();
    // The process lives as long as `_board`.
    let OneBoard {
        dir,
        key_path,
        key: board_vk,
        base,
        process: _board,
    } = OneBoard::start(&http, "witnesses").await;
    let mut witnesses: Vec<LoopbackWitness> = (0..3)
        .map(|i| LoopbackWitness::new(&dir, i, board_vk))
        .collect();
    let members = witnesses.iter().map(LoopbackWitness::document).collect();
    let el = OpenElection::create_with(&http, &base, &board_vk, 5, "reject", |doc| {
        doc.witnesses = Some(WitnessesDocument {
            threshold: 2,
            members,
        })
    })
    .await;

    // Every witness up: at least two cosignatures, checked by the client.
    let (status, v) = cast(&http, &base, &el, 0).await;
    assert_eq!(status, 201, "{v}");
    let receipt: Receipt = serde_json::from_value(v).unwrap();
    assert!(signers(&el, &receipt).len() >= 2);
    // Stripped of its cosignatures, or with one of them corrupted, it is refused.
    let mut stripped = receipt.clone();
    stripped.checkpoint = board_only(&receipt.checkpoint);
    let e = receipt_checkpoint(&el.manifest, &stripped).unwrap_err();
    assert!(
        e.to_string().contains("0 of the election's witnesses"),
        "{e}"
    );

    // One witness down: voting goes on with the other two.
    witnesses[0].stop();
    let (status, v) = cast(&http, &base, &el, 1).await;
    assert_eq!(status, 201, "{v}");
    let receipt: Receipt = serde_json::from_value(v).unwrap();
    assert_eq!(
        signers(&el, &receipt),
        vec![witnesses[1].name.clone(), witnesses[2].name.clone()]
    );

    // Two down: the ballot is recorded, its receipt waits.
    witnesses[1].stop();
    let ballot = el.vote(2, 2);
    let r = http
        .post(format!("{base}{}/ballots", el.path))
        .body(serde_json::to_vec(&ballot).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 503);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "witnesses-unavailable", "{v}");
    let status: Value = http
        .get(format!("{base}{}", el.path))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status["ballots"], 3, "the third ballot is recorded");
    let tracker = hex::encode(ballot.ballot.digest(&el.manifest.hash()).as_bytes());
    let receipt_url = format!("{base}{}/ballots/{tracker}", el.path);
    let r = http.get(&receipt_url).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 503);

    // Witness 1 restarted on its store: the receipt is served, cosigned by 1 and 2.
    witnesses[1].start();
    let r = http.get(&receipt_url).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let receipt: Receipt = r.json().await.unwrap();
    check_cast_receipt(&el.manifest, &ballot, &receipt).unwrap();
    assert_eq!(
        signers(&el, &receipt),
        vec![witnesses[1].name.clone(), witnesses[2].name.clone()]
    );
    // Nothing was lost, nothing doubled: the same voter is refused.
    let (status, v) = cast(&http, &base, &el, 2).await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (409, Some("already-voted"))
    );

    // The record's checkpoint is cosigned; the verifier names the witnesses, and refuses
    // the record without them.
    witnesses[0].start();
    let text = get_text(&http, format!("{base}{}/record", el.path)).await;
    let record = zkvote_verifier::Record::parse(&text).unwrap();
    let report = zkvote_verifier::verify(&record);
    let c1 = &report.checks[0];
    assert_eq!(c1.status, zkvote_verifier::Status::Pass, "{report}");
    assert!(
        c1.note.as_deref().unwrap().starts_with("cosigned by: "),
        "{report}"
    );
    let last = text.trim_end().rsplit('\n').next().unwrap();
    let note: String = serde_json::from_str::<Value>(last).unwrap()["checkpoint"]
        .as_str()
        .unwrap()
        .to_string();
    let bare = text.replace(
        last,
        &zkvote_protocol::record::checkpoint_line(&board_only(&note)),
    );
    let report = zkvote_verifier::verify(&zkvote_verifier::Record::parse(&bare).unwrap());
    assert_eq!(
        report.checks[0].status,
        zkvote_verifier::Status::Fail,
        "{report}"
    );

    // A split view: the board's key signs another checkpoint of the published size for
    // some other client. Every witness refuses it and keeps it as evidence, and a client
    // holding a receipt of the real view refuses it as the latest checkpoint.
    let published: CheckpointView = http
        .get(format!("{base}{}/checkpoint", el.path))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let board_key = zkvote_core::keyfile::read_signing_key(&key_path).unwrap();
    let forged = Checkpoint {
        origin: origin_for(&el.id),
        size: published.size,
        root: [7; 32],
    }
    .sign(BOARD_KEY_NAME, &board_key);
    for w in &witnesses {
        let ask = |old_size: u64| {
            let body = AddCheckpoint {
                old_size,
                proof: vec![],
                checkpoint: forged.clone(),
            }
            .encode();
            http.post(format!("{}/add-checkpoint", w.url()))
                .body(body)
                .send()
        };
        // The size it cosigned last (a witness that was down may lag behind).
        let r = ask(0).await.unwrap();
        assert_eq!(r.status().as_u16(), 409, "{}", w.name);
        let cosigned: u64 = r.text().await.unwrap().trim_end().parse().unwrap();
        assert!(cosigned > 0 && cosigned <= published.size);
        let r = ask(cosigned).await.unwrap();
        assert_eq!(r.status().as_u16(), 422, "{}", w.name);
        let evidence: Value = http
            .get(format!("{}/v1/evidence", w.url()))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let kept = evidence.as_array().unwrap();
        assert_eq!(
            kept.last().unwrap()["submitted"],
            forged.as_str(),
            "{}",
            w.name
        );
    }
    let other_view = CheckpointView {
        size: published.size,
        root: hex::encode([7; 32]),
        checkpoint: forged,
    };
    let no_proof = ConsistencyView {
        old: receipt_checkpoint(&el.manifest, &receipt).unwrap().size,
        new: published.size,
        proof: vec![],
    };
    assert!(check_receipt_extension(&el.manifest, &receipt, &other_view, &no_proof).is_err());
    let _ = std::fs::remove_dir_all(&dir);
}

/// Serves, on loopback, a proxy that forwards every request to `target` after `delay`:
/// a slow witness. Returns its URL.
async fn slow_proxy(target: String, delay: std::time::Duration) -> String {
    let http = reqwest::Client::new();
    let app = axum::Router::new().fallback(move |uri: axum::http::Uri, body: String| {
        let (http, target) = (http.clone(), target.clone());
        async move {
            tokio::time::sleep(delay).await;
            let r = http
                .post(format!("{target}{uri}"))
                .body(body)
                .send()
                .await
                .unwrap();
            let status = axum::http::StatusCode::from_u16(r.status().as_u16()).unwrap();
            (status, r.text().await.unwrap())
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_witness_does_not_hold_receipts_back() {
    let http = reqwest::Client::new();
    // The process lives as long as `_board`.
    let OneBoard {
        dir,
        key: board_vk,
        base,
        process: _board,
        ..
    } = OneBoard::start(&http, "slow").await;
    let witnesses: Vec<LoopbackWitness> = (0..3)
        .map(|i| LoopbackWitness::new(&dir, i, board_vk))
        .collect();
    // Witness 0 answers every request 3 s late: within the board's 5 s timeout, so a
    // board that waited for every witness would get its cosignature too.
    let slow = slow_proxy(witnesses[0].url(), std::time::Duration::from_secs(3)).await;
    let mut members: Vec<WitnessDocument> =
        witnesses.iter().map(LoopbackWitness::document).collect();
    members[0].url = slow;
    let el = OpenElection::create_with(&http, &base, &board_vk, 3, "reject", |doc| {
        doc.witnesses = Some(WitnessesDocument {
            threshold: 2,
            members,
        })
    })
    .await;
    for i in 0..2 {
        let (status, v) = cast(&http, &base, &el, i).await;
        assert_eq!(status, 201, "{v}");
        let receipt: Receipt = serde_json::from_value(v).unwrap();
        // The round ended with the two prompt witnesses' answers.
        assert_eq!(
            signers(&el, &receipt),
            vec![witnesses[1].name.clone(), witnesses[2].name.clone()]
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
