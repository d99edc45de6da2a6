//! Peak memory of what the verifier's ballot rules remember (check 5: the replay rule's
//! cast ciphertexts, the nullifier rule's counted voters and, under `last-ballot-counts`,
//! their kept ciphertexts), for synthetic ballots of one voter each: `BallotMemory` (keyed
//! fingerprints in memory, keys and ciphertexts spilled to unlinked temporary files) beside
//! the previous way (hash maps of whole keys, kept ciphertexts in memory). Each variant runs
//! in a process of its own and reports its peak resident set (`VmHWM`) above its start.
//!
//! `cargo bench -p zkvote-benches --bench verifier_memory`
//! (`ZKVOTE_BENCH_BALLOTS`, default 10,000,000; `ZKVOTE_BENCH_SELECTIONS`, default 9: the
//! demo's ballot shape).

use std::collections::HashMap;
use std::process::Command;
use std::time::Instant;
use zkvote_verifier::memory::BallotMemory;

#[path = "common/process.rs"]
mod process;
use process::{env, status_kib};

/// Deterministic distinct 32-byte values (splitmix64 words).
struct Keys(u64);

impl Keys {
    fn next(&mut self) -> [u8; 32] {
        let mut out = [0u8; 32];
        for chunk in out.chunks_mut(8) {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            chunk.copy_from_slice(&(z ^ (z >> 31)).to_le_bytes());
        }
        out
    }
}

/// The previous way: whole keys in hash maps, kept ciphertexts in vectors.
type Previous = (
    HashMap<[u8; 32], u64>,
    HashMap<[u8; 32], (u64, Vec<[u8; 64]>)>,
);

fn child(variant: &str, keep: bool, ballots: u64, selections: usize) {
    let start = status_kib("VmRSS:");
    let t = Instant::now();
    let mut keys = Keys(7);
    let ciphertexts = vec![0x5au8; 64 * selections];
    let mut previous: Previous = Default::default();
    let mut memory = BallotMemory::default();
    for entry in 0..ballots {
        let cast: Vec<[u8; 32]> = (0..selections).map(|_| keys.next()).collect();
        let nullifier = keys.next();
        if variant == "previous" {
            assert!(cast.iter().all(|k| !previous.0.contains_key(k)));
            previous.0.extend(cast.iter().map(|k| (*k, entry)));
            let kept = if keep {
                ciphertexts
                    .chunks_exact(64)
                    .map(|c| c.try_into().unwrap())
                    .collect()
            } else {
                Vec::new()
            };
            previous.1.insert(nullifier, (entry, kept));
        } else {
            assert_eq!(memory.cast_before(&cast), None);
            memory.remember_cast(&cast, entry);
            memory.count(nullifier, entry, keep.then_some(&ciphertexts[..]));
        }
    }
    let peak = status_kib("VmHWM:");
    println!(
        "{} {:.1}",
        peak.saturating_sub(start) * 1024,
        t.elapsed().as_secs_f64()
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let ballots = env("ZKVOTE_BENCH_BALLOTS", 10_000_000);
    let selections = env("ZKVOTE_BENCH_SELECTIONS", 9) as usize;
    if let Some(at) = args.iter().position(|a| a == "--child") {
        child(&args[at + 1], args[at + 2] == "keep", ballots, selections);
        return;
    }
    println!("verifier rule memory, {ballots} ballots of {selections} selections, one voter each:");
    println!("| variant | policy | peak above start | per ballot | per million ballots | time |");
    println!("| --- | --- | --- | --- | --- | --- |");
    for (policy, keep) in [("reject", "none"), ("last-ballot-counts", "keep")] {
        for variant in ["previous", "BallotMemory"] {
            let out = Command::new(std::env::current_exe().unwrap())
                .args(["--child", variant, keep])
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&out.stdout);
            let mut it = text.split_whitespace();
            let bytes: f64 = it.next().and_then(|v| v.parse().ok()).unwrap_or(f64::NAN);
            let secs = it.next().unwrap_or("?");
            println!(
                "| {variant} | {policy} | {:.0} MB | {:.0} B | {:.0} MB | {secs} s |",
                bytes / 1e6,
                bytes / ballots as f64,
                bytes / ballots as f64
            );
        }
    }
}
