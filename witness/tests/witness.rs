//! The witness's rule in process, over a real SQLite store: it cosigns a checkpoint that
//! extends the last one it cosigned, refuses every other with C2SP's status, keeps the
//! signed forks it is shown as evidence, and keeps its state across a restart.

use ed25519_dalek::SigningKey;
use std::path::{Path, PathBuf};
use zkvote_core::cosignature::require_cosignatures;
use zkvote_core::log::{
    consistency_proof, leaf_hash, origin_for, Checkpoint, MemoryTree, BOARD_KEY_NAME,
};
use zkvote_witness::{AddCheckpoint, Refusal, Witness, WitnessStore};

const NAME: &str = "witness.example.org/zkvote";
const EID: [u8; 32] = [0x5a; 32];

fn board() -> SigningKey {
    SigningKey::from_bytes(&[1; 32])
}

fn temp_db() -> PathBuf {
    let seed: u64 = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        ^ u64::from(std::process::id());
    std::env::temp_dir().join(format!("zkvote-witness-{seed:x}.db"))
}

async fn witness(db: &Path) -> Witness {
    let store = WitnessStore::open(db.to_str().unwrap()).await.unwrap();
    Witness::new(
        NAME,
        SigningKey::from_bytes(&[9; 32]),
        vec![board().verifying_key()],
        store,
    )
}

/// A log of `n` leaves whose leaf `i` is `tag || i`.
fn tree(n: u64, tag: u8) -> MemoryTree {
    MemoryTree::from_leaf_hashes(
        (0..n).map(|i| leaf_hash(&[&[tag][..], &i.to_be_bytes()].concat())),
    )
}

fn note(t: &MemoryTree, key: &SigningKey) -> (Checkpoint, String) {
    let cp = Checkpoint {
        origin: origin_for(&EID),
        size: t.size(),
        root: t.root(),
    };
    let signed = cp.sign(BOARD_KEY_NAME, key);
    (cp, signed)
}

/// The request extending the checkpoint of size `old` of `t` to its whole size.
fn request(t: &MemoryTree, old: u64, key: &SigningKey) -> String {
    let proof = if old == 0 || old == t.size() {
        vec![]
    } else {
        consistency_proof(t, old, t.size()).unwrap()
    };
    AddCheckpoint {
        old_size: old,
        proof,
        checkpoint: note(t, key).1,
    }
    .encode()
}

#[tokio::test]
async fn a_witness_cosigns_only_what_extends_what_it_cosigned() {
    let db = temp_db();
    let w = witness(&db).await;
    let known = [w.public()];
    let honest = tree(9, 0);

    // First contact: old size 0, no proof.
    let small = tree(4, 0);
    let line = w
        .add_checkpoint(&request(&small, 0, &board()))
        .await
        .unwrap();
    let (cp4, _) = note(&small, &board());
    let found = require_cosignatures(&cp4, &line, &known, 1).unwrap();
    assert!(found[0].timestamp > 1_700_000_000);

    // Extended with a consistency proof; the same checkpoint again is cosigned again.
    let line = w
        .add_checkpoint(&request(&honest, 4, &board()))
        .await
        .unwrap();
    let (cp9, _) = note(&honest, &board());
    require_cosignatures(&cp9, &line, &known, 1).unwrap();
    w.add_checkpoint(&request(&honest, 9, &board()))
        .await
        .unwrap();

    // A stale old size: 409 with the size cosigned last.
    match w.add_checkpoint(&request(&honest, 4, &board())).await {
        Err(Refusal::Conflict { latest: 9 }) => {}
        other => panic!("expected a conflict at 9, got {other:?}"),
    }
    // A fork at the same size, and a longer fork without a valid proof: refused (422),
    // and both kept as evidence with the checkpoint cosigned.
    let fork = tree(9, 1);
    assert!(matches!(
        w.add_checkpoint(&request(&fork, 9, &board())).await,
        Err(Refusal::Inconsistent(_))
    ));
    let longer_fork = tree(12, 1);
    let mut forged = AddCheckpoint::parse(&request(&longer_fork, 0, &board())).unwrap();
    forged.old_size = 9;
    forged.proof = consistency_proof(&longer_fork, 9, 12).unwrap();
    assert!(matches!(
        w.add_checkpoint(&forged.encode()).await,
        Err(Refusal::Inconsistent(_))
    ));
    let evidence = w.store().evidence().await.unwrap();
    assert_eq!(evidence.len(), 2);
    assert_eq!(evidence[0].submitted, note(&fork, &board()).1);
    assert_eq!(evidence[0].cosigned, note(&honest, &board()).1);
    assert_eq!(evidence[1].old_size, 9);
    assert_eq!(evidence[1].proof.len(), forged.proof.len());

    // Not signed by a trusted board, another log, malformed, old above new, a proof
    // where none belongs: refused, and nothing changes.
    let stranger = SigningKey::from_bytes(&[2; 32]);
    assert!(matches!(
        w.add_checkpoint(&request(&tree(10, 0), 9, &stranger)).await,
        Err(Refusal::NotSigned)
    ));
    let other_log = request(&tree(10, 0), 9, &board()).replace("zkvote/5a5a", "zkvote/5A5A");
    assert!(matches!(
        w.add_checkpoint(&other_log).await,
        Err(Refusal::UnknownLog(_))
    ));
    assert!(matches!(
        w.add_checkpoint("old 9\n").await,
        Err(Refusal::Malformed(_))
    ));
    let mut above = AddCheckpoint::parse(&request(&honest, 9, &board())).unwrap();
    above.old_size = 10;
    assert!(matches!(
        w.add_checkpoint(&above.encode()).await,
        Err(Refusal::Malformed(_))
    ));
    let mut padded = AddCheckpoint::parse(&request(&honest, 9, &board())).unwrap();
    padded.proof = vec![[0; 32]];
    assert!(matches!(
        w.add_checkpoint(&padded.encode()).await,
        Err(Refusal::Inconsistent(_))
    ));
    assert_eq!(w.store().evidence().await.unwrap().len(), 2);

    // Restarted on the same store: it still holds size 9 and extends from there only.
    drop(w);
    let w = witness(&db).await;
    assert!(matches!(
        w.add_checkpoint(&request(&tree(12, 0), 0, &board())).await,
        Err(Refusal::Conflict { latest: 9 })
    ));
    let line = w
        .add_checkpoint(&request(&tree(12, 0), 9, &board()))
        .await
        .unwrap();
    require_cosignatures(&note(&tree(12, 0), &board()).0, &line, &known, 1).unwrap();
    assert_eq!(w.store().evidence().await.unwrap().len(), 2);
    drop(w);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
}

#[tokio::test]
async fn concurrent_requests_never_roll_the_witness_back() {
    let db = temp_db();
    let w = std::sync::Arc::new(witness(&db).await);
    w.add_checkpoint(&request(&tree(1, 0), 0, &board()))
        .await
        .unwrap();
    // Every size from 2 to 64 extends size 1; sent at once, each is cosigned only if its
    // old size is the latest at the moment it is checked, so the stored size only grows.
    let tasks: Vec<_> = (2..=64u64)
        .map(|n| {
            let w = w.clone();
            let t = tree(n, 0);
            tokio::spawn(async move { (n, w.add_checkpoint(&request(&t, 1, &board())).await) })
        })
        .collect();
    let mut cosigned = 0;
    for t in tasks {
        match t.await.unwrap() {
            (_, Ok(_)) => cosigned += 1,
            (_, Err(Refusal::Conflict { latest })) => assert!(latest > 1),
            (n, Err(e)) => panic!("size {n}: {e}"),
        }
    }
    assert_eq!(cosigned, 1, "only the first to be checked extends size 1");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
}
