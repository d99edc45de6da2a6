//! Verifiable decryption of the aggregate: each trustee publishes `D = x_j*A` for every
//! aggregate ciphertext `(A, B)` with a Chaum-Pedersen proof against its verification key;
//! any `t` valid partial decryptions combine by Lagrange interpolation at 0 into
//! `M = B - sum_j lambda_j*D_j = m*G`, and `m` is found by baby-step giant-step. Anyone can
//! check a published result from the public data alone.

use crate::aggregate::Aggregate;
use crate::ceremony::{
    serde_sig, verify_signature, CeremonyContext, CeremonyOutcome, TrusteeKeys, TrusteeShare,
};
use crate::dlog::DlogTable;
use crate::labels;
use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::IsIdentity;
use merlin::Transcript;
use rand_core::CryptoRngCore;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use zkvote_core::elgamal::{mul_base, G};
use zkvote_core::sigma::{DleqProof, DleqStatement, MsmAccumulator};
use zkvote_core::Element;

/// Why a partial decryption or a result was refused. Trustees are named by index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "error", rename_all = "kebab-case")]
pub enum DecryptError {
    /// The partial decryption names a trustee that is not in the manifest.
    #[error("trustee {trustee} is not in the manifest")]
    UnknownTrustee {
        /// The index given.
        trustee: u32,
    },
    /// The signature does not verify under the trustee's key.
    #[error("trustee {trustee}: bad signature on the partial decryption")]
    BadSignature {
        /// The trustee.
        trustee: u32,
    },
    /// The partial decryption does not have one share per aggregate ciphertext.
    #[error("trustee {trustee}: partial decryption has the wrong shape")]
    Shape {
        /// The trustee.
        trustee: u32,
    },
    /// A share's proof fails: the trustee decrypted wrongly.
    #[error("trustee {trustee}: wrong decryption share for contest {contest}, option {selection}")]
    InvalidShare {
        /// The trustee.
        trustee: u32,
        /// Contest index.
        contest: u32,
        /// Option index.
        selection: u32,
    },
    /// The same trustee appears twice.
    #[error("trustee {trustee} sent more than one partial decryption")]
    Duplicate {
        /// The trustee.
        trustee: u32,
    },
    /// Fewer than `t` valid partial decryptions: nothing can be decrypted.
    #[error("{valid} valid partial decryptions, the threshold is {threshold}")]
    BelowThreshold {
        /// Valid partial decryptions.
        valid: usize,
        /// The threshold.
        threshold: u32,
    },
    /// A total is above the number of ballots (or is not a small multiple of `G`).
    #[error("contest {contest}, option {selection}: no count up to {max} decrypts this total")]
    NoCount {
        /// Contest index.
        contest: u32,
        /// Option index.
        selection: u32,
        /// Largest possible count.
        max: u64,
    },
    /// A published count differs from the decryption.
    #[error("contest {contest}, option {selection}: published count {claimed} is not the decrypted total")]
    WrongCount {
        /// Contest index.
        contest: u32,
        /// Option index.
        selection: u32,
        /// The published count.
        claimed: u64,
    },
    /// The published counts have the wrong shape.
    #[error("the published result does not match the manifest's contests")]
    ResultShape,
}

/// One decryption share with its proof.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecryptionShare {
    /// `D = x_j * A`.
    pub share: Element,
    /// Chaum-Pedersen proof for `(G, VK_j, A, D)`.
    pub proof: DleqProof,
}

/// A trustee's partial decryption of the whole aggregate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartialDecryption {
    /// Trustee index.
    pub trustee: u32,
    /// Per contest and option. `None` exactly where the aggregate's `A` is the identity
    /// (no ballots): there is nothing to decrypt.
    pub shares: Vec<Vec<Option<DecryptionShare>>>,
    /// ed25519 signature of the trustee.
    #[serde(with = "serde_sig")]
    pub signature: [u8; 64],
}

impl PartialDecryption {
    /// The signed body: `LE32(trustee)`, then for each contest and option `0x00` (no share)
    /// or `0x01 || D || proof (96 bytes)`.
    pub fn body(&self) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&self.trustee.to_le_bytes());
        for contest in &self.shares {
            for s in contest {
                match s {
                    None => b.push(0),
                    Some(s) => {
                        b.push(1);
                        b.extend_from_slice(s.share.as_bytes());
                        s.proof.encode(&mut b);
                    }
                }
            }
        }
        b
    }
}

/// The decrypted tally.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TallyResult {
    /// `counts[i][j]`: votes for option `j` of contest `i`.
    pub counts: Vec<Vec<u64>>,
    /// The trustees whose shares were combined.
    pub trustees_used: Vec<u32>,
    /// Partial decryptions that were refused, with the reason.
    pub rejected: Vec<DecryptError>,
}

fn share_transcript(
    manifest_hash: &[u8; 32],
    trustee: u32,
    contest: usize,
    selection: usize,
) -> Transcript {
    let mut t = Transcript::new(labels::DECRYPTION);
    t.append_message(labels::MANIFEST_HASH, manifest_hash);
    t.append_u64(labels::TRUSTEE, trustee as u64);
    t.append_u64(labels::CONTEST_INDEX, contest as u64);
    t.append_u64(labels::SELECTION_INDEX, selection as u64);
    t
}

/// Trustee `share.index()` decrypts its part of every aggregate ciphertext, with proofs,
/// and signs the result.
pub fn partial_decrypt(
    ctx: &CeremonyContext,
    keys: &TrusteeKeys,
    share: &TrusteeShare,
    aggregate: &Aggregate,
    rng: &mut impl CryptoRngCore,
) -> PartialDecryption {
    let j = share.index();
    let g = Element::from_point(G);
    let vk = *share.outcome().verification_key(j);
    let shares = aggregate
        .contests
        .iter()
        .enumerate()
        .map(|(i, contest)| {
            contest
                .iter()
                .enumerate()
                .map(|(k, ct)| {
                    let a = Element::from_point(ct.a);
                    if a.is_identity() {
                        return None;
                    }
                    let d = Element::from_point(ct.a * share.secret());
                    let stmt = DleqStatement {
                        g: &g,
                        x: &vk,
                        h: &a,
                        y: &d,
                    };
                    let proof = DleqProof::prove(
                        &mut share_transcript(&ctx.manifest_hash, j, i, k),
                        &stmt,
                        share.secret(),
                        rng,
                    );
                    Some(DecryptionShare { share: d, proof })
                })
                .collect()
        })
        .collect();
    let mut pd = PartialDecryption {
        trustee: j,
        shares,
        signature: [0; 64],
    };
    pd.signature = keys.sign(labels::SIG_DECRYPTION, &ctx.manifest_hash, &pd.body());
    pd
}

/// Verifies one partial decryption: known trustee, signature, shape, and every share's
/// proof (all in one multiscalar multiplication; on failure each is checked alone to
/// name the share).
pub fn verify_partial_decryption(
    ctx: &CeremonyContext,
    outcome: &CeremonyOutcome,
    aggregate: &Aggregate,
    pd: &PartialDecryption,
    rng: &mut impl CryptoRngCore,
) -> Result<(), DecryptError> {
    let trustee = pd.trustee;
    let listed = ctx
        .trustee(trustee)
        .ok_or(DecryptError::UnknownTrustee { trustee })?;
    if verify_signature(
        &listed.signing_key,
        labels::SIG_DECRYPTION,
        &ctx.manifest_hash,
        &pd.body(),
        &pd.signature,
    )
    .is_err()
    {
        return Err(DecryptError::BadSignature { trustee });
    }
    let shape_ok = pd.shares.len() == aggregate.contests.len()
        && pd.shares.iter().zip(&aggregate.contests).all(|(s, c)| {
            s.len() == c.len()
                && s.iter()
                    .zip(c)
                    .all(|(s, ct)| s.is_some() != ct.a.is_identity())
        });
    if !shape_ok {
        return Err(DecryptError::Shape { trustee });
    }
    let g = Element::from_point(G);
    let vk = *outcome.verification_key(trustee);
    let mut checks = Vec::new();
    for (i, (contest, cts)) in pd.shares.iter().zip(&aggregate.contests).enumerate() {
        for (k, (s, ct)) in contest.iter().zip(cts).enumerate() {
            if let Some(s) = s {
                checks.push((i, k, Element::from_point(ct.a), s));
            }
        }
    }
    let mut acc = MsmAccumulator::new(G);
    for (i, k, a, s) in &checks {
        let stmt = DleqStatement {
            g: &g,
            x: &vk,
            h: a,
            y: &s.share,
        };
        s.proof.vartime_accumulate(
            &mut share_transcript(&ctx.manifest_hash, trustee, *i, *k),
            &stmt,
            &mut acc,
            rng,
        );
    }
    if acc.vartime_is_zero() {
        return Ok(());
    }
    for (i, k, a, s) in &checks {
        let stmt = DleqStatement {
            g: &g,
            x: &vk,
            h: a,
            y: &s.share,
        };
        if s.proof
            .vartime_verify(
                &mut share_transcript(&ctx.manifest_hash, trustee, *i, *k),
                &stmt,
                rng,
            )
            .is_err()
        {
            return Err(DecryptError::InvalidShare {
                trustee,
                contest: *i as u32,
                selection: *k as u32,
            });
        }
    }
    Err(DecryptError::InvalidShare {
        trustee,
        contest: 0,
        selection: 0,
    })
}

/// Lagrange coefficients at 0 for the trustee indices `set`.
pub fn lagrange_at_zero(set: &[u32]) -> Vec<Scalar> {
    set.iter()
        .map(|&j| {
            let xj = Scalar::from(j as u64);
            let (num, den) =
                set.iter()
                    .filter(|&&m| m != j)
                    .fold((Scalar::ONE, Scalar::ONE), |(n, d), &m| {
                        let xm = Scalar::from(m as u64);
                        (n * xm, d * (xm - xj))
                    });
            num * den.invert()
        })
        .collect()
}

/// Checks every partial decryption and keeps the valid ones (first per trustee), in
/// trustee order; the refused ones are returned with their reasons.
fn valid_partials<'a>(
    ctx: &CeremonyContext,
    outcome: &CeremonyOutcome,
    aggregate: &Aggregate,
    partials: &'a [PartialDecryption],
    rng: &mut impl CryptoRngCore,
) -> Result<(Vec<&'a PartialDecryption>, Vec<DecryptError>), DecryptError> {
    let mut seen = BTreeSet::new();
    let mut ok = Vec::new();
    let mut rejected = Vec::new();
    for pd in partials {
        if !seen.insert(pd.trustee) {
            rejected.push(DecryptError::Duplicate {
                trustee: pd.trustee,
            });
            continue;
        }
        match verify_partial_decryption(ctx, outcome, aggregate, pd, rng) {
            Ok(()) => ok.push(pd),
            Err(e) => rejected.push(e),
        }
    }
    if ok.len() < ctx.threshold as usize {
        return Err(DecryptError::BelowThreshold {
            valid: ok.len(),
            threshold: ctx.threshold,
        });
    }
    ok.sort_by_key(|pd| pd.trustee);
    ok.truncate(ctx.threshold as usize);
    Ok((ok, rejected))
}

/// `M = B - sum_j lambda_j*D_j` for every aggregate ciphertext.
fn combined_points(aggregate: &Aggregate, used: &[&PartialDecryption]) -> Vec<Vec<RistrettoPoint>> {
    let set: Vec<u32> = used.iter().map(|pd| pd.trustee).collect();
    let lambdas = lagrange_at_zero(&set);
    aggregate
        .contests
        .iter()
        .enumerate()
        .map(|(i, contest)| {
            contest
                .iter()
                .enumerate()
                .map(|(k, ct)| {
                    let mut m = ct.b;
                    for (pd, l) in used.iter().zip(&lambdas) {
                        if let Some(s) = &pd.shares[i][k] {
                            m -= s.share.point() * l;
                        }
                    }
                    m
                })
                .collect()
        })
        .collect()
}

/// Combines `t` valid partial decryptions (misbehaving trustees are named in
/// `rejected`) and recovers every count with `table`, which must cover
/// `aggregate.ballots`.
pub fn combine(
    ctx: &CeremonyContext,
    outcome: &CeremonyOutcome,
    aggregate: &Aggregate,
    partials: &[PartialDecryption],
    table: &DlogTable,
    rng: &mut impl CryptoRngCore,
) -> Result<TallyResult, DecryptError> {
    let (used, rejected) = valid_partials(ctx, outcome, aggregate, partials, rng)?;
    let points = combined_points(aggregate, &used);
    let max = aggregate.ballots.min(table.max());
    let mut counts = Vec::with_capacity(points.len());
    for (i, contest) in points.iter().enumerate() {
        let mut row = Vec::with_capacity(contest.len());
        for (k, m) in contest.iter().enumerate() {
            let c = table
                .vartime_dlog(m)
                .filter(|&c| c <= max)
                .ok_or(DecryptError::NoCount {
                    contest: i as u32,
                    selection: k as u32,
                    max,
                })?;
            row.push(c);
        }
        counts.push(row);
    }
    Ok(TallyResult {
        counts,
        trustees_used: used.iter().map(|pd| pd.trustee).collect(),
        rejected,
    })
}

/// Checks a published result from public data alone: the partial decryptions' proofs, at
/// least `t` of them, and `count*G = B - sum_j lambda_j*D_j` for every published count (no
/// discrete logarithm needed).
pub fn verify_result(
    ctx: &CeremonyContext,
    outcome: &CeremonyOutcome,
    aggregate: &Aggregate,
    partials: &[PartialDecryption],
    counts: &[Vec<u64>],
    rng: &mut impl CryptoRngCore,
) -> Result<(), DecryptError> {
    if counts.len() != aggregate.contests.len()
        || counts
            .iter()
            .zip(&aggregate.contests)
            .any(|(c, a)| c.len() != a.len())
    {
        return Err(DecryptError::ResultShape);
    }
    let (used, _) = valid_partials(ctx, outcome, aggregate, partials, rng)?;
    let points = combined_points(aggregate, &used);
    for (i, (row, pts)) in counts.iter().zip(&points).enumerate() {
        for (k, (&c, m)) in row.iter().zip(pts).enumerate() {
            if c > aggregate.ballots || mul_base(&Scalar::from(c)) != *m {
                return Err(DecryptError::WrongCount {
                    contest: i as u32,
                    selection: k as u32,
                    claimed: c,
                });
            }
        }
    }
    Ok(())
}
