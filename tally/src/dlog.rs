//! Discrete logarithms of small counts: baby-step giant-step over `G`.
//!
//! The table holds `T` baby steps `j*G` (`j < T`), keyed by the first 8 bytes of the
//! encoding of `2*j*G` (computed for the whole table with one batched inversion), sorted
//! for binary search: 12 bytes of payload per entry. A count `m <= max` is found after at
//! most `max / T` giant steps of `-T*G`; every hit is confirmed by recomputing `m*G`, so a
//! truncated-key collision can never yield a wrong count.

use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::Identity;
use zkvote_core::elgamal::{mul_base, G};

/// Default number of baby steps: 2^20 (16 MiB of table), so a count up to 10 million
/// needs at most 10 giant steps.
pub const DEFAULT_BABY_STEPS: u64 = 1 << 20;

/// A baby-step table for counts up to `max`.
pub struct DlogTable {
    max: u64,
    step: u64,
    keys: Vec<(u64, u32)>,
    giant: RistrettoPoint,
}

impl std::fmt::Debug for DlogTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DlogTable(max {}, {} baby steps)", self.max, self.step)
    }
}

fn key(compressed: &[u8; 32]) -> u64 {
    u64::from_le_bytes(compressed[..8].try_into().expect("8 bytes"))
}

impl DlogTable {
    /// A table for counts `0..=max` with `min(max + 1, 2^20)` baby steps.
    pub fn new(max: u64) -> Self {
        Self::with_baby_steps(max, DEFAULT_BABY_STEPS)
    }

    /// A table for counts `0..=max` with at most `baby_steps` baby steps.
    pub fn with_baby_steps(max: u64, baby_steps: u64) -> Self {
        let step = (max + 1).min(baby_steps.max(1)).min(u32::MAX as u64);
        let mut points = Vec::with_capacity(step as usize);
        let mut p = RistrettoPoint::identity();
        for _ in 0..step {
            points.push(p);
            p += G;
        }
        let compressed = RistrettoPoint::double_and_compress_batch(&points);
        let mut keys: Vec<(u64, u32)> = compressed
            .iter()
            .enumerate()
            .map(|(j, c)| (key(c.as_bytes()), j as u32))
            .collect();
        keys.sort_unstable();
        DlogTable {
            max,
            step,
            keys,
            giant: -mul_base(&Scalar::from(step)),
        }
    }

    /// The largest count this table finds.
    pub fn max(&self) -> u64 {
        self.max
    }

    /// Number of baby steps.
    pub fn baby_steps(&self) -> u64 {
        self.step
    }

    /// Bytes of table payload.
    pub fn size_bytes(&self) -> usize {
        self.keys.len() * std::mem::size_of::<(u64, u32)>()
    }

    /// The `m` in `0..=max` with `m*G = p`, if any (variable time; `p` is public).
    pub fn vartime_dlog(&self, p: &RistrettoPoint) -> Option<u64> {
        let mut q = *p;
        let mut base = 0u64;
        while base <= self.max {
            let k = key(RistrettoPoint::double_and_compress_batch([&q])[0].as_bytes());
            let start = self.keys.partition_point(|e| e.0 < k);
            for &(kk, j) in &self.keys[start..] {
                if kk != k {
                    break;
                }
                let m = base + j as u64;
                if m <= self.max && mul_base(&Scalar::from(m)) == *p {
                    return Some(m);
                }
            }
            q += self.giant;
            base += self.step;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_every_count_and_nothing_beyond_max() {
        let t = DlogTable::with_baby_steps(1000, 37);
        for m in [0u64, 1, 2, 36, 37, 38, 500, 999, 1000] {
            assert_eq!(t.vartime_dlog(&mul_base(&Scalar::from(m))), Some(m), "{m}");
        }
        assert_eq!(t.vartime_dlog(&mul_base(&Scalar::from(1001u64))), None);
        assert_eq!(t.vartime_dlog(&mul_base(&Scalar::from(5000u64))), None);
        assert_eq!(t.vartime_dlog(&(-G)), None);
        let small = DlogTable::new(10);
        assert_eq!(small.baby_steps(), 11);
        assert_eq!(
            small.vartime_dlog(&mul_base(&Scalar::from(10u64))),
            Some(10)
        );
    }
}
