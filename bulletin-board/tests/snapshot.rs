//! Start-up from the store's snapshot chunks (`zkvote_board::snapshot`): a board that
//! replays a log writes the chunks, a board started later resumes from them with the same
//! state, and a chunk that does not match the log is never used.

use ed25519_dalek::SigningKey;
use rand::rngs::OsRng;
use rand::RngCore;
use sqlx::ConnectOptions;
use zkvote_board::snapshot::{LogChunk, CHUNK_ENTRIES};
use zkvote_board::{NewEntry, Store};
use zkvote_circuits::field::fr_to_bytes;
use zkvote_circuits::groth16::{key_to_bytes, setup};
use zkvote_circuits::merkle::bucket::UpperLevels;
use zkvote_core::log::{origin_for, Checkpoint, MemoryTree, BOARD_KEY_NAME};
use zkvote_core::sample::sample_manifest_toml;
use zkvote_protocol::{Entry, FieldElement, VerifyingKeyBytes};
use zkvote_tally::TrusteeKeys;

mod common;

/// Room for two chunks and a bit more.
const DEPTH: u8 = 18;
/// Registrations: the first chunk holds the genesis and `CHUNK_ENTRIES - 1` of them.
const REGISTRATIONS: u64 = CHUNK_ENTRIES + 500;

/// A store in a new folder: the folder and the database's path.
fn new_store() -> (std::path::PathBuf, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("zkvote-snapshot-{}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("board.db");
    (dir, path)
}

/// A store at `path` with a frozen roll of `registrations` commitments, appended through
/// the store (no snapshot); returns the election id and the roll as served (32 bytes per
/// commitment).
async fn frozen_election(path: &std::path::Path, registrations: u64) -> ([u8; 32], Vec<u8>) {
    let store = Store::open(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    let (pk, _) = setup(DEPTH, &mut OsRng);
    let trustee = TrusteeKeys::generate(1, &mut OsRng);
    let mut id = [0u8; 32];
    OsRng.fill_bytes(&mut id);
    let manifest = zkvote_testkit::TestManifest {
        election_id: id,
        commission: &SigningKey::generate(&mut OsRng).verifying_key(),
        board: &SigningKey::generate(&mut OsRng).verifying_key(),
        eligibility: &pk,
        roll_depth: DEPTH,
        revote_policy: "reject",
        trustees: (std::slice::from_ref(&trustee), 1),
    }
    .build(&sample_manifest_toml());
    let genesis = Entry::Manifest {
        manifest,
        groth16_vk: Some(VerifyingKeyBytes::new(key_to_bytes(&pk.vk)).unwrap()),
    };
    store
        .create_election_in(
            &id,
            NewEntry::plain(genesis.kind(), genesis.to_bytes()),
            zkvote_protocol::genesis_phase(1),
        )
        .await
        .unwrap();
    let commitments: Vec<_> = (0..registrations)
        .map(|i| ark_bls12_381::Fr::from(i * 7 + 3))
        .collect();
    let entry = |e: Entry| NewEntry::plain(e.kind(), e.to_bytes()).phased();
    for group in commitments.chunks(8_192) {
        let batch: Vec<NewEntry> = group
            .iter()
            .map(|c| entry(Entry::registration(*c)))
            .collect();
        for r in store.append_batch(&id, &batch).await.unwrap() {
            r.unwrap();
        }
    }
    let root = UpperLevels::build(DEPTH, commitments.clone())
        .unwrap()
        .root();
    let frozen = Entry::RollFrozen {
        root: FieldElement::new(root),
        count: registrations,
    };
    store.append(&id, &entry(frozen)).await.unwrap();
    let roll = commitments.iter().flat_map(fr_to_bytes).collect();
    (id, roll)
}

/// Starts a board on the store (replaying or restoring) and fetches the frozen roll.
async fn served_roll(path: &std::path::Path, id: &[u8; 32]) -> Vec<u8> {
    let url = format!("sqlite://{}", path.display());
    let base = common::serve_in_process(&url, &SigningKey::generate(&mut OsRng)).await;
    let r = reqwest::get(format!("{base}/v1/elections/{}/roll", hex::encode(id)))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.bytes().await.unwrap().to_vec()
}

async fn sql(path: &std::path::Path) -> sqlx::SqliteConnection {
    sqlx::sqlite::SqliteConnectOptions::new()
        .filename(path)
        .connect()
        .await
        .unwrap()
}

async fn chunk(path: &std::path::Path, id: &[u8; 32], k: i64) -> Option<Vec<u8>> {
    sqlx::query_scalar("SELECT data FROM log_chunks WHERE election_id = ? AND chunk = ?")
        .bind(&id[..])
        .bind(k)
        .fetch_optional(&mut sql(path).await)
        .await
        .unwrap()
}

async fn put_chunk(path: &std::path::Path, id: &[u8; 32], k: i64, data: &[u8]) {
    sqlx::query("UPDATE log_chunks SET data = ? WHERE election_id = ? AND chunk = ?")
        .bind(data)
        .bind(&id[..])
        .bind(k)
        .execute(&mut sql(path).await)
        .await
        .unwrap();
}

/// Entry `index`'s stored bytes, replaced by `new` if given (its leaf hash kept).
async fn entry_data(
    path: &std::path::Path,
    id: &[u8; 32],
    index: i64,
    new: Option<Vec<u8>>,
) -> Vec<u8> {
    let mut db = sql(path).await;
    if let Some(new) = new {
        sqlx::query("UPDATE entries SET data = ? WHERE election_id = ? AND idx = ?")
            .bind(new)
            .bind(&id[..])
            .bind(index)
            .execute(&mut db)
            .await
            .unwrap();
    }
    sqlx::query_scalar("SELECT data FROM entries WHERE election_id = ? AND idx = ?")
        .bind(&id[..])
        .bind(index)
        .fetch_one(&mut db)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_board_resumes_from_the_snapshot_and_never_from_a_wrong_one() {
    let (dir, path) = new_store();
    let (id, roll) = frozen_election(&path, REGISTRATIONS).await;
    assert_eq!(chunk(&path, &id, 0).await, None);

    // The first start replays the log and writes the complete chunk (only that one).
    assert_eq!(served_roll(&path, &id).await, roll);
    let honest = chunk(&path, &id, 0)
        .await
        .expect("the first chunk is written");
    let decoded = LogChunk::decode(0, &honest).unwrap();
    assert_eq!(decoded.leaf_hashes().len() as u64, CHUNK_ENTRIES);
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM log_chunks")
        .fetch_one(&mut sql(&path).await)
        .await
        .unwrap();
    assert_eq!(count, 1);

    // A later start resumes from it, to the same state, without reading the chunk's
    // registrations: one of them made unreadable (a replay would stop on it) is not seen.
    let data: Vec<u8> = entry_data(&path, &id, 5, None).await;
    entry_data(&path, &id, 5, Some(b"not an entry".to_vec())).await;
    assert_eq!(served_roll(&path, &id).await, roll);
    entry_data(&path, &id, 5, Some(data)).await;

    // A commitment changed in the chunk: its registration's leaf hash refuses it.
    let commitments_at = honest.len() - 32 * (CHUNK_ENTRIES as usize - 1);
    let mut tampered = honest.clone();
    tampered[commitments_at + 5 * 32] ^= 1;
    assert!(LogChunk::decode(0, &tampered).is_err());
    put_chunk(&path, &id, 0, &tampered).await;
    assert_eq!(served_roll(&path, &id).await, roll);
    // The board that replayed the log wrote the chunk again.
    assert_eq!(chunk(&path, &id, 0).await.as_ref(), Some(&honest));

    // A commitment and its leaf hash both changed, consistently: the chunk decodes, but
    // its leaves no longer give the signed checkpoint's root.
    let mut forged = honest;
    let other = ark_bls12_381::Fr::from(123_456_789u64);
    forged[commitments_at..commitments_at + 32].copy_from_slice(&fr_to_bytes(&other));
    forged[1 + 32..1 + 64].copy_from_slice(&Entry::registration_leaf(other));
    assert!(LogChunk::decode(0, &forged).is_ok());
    put_chunk(&path, &id, 0, &forged).await;
    assert_eq!(served_roll(&path, &id).await, roll);
    assert_ne!(chunk(&path, &id, 0).await, Some(forged));

    std::fs::remove_dir_all(&dir).unwrap();
}

/// Leaves the latest signed checkpoint at `size`: the later ones are deleted and one is
/// signed at `size` (over the log's first `size` leaf hashes), as when a board stopped
/// after committing entries but before signing them.
async fn lag_checkpoint(path: &std::path::Path, id: &[u8; 32], size: u64) {
    let mut db = sql(path).await;
    let leaves: Vec<Vec<u8>> = sqlx::query_scalar(
        "SELECT leaf_hash FROM entries WHERE election_id = ? AND idx < ? ORDER BY idx",
    )
    .bind(&id[..])
    .bind(size as i64)
    .fetch_all(&mut db)
    .await
    .unwrap();
    let tree = MemoryTree::from_leaf_hashes(leaves.iter().map(|l| l[..].try_into().unwrap()));
    let note = Checkpoint {
        origin: origin_for(id),
        size,
        root: tree.root(),
    }
    .sign(BOARD_KEY_NAME, &SigningKey::generate(&mut OsRng));
    sqlx::query("DELETE FROM checkpoints WHERE election_id = ?")
        .bind(&id[..])
        .execute(&mut db)
        .await
        .unwrap();
    sqlx::query("INSERT INTO checkpoints (election_id, size, root, note) VALUES (?, ?, ?, ?)")
        .bind(&id[..])
        .bind(size as i64)
        .bind(&tree.root()[..])
        .bind(note)
        .execute(&mut db)
        .await
        .unwrap();
}

/// Only chunks that the latest signed checkpoint covers are read: with the checkpoint
/// inside the second chunk, the first is used and the rest of the log is replayed, so a
/// forged second chunk (which that checkpoint's root could not catch) is never used.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_chunks_under_the_signed_checkpoint_are_read() {
    let (dir, path) = new_store();
    let (id, roll) = frozen_election(&path, 2 * CHUNK_ENTRIES + 100).await;
    assert_eq!(served_roll(&path, &id).await, roll);
    let second = chunk(&path, &id, 1).await.expect("both chunks are written");
    lag_checkpoint(&path, &id, CHUNK_ENTRIES + 10).await;

    // A commitment in the second chunk forged with its leaf hash, past the checkpoint.
    let at = CHUNK_ENTRIES as usize - 1; // the chunk's last entry, a registration
    let other = ark_bls12_381::Fr::from(987_654_321u64);
    let mut forged = second;
    let commitments_at = forged.len() - 32 * CHUNK_ENTRIES as usize;
    let last = commitments_at + 32 * at;
    forged[last..last + 32].copy_from_slice(&fr_to_bytes(&other));
    forged[1 + 32 * at..1 + 32 * (at + 1)].copy_from_slice(&Entry::registration_leaf(other));
    assert!(LogChunk::decode(1, &forged).is_ok());
    put_chunk(&path, &id, 1, &forged).await;

    // The first chunk is still used: a registration in it made unreadable is not seen.
    let data = entry_data(&path, &id, 5, None).await;
    entry_data(&path, &id, 5, Some(b"not an entry".to_vec())).await;
    assert_eq!(served_roll(&path, &id).await, roll);
    entry_data(&path, &id, 5, Some(data)).await;
    std::fs::remove_dir_all(&dir).unwrap();
}
