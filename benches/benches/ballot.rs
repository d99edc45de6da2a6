//! Ballot benchmarks: one contest with 5 options, choose 1 (5 bit proofs + 1 range proof).
//!
//! `cargo bench -p zkvote-benches --bench ballot`. Everything runs on one core.

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use curve25519_dalek::scalar::Scalar;
use rand::rngs::OsRng;
use rand::SeedableRng;
use std::time::Duration;
use zkvote_core::sample::single_contest_manifest_toml;
use zkvote_core::*;

fn setup() -> (ElectionContext, Vec<Vec<u8>>) {
    let manifest = Manifest::from_toml(&single_contest_manifest_toml(5)).unwrap();
    let sk = SecretKey::random(&mut OsRng);
    let ctx = ElectionContext::new(manifest, sk.public_key());
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let encoded = (0..1024u32)
        .map(|i| {
            let c = Choices::from_indices(ctx.manifest(), &[vec![(i % 5) as usize]]).unwrap();
            let mut n = [0u8; 32];
            n[..4].copy_from_slice(&i.to_le_bytes());
            build_ballot(&ctx, &n, &c, &mut rng).unwrap().0.encode()
        })
        .collect();
    (ctx, encoded)
}

fn bench(c: &mut Criterion) {
    let (ctx, encoded) = setup();
    let manifest = ctx.manifest().clone();
    eprintln!(
        "ballot size (1 contest, 5 options, choose 1): {} bytes binary, {} bytes JSON",
        encoded[0].len(),
        serde_json::to_string(&Ballot::decode(&encoded[0], &manifest).unwrap())
            .unwrap()
            .len()
    );

    let mut g = c.benchmark_group("elgamal");
    let pk = ctx.public_key().clone();
    g.bench_function("encrypt", |b| {
        b.iter_batched(
            || Scalar::random(&mut OsRng),
            |r| pk.encrypt(&Scalar::ONE, &r),
            BatchSize::SmallInput,
        )
    });
    g.bench_function("public_key_table", |b| {
        b.iter(|| ElectionPublicKey::new(*pk.element()).unwrap())
    });
    g.finish();

    let mut g = c.benchmark_group("ballot_1x5");
    g.measurement_time(Duration::from_secs(5));
    let choices = Choices::from_indices(&manifest, &[vec![2]]).unwrap();
    g.bench_function("build", |b| {
        b.iter(|| build_ballot(&ctx, &[1; 32], &choices, &mut OsRng).unwrap())
    });
    g.bench_function("decode", |b| {
        b.iter(|| Ballot::decode(&encoded[0], &manifest).unwrap())
    });
    let one = Ballot::decode(&encoded[0], &manifest).unwrap();
    g.bench_function("verify_decoded", |b| {
        b.iter(|| vartime_verify_ballot(&ctx, &one, &mut OsRng).unwrap())
    });
    g.bench_function("decode_and_verify", |b| {
        b.iter(|| {
            let ballot = Ballot::decode(&encoded[0], &manifest).unwrap();
            vartime_verify_ballot(&ctx, &ballot, &mut OsRng).unwrap()
        })
    });
    g.bench_function("digest", |b| b.iter(|| one.digest(ctx.manifest_hash())));
    g.finish();

    let mut g = c.benchmark_group("ballot_1x5_batch");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(8));
    for n in [64usize, 1024] {
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(BenchmarkId::new("decode_and_verify", n), &n, |b, &n| {
            b.iter(|| {
                let ballots: Vec<Ballot> = encoded[..n]
                    .iter()
                    .map(|e| Ballot::decode(e, &manifest).unwrap())
                    .collect();
                vartime_verify_ballots(&ctx, &ballots, &mut OsRng).unwrap()
            })
        });
        let decoded: Vec<Ballot> = encoded[..n]
            .iter()
            .map(|e| Ballot::decode(e, &manifest).unwrap())
            .collect();
        g.bench_with_input(BenchmarkId::new("verify_decoded", n), &n, |b, _| {
            b.iter(|| vartime_verify_ballots(&ctx, &decoded, &mut OsRng).unwrap())
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
