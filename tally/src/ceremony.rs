//! The trustees' key ceremony: a Pedersen-style distributed key generation with Feldman
//! commitments, Schnorr proofs of knowledge, shares encrypted to each recipient, and
//! publicly verifiable complaints. Every message is public and signed.
//!
//! Steps, as typestates that each consume the previous state:
//!
//! 1. [`Trustee<Ready>::deal`]: trustee `j` samples `f_j` of degree `t-1`, publishes the
//!    commitments `A_jk = a_jk*G` with a proof of knowledge of each `a_jk`, and `f_j(l)`
//!    encrypted to every other trustee `l`.
//! 2. [`Trustee<Dealt>::check`]: each recipient decrypts its shares and checks
//!    `f_j(l)*G = sum_k l^k*A_jk`; for a bad share it publishes a [`Complaint`] that reveals
//!    the Diffie-Hellman key of that one share with a proof that it is correct, so anyone
//!    can decrypt the share and see that it is bad.
//! 3. [`Trustee<Checked>::finish`]: everyone runs [`verify_ceremony`]. A dealer whose
//!    dealing is missing, malformed, or whose proofs fail, or against whom a complaint
//!    holds, is disqualified and named. An accuser whose complaint does not hold is named
//!    too. The joint key is the sum of the qualified dealers' `A_j0`; trustee `l`'s secret
//!    share is `sum_{j in QUAL} f_j(l)` and its verification key
//!    `VK_l = sum_{j in QUAL} sum_k l^k*A_jk`, computable by anyone.

use crate::labels;
use crate::share_encryption::{decrypt_share, encrypt_share, CIPHERTEXT_LEN};
use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::Identity;
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use merlin::Transcript;
use rand_core::CryptoRngCore;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};
use zkvote_core::elgamal::{mul_base, G};
use zkvote_core::sigma::{DleqProof, DleqStatement, SchnorrProof};
use zkvote_core::{ElectionPublicKey, Element, Manifest, SecretKey};

/// Why the ceremony (or a step of it) failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CeremonyError {
    /// A manifest key is not a valid ed25519 key.
    #[error("trustee {0}: invalid signing key in the manifest")]
    BadManifestKey(u32),
    /// The keys given do not belong to the manifest's trustee of that index.
    #[error("these keys are not trustee {0}'s keys in the manifest")]
    KeysNotInManifest(u32),
    /// Fewer than `t` dealers qualified: no key can be formed.
    #[error("only {qualified} dealers qualified, the threshold is {threshold}; disqualified: {disqualified:?}")]
    TooFewQualified {
        /// Qualified dealers.
        qualified: usize,
        /// The threshold.
        threshold: u32,
        /// Disqualified dealers with the reason.
        disqualified: Vec<(u32, Disqualification)>,
    },
    /// A qualified dealer's share to this trustee is missing or invalid and this trustee
    /// filed no complaint that holds.
    #[error("no valid share from qualified dealer {0}")]
    MissingShare(u32),
    /// This trustee's secret share does not match its public verification key.
    #[error("trustee {0}: secret share does not match its verification key")]
    ShareMismatch(u32),
}

/// Why a dealer was disqualified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "reason", rename_all = "kebab-case")]
pub enum Disqualification {
    /// No validly signed dealing.
    #[error("no validly signed dealing")]
    MissingDealing,
    /// Two different validly signed dealings.
    #[error("two different signed dealings (equivocation)")]
    Equivocation,
    /// The dealing has the wrong shape.
    #[error("malformed dealing: {detail}")]
    Malformed {
        /// What is wrong.
        detail: String,
    },
    /// A proof of knowledge of a coefficient fails.
    #[error("proof of knowledge of coefficient {coefficient} fails")]
    BadProofOfKnowledge {
        /// The coefficient index.
        coefficient: u32,
    },
    /// A complaint showed that the share to `accuser` is bad.
    #[error("its share to trustee {accuser} is bad (complaint upheld)")]
    BadShare {
        /// The trustee who complained.
        accuser: u32,
    },
}

/// One trustee as the ceremony sees it.
#[derive(Clone, Debug)]
pub struct TrusteePublic {
    /// Index `1..=n`.
    pub index: u32,
    /// ed25519 key.
    pub signing_key: VerifyingKey,
    /// Ristretto255 encryption key.
    pub encryption_key: Element,
}

/// The public parameters of a ceremony, from the manifest.
#[derive(Clone, Debug)]
pub struct CeremonyContext {
    /// Manifest hash (bound into every proof, signature and key derivation).
    pub manifest_hash: [u8; 32],
    /// Threshold `t`.
    pub threshold: u32,
    /// Trustees in index order.
    pub trustees: Vec<TrusteePublic>,
}

impl CeremonyContext {
    /// The ceremony parameters of a manifest.
    pub fn from_manifest(m: &Manifest) -> Result<Self, CeremonyError> {
        let trustees = m
            .trustees
            .iter()
            .map(|t| {
                Ok(TrusteePublic {
                    index: t.index,
                    signing_key: VerifyingKey::from_bytes(&t.signing_key)
                        .map_err(|_| CeremonyError::BadManifestKey(t.index))?,
                    encryption_key: t.encryption_key,
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(CeremonyContext {
            manifest_hash: m.hash(),
            threshold: m.threshold,
            trustees,
        })
    }

    /// Number of trustees `n`.
    pub fn n(&self) -> u32 {
        self.trustees.len() as u32
    }

    /// Trustee by index.
    pub fn trustee(&self, index: u32) -> Option<&TrusteePublic> {
        index
            .checked_sub(1)
            .and_then(|i| self.trustees.get(i as usize))
    }
}

/// A trustee's long-term keys: ed25519 for signing, Ristretto255 for receiving shares.
/// Zeroized on drop; redacted in Debug output.
#[derive(Clone, ZeroizeOnDrop)]
pub struct TrusteeKeys {
    #[zeroize(skip)]
    index: u32,
    signing: SigningKey,
    encryption: SecretKey,
}

impl fmt::Debug for TrusteeKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TrusteeKeys(index {}, <redacted>)", self.index)
    }
}

impl TrusteeKeys {
    /// Fresh keys for trustee `index`.
    pub fn generate(index: u32, rng: &mut impl CryptoRngCore) -> Self {
        TrusteeKeys {
            index,
            signing: SigningKey::generate(rng),
            encryption: SecretKey::random(rng),
        }
    }

    /// Keys from their secret parts.
    pub fn from_secrets(index: u32, signing_seed: &[u8; 32], encryption: SecretKey) -> Self {
        TrusteeKeys {
            index,
            signing: SigningKey::from_bytes(signing_seed),
            encryption,
        }
    }

    /// The manifest's description of this trustee (its public keys), named `name`.
    pub fn document(&self, name: String) -> zkvote_core::manifest::TrusteeDocument {
        zkvote_core::manifest::TrusteeDocument {
            index: self.index(),
            name,
            signing_key: hex::encode(self.signing_public()),
            encryption_key: hex::encode(self.encryption_public().as_bytes()),
        }
    }

    /// The trustee index.
    pub fn index(&self) -> u32 {
        self.index
    }

    /// The ed25519 public key (for the manifest).
    pub fn signing_public(&self) -> [u8; 32] {
        self.signing.verifying_key().to_bytes()
    }

    /// The ed25519 secret seed (for the trustee's key file).
    pub fn signing_seed(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.signing.to_bytes())
    }

    /// The encryption public key (for the manifest).
    pub fn encryption_public(&self) -> Element {
        *self.encryption.public_key().element()
    }

    /// The encryption secret key.
    pub fn encryption_secret(&self) -> &SecretKey {
        &self.encryption
    }

    /// Signs `domain || manifest_hash || body`.
    pub fn sign(&self, domain: &[u8], manifest_hash: &[u8; 32], body: &[u8]) -> [u8; 64] {
        self.signing
            .sign(&signed_bytes(domain, manifest_hash, body))
            .to_bytes()
    }

    /// (Re-)signs a dealing with these keys.
    pub fn sign_dealing(&self, manifest_hash: &[u8; 32], d: &mut Dealing) {
        d.signature = self.sign(labels::SIG_DEALING, manifest_hash, &d.body());
    }

    /// (Re-)signs a complaint with these keys.
    pub fn sign_complaint(&self, manifest_hash: &[u8; 32], c: &mut Complaint) {
        c.signature = self.sign(labels::SIG_COMPLAINT, manifest_hash, &c.body());
    }
}

/// The bytes a signed message's ed25519 signature covers: `domain || manifest_hash || body`.
pub fn signed_bytes(domain: &[u8], manifest_hash: &[u8; 32], body: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(domain.len() + 32 + body.len());
    m.extend_from_slice(domain);
    m.extend_from_slice(manifest_hash);
    m.extend_from_slice(body);
    m
}

/// A trustee message whose signature does not verify under its author's key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the message is not signed by its author's key")]
pub struct BadSignature;

/// Checks an ed25519 signature on `domain || manifest_hash || body` (strict verification:
/// non-canonical and small-order encodings are refused).
pub fn verify_signature(
    key: &VerifyingKey,
    domain: &[u8],
    manifest_hash: &[u8; 32],
    body: &[u8],
    sig: &[u8; 64],
) -> Result<(), BadSignature> {
    let sig = ed25519_dalek::Signature::from_bytes(sig);
    key.verify_strict(&signed_bytes(domain, manifest_hash, body), &sig)
        .map_err(|_| BadSignature)
}

/// Serde for 64-byte signatures as hex.
pub mod serde_sig {
    use serde::{de, Deserialize, Deserializer, Serializer};

    /// Serializes as 128 lowercase hex digits.
    pub fn serialize<S: Serializer>(v: &[u8; 64], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(v))
    }

    /// Deserializes exactly 128 lowercase hex digits.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 64], D::Error> {
        let t = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        let mut out = [0u8; 64];
        zkvote_core::codec::hex_exact(&t, &mut out).map_err(de::Error::custom)?;
        Ok(out)
    }
}

mod serde_bytes_hex {
    use serde::{de, Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(v))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let t = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        if t.len() % 2 != 0 || t.bytes().any(|c| c.is_ascii_uppercase()) {
            return Err(de::Error::custom("expected lowercase hex"));
        }
        hex::decode(&*t).map_err(de::Error::custom)
    }
}

/// A share encrypted to one recipient.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EncryptedShare {
    /// Recipient index.
    pub recipient: u32,
    /// Ephemeral Diffie-Hellman key `E = e*G`.
    pub ephemeral: Element,
    /// ChaCha20-Poly1305 ciphertext of the share (48 bytes).
    #[serde(with = "serde_bytes_hex")]
    pub ciphertext: Vec<u8>,
}

/// A dealer's public message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dealing {
    /// Dealer index.
    pub dealer: u32,
    /// Feldman commitments `A_jk = a_jk * G`, `k = 0..t-1`.
    pub commitments: Vec<Element>,
    /// Proof of knowledge of each `a_jk`.
    pub proofs: Vec<SchnorrProof>,
    /// One encrypted share per other trustee, by increasing recipient index.
    pub shares: Vec<EncryptedShare>,
    /// ed25519 signature of the dealer.
    #[serde(with = "serde_sig")]
    pub signature: [u8; 64],
}

impl Dealing {
    /// The signed body: `LE32(dealer) || LE32(#commitments) || commitments ||
    /// LE32(#proofs) || proofs (64 bytes each) || LE32(#shares) || for each share:
    /// LE32(recipient) || ephemeral || LE32(len) || ciphertext`.
    pub fn body(&self) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&self.dealer.to_le_bytes());
        b.extend_from_slice(&(self.commitments.len() as u32).to_le_bytes());
        for c in &self.commitments {
            b.extend_from_slice(c.as_bytes());
        }
        b.extend_from_slice(&(self.proofs.len() as u32).to_le_bytes());
        for p in &self.proofs {
            p.encode(&mut b);
        }
        b.extend_from_slice(&(self.shares.len() as u32).to_le_bytes());
        for s in &self.shares {
            b.extend_from_slice(&s.recipient.to_le_bytes());
            b.extend_from_slice(s.ephemeral.as_bytes());
            b.extend_from_slice(&(s.ciphertext.len() as u32).to_le_bytes());
            b.extend_from_slice(&s.ciphertext);
        }
        b
    }

    fn share_to(&self, recipient: u32) -> Option<&EncryptedShare> {
        self.shares.iter().find(|s| s.recipient == recipient)
    }
}

/// A recipient's public complaint that a dealer's share to it is bad. It reveals the
/// Diffie-Hellman key `K = x*E` of that share (and nothing else) with a proof that
/// `log_G(EK) = log_E(K)`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Complaint {
    /// The complaining recipient.
    pub accuser: u32,
    /// The accused dealer.
    pub dealer: u32,
    /// `K = x_accuser * E`.
    pub shared_secret: Element,
    /// Chaum-Pedersen proof for `(G, EK_accuser, E, K)`.
    pub proof: DleqProof,
    /// ed25519 signature of the accuser.
    #[serde(with = "serde_sig")]
    pub signature: [u8; 64],
}

impl Complaint {
    /// The signed body: `LE32(accuser) || LE32(dealer) || K || proof (96 bytes)`.
    pub fn body(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(8 + 32 + 96);
        b.extend_from_slice(&self.accuser.to_le_bytes());
        b.extend_from_slice(&self.dealer.to_le_bytes());
        b.extend_from_slice(self.shared_secret.as_bytes());
        self.proof.encode(&mut b);
        b
    }
}

fn pok_transcript(manifest_hash: &[u8; 32], dealer: u32, k: usize) -> Transcript {
    let mut t = Transcript::new(labels::DKG_POK);
    t.append_message(labels::MANIFEST_HASH, manifest_hash);
    t.append_u64(labels::DEALER, dealer as u64);
    t.append_u64(labels::COEFFICIENT, k as u64);
    t
}

fn complaint_transcript(manifest_hash: &[u8; 32], accuser: u32, dealer: u32) -> Transcript {
    let mut t = Transcript::new(labels::DKG_COMPLAINT);
    t.append_message(labels::MANIFEST_HASH, manifest_hash);
    t.append_u64(labels::ACCUSER, accuser as u64);
    t.append_u64(labels::DEALER, dealer as u64);
    t
}

/// `sum_k index^k * commitments[k]`: the public image of `f(index)`.
pub fn vartime_eval_commitments(commitments: &[Element], index: u32) -> RistrettoPoint {
    let x = Scalar::from(index as u64);
    commitments
        .iter()
        .rev()
        .fold(RistrettoPoint::identity(), |acc, c| acc * x + c.point())
}

/// A secret polynomial; zeroized on drop.
#[derive(Zeroize, ZeroizeOnDrop)]
struct Polynomial(Vec<Scalar>);

impl Polynomial {
    fn random(degree: usize, rng: &mut impl CryptoRngCore) -> Self {
        Polynomial((0..=degree).map(|_| Scalar::random(rng)).collect())
    }

    fn eval(&self, index: u32) -> Scalar {
        let x = Scalar::from(index as u64);
        self.0.iter().rev().fold(Scalar::ZERO, |acc, a| acc * x + a)
    }
}

/// First state: keys and parameters, nothing dealt yet.
pub struct Ready;

/// Second state: this trustee's polynomial is dealt.
pub struct Dealt {
    poly: Polynomial,
}

/// Third state: received shares are checked.
pub struct Checked {
    poly: Polynomial,
    received: BTreeMap<u32, Zeroizing<Scalar>>,
}

/// A trustee in the key ceremony, in state `S`.
pub struct Trustee<S> {
    keys: TrusteeKeys,
    ctx: CeremonyContext,
    state: S,
}

impl<S> fmt::Debug for Trustee<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Trustee({}, <redacted>)", self.keys.index)
    }
}

impl Trustee<Ready> {
    /// Starts the ceremony for the holder of `keys`, which must be the manifest's keys for
    /// its index.
    pub fn new(keys: TrusteeKeys, ctx: CeremonyContext) -> Result<Self, CeremonyError> {
        let listed = ctx
            .trustee(keys.index)
            .ok_or(CeremonyError::KeysNotInManifest(keys.index))?;
        if listed.signing_key.to_bytes() != keys.signing_public()
            || listed.encryption_key != keys.encryption_public()
        {
            return Err(CeremonyError::KeysNotInManifest(keys.index));
        }
        Ok(Trustee {
            keys,
            ctx,
            state: Ready,
        })
    }

    /// Samples the polynomial and produces the signed dealing.
    pub fn deal(self, rng: &mut impl CryptoRngCore) -> (Trustee<Dealt>, Dealing) {
        let t = self.ctx.threshold as usize;
        let me = self.keys.index;
        let poly = Polynomial::random(t - 1, rng);
        let h = self.ctx.manifest_hash;
        let commitments: Vec<Element> = poly
            .0
            .iter()
            .map(|a| Element::from_point(mul_base(a)))
            .collect();
        let proofs = poly
            .0
            .iter()
            .zip(&commitments)
            .enumerate()
            .map(|(k, (a, c))| SchnorrProof::prove(&mut pok_transcript(&h, me, k), a, c, rng))
            .collect();
        let shares = self
            .ctx
            .trustees
            .iter()
            .filter(|r| r.index != me)
            .map(|r| {
                let s = Zeroizing::new(poly.eval(r.index));
                let (ephemeral, ciphertext) =
                    encrypt_share(&h, me, r.index, &r.encryption_key, &s, rng);
                EncryptedShare {
                    recipient: r.index,
                    ephemeral,
                    ciphertext,
                }
            })
            .collect();
        let mut dealing = Dealing {
            dealer: me,
            commitments,
            proofs,
            shares,
            signature: [0; 64],
        };
        self.keys.sign_dealing(&h, &mut dealing);
        (
            Trustee {
                keys: self.keys,
                ctx: self.ctx,
                state: Dealt { poly },
            },
            dealing,
        )
    }
}

impl Trustee<Dealt> {
    /// Decrypts and checks this trustee's share in every other validly signed dealing,
    /// and returns a signed complaint for each bad one.
    pub fn check(
        self,
        dealings: &[Dealing],
        rng: &mut impl CryptoRngCore,
    ) -> (Trustee<Checked>, Vec<Complaint>) {
        let me = self.keys.index;
        let h = self.ctx.manifest_hash;
        let my_key = self.keys.encryption_public();
        let mut received = BTreeMap::new();
        let mut complaints = Vec::new();
        for d in dealings {
            let Some(dealer) = self.ctx.trustee(d.dealer) else {
                continue;
            };
            if d.dealer == me
                || received.contains_key(&d.dealer)
                || verify_signature(
                    &dealer.signing_key,
                    labels::SIG_DEALING,
                    &h,
                    &d.body(),
                    &d.signature,
                )
                .is_err()
            {
                continue;
            }
            let Some(share) = d.share_to(me) else {
                continue;
            };
            let shared = Zeroizing::new(share.ephemeral.point() * self.keys.encryption.as_scalar());
            let value = decrypt_share(
                &h,
                d.dealer,
                me,
                &my_key,
                &share.ephemeral,
                &shared,
                &share.ciphertext,
            );
            match value {
                Some(s)
                    if d.commitments.len() == self.ctx.threshold as usize
                        && mul_base(&s) == vartime_eval_commitments(&d.commitments, me) =>
                {
                    received.insert(d.dealer, Zeroizing::new(s));
                }
                _ => {
                    let shared_el = Element::from_point(*shared);
                    let stmt = DleqStatement {
                        g: &Element::from_point(G),
                        x: &my_key,
                        h: &share.ephemeral,
                        y: &shared_el,
                    };
                    let proof = DleqProof::prove(
                        &mut complaint_transcript(&h, me, d.dealer),
                        &stmt,
                        self.keys.encryption.as_scalar(),
                        rng,
                    );
                    let mut c = Complaint {
                        accuser: me,
                        dealer: d.dealer,
                        shared_secret: shared_el,
                        proof,
                        signature: [0; 64],
                    };
                    self.keys.sign_complaint(&h, &mut c);
                    complaints.push(c);
                }
            }
        }
        (
            Trustee {
                keys: self.keys,
                ctx: self.ctx,
                state: Checked {
                    poly: self.state.poly,
                    received,
                },
            },
            complaints,
        )
    }
}

impl Trustee<Checked> {
    /// Runs the public ceremony verification and derives this trustee's secret share.
    pub fn finish(
        self,
        dealings: &[Dealing],
        complaints: &[Complaint],
        rng: &mut impl CryptoRngCore,
    ) -> Result<TrusteeShare, CeremonyError> {
        let outcome = verify_ceremony(&self.ctx, dealings, complaints, rng)?;
        let me = self.keys.index;
        let mut secret = Scalar::ZERO;
        for &j in &outcome.qualified {
            if j == me {
                secret += self.state.poly.eval(me);
            } else {
                secret += **self
                    .state
                    .received
                    .get(&j)
                    .ok_or(CeremonyError::MissingShare(j))?;
            }
        }
        let vk = outcome.verification_key(me);
        if mul_base(&secret) != *vk.point() {
            return Err(CeremonyError::ShareMismatch(me));
        }
        Ok(TrusteeShare {
            index: me,
            secret,
            outcome,
        })
    }
}

/// The public result of a ceremony: who qualified, who was disqualified and why, the
/// joint key and every trustee's verification key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CeremonyOutcome {
    /// Qualified dealers, by index.
    pub qualified: Vec<u32>,
    /// Disqualified dealers with the reason.
    pub disqualified: Vec<(u32, Disqualification)>,
    /// `(accuser, dealer)` of complaints that did not hold.
    pub false_complaints: Vec<(u32, u32)>,
    /// The joint election key.
    pub joint_key: Element,
    /// `VK_l` for `l = 1..=n`.
    pub verification_keys: Vec<Element>,
}

impl CeremonyOutcome {
    /// The joint key with its encryption table.
    pub fn election_key(&self) -> ElectionPublicKey {
        ElectionPublicKey::new(self.joint_key).expect("the joint key is checked to be non-identity")
    }

    /// Trustee `index`'s verification key.
    pub fn verification_key(&self, index: u32) -> &Element {
        &self.verification_keys[(index - 1) as usize]
    }
}

/// A trustee's result: its secret share of the joint key (zeroized on drop) and the
/// public outcome.
#[derive(Clone, ZeroizeOnDrop)]
pub struct TrusteeShare {
    #[zeroize(skip)]
    index: u32,
    secret: Scalar,
    #[zeroize(skip)]
    outcome: CeremonyOutcome,
}

impl fmt::Debug for TrusteeShare {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TrusteeShare(index {}, <redacted>)", self.index)
    }
}

impl TrusteeShare {
    /// The trustee index.
    pub fn index(&self) -> u32 {
        self.index
    }

    /// The secret share `x_l`.
    pub fn secret(&self) -> &Scalar {
        &self.secret
    }

    /// The public outcome.
    pub fn outcome(&self) -> &CeremonyOutcome {
        &self.outcome
    }

    /// Rebuilds a share from its stored parts, checking it against the outcome.
    pub fn from_parts(
        index: u32,
        secret: Scalar,
        outcome: CeremonyOutcome,
    ) -> Result<Self, CeremonyError> {
        if index == 0
            || index as usize > outcome.verification_keys.len()
            || mul_base(&secret) != *outcome.verification_key(index).point()
        {
            return Err(CeremonyError::ShareMismatch(index));
        }
        Ok(TrusteeShare {
            index,
            secret,
            outcome,
        })
    }
}

fn check_dealing_shape(ctx: &CeremonyContext, d: &Dealing) -> Result<(), Disqualification> {
    let t = ctx.threshold as usize;
    let malformed = |detail: String| Disqualification::Malformed { detail };
    if d.commitments.len() != t || d.proofs.len() != t {
        return Err(malformed(format!(
            "{} commitments and {} proofs for threshold {t}",
            d.commitments.len(),
            d.proofs.len()
        )));
    }
    let expected: Vec<u32> = ctx
        .trustees
        .iter()
        .map(|r| r.index)
        .filter(|&i| i != d.dealer)
        .collect();
    let got: Vec<u32> = d.shares.iter().map(|s| s.recipient).collect();
    if got != expected {
        return Err(malformed(format!(
            "shares for {got:?}, expected {expected:?}"
        )));
    }
    if let Some(s) = d
        .shares
        .iter()
        .find(|s| s.ciphertext.len() != CIPHERTEXT_LEN)
    {
        return Err(malformed(format!(
            "share to {} has {} bytes",
            s.recipient,
            s.ciphertext.len()
        )));
    }
    Ok(())
}

/// Verifies a whole ceremony from its public messages (anyone can run this): signatures,
/// shapes, proofs of knowledge, complaints. Returns who qualified and the keys.
pub fn verify_ceremony(
    ctx: &CeremonyContext,
    dealings: &[Dealing],
    complaints: &[Complaint],
    rng: &mut impl CryptoRngCore,
) -> Result<CeremonyOutcome, CeremonyError> {
    let h = &ctx.manifest_hash;
    let mut disqualified: BTreeMap<u32, Disqualification> = BTreeMap::new();
    let mut valid: BTreeMap<u32, &Dealing> = BTreeMap::new();
    for trustee in &ctx.trustees {
        let j = trustee.index;
        let signed: Vec<&Dealing> = dealings
            .iter()
            .filter(|d| {
                d.dealer == j
                    && verify_signature(
                        &trustee.signing_key,
                        labels::SIG_DEALING,
                        h,
                        &d.body(),
                        &d.signature,
                    )
                    .is_ok()
            })
            .collect();
        let Some(first) = signed.first() else {
            disqualified.insert(j, Disqualification::MissingDealing);
            continue;
        };
        if signed.iter().any(|d| d != first) {
            disqualified.insert(j, Disqualification::Equivocation);
            continue;
        }
        if let Err(e) = check_dealing_shape(ctx, first) {
            disqualified.insert(j, e);
            continue;
        }
        let bad_pok = first
            .proofs
            .iter()
            .zip(&first.commitments)
            .enumerate()
            .find(|(k, (p, c))| p.vartime_verify(&mut pok_transcript(h, j, *k), c).is_err());
        if let Some((k, _)) = bad_pok {
            disqualified.insert(
                j,
                Disqualification::BadProofOfKnowledge {
                    coefficient: k as u32,
                },
            );
            continue;
        }
        valid.insert(j, first);
    }

    let mut false_complaints = Vec::new();
    let g = Element::from_point(G);
    for c in complaints {
        let (Some(accuser), Some(d)) = (ctx.trustee(c.accuser), valid.get(&c.dealer)) else {
            continue;
        };
        if c.accuser == c.dealer
            || disqualified.contains_key(&c.dealer)
            || verify_signature(
                &accuser.signing_key,
                labels::SIG_COMPLAINT,
                h,
                &c.body(),
                &c.signature,
            )
            .is_err()
        {
            continue;
        }
        let Some(share) = d.share_to(c.accuser) else {
            continue;
        };
        let stmt = DleqStatement {
            g: &g,
            x: &accuser.encryption_key,
            h: &share.ephemeral,
            y: &c.shared_secret,
        };
        if c.proof
            .vartime_verify(
                &mut complaint_transcript(h, c.accuser, c.dealer),
                &stmt,
                rng,
            )
            .is_err()
        {
            false_complaints.push((c.accuser, c.dealer));
            continue;
        }
        let value = decrypt_share(
            h,
            c.dealer,
            c.accuser,
            &accuser.encryption_key,
            &share.ephemeral,
            c.shared_secret.point(),
            &share.ciphertext,
        );
        let holds = match value {
            None => true,
            Some(s) => mul_base(&s) != vartime_eval_commitments(&d.commitments, c.accuser),
        };
        if holds {
            disqualified.insert(c.dealer, Disqualification::BadShare { accuser: c.accuser });
        } else {
            false_complaints.push((c.accuser, c.dealer));
        }
    }

    let qualified: Vec<u32> = valid
        .keys()
        .copied()
        .filter(|j| !disqualified.contains_key(j))
        .collect();
    if qualified.len() < ctx.threshold as usize {
        return Err(CeremonyError::TooFewQualified {
            qualified: qualified.len(),
            threshold: ctx.threshold,
            disqualified: disqualified.into_iter().collect(),
        });
    }
    let joint: RistrettoPoint = qualified
        .iter()
        .map(|j| valid[j].commitments[0].point())
        .sum();
    let verification_keys = ctx
        .trustees
        .iter()
        .map(|r| {
            let vk: RistrettoPoint = qualified
                .iter()
                .map(|j| vartime_eval_commitments(&valid[j].commitments, r.index))
                .sum();
            Element::from_point(vk)
        })
        .collect();
    let joint_key = Element::from_point(joint);
    if joint_key.is_identity() {
        // Only possible if qualified dealers' constant terms cancel, which honest dealers
        // make negligibly likely; refuse rather than produce a useless key.
        return Err(CeremonyError::TooFewQualified {
            qualified: 0,
            threshold: ctx.threshold,
            disqualified: disqualified.into_iter().collect(),
        });
    }
    Ok(CeremonyOutcome {
        qualified,
        disqualified: disqualified.into_iter().collect(),
        false_complaints,
        joint_key,
        verification_keys,
    })
}
