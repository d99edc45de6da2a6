//! The board benchmarks' election: a board on a database, an open 1-contest x 5-option
//! election with 16 voters (last ballot counts) derived from a fixed seed, and a fixture
//! of proved ballots cached under the target directory (slow to build, reused by later
//! runs, by both backends and by the verifier benchmark). With `ZKVOTE_BENCH_WITNESSES=N`
//! the manifest lists N witnesses, served in this process, all of which must cosign.
#![allow(dead_code)]

use ed25519_dalek::{SigningKey, VerifyingKey};
use rand::rngs::OsRng;
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use rayon::prelude::*;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use zkvote_board::api::{router, Board, BoardConfig, Creators};
use zkvote_board::{BallotBoxConfig, BoardLog, Store};
use zkvote_circuits::complete::build_complete_ballot;
use zkvote_circuits::credential::Credential;
use zkvote_circuits::field::fr_to_bytes;
use zkvote_circuits::groth16::setup;
use zkvote_circuits::merkle::VoterRoll;
use zkvote_core::manifest::{ManifestDocument, WitnessDocument, WitnessesDocument};
use zkvote_core::sample::single_contest_manifest_toml;
use zkvote_core::*;
use zkvote_tally::{CeremonyContext, Trustee, TrusteeKeys};

/// The seed of the benchmarks' first election (the verifier benchmark's and the in-process
/// board's); other boards use the seeds after it, each with its own cached fixture.
pub const SEED: u64 = 0x2b_5eed;

/// Ballots posted per measured ingestion iteration.
pub const PER_ITERATION: usize = 300;
/// Ballots in the fixture (11 iterations: criterion's warm-up and 10 samples).
pub const FIXTURE: usize = 11 * PER_ITERATION;

pub use zkvote_testkit::post_signed as signed;

pub async fn post(http: &reqwest::Client, base: &str, path: &str, body: &impl serde::Serialize) {
    let r = http
        .post(format!("{base}{path}"))
        .body(serde_json::to_vec(body).unwrap())
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{path}: {}", r.status());
}

/// Where the board under test runs.
#[derive(Clone, Debug)]
pub enum Host {
    /// In the benchmark's process, as a tokio task (`ZKVOTE_BENCH_LINGER_MS` and
    /// `ZKVOTE_BENCH_MAX_BATCH` set its ballot box).
    InProcess,
    /// A `zkvote-board` binary started as a child process, so that the load generator
    /// (this process) and the board share neither a runtime nor an allocator.
    Binary(PathBuf),
}

/// A board running as a child process, stopped when dropped.
pub struct BoardProcess {
    child: Child,
    _dir: TempDir,
}

impl Drop for BoardProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A folder removed when dropped.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl BoardProcess {
    /// Starts `bin serve` on `db` with `key` (no rate limit to speak of, any commission);
    /// returns it with the address it printed.
    fn start(bin: &Path, db: &str, key: &SigningKey) -> (Self, String) {
        let dir = TempDir(
            std::env::temp_dir().join(format!("zkvote-bench-board-{}", rand::random::<u64>())),
        );
        std::fs::create_dir_all(&dir.0).unwrap();
        let key_file = dir.0.join("board.key");
        std::fs::write(&key_file, hex::encode(key.to_bytes())).unwrap();
        let mut child = Command::new(bin)
            .args([
                "serve",
                "--db",
                db,
                "--listen",
                "127.0.0.1:0",
                "--rate-limit",
                "1000000",
                "--any-commission",
                "--key",
            ])
            .arg(&key_file)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        // Whatever else it prints is read and dropped, so that it never writes to a closed
        // pipe.
        std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
        let base = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("{} printed {line:?}", bin.display()))
            .to_string();
        (BoardProcess { child, _dir: dir }, base)
    }
}

/// Starts a board in this process; returns its address.
async fn start_in_process(db: &str, board_key: &SigningKey) -> String {
    let log = Arc::new(BoardLog::new(
        Store::open(db).await.unwrap(),
        board_key.clone(),
    ));
    let mut config = BallotBoxConfig::default();
    if let Some(ms) = std::env::var("ZKVOTE_BENCH_LINGER_MS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        config.linger = Duration::from_millis(ms);
    }
    if let Some(n) = std::env::var("ZKVOTE_BENCH_MAX_BATCH")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        config.max_batch = n;
    }
    let config = BoardConfig {
        ballot_box: config,
        creators: Creators::Anyone,
    };
    let board = Board::load(log, config).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router(board)).await.unwrap() });
    base
}

/// Witnesses the election lists (`ZKVOTE_BENCH_WITNESSES`, default 0).
pub fn witnesses() -> u32 {
    std::env::var("ZKVOTE_BENCH_WITNESSES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Serves `n` witnesses in this process, trusting `board`, each with an SQLite file in a
/// fresh folder. Their keys come from `seed` and their ports are fixed (39,000 +
/// 10 x (seed - SEED) + i), so that the manifest, and so the cached fixture, is the same
/// from run to run.
async fn serve_witnesses(n: u32, seed: u64, board: VerifyingKey) -> Vec<WitnessDocument> {
    let mut keys = ChaCha20Rng::seed_from_u64(seed ^ 0x5717_e55e);
    let dir =
        std::env::temp_dir().join(format!("zkvote-bench-witnesses-{}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut members = Vec::new();
    for i in 0..n {
        let key = SigningKey::generate(&mut keys);
        let name = format!("witness-{i}.bench.zkvote");
        let public_key = hex::encode(key.verifying_key().as_bytes());
        let listen = format!("127.0.0.1:{}", 39_000 + 10 * (seed - SEED) + u64::from(i));
        let db = dir.join(format!("witness-{i}.db")).display().to_string();
        let (addr, server) = zkvote_witness::server::bind(&db, &listen, &name, key, vec![board])
            .await
            .unwrap();
        tokio::spawn(server);
        members.push(WitnessDocument {
            name,
            public_key,
            url: format!("http://{addr}"),
        });
    }
    members
}

/// Starts a board on `db` (in this process or as a child process), opens a 1-contest x
/// 5-option election with 16 voters (last ballot counts) derived from `seed`, and loads
/// (or builds and caches) the fixture of encoded complete ballots.
pub async fn prepare(db: &str, host: &Host, seed: u64) -> Prepared {
    let mut seeded = ChaCha20Rng::seed_from_u64(seed);
    let board_key = SigningKey::generate(&mut seeded);
    let (base, process) = match host {
        Host::InProcess => (start_in_process(db, &board_key).await, None),
        Host::Binary(bin) => {
            let (p, base) = BoardProcess::start(bin, db, &board_key);
            (base, Some(p))
        }
    };
    let http = reqwest::Client::new();
    let vk_board: VerifyingKey = board_key.verifying_key();

    let commission = SigningKey::generate(&mut seeded);
    let trustee = TrusteeKeys::generate(1, &mut seeded);
    let (pk, _vk) = setup(4, &mut seeded);
    let mut id = [0u8; 32];
    seeded.fill_bytes(&mut id);
    let manifest = zkvote_testkit::TestManifest {
        election_id: id,
        commission: &commission.verifying_key(),
        board: &vk_board,
        eligibility: &pk,
        roll_depth: 4,
        revote_policy: "last-ballot-counts",
        trustees: (std::slice::from_ref(&trustee), 1),
    }
    .build(&single_contest_manifest_toml(5));
    let n = witnesses();
    let manifest = if n == 0 {
        manifest
    } else {
        let mut doc = ManifestDocument::from(manifest);
        doc.witnesses = Some(WitnessesDocument {
            threshold: n,
            members: serve_witnesses(n, seed, vk_board).await,
        });
        Manifest::try_from(doc).unwrap()
    };
    let e = format!("/v1/elections/{}", hex::encode(id));
    let create = serde_json::to_value(zkvote_testkit::create_election(&manifest, &pk)).unwrap();
    signed(&http, &base, &commission, "/v1/elections", create).await;
    let codes = signed(
        &http,
        &base,
        &commission,
        &format!("{e}/registration-codes"),
        json!({ "count": 16 }),
    )
    .await;
    let voters: Vec<Credential> = (0..16).map(|_| Credential::generate(&mut seeded)).collect();
    for (i, v) in voters.iter().enumerate() {
        post(&http, &base, &format!("{e}/registrations"), &json!({ "code": codes["codes"][i], "commitment": hex::encode(fr_to_bytes(&v.commitment())) })).await;
    }
    let trustee_keys = trustee.clone();
    let (dealt, dealing) =
        Trustee::new(trustee, CeremonyContext::from_manifest(&manifest).unwrap())
            .unwrap()
            .deal(&mut seeded);
    post(&http, &base, &format!("{e}/dealings"), &dealing).await;
    let share = dealt
        .check(std::slice::from_ref(&dealing), &mut seeded)
        .0
        .finish(&[dealing], &[], &mut seeded)
        .unwrap();
    signed(&http, &base, &commission, &format!("{e}/freeze"), json!({})).await;
    signed(&http, &base, &commission, &format!("{e}/open"), json!({})).await;

    let roll = VoterRoll::new(4, voters.iter().map(|v| v.commitment()).collect()).unwrap();
    let ctx = ElectionContext::new(manifest.clone(), share.outcome().election_key());
    let mut tag = Sha256::new();
    tag.update(manifest.hash());
    tag.update(ctx.public_key().point().compress().as_bytes());
    tag.update((FIXTURE as u64).to_le_bytes());
    let cache = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "board-fixture-{}.jsonl",
        hex::encode(&tag.finalize()[..8])
    ));
    let fixture = match std::fs::read(&cache) {
        Ok(bytes) => {
            let lines: Vec<Vec<u8>> = bytes
                .split(|b| *b == b'\n')
                .filter(|l| !l.is_empty())
                .map(<[u8]>::to_vec)
                .collect();
            assert_eq!(lines.len(), FIXTURE, "{} is truncated", cache.display());
            eprintln!("fixture: {FIXTURE} ballots loaded from {}", cache.display());
            lines
        }
        Err(_) => {
            let t = Instant::now();
            let fixture: Vec<Vec<u8>> = (0..FIXTURE)
                .into_par_iter()
                .map(|i| {
                    let v = i % voters.len();
                    let choices = Choices::from_indices(&manifest, &[vec![i % 5]]).unwrap();
                    let (b, _) = build_complete_ballot(
                        &ctx,
                        &pk,
                        &voters[v],
                        &roll.path(v).unwrap(),
                        &roll.root(),
                        &choices,
                        &mut OsRng,
                    )
                    .unwrap();
                    serde_json::to_vec(&b).unwrap()
                })
                .collect();
            eprintln!(
                "fixture: {FIXTURE} ballots ({} bytes of JSON each) built in {:.1} s",
                fixture[0].len(),
                t.elapsed().as_secs_f64()
            );
            let tmp = cache.with_extension("partial");
            std::fs::write(&tmp, fixture.join(&b'\n')).unwrap();
            std::fs::rename(&tmp, &cache).unwrap();
            fixture
        }
    };
    let url = format!("{base}{e}/ballots");
    Prepared {
        base,
        url,
        fixture,
        path: e,
        commission,
        trustee: trustee_keys,
        share,
        _process: process,
    }
}

/// A running board with an open election and its fixture of ballots.
pub struct Prepared {
    pub base: String,
    pub url: String,
    pub fixture: Vec<Vec<u8>>,
    pub path: String,
    pub commission: SigningKey,
    pub trustee: TrusteeKeys,
    pub share: zkvote_tally::TrusteeShare,
    /// The board's process when it runs in one of its own.
    _process: Option<BoardProcess>,
}

/// Posts `ballots` with `concurrency` clients; returns the elapsed time and records each
/// request's latency.
pub async fn ingest(
    url: &str,
    ballots: Vec<Vec<u8>>,
    concurrency: usize,
    latencies: &Arc<Mutex<Vec<Duration>>>,
) -> Duration {
    let (elapsed, receipts) = post_all(url, ballots, concurrency).await;
    latencies
        .lock()
        .unwrap()
        .extend(receipts.iter().map(|r| r.latency));
    elapsed
}

/// What one continuous stream of ballots measured.
pub struct Stream {
    /// From the first request to the last receipt.
    pub elapsed: Duration,
    /// When each receipt arrived, from the start, in order.
    pub done: Vec<Duration>,
    /// Each request's latency, sorted.
    pub latencies: Vec<Duration>,
}

impl Stream {
    /// Ballots per second over the whole stream.
    pub fn rate(&self) -> f64 {
        self.done.len() as f64 / self.elapsed.as_secs_f64()
    }

    /// Ballots per second between the receipts at fractions `from` and `to` of the
    /// stream: the steady state, without the ramp at the start and the drain at the end.
    pub fn steady_rate(&self, from: f64, to: f64) -> f64 {
        let n = self.done.len() - 1;
        let (i, j) = ((n as f64 * from) as usize, (n as f64 * to) as usize);
        (j - i) as f64 / (self.done[j] - self.done[i]).as_secs_f64()
    }
}

/// Posts `ballots` in one continuous stream with `concurrency` clients in flight.
pub async fn stream(url: &str, ballots: Vec<Vec<u8>>, concurrency: usize) -> Stream {
    let (elapsed, receipts) = post_all(url, ballots, concurrency).await;
    let mut done: Vec<Duration> = receipts.iter().map(|r| r.at).collect();
    let mut latencies: Vec<Duration> = receipts.iter().map(|r| r.latency).collect();
    done.sort();
    latencies.sort();
    Stream {
        elapsed,
        done,
        latencies,
    }
}

/// One receipt: when it arrived (from the start) and how long its request took.
struct Receipt {
    at: Duration,
    latency: Duration,
}

/// Posts `ballots` with `concurrency` clients; returns the elapsed time and the receipts.
async fn post_all(
    url: &str,
    ballots: Vec<Vec<u8>>,
    concurrency: usize,
) -> (Duration, Vec<Receipt>) {
    let http = reqwest::Client::new();
    let queue = Arc::new(Mutex::new(ballots));
    let receipts = Arc::new(Mutex::new(Vec::new()));
    let start = Instant::now();
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let (http, url, queue, receipts) = (
                http.clone(),
                url.to_string(),
                queue.clone(),
                receipts.clone(),
            );
            tokio::spawn(async move {
                loop {
                    let Some(b) = queue.lock().unwrap().pop() else {
                        break;
                    };
                    let t = Instant::now();
                    let r = http.post(&url).body(b).send().await.unwrap();
                    assert_eq!(
                        r.status().as_u16(),
                        201,
                        "{}",
                        r.text().await.unwrap_or_default()
                    );
                    receipts.lock().unwrap().push(Receipt {
                        at: start.elapsed(),
                        latency: t.elapsed(),
                    });
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let elapsed = start.elapsed();
    let receipts = std::mem::take(&mut *receipts.lock().unwrap());
    (elapsed, receipts)
}

pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}
