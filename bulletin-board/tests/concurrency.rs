//! 50 concurrent submissions carrying the same nullifier, over real HTTP on loopback, leave
//! exactly one accepted ballot, on SQLite and on PostgreSQL.

mod common;

use common::*;
use ed25519_dalek::SigningKey;
use rand::rngs::OsRng;
use serde_json::Value;
use std::sync::Arc;
use zkvote_board::api::{router, Board, BoardConfig, Creators};
use zkvote_board::{BoardLog, Store};

async fn fifty_same_nullifier(db: String) {
    let key = SigningKey::generate(&mut OsRng);
    let log = Arc::new(BoardLog::new(Store::open(&db).await.unwrap(), key.clone()));
    let board = Board::load(log, BoardConfig::new(Creators::Anyone))
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router(board)).await.unwrap() });
    let http = reqwest::Client::new();
    let el = OpenElection::create(&http, &base, &key.verifying_key(), 1, "reject").await;
    let ballots: Vec<_> = (0..50).map(|i| el.vote(0, i)).collect();
    let tasks: Vec<_> = ballots
        .into_iter()
        .map(|b| {
            let (http, url) = (http.clone(), format!("{base}{}/ballots", el.path));
            tokio::spawn(async move {
                let r = http
                    .post(url)
                    .body(serde_json::to_vec(&b).unwrap())
                    .send()
                    .await
                    .unwrap();
                (r.status().as_u16(), r.json::<Value>().await.unwrap())
            })
        })
        .collect();
    let mut accepted = 0;
    for t in tasks {
        let (status, v) = t.await.unwrap();
        match status {
            201 => accepted += 1,
            409 => assert_eq!(v["error"]["code"], "already-voted"),
            other => panic!("unexpected {other}: {v}"),
        }
    }
    assert_eq!(accepted, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_fifty_concurrent_same_nullifier() {
    let dir = std::env::temp_dir().join(format!("zkvote-conc-{}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir).unwrap();
    fifty_same_nullifier(format!("sqlite://{}", dir.join("board.db").display())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_fifty_concurrent_same_nullifier() {
    let db = std::env::var("ZKVOTE_TEST_POSTGRES_URL")
        .expect("ZKVOTE_TEST_POSTGRES_URL is not set: run the tests with scripts/test.sh");
    fifty_same_nullifier(db).await;
}
