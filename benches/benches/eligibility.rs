//! Eligibility benchmarks: Poseidon, the voter roll, Groth16 setup/prove/verify/batch
//! verify, and complete-ballot verification.
//!
//! `cargo bench -p zkvote-benches --bench eligibility`

use ark_bls12_381::{Bls12_381, Fr};
use ark_groth16::Groth16;
use ark_relations::r1cs::{ConstraintSynthesizer, ConstraintSystem};
use ark_snark::SNARK;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use rand::rngs::OsRng;
use rayon::prelude::*;
use std::time::{Duration, Instant};
use zkvote_circuits::circuit::{EligibilityCircuit, PublicInputs};
use zkvote_circuits::complete::*;
use zkvote_circuits::credential::Credential;
use zkvote_circuits::field::election_scalar;
use zkvote_circuits::groth16::*;
use zkvote_circuits::merkle::VoterRoll;
use zkvote_circuits::poseidon;
use zkvote_core::sample::single_contest_manifest_toml;
use zkvote_core::*;

fn pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
}

fn constraints(depth: u8) -> usize {
    let cs = ConstraintSystem::<Fr>::new_ref();
    EligibilityCircuit::blank(depth)
        .generate_constraints(cs.clone())
        .unwrap();
    cs.num_constraints()
}

struct Setup {
    pk: ProvingKey,
    vk: VerifyingKey,
}

fn timed_setup(depth: u8) -> Setup {
    let t = Instant::now();
    let (pk, vk) = setup(depth, &mut OsRng);
    eprintln!(
        "depth {depth}: {} constraints; setup {:.2} s; proving key {} bytes compressed; verifying key {} bytes",
        constraints(depth),
        t.elapsed().as_secs_f64(),
        key_to_bytes(&pk).len(),
        key_to_bytes(&vk).len()
    );
    let t = Instant::now();
    let bytes = key_to_bytes(&pk);
    proving_key_from_bytes(&bytes).unwrap();
    eprintln!(
        "depth {depth}: proving key validated load {:.2} s",
        t.elapsed().as_secs_f64()
    );
    Setup { pk, vk }
}

fn circuit_for(depth: u8, roll: &VoterRoll, voters: &[Credential], i: usize) -> EligibilityCircuit {
    let e = election_scalar(&[7; 32]);
    EligibilityCircuit {
        public: PublicInputs {
            root: roll.root(),
            nullifier: poseidon::nullifier(voters[i].secret(), &e),
            election: e,
            ballot_digest: Fr::from(i as u64 + 1),
        },
        secret: *voters[i].secret(),
        path: {
            let p = roll.path(i).unwrap();
            assert_eq!(p.siblings.len(), depth as usize);
            p
        },
    }
}

fn bench_poseidon_and_roll(c: &mut Criterion) {
    let mut g = c.benchmark_group("poseidon");
    let (x, y) = (Fr::from(3u64), Fr::from(4u64));
    g.bench_function("hash", |b| b.iter(|| poseidon::node(&x, &y)));
    g.finish();

    let commitments: Vec<Fr> = (0..1u64 << 20)
        .into_par_iter()
        .map(|i| poseidon::commitment(&Fr::from(i)))
        .collect();
    let mut g = c.benchmark_group("roll");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(20));
    for threads in [1usize, 2] {
        g.bench_with_input(
            BenchmarkId::new("build_1m_depth20", threads),
            &threads,
            |b, &t| b.iter(|| pool(t).install(|| VoterRoll::new(20, commitments.clone()).unwrap())),
        );
    }
    let roll = VoterRoll::new(20, commitments.clone()).unwrap();
    g.bench_function("path_depth20", |b| b.iter(|| roll.path(777_777).unwrap()));
    let roll24 = VoterRoll::new(24, commitments).unwrap();
    g.bench_function("path_depth24", |b| b.iter(|| roll24.path(777_777).unwrap()));
    g.finish();
}

fn bench_groth16(c: &mut Criterion) {
    let voters: Vec<Credential> = (0..8).map(|_| Credential::generate(&mut OsRng)).collect();
    let commitments: Vec<Fr> = voters.iter().map(|v| v.commitment()).collect();
    let mut g = c.benchmark_group("groth16");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(10));
    let mut keys20 = None;
    for depth in [20u8, 24] {
        let s = timed_setup(depth);
        let roll = VoterRoll::new(depth, commitments.clone()).unwrap();
        let circuit = circuit_for(depth, &roll, &voters, 3);
        for threads in [1usize, 2] {
            g.bench_with_input(
                BenchmarkId::new(format!("prove_depth{depth}"), threads),
                &threads,
                |b, &t| {
                    b.iter(|| {
                        pool(t).install(|| prove(&s.pk, circuit.clone(), &mut OsRng).unwrap())
                    })
                },
            );
        }
        if depth == 20 {
            keys20 = Some((s, roll));
        }
    }
    g.finish();

    let (s, roll) = keys20.unwrap();
    let verifier = EligibilityVerifier::new(&s.vk).unwrap();
    let proofs: Vec<(PublicInputs, EligibilityProof)> = (0..256)
        .into_par_iter()
        .map(|i| {
            let c = circuit_for(20, &roll, &voters, i % voters.len());
            let mut c = c;
            c.public.ballot_digest = Fr::from(i as u64 + 1000);
            let inputs = c.public;
            (inputs, prove(&s.pk, c, &mut OsRng).unwrap())
        })
        .collect();
    eprintln!(
        "proof size: {} bytes compressed",
        proofs[0].1.to_bytes().len()
    );
    let one = pool(1);
    let mut g = c.benchmark_group("groth16_verify");
    g.measurement_time(Duration::from_secs(5));
    let (inputs, proof) = &proofs[0];
    let pvk = verifier.prepared().clone();
    g.bench_function("ark_verify_with_processed_vk", |b| {
        b.iter(|| {
            one.install(|| {
                Groth16::<Bls12_381>::verify_with_processed_vk(&pvk, &inputs.to_vec(), &proof.0)
                    .unwrap()
            })
        })
    });
    let bytes = proof.to_bytes();
    for backend in [Backend::Arkworks, Backend::Blst] {
        let name = format!("{backend:?}").to_lowercase();
        g.bench_function(format!("zkvote_verify_{name}"), |b| {
            b.iter(|| {
                one.install(|| {
                    verifier
                        .vartime_verify_with(inputs, proof, backend)
                        .unwrap()
                })
            })
        });
        g.bench_function(format!("proof_decode_validated_{name}"), |b| {
            b.iter(|| EligibilityProof::from_bytes_with(&bytes, backend).unwrap())
        });
    }
    g.finish();

    let mut g = c.benchmark_group("groth16_batch");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(8));
    for backend in [Backend::Arkworks, Backend::Blst] {
        let name = format!("{backend:?}").to_lowercase();
        for threads in [1usize, 2] {
            let p = pool(threads);
            for n in [16usize, 64, 256] {
                let items: Vec<(PublicInputs, &EligibilityProof)> =
                    proofs[..n].iter().map(|(i, p)| (*i, p)).collect();
                g.throughput(Throughput::Elements(n as u64));
                g.bench_with_input(
                    BenchmarkId::new(format!("{name}_threads{threads}"), n),
                    &n,
                    |b, _| {
                        b.iter(|| {
                            p.install(|| {
                                verifier
                                    .vartime_verify_batch_with(&items, &mut OsRng, backend)
                                    .unwrap()
                            })
                        })
                    },
                );
            }
        }
    }
    g.finish();
}

fn bench_complete(c: &mut Criterion) {
    const N: usize = 256;
    let (pk, vk) = setup(20, &mut OsRng);
    let voters: Vec<Credential> = (0..N).map(|_| Credential::generate(&mut OsRng)).collect();
    let roll = VoterRoll::new(20, voters.iter().map(|v| v.commitment()).collect()).unwrap();
    let text =
        single_contest_manifest_toml(5).replace(&"11".repeat(32), &hex::encode(vk_hash(&vk)));
    let manifest = Manifest::from_toml(&text).unwrap();
    let sk = SecretKey::random(&mut OsRng);
    let ctx = ElectionContext::new(manifest.clone(), sk.public_key());
    let t = Instant::now();
    let encoded: Vec<Vec<u8>> = (0..N)
        .into_par_iter()
        .map(|i| {
            let choices = Choices::from_indices(&manifest, &[vec![i % 5]]).unwrap();
            let path = roll.path(i).unwrap();
            build_complete_ballot(
                &ctx,
                &pk,
                &voters[i],
                &path,
                &roll.root(),
                &choices,
                &mut OsRng,
            )
            .unwrap()
            .0
            .encode()
        })
        .collect();
    eprintln!(
        "complete ballot (1 contest x 5, depth 20): {} bytes; built {N} in {:.1} s on 2 threads",
        encoded[0].len(),
        t.elapsed().as_secs_f64()
    );
    let mut g = c.benchmark_group("complete_ballot_1x5");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(10));
    g.throughput(Throughput::Elements(N as u64));
    let root = roll.root();
    for (backend, threads) in [
        (Backend::Arkworks, 1usize),
        (Backend::Arkworks, 2),
        (Backend::Blst, 1),
        (Backend::Blst, 2),
    ] {
        let p = pool(threads);
        let verifier = EligibilityVerifier::with_backend(&vk, backend).unwrap();
        let name = format!("decode_and_verify_batched_{backend:?}").to_lowercase();
        g.bench_with_input(BenchmarkId::new(name, threads), &threads, |b, &t| {
            b.iter(|| {
                p.install(|| {
                    let ballots: Vec<CompleteBallot> = encoded
                        .par_iter()
                        .map(|e| CompleteBallot::decode_with(e, &manifest, backend).unwrap())
                        .collect();
                    vartime_verify_complete_ballots_parallel(
                        &ctx,
                        &verifier,
                        &root,
                        &ballots,
                        N / t,
                        &mut OsRng,
                    )
                    .unwrap()
                })
            })
        });
    }
    g.finish();
}

criterion_group!(
    benches,
    bench_poseidon_and_roll,
    bench_groth16,
    bench_complete
);
criterion_main!(benches);
