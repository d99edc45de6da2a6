//! The election manifest: what is being decided, by whom, when, under which keys.
//!
//! Commissions write it as TOML; [`Manifest::from_toml`] parses and validates it, giving
//! each mistake its own error. The manifest has one canonical binary encoding
//! ([`Manifest::canonical_bytes`]) and one hash ([`Manifest::hash`]) that every later
//! proof and log entry binds to.

use crate::codec::{hex32, Element};
use crate::cosignature::WitnessKey;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// The newest manifest format version this crate reads and writes. Version 1 pins a
/// single-party Groth16 setup's verifying key (`eligibility.groth16_vk_hash`); version 2
/// has no such field: its keys come from the election's setup ceremony
/// (`docs/protocol.md` section 9.8) and are pinned in the log.
pub const MANIFEST_VERSION: u32 = 2;
/// Domain prefix of the canonical manifest encoding.
pub const MANIFEST_DOMAIN: &[u8] = b"zkvote/v1/manifest";
/// Most contests in one election.
pub const MAX_CONTESTS: usize = 64;
/// Most options in one contest.
pub const MAX_OPTIONS: usize = 64;
/// Most trustees in one election.
pub const MAX_TRUSTEES: usize = 64;
/// Most witnesses a manifest lists.
pub const MAX_WITNESSES: usize = 32;
/// Longest id (contest or option), in bytes.
pub const MAX_ID_LEN: usize = 64;
/// Longest title or label, in bytes.
pub const MAX_TEXT_LEN: usize = 1024;
/// Smallest and largest voter-roll Merkle depth.
pub const ROLL_DEPTH_RANGE: std::ops::RangeInclusive<u8> = 2..=32;
/// Default voter-roll depth (2^20, about one million voters).
pub const DEFAULT_ROLL_DEPTH: u8 = 20;

/// Every way a manifest can be wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    /// The TOML (or JSON) does not parse or has unknown or missing fields.
    #[error("manifest does not parse: {0}")]
    Syntax(String),
    /// A version other than 1 and [`MANIFEST_VERSION`].
    #[error(
        "unsupported manifest version {0} (this software reads versions 1 and {MANIFEST_VERSION})"
    )]
    Version(u32),
    /// `eligibility.groth16_vk_hash` present in a version-2 manifest or missing in a
    /// version-1 one.
    #[error("eligibility.groth16_vk_hash belongs to version-1 manifests only (a version-2 election's keys come from its setup ceremony)")]
    VerifyingKeyHashVersion,
    /// A field that must be 32 bytes of hex is not.
    #[error("{field}: {reason}")]
    Hex {
        /// The field.
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// The election id is all zero.
    #[error("election_id must not be all zero")]
    ZeroElectionId,
    /// A title or label is empty or too long.
    #[error("{field} must be 1 to {MAX_TEXT_LEN} bytes")]
    Text {
        /// The field.
        field: String,
    },
    /// A timestamp that is not RFC 3339 or has fractional seconds.
    #[error("{field}: not an RFC 3339 timestamp with whole seconds: {value}")]
    Timestamp {
        /// The field.
        field: String,
        /// The text given.
        value: String,
    },
    /// The voting window closes before (or when) it opens.
    #[error("closes_at ({closes_at}) must be after opens_at ({opens_at})")]
    WindowEndBeforeStart {
        /// Opening time.
        opens_at: String,
        /// Closing time.
        closes_at: String,
    },
    /// An unknown revote policy.
    #[error("revote_policy must be \"reject\" or \"last-ballot-counts\", not {0:?}")]
    RevotePolicy(String),
    /// An ed25519 public key that is not a valid, non-weak point.
    #[error("{field}: not a valid ed25519 public key")]
    SigningKey {
        /// The field.
        field: String,
    },
    /// A Ristretto255 key that is not canonical or is the identity.
    #[error("{field}: not a canonical, non-identity Ristretto255 point")]
    EncryptionKey {
        /// The field.
        field: String,
    },
    /// The same key appears twice.
    #[error("{field}: key is used twice in the manifest")]
    DuplicateKey {
        /// The field of the second use.
        field: String,
    },
    /// The voter-roll depth is out of range.
    #[error("eligibility.roll_depth must be between 2 and 32, not {0}")]
    RollDepth(u8),
    /// No trustees are listed.
    #[error("trustees.members must list at least one trustee")]
    NoTrustees,
    /// Too many trustees.
    #[error("at most {MAX_TRUSTEES} trustees are supported, got {0}")]
    TooManyTrustees(usize),
    /// The threshold is zero.
    #[error("trustees.threshold must be at least 1")]
    ThresholdZero,
    /// The threshold exceeds the number of trustees.
    #[error("trustees.threshold ({threshold}) exceeds the number of trustees ({n})")]
    ThresholdExceedsTrustees {
        /// The threshold.
        threshold: u32,
        /// Number of trustees.
        n: usize,
    },
    /// Trustee indices must be exactly 1..=n.
    #[error("trustee indices must be 1..={n} each exactly once; index {index} is out of range or repeated")]
    TrusteeIndex {
        /// The offending index.
        index: u32,
        /// Number of trustees.
        n: usize,
    },
    /// An id with characters other than `a-z 0-9 - _`, or of bad length.
    #[error("{field}: id {id:?} must be 1 to {MAX_ID_LEN} characters of a-z, 0-9, '-' and '_'")]
    BadId {
        /// Where the id is.
        field: String,
        /// The id.
        id: String,
    },
    /// No contests.
    #[error("the manifest must have at least one contest")]
    NoContests,
    /// Too many contests.
    #[error("at most {MAX_CONTESTS} contests are supported, got {0}")]
    TooManyContests(usize),
    /// Two contests share an id.
    #[error("duplicate contest id {0:?}")]
    DuplicateContestId(String),
    /// A contest with no options.
    #[error("contest {0:?} has no options")]
    EmptyContest(String),
    /// A contest with too many options.
    #[error("contest {contest:?} has {n} options; at most {MAX_OPTIONS} are supported")]
    TooManyOptions {
        /// The contest.
        contest: String,
        /// Its number of options.
        n: usize,
    },
    /// Two options of one contest share an id.
    #[error("contest {contest:?}: duplicate option id {option:?}")]
    DuplicateOptionId {
        /// The contest.
        contest: String,
        /// The option id.
        option: String,
    },
    /// `min_selections > max_selections`.
    #[error("contest {contest:?}: min_selections ({min}) is greater than max_selections ({max})")]
    MinGreaterThanMax {
        /// The contest.
        contest: String,
        /// Minimum.
        min: u32,
        /// Maximum.
        max: u32,
    },
    /// `max_selections` is zero.
    #[error("contest {0:?}: max_selections must be at least 1")]
    MaxZero(String),
    /// The `witnesses` section is not a valid list of witnesses and threshold.
    #[error("witnesses: {0}")]
    Witnesses(String),
    /// `max_selections` exceeds the number of options.
    #[error(
        "contest {contest:?}: max_selections ({max}) exceeds the number of options ({options})"
    )]
    MaxExceedsOptions {
        /// The contest.
        contest: String,
        /// Maximum.
        max: u32,
        /// Number of options.
        options: usize,
    },
}

/// What happens when a nullifier votes again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RevotePolicy {
    /// A second ballot with a used nullifier is refused.
    Reject,
    /// A second ballot is appended and supersedes the earlier one.
    LastBallotCounts,
}

impl RevotePolicy {
    fn code(self) -> u8 {
        match self {
            RevotePolicy::Reject => 0,
            RevotePolicy::LastBallotCounts => 1,
        }
    }
    fn parse(s: &str) -> Result<Self, ManifestError> {
        match s {
            "reject" => Ok(RevotePolicy::Reject),
            "last-ballot-counts" => Ok(RevotePolicy::LastBallotCounts),
            other => Err(ManifestError::RevotePolicy(other.to_string())),
        }
    }
    fn as_str(self) -> &'static str {
        match self {
            RevotePolicy::Reject => "reject",
            RevotePolicy::LastBallotCounts => "last-ballot-counts",
        }
    }
}

/// One option of a contest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContestOption {
    /// Stable id (`a-z 0-9 - _`).
    pub id: String,
    /// Text shown to voters.
    pub label: String,
}

/// One contest: choose between `min_selections` and `max_selections` of the options.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Contest {
    /// Stable id (`a-z 0-9 - _`).
    pub id: String,
    /// Text shown to voters.
    pub title: String,
    /// Fewest options a voter selects.
    pub min_selections: u32,
    /// Most options a voter selects.
    pub max_selections: u32,
    /// The options, in ballot order.
    pub options: Vec<ContestOption>,
}

impl Contest {
    /// Whether ballots carry a proof that the number of selections is in
    /// `[min_selections, max_selections]`. It is omitted only when the range is
    /// `[0, number of options]`, which the per-selection 0/1 proofs already imply.
    pub fn needs_range_proof(&self) -> bool {
        !(self.min_selections == 0 && self.max_selections as usize == self.options.len())
    }
}

/// One trustee as the manifest lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trustee {
    /// Index `1..=n`; also the trustee's evaluation point in the key ceremony.
    pub index: u32,
    /// Display name.
    pub name: String,
    /// ed25519 key that signs the trustee's board messages.
    pub signing_key: [u8; 32],
    /// Ristretto255 key that receives the trustee's encrypted ceremony shares.
    pub encryption_key: Element,
}

/// One witness of the election's log (`docs/protocol.md` section 15): its name and key,
/// which clients check cosignatures against, and where the board reaches it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElectionWitness {
    /// Name and Ed25519 key.
    pub key: WitnessKey,
    /// Its base URL (`http://` or `https://`); `POST {url}/add-checkpoint`.
    pub url: String,
}

/// A validated election manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "ManifestDocument", into = "ManifestDocument")]
pub struct Manifest {
    /// 32-byte election id.
    pub election_id: [u8; 32],
    /// Title of the election.
    pub title: String,
    /// Voting opens (Unix seconds).
    pub opens_at: i64,
    /// Voting closes (Unix seconds).
    pub closes_at: i64,
    /// Revote policy.
    pub revote_policy: RevotePolicy,
    /// ed25519 key of the election commission (signs administrative requests).
    pub commission_key: [u8; 32],
    /// ed25519 key of the bulletin board (signs checkpoints).
    pub board_key: [u8; 32],
    /// Depth of the voter-roll Merkle tree.
    pub roll_depth: u8,
    /// Hash of the Groth16 verifying key of the eligibility circuit, in a version-1
    /// manifest; `None` in version 2, whose keys come from the setup ceremony.
    pub groth16_vk_hash: Option<[u8; 32]>,
    /// Decryption threshold `t`.
    pub threshold: u32,
    /// Trustees, ordered by index `1..=n`.
    pub trustees: Vec<Trustee>,
    /// Contests in ballot order.
    pub contests: Vec<Contest>,
    /// The witnesses that cosign the log's checkpoints (none: the board signs alone).
    pub witnesses: Vec<ElectionWitness>,
    /// Cosignatures from distinct witnesses a client requires on a checkpoint (0 when
    /// there are no witnesses).
    pub witness_threshold: u32,
}

/// The serde form of the manifest (TOML for commissions, JSON on the API). Converting it
/// into a [`Manifest`] validates it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestDocument {
    /// Format version (1 or 2).
    pub version: u32,
    /// Election id, 64 hex digits.
    pub election_id: String,
    /// Title.
    pub title: String,
    /// RFC 3339 opening time.
    pub opens_at: String,
    /// RFC 3339 closing time.
    pub closes_at: String,
    /// `reject` or `last-ballot-counts`.
    pub revote_policy: String,
    /// Commission ed25519 key, hex.
    pub commission_key: String,
    /// Board ed25519 key, hex.
    pub board_key: String,
    /// Eligibility parameters.
    pub eligibility: EligibilityDocument,
    /// Trustee set.
    pub trustees: TrusteesDocument,
    /// Contests.
    pub contests: Vec<Contest>,
    /// The log's witnesses, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub witnesses: Option<WitnessesDocument>,
}

/// Witnesses section of a [`ManifestDocument`].
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WitnessesDocument {
    /// Cosignatures required on a checkpoint, `1..=members`.
    pub threshold: u32,
    /// The witnesses (at least one).
    #[serde(default)]
    pub members: Vec<WitnessDocument>,
}

/// One witness in a [`ManifestDocument`].
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WitnessDocument {
    /// Its key name in cosignatures (no white space, no `+`).
    pub name: String,
    /// Ed25519 public key, hex.
    pub public_key: String,
    /// Base URL, `http://` or `https://`.
    pub url: String,
}

/// Eligibility section of a [`ManifestDocument`].
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EligibilityDocument {
    /// Voter-roll Merkle depth.
    pub roll_depth: u8,
    /// Groth16 verifying-key hash, hex (version 1 only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groth16_vk_hash: Option<String>,
}

/// Trustee section of a [`ManifestDocument`].
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrusteesDocument {
    /// Threshold `t`.
    pub threshold: u32,
    /// The trustees.
    pub members: Vec<TrusteeDocument>,
}

/// One trustee in a [`ManifestDocument`].
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrusteeDocument {
    /// Index `1..=n`.
    pub index: u32,
    /// Display name.
    pub name: String,
    /// ed25519 key, hex.
    pub signing_key: String,
    /// Ristretto255 key, hex.
    pub encryption_key: String,
}

fn parse_hex32(field: &str, value: &str) -> Result<[u8; 32], ManifestError> {
    hex32(value).map_err(|e| ManifestError::Hex {
        field: field.to_string(),
        reason: e.to_string(),
    })
}

fn parse_time(field: &str, value: &str) -> Result<i64, ManifestError> {
    let bad = || ManifestError::Timestamp {
        field: field.to_string(),
        value: value.to_string(),
    };
    // One accepted form: `YYYY-MM-DDTHH:MM:SS` then `Z` or `+HH:MM` / `-HH:MM`, with an
    // uppercase `T` and `Z` and no fractional seconds.
    let b = value.as_bytes();
    let digits = |range: std::ops::Range<usize>| b[range].iter().all(u8::is_ascii_digit);
    let shape = b.len() >= 20
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && b[10] == b'T'
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19)
        && match &b[19..] {
            [b'Z'] => true,
            [sign, h1, h2, b':', m1, m2] => {
                matches!(sign, b'+' | b'-') && [h1, h2, m1, m2].iter().all(|c| c.is_ascii_digit())
            }
            _ => false,
        };
    if !shape {
        return Err(bad());
    }
    let t = OffsetDateTime::parse(value, &Rfc3339).map_err(|_| bad())?;
    Ok(t.unix_timestamp())
}

/// Formats Unix seconds as RFC 3339 in UTC.
pub fn format_time(t: i64) -> String {
    OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|d| d.format(&Rfc3339).ok())
        .unwrap_or_else(|| t.to_string())
}

fn check_text(field: &str, value: &str) -> Result<(), ManifestError> {
    if value.is_empty() || value.len() > MAX_TEXT_LEN {
        return Err(ManifestError::Text {
            field: field.to_string(),
        });
    }
    Ok(())
}

fn check_id(field: &str, id: &str) -> Result<(), ManifestError> {
    let ok = !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id
            .bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-' || c == b'_');
    if ok {
        Ok(())
    } else {
        Err(ManifestError::BadId {
            field: field.to_string(),
            id: id.to_string(),
        })
    }
}

fn check_signing_key(field: &str, value: &str) -> Result<[u8; 32], ManifestError> {
    let bytes = parse_hex32(field, value)?;
    let key =
        ed25519_dalek::VerifyingKey::from_bytes(&bytes).map_err(|_| ManifestError::SigningKey {
            field: field.to_string(),
        })?;
    if key.is_weak() {
        return Err(ManifestError::SigningKey {
            field: field.to_string(),
        });
    }
    Ok(bytes)
}

impl TryFrom<ManifestDocument> for Manifest {
    type Error = ManifestError;

    fn try_from(doc: ManifestDocument) -> Result<Self, ManifestError> {
        if doc.version != 1 && doc.version != MANIFEST_VERSION {
            return Err(ManifestError::Version(doc.version));
        }
        let election_id = parse_hex32("election_id", &doc.election_id)?;
        if election_id == [0u8; 32] {
            return Err(ManifestError::ZeroElectionId);
        }
        check_text("title", &doc.title)?;
        let opens_at = parse_time("opens_at", &doc.opens_at)?;
        let closes_at = parse_time("closes_at", &doc.closes_at)?;
        if closes_at <= opens_at {
            return Err(ManifestError::WindowEndBeforeStart {
                opens_at: doc.opens_at,
                closes_at: doc.closes_at,
            });
        }
        let revote_policy = RevotePolicy::parse(&doc.revote_policy)?;
        let commission_key = check_signing_key("commission_key", &doc.commission_key)?;
        let board_key = check_signing_key("board_key", &doc.board_key)?;
        let mut signing_keys = HashSet::from([commission_key]);
        if !signing_keys.insert(board_key) {
            return Err(ManifestError::DuplicateKey {
                field: "board_key".into(),
            });
        }

        let roll_depth = doc.eligibility.roll_depth;
        if !ROLL_DEPTH_RANGE.contains(&roll_depth) {
            return Err(ManifestError::RollDepth(roll_depth));
        }
        let groth16_vk_hash = match (doc.version, &doc.eligibility.groth16_vk_hash) {
            (1, Some(hash)) => Some(parse_hex32("eligibility.groth16_vk_hash", hash)?),
            (2, None) => None,
            _ => return Err(ManifestError::VerifyingKeyHashVersion),
        };

        let n = doc.trustees.members.len();
        if n == 0 {
            return Err(ManifestError::NoTrustees);
        }
        if n > MAX_TRUSTEES {
            return Err(ManifestError::TooManyTrustees(n));
        }
        let threshold = doc.trustees.threshold;
        if threshold == 0 {
            return Err(ManifestError::ThresholdZero);
        }
        if threshold as usize > n {
            return Err(ManifestError::ThresholdExceedsTrustees { threshold, n });
        }
        let mut slots: Vec<Option<Trustee>> = vec![None; n];
        let mut enc_keys = HashSet::new();
        for m in &doc.trustees.members {
            let slot = (m.index as usize)
                .checked_sub(1)
                .filter(|&i| i < n && slots[i].is_none())
                .ok_or(ManifestError::TrusteeIndex { index: m.index, n })?;
            let field = |name: &str| format!("trustees.members[index={}].{name}", m.index);
            check_text(&field("name"), &m.name)?;
            let signing_key = check_signing_key(&field("signing_key"), &m.signing_key)?;
            if !signing_keys.insert(signing_key) {
                return Err(ManifestError::DuplicateKey {
                    field: field("signing_key"),
                });
            }
            let enc_bytes = parse_hex32(&field("encryption_key"), &m.encryption_key)?;
            let encryption_key =
                Element::decode(&enc_bytes).map_err(|_| ManifestError::EncryptionKey {
                    field: field("encryption_key"),
                })?;
            if !enc_keys.insert(enc_bytes) {
                return Err(ManifestError::DuplicateKey {
                    field: field("encryption_key"),
                });
            }
            slots[slot] = Some(Trustee {
                index: m.index,
                name: m.name.clone(),
                signing_key,
                encryption_key,
            });
        }
        let trustees: Vec<Trustee> = slots.into_iter().flatten().collect();

        if doc.contests.is_empty() {
            return Err(ManifestError::NoContests);
        }
        if doc.contests.len() > MAX_CONTESTS {
            return Err(ManifestError::TooManyContests(doc.contests.len()));
        }
        let mut contest_ids = HashSet::new();
        for c in &doc.contests {
            check_id("contests.id", &c.id)?;
            if !contest_ids.insert(c.id.as_str()) {
                return Err(ManifestError::DuplicateContestId(c.id.clone()));
            }
            check_text(&format!("contests[{}].title", c.id), &c.title)?;
            if c.options.is_empty() {
                return Err(ManifestError::EmptyContest(c.id.clone()));
            }
            if c.options.len() > MAX_OPTIONS {
                return Err(ManifestError::TooManyOptions {
                    contest: c.id.clone(),
                    n: c.options.len(),
                });
            }
            let mut option_ids = HashSet::new();
            for o in &c.options {
                check_id(&format!("contests[{}].options.id", c.id), &o.id)?;
                if !option_ids.insert(o.id.as_str()) {
                    return Err(ManifestError::DuplicateOptionId {
                        contest: c.id.clone(),
                        option: o.id.clone(),
                    });
                }
                check_text(
                    &format!("contests[{}].options[{}].label", c.id, o.id),
                    &o.label,
                )?;
            }
            if c.max_selections == 0 {
                return Err(ManifestError::MaxZero(c.id.clone()));
            }
            if c.min_selections > c.max_selections {
                return Err(ManifestError::MinGreaterThanMax {
                    contest: c.id.clone(),
                    min: c.min_selections,
                    max: c.max_selections,
                });
            }
            if c.max_selections as usize > c.options.len() {
                return Err(ManifestError::MaxExceedsOptions {
                    contest: c.id.clone(),
                    max: c.max_selections,
                    options: c.options.len(),
                });
            }
        }

        let (witnesses, witness_threshold) = match &doc.witnesses {
            None => (Vec::new(), 0),
            Some(w) => witnesses_of(w, &mut signing_keys)?,
        };

        Ok(Manifest {
            election_id,
            title: doc.title,
            opens_at,
            closes_at,
            revote_policy,
            commission_key,
            board_key,
            roll_depth,
            groth16_vk_hash,
            threshold,
            trustees,
            contests: doc.contests,
            witnesses,
            witness_threshold,
        })
    }
}

/// Validates the witnesses section: 1 to [`MAX_WITNESSES`] witnesses with distinct valid
/// names, keys used nowhere else in the manifest, `http(s)://` URLs, and a threshold in
/// `1..=n`.
fn witnesses_of(
    doc: &WitnessesDocument,
    signing_keys: &mut HashSet<[u8; 32]>,
) -> Result<(Vec<ElectionWitness>, u32), ManifestError> {
    let bad = |m: String| ManifestError::Witnesses(m);
    let n = doc.members.len();
    if n == 0 || n > MAX_WITNESSES {
        return Err(bad(format!("list 1 to {MAX_WITNESSES} members, not {n}")));
    }
    if doc.threshold == 0 || doc.threshold as usize > n {
        return Err(bad(format!(
            "threshold {} is not between 1 and the {n} members",
            doc.threshold
        )));
    }
    let mut names = HashSet::new();
    let mut out = Vec::with_capacity(n);
    for (i, m) in doc.members.iter().enumerate() {
        let field = |f: &str| format!("witnesses.members[{i}].{f}");
        check_text(&field("name"), &m.name)?;
        if m.name.chars().any(|c| c.is_whitespace() || c == '+') || !names.insert(&m.name) {
            return Err(bad(format!(
                "{}: {:?} is repeated or has white space or '+'",
                field("name"),
                m.name
            )));
        }
        let key = check_signing_key(&field("public_key"), &m.public_key)?;
        if !signing_keys.insert(key) {
            return Err(ManifestError::DuplicateKey {
                field: field("public_key"),
            });
        }
        check_text(&field("url"), &m.url)?;
        let scheme = m.url.starts_with("http://") || m.url.starts_with("https://");
        if !scheme || m.url.ends_with('/') || m.url.contains(char::is_whitespace) {
            return Err(bad(format!(
                "{}: {:?} is not an http(s) base URL without a final '/'",
                field("url"),
                m.url
            )));
        }
        out.push(ElectionWitness {
            key: WitnessKey {
                name: m.name.clone(),
                key: ed25519_dalek::VerifyingKey::from_bytes(&key).expect("checked above"),
            },
            url: m.url.clone(),
        });
    }
    Ok((out, doc.threshold))
}

impl From<Manifest> for ManifestDocument {
    fn from(m: Manifest) -> Self {
        ManifestDocument {
            version: m.version(),
            election_id: hex::encode(m.election_id),
            title: m.title,
            opens_at: format_time(m.opens_at),
            closes_at: format_time(m.closes_at),
            revote_policy: m.revote_policy.as_str().to_string(),
            commission_key: hex::encode(m.commission_key),
            board_key: hex::encode(m.board_key),
            eligibility: EligibilityDocument {
                roll_depth: m.roll_depth,
                groth16_vk_hash: m.groth16_vk_hash.map(hex::encode),
            },
            trustees: TrusteesDocument {
                threshold: m.threshold,
                members: m
                    .trustees
                    .into_iter()
                    .map(|t| TrusteeDocument {
                        index: t.index,
                        name: t.name,
                        signing_key: hex::encode(t.signing_key),
                        encryption_key: hex::encode(t.encryption_key.as_bytes()),
                    })
                    .collect(),
            },
            contests: m.contests,
            witnesses: (!m.witnesses.is_empty()).then(|| WitnessesDocument {
                threshold: m.witness_threshold,
                members: m
                    .witnesses
                    .into_iter()
                    .map(|w| WitnessDocument {
                        name: w.key.name,
                        public_key: hex::encode(w.key.key.as_bytes()),
                        url: w.url,
                    })
                    .collect(),
            }),
        }
    }
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u32).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

impl Manifest {
    /// Parses and validates a TOML manifest.
    pub fn from_toml(text: &str) -> Result<Self, ManifestError> {
        let doc: ManifestDocument =
            toml::from_str(text).map_err(|e| ManifestError::Syntax(e.message().to_string()))?;
        Manifest::try_from(doc)
    }

    /// Parses and validates a JSON manifest (the API form).
    pub fn from_json(text: &str) -> Result<Self, ManifestError> {
        let doc: ManifestDocument =
            serde_json::from_str(text).map_err(|e| ManifestError::Syntax(e.to_string()))?;
        Manifest::try_from(doc)
    }

    /// The manifest as TOML.
    pub fn to_toml(&self) -> String {
        toml::to_string(&ManifestDocument::from(self.clone()))
            .expect("a manifest document always serializes")
    }

    /// The format version: 1 with a pinned verifying-key hash, 2 with a setup ceremony.
    pub fn version(&self) -> u32 {
        if self.groth16_vk_hash.is_some() {
            1
        } else {
            2
        }
    }

    /// Number of trustees `n`.
    pub fn trustee_count(&self) -> usize {
        self.trustees.len()
    }

    /// Finds a contest by id.
    pub fn contest(&self, id: &str) -> Option<(usize, &Contest)> {
        self.contests.iter().enumerate().find(|(_, c)| c.id == id)
    }

    /// The canonical binary encoding that [`Manifest::hash`] hashes (see
    /// `docs/protocol.md`, "Manifest").
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(1024);
        out.extend_from_slice(MANIFEST_DOMAIN);
        out.extend_from_slice(&self.version().to_le_bytes());
        out.extend_from_slice(&self.election_id);
        put_str(&mut out, &self.title);
        out.extend_from_slice(&self.opens_at.to_le_bytes());
        out.extend_from_slice(&self.closes_at.to_le_bytes());
        out.push(self.revote_policy.code());
        out.extend_from_slice(&self.commission_key);
        out.extend_from_slice(&self.board_key);
        out.push(self.roll_depth);
        if let Some(hash) = &self.groth16_vk_hash {
            out.extend_from_slice(hash);
        }
        out.extend_from_slice(&self.threshold.to_le_bytes());
        out.extend_from_slice(&(self.trustees.len() as u32).to_le_bytes());
        for t in &self.trustees {
            out.extend_from_slice(&t.index.to_le_bytes());
            put_str(&mut out, &t.name);
            out.extend_from_slice(&t.signing_key);
            out.extend_from_slice(t.encryption_key.as_bytes());
        }
        out.extend_from_slice(&(self.contests.len() as u32).to_le_bytes());
        for c in &self.contests {
            put_str(&mut out, &c.id);
            put_str(&mut out, &c.title);
            out.extend_from_slice(&c.min_selections.to_le_bytes());
            out.extend_from_slice(&c.max_selections.to_le_bytes());
            out.extend_from_slice(&(c.options.len() as u32).to_le_bytes());
            for o in &c.options {
                put_str(&mut out, &o.id);
                put_str(&mut out, &o.label);
            }
        }
        // Only a manifest with witnesses has this tail, so earlier manifests keep their
        // hash.
        if !self.witnesses.is_empty() {
            out.extend_from_slice(&self.witness_threshold.to_le_bytes());
            out.extend_from_slice(&(self.witnesses.len() as u32).to_le_bytes());
            for w in &self.witnesses {
                put_str(&mut out, &w.key.name);
                out.extend_from_slice(w.key.key.as_bytes());
                put_str(&mut out, &w.url);
            }
        }
        out
    }

    /// The witnesses' names and keys, as clients check cosignatures against them.
    pub fn witness_keys(&self) -> Vec<WitnessKey> {
        self.witnesses.iter().map(|w| w.key.clone()).collect()
    }

    /// SHA-256 of the canonical encoding: the manifest hash every proof binds to.
    pub fn hash(&self) -> [u8; 32] {
        Sha256::digest(self.canonical_bytes()).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::sample_manifest_toml;

    fn edit(from: &str, to: &str) -> Result<Manifest, ManifestError> {
        let text = sample_manifest_toml();
        assert!(text.contains(from), "sample lacks {from:?}");
        Manifest::from_toml(&text.replacen(from, to, 1))
    }

    #[test]
    fn sample_parses_and_round_trips() {
        let m = Manifest::from_toml(&sample_manifest_toml()).unwrap();
        assert_eq!(m.contests.len(), 2);
        assert_eq!(m.trustees.len(), 3);
        let again = Manifest::from_toml(&m.to_toml()).unwrap();
        assert_eq!(again, m);
        assert_eq!(again.hash(), m.hash());
        let json = serde_json::to_string(&m).unwrap();
        let from_json = Manifest::from_json(&json).unwrap();
        assert_eq!(from_json.hash(), m.hash());
    }

    #[test]
    fn every_field_changes_the_hash() {
        let base = Manifest::from_toml(&sample_manifest_toml()).unwrap().hash();
        for (from, to) in [
            ("title = \"City", "title = \"Town"),
            ("2027-03-01T07:00:00Z", "2027-03-01T07:00:01Z"),
            (
                "revote_policy = \"reject\"",
                "revote_policy = \"last-ballot-counts\"",
            ),
            ("roll_depth = 20", "roll_depth = 21"),
            ("threshold = 2", "threshold = 3"),
            ("max_selections = 5", "max_selections = 4"),
            ("label = \"Ada", "label = \"Adah"),
        ] {
            assert_ne!(edit(from, to).unwrap().hash(), base, "{from} -> {to}");
        }
    }

    /// The sample with a witnesses section of the given threshold and members
    /// (name, key seed, URL).
    fn with_witnesses(threshold: u32, members: &[(&str, u8, &str)]) -> String {
        let mut text = sample_manifest_toml();
        text.push_str(&format!("\n[witnesses]\nthreshold = {threshold}\n"));
        for (name, seed, url) in members {
            let key = ed25519_dalek::SigningKey::from_bytes(&[*seed; 32]).verifying_key();
            text.push_str(&format!(
                "\n[[witnesses.members]]\nname = \"{name}\"\npublic_key = \"{}\"\nurl = \"{url}\"\n",
                hex::encode(key.as_bytes())
            ));
        }
        text
    }

    #[test]
    fn witnesses_are_listed_validated_and_hashed() {
        let plain = Manifest::from_toml(&sample_manifest_toml()).unwrap();
        assert!(plain.witnesses.is_empty() && plain.witness_threshold == 0);
        let two = [
            ("w.example/1", 71, "http://127.0.0.1:9001"),
            ("w.example/2", 72, "https://w2.example"),
        ];
        let m = Manifest::from_toml(&with_witnesses(2, &two)).unwrap();
        assert_eq!(m.witness_threshold, 2);
        assert_eq!(m.witness_keys()[1].name, "w.example/2");
        assert_eq!(m.witnesses[0].url, "http://127.0.0.1:9001");
        assert_eq!(Manifest::from_toml(&m.to_toml()).unwrap(), m);
        assert_eq!(
            Manifest::from_json(&serde_json::to_string(&m).unwrap()).unwrap(),
            m
        );
        // The list, the threshold, every name, key and URL are bound by the hash; a
        // manifest without witnesses keeps the hash it always had.
        assert!(!plain.to_toml().contains("witnesses"));
        let hashes: HashSet<[u8; 32]> = [
            plain.hash(),
            m.hash(),
            Manifest::from_toml(&with_witnesses(1, &two))
                .unwrap()
                .hash(),
            Manifest::from_toml(&with_witnesses(2, &[two[1], two[0]]))
                .unwrap()
                .hash(),
            Manifest::from_toml(&with_witnesses(1, &two[..1]))
                .unwrap()
                .hash(),
            Manifest::from_toml(&with_witnesses(1, &[("w.example/9", 71, two[0].2)]))
                .unwrap()
                .hash(),
            Manifest::from_toml(&with_witnesses(1, &[("w.example/1", 79, two[0].2)]))
                .unwrap()
                .hash(),
            Manifest::from_toml(&with_witnesses(1, &[("w.example/1", 71, "http://x")]))
                .unwrap()
                .hash(),
        ]
        .into();
        assert_eq!(hashes.len(), 8);

        for (threshold, members) in [
            (0, &two[..]),
            (3, &two[..]),
            (1, &[][..]),
            (
                1,
                &[
                    ("w.example/1", 71, "http://a"),
                    ("w.example/1", 72, "http://b"),
                ][..],
            ),
            (1, &[("w example", 71, "http://a")][..]),
            (1, &[("w+x", 71, "http://a")][..]),
            (1, &[("w.example/1", 71, "ftp://a")][..]),
            (1, &[("w.example/1", 71, "http://a/")][..]),
            (
                1,
                &[
                    ("w.example/1", 71, "http://a"),
                    ("w.example/2", 71, "http://b"),
                ][..],
            ),
        ] {
            let r = Manifest::from_toml(&with_witnesses(threshold, members));
            assert!(
                matches!(
                    r,
                    Err(ManifestError::Witnesses(_) | ManifestError::DuplicateKey { .. })
                ),
                "{threshold} {members:?}: {r:?}"
            );
        }
        // A witness may not use the board's (or any other party's) key.
        let board = sample_manifest_toml();
        let board_key = board
            .split("board_key = \"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        let text = with_witnesses(1, &[("w.example/1", 71, "http://a")]);
        let own = ed25519_dalek::SigningKey::from_bytes(&[71; 32]).verifying_key();
        let reused = text.replace(&hex::encode(own.as_bytes()), board_key);
        assert!(matches!(
            Manifest::from_toml(&reused),
            Err(ManifestError::DuplicateKey { .. })
        ));
    }

    #[test]
    fn offsets_normalise_to_the_same_instant() {
        let a = edit("2027-03-01T07:00:00Z", "2027-03-01T08:00:00+01:00").unwrap();
        let b = Manifest::from_toml(&sample_manifest_toml()).unwrap();
        assert_eq!(a.hash(), b.hash());
    }

    #[test]
    fn a_version_2_manifest_has_no_verifying_key_hash() {
        let v1 = Manifest::from_toml(&sample_manifest_toml()).unwrap();
        let line = sample_manifest_toml()
            .lines()
            .find(|l| l.starts_with("groth16_vk_hash"))
            .unwrap()
            .to_string();
        let v2_toml = sample_manifest_toml()
            .replace("version = 1", "version = 2")
            .replace(&format!("{line}\n"), "");
        let v2 = Manifest::from_toml(&v2_toml).unwrap();
        assert_eq!((v1.version(), v2.version()), (1, 2));
        assert_eq!(v2.groth16_vk_hash, None);
        assert_ne!(v1.hash(), v2.hash());
        // The canonical encodings differ by the version and the 32 bytes of the hash.
        assert_eq!(v1.canonical_bytes().len(), v2.canonical_bytes().len() + 32);
        assert_eq!(Manifest::from_toml(&v2.to_toml()).unwrap(), v2);
        assert!(!v2.to_toml().contains("groth16_vk_hash"));
        assert!(matches!(
            Manifest::from_toml(&sample_manifest_toml().replace(&format!("{line}\n"), "")),
            Err(ManifestError::VerifyingKeyHashVersion)
        ));
    }

    #[test]
    fn each_mistake_has_its_own_error() {
        use ManifestError as E;
        assert!(matches!(
            edit("version = 1", "version = 3"),
            Err(E::Version(3))
        ));
        // The verifying-key hash is version 1's: required there, refused in version 2.
        assert!(matches!(
            edit("version = 1", "version = 2"),
            Err(E::VerifyingKeyHashVersion)
        ));
        assert!(matches!(
            edit("version = 1", "version = 1\nextra = 3"),
            Err(E::Syntax(_))
        ));
        assert!(matches!(
            edit("id = \"mayor\"", "id = \"parks\""),
            Err(E::DuplicateContestId(_))
        ));
        assert!(matches!(
            edit("id = \"ada\"", "id = \"bo\""),
            Err(E::DuplicateOptionId { .. })
        ));
        assert!(matches!(
            edit("id = \"mayor\"", "id = \"Mayor!\""),
            Err(E::BadId { .. })
        ));
        assert!(matches!(
            edit("min_selections = 1", "min_selections = 2"),
            Err(E::MinGreaterThanMax { .. })
        ));
        assert!(matches!(
            edit("max_selections = 5", "max_selections = 9"),
            Err(E::MaxExceedsOptions { .. })
        ));
        assert!(matches!(
            edit(
                "min_selections = 0\nmax_selections = 5",
                "min_selections = 0\nmax_selections = 0"
            ),
            Err(E::MaxZero(_))
        ));
        assert!(matches!(
            edit("threshold = 2", "threshold = 4"),
            Err(E::ThresholdExceedsTrustees { threshold: 4, n: 3 })
        ));
        assert!(matches!(
            edit("threshold = 2", "threshold = 0"),
            Err(E::ThresholdZero)
        ));
        assert!(matches!(
            edit("index = 2", "index = 1"),
            Err(E::TrusteeIndex { index: 1, .. })
        ));
        assert!(matches!(
            edit("index = 2", "index = 4"),
            Err(E::TrusteeIndex { index: 4, .. })
        ));
        assert!(matches!(
            edit(
                "closes_at = \"2027-03-01T20:00:00Z\"",
                "closes_at = \"2027-03-01T06:00:00Z\""
            ),
            Err(E::WindowEndBeforeStart { .. })
        ));
        assert!(matches!(
            edit(
                "closes_at = \"2027-03-01T20:00:00Z\"",
                "closes_at = \"2027-03-01T07:00:00Z\""
            ),
            Err(E::WindowEndBeforeStart { .. })
        ));
        assert!(matches!(
            edit("2027-03-01T07:00:00Z", "tomorrow"),
            Err(E::Timestamp { .. })
        ));
        // One accepted form: no fraction (even a zero one), uppercase T and Z, an offset
        // with a colon.
        for other in [
            "2027-03-01T07:00:00.5Z",
            "2027-03-01T07:00:00.0Z",
            "2027-03-01T07:00:00.000000000Z",
            "2027-03-01t07:00:00Z",
            "2027-03-01T07:00:00z",
            "2027-03-01 07:00:00Z",
            "2027-03-01T07:00:00+0100",
            "2027-03-01T07:00Z",
            "+2027-03-01T07:00:00Z",
        ] {
            assert!(
                matches!(
                    edit("2027-03-01T07:00:00Z", other),
                    Err(E::Timestamp { .. })
                ),
                "{other} was accepted"
            );
        }
        assert!(matches!(
            edit("\"reject\"", "\"sometimes\""),
            Err(E::RevotePolicy(_))
        ));
        assert!(matches!(
            edit("roll_depth = 20", "roll_depth = 1"),
            Err(E::RollDepth(1))
        ));
        assert!(matches!(
            edit("roll_depth = 20", "roll_depth = 33"),
            Err(E::RollDepth(33))
        ));
        assert!(matches!(
            edit(
                "title = \"City of Example: 2027 municipal election\"",
                "title = \"\""
            ),
            Err(E::Text { .. })
        ));
        assert!(matches!(
            edit("election_id = \"", "election_id = \"0"),
            Err(E::Hex { .. })
        ));
        assert!(matches!(
            edit("election_id = \"5a", "election_id = \"5A"),
            Err(E::Hex { .. })
        ));
    }

    #[test]
    fn bad_keys_and_empty_sections_are_refused() {
        use ManifestError as E;
        let text = sample_manifest_toml();
        let m = Manifest::from_toml(&text).unwrap();
        let commission = hex::encode(m.commission_key);
        let board = hex::encode(m.board_key);
        // The board key reused as the commission key.
        assert!(matches!(
            Manifest::from_toml(&text.replacen(&commission, &board, 1)),
            Err(E::DuplicateKey { .. })
        ));
        // A weak (small-order) ed25519 key: the identity (0, 1).
        let mut ident = [0u8; 32];
        ident[0] = 1;
        assert!(matches!(
            Manifest::from_toml(&text.replacen(&commission, &hex::encode(ident), 1)),
            Err(E::SigningKey { .. })
        ));
        // An identity Ristretto key for a trustee.
        let enc = hex::encode(m.trustees[0].encryption_key.as_bytes());
        assert!(matches!(
            Manifest::from_toml(&text.replacen(&enc, &"00".repeat(32), 1)),
            Err(E::EncryptionKey { .. })
        ));
        // No contests, an empty contest, no trustees.
        let mut doc = ManifestDocument::from(m.clone());
        doc.contests.clear();
        assert!(matches!(Manifest::try_from(doc), Err(E::NoContests)));
        let mut doc = ManifestDocument::from(m.clone());
        doc.contests[0].options.clear();
        assert!(matches!(Manifest::try_from(doc), Err(E::EmptyContest(_))));
        let mut doc = ManifestDocument::from(m.clone());
        doc.trustees.members.clear();
        assert!(matches!(Manifest::try_from(doc), Err(E::NoTrustees)));
        let mut doc = ManifestDocument::from(m);
        doc.election_id = "00".repeat(32);
        assert!(matches!(Manifest::try_from(doc), Err(E::ZeroElectionId)));
    }
}
