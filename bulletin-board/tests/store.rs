//! The same storage and log suite against SQLite and PostgreSQL.
//!
//! PostgreSQL tests need `ZKVOTE_TEST_POSTGRES_URL`; `scripts/test.sh` starts a
//! throwaway cluster and sets it.

use ed25519_dalek::SigningKey;
use rand::RngCore;
use std::sync::Arc;
use zkvote_board::*;
use zkvote_core::log::{leaf_hash, MemoryTree, Receipt};

fn random_id() -> [u8; 32] {
    let mut id = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut id);
    id
}

fn sqlite_url() -> String {
    let dir = std::env::temp_dir().join(format!(
        "zkvote-board-test-{}",
        hex::encode(&random_id()[..8])
    ));
    std::fs::create_dir_all(&dir).unwrap();
    format!("sqlite://{}", dir.join("board.db").display())
}

fn postgres_url() -> String {
    std::env::var("ZKVOTE_TEST_POSTGRES_URL")
        .expect("ZKVOTE_TEST_POSTGRES_URL is not set: run the tests with scripts/test.sh, which starts a throwaway PostgreSQL")
}

fn ballot(nullifier: u8, ct: u8, spend: bool) -> NewEntry {
    NewEntry {
        kind: EntryKind::Ballot,
        data: format!("ballot n={nullifier} ct={ct}").into_bytes(),
        nullifier: Some([nullifier; 32]),
        spend_nullifier: spend,
        ciphertexts: vec![[ct; 32], [ct ^ 0x80; 32]],
        digest: None,
        unique_key: None,
        phased: false,
    }
}

async fn log_for(url: &str, key: &SigningKey) -> BoardLog {
    BoardLog::new(Store::open(url).await.unwrap(), key.clone())
}

async fn suite(url: String) {
    let key = SigningKey::from_bytes(&[5; 32]);
    let vk = key.verifying_key();
    let log = log_for(&url, &key).await;
    let eid = random_id();
    let mut data = vec![b"manifest".to_vec()];
    let r0 = log
        .create_election(&eid, NewEntry::plain(EntryKind::Manifest, data[0].clone()))
        .await
        .unwrap();
    assert_eq!(r0.index, 0);
    r0.verify(&eid, &vk).unwrap();
    assert!(matches!(
        log.create_election(
            &eid,
            NewEntry::plain(EntryKind::Manifest, b"again".to_vec())
        )
        .await,
        Err(LogServiceError::Store(StoreError::ElectionExists))
    ));
    assert!(matches!(
        log.append(&random_id(), &NewEntry::plain(EntryKind::Open, vec![]))
            .await,
        Err(LogServiceError::Store(StoreError::UnknownElection))
    ));

    let mut receipts: Vec<Receipt> = vec![r0];
    for i in 0..10u8 {
        let d = vec![i; (i as usize) + 1];
        receipts.push(
            log.append(&eid, &NewEntry::plain(EntryKind::Registration, d.clone()))
                .await
                .unwrap(),
        );
        data.push(d);
    }
    for (i, r) in receipts.iter().enumerate() {
        assert_eq!(r.index, i as u64);
        assert_eq!(r.leaf_hash, leaf_hash(&data[i]));
        r.verify(&eid, &vk).unwrap();
    }

    // One ballot per nullifier under "reject"; a replayed ciphertext is refused too.
    let size = log.store().size(&eid).await.unwrap();
    let first = log.append(&eid, &ballot(1, 1, true)).await.unwrap();
    data.push(b"ballot n=1 ct=1".to_vec());
    assert_eq!(first.index, size);
    assert!(matches!(
        log.append(&eid, &ballot(1, 2, true)).await,
        Err(LogServiceError::Store(StoreError::NullifierUsed(i))) if i == size
    ));
    assert!(matches!(
        log.append(&eid, &ballot(2, 1, true)).await,
        Err(LogServiceError::Store(StoreError::CiphertextReplayed))
    ));
    assert_eq!(log.store().size(&eid).await.unwrap(), size + 1);
    // Under "last-ballot-counts" the same nullifier may appear again.
    log.append(&eid, &ballot(3, 3, false)).await.unwrap();
    log.append(&eid, &ballot(3, 4, false)).await.unwrap();
    data.push(b"ballot n=3 ct=3".to_vec());
    data.push(b"ballot n=3 ct=4".to_vec());
    assert_eq!(
        log.store()
            .entries_with_nullifier(&eid, &[3; 32])
            .await
            .unwrap()
            .len(),
        2
    );

    // The stored log hashes to the signed root.
    let cp = log.checkpoint(&eid).await.unwrap();
    let tree = MemoryTree::from_leaf_hashes(data.iter().map(|d| leaf_hash(d)));
    assert_eq!((cp.size, cp.root), (tree.size(), tree.root()));
    let entries = log.store().entries(&eid, 0, 1000).await.unwrap();
    assert_eq!(
        entries.iter().map(|e| e.data.clone()).collect::<Vec<_>>(),
        data
    );
    assert_eq!(log.store().entries(&eid, 5, 3).await.unwrap().len(), 3);

    // An old receipt checks against the newer checkpoint.
    let proof = log.consistency_proof(&eid, 3, cp.size).await.unwrap();
    assert_eq!(
        receipts[2]
            .verify_against(&eid, &vk, &receipts[2].checkpoint, &[])
            .unwrap()
            .size,
        3
    );
    receipts[2]
        .verify_against(&eid, &vk, &cp.note, &proof)
        .unwrap();

    // 50 concurrent ballots with one nullifier: exactly one is accepted.
    let shared = Arc::new(log);
    let tasks: Vec<_> = (0..50u8)
        .map(|i| {
            let log = shared.clone();
            tokio::spawn(async move { log.append(&eid, &ballot(7, 150 + i, true)).await })
        })
        .collect();
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => ok += 1,
            Err(LogServiceError::Store(StoreError::NullifierUsed(_))) => {}
            Err(e) => panic!("unexpected error {e}"),
        }
    }
    assert_eq!(ok, 1);

    // Restart: a new process over the same database sees the same log and checkpoint.
    let before = shared.checkpoint(&eid).await.unwrap();
    drop(shared);
    let again = log_for(&url, &key).await;
    assert_eq!(again.checkpoint(&eid).await.unwrap(), before);

    // A group append: each entry stands or falls alone, in one transaction.
    let before_group = again.store().size(&eid).await.unwrap();
    let mut self_replay = ballot(45, 126, true);
    self_replay.ciphertexts.push([126; 32]);
    let group = vec![
        ballot(40, 120, true),
        ballot(40, 121, true), // nullifier used earlier in the group
        ballot(42, 120, true), // ciphertext used earlier in the group
        ballot(43, 125, true),
        ballot(1, 127, true),  // nullifier spent before the group
        ballot(44, 1, true),   // ciphertext stored before the group
        self_replay,           // one ciphertext twice in one ballot
        ballot(3, 128, false), // last-ballot-counts style: nullifier not spent
        ballot(3, 100, false),
        ballot(48, 133, true).phased(), // the election is in setup
    ];
    let results = again.append_batch(&eid, &group).await.unwrap();
    assert_eq!(results[0].as_ref().unwrap().index, before_group);
    for (i, want_nullifier) in [(1, true), (2, false), (4, true), (5, false), (6, false)] {
        match &results[i] {
            Err(LogServiceError::Store(StoreError::NullifierUsed(_))) if want_nullifier => {}
            Err(LogServiceError::Store(StoreError::CiphertextReplayed)) if !want_nullifier => {}
            other => panic!("group entry {i}: unexpected {other:?}"),
        }
    }
    assert!(matches!(
        results[4],
        Err(LogServiceError::Store(StoreError::NullifierUsed(i))) if i == size
    ));
    let fourth = results[3].as_ref().unwrap();
    assert_eq!(fourth.index, before_group + 1);
    fourth.verify(&eid, &key.verifying_key()).unwrap();
    assert_eq!(results[7].as_ref().unwrap().index, before_group + 2);
    let last = results[8].as_ref().unwrap();
    assert_eq!(last.index, before_group + 3);
    last.verify(&eid, &key.verifying_key()).unwrap();
    assert!(matches!(
        &results[9],
        Err(LogServiceError::Store(StoreError::WrongPhase(p))) if p == "setup"
    ));
    assert_eq!(again.store().size(&eid).await.unwrap(), before_group + 4);
    let stored = again.store().entries(&eid, before_group, 10).await.unwrap();
    assert_eq!(
        stored.iter().map(|e| e.data.clone()).collect::<Vec<_>>(),
        [0, 3, 7, 8].map(|i| group[i].data.clone())
    );

    // A group that moves the phase takes the savepoint path, with the same rules. The
    // protocol's phase rule opens the election after a frozen roll.
    for kind in [EntryKind::RollFrozen, EntryKind::Open] {
        let entry = NewEntry::plain(kind, kind.as_str().into()).phased();
        again.append(&eid, &entry).await.unwrap();
    }
    let before_close = again.store().size(&eid).await.unwrap();
    let group = vec![
        ballot(46, 130, true),
        NewEntry::plain(EntryKind::Close, b"close group".to_vec()).phased(),
        ballot(46, 131, true),
        ballot(47, 132, true).phased(),
    ];
    let results = again.append_batch(&eid, &group).await.unwrap();
    assert_eq!(results[0].as_ref().unwrap().index, before_close);
    assert_eq!(results[1].as_ref().unwrap().index, before_close + 1);
    assert!(matches!(
        results[2],
        Err(LogServiceError::Store(StoreError::NullifierUsed(i))) if i == before_close
    ));
    assert!(matches!(
        &results[3],
        Err(LogServiceError::Store(StoreError::WrongPhase(p))) if p == "closed"
    ));
    assert_eq!(again.store().size(&eid).await.unwrap(), before_close + 2);

    // A stored checkpoint that the log does not extend stops all signing.
    let size = again.store().size(&eid).await.unwrap();
    again
        .store()
        .append(&eid, &NewEntry::plain(EntryKind::Close, b"close".to_vec()))
        .await
        .unwrap();
    again
        .store()
        .put_checkpoint(
            &eid,
            &StoredCheckpoint {
                size: size + 1,
                root: [0xab; 32],
                note: "forged".into(),
            },
        )
        .await
        .unwrap();
    assert!(matches!(
        again.checkpoint(&eid).await,
        Err(LogServiceError::Inconsistent(_))
    ));
}

/// Two board instances (separate connection pools, as two processes) on one database,
/// appending at once: one log, every nullifier once, every receipt valid.
async fn two_boards(url: String) {
    let key = SigningKey::from_bytes(&[6; 32]);
    let a = Arc::new(log_for(&url, &key).await);
    let b = Arc::new(log_for(&url, &key).await);
    let eid = random_id();
    a.create_election(&eid, NewEntry::plain(EntryKind::Manifest, b"m".to_vec()))
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for i in 0..40u8 {
        for board in [a.clone(), b.clone()] {
            // Each nullifier is sent to both boards; ciphertexts differ.
            let entry = NewEntry {
                kind: EntryKind::Ballot,
                data: vec![i, board.store().backend_name().len() as u8, rand::random()],
                nullifier: Some([i; 32]),
                spend_nullifier: true,
                ciphertexts: vec![rand::random()],
                digest: None,
                unique_key: None,
                phased: false,
            };
            tasks.push(tokio::spawn(
                async move { board.append(&eid, &entry).await },
            ));
        }
    }
    let mut receipts = Vec::new();
    for t in tasks {
        match t.await.unwrap() {
            Ok(r) => receipts.push(r),
            Err(LogServiceError::Store(StoreError::NullifierUsed(_))) => {}
            Err(e) => panic!("unexpected error {e}"),
        }
    }
    assert_eq!(receipts.len(), 40);
    let vk = key.verifying_key();
    let final_cp = a.checkpoint(&eid).await.unwrap();
    assert_eq!(final_cp, b.checkpoint(&eid).await.unwrap());
    assert_eq!(final_cp.size, 41);
    for r in &receipts {
        let cp = r.verify(&eid, &vk).unwrap();
        let proof = a
            .consistency_proof(&eid, cp.size, final_cp.size)
            .await
            .unwrap();
        r.verify_against(&eid, &vk, &final_cp.note, &proof).unwrap();
    }
    let entries = a.store().entries(&eid, 0, 100).await.unwrap();
    let indices: Vec<u64> = entries.iter().map(|e| e.index).collect();
    assert_eq!(indices, (0..41).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_log() {
    suite(sqlite_url()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_log() {
    suite(postgres_url()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_two_boards() {
    two_boards(sqlite_url()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_two_boards() {
    two_boards(postgres_url()).await;
}

#[tokio::test]
async fn bad_urls_are_refused() {
    assert!(matches!(
        Store::open("mysql://x").await,
        Err(StoreError::Url(_))
    ));
}

/// Single-use rules checked inside the append transaction: unique entry keys, the roll's
/// capacity, request nonces, and summary entries computed from the whole log.
async fn single_use(url: String) {
    let a = Store::open(&url).await.unwrap();
    // A second handle on the same database stands for a second board process.
    let b = Store::open(&url).await.unwrap();
    let eid = random_id();
    a.create_election(&eid, NewEntry::plain(EntryKind::Manifest, b"m".to_vec()))
        .await
        .unwrap();

    // One entry per unique key, whichever process appends the copy.
    let dealing = |data: &[u8]| {
        NewEntry::plain(EntryKind::Dealing, data.to_vec()).unique(Some("dealing/1".into()))
    };
    assert_eq!(a.append(&eid, &dealing(b"first")).await.unwrap(), 1);
    for (store, data) in [(&a, &b"first"[..]), (&b, b"different")] {
        match store.append(&eid, &dealing(data)).await {
            Err(StoreError::Duplicate { key, index }) => {
                assert_eq!((key.as_str(), index), ("dealing/1", 1))
            }
            other => panic!("a copy was not refused: {other:?}"),
        }
        let batch = store.append_batch(&eid, &[dealing(data)]).await.unwrap();
        assert!(matches!(batch[0], Err(StoreError::Duplicate { .. })));
    }
    assert_eq!(a.size(&eid).await.unwrap(), 2);

    // The roll's capacity holds across processes.
    let codes: Vec<[u8; 32]> = (0..3u8).map(|i| [i; 32]).collect();
    a.add_code_hashes(&eid, &codes).await.unwrap();
    let reg = |i: u8| NewEntry::plain(EntryKind::Registration, vec![i]).phased();
    assert!(a
        .register(&eid, &codes[0], 2, &reg(0))
        .await
        .unwrap()
        .is_some());
    assert!(b
        .register(&eid, &codes[1], 2, &reg(1))
        .await
        .unwrap()
        .is_some());
    assert!(matches!(
        a.register(&eid, &codes[2], 2, &reg(2)).await,
        Err(StoreError::RollFull)
    ));
    // The refused registration left its code unused and the log unchanged.
    assert_eq!(a.size(&eid).await.unwrap(), 4);
    assert!(a
        .register(&eid, &codes[2], 3, &reg(2))
        .await
        .unwrap()
        .is_some());

    // A summary computed by one process sees what the other appended after it last read.
    let seen = a.size(&eid).await.unwrap();
    b.append(&eid, &NewEntry::plain(EntryKind::Dealing, b"late".to_vec()))
        .await
        .unwrap();
    let mut fresh_kinds = Vec::new();
    let idx = a
        .append_computed(&eid, seen, |fresh| {
            fresh_kinds = fresh.iter().map(|e| e.kind.clone()).collect();
            Ok::<_, StoreError>(NewEntry::plain(EntryKind::RollFrozen, b"root".to_vec()))
        })
        .await
        .unwrap();
    assert_eq!(fresh_kinds, ["dealing"]);
    assert_eq!(idx, seen + 1);
    // A refusal by the computation changes nothing.
    let refused = a
        .append_computed(&eid, 0, |_| Err(StoreError::RollFull))
        .await;
    assert!(matches!(refused, Err(StoreError::RollFull)));
    assert_eq!(a.size(&eid).await.unwrap(), idx + 1);

    // Request nonces: claimed once, per signer, forgotten after they expire.
    let (signer, other) = ([1u8; 32], [2u8; 32]);
    assert!(a
        .claim_request_nonce(&signer, b"n1", 100, 50)
        .await
        .unwrap());
    assert!(!b
        .claim_request_nonce(&signer, b"n1", 100, 60)
        .await
        .unwrap());
    assert!(b.claim_request_nonce(&other, b"n1", 100, 60).await.unwrap());
    assert!(a
        .claim_request_nonce(&signer, b"n1", 300, 200)
        .await
        .unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_single_use() {
    single_use(sqlite_url()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_single_use() {
    single_use(postgres_url()).await;
}

/// A SQLite board created before blobs were content-addressed keeps its proving keys:
/// the old table's rows are moved when the store opens.
#[tokio::test]
async fn sqlite_legacy_blobs_are_moved() {
    let url = sqlite_url();
    drop(Store::open(&url).await.unwrap());
    let path = url.strip_prefix("sqlite://").unwrap();
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{path}"))
        .await
        .unwrap();
    sqlx::query("CREATE TABLE blobs (election_id BLOB NOT NULL, name TEXT NOT NULL, data BLOB NOT NULL, PRIMARY KEY (election_id, name))")
        .execute(&pool)
        .await
        .unwrap();
    for e in [[7u8; 32], [8u8; 32]] {
        sqlx::query("INSERT INTO blobs (election_id, name, data) VALUES ($1, 'proving-key', $2)")
            .bind(&e[..])
            .bind(&b"the same key"[..])
            .execute(&pool)
            .await
            .unwrap();
    }
    pool.close().await;
    let store = Store::open(&url).await.unwrap();
    for e in [[7u8; 32], [8u8; 32]] {
        assert_eq!(
            store.blob(&e, "proving-key").await.unwrap().unwrap(),
            b"the same key"
        );
    }
    assert_eq!(store.blob_contents().await.unwrap(), 1);
    drop(store);
    // Opening again finds nothing left to move.
    let store = Store::open(&url).await.unwrap();
    assert_eq!(store.blob_contents().await.unwrap(), 1);
}
