//! Bulletin-board benchmarks: ballot ingestion over loopback HTTP with full verification
//! (SQLite, and PostgreSQL when `ZKVOTE_BENCH_POSTGRES_URL` is set), and inclusion and
//! consistency proof generation in a log of 10 million entries.
//!
//! `cargo build --release -p zkvote-board && ./scripts/with-postgres.sh cargo bench -p zkvote-benches --bench board`
//!
//! Each board is measured twice: in the benchmark's process, and as a separate
//! `zkvote-board` process (the load generator is then the benchmark's process alone).
//! `ZKVOTE_BENCH_WITNESSES=3` has the election list 3 witnesses, served in the benchmark's
//! process, all of which must cosign every checkpoint behind a receipt.
//! Each run needs a fresh PostgreSQL database (`scripts/with-postgres.sh` makes one).

#[path = "common/board_fixture.rs"]
mod fixture;

use criterion::{
    criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode, Throughput,
};
use fixture::{ingest, percentile, prepare, stream, Host, Prepared, PER_ITERATION, SEED};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};
use zkvote_core::log::{consistency_proof, inclusion_proof, leaf_hash, MemoryTree};

/// Concurrent HTTP clients (`ZKVOTE_BENCH_CLIENTS`, default 128).
fn clients() -> usize {
    std::env::var("ZKVOTE_BENCH_CLIENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(128)
}

/// Whether to post each fixture in one continuous stream (`ZKVOTE_BENCH_STREAM`, boards in
/// processes of their own only) instead of criterion's iterations of `PER_ITERATION`.
fn streaming() -> bool {
    std::env::var_os("ZKVOTE_BENCH_STREAM").is_some()
}

/// The boards to measure: in this process (`in_process`), and each `LABEL=PATH` of
/// `ZKVOTE_BENCH_BOARD_BINS` (comma-separated `zkvote-board` binaries, each run as a child
/// process), or by default `target/release/zkvote-board` when it has been built
/// (`separate_process`).
fn hosts() -> Vec<(String, Host)> {
    let mut hosts = vec![("in_process".to_string(), Host::InProcess)];
    match std::env::var("ZKVOTE_BENCH_BOARD_BINS") {
        Ok(list) => hosts.extend(list.split(',').filter_map(|item| {
            let (label, path) = item.split_once('=')?;
            Some((label.to_string(), Host::Binary(path.into())))
        })),
        Err(_) => {
            let bin = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../target/release/zkvote-board");
            if bin.exists() {
                hosts.push(("separate_process".into(), Host::Binary(bin)));
            } else {
                eprintln!(
                    "{} not built (cargo build --release -p zkvote-board): the board is \
                     measured in this process only",
                    bin.display()
                );
            }
        }
    }
    hosts
}

fn bench_ingestion(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut backends = Vec::new();
    let dir = std::env::temp_dir().join(format!("zkvote-bench-{}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir).unwrap();
    backends.push((
        "sqlite",
        format!("sqlite://{}", dir.join("board.db").display()),
    ));
    match std::env::var("ZKVOTE_BENCH_POSTGRES_URL") {
        Ok(url) => backends.push(("postgres", url)),
        Err(_) => eprintln!("ZKVOTE_BENCH_POSTGRES_URL not set: PostgreSQL ingestion not measured"),
    }
    let hosts = hosts();
    let mut g = c.benchmark_group("ingest_http_1x5");
    g.sample_size(10);
    g.sampling_mode(SamplingMode::Flat);
    g.warm_up_time(Duration::from_millis(1));
    g.measurement_time(Duration::from_millis(1));
    g.throughput(Throughput::Elements(PER_ITERATION as u64));
    let runs = hosts.iter().enumerate().flat_map(|(seed, (h, host))| {
        backends
            .iter()
            .map(move |(b, db)| (seed as u64, h, host, b, db))
    });
    for (k, (seed, host_name, host, backend, db)) in runs.enumerate() {
        let name = match fixture::witnesses() {
            0 => format!("{backend}/{host_name}"),
            n => format!("{backend}/{host_name}/{n}_witnesses"),
        };
        if streaming() && matches!(host, Host::InProcess) {
            continue; // the stream measures boards in processes of their own
        }
        // A fresh SQLite file per board; PostgreSQL boards share the database, each host's
        // with an election (a seed, a cached fixture) of its own.
        let db = match db.strip_suffix("board.db") {
            Some(dir) => format!("{dir}board-{k}.db"),
            None => db.clone(),
        };
        let prepared = rt.block_on(prepare(&db, host, SEED + seed));
        let Prepared { url, .. } = &prepared;
        let url = url.clone();
        if streaming() {
            let s = rt.block_on(stream(&url, prepared.fixture.clone(), clients()));
            eprintln!(
                "ingest_http_1x5/{name}: one stream of {} ballots, {} clients: {:.0} ballots/s \
                 ({:.2} s); steady state (receipts 10%-90%) {:.0} ballots/s; latency p50 \
                 {:.1} ms, p99 {:.1} ms",
                s.done.len(),
                clients(),
                s.rate(),
                s.elapsed.as_secs_f64(),
                s.steady_rate(0.1, 0.9),
                percentile(&s.latencies, 0.5).as_secs_f64() * 1e3,
                percentile(&s.latencies, 0.99).as_secs_f64() * 1e3
            );
            continue;
        }
        let fixture = Arc::new(Mutex::new(prepared.fixture.clone()));
        let latencies = Arc::new(Mutex::new(Vec::new()));
        g.bench_function(BenchmarkId::from_parameter(&name), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let batch: Vec<Vec<u8>> = {
                        let mut f = fixture.lock().unwrap();
                        let n = f.len();
                        assert!(n >= PER_ITERATION, "fixture exhausted");
                        f.split_off(n - PER_ITERATION)
                    };
                    total += rt.block_on(ingest(&url, batch, clients(), &latencies));
                }
                total
            })
        });
        let mut l = latencies.lock().unwrap().clone();
        if l.is_empty() {
            continue; // filtered out
        }
        l.sort();
        eprintln!(
            "{name}: {} ballots, latency p50 {:.1} ms, p99 {:.1} ms",
            l.len(),
            percentile(&l, 0.5).as_secs_f64() * 1e3,
            percentile(&l, 0.99).as_secs_f64() * 1e3
        );
    }
    g.finish();
}

const N: u64 = 10_000_000;

/// The in-memory tree of a 10-million-entry log, built on first use (so that filtered
/// runs of the other benchmarks do not pay for it).
fn tree() -> &'static MemoryTree {
    static TREE: OnceLock<MemoryTree> = OnceLock::new();
    TREE.get_or_init(|| {
        let t = Instant::now();
        let tree = MemoryTree::from_leaf_hashes((0..N).map(|i| leaf_hash(&i.to_le_bytes())));
        eprintln!(
            "log of {N} entries built in memory in {:.1} s",
            t.elapsed().as_secs_f64()
        );
        tree
    })
}

fn bench_proofs(c: &mut Criterion) {
    let mut g = c.benchmark_group("log_10m");
    g.bench_function("inclusion_proof", |b| {
        let tree = tree();
        let mut i = 0u64;
        b.iter(|| {
            i = (i + 7_919_993) % N;
            inclusion_proof(tree, i, N).unwrap()
        })
    });
    g.bench_function("consistency_proof", |b| {
        let tree = tree();
        let mut old = 1u64;
        b.iter(|| {
            old = (old + 3_333_331) % (N - 1) + 1;
            consistency_proof(tree, old, N).unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, bench_ingestion, bench_proofs);
criterion_main!(benches);
