//! Verification of a whole tallied election record (`zkvote_verifier::verify`): 1,200
//! ballots of a 1-contest x 5-option election, every check, both cores.
//!
//! `cargo bench -p zkvote-benches --bench verifier` (with `ZKVOTE_BENCH_RECORD_OUT=FILE`,
//! the record is also written to FILE).

#[path = "common/board_fixture.rs"]
mod fixture;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use fixture::{ingest, post, prepare, signed, Host, SEED};
use rand::rngs::OsRng;
use serde_json::json;
use std::sync::{Arc, Mutex};
use zkvote_verifier::{verify, verify_record, Record};

const RECORD_BALLOTS: usize = 1200;

/// Builds a whole tallied election record with `RECORD_BALLOTS` ballots (1 contest x 5
/// options, last ballot counts among 16 voters) on a SQLite board, then measures its
/// verification by `zkvote_verifier::verify` (every check, both cores).
fn bench_verify_record(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = std::env::temp_dir().join(format!("zkvote-bench-{}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = format!("sqlite://{}", dir.join("record.db").display());
    let record_text = rt.block_on(async {
        let p = prepare(&db, &Host::InProcess, SEED).await;
        let latencies = Arc::new(Mutex::new(Vec::new()));
        let ballots = p.fixture[..RECORD_BALLOTS].to_vec();
        ingest(&p.url, ballots, 64, &latencies).await;
        let http = reqwest::Client::new();
        signed(
            &http,
            &p.base,
            &p.commission,
            &format!("{}/close", p.path),
            json!({}),
        )
        .await;
        let record = Record::parse(
            &http
                .get(format!("{}{}/record", p.base, p.path))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap(),
        )
        .unwrap();
        let (_, inputs) = verify_record(&record);
        let t = inputs.expect("the record verifies");
        let partial = zkvote_tally::partial_decrypt(
            &t.ceremony,
            &p.trustee,
            &p.share,
            &t.aggregate,
            &mut OsRng,
        );
        post(
            &http,
            &p.base,
            &format!("{}/partial-decryptions", p.path),
            &partial,
        )
        .await;
        let table = zkvote_tally::DlogTable::new(t.aggregate.ballots);
        let result = zkvote_tally::combine(
            &t.ceremony,
            &t.outcome,
            &t.aggregate,
            &[partial],
            &table,
            &mut OsRng,
        )
        .unwrap();
        signed(
            &http,
            &p.base,
            &p.commission,
            &format!("{}/result", p.path),
            json!({ "counts": result.counts }),
        )
        .await;
        http.get(format!("{}{}/record", p.base, p.path))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    });
    // The web booth's benchmark verifies the same record in the browser.
    if let Some(path) = std::env::var_os("ZKVOTE_BENCH_RECORD_OUT") {
        std::fs::write(path, &record_text).unwrap();
    }
    let record = Record::parse(&record_text).unwrap();
    let report = verify(&record);
    assert!(report.ok(), "{report}");
    eprintln!("{report}");
    let mut g = c.benchmark_group("verify_record_1x5");
    g.sample_size(10);
    g.throughput(Throughput::Elements(RECORD_BALLOTS as u64));
    g.bench_function(BenchmarkId::from_parameter(RECORD_BALLOTS), |b| {
        b.iter(|| verify(&record))
    });
    g.bench_function("parse", |b| b.iter(|| Record::parse(&record_text).unwrap()));
    g.finish();
}

criterion_group!(benches, bench_verify_record);
criterion_main!(benches);
