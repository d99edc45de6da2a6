//! Bulletin-board benchmarks: ballot ingestion over loopback HTTP with full verification
//! (SQLite, and PostgreSQL when `ZKVOTE_BENCH_POSTGRES_URL` is set), and inclusion and
//! consistency proof generation in a log of 10 million entries.
//!
//! `./scripts/with-postgres.sh cargo bench -p zkvote-benches --bench board`
//!
//! Each backend needs a fresh database (`scripts/with-postgres.sh` makes one).

#[path = "common/board_fixture.rs"]
mod fixture;

use criterion::{
    criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode, Throughput,
};
use fixture::{ingest, percentile, prepare, Prepared, PER_ITERATION};
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
    let mut g = c.benchmark_group("ingest_http_1x5");
    g.sample_size(10);
    g.sampling_mode(SamplingMode::Flat);
    g.warm_up_time(Duration::from_millis(1));
    g.measurement_time(Duration::from_millis(1));
    g.throughput(Throughput::Elements(PER_ITERATION as u64));
    for (name, db) in backends {
        let Prepared { url, fixture, .. } = rt.block_on(prepare(&db));
        let fixture = Arc::new(Mutex::new(fixture));
        let latencies = Arc::new(Mutex::new(Vec::new()));
        g.bench_function(BenchmarkId::from_parameter(name), |b| {
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
