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
pub(crate) fn decode<P: SubgroupCheck>(
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

fn decode_one<P: SubgroupCheck>(bytes: &[u8], what: &'static str) -> Result<Affine<P>, SetupError> {
    let point = Affine::<P>::deserialize_with_mode(bytes, Compress::No, Validate::No)
        .map_err(|e| SetupError::encoding(what, e.to_string()))?;
    if !point.is_on_curve() {
        return Err(SetupError::encoding(what, "a point not on the curve"));
    }
    if !P::vartime_in_subgroup(&point) {
        return Err(SetupError::encoding(
            what,
            "a point outside the prime-order subgroup",
        ));
    }
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
pub(crate) fn decode_single<P: SubgroupCheck>(
    bytes: &mut &[u8],
    what: &'static str,
) -> Result<Affine<P>, SetupError> {
    Ok(decode::<P>(bytes, 1, what)?[0])
}

/// The prime-order subgroup test of decoded points (on the curve): blst's on native
/// targets (faster than arkworks', `docs/benchmarks.md`), arkworks' on WebAssembly.
/// Variable time; public data only.
pub(crate) trait SubgroupCheck: SWCurveConfig {
    /// Whether `p`, a point on the curve, lies in the prime-order subgroup.
    fn vartime_in_subgroup(p: &Affine<Self>) -> bool;
}

#[cfg(not(target_arch = "wasm32"))]
impl SubgroupCheck for ark_bls12_381::g1::Config {
    fn vartime_in_subgroup(p: &Affine<Self>) -> bool {
        crate::blst_backend::vartime_g1_in_subgroup(p)
    }
}

#[cfg(not(target_arch = "wasm32"))]
impl SubgroupCheck for ark_bls12_381::g2::Config {
    fn vartime_in_subgroup(p: &Affine<Self>) -> bool {
        crate::blst_backend::vartime_g2_in_subgroup(p)
    }
}

#[cfg(target_arch = "wasm32")]
impl<P: SWCurveConfig> SubgroupCheck for P {
    fn vartime_in_subgroup(p: &Affine<Self>) -> bool {
        p.is_in_correct_subgroup_assuming_on_curve()
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use ark_bls12_381::{g1, g2, Fq, Fq2, G1Affine, G2Affine};
    use ark_ec::AffineRepr;
    use ark_ff::One;

    /// The first point with `x = start, start + 1, ...` on the curve and outside the
    /// prime-order subgroup (the cofactor is not cleared).
    fn outside<P: SWCurveConfig>(mut x: P::BaseField) -> Affine<P> {
        loop {
            if let Some(p) = Affine::<P>::get_point_from_x_unchecked(x, false) {
                if !p.is_in_correct_subgroup_assuming_on_curve() {
                    return p;
                }
            }
            x += P::BaseField::one();
        }
    }

    fn refusal<P: SubgroupCheck>(p: &Affine<P>) -> String {
        let mut bytes = Vec::new();
        encode(std::slice::from_ref(p), &mut bytes);
        match decode_single::<P>(&mut &bytes[..], "points") {
            Err(SetupError::Encoding { reason, .. }) => reason,
            other => panic!("accepted: {other:?}"),
        }
    }

    fn accepted<P: SubgroupCheck>(p: &Affine<P>) -> bool {
        let mut bytes = Vec::new();
        encode(std::slice::from_ref(p), &mut bytes);
        decode_single::<P>(&mut &bytes[..], "points").as_ref() == Ok(p)
    }

    #[test]
    fn points_off_the_curve_or_outside_the_subgroup_are_refused() {
        let g1_out = outside::<g1::Config>(Fq::from(5u64));
        let g2_out = outside::<g2::Config>(Fq2::new(Fq::from(5u64), Fq::one()));
        assert!(refusal(&g1_out).contains("outside the prime-order subgroup"));
        assert!(refusal(&g2_out).contains("outside the prime-order subgroup"));
        let g1_off = G1Affine::new_unchecked(g1_out.x, g1_out.y + Fq::one());
        let g2_off = G2Affine::new_unchecked(g2_out.x, g2_out.y + Fq2::one());
        assert!(refusal(&g1_off).contains("not on the curve"));
        assert!(refusal(&g2_off).contains("not on the curve"));
        for k in [1u64, 2, 12345] {
            assert!(accepted(
                &(G1Affine::generator() * Fr::from(k)).into_affine()
            ));
            assert!(accepted(
                &(G2Affine::generator() * Fr::from(k)).into_affine()
            ));
        }
        assert!(accepted(&G1Affine::identity()));
        assert!(accepted(&G2Affine::identity()));
    }
}
