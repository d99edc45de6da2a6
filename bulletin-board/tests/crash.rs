//! The server killed with SIGKILL in the middle of a load loses no ballot that was given a
//! receipt, and the restarted board's log extends every receipt's checkpoint.

use base64::Engine;
use ed25519_dalek::{SigningKey, VerifyingKey};
use rand::rngs::OsRng;
use rand::RngCore;
use serde_json::{json, Value};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use zkvote_board::api::sign_request;
use zkvote_circuits::complete::{build_complete_ballot, CompleteBallot};
use zkvote_circuits::credential::Credential;
use zkvote_circuits::field::fr_to_bytes;
use zkvote_circuits::groth16::{key_to_bytes, setup, vk_hash};
use zkvote_circuits::merkle::VoterRoll;
use zkvote_core::log::{Hash, Receipt};
use zkvote_core::manifest::{ManifestDocument, TrusteeDocument};
use zkvote_core::sample::sample_manifest_toml;
use zkvote_core::*;
use zkvote_tally::*;

const BIN: &str = env!("CARGO_BIN_EXE_zkvote-board");

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start(db: &str, port: u16, key: &std::path::Path) -> Child {
    Command::new(BIN)
        .args([
            "serve",
            "--db",
            db,
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--key",
        ])
        .arg(key)
        .stdout(Stdio::null())
        .spawn()
        .unwrap()
}

async fn wait_healthy(http: &reqwest::Client, base: &str) {
    for _ in 0..200 {
        if let Ok(r) = http.get(format!("{base}/v1/health")).send().await {
            if r.status().is_success() {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("board did not start");
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

async fn signed(
    http: &reqwest::Client,
    base: &str,
    key: &SigningKey,
    path: &str,
    body: Value,
) -> Value {
    let bytes = serde_json::to_vec(&body).unwrap();
    let (ts, sig) = sign_request(key, "POST", path, &bytes, now());
    let r = http
        .post(format!("{base}{path}"))
        .header("x-zkvote-timestamp", ts)
        .header("x-zkvote-signature", sig)
        .body(bytes)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{path}: {}", r.status());
    r.json().await.unwrap()
}

async fn post(http: &reqwest::Client, base: &str, path: &str, body: Vec<u8>) -> Value {
    let r = http
        .post(format!("{base}{path}"))
        .body(body)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{path}: {}", r.status());
    r.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_loses_no_acknowledged_ballot() {
    let dir = std::env::temp_dir().join(format!("zkvote-crash-{}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir).unwrap();
    let key_path = dir.join("board.key");
    let out = Command::new(BIN)
        .args(["keygen", "--key"])
        .arg(&key_path)
        .output()
        .unwrap();
    assert!(out.status.success());
    let board_pub = hex::decode(String::from_utf8(out.stdout).unwrap().trim()).unwrap();
    let board_vk = VerifyingKey::from_bytes(&board_pub.try_into().unwrap()).unwrap();
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
    let commission = SigningKey::generate(&mut OsRng);
    let trustee = TrusteeKeys::generate(1, &mut OsRng);
    let (pk, vk) = setup(4, &mut OsRng);
    let mut id = [0u8; 32];
    OsRng.fill_bytes(&mut id);
    let mut doc = ManifestDocument::from(Manifest::from_toml(&sample_manifest_toml()).unwrap());
    doc.election_id = hex::encode(id);
    doc.revote_policy = "last-ballot-counts".into();
    doc.commission_key = hex::encode(commission.verifying_key().to_bytes());
    doc.board_key = hex::encode(board_vk.to_bytes());
    doc.eligibility.roll_depth = 4;
    doc.eligibility.groth16_vk_hash = hex::encode(vk_hash(&vk));
    doc.trustees.threshold = 1;
    doc.trustees.members = vec![TrusteeDocument {
        index: 1,
        name: "T1".into(),
        signing_key: hex::encode(trustee.signing_public()),
        encryption_key: hex::encode(trustee.encryption_public().as_bytes()),
    }];
    let manifest = Manifest::try_from(doc).unwrap();
    let e = format!("/v1/elections/{}", hex::encode(id));
    signed(
        &http,
        &base,
        &commission,
        "/v1/elections",
        json!({
            "manifest": manifest,
            "groth16_vk": hex::encode(key_to_bytes(&vk)),
            "proving_key": base64::engine::general_purpose::STANDARD.encode(key_to_bytes(&pk)),
        }),
    )
    .await;
    let codes = signed(
        &http,
        &base,
        &commission,
        &format!("{e}/registration-codes"),
        json!({ "count": 1 }),
    )
    .await;
    let voter = Credential::generate(&mut OsRng);
    let reg = json!({ "code": codes["codes"][0], "commitment": hex::encode(fr_to_bytes(&voter.commitment())) });
    post(
        &http,
        &base,
        &format!("{e}/registrations"),
        serde_json::to_vec(&reg).unwrap(),
    )
    .await;
    let ctx = CeremonyContext::from_manifest(&manifest).unwrap();
    let (dealt, dealing) = Trustee::new(trustee, ctx).unwrap().deal(&mut OsRng);
    post(
        &http,
        &base,
        &format!("{e}/dealings"),
        serde_json::to_vec(&dealing).unwrap(),
    )
    .await;
    let share = dealt
        .check(std::slice::from_ref(&dealing), &mut OsRng)
        .0
        .finish(&[dealing], &[], &mut OsRng)
        .unwrap();
    signed(&http, &base, &commission, &format!("{e}/freeze"), json!({})).await;
    signed(&http, &base, &commission, &format!("{e}/open"), json!({})).await;

    let roll = VoterRoll::new(4, vec![voter.commitment()]).unwrap();
    let ectx = ElectionContext::new(manifest.clone(), share.outcome().election_key());
    let ballots: Vec<CompleteBallot> = (0..48)
        .map(|i| {
            let choices = Choices::from_indices(&manifest, &[vec![i % 4], vec![]]).unwrap();
            build_complete_ballot(
                &ectx,
                &pk,
                &voter,
                &roll.path(0).unwrap(),
                &roll.root(),
                &choices,
                &mut OsRng,
            )
            .unwrap()
            .0
        })
        .collect();

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
