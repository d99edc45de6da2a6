//! The board API's request and response bodies (`docs/protocol.md` section 12.4), shared
//! by the board and its clients. Requests refuse unknown fields.

use crate::entry::Entry;
use crate::kind::{EntryKind, Phase};
use serde::{Deserialize, Serialize};
use zkvote_core::log::Receipt;
use zkvote_core::Manifest;

/// Largest accepted request body (a complete ballot of the largest manifest fits easily;
/// the election-creation request carries the proving key).
pub const MAX_BODY: usize = 8 << 20;
/// Largest ballot request body.
pub const MAX_BALLOT_BODY: usize = 256 << 10;
/// Largest body of the small commission and voter requests.
pub const MAX_SMALL_BODY: usize = 4096;
/// Largest complaint or result body.
pub const MAX_MESSAGE_BODY: usize = 65536;
/// Longest accepted request target (path and query).
pub const MAX_URI: usize = 4096;
/// Most registration codes issued by one request.
pub const MAX_CODES: u32 = 100_000;

/// Body of `POST /v1/elections`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateElection {
    /// The manifest (JSON form of `docs/protocol.md` section 2.1).
    pub manifest: Manifest,
    /// The compressed Groth16 verifying key, hex (version 1 only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groth16_vk: Option<String>,
    /// The compressed Groth16 proving key, standard base64 (version 1 only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proving_key: Option<String>,
}

/// Body of `POST /v1/elections/{id}/setup/contributions`: the fields of a
/// `setup-contribution` entry (`docs/protocol.md` section 12.1).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetupContributionBody {
    /// The phase contributed to.
    pub phase: zkvote_circuits::setup::SetupPhase,
    /// The contributor's name.
    pub contributor: crate::fields::ContributorName,
    /// The contributor's ed25519 key.
    pub key: crate::fields::PublicKeyBytes,
    /// The new parameters.
    pub params: crate::fields::SetupParams,
    /// The proof of knowledge.
    pub proof: crate::fields::SetupProofBytes,
    /// The contributor's signature, hex.
    #[serde(with = "zkvote_tally::ceremony::serde_sig")]
    pub signature: [u8; 64],
}

impl SetupContributionBody {
    /// The entry this body asks the board to append.
    pub fn into_entry(self) -> Entry {
        Entry::SetupContribution {
            phase: self.phase,
            contributor: self.contributor,
            key: self.key,
            params: self.params,
            proof: self.proof,
            signature: self.signature,
        }
    }

    /// The body of a `setup-contribution` entry.
    pub fn from_entry(entry: Entry) -> Option<Self> {
        match entry {
            Entry::SetupContribution {
                phase,
                contributor,
                key,
                params,
                proof,
                signature,
            } => Some(SetupContributionBody {
                phase,
                contributor,
                key,
                params,
                proof,
                signature,
            }),
            _ => None,
        }
    }
}

/// One contributor of a setup ceremony, as `GET /v1/elections/{id}/setup` lists it.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContributorView {
    /// The phase contributed to (1 or 2).
    pub phase: u8,
    /// The name given.
    pub contributor: String,
    /// The ed25519 key, hex.
    pub key: String,
    /// The trustee whose manifest signing key it is, if any.
    pub trustee: Option<u32>,
}

/// Answer to `GET /v1/elections/{id}/setup`: where a version-2 election's setup ceremony
/// stands.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetupStatus {
    /// The transcript's phase (1 or 2).
    pub phase: u8,
    /// Whether the ceremony has closed (a `setup-final` entry pins its keys).
    pub closed: bool,
    /// The transcript digest the next contribution binds to, hex.
    pub digest: String,
    /// The contributors, in log order.
    pub contributors: Vec<ContributorView>,
    /// The trustees without a phase-1 contribution.
    pub missing_phase1: Vec<u32>,
    /// The trustees without a phase-2 contribution.
    pub missing_phase2: Vec<u32>,
    /// The proving-key hash pinned by the `setup-final` entry, hex, once closed.
    pub proving_key_hash: Option<String>,
}

/// Body of `POST /v1/elections/{id}/registration-codes`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssueCodes {
    /// How many one-time codes, 1 to [`MAX_CODES`].
    pub count: u32,
}

/// Answer to `POST /v1/elections/{id}/registration-codes`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuedCodes {
    /// The one-time codes (16 random bytes each, hex).
    pub codes: Vec<String>,
}

/// Body of `POST /v1/elections/{id}/registrations`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Register {
    /// The one-time code.
    pub code: String,
    /// The credential commitment (field element, hex).
    pub commitment: String,
}

/// Answer of `POST /v1/elections/{id}/registrations`: the signed receipt of the
/// registration entry and the commitment's position in the roll (registration order),
/// which the voter keeps to fetch only its bucket of the frozen roll later.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Registered {
    /// The board's receipt for the registration entry.
    pub receipt: Receipt,
    /// The commitment's leaf position in the roll.
    pub roll_position: u64,
}

/// Query of `GET /v1/elections/{id}/roll/buckets/{index}`: the bucket holds `2^bits`
/// leaves.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BucketQuery {
    /// Leaves per bucket, as a power of two (`min(8, depth)..=depth`).
    pub bits: u8,
}

/// Body of `POST /v1/elections/{id}/result`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostResult {
    /// Counts per contest and option.
    pub counts: Vec<Vec<u64>>,
}

/// The body of the commission's freeze, open and close requests: `{}`.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmptyBody {}

/// Answer to `GET /v1/elections/{id}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ElectionStatus {
    /// The phase.
    pub phase: Phase,
    /// Registrations in the log.
    pub registrations: u64,
    /// The frozen roll's root (hex), once frozen.
    pub roll_root: Option<String>,
    /// The joint key (hex), once open.
    pub joint_key: Option<String>,
    /// Ballot entries in the log.
    pub ballots: u64,
    /// Dealings in the log.
    pub dealings: u64,
    /// Complaints in the log.
    pub complaints: u64,
    /// Partial decryptions in the log.
    pub partial_decryptions: u64,
    /// Entries in the log.
    pub size: u64,
    /// The proving-key hash a version-2 election's setup ceremony pinned (hex), once it
    /// has closed; clients refuse a proving key whose hash differs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proving_key_hash: Option<String>,
}

/// One element of `GET /v1/elections/{id}/entries`: an entry with its index and kind, in
/// the form of its record line (section 12.3).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoggedEntry {
    /// The entry's index.
    pub index: u64,
    /// Its kind.
    pub kind: EntryKind,
    /// The entry.
    pub entry: Entry,
}

/// Answer to `GET /v1/health`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Health {
    /// `"ok"`.
    pub status: String,
    /// The storage backend (`sqlite` or `postgres`).
    pub storage: String,
    /// The board's checkpoint key (ed25519, hex).
    pub board_key: String,
}

/// Answer to `GET /v1/elections/{id}/groth16-vk`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyingKeyView {
    /// The compressed verifying key, hex.
    pub groth16_vk: String,
}

/// Answer to `GET /v1/elections/{id}/checkpoint`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckpointView {
    /// Tree size.
    pub size: u64,
    /// Root hash, hex.
    pub root: String,
    /// The signed note.
    pub checkpoint: String,
}

/// Answer to `GET /v1/elections/{id}/proofs/inclusion`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InclusionView {
    /// The entry's index.
    pub index: u64,
    /// The tree size the proof is for.
    pub size: u64,
    /// The entry's leaf hash, hex.
    pub leaf_hash: Option<String>,
    /// The audit path, hex hashes.
    pub proof: Vec<String>,
}

/// Answer to `GET /v1/elections/{id}/proofs/consistency`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyView {
    /// The old size.
    pub old: u64,
    /// The new size.
    pub new: u64,
    /// The proof, hex hashes.
    pub proof: Vec<String>,
}
