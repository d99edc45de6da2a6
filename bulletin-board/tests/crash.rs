//! The server killed with SIGKILL in the middle of a load loses no ballot that was given a
//! receipt, and the restarted board's log extends every receipt's checkpoint.

mod common;

use common::*;
use serde_json::Value;
use std::process::Command;
use zkvote_circuits::complete::CompleteBallot;
use zkvote_core::log::{Hash, Receipt};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_loses_no_acknowledged_ballot() {
    let dir = std::env::temp_dir().join(format!("zkvote-crash-{}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir).unwrap();
    let (key_path, board_vk) = common::keygen(&dir);
    // Refuses to overwrite the key.
    assert!(!Command::new(BIN)
        .args(["keygen", "--key"])
        .arg(&key_path)
        .output()
        .unwrap()
        .status
        .success());

    let db = format!("sqlite://{}", dir.join("board.db").display());
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let mut server = start(&db, port, &key_path);
    wait_healthy(&http, &base).await;

    // An election with one trustee and one voter who may vote again (last ballot counts).
    let el = OpenElection::create(&http, &base, &board_vk, 1, "last-ballot-counts").await;
    let (id, e) = (el.id, el.path.clone());
    let ballots: Vec<CompleteBallot> = (0..48).map(|i| el.vote(0, i)).collect();

    // Load: 6 concurrent submitters; kill -9 once some receipts are in.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Receipt>();
    let mut tasks = Vec::new();
    for chunk in ballots.chunks(8) {
        let chunk = chunk.to_vec();
        let (http, url, tx) = (http.clone(), format!("{base}{e}/ballots"), tx.clone());
        tasks.push(tokio::spawn(async move {
            for b in chunk {
                let Ok(r) = http
                    .post(&url)
                    .body(serde_json::to_vec(&b).unwrap())
                    .send()
                    .await
                else {
                    return;
                };
                if r.status().as_u16() == 201 {
                    if let Ok(receipt) = r.json::<Receipt>().await {
                        let _ = tx.send(receipt);
                    }
                }
            }
        }));
    }
    drop(tx);
    let mut receipts = Vec::new();
    while receipts.len() < 12 {
        receipts.push(rx.recv().await.expect("receipts before the kill"));
    }
    server.kill().unwrap(); // SIGKILL
    server.wait().unwrap();
    for t in tasks {
        let _ = t.await;
    }
    while let Ok(r) = rx.try_recv() {
        receipts.push(r);
    }

    // Restart on the same database: every acknowledged ballot is there.
    let port2 = free_port();
    let base2 = format!("http://127.0.0.1:{port2}");
    let mut server2 = start(&db, port2, &key_path);
    wait_healthy(&http, &base2).await;
    let cp: Value = http
        .get(format!("{base2}{e}/checkpoint"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let size = cp["size"].as_u64().unwrap();
    let note = cp["checkpoint"].as_str().unwrap().to_string();
    let entries: Vec<Value> = {
        let text = http
            .get(format!("{base2}{e}/record"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    assert_eq!(entries.len() as u64, size + 1);
    for r in &receipts {
        let old = r.verify(&id, &board_vk).unwrap();
        assert!(r.index < size);
        let proof: Value = http
            .get(format!(
                "{base2}{e}/proofs/consistency?old={}&new={size}",
                old.size
            ))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let proof: Vec<Hash> = proof["proof"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| zkvote_core::codec::hex32(h.as_str().unwrap()).unwrap())
            .collect();
        r.verify_against(&id, &board_vk, &note, &proof).unwrap();
        assert_eq!(entries[r.index as usize]["kind"], "ballot");
    }
    server2.kill().unwrap();
    server2.wait().unwrap();
}
