//! Board start-up at scale: how long a board process takes, from opening its store to
//! answering with a signed checkpoint, when the store holds an open election with
//! 10 million registrations and 1 million ballot entries.
//!
//! The store is synthetic (`common/synthetic_store.rs`; start-up does not read ballot
//! bodies, so its ballot rows need not be ballots). The database is built once, cached
//! under the target directory, and reused by later runs.
//!
//! `cargo bench -p zkvote-benches --bench startup`
//! (`ZKVOTE_BENCH_REGISTRATIONS`, default 10,000,000; `ZKVOTE_BENCH_BALLOTS`, default
//! 1,000,000; `ZKVOTE_BENCH_RUNS`, default 3.)

use ed25519_dalek::SigningKey;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::ConnectOptions;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;
use zkvote_board::api::{Board, BoardConfig, Creators};
use zkvote_board::{BoardLog, Store};

#[path = "common/process.rs"]
mod process;
use process::{env, status_kib};
#[path = "common/synthetic_store.rs"]
mod synthetic_store;

/// One start-up: opens the store, loads the board and signs a checkpoint of every
/// election; returns the seconds taken and the entries covered.
async fn start(path: &Path) -> (f64, u64) {
    let t = Instant::now();
    let store = Store::open(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    let log = Arc::new(BoardLog::new(store, SigningKey::from_bytes(&[7; 32])));
    let _board = Board::load(log.clone(), BoardConfig::new(Creators::Anyone))
        .await
        .unwrap();
    let mut size = 0;
    for eid in log.store().election_ids().await.unwrap() {
        size += log.checkpoint(&eid).await.unwrap().size;
    }
    (t.elapsed().as_secs_f64(), size)
}

/// Deletes the store's start-up snapshot, so that the first start-up replays the log.
async fn forget_snapshot(path: &Path) {
    let mut db = SqliteConnectOptions::new()
        .filename(path)
        .connect()
        .await
        .unwrap();
    let exists = sqlx::query("SELECT 1 FROM sqlite_master WHERE name = 'log_chunks'")
        .fetch_optional(&mut db)
        .await
        .unwrap()
        .is_some();
    if exists {
        sqlx::query("DELETE FROM log_chunks")
            .execute(&mut db)
            .await
            .unwrap();
    }
}

/// The variable that makes this binary run one start-up (a child process of its own).
const CHILD: &str = "ZKVOTE_BENCH_STARTUP_CHILD";

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    if let Ok(path) = std::env::var(CHILD) {
        let rss = status_kib("VmRSS:");
        let (secs, size) = rt.block_on(start(Path::new(&path)));
        let peak = status_kib("VmHWM:").saturating_sub(rss) >> 10;
        println!("{secs:.2} s ({size} entries; peak RSS {peak} MB above the start)");
        return;
    }
    let registrations = env("ZKVOTE_BENCH_REGISTRATIONS", 10_000_000);
    let ballots = env("ZKVOTE_BENCH_BALLOTS", 1_000_000);
    let runs = env("ZKVOTE_BENCH_RUNS", 3);
    let path = synthetic_store::cached(&rt, "startup", registrations, ballots);
    rt.block_on(forget_snapshot(&path));
    for run in 1..=runs {
        let how = if run == 1 {
            "replaying the log (and writing the snapshot)"
        } else {
            "from the snapshot"
        };
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .env(CHILD, &path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        print!(
            "startup/sqlite/{registrations}-registrations-{ballots}-ballots run {run}, {how}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
}
