//! The pure half of the bulletin-board log: RFC 9162 Merkle tree hashing, inclusion and
//! consistency proofs (generation over any source of subtree hashes, and verification),
//! and checkpoints in the C2SP signed-note form, signed with ed25519.
//!
//! The server stores the log; everything a client or verifier needs to check it is here.

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

/// A SHA-256 tree hash.
pub type Hash = [u8; 32];

/// Why a proof or checkpoint was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LogError {
    /// Leaf index not below the tree size.
    #[error("index {index} is not below tree size {size}")]
    IndexOutOfRange {
        /// The index.
        index: u64,
        /// The tree size.
        size: u64,
    },
    /// Sizes that do not describe an older and a newer tree.
    #[error("cannot prove consistency from size {old} to size {new}")]
    BadSizes {
        /// Older size.
        old: u64,
        /// Newer size.
        new: u64,
    },
    /// A proof with the wrong number of hashes.
    #[error("proof has {got} hashes, expected {expected}")]
    ProofLength {
        /// Hashes expected.
        expected: usize,
        /// Hashes given.
        got: usize,
    },
    /// The recomputed root differs.
    #[error("proof does not lead to the expected root")]
    RootMismatch,
    /// A checkpoint that does not parse.
    #[error("malformed checkpoint: {0}")]
    Checkpoint(String),
    /// A checkpoint from another log.
    #[error("checkpoint origin {found:?} is not {expected:?}")]
    Origin {
        /// Expected origin line.
        expected: String,
        /// Origin found.
        found: String,
    },
    /// No valid signature by the expected key.
    #[error("checkpoint is not signed by the board key")]
    Signature,
}

/// `SHA-256(0x00 || data)`.
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(data);
    h.finalize().into()
}

/// `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The root of the empty tree, `SHA-256("")`.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// The largest power of two strictly below `n` (`n >= 2`).
fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1u64 << (63 - (n - 1).leading_zeros())
}

/// Anything that can give the hash of the subtree over leaves `[start, end)`; the log
/// stores perfect subtrees so this is cheap for the ranges proofs need.
pub trait SubtreeSource {
    /// `MTH(leaves[start..end])`, `start < end`.
    fn subtree(&self, start: u64, end: u64) -> Hash;
}

/// An in-memory tree over leaf hashes that keeps every perfect subtree (level `k` holds
/// the hashes of the aligned subtrees of `2^k` leaves), so any subtree hash costs at most
/// `log n` node hashes. Appending a leaf costs at most `log n` node hashes.
#[derive(Clone, Debug)]
pub struct MemoryTree {
    levels: Vec<Vec<Hash>>,
}

impl Default for MemoryTree {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryTree {
    /// An empty tree.
    pub fn new() -> Self {
        MemoryTree {
            levels: vec![Vec::new()],
        }
    }

    /// A tree over the given leaf hashes.
    pub fn from_leaf_hashes(leaves: impl IntoIterator<Item = Hash>) -> Self {
        let mut t = Self::new();
        for l in leaves {
            t.push(l);
        }
        t
    }

    /// Appends a leaf hash.
    pub fn push(&mut self, leaf: Hash) {
        self.levels[0].push(leaf);
        let mut k = 0;
        while self.levels[k].len() % 2 == 0 {
            let n = self.levels[k].len();
            let parent = node_hash(&self.levels[k][n - 2], &self.levels[k][n - 1]);
            if self.levels.len() == k + 1 {
                self.levels.push(Vec::new());
            }
            self.levels[k + 1].push(parent);
            k += 1;
        }
    }

    /// Drops every leaf from `size` on (and the subtrees over them); no-op if the tree
    /// is not larger.
    pub fn truncate(&mut self, size: u64) {
        for (k, level) in self.levels.iter_mut().enumerate() {
            level.truncate((size >> k) as usize);
        }
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.levels[0].len() as u64
    }

    /// The leaf hash at `index`.
    pub fn leaf(&self, index: u64) -> Option<&Hash> {
        self.levels[0].get(index as usize)
    }

    /// The root of the first `size` leaves.
    pub fn root_at(&self, size: u64) -> Hash {
        if size == 0 {
            empty_root()
        } else {
            self.subtree(0, size)
        }
    }

    /// The root of the whole tree.
    pub fn root(&self) -> Hash {
        self.root_at(self.size())
    }
}

impl SubtreeSource for MemoryTree {
    fn subtree(&self, start: u64, end: u64) -> Hash {
        let n = end - start;
        if n.is_power_of_two() && start % n == 0 {
            let k = n.trailing_zeros() as usize;
            return self.levels[k][(start >> k) as usize];
        }
        let split = split_point(n);
        node_hash(
            &self.subtree(start, start + split),
            &self.subtree(start + split, end),
        )
    }
}

/// The RFC 9162 root of a sequence of leaves, accumulated one leaf at a time as the stack
/// of its perfect subtrees: a streaming verifier's tree, in `O(log n)` memory.
#[derive(Clone, Debug, Default)]
pub struct RootAccumulator {
    stack: Vec<(u64, Hash)>,
}

impl RootAccumulator {
    /// Appends a leaf hash.
    pub fn push(&mut self, leaf: Hash) {
        let mut node = (1u64, leaf);
        while let Some(&(size, left)) = self.stack.last() {
            if size != node.0 {
                break;
            }
            self.stack.pop();
            node = (size * 2, node_hash(&left, &node.1));
        }
        self.stack.push(node);
    }

    /// The root of the leaves so far (the empty root for none).
    pub fn root(&self) -> Hash {
        let mut it = self.stack.iter().rev();
        match it.next() {
            None => empty_root(),
            Some(&(_, last)) => it.fold(last, |acc, (_, left)| node_hash(left, &acc)),
        }
    }
}

/// The inclusion proof of leaf `index` in the tree of `size` leaves (RFC 9162 2.1.3.1).
pub fn inclusion_proof(
    src: &impl SubtreeSource,
    index: u64,
    size: u64,
) -> Result<Vec<Hash>, LogError> {
    if index >= size {
        return Err(LogError::IndexOutOfRange { index, size });
    }
    let mut proof = Vec::new();
    let (mut start, mut end, mut i) = (0u64, size, index);
    let mut stack = Vec::new();
    while end - start > 1 {
        let k = split_point(end - start);
        if i < k {
            stack.push(src.subtree(start + k, end));
            end = start + k;
        } else {
            stack.push(src.subtree(start, start + k));
            start += k;
            i -= k;
        }
    }
    while let Some(h) = stack.pop() {
        proof.push(h);
    }
    Ok(proof)
}

/// Verifies an inclusion proof (RFC 9162 2.1.3.2).
pub fn verify_inclusion(
    index: u64,
    size: u64,
    leaf: &Hash,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), LogError> {
    if index >= size {
        return Err(LogError::IndexOutOfRange { index, size });
    }
    let (mut fn_, mut sn) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if sn == 0 {
            return Err(LogError::ProofLength {
                expected: proof.len() - 1,
                got: proof.len(),
            });
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(LogError::ProofLength {
            expected: proof.len() + 1,
            got: proof.len(),
        });
    }
    if &r == root {
        Ok(())
    } else {
        Err(LogError::RootMismatch)
    }
}

/// The consistency proof from the tree of `old` leaves to the tree of `new` leaves
/// (RFC 9162 2.1.4.1).
pub fn consistency_proof(
    src: &impl SubtreeSource,
    old: u64,
    new: u64,
) -> Result<Vec<Hash>, LogError> {
    if old == 0 || old > new {
        return Err(LogError::BadSizes { old, new });
    }
    let mut proof = Vec::new();
    subproof(src, old, 0, new, true, &mut proof);
    Ok(proof)
}

fn subproof(
    src: &impl SubtreeSource,
    m: u64,
    start: u64,
    end: u64,
    complete: bool,
    out: &mut Vec<Hash>,
) {
    let n = end - start;
    if m == n {
        if !complete {
            out.push(src.subtree(start, end));
        }
        return;
    }
    let k = split_point(n);
    if m <= k {
        subproof(src, m, start, start + k, complete, out);
        out.push(src.subtree(start + k, end));
    } else {
        subproof(src, m - k, start + k, end, false, out);
        out.push(src.subtree(start, start + k));
    }
}

/// Verifies a consistency proof (RFC 9162 2.1.4.2).
pub fn verify_consistency(
    old: u64,
    new: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), LogError> {
    if old == 0 || old > new {
        return Err(LogError::BadSizes { old, new });
    }
    if old == new {
        if !proof.is_empty() {
            return Err(LogError::ProofLength {
                expected: 0,
                got: proof.len(),
            });
        }
        return if old_root == new_root {
            Ok(())
        } else {
            Err(LogError::RootMismatch)
        };
    }
    let mut path: Vec<Hash> = proof.to_vec();
    if old.is_power_of_two() {
        path.insert(0, *old_root);
    }
    let Some((first, rest)) = path.split_first() else {
        return Err(LogError::ProofLength {
            expected: 1,
            got: 0,
        });
    };
    let (mut fn_, mut sn) = (old - 1, new - 1);
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    let (mut fr, mut sr) = (*first, *first);
    for c in rest {
        if sn == 0 {
            return Err(LogError::ProofLength {
                expected: proof.len() - 1,
                got: proof.len(),
            });
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(LogError::ProofLength {
            expected: proof.len() + 1,
            got: proof.len(),
        });
    }
    if &fr == old_root && &sr == new_root {
        Ok(())
    } else {
        Err(LogError::RootMismatch)
    }
}

/// A log checkpoint: origin (which names the election), tree size and root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's origin line, `zkvote/<election id hex>`.
    pub origin: String,
    /// Number of entries.
    pub size: u64,
    /// Root hash.
    pub root: Hash,
}

/// The origin line of an election's log.
pub fn origin_for(election_id: &[u8; 32]) -> String {
    format!("zkvote/{}", hex::encode(election_id))
}

/// The 4-byte key id of an ed25519 note key:
/// `SHA-256(name || 0x0A || 0x01 || public key)[..4]`.
pub fn note_key_id(name: &str, key: &VerifyingKey) -> [u8; 4] {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([0x0a, 0x01]);
    h.update(key.as_bytes());
    let d = h.finalize();
    [d[0], d[1], d[2], d[3]]
}

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

impl Checkpoint {
    /// The note body: `origin\nsize\nbase64(root)\n`.
    pub fn body(&self) -> String {
        use base64::Engine;
        format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            b64().encode(self.root)
        )
    }

    /// The signed note: body, a blank line, and one signature line
    /// `— <name> base64(key id || signature)`, signed by `key` under `name`.
    pub fn sign(&self, name: &str, key: &SigningKey) -> String {
        use base64::Engine;
        let body = self.body();
        let sig = key.sign(body.as_bytes()).to_bytes();
        let mut blob = note_key_id(name, &key.verifying_key()).to_vec();
        blob.extend_from_slice(&sig);
        format!("{body}\n\u{2014} {name} {}\n", b64().encode(blob))
    }

    /// Parses a signed note and checks the origin and a signature by `key` under `name`.
    pub fn verify(
        note: &str,
        origin: &str,
        name: &str,
        key: &VerifyingKey,
    ) -> Result<Checkpoint, LogError> {
        use base64::Engine;
        let bad = |m: &str| LogError::Checkpoint(m.to_string());
        let (body, sigs) = note
            .split_once("\n\n")
            .ok_or_else(|| bad("no blank line before signatures"))?;
        let body = format!("{body}\n");
        let mut lines = body.lines();
        let found_origin = lines.next().ok_or_else(|| bad("no origin"))?;
        let size_line = lines.next().ok_or_else(|| bad("no size"))?;
        let root_line = lines.next().ok_or_else(|| bad("no root"))?;
        if lines.next().is_some() {
            return Err(bad(
                "extension lines after the root: a zkvote checkpoint has exactly three",
            ));
        }
        if found_origin != origin {
            return Err(LogError::Origin {
                expected: origin.to_string(),
                found: found_origin.to_string(),
            });
        }
        if size_line.is_empty()
            || !size_line.bytes().all(|c| c.is_ascii_digit())
            || (size_line.len() > 1 && size_line.starts_with('0'))
        {
            return Err(bad("size is not a canonical decimal"));
        }
        let size: u64 = size_line.parse().map_err(|_| bad("size out of range"))?;
        let root_bytes = b64()
            .decode(root_line)
            .map_err(|_| bad("root is not base64"))?;
        let root: Hash = root_bytes
            .try_into()
            .map_err(|_| bad("root is not 32 bytes"))?;
        let id = note_key_id(name, key);
        for line in sigs.lines() {
            let Some(rest) = line.strip_prefix("\u{2014} ") else {
                return Err(bad("signature line does not start with an em dash"));
            };
            let Some((n, blob)) = rest.split_once(' ') else {
                continue;
            };
            if n != name {
                continue;
            }
            let Ok(blob) = b64().decode(blob) else {
                continue;
            };
            if blob.len() != 68 || blob[..4] != id {
                continue;
            }
            let sig = Signature::from_bytes(blob[4..].try_into().expect("64 bytes"));
            if key.verify_strict(body.as_bytes(), &sig).is_ok() {
                return Ok(Checkpoint {
                    origin: found_origin.to_string(),
                    size,
                    root,
                });
            }
        }
        Err(LogError::Signature)
    }
}

/// Name of the board's key in signed checkpoints.
pub const BOARD_KEY_NAME: &str = "zkvote-board";

/// Serde for lists of hashes as lowercase hex.
pub mod serde_hashes {
    use super::Hash;
    use serde::{de, ser::SerializeSeq, Deserialize, Deserializer, Serializer};

    /// Serializes each hash as 64 hex digits.
    pub fn serialize<S: Serializer>(v: &[Hash], s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(v.len()))?;
        for h in v {
            seq.serialize_element(&hex::encode(h))?;
        }
        seq.end()
    }

    /// Deserializes a list of 64-hex-digit hashes.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Hash>, D::Error> {
        let texts = Vec::<std::borrow::Cow<'de, str>>::deserialize(d)?;
        texts
            .iter()
            .map(|t| crate::codec::hex32(t).map_err(de::Error::custom))
            .collect()
    }
}

/// A receipt: the entry's index and leaf hash, a signed checkpoint that includes it, and
/// the inclusion proof. It can be checked offline, and later against a newer checkpoint
/// through a consistency proof.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Receipt {
    /// Position of the entry in the log.
    pub index: u64,
    /// `leaf_hash` of the entry's bytes.
    #[serde(with = "crate::codec::serde_hex32")]
    pub leaf_hash: Hash,
    /// The signed checkpoint (C2SP signed note).
    pub checkpoint: String,
    /// Inclusion proof of `index` in the checkpoint's tree.
    #[serde(with = "serde_hashes")]
    pub inclusion_proof: Vec<Hash>,
}

impl Receipt {
    /// Checks the checkpoint's signature by the board key and the inclusion proof;
    /// returns the checkpoint.
    pub fn verify(
        &self,
        election_id: &[u8; 32],
        board_key: &VerifyingKey,
    ) -> Result<Checkpoint, LogError> {
        let cp = Checkpoint::verify(
            &self.checkpoint,
            &origin_for(election_id),
            BOARD_KEY_NAME,
            board_key,
        )?;
        verify_inclusion(
            self.index,
            cp.size,
            &self.leaf_hash,
            &self.inclusion_proof,
            &cp.root,
        )?;
        Ok(cp)
    }

    /// Checks the receipt, then that the newer signed checkpoint extends the receipt's
    /// through `consistency_proof`; returns the newer checkpoint.
    pub fn verify_against(
        &self,
        election_id: &[u8; 32],
        board_key: &VerifyingKey,
        newer: &str,
        consistency_proof: &[Hash],
    ) -> Result<Checkpoint, LogError> {
        let old = self.verify(election_id, board_key)?;
        let new = Checkpoint::verify(newer, &origin_for(election_id), BOARD_KEY_NAME, board_key)?;
        verify_consistency(old.size, new.size, &old.root, &new.root, consistency_proof)?;
        Ok(new)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_truncated_tree_is_the_tree_of_its_prefix() {
        let leaves: Vec<Hash> = (0..37u64).map(|i| leaf_hash(&i.to_le_bytes())).collect();
        for cut in 0..=37usize {
            let mut t = MemoryTree::from_leaf_hashes(leaves.iter().copied());
            t.truncate(cut as u64);
            let prefix = MemoryTree::from_leaf_hashes(leaves[..cut].iter().copied());
            assert_eq!(t.size(), cut as u64);
            assert_eq!(t.root(), prefix.root());
            // Growing again gives the whole tree back.
            for l in &leaves[cut..] {
                t.push(*l);
            }
            assert_eq!(
                t.root(),
                MemoryTree::from_leaf_hashes(leaves.iter().copied()).root()
            );
        }
    }

    #[test]
    fn the_root_accumulator_agrees_with_the_tree() {
        for n in 0..40u64 {
            let leaves: Vec<Hash> = (0..n).map(|i| leaf_hash(&i.to_le_bytes())).collect();
            let mut acc = RootAccumulator::default();
            for l in &leaves {
                acc.push(*l);
            }
            assert_eq!(
                acc.root(),
                MemoryTree::from_leaf_hashes(leaves).root(),
                "{n}"
            );
        }
    }

    use super::*;

    fn hx(s: &str) -> Hash {
        hex::decode(s).unwrap().try_into().unwrap()
    }

    /// The RFC 6962 test leaves used by the transparency-dev reference vectors.
    fn leaves() -> Vec<Vec<u8>> {
        [
            "",
            "00",
            "10",
            "2021",
            "3031",
            "40414243",
            "5051525354555657",
            "606162636465666768696a6b6c6d6e6f",
        ]
        .iter()
        .map(|h| hex::decode(h).unwrap())
        .collect()
    }

    fn tree(n: usize) -> MemoryTree {
        MemoryTree::from_leaf_hashes(leaves()[..n].iter().map(|l| leaf_hash(l)))
    }

    /// An independent recursive definition (RFC 9162 section 2.1.1).
    fn mth(leaves: &[Vec<u8>]) -> Hash {
        match leaves.len() {
            0 => empty_root(),
            1 => leaf_hash(&leaves[0]),
            n => {
                let k = split_point(n as u64) as usize;
                node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
            }
        }
    }

    #[test]
    fn roots_match_the_reference_vectors() {
        let roots = [
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
            "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
            "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
            "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
        ];
        let t = tree(8);
        for (n, r) in roots.iter().enumerate() {
            assert_eq!(t.root_at(n as u64), hx(r), "size {n}");
            assert_eq!(mth(&leaves()[..n]), hx(r), "size {n}");
        }
    }

    #[test]
    fn inclusion_proofs_match_the_reference_vectors() {
        let cases: [(u64, u64, &[&str]); 6] = [
            (0, 1, &[]),
            (
                0,
                2,
                &["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"],
            ),
            (
                1,
                2,
                &["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"],
            ),
            (
                2,
                3,
                &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
            ),
            (
                1,
                5,
                &[
                    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                ],
            ),
            (
                5,
                8,
                &[
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                ],
            ),
        ];
        let t = tree(8);
        for (index, size, want) in cases {
            let proof = inclusion_proof(&t, index, size).unwrap();
            let want: Vec<Hash> = want.iter().map(|h| hx(h)).collect();
            assert_eq!(proof, want, "{index}:{size}");
            let leaf = *t.leaf(index).unwrap();
            assert_eq!(
                verify_inclusion(index, size, &leaf, &proof, &t.root_at(size)),
                Ok(())
            );
        }
        let proof = inclusion_proof(&t, 0, 8).unwrap();
        assert_eq!(
            proof,
            vec![
                hx("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
                hx("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                hx("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
            ]
        );
    }

    #[test]
    fn consistency_proofs_match_the_reference_vectors() {
        let cases: [(u64, u64, &[&str]); 4] = [
            (1, 1, &[]),
            (
                1,
                8,
                &[
                    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
                ],
            ),
            (
                2,
                5,
                &[
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                ],
            ),
            (
                6,
                8,
                &[
                    "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                ],
            ),
        ];
        let t = tree(8);
        for (old, new, want) in cases {
            let proof = consistency_proof(&t, old, new).unwrap();
            let want: Vec<Hash> = want.iter().map(|h| hx(h)).collect();
            assert_eq!(proof, want, "{old}:{new}");
            assert_eq!(
                verify_consistency(old, new, &t.root_at(old), &t.root_at(new), &proof),
                Ok(())
            );
        }
    }

    #[test]
    fn every_proof_verifies_and_tampering_fails() {
        let data: Vec<Vec<u8>> = (0u32..40).map(|i| i.to_le_bytes().to_vec()).collect();
        let t = MemoryTree::from_leaf_hashes(data.iter().map(|d| leaf_hash(d)));
        for size in 1..=40u64 {
            let root = t.root_at(size);
            assert_eq!(root, mth(&data[..size as usize]));
            for index in 0..size {
                let p = inclusion_proof(&t, index, size).unwrap();
                let leaf = *t.leaf(index).unwrap();
                assert_eq!(verify_inclusion(index, size, &leaf, &p, &root), Ok(()));
                assert!(verify_inclusion(index, size, &leaf_hash(b"x"), &p, &root).is_err());
                if !p.is_empty() {
                    let mut q = p.clone();
                    q[0][0] ^= 1;
                    assert!(verify_inclusion(index, size, &leaf, &q, &root).is_err());
                    assert!(verify_inclusion(index, size, &leaf, &p[1..], &root).is_err());
                }
                let mut longer = p.clone();
                longer.push([0; 32]);
                assert!(verify_inclusion(index, size, &leaf, &longer, &root).is_err());
                if index + 1 < size {
                    assert!(verify_inclusion(index + 1, size, &leaf, &p, &root).is_err());
                }
            }
            for old in 1..=size {
                let p = consistency_proof(&t, old, size).unwrap();
                let (ro, rn) = (t.root_at(old), root);
                assert_eq!(
                    verify_consistency(old, size, &ro, &rn, &p),
                    Ok(()),
                    "{old}:{size}"
                );
                if old < size {
                    let mut q = p.clone();
                    let last = q.len() - 1;
                    q[last][3] ^= 8;
                    assert!(verify_consistency(old, size, &ro, &rn, &q).is_err());
                    assert!(verify_consistency(old, size, &rn, &rn, &p).is_err() || ro == rn);
                }
            }
        }
        assert!(inclusion_proof(&t, 5, 5).is_err());
        assert!(consistency_proof(&t, 0, 5).is_err());
        assert!(consistency_proof(&t, 6, 5).is_err());
    }

    #[test]
    fn checkpoints_sign_and_verify() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let cp = Checkpoint {
            origin: origin_for(&[9; 32]),
            size: 12,
            root: leaf_hash(b"r"),
        };
        let note = cp.sign("board", &key);
        assert!(note.starts_with(&format!("{}\n12\n", cp.origin)));
        let back = Checkpoint::verify(&note, &cp.origin, "board", &key.verifying_key()).unwrap();
        assert_eq!(back, cp);
        let other = SigningKey::from_bytes(&[8; 32]);
        assert_eq!(
            Checkpoint::verify(&note, &cp.origin, "board", &other.verifying_key()),
            Err(LogError::Signature)
        );
        assert!(matches!(
            Checkpoint::verify(&note, &origin_for(&[1; 32]), "board", &key.verifying_key()),
            Err(LogError::Origin { .. })
        ));
        let tampered = note.replacen("\n12\n", "\n13\n", 1);
        assert_eq!(
            Checkpoint::verify(&tampered, &cp.origin, "board", &key.verifying_key()),
            Err(LogError::Signature)
        );
        // An extension line, even one the board itself signed, is not zkvote's form.
        let extended = {
            use base64::Engine;
            let body = format!("{}extra\n", cp.body());
            let mut blob = note_key_id("board", &key.verifying_key()).to_vec();
            blob.extend_from_slice(&key.sign(body.as_bytes()).to_bytes());
            format!("{body}\n\u{2014} board {}\n", b64().encode(blob))
        };
        assert!(matches!(
            Checkpoint::verify(&extended, &cp.origin, "board", &key.verifying_key()),
            Err(LogError::Checkpoint(m)) if m.contains("extension")
        ));
        // A receipt over a small tree, checked now and against a later checkpoint.
        let data: Vec<Vec<u8>> = (0u8..5).map(|i| vec![i]).collect();
        let mut t = MemoryTree::from_leaf_hashes(data.iter().map(|d| leaf_hash(d)));
        let eid = [9u8; 32];
        let sign = |t: &MemoryTree| {
            Checkpoint {
                origin: origin_for(&eid),
                size: t.size(),
                root: t.root(),
            }
            .sign(BOARD_KEY_NAME, &key)
        };
        let receipt = Receipt {
            index: 3,
            leaf_hash: leaf_hash(&[3]),
            checkpoint: sign(&t),
            inclusion_proof: inclusion_proof(&t, 3, 5).unwrap(),
        };
        let json = serde_json::to_string(&receipt).unwrap();
        let receipt: Receipt = serde_json::from_str(&json).unwrap();
        assert_eq!(receipt.verify(&eid, &key.verifying_key()).unwrap().size, 5);
        for i in 5u8..9 {
            t.push(leaf_hash(&[i]));
        }
        let newer = sign(&t);
        let proof = consistency_proof(&t, 5, 9).unwrap();
        assert_eq!(
            receipt
                .verify_against(&eid, &key.verifying_key(), &newer, &proof)
                .unwrap()
                .size,
            9
        );
        assert!(receipt
            .verify_against(&eid, &key.verifying_key(), &newer, &proof[1..])
            .is_err());
        let mut forged = receipt.clone();
        forged.leaf_hash = leaf_hash(&[4]);
        assert!(forged.verify(&eid, &key.verifying_key()).is_err());
        assert!(receipt.verify(&[8; 32], &key.verifying_key()).is_err());
        let padded = note.replacen("\n12\n", "\n012\n", 1);
        assert!(matches!(
            Checkpoint::verify(&padded, &cp.origin, "board", &key.verifying_key()),
            Err(LogError::Checkpoint(_))
        ));
    }
}
