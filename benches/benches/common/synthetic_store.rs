//! A board's store holding one open election with many registrations and ballot
//! entries, built fast: the genesis, the dealing, the roll's freeze and the open are real
//! entries appended through the store, but the registrations (random canonical
//! commitments, real registration entries) and the ballots (rows of the size of a 1x5
//! ballot's entry, whose bytes are not ballots) are inserted as rows directly.
#![allow(dead_code)]

use ark_bls12_381::Fr;
use ark_ff::UniformRand;
use ed25519_dalek::SigningKey;
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use rayon::prelude::*;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, QueryBuilder};
use std::path::{Path, PathBuf};
use std::time::Instant;
use zkvote_board::store::NewEntry;
use zkvote_board::Store;
use zkvote_circuits::groth16::{key_to_bytes, setup};
use zkvote_circuits::merkle::bucket::UpperLevels;
use zkvote_core::log::leaf_hash;
use zkvote_core::sample::single_contest_manifest_toml;
use zkvote_protocol::fields::{FieldElement, VerifyingKeyBytes};
use zkvote_protocol::{Entry, EntryKind};
use zkvote_tally::{CeremonyContext, CeremonyOutcome, Trustee, TrusteeKeys};

/// The roll's depth: room for 16.7 million voters.
const DEPTH: u8 = 24;
/// Bytes of a 1x5 ballot's entry (compact JSON).
const BALLOT_BYTES: usize = 3_000;
/// Rows per multi-row insert.
const ROWS: usize = 1_000;
/// Rows per transaction.
const BATCH: u64 = 100_000;

/// The board key the synthetic election's manifest names (a board serving the store
/// signs its checkpoints with it).
pub fn board_key() -> SigningKey {
    SigningKey::from_bytes(&[0x42; 32])
}

/// Appends `entry` through the store, under the phase rule.
async fn append(store: &Store, eid: &[u8; 32], entry: &Entry) {
    let new = NewEntry::plain(entry.kind(), entry.to_bytes())
        .phased()
        .unique(entry.unique_key());
    store.append(eid, &new).await.unwrap();
}

/// A row inserted directly: the entry's bytes and, for a ballot, its nullifier.
type Row = (Vec<u8>, Option<[u8; 32]>);

/// Inserts `rows` as entries `from..` of kind `kind`, in one transaction that also moves
/// the election's counters past them.
async fn insert(
    db: &mut sqlx::SqliteConnection,
    eid: &[u8; 32],
    from: u64,
    kind: EntryKind,
    rows: &[Row],
) {
    sqlx::query("BEGIN").execute(&mut *db).await.unwrap();
    for (i, part) in rows.chunks(ROWS).enumerate() {
        let first = from + (i * ROWS) as u64;
        let mut q = QueryBuilder::new(
            "INSERT INTO entries (election_id, idx, kind, data, leaf_hash, nullifier, digest) ",
        );
        q.push_values(part.iter().enumerate(), |mut b, (j, (data, n))| {
            b.push_bind(&eid[..])
                .push_bind((first + j as u64) as i64)
                .push_bind(kind.as_str())
                .push_bind(data.as_slice())
                .push_bind(leaf_hash(data).to_vec())
                .push_bind(n.map(|n| n.to_vec()))
                .push_bind(n.map(|n| leaf_hash(&n).to_vec()));
        });
        q.build().execute(&mut *db).await.unwrap();
    }
    let registrations = if kind == EntryKind::Registration {
        rows.len()
    } else {
        0
    };
    sqlx::query("UPDATE elections SET next_index = next_index + $2, registrations = registrations + $3 WHERE election_id = $1")
        .bind(&eid[..])
        .bind(rows.len() as i64)
        .bind(registrations as i64)
        .execute(&mut *db)
        .await
        .unwrap();
    sqlx::query("COMMIT").execute(&mut *db).await.unwrap();
}

/// Creates the election (genesis and its one trustee's dealing) through the store;
/// returns its id and the ceremony's outcome.
async fn create(store: &Store, rng: &mut ChaCha20Rng) -> ([u8; 32], CeremonyOutcome) {
    let commission = SigningKey::generate(rng);
    let board = board_key();
    let trustee = TrusteeKeys::generate(1, rng);
    let (pk, _) = setup(DEPTH, rng);
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
    let genesis = NewEntry::plain(genesis.kind(), genesis.to_bytes());
    store
        .create_election_in(&eid, genesis, zkvote_protocol::genesis_phase(1))
        .await
        .unwrap();
    let ceremony = CeremonyContext::from_manifest(&manifest).unwrap();
    let (dealt, dealing) = Trustee::new(trustee, ceremony).unwrap().deal(rng);
    let entry = Entry::Dealing {
        dealing: dealing.clone(),
    };
    append(store, &eid, &entry).await;
    let (checked, _) = dealt.check(std::slice::from_ref(&dealing), rng);
    let share = checked.finish(&[dealing], &[], rng).unwrap();
    (eid, share.outcome().clone())
}

/// Random canonical commitments `start..start + n` (the same on every run).
fn commitments(start: u64, n: u64) -> Vec<Fr> {
    (start..start + n)
        .into_par_iter()
        .map(|i| Fr::rand(&mut ChaCha20Rng::seed_from_u64(i)))
        .collect()
}

/// Rows the size of a ballot entry, with a nullifier each (not ballots).
fn ballot_rows(start: u64, n: u64) -> Vec<Row> {
    (start..start + n)
        .into_par_iter()
        .map(|i| {
            let mut r = ChaCha20Rng::seed_from_u64(!i);
            let mut data = vec![0u8; BALLOT_BYTES];
            r.fill_bytes(&mut data);
            let mut nullifier = [0u8; 32];
            r.fill_bytes(&mut nullifier);
            (data, Some(nullifier))
        })
        .collect()
}

/// Builds the synthetic store at `path`.
pub async fn build(path: &Path, registrations: u64, ballots: u64) {
    let t = Instant::now();
    let store = Store::open(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    let (eid, outcome) = create(&store, &mut ChaCha20Rng::seed_from_u64(0x5747_7570)).await;
    let mut db = SqliteConnectOptions::new()
        .filename(path)
        .connect()
        .await
        .unwrap();
    let mut roll = Vec::with_capacity(registrations as usize);
    let mut next = 2u64;
    for start in (0..registrations).step_by(BATCH as usize) {
        let part = commitments(start, BATCH.min(registrations - start));
        let rows: Vec<Row> = part
            .par_iter()
            .map(|c| (Entry::registration(*c).to_bytes(), None))
            .collect();
        insert(&mut db, &eid, next, EntryKind::Registration, &rows).await;
        next += rows.len() as u64;
        roll.extend(part);
    }
    let secs = t.elapsed().as_secs_f64();
    eprintln!("{registrations} registrations inserted in {secs:.1} s");

    // The freeze keeps the roll's levels as a board's does; then voting opens.
    let tree = UpperLevels::build(DEPTH, roll).unwrap();
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
        joint_key: outcome.joint_key,
        qualified: outcome.qualified,
    };
    append(&store, &eid, &open).await;
    next += 2;
    let secs = t.elapsed().as_secs_f64();
    eprintln!("roll frozen and election open at {secs:.1} s");

    for start in (0..ballots).step_by(BATCH as usize) {
        let rows = ballot_rows(start, BATCH.min(ballots - start));
        insert(&mut db, &eid, next, EntryKind::Ballot, &rows).await;
        next += rows.len() as u64;
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

/// The synthetic store of `registrations` and `ballots`, built once under the target
/// directory (`name`'s folder) and reused by later runs.
pub fn cached(
    rt: &tokio::runtime::Runtime,
    name: &str,
    registrations: u64,
    ballots: u64,
) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
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
    path
}
