//! Point vectors of the ceremony: the uncompressed encoding (section 9.8.2 of
//! `docs/protocol.md`; uncompressed because decompression's square roots would add about a
//! third to the check of a contribution), decoded in parallel with every point validated,
//! and scaled by secret scalars.

use super::secret_mul::SecretMul;
use super::SetupError;
use ark_bls12_381::Fr;
use ark_ec::short_weierstrass::{Affine, Projective, SWCurveConfig};
use ark_ec::CurveGroup;
use ark_ff::Field;
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize, Compress, Validate};
use ark_std::{cfg_chunks, cfg_into_iter};
#[cfg(feature = "parallel")]
use rayon::prelude::*;
use zeroize::Zeroizing;

/// Points per parallel task.
const CHUNK: usize = 256;

/// Size of one encoded (uncompressed) point of the curve `P`.
pub(crate) fn point_size<P: SWCurveConfig>() -> usize {
    Affine::<P>::default().uncompressed_size()
}

/// Appends the encodings of `points`.
pub(crate) fn encode<P: SWCurveConfig>(points: &[Affine<P>], out: &mut Vec<u8>) {
    out.reserve(points.len() * point_size::<P>());
    for p in points {
        p.serialize_uncompressed(&mut *out)
            .expect("in-memory write");
    }
}

/// Decodes `n` points from the front of `bytes` and advances it. Each point is
/// on the curve, in the prime-order subgroup, and exactly the re-encoding of itself (one
/// accepted form, the point at infinity included).
pub(crate) fn decode<P: SWCurveConfig>(
    bytes: &mut &[u8],
    n: usize,
    what: &'static str,
) -> Result<Vec<Affine<P>>, SetupError> {
    let size = point_size::<P>();
    let len = n
        .checked_mul(size)
        .filter(|len| *len <= bytes.len())
        .ok_or_else(|| SetupError::encoding(what, "truncated"))?;
    let (mine, rest) = bytes.split_at(len);
    *bytes = rest;
    let decoded: Result<Vec<Vec<Affine<P>>>, SetupError> = cfg_chunks!(mine, CHUNK * size)
        .map(|chunk| {
            chunk
                .chunks(size)
                .map(|one| decode_one::<P>(one, what))
                .collect()
        })
        .collect();
    Ok(decoded?.into_iter().flatten().collect())
}

fn decode_one<P: SWCurveConfig>(bytes: &[u8], what: &'static str) -> Result<Affine<P>, SetupError> {
    let point = Affine::<P>::deserialize_with_mode(bytes, Compress::No, Validate::Yes)
        .map_err(|e| SetupError::encoding(what, e.to_string()))?;
    let mut again = Vec::with_capacity(bytes.len());
    point
        .serialize_uncompressed(&mut again)
        .expect("in-memory write");
    if again != bytes {
        return Err(SetupError::encoding(
            what,
            "not the canonical encoding of its point",
        ));
    }
    Ok(point)
}

/// Decodes exactly one point from the front of `bytes`.
pub(crate) fn decode_single<P: SWCurveConfig>(
    bytes: &mut &[u8],
    what: &'static str,
) -> Result<Affine<P>, SetupError> {
    Ok(decode::<P>(bytes, 1, what)?[0])
}

/// `factor * base^i * points[i]` for every `i`, with the secret `base` and `factor`.
pub(crate) fn scale_by_powers<P>(points: &[Affine<P>], base: &Fr, factor: &Fr) -> Vec<Affine<P>>
where
    P: SecretMul,
{
    let scaled: Vec<Projective<P>> = cfg_chunks!(points, CHUNK)
        .enumerate()
        .flat_map_iter(|(c, chunk)| {
            let mut k = Zeroizing::new(*factor * base.pow([(c * CHUNK) as u64]));
            chunk
                .iter()
                .map(|p| {
                    let out = P::secret_mul(p, &k);
                    *k *= base;
                    out
                })
                .collect::<Vec<_>>()
        })
        .collect();
    Projective::<P>::normalize_batch(&scaled)
}

/// `k * points[i]` for every `i`, with the secret `k`.
pub(crate) fn scale_all<P>(points: &[Affine<P>], k: &Fr) -> Vec<Affine<P>>
where
    P: SecretMul,
{
    let scaled: Vec<Projective<P>> = cfg_into_iter!(points)
        .map(|p| P::secret_mul(p, k))
        .collect();
    Projective::<P>::normalize_batch(&scaled)
}

#[cfg(not(feature = "parallel"))]
trait FlatMapIter: Iterator + Sized {
    fn flat_map_iter<U: IntoIterator, F: FnMut(Self::Item) -> U>(
        self,
        f: F,
    ) -> std::iter::FlatMap<Self, U, F> {
        self.flat_map(f)
    }
}

#[cfg(not(feature = "parallel"))]
impl<I: Iterator> FlatMapIter for I {}
