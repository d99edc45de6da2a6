//! A real `zkvote witness serve` process over loopback: it cosigns checkpoints that extend
//! the last one it cosigned, answers every refusal with C2SP tlog-witness's status, keeps
//! forks as evidence, and keeps its state when restarted on the same store.

use ed25519_dalek::SigningKey;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use zkvote_core::cosignature::{require_cosignatures, WitnessKey};
use zkvote_core::log::{
    consistency_proof, leaf_hash, origin_for, Checkpoint, MemoryTree, BOARD_KEY_NAME,
};
use zkvote_witness::AddCheckpoint;

const BIN: &str = env!("CARGO_BIN_EXE_zkvote");
const NAME: &str = "witness.example.org/zkvote";

struct WitnessProcess {
    child: Child,
    url: String,
}

impl Drop for WitnessProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(dir: &Path, board: &SigningKey) -> WitnessProcess {
    let mut child = Command::new(BIN)
        .args([
            "witness",
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--name",
            NAME,
        ])
        .arg("--db")
        .arg(dir.join("witness.db"))
        .arg("--key")
        .arg(dir.join("witness.key"))
        .arg("--board-key")
        .arg(hex::encode(board.verifying_key().as_bytes()))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(
        line.starts_with(&format!("zkvote witness {NAME} ")),
        "{line}"
    );
    let url = line.split_whitespace().last().unwrap().to_string();
    WitnessProcess { child, url }
}

fn tree(n: u64, tag: u8) -> MemoryTree {
    MemoryTree::from_leaf_hashes(
        (0..n).map(|i| leaf_hash(&[&[tag][..], &i.to_be_bytes()].concat())),
    )
}

fn checkpoint(t: &MemoryTree) -> Checkpoint {
    Checkpoint {
        origin: origin_for(&[0x42; 32]),
        size: t.size(),
        root: t.root(),
    }
}

fn request(t: &MemoryTree, old: u64, board: &SigningKey) -> String {
    AddCheckpoint {
        old_size: old,
        proof: if old == 0 || old == t.size() {
            vec![]
        } else {
            consistency_proof(t, old, t.size()).unwrap()
        },
        checkpoint: checkpoint(t).sign(BOARD_KEY_NAME, board),
    }
    .encode()
}

/// POSTs a body to `/add-checkpoint`: status, content type, body.
async fn add(w: &WitnessProcess, body: String) -> (u16, String, String) {
    let r = reqwest::Client::new()
        .post(format!("{}/add-checkpoint", w.url))
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let kind = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, kind, r.text().await.unwrap())
}

async fn get_json(w: &WitnessProcess, path: &str) -> serde_json::Value {
    reqwest::get(format!("{}{path}", w.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("zkvote-witness-{:016x}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test]
async fn a_witness_process_cosigns_refuses_and_survives_a_restart() {
    let dir = temp_dir();
    let keygen = Command::new(BIN)
        .args(["witness", "keygen", "--key"])
        .arg(dir.join("witness.key"))
        .output()
        .unwrap();
    assert!(keygen.status.success());
    let public = String::from_utf8(keygen.stdout).unwrap().trim().to_string();
    let board = SigningKey::from_bytes(&[3; 32]);
    let w = start(&dir, &board);
    let about = get_json(&w, "/v1/witness").await;
    assert_eq!(about["name"], NAME);
    assert_eq!(about["public_key"], public.as_str());
    let known = [WitnessKey {
        name: NAME.into(),
        key: ed25519_dalek::VerifyingKey::from_bytes(&zkvote_core::codec::hex32(&public).unwrap())
            .unwrap(),
    }];

    let (status, _, line) = add(&w, request(&tree(3, 0), 0, &board)).await;
    assert_eq!(status, 200, "{line}");
    require_cosignatures(&checkpoint(&tree(3, 0)), &line, &known, 1).unwrap();
    let (status, _, line) = add(&w, request(&tree(7, 0), 3, &board)).await;
    assert_eq!(status, 200, "{line}");
    require_cosignatures(&checkpoint(&tree(7, 0)), &line, &known, 1).unwrap();
    // A cosignature of size 3 is not one of size 7.
    assert!(require_cosignatures(&checkpoint(&tree(3, 0)), &line, &known, 1).is_err());

    let stale = add(&w, request(&tree(7, 0), 0, &board)).await;
    assert_eq!(stale, (409, "text/x.tlog.size".into(), "7\n".into()));
    let (status, _, why) = add(&w, request(&tree(7, 1), 7, &board)).await;
    assert_eq!(status, 422, "a fork at the cosigned size: {why}");
    let stranger = SigningKey::from_bytes(&[4; 32]);
    assert_eq!(add(&w, request(&tree(8, 0), 7, &stranger)).await.0, 403);
    let other = request(&tree(8, 0), 7, &board).replacen("zkvote/", "other/", 1);
    assert_eq!(add(&w, other).await.0, 404);
    assert_eq!(add(&w, "old 7\n".into()).await.0, 400);
    assert_eq!(add(&w, "x".repeat(64 * 1024)).await.0, 413);

    let evidence = get_json(&w, "/v1/evidence").await;
    assert_eq!(evidence.as_array().unwrap().len(), 1);
    assert_eq!(
        evidence[0]["submitted"],
        checkpoint(&tree(7, 1))
            .sign(BOARD_KEY_NAME, &board)
            .as_str()
    );
    assert_eq!(
        evidence[0]["cosigned"],
        checkpoint(&tree(7, 0))
            .sign(BOARD_KEY_NAME, &board)
            .as_str()
    );

    // Restarted on the same store: size 7 is still what it extends from.
    drop(w);
    let w = start(&dir, &board);
    let stale = add(&w, request(&tree(9, 0), 0, &board)).await;
    assert_eq!(stale.2, "7\n");
    assert_eq!(add(&w, request(&tree(9, 0), 7, &board)).await.0, 200);
    assert_eq!(
        get_json(&w, "/v1/evidence").await.as_array().unwrap().len(),
        1
    );
    drop(w);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_witness_with_bad_flags_says_why_in_one_line() {
    let dir = temp_dir();
    let key = dir.join("witness.key");
    assert!(Command::new(BIN)
        .args(["witness", "keygen", "--key"])
        .arg(&key)
        .status()
        .unwrap()
        .success());
    for (flag, value, says) in [
        ("--board-key", "zz", "--board-key"),
        ("--name", "two words", "--name"),
    ] {
        let mut args = vec![
            "witness".to_string(),
            "serve".into(),
            "--listen".into(),
            "127.0.0.1:0".into(),
            "--db".into(),
            dir.join("w.db").display().to_string(),
            "--key".into(),
            key.display().to_string(),
        ];
        if flag != "--name" {
            args.extend(["--name".into(), NAME.into()]);
        }
        if flag != "--board-key" {
            let board = SigningKey::from_bytes(&[5; 32]).verifying_key();
            args.extend(["--board-key".into(), hex::encode(board.as_bytes())]);
        }
        args.extend([flag.to_string(), value.to_string()]);
        let out = Command::new(BIN).args(&args).output().unwrap();
        assert!(!out.status.success());
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.starts_with("zkvote: ") && err.contains(says), "{err}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
