//! Two board processes on one PostgreSQL database take ballots at the same time: one
//! consistent log, no nullifier accepted twice. Needs `ZKVOTE_TEST_POSTGRES_URL`
//! (`scripts/test.sh` starts a throwaway cluster).

mod common;

use common::*;
use serde_json::Value;
use std::collections::HashSet;
use zkvote_core::log::{Checkpoint, Receipt, BOARD_KEY_NAME};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_board_processes_share_one_postgres_log() {
    let http = reqwest::Client::new();
    let boards = TwoBoards::start(&http, "multi").await;
    let [base_a, base_b] = boards.bases.clone();
    let board_vk = boards.key;

    // Created and opened through board A; board B learns of it from the shared log.
    let el = OpenElection::create(&http, &base_a, &board_vk, 12, "reject").await;
    let ballots: Vec<_> = (0..12)
        .map(|i| (el.vote(i, i), el.vote(i, i + 1)))
        .collect();

    // Each voter sends one ballot to A and another to B at the same time.
    let mut tasks = Vec::new();
    for (x, y) in ballots {
        for (base, ballot) in [(base_a.clone(), x), (base_b.clone(), y)] {
            let (http, url) = (http.clone(), format!("{base}{}/ballots", el.path));
            tasks.push(tokio::spawn(async move {
                let r = http
                    .post(url)
                    .body(serde_json::to_vec(&ballot).unwrap())
                    .send()
                    .await
                    .unwrap();
                let status = r.status().as_u16();
                (status, r.json::<Value>().await.unwrap())
            }));
        }
    }
    let mut receipts = Vec::new();
    for t in tasks {
        let (status, v) = t.await.unwrap();
        match status {
            201 => receipts.push(serde_json::from_value::<Receipt>(v).unwrap()),
            409 => assert_eq!(v["error"]["code"], "already-voted", "{v}"),
            other => panic!("unexpected status {other}: {v}"),
        }
    }
    assert_eq!(receipts.len(), 12);

    // Both boards serve the same log; every nullifier appears once; every receipt holds.
    let record_a = get_text(&http, format!("{base_a}{}/record", el.path)).await;
    let record_b = get_text(&http, format!("{base_b}{}/record", el.path)).await;
    assert_eq!(record_a, record_b);
    let lines: Vec<Value> = record_a
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let note = lines.last().unwrap()["checkpoint"].as_str().unwrap();
    let cp = Checkpoint::verify(
        note,
        &zkvote_core::log::origin_for(&el.id),
        BOARD_KEY_NAME,
        &board_vk,
    )
    .unwrap();
    assert_eq!(cp.size as usize, lines.len() - 1);
    let mut nullifiers = HashSet::new();
    for l in &lines[..lines.len() - 1] {
        if l["kind"] == "ballot" {
            assert!(nullifiers.insert(
                l["entry"]["ballot"]["ballot"]["nullifier"]
                    .as_str()
                    .unwrap()
                    .to_string()
            ));
        }
    }
    assert_eq!(nullifiers.len(), 12);
    for r in &receipts {
        let old = r.verify(&el.id, &board_vk).unwrap();
        let p: Value = http
            .get(format!(
                "{base_b}{}/proofs/consistency?old={}&new={}",
                el.path, old.size, cp.size
            ))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let proof: Vec<[u8; 32]> = p["proof"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| zkvote_core::codec::hex32(h.as_str().unwrap()).unwrap())
            .collect();
        r.verify_against(&el.id, &board_vk, note, &proof).unwrap();
    }
    drop(boards);
}
