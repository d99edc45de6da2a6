//! Helpers shared by the board's tests: the real `zkvote-board` binary, or a board served
//! in the test's own process.
#![allow(dead_code)]

use ed25519_dalek::{SigningKey, VerifyingKey};
use rand::rngs::OsRng;
use rand::RngCore;
use serde_json::json;
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use zkvote_circuits::complete::{build_complete_ballot, CompleteBallot};
use zkvote_circuits::credential::Credential;
use zkvote_circuits::field::fr_to_bytes;
use zkvote_circuits::groth16::{setup, ProvingKey};
use zkvote_circuits::merkle::VoterRoll;
use zkvote_core::manifest::ManifestDocument;
use zkvote_core::sample::sample_manifest_toml;
use zkvote_core::*;
use zkvote_tally::*;
use zkvote_testkit::{create_election, TestManifest};

pub const BIN: &str = env!("CARGO_BIN_EXE_zkvote-board");

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A child process killed when dropped, so that a failing test leaves no server behind
/// (holding the test's output pipes open).
pub struct KillOnDrop(pub Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Two board processes on one database (PostgreSQL from `ZKVOTE_TEST_POSTGRES_URL`),
/// sharing one key, both healthy.
pub struct TwoBoards {
    pub processes: [KillOnDrop; 2],
    pub bases: [String; 2],
    pub key: VerifyingKey,
}

impl TwoBoards {
    pub async fn start(http: &reqwest::Client, name: &str) -> Self {
        let db = std::env::var("ZKVOTE_TEST_POSTGRES_URL")
            .expect("ZKVOTE_TEST_POSTGRES_URL is not set: run the tests with scripts/test.sh");
        let dir = std::env::temp_dir().join(format!("zkvote-{name}-{}", rand::random::<u64>()));
        std::fs::create_dir_all(&dir).unwrap();
        let (key_path, key) = keygen(&dir);
        let ports = [free_port(), free_port()];
        let bases = ports.map(|p| format!("http://127.0.0.1:{p}"));
        let processes = ports.map(|p| KillOnDrop(start(&db, p, &key_path)));
        for base in &bases {
            wait_healthy(http, base).await;
        }
        TwoBoards {
            processes,
            bases,
            key,
        }
    }
}

/// One board process on an SQLite file in a fresh temporary folder `dir`, healthy at
/// `base`, with its key file and public key.
pub struct OneBoard {
    pub dir: std::path::PathBuf,
    pub key_path: std::path::PathBuf,
    pub key: VerifyingKey,
    pub base: String,
    pub process: KillOnDrop,
}

impl OneBoard {
    pub async fn start(http: &reqwest::Client, name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("zkvote-{name}-{}", rand::random::<u64>()));
        std::fs::create_dir_all(&dir).unwrap();
        let (key_path, key) = keygen(&dir);
        let port = free_port();
        let db = format!("sqlite://{}", dir.join("board.db").display());
        let process = KillOnDrop(start(&db, port, &key_path));
        let base = format!("http://127.0.0.1:{port}");
        wait_healthy(http, &base).await;
        OneBoard {
            dir,
            key_path,
            key,
            base,
            process,
        }
    }
}

/// The body of a successful GET, as text.
pub async fn get_text(http: &reqwest::Client, url: String) -> String {
    let r = http.get(url).send().await.unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    r.text().await.unwrap()
}

pub fn start(db: &str, port: u16, key: &std::path::Path) -> Child {
    Command::new(BIN)
        .args([
            "serve",
            "--db",
            db,
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--any-commission",
            "--key",
        ])
        .arg(key)
        .stdout(Stdio::null())
        .spawn()
        .unwrap()
}

pub async fn wait_healthy(http: &reqwest::Client, base: &str) {
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

pub use zkvote_testkit::post;

pub use zkvote_testkit::post_signed as signed;

/// A board key file made with `zkvote-board keygen`, and its public key.
pub fn keygen(dir: &std::path::Path) -> (std::path::PathBuf, VerifyingKey) {
    let key_path = dir.join("board.key");
    let out = Command::new(BIN)
        .args(["keygen", "--key"])
        .arg(&key_path)
        .output()
        .unwrap();
    assert!(out.status.success());
    let board_pub = hex::decode(String::from_utf8(out.stdout).unwrap().trim()).unwrap();
    (
        key_path,
        VerifyingKey::from_bytes(&board_pub.try_into().unwrap()).unwrap(),
    )
}

/// An election just created through `base`: its commission, trustees, eligibility keys
/// and `n` unused registration codes.
pub struct NewElection {
    pub id: [u8; 32],
    pub path: String,
    pub manifest: Manifest,
    pub commission: SigningKey,
    pub trustees: Vec<TrusteeKeys>,
    pub pk: ProvingKey,
    pub codes: Vec<String>,
}

impl NewElection {
    /// Creates an election with `trustees` trustees (threshold `threshold`), a roll of
    /// depth `depth`, and issues `n` registration codes.
    pub async fn create(
        http: &reqwest::Client,
        base: &str,
        board: &VerifyingKey,
        (n, depth): (usize, u8),
        (trustees, threshold): (u32, u32),
        policy: &str,
    ) -> Self {
        Self::create_with(
            http,
            base,
            board,
            (n, depth),
            (trustees, threshold),
            policy,
            |_| {},
        )
        .await
    }

    /// [`NewElection::create`] with the manifest edited by `edit` before it is posted.
    pub async fn create_with(
        http: &reqwest::Client,
        base: &str,
        board: &VerifyingKey,
        (n, depth): (usize, u8),
        (trustees, threshold): (u32, u32),
        policy: &str,
        edit: impl FnOnce(&mut ManifestDocument),
    ) -> Self {
        let commission = SigningKey::generate(&mut OsRng);
        let keys: Vec<TrusteeKeys> = (1..=trustees)
            .map(|i| TrusteeKeys::generate(i, &mut OsRng))
            .collect();
        let (pk, _) = setup(depth, &mut OsRng);
        let mut id = [0u8; 32];
        OsRng.fill_bytes(&mut id);
        let manifest = TestManifest {
            election_id: id,
            commission: &commission.verifying_key(),
            board,
            eligibility: &pk,
            roll_depth: depth,
            revote_policy: policy,
            trustees: (&keys, threshold),
        }
        .build(&sample_manifest_toml());
        let mut doc = ManifestDocument::from(manifest);
        edit(&mut doc);
        let manifest = Manifest::try_from(doc).unwrap();
        let path = format!("/v1/elections/{}", hex::encode(id));
        let create = create_election(&manifest, &pk);
        zkvote_testkit::post_signed(http, base, &commission, "/v1/elections", &create).await;
        let codes = signed(
            http,
            base,
            &commission,
            &format!("{path}/registration-codes"),
            json!({ "count": n }),
        )
        .await;
        NewElection {
            id,
            path,
            manifest,
            commission,
            trustees: keys,
            pk,
            codes: serde_json::from_value(codes["codes"].clone()).unwrap(),
        }
    }

    /// The registration request of `voter` with code `i`.
    pub fn registration(&self, i: usize, voter: &Credential) -> Vec<u8> {
        serde_json::to_vec(&json!({
            "code": self.codes[i],
            "commitment": hex::encode(fr_to_bytes(&voter.commitment())),
        }))
        .unwrap()
    }
}

/// An open election with one trustee (threshold 1) and `n` registered voters.
pub struct OpenElection {
    pub id: [u8; 32],
    pub path: String,
    pub manifest: Manifest,
    pub pk: ProvingKey,
    pub voters: Vec<Credential>,
    pub roll: VoterRoll,
    pub ctx: ElectionContext,
}

impl OpenElection {
    /// Creates, registers, runs the ceremony, freezes and opens, through `base`.
    pub async fn create(
        http: &reqwest::Client,
        base: &str,
        board: &VerifyingKey,
        n: usize,
        policy: &str,
    ) -> Self {
        Self::create_with(http, base, board, n, policy, |_| {}).await
    }

    /// [`OpenElection::create`] with the manifest edited by `edit` before it is posted.
    pub async fn create_with(
        http: &reqwest::Client,
        base: &str,
        board: &VerifyingKey,
        n: usize,
        policy: &str,
        edit: impl FnOnce(&mut ManifestDocument),
    ) -> Self {
        let e = NewElection::create_with(http, base, board, (n, 4), (1, 1), policy, edit).await;
        let path = e.path.clone();
        let voters: Vec<Credential> = (0..n).map(|_| Credential::generate(&mut OsRng)).collect();
        for (i, v) in voters.iter().enumerate() {
            post(
                http,
                base,
                &format!("{path}/registrations"),
                e.registration(i, v),
            )
            .await;
        }
        let cctx = CeremonyContext::from_manifest(&e.manifest).unwrap();
        let trustee = e.trustees[0].clone();
        let (dealt, dealing) = Trustee::new(trustee, cctx).unwrap().deal(&mut OsRng);
        post(
            http,
            base,
            &format!("{path}/dealings"),
            serde_json::to_vec(&dealing).unwrap(),
        )
        .await;
        let share = dealt
            .check(std::slice::from_ref(&dealing), &mut OsRng)
            .0
            .finish(&[dealing], &[], &mut OsRng)
            .unwrap();
        let commission = &e.commission;
        signed(http, base, commission, &format!("{path}/freeze"), json!({})).await;
        signed(http, base, commission, &format!("{path}/open"), json!({})).await;
        let roll = VoterRoll::new(4, voters.iter().map(|v| v.commitment()).collect()).unwrap();
        let ctx = ElectionContext::new(e.manifest.clone(), share.outcome().election_key());
        OpenElection {
            id: e.id,
            path,
            manifest: e.manifest,
            pk: e.pk,
            voters,
            roll,
            ctx,
        }
    }

    /// A ballot of voter `i` for mayor `mayor`.
    pub fn vote(&self, i: usize, mayor: usize) -> CompleteBallot {
        let choices = Choices::from_indices(&self.manifest, &[vec![mayor % 4], vec![]]).unwrap();
        build_complete_ballot(
            &self.ctx,
            &self.pk,
            &self.voters[i],
            &self.roll.path(i).unwrap(),
            &self.roll.root(),
            &choices,
            &mut OsRng,
        )
        .unwrap()
        .0
    }
}

/// Serves a board on `url` (signing with `key`) on a loopback port in this process, open to
/// any commission; returns its base URL.
pub async fn serve_in_process(url: &str, key: &SigningKey) -> String {
    use std::sync::Arc;
    use zkvote_board::api::{router, Board, BoardConfig, Creators};
    let log = Arc::new(zkvote_board::BoardLog::new(
        zkvote_board::Store::open(url).await.unwrap(),
        key.clone(),
    ));
    let board = Board::load(log, BoardConfig::new(Creators::Anyone))
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router(board)).await.unwrap() });
    format!("http://{addr}")
}
