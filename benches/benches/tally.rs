//! Tally benchmarks: aggregation, partial decryption, combination and discrete logarithm.
//!
//! `cargo bench -p zkvote-benches --bench tally`

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use curve25519_dalek::scalar::Scalar;
use rand::rngs::OsRng;
use rayon::prelude::*;
use std::time::{Duration, Instant};
use zkvote_core::elgamal::mul_base;
use zkvote_core::manifest::ManifestDocument;
use zkvote_core::sample::single_contest_manifest_toml;
use zkvote_core::*;
use zkvote_tally::*;

fn pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
}

/// A 1-contest, 5-option manifest with 3 trustees (threshold 2) whose keys we hold, and
/// the result of an honest ceremony.
fn election() -> (
    Manifest,
    CeremonyContext,
    Vec<TrusteeKeys>,
    Vec<TrusteeShare>,
) {
    let keys: Vec<TrusteeKeys> = (1..=3)
        .map(|i| TrusteeKeys::generate(i, &mut OsRng))
        .collect();
    let mut doc =
        ManifestDocument::from(Manifest::from_toml(&single_contest_manifest_toml(5)).unwrap());
    doc.trustees.threshold = 2;
    doc.trustees.members = keys
        .iter()
        .map(|k| k.document(format!("T{}", k.index())))
        .collect();
    let m = Manifest::try_from(doc).unwrap();
    let ctx = CeremonyContext::from_manifest(&m).unwrap();
    let trustees: Vec<_> = keys
        .iter()
        .map(|k| Trustee::new(k.clone(), ctx.clone()).unwrap())
        .collect();
    let (dealt, dealings): (Vec<_>, Vec<_>) =
        trustees.into_iter().map(|t| t.deal(&mut OsRng)).unzip();
    let checked: Vec<_> = dealt
        .into_iter()
        .map(|t| t.check(&dealings, &mut OsRng).0)
        .collect();
    let shares = checked
        .into_iter()
        .map(|t| t.finish(&dealings, &[], &mut OsRng).unwrap())
        .collect();
    (m, ctx, keys, shares)
}

fn bench(c: &mut Criterion) {
    let (m, ctx, keys, shares) = election();
    let outcome = shares[0].outcome().clone();
    let ectx = ElectionContext::new(m.clone(), outcome.election_key());
    let distinct: Vec<Ballot> = (0..1000u32)
        .into_par_iter()
        .map(|i| {
            let choices = Choices::from_indices(&m, &[vec![(i % 5) as usize]]).unwrap();
            let mut n = [0u8; 32];
            n[..4].copy_from_slice(&i.to_le_bytes());
            build_ballot(&ectx, &n, &choices, &mut OsRng).unwrap().0
        })
        .collect();
    // 100,000 ballots: the 1,000 distinct ones, each 100 times (aggregation does the same
    // work whatever the ciphertexts are).
    let ballots: Vec<&Ballot> = (0..100_000).map(|i| &distinct[i % 1000]).collect();

    let mut g = c.benchmark_group("aggregate_100k_x5");
    g.sample_size(10);
    g.throughput(Throughput::Elements(ballots.len() as u64));
    for threads in [1usize, 2] {
        let p = pool(threads);
        g.bench_with_input(BenchmarkId::from_parameter(threads), &threads, |b, _| {
            b.iter(|| p.install(|| aggregate(&m, &ballots)))
        });
    }
    g.finish();

    let agg = aggregate(&m, &ballots);
    let mut g = c.benchmark_group("decryption_5_aggregates");
    g.bench_function("partial_decrypt", |b| {
        b.iter(|| partial_decrypt(&ctx, &keys[0], &shares[0], &agg, &mut OsRng))
    });
    let partials: Vec<PartialDecryption> = shares
        .iter()
        .zip(&keys)
        .map(|(s, k)| partial_decrypt(&ctx, k, s, &agg, &mut OsRng))
        .collect();
    g.bench_function("verify_partial", |b| {
        b.iter(|| {
            verify_partial_decryption(&ctx, &outcome, &agg, &partials[0], &mut OsRng).unwrap()
        })
    });
    let small = DlogTable::new(agg.ballots);
    g.bench_function("combine_2_of_3_with_dlog", |b| {
        b.iter(|| combine(&ctx, &outcome, &agg, &partials[..2], &small, &mut OsRng).unwrap())
    });
    let r = combine(&ctx, &outcome, &agg, &partials[..2], &small, &mut OsRng).unwrap();
    assert_eq!(r.counts, vec![vec![20_000; 5]]);
    g.bench_function("verify_result", |b| {
        b.iter(|| {
            verify_result(&ctx, &outcome, &agg, &partials[..2], &r.counts, &mut OsRng).unwrap()
        })
    });
    g.finish();

    let t = Instant::now();
    let table = DlogTable::new(10_000_000);
    eprintln!(
        "dlog table for counts up to 10,000,000: {} baby steps, {} bytes, built in {:.2} s",
        table.baby_steps(),
        table.size_bytes(),
        t.elapsed().as_secs_f64()
    );
    let mut g = c.benchmark_group("dlog_max_10m");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(10));
    g.bench_function("build_table", |b| b.iter(|| DlogTable::new(10_000_000)));
    for m in [7u64, 1_234_567, 9_999_999] {
        let p = mul_base(&Scalar::from(m));
        g.bench_with_input(BenchmarkId::new("dlog", m), &p, |b, p| {
            b.iter(|| assert_eq!(table.vartime_dlog(p), Some(m)))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
