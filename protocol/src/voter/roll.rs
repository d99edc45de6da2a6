//! The voter's copy of the frozen roll (`docs/protocol.md` section 9.4.1): the whole roll, or
//! only the bucket that holds the voter's commitment, found from the position the board
//! gave at registration. Either is checked against the frozen root before a path is taken
//! from it.

use super::{board, receipt_checkpoint, VoterError};
use crate::api::Registered;
use crate::entry::Entry;
use ark_bls12_381::Fr;
use serde::{Deserialize, Serialize};
use zkvote_circuits::field::{fr_from_bytes, fr_to_bytes};
use zkvote_circuits::merkle::bucket::{BucketId, RollBucket};
use zkvote_circuits::merkle::{MerklePath, VoterRoll};
use zkvote_core::log::Receipt;
use zkvote_core::Manifest;

/// Leaves per bucket a voter asks for unless told otherwise: `2^12` (4,096 voters, 128 KiB),
/// clamped to what the roll's depth allows.
pub const DEFAULT_BUCKET_BITS: u8 = 12;

/// What the board answered for the roll.
#[derive(Clone, Copy, Debug)]
pub enum RollAnswer<'a> {
    /// `GET /roll`: 32 bytes per commitment, in roll order.
    Whole(&'a [u8]),
    /// `GET /roll/buckets/{index}?bits=B`: the siblings above the bucket, then its leaves.
    Bucket(BucketId, &'a [u8]),
}

/// A checked copy of the roll, or of the voter's bucket of it.
#[derive(Clone, Debug)]
pub enum RollCopy {
    /// The whole roll.
    Whole(VoterRoll),
    /// One bucket and the siblings above it.
    Bucket(RollBucket),
}

impl RollCopy {
    /// Decodes a board's answer for a roll of `depth` and checks that it gives `root`, the
    /// frozen root: a bucket's leaves and positions are then the roll's.
    pub fn check(depth: u8, answer: RollAnswer<'_>, root: &Fr) -> Result<Self, VoterError> {
        let copy = match answer {
            RollAnswer::Whole(bytes) => RollCopy::Whole(
                VoterRoll::new(depth, decode_roll(bytes)?).map_err(|e| board("voter roll", e))?,
            ),
            RollAnswer::Bucket(id, bytes) => {
                if id.depth() != depth {
                    return Err(board("roll bucket", "it is for a roll of another depth"));
                }
                RollCopy::Bucket(
                    RollBucket::decode(id, bytes).map_err(|e| board("roll bucket", e))?,
                )
            }
        };
        if copy.root() != *root {
            return Err(board(
                "frozen roll",
                "its root is not the root of its registrations",
            ));
        }
        Ok(copy)
    }

    /// The root this copy gives.
    pub fn root(&self) -> Fr {
        match self {
            RollCopy::Whole(roll) => roll.root(),
            RollCopy::Bucket(bucket) => bucket.root(),
        }
    }

    /// The path of `commitment` (its first position in this copy).
    pub fn path(&self, commitment: &Fr) -> Option<MerklePath> {
        match self {
            RollCopy::Whole(roll) => roll.position(commitment).and_then(|p| roll.path(p)),
            RollCopy::Bucket(bucket) => bucket.path(commitment),
        }
    }
}

/// Decodes the frozen roll as the board serves it: 32 bytes per commitment, in log order,
/// each a canonical field element.
pub fn decode_roll(bytes: &[u8]) -> Result<Vec<Fr>, VoterError> {
    if bytes.len() % 32 != 0 {
        return Err(board("voter roll", "its length is not a multiple of 32"));
    }
    bytes
        .chunks_exact(32)
        .enumerate()
        .map(|(i, c)| {
            let b: &[u8; 32] = c.try_into().expect("32-byte chunks");
            fr_from_bytes(b, "commitment")
                .map_err(|_| board("voter roll", format!("commitment {i} is not canonical")))
        })
        .collect()
}

/// Checks the board's answer to a registration of `commitment`: the receipt is signed by
/// the manifest's board key, its inclusion proof holds, and the logged entry is exactly
/// this registration. The position is the board's word (a wrong one shows when the bucket
/// does not hold the commitment).
pub fn check_registration(
    manifest: &Manifest,
    commitment: &Fr,
    registered: &Registered,
) -> Result<(), VoterError> {
    receipt_checkpoint(manifest, &registered.receipt)?;
    if registered.receipt.leaf_hash != Entry::registration_leaf(*commitment) {
        return Err(VoterError::Receipt(
            "it is for an entry that is not this registration".into(),
        ));
    }
    if registered.roll_position >= 1u64 << manifest.roll_depth {
        return Err(board("registration", "its roll position is past the roll"));
    }
    Ok(())
}

/// A voter's saved registration, as `zkvote voter register` writes it: where, which
/// election, which commitment, its position in the roll and the board's receipt.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistrationFile {
    /// The board's base URL.
    pub board: String,
    /// Election id, hex.
    pub election_id: String,
    /// The registered commitment, hex.
    pub commitment: String,
    /// The commitment's leaf position in the roll.
    pub roll_position: u64,
    /// The board's receipt for the registration entry.
    pub receipt: Receipt,
}

impl RegistrationFile {
    /// The file for a checked registration.
    pub fn new(board: &str, manifest: &Manifest, commitment: &Fr, r: Registered) -> Self {
        RegistrationFile {
            board: board.to_string(),
            election_id: hex::encode(manifest.election_id),
            commitment: hex::encode(fr_to_bytes(commitment)),
            roll_position: r.roll_position,
            receipt: r.receipt,
        }
    }

    /// Parses a registration file's text.
    pub fn parse(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// The file's text (pretty JSON).
    pub fn to_text(&self) -> String {
        serde_json::to_string_pretty(self).expect("a registration file serializes") + "\n"
    }

    /// The bucket of `2^bits` leaves (clamped to what a roll of `depth` allows) that holds
    /// this registration, if the file is for `election_id` and `commitment`.
    pub fn bucket(
        &self,
        election_id: &[u8; 32],
        commitment: &Fr,
        depth: u8,
        bits: u8,
    ) -> Result<BucketId, VoterError> {
        if self.election_id != hex::encode(election_id) {
            return Err(VoterError::Registration(
                "the registration file is for another election".into(),
            ));
        }
        if self.commitment != hex::encode(fr_to_bytes(commitment)) {
            return Err(VoterError::Registration(
                "the registration file is for another credential".into(),
            ));
        }
        BucketId::containing(depth, BucketId::clamp_bits(depth, bits), self.roll_position)
            .map_err(|e| VoterError::Registration(e.to_string()))
    }
}
