//! A mirror (`zkvote_mirror`, served over loopback HTTP on a runtime of its own, restarted
//! on its store) following a real board process through a proxy that the test can make
//! lie. Entries that are not the board's checkpoint's are not stored, and are taken once
//! right. A mirror pinned to another manifest's hash takes nothing. Honest: the mirror's record is byte for byte the board's, verifies, and serves
//! receipts and proofs that clients check; it follows new ballots and keeps its state
//! across a restart. A checkpoint not signed by the board's key is refused and the mirror
//! goes on. A checkpoint signed by the board's key that is not on the history held (the
//! same size with another root, or a larger one that the board's consistency proof does
//! not join to it) is a fork: the mirror keeps both signed notes, follows that election no
//! further (even once the board is honest again, and after a restart) and says so; an
//! older checkpoint of the same history is not one, a smaller one of another history is.

mod common;

use axum::extract::State;
use axum::http::Uri;
use axum::response::{IntoResponse, Response};
use common::*;
use ed25519_dalek::SigningKey;
use serde_json::Value;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use zkvote_core::log::{origin_for, Checkpoint, Receipt, BOARD_KEY_NAME};
use zkvote_protocol::api::{CheckpointView, ConsistencyView};
use zkvote_protocol::voter::{check_cast_receipt, check_receipt_extension, receipt_checkpoint};

/// What the proxy in front of the board answers for the checkpoint.
#[derive(Clone)]
enum Face {
    /// The board's own.
    Honest,
    /// This signed note instead.
    Shows(CheckpointView),
}

#[derive(Clone)]
struct Proxy {
    http: reqwest::Client,
    board: String,
    face: Arc<Mutex<Face>>,
    /// Checkpoint requests answered.
    asked: Arc<AtomicUsize>,
    /// Whether pages of entries come with a registration's commitment changed.
    tamper: Arc<AtomicBool>,
}

/// One character of the first registration's commitment in a page of entries changed
/// (a page without a registration as it is).
fn tampered(page: &str) -> String {
    let Some(at) = page.find("\"commitment\":\"").map(|at| at + 14) else {
        return page.to_string();
    };
    let new = if &page[at..at + 1] == "0" { "1" } else { "0" };
    format!("{}{new}{}", &page[..at], &page[at + 1..])
}

async fn forward(State(p): State<Proxy>, uri: Uri) -> Response {
    if uri.path().ends_with("/checkpoint") {
        p.asked.fetch_add(1, Ordering::SeqCst);
        if let Face::Shows(view) = p.face.lock().unwrap().clone() {
            return axum::Json(view).into_response();
        }
    }
    let r = p
        .http
        .get(format!("{}{uri}", p.board))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let mut body = r.text().await.unwrap();
    if uri.path().ends_with("/entries") && p.tamper.load(Ordering::SeqCst) {
        body = tampered(&body);
    }
    (
        axum::http::StatusCode::from_u16(status).unwrap(),
        [("content-type", "application/json")],
        body,
    )
        .into_response()
}

/// The proxy's URL and its levers.
struct Lies {
    url: String,
    face: Arc<Mutex<Face>>,
    asked: Arc<AtomicUsize>,
    tamper: Arc<AtomicBool>,
}

async fn start_proxy(board: &str) -> Lies {
    let proxy = Proxy {
        http: reqwest::Client::new(),
        board: board.to_string(),
        face: Arc::new(Mutex::new(Face::Honest)),
        asked: Arc::new(AtomicUsize::new(0)),
        tamper: Arc::new(AtomicBool::new(false)),
    };
    let (face, asked, tamper) = (
        proxy.face.clone(),
        proxy.asked.clone(),
        proxy.tamper.clone(),
    );
    let app = axum::Router::new().fallback(forward).with_state(proxy);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Lies {
        url: format!("http://{addr}"),
        face,
        asked,
        tamper,
    }
}

/// Waits until the proxy answered `n` more checkpoint requests (rounds of a mirror).
async fn rounds(asked: &AtomicUsize, n: usize) {
    let target = asked.load(Ordering::SeqCst) + n;
    for _ in 0..600 {
        if asked.load(Ordering::SeqCst) >= target {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the mirror stopped asking for checkpoints");
}

/// The election, not pinned to a manifest.
fn unpinned(el: &OpenElection) -> zkvote_mirror::Election {
    zkvote_mirror::Election {
        id: el.id,
        manifest_hash: None,
    }
}

/// A mirror served on a runtime of its own thread (stopping it ends its followers too).
struct LoopbackMirror {
    db: PathBuf,
    board: String,
    election: zkvote_mirror::Election,
    url: String,
    stop: Option<(
        tokio::sync::oneshot::Sender<()>,
        std::thread::JoinHandle<()>,
    )>,
}

impl LoopbackMirror {
    fn new(db: PathBuf, board: &str, election: zkvote_mirror::Election) -> Self {
        let mut m = LoopbackMirror {
            db,
            board: board.to_string(),
            election,
            url: String::new(),
            stop: None,
        };
        m.start();
        m
    }

    fn start(&mut self) {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (db, board, eid) = (
            self.db.display().to_string(),
            self.board.clone(),
            self.election,
        );
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Runtime::new().unwrap();
            rt.block_on(async move {
                let (addr, server) = zkvote_mirror::server::bind(
                    &db,
                    "127.0.0.1:0",
                    &board,
                    &[eid],
                    Duration::from_millis(100),
                )
                .await
                .unwrap();
                ready_tx.send(format!("http://{addr}")).unwrap();
                tokio::select! {
                    r = server => r.unwrap(),
                    _ = rx => {}
                }
            });
        });
        self.url = ready_rx.recv().unwrap();
        self.stop = Some((tx, thread));
    }

    fn stop(&mut self) {
        if let Some((tx, thread)) = self.stop.take() {
            let _ = tx.send(());
            thread.join().unwrap();
        }
    }

    fn restart(&mut self) {
        self.stop();
        self.start();
    }
}

impl Drop for LoopbackMirror {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn get_json(http: &reqwest::Client, url: String) -> Value {
    http.get(url).send().await.unwrap().json().await.unwrap()
}

/// The mirror's status once `ready` holds of it (within 60 s).
async fn wait_for(
    http: &reqwest::Client,
    mirror: &LoopbackMirror,
    path: &str,
    ready: impl Fn(&Value) -> bool,
) -> Value {
    let url = format!("{}{path}/mirror", mirror.url);
    for _ in 0..600 {
        let v = get_json(http, url.clone()).await;
        if ready(&v) {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the mirror never got there: {}", get_json(http, url).await);
}

fn size_is(n: u64) -> impl Fn(&Value) -> bool {
    move |v| v["checkpoint"]["size"] == n && v["state"] == "following"
}

async fn cast(http: &reqwest::Client, base: &str, el: &OpenElection, i: usize) -> Receipt {
    let ballot = el.vote(i, i);
    let r = http
        .post(format!("{base}{}/ballots", el.path))
        .body(serde_json::to_vec(&ballot).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    let receipt: Receipt = r.json().await.unwrap();
    check_cast_receipt(&el.manifest, &ballot, &receipt).unwrap();
    receipt
}

async fn board_checkpoint(http: &reqwest::Client, base: &str, el: &OpenElection) -> CheckpointView {
    serde_json::from_value(get_json(http, format!("{base}{}/checkpoint", el.path)).await).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mirror_holds_a_verified_copy_and_stops_on_a_fork() {
    let http = reqwest::Client::new();
    // The process lives as long as `_board`.
    let OneBoard {
        dir,
        key_path,
        key: board_vk,
        base,
        process: _board,
    } = OneBoard::start(&http, "mirror").await;
    let el = OpenElection::create(&http, &base, &board_vk, 6, "reject").await;
    let first = cast(&http, &base, &el, 0).await;
    cast(&http, &base, &el, 1).await;
    let early = board_checkpoint(&http, &base, &el).await;
    let Lies {
        url: proxy,
        face,
        asked,
        tamper,
    } = start_proxy(&base).await;

    // Pages of entries that are not those of the board's checkpoint are not taken: the
    // mirror stores nothing, says why, and takes them once they are right.
    tamper.store(true, Ordering::SeqCst);
    let first_try = LoopbackMirror::new(dir.join("tampered.db"), &proxy, unpinned(&el));
    let status = wait_for(&http, &first_try, &el.path, |v| v["last_error"].is_string()).await;
    assert!(
        status["last_error"]
            .as_str()
            .unwrap()
            .contains("are not those of its checkpoint"),
        "{status}"
    );
    assert!(
        status["checkpoint"].is_null() && status["fork"].is_null(),
        "{status}"
    );
    tamper.store(false, Ordering::SeqCst);
    let size = board_checkpoint(&http, &base, &el).await.size;
    wait_for(&http, &first_try, &el.path, size_is(size)).await;
    let board_record = get_text(&http, format!("{base}{}/record", el.path)).await;
    assert_eq!(
        get_text(&http, format!("{}{}/record", first_try.url, el.path)).await,
        board_record
    );
    drop(first_try);

    // Caught up: the same record, byte for byte, and it verifies; nothing found.
    // A mirror pinned to another manifest's hash never takes this election's entry 0.
    let wrong = zkvote_mirror::Election {
        id: el.id,
        manifest_hash: Some([3; 32]),
    };
    let pinned_elsewhere = LoopbackMirror::new(dir.join("wrong.db"), &proxy, wrong);
    let status = wait_for(&http, &pinned_elsewhere, &el.path, |v| {
        v["last_error"].is_string()
    })
    .await;
    assert!(
        status["last_error"]
            .as_str()
            .unwrap()
            .contains("not the pinned"),
        "{status}"
    );
    assert!(status["checkpoint"].is_null(), "{status}");
    drop(pinned_elsewhere);

    let pinned = zkvote_mirror::Election {
        id: el.id,
        manifest_hash: Some(el.manifest.hash()),
    };
    let mut mirror = LoopbackMirror::new(dir.join("mirror.db"), &proxy, pinned);
    let size = board_checkpoint(&http, &base, &el).await.size;
    let status = wait_for(&http, &mirror, &el.path, size_is(size)).await;
    assert_eq!(status["findings"], Value::Array(vec![]), "{status}");
    let board_record = get_text(&http, format!("{base}{}/record", el.path)).await;
    let mirror_record = get_text(&http, format!("{}{}/record", mirror.url, el.path)).await;
    assert_eq!(mirror_record, board_record);
    let report = zkvote_verifier::verify(&zkvote_verifier::Record::parse(&mirror_record).unwrap());
    assert!(
        report.checks[..5]
            .iter()
            .all(|c| c.status != zkvote_verifier::Status::Fail),
        "{report}"
    );

    // Receipts and proofs from the mirror are the board's: a client checks them.
    let receipt: Receipt = serde_json::from_value(
        get_json(
            &http,
            format!("{}{}/receipts/{}", mirror.url, el.path, first.index),
        )
        .await,
    )
    .unwrap();
    receipt_checkpoint(&el.manifest, &receipt).unwrap();
    assert_eq!(receipt.leaf_hash, first.leaf_hash);
    let latest: CheckpointView = serde_json::from_value(
        get_json(&http, format!("{}{}/checkpoint", mirror.url, el.path)).await,
    )
    .unwrap();
    let old = receipt_checkpoint(&el.manifest, &first).unwrap().size;
    let proof: ConsistencyView = serde_json::from_value(
        get_json(
            &http,
            format!(
                "{}{}/proofs/consistency?old={old}&new={}",
                mirror.url, el.path, latest.size
            ),
        )
        .await,
    )
    .unwrap();
    check_receipt_extension(&el.manifest, &first, &latest, &proof).unwrap();
    // Read-only, and nothing past what it verified.
    let r = http
        .post(format!("{}{}/ballots", mirror.url, el.path))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 405);
    let v = get_json(
        &http,
        format!(
            "{}{}/proofs/consistency?old=1&new={}",
            mirror.url,
            el.path,
            size + 5
        ),
    )
    .await;
    assert_eq!(v["error"]["code"], "bad-proof-request", "{v}");

    // New ballots are followed; a restart keeps what is held.
    cast(&http, &base, &el, 2).await;
    let size = board_checkpoint(&http, &base, &el).await.size;
    wait_for(&http, &mirror, &el.path, size_is(size)).await;
    mirror.restart();
    let v = get_json(&http, format!("{}{}/checkpoint", mirror.url, el.path)).await;
    assert_eq!(v["size"], size, "held across the restart: {v}");
    wait_for(&http, &mirror, &el.path, size_is(size)).await;

    // A store whose entry bytes no longer hash to the leaves held: what is held is served
    // at once after a start (from the leaves), but the verification again stops and says
    // which entry, and the mirror follows no further.
    mirror.stop();
    let db = sqlx::SqlitePool::connect(&format!("sqlite://{}", mirror.db.display()))
        .await
        .unwrap();
    let original: Vec<u8> = sqlx::query_scalar("SELECT data FROM entries WHERE idx = 1")
        .fetch_one(&db)
        .await
        .unwrap();
    sqlx::query("UPDATE entries SET data = x'00' WHERE idx = 1")
        .execute(&db)
        .await
        .unwrap();
    mirror.start();
    let v = get_json(&http, format!("{}{}/checkpoint", mirror.url, el.path)).await;
    assert_eq!(v["size"], size, "{v}");
    let status = wait_for(&http, &mirror, &el.path, |v| v["last_error"].is_string()).await;
    assert!(
        status["last_error"]
            .as_str()
            .unwrap()
            .contains("entry 1 is not the one whose leaf hash is held"),
        "{status}"
    );
    assert_eq!(status["state"], "verifying", "{status}");
    assert!(status["report"].is_null(), "{status}");
    mirror.stop();
    sqlx::query("UPDATE entries SET data = $1 WHERE idx = 1")
        .bind(original)
        .execute(&db)
        .await
        .unwrap();
    db.close().await;
    mirror.start();
    wait_for(&http, &mirror, &el.path, size_is(size)).await;

    // A checkpoint not signed by the board's key is refused; the mirror goes on.
    let real = board_checkpoint(&http, &base, &el).await;
    let stranger = SigningKey::from_bytes(&[9; 32]);
    let unsigned = Checkpoint {
        origin: origin_for(&el.id),
        size: real.size + 1,
        root: [5; 32],
    }
    .sign(BOARD_KEY_NAME, &stranger);
    *face.lock().unwrap() = Face::Shows(CheckpointView {
        size: real.size + 1,
        root: hex::encode([5; 32]),
        checkpoint: unsigned,
    });
    let status = wait_for(&http, &mirror, &el.path, |v| v["last_error"].is_string()).await;
    assert!(
        status["last_error"].as_str().unwrap().contains("refused"),
        "{status}"
    );
    assert_eq!(status["state"], "following");
    *face.lock().unwrap() = Face::Honest;
    cast(&http, &base, &el, 3).await;
    let size = board_checkpoint(&http, &base, &el).await.size;
    wait_for(&http, &mirror, &el.path, size_is(size)).await;

    // An older checkpoint of the same history (a stale cache, say) is no fork.
    *face.lock().unwrap() = Face::Shows(early.clone());
    rounds(&asked, 3).await;
    let status = get_json(&http, format!("{}{}/mirror", mirror.url, el.path)).await;
    assert_eq!(status["state"], "following", "{status}");
    assert_eq!(status["checkpoint"]["size"], size, "{status}");
    assert!(
        status["fork"].is_null() && status["last_error"].is_null(),
        "{status}"
    );
    *face.lock().unwrap() = Face::Honest;

    // A split view: the board's key signs another checkpoint of the size held.
    let board_key = zkvote_core::keyfile::read_signing_key(&key_path).unwrap();
    let held = board_checkpoint(&http, &base, &el).await;
    let forged = Checkpoint {
        origin: origin_for(&el.id),
        size: held.size,
        root: [7; 32],
    }
    .sign(BOARD_KEY_NAME, &board_key);
    *face.lock().unwrap() = Face::Shows(CheckpointView {
        size: held.size,
        root: hex::encode([7; 32]),
        checkpoint: forged.clone(),
    });
    let status = wait_for(&http, &mirror, &el.path, |v| v["state"] == "forked").await;
    assert_eq!(status["fork"]["held"], held.checkpoint.as_str(), "{status}");
    assert_eq!(status["fork"]["shown"], forged.as_str(), "{status}");
    assert!(status["fork"]["reason"]
        .as_str()
        .unwrap()
        .contains("two checkpoints of size"));
    // Followed no further, even once the board is honest again and grows, and after a
    // restart; what was verified is still served.
    *face.lock().unwrap() = Face::Honest;
    cast(&http, &base, &el, 4).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    mirror.restart();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let status = get_json(&http, format!("{}{}/mirror", mirror.url, el.path)).await;
    assert_eq!(status["state"], "forked", "{status}");
    assert_eq!(status["checkpoint"]["size"], held.size, "{status}");
    assert_eq!(status["fork"]["shown"], forged.as_str());

    // Another mirror, caught up, is shown a larger checkpoint signed by the board's key
    // that the board's own consistency proof does not join to the one held.
    let mut second = LoopbackMirror::new(dir.join("second.db"), &proxy, pinned);
    let real = board_checkpoint(&http, &base, &el).await;
    wait_for(&http, &second, &el.path, size_is(real.size)).await;
    cast(&http, &base, &el, 5).await;
    let grown = board_checkpoint(&http, &base, &el).await;
    let other = Checkpoint {
        origin: origin_for(&el.id),
        size: grown.size,
        root: [8; 32],
    }
    .sign(BOARD_KEY_NAME, &board_key);
    *face.lock().unwrap() = Face::Shows(CheckpointView {
        size: grown.size,
        root: hex::encode([8; 32]),
        checkpoint: other.clone(),
    });
    let status = wait_for(&http, &second, &el.path, |v| v["state"] == "forked").await;
    assert_eq!(status["fork"]["held"], real.checkpoint.as_str(), "{status}");
    assert_eq!(status["fork"]["shown"], other.as_str(), "{status}");
    assert!(!status["fork"]["proof"].as_array().unwrap().is_empty());
    second.stop();

    // A third is shown a smaller checkpoint signed by the board's key whose root is not
    // that of the entries it holds.
    *face.lock().unwrap() = Face::Honest;
    let mut third = LoopbackMirror::new(dir.join("third.db"), &proxy, pinned);
    wait_for(&http, &third, &el.path, size_is(grown.size)).await;
    let smaller = Checkpoint {
        origin: origin_for(&el.id),
        size: early.size,
        root: [6; 32],
    }
    .sign(BOARD_KEY_NAME, &board_key);
    *face.lock().unwrap() = Face::Shows(CheckpointView {
        size: early.size,
        root: hex::encode([6; 32]),
        checkpoint: smaller.clone(),
    });
    let status = wait_for(&http, &third, &el.path, |v| v["state"] == "forked").await;
    assert_eq!(status["fork"]["shown"], smaller.as_str(), "{status}");
    assert!(
        status["fork"]["reason"]
            .as_str()
            .unwrap()
            .contains("is not that of the first"),
        "{status}"
    );
    third.stop();
    mirror.stop();
    let _ = std::fs::remove_dir_all(&dir);
}
