//! Board start-up at scale: how long a board process takes, from opening its store to
//! answering with a signed checkpoint, when the store holds an open election with
//! 10 million registrations and 1 million ballot entries.
//!
//! The store is synthetic: the genesis, the dealing, the roll's freeze and the open are
//! real entries appended through the store, but the registrations (random canonical
//! commitments, real registration entries) and the ballots (rows of the size of a 1x5
//! ballot's entry, whose bytes are not ballots: start-up does not read ballot bodies) are
//! inserted as rows directly. The database is built once, cached under the target
//! directory, and reused by later runs.
//!
//! `cargo bench -p zkvote-benches --bench startup`
//! (`ZKVOTE_BENCH_REGISTRATIONS`, default 10,000,000; `ZKVOTE_BENCH_BALLOTS`, default
//! 1,000,000; `ZKVOTE_BENCH_RUNS`, default 3.)

use ark_bls12_381::Fr;
use ark_ff::UniformRand;
use ed25519_dalek::SigningKey;
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use rayon::prelude::*;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, QueryBuilder};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;
use zkvote_board::api::{Board, BoardConfig, Creators};
use zkvote_board::store::NewEntry;
use zkvote_board::{BoardLog, Store};
use zkvote_circuits::groth16::{key_to_bytes, setup};
use zkvote_circuits::merkle::bucket::UpperLevels;
use zkvote_core::log::leaf_hash;
use zkvote_core::sample::single_contest_manifest_toml;
use zkvote_protocol::fields::{FieldElement, VerifyingKeyBytes};
use zkvote_protocol::Entry;
use zkvote_tally::{CeremonyContext, Trustee, TrusteeKeys};

/// The roll's depth: room for 16.7 million voters.
const DEPTH: u8 = 24;
/// Bytes of a 1x5 ballot's entry (compact JSON).
const BALLOT_BYTES: usize = 3_000;
/// Rows per multi-row insert.
const ROWS: usize = 4_000;

#[path = "common/process.rs"]
mod process;
use process::{env, status_kib};

/// Appends `entry` through the store, under the phase rule.
async fn append(store: &Store, eid: &[u8; 32], entry: &Entry) {
    let new = NewEntry::plain(entry.kind(), entry.to_bytes())
        .phased()
        .unique(entry.unique_key());
    store.append(eid, &new).await.unwrap();
}

/// Inserts `rows` (kind, data, nullifier) as entries `from..` of the election, directly.
async fn insert_rows(
    db: &mut sqlx::SqliteConnection,
    eid: &[u8; 32],
    from: u64,
    kind: &str,
    rows: &[(Vec<u8>, Option<[u8; 32]>)],
) {
    let mut q = QueryBuilder::new(
        "INSERT INTO entries (election_id, idx, kind, data, leaf_hash, nullifier, digest) ",
    );
    q.push_values(rows.iter().enumerate(), |mut b, (i, (data, n))| {
        b.push_bind(&eid[..])
            .push_bind((from + i as u64) as i64)
            .push_bind(kind)
            .push_bind(data.as_slice())
            .push_bind(leaf_hash(data).to_vec())
            .push_bind(n.map(|n| n.to_vec()))
            .push_bind(n.map(|n| leaf_hash(&n).to_vec()));
    });
    q.build().execute(&mut *db).await.unwrap();
}

/// Moves the election's counters past `count` rows inserted directly.
async fn advance(db: &mut sqlx::SqliteConnection, eid: &[u8; 32], count: u64, regs: u64) {
    sqlx::query("UPDATE elections SET next_index = next_index + $2, registrations = registrations + $3 WHERE election_id = $1")
        .bind(&eid[..])
        .bind(count as i64)
        .bind(regs as i64)
        .execute(&mut *db)
        .await
        .unwrap();
}

/// Builds the synthetic store at `path`.
async fn build(path: &Path, registrations: u64, ballots: u64) {
    let t = Instant::now();
    let url = format!("sqlite://{}", path.display());
    let store = Store::open(&url).await.unwrap();
    let mut rng = ChaCha20Rng::seed_from_u64(0x5747_7570);
    let commission = SigningKey::generate(&mut rng);
    let board = SigningKey::generate(&mut rng);
    let trustee = TrusteeKeys::generate(1, &mut rng);
    let (pk, _) = setup(DEPTH, &mut rng);
    let mut eid = [0u8; 32];
    rng.fill_bytes(&mut eid);
    let manifest = zkvote_testkit::TestManifest {
        election_id: eid,
        commission: &commission.verifying_key(),
        board: &board.verifying_key(),
        eligibility: &pk,
        roll_depth: DEPTH,
        revote_policy: "last-ballot-counts",
        trustees: (std::slice::from_ref(&trustee), 1),
    }
    .build(&single_contest_manifest_toml(5));
    let genesis = Entry::Manifest {
        manifest: manifest.clone(),
        groth16_vk: Some(VerifyingKeyBytes::new(key_to_bytes(&pk.vk)).unwrap()),
    };
    let genesis_new = NewEntry::plain(genesis.kind(), genesis.to_bytes());
    store
        .create_election_in(&eid, genesis_new, zkvote_protocol::genesis_phase(1))
        .await
        .unwrap();
    let (dealt, dealing) =
        Trustee::new(trustee, CeremonyContext::from_manifest(&manifest).unwrap())
            .unwrap()
            .deal(&mut rng);
    append(
        &store,
        &eid,
        &Entry::Dealing {
            dealing: dealing.clone(),
        },
    )
    .await;
    let share = dealt
        .check(std::slice::from_ref(&dealing), &mut rng)
        .0
        .finish(&[dealing], &[], &mut rng)
        .unwrap();

    let mut db = SqliteConnectOptions::new()
        .filename(path)
        .connect()
        .await
        .unwrap();
    let mut commitments = Vec::with_capacity(registrations as usize);
    let mut next = 2u64;
    let chunk = 100_000u64;
    for start in (0..registrations).step_by(chunk as usize) {
        let n = chunk.min(registrations - start);
        let part: Vec<Fr> = (0..n)
            .into_par_iter()
            .map(|i| Fr::rand(&mut ChaCha20Rng::seed_from_u64(start + i)))
            .collect();
        let rows: Vec<(Vec<u8>, Option<[u8; 32]>)> = part
            .par_iter()
            .map(|c| {
                let entry = Entry::Registration {
                    commitment: FieldElement::new(*c),
                };
                (entry.to_bytes(), None)
            })
            .collect();
        sqlx::query("BEGIN").execute(&mut db).await.unwrap();
        for (i, r) in rows.chunks(ROWS).enumerate() {
            insert_rows(&mut db, &eid, next + (i * ROWS) as u64, "registration", r).await;
        }
        advance(&mut db, &eid, n, n).await;
        sqlx::query("COMMIT").execute(&mut db).await.unwrap();
        next += n;
        commitments.extend(part);
    }
    eprintln!(
        "{registrations} registrations inserted in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    let tree = UpperLevels::build(DEPTH, commitments).unwrap();
    store
        .put_blob(&eid, "roll-levels", &tree.floor_bytes())
        .await
        .unwrap();
    let frozen = Entry::RollFrozen {
        root: FieldElement::new(tree.root()),
        count: registrations,
    };
    append(&store, &eid, &frozen).await;
    let open = Entry::Open {
        joint_key: share.outcome().joint_key,
        qualified: share.outcome().qualified.clone(),
    };
    append(&store, &eid, &open).await;
    next += 2;
    eprintln!(
        "roll frozen and election open at {:.1} s",
        t.elapsed().as_secs_f64()
    );

    for start in (0..ballots).step_by(chunk as usize) {
        let n = chunk.min(ballots - start);
        let rows: Vec<(Vec<u8>, Option<[u8; 32]>)> = (0..n)
            .into_par_iter()
            .map(|i| {
                let mut r = ChaCha20Rng::seed_from_u64(!(start + i));
                let mut data = vec![0u8; BALLOT_BYTES];
                r.fill_bytes(&mut data);
                let mut nullifier = [0u8; 32];
                r.fill_bytes(&mut nullifier);
                (data, Some(nullifier))
            })
            .collect();
        sqlx::query("BEGIN").execute(&mut db).await.unwrap();
        for (i, r) in rows.chunks(ROWS / 4).enumerate() {
            insert_rows(&mut db, &eid, next + (i * ROWS / 4) as u64, "ballot", r).await;
        }
        advance(&mut db, &eid, n, 0).await;
        sqlx::query("COMMIT").execute(&mut db).await.unwrap();
        next += n;
    }
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(&mut db)
        .await
        .unwrap();
    eprintln!(
        "store of {next} entries built in {:.1} s ({} MB)",
        t.elapsed().as_secs_f64(),
        std::fs::metadata(path).map(|m| m.len() >> 20).unwrap_or(0)
    );
}

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
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("startup");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("store-{registrations}-{ballots}.sqlite"));
    let done = path.with_extension("done");
    if !done.exists() {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
        rt.block_on(build(&path, registrations, ballots));
        std::fs::write(&done, b"").unwrap();
    }
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
