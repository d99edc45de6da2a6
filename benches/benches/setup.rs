//! Setup-ceremony benchmarks at the production roll depth (20): one contribution to each
//! phase, the check of one (by the board or a verifier), the check of a proving key against
//! the transcript, and a whole 5 + 5 contributor transcript (timed once and printed, with
//! the sizes of what the record carries).
//!
//! `cargo bench -p zkvote-benches --bench setup`

use criterion::{criterion_group, criterion_main, Criterion};
use rand::rngs::OsRng;
use std::time::Instant;
use zkvote_circuits::groth16::{key_to_bytes, proving_key_from_bytes};
use zkvote_circuits::setup::{Ceremony, Contribution, SetupPhase};

const DEPTH: u8 = 20;
const CONTRIBUTORS: usize = 5;
const CONTEXT: [u8; 32] = [1; 32];

fn secs(t: Instant) -> f64 {
    t.elapsed().as_secs_f64()
}

/// Runs a 5 + 5 contributor ceremony, printing the time of each step.
fn transcript() -> (Vec<Contribution>, Vec<u8>) {
    let mut c = Ceremony::new(&CONTEXT, DEPTH);
    let shape = c.shape();
    eprintln!(
        "depth {DEPTH}: {} constraints, domain 2^{}, {} witness variables",
        shape.constraints(),
        shape.domain_size().trailing_zeros(),
        shape.witness_variables()
    );
    let mut all = Vec::new();
    for phase in 1..=2 {
        if phase == 2 {
            c.begin_phase2().unwrap();
            let t = Instant::now();
            c.phase2_params().unwrap();
            eprintln!("initial phase-2 parameters (the transition, computed once by the board or the first contributor): {:.1} s", secs(t));
        }
        for _ in 0..CONTRIBUTORS {
            let t = Instant::now();
            let next = c.contribute(c.phase(), &mut OsRng).unwrap();
            let made = secs(t);
            let t = Instant::now();
            c.vartime_apply(&next, &mut OsRng).unwrap();
            eprintln!(
                "phase {phase}: contribution {made:.2} s, check {:.2} s; {} bytes of parameters + {} of proof",
                secs(t),
                next.params.len(),
                next.proof.len()
            );
            all.push(next);
        }
    }
    let t = Instant::now();
    let pk = key_to_bytes(&c.proving_key().unwrap());
    eprintln!(
        "proving key from the transcript: {:.1} s, {} bytes",
        secs(t),
        pk.len()
    );
    let t = Instant::now();
    let mut check = Ceremony::new(&CONTEXT, DEPTH);
    for next in &all {
        check.vartime_apply(next, &mut OsRng).unwrap();
    }
    let key = proving_key_from_bytes(&pk).unwrap();
    check.vartime_check_key(&key, &mut OsRng).unwrap();
    let size: usize = all.iter().map(|c| c.params.len() + c.proof.len()).sum();
    eprintln!(
        "a verifier checks the whole transcript ({CONTRIBUTORS} + {CONTRIBUTORS}) and the proving key in {:.1} s; transcript {size} bytes",
        secs(t)
    );
    (all, pk)
}

fn bench(c: &mut Criterion) {
    let (all, pk) = transcript();
    let (one, two) = all.split_at(CONTRIBUTORS);
    let mut g = c.benchmark_group("setup-depth-20");
    g.sample_size(10);
    let mut at = Ceremony::new(&CONTEXT, DEPTH);
    g.bench_function("phase-1 contribution", |b| {
        b.iter(|| at.contribute(SetupPhase::One, &mut OsRng).unwrap())
    });
    at.vartime_apply(&one[0], &mut OsRng).unwrap();
    g.bench_function("phase-1 check", |b| {
        b.iter(|| at.vartime_check(&one[1], &mut OsRng).unwrap())
    });
    for next in &one[1..] {
        at.vartime_apply(next, &mut OsRng).unwrap();
    }
    g.bench_function("first phase-2 check (against phase 1)", |b| {
        b.iter(|| at.vartime_check(&two[0], &mut OsRng).unwrap())
    });
    at.vartime_apply(&two[0], &mut OsRng).unwrap();
    g.bench_function("phase-2 contribution", |b| {
        b.iter(|| at.contribute(SetupPhase::Two, &mut OsRng).unwrap())
    });
    g.bench_function("phase-2 check", |b| {
        b.iter(|| at.vartime_check(&two[1], &mut OsRng).unwrap())
    });
    for next in &two[1..] {
        at.vartime_apply(next, &mut OsRng).unwrap();
    }
    g.bench_function(
        "proving key: decode and check against the transcript",
        |b| {
            b.iter(|| {
                let key = proving_key_from_bytes(&pk).unwrap();
                at.vartime_check_key(&key, &mut OsRng).unwrap()
            })
        },
    );
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
