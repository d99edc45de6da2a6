//! A mirror catching up on a board's record: from an empty mirror store to holding,
//! having proven and verified, every entry under the board's checkpoint; then a restart
//! of the mirror on its store: the time until it serves (its leaf hashes read back), and
//! until it follows again (every entry read back and verified again).
//!
//! The board serves, over loopback HTTP in this process, a synthetic store
//! (`common/synthetic_store.rs`) of one open election: its genesis, dealing, freeze and
//! open, and `ZKVOTE_BENCH_MIRROR_ENTRIES` (default 100,000) registrations, real entries
//! that the mirror's verifier applies to the election's state. Ballots are not in it: a
//! mirror verifies a ballot as `zkvote verify` does, whose throughput is measured by the
//! `verifier` benchmark.
//!
//! `cargo bench -p zkvote-benches --bench mirror` (`ZKVOTE_BENCH_RUNS`, default 3.)

use ed25519_dalek::SigningKey;
use std::sync::Arc;
use std::time::{Duration, Instant};
use zkvote_board::api::{router, Board, BoardConfig, Creators};
use zkvote_board::{BoardLog, Store};

#[path = "common/process.rs"]
mod process;
use process::env;
#[path = "common/synthetic_store.rs"]
mod synthetic_store;

/// Serves the store at `path` as a board on loopback; returns its URL, the election and
/// its checkpoint's size.
async fn serve_board(path: &std::path::Path, key: SigningKey) -> (String, [u8; 32], u64) {
    let store = Store::open(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    let log = Arc::new(BoardLog::new(store, key));
    let eid = log.store().election_ids().await.unwrap()[0];
    let size = log.checkpoint(&eid).await.unwrap().size;
    let board = Board::load(log, BoardConfig::new(Creators::Anyone))
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router(board)).await.unwrap() });
    (format!("http://{addr}"), eid, size)
}

/// The size of the checkpoint the mirror at `url` holds, and whether it follows the
/// board (rather than verifying what it holds, or catching up).
async fn held(http: &reqwest::Client, url: &str, eid: &[u8; 32]) -> (u64, bool) {
    let v: serde_json::Value = http
        .get(format!("{url}/v1/elections/{}/mirror", hex::encode(eid)))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        v["fork"].is_null() && v["findings"] == serde_json::json!([]),
        "{v}"
    );
    (
        v["checkpoint"]["size"].as_u64().unwrap_or(0),
        v["state"] == "following",
    )
}

fn election(id: [u8; 32]) -> zkvote_mirror::Election {
    zkvote_mirror::Election {
        id,
        manifest_hash: None,
    }
}

/// Starts a mirror on `db`; returns its URL once bound (its store read back) and the
/// seconds that took.
async fn start_mirror(db: &str, board: &str, eid: [u8; 32]) -> (String, f64) {
    let t = Instant::now();
    let (addr, server) = zkvote_mirror::server::bind(
        db,
        "127.0.0.1:0",
        board,
        &[election(eid)],
        Duration::from_millis(50),
    )
    .await
    .unwrap();
    let secs = t.elapsed().as_secs_f64();
    tokio::spawn(server);
    (format!("http://{addr}"), secs)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let registrations = env("ZKVOTE_BENCH_MIRROR_ENTRIES", 100_000);
    let runs = env("ZKVOTE_BENCH_RUNS", 3);
    let path = synthetic_store::cached(&rt, "mirror", registrations, 0);
    rt.block_on(async {
        let (board, eid, size) = serve_board(&path, synthetic_store::board_key()).await;
        let http = reqwest::Client::new();
        for run in 1..=runs {
            let dir = std::env::temp_dir().join(format!("zkvote-bench-mirror-{run}-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            let db = dir.join("mirror.db").display().to_string();
            let t = Instant::now();
            let (url, _) = start_mirror(&db, &board, eid).await;
            while held(&http, &url, &eid).await != (size, true) {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            let secs = t.elapsed().as_secs_f64();
            println!(
                "mirror/catch-up/{size}-entries run {run}: {secs:.2} s, {:.0} entries/s",
                size as f64 / secs
            );
            let t = Instant::now();
            let (url, serving) = start_mirror(&db, &board, eid).await;
            assert_eq!(held(&http, &url, &eid).await.0, size);
            while !held(&http, &url, &eid).await.1 {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            let secs = t.elapsed().as_secs_f64();
            println!(
                "mirror/restart/{size}-entries run {run}: serving after {serving:.2} s, following after {secs:.2} s (verified again, {:.0} entries/s)",
                size as f64 / secs
            );
            let _ = std::fs::remove_dir_all(&dir);
        }
    });
}
