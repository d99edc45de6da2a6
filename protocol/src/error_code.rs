//! The board's stable error codes. Every refusal is
//! `{"error":{"code":CODE,"message":TEXT}}` with the HTTP status the code implies; clients
//! match on [`ErrorCode`], never on the text.

use serde::{de, Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

macro_rules! error_codes {
    ($($(#[doc = $doc:literal])* $variant:ident = $name:literal, $status:literal;)*) => {
        /// A stable error code of the board's API (`docs/protocol.md` section 12.4).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $($(#[doc = $doc])* $variant,)*
        }

        impl ErrorCode {
            /// Every code.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            /// The code as sent.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $name,)*
                }
            }

            /// The HTTP status that goes with the code.
            pub fn status(self) -> u16 {
                match self {
                    $(ErrorCode::$variant => $status,)*
                }
            }
        }
    };
}

error_codes! {
    /// The request is not well formed (a path or query the framework could not parse).
    BadRequest = "bad-request", 400;
    /// The body is not the JSON the route expects.
    MalformedJson = "malformed-json", 400;
    /// A value in the body is not in its one accepted encoding.
    InvalidEncoding = "invalid-encoding", 400;
    /// The election id is not 64 lowercase hex digits.
    BadElectionId = "bad-election-id", 400;
    /// A registration's commitment is not a canonical field element.
    BadCommitment = "bad-commitment", 400;
    /// The number of registration codes asked for is out of range.
    BadCount = "bad-count", 400;
    /// A ballot digest is not 64 lowercase hex digits.
    BadDigest = "bad-digest", 400;
    /// An unknown entry kind was asked for.
    BadKind = "bad-kind", 400;
    /// The manifest is not valid.
    BadManifest = "bad-manifest", 400;
    /// An inclusion or consistency proof cannot be made for these sizes.
    BadProofRequest = "bad-proof-request", 400;
    /// The proving key does not decode.
    BadProvingKey = "bad-proving-key", 400;
    /// The verifying key does not decode.
    BadVerifyingKey = "bad-verifying-key", 400;
    /// The verifying key is not the manifest's.
    VerifyingKeyMismatch = "verifying-key-mismatch", 400;
    /// The proving key does not belong to the manifest's verifying key.
    ProvingKeyMismatch = "proving-key-mismatch", 400;
    /// The manifest names another board's key.
    WrongBoardKey = "wrong-board-key", 400;
    /// A ceremony message names no trustee of the manifest.
    UnknownTrustee = "unknown-trustee", 400;
    /// The ballot's proofs do not verify.
    InvalidBallot = "invalid-ballot", 400;
    /// The partial decryption's proof does not verify.
    InvalidPartialDecryption = "invalid-partial-decryption", 400;
    /// The counts are not what the partial decryptions give.
    WrongResult = "wrong-result", 400;
    /// A signature is missing, malformed or not the expected signer's.
    BadSignature = "bad-signature", 401;
    /// The board's operator does not let this commission create elections.
    CommissionNotAllowed = "commission-not-allowed", 403;
    /// A roll bucket outside the frozen roll (its bits or its index).
    BadBucket = "bad-bucket", 400;
    /// The registration code is unknown or used.
    BadRegistrationCode = "bad-registration-code", 403;
    /// No such election on this board.
    UnknownElection = "unknown-election", 404;
    /// No ballot with this digest.
    UnknownBallot = "unknown-ballot", 404;
    /// No such route.
    UnknownRoute = "unknown-route", 404;
    /// The route does not take this method.
    MethodNotAllowed = "method-not-allowed", 405;
    /// The request took too long.
    Timeout = "timeout", 408;
    /// The election already exists.
    ElectionExists = "election-exists", 409;
    /// The entry is not allowed in the election's phase.
    WrongPhase = "wrong-phase", 409;
    /// The roll is frozen.
    RollFrozen = "roll-frozen", 409;
    /// The roll is not frozen yet.
    RollNotFrozen = "roll-not-frozen", 409;
    /// The roll holds as many registrations as its depth allows.
    RollFull = "roll-full", 409;
    /// The key ceremony is over.
    CeremonyOver = "ceremony-over", 409;
    /// The setup ceremony of the eligibility keys is closed, or the election has none
    /// (version 1), or it has not closed yet where its keys are needed.
    SetupClosed = "setup-closed", 409;
    /// The setup ceremony of the eligibility keys has not closed yet.
    SetupNotClosed = "setup-not-closed", 409;
    /// The setup ceremony waits for trustees: phase 2 begins once every trustee has
    /// contributed to phase 1, the ceremony closes once every trustee has contributed to
    /// phase 2.
    SetupWaiting = "setup-waiting", 409;
    /// A setup contribution that does not verify against the transcript.
    BadContribution = "bad-contribution", 400;
    /// A setup contribution made on an earlier point of the transcript (another one landed
    /// first): fetch the log and contribute again.
    SetupMovedOn = "setup-moved-on", 409;
    /// Fewer trustees than the threshold qualified.
    CeremonyFailed = "ceremony-failed", 409;
    /// Open needs a frozen roll and an election not yet opened.
    NotFrozen = "not-frozen", 409;
    /// The election is not open for voting.
    ElectionNotOpen = "election-not-open", 409;
    /// The election is not closed.
    ElectionNotClosed = "election-not-closed", 409;
    /// This voter (nullifier) already voted.
    AlreadyVoted = "already-voted", 409;
    /// A ciphertext of this ballot was already cast.
    ReplayedBallot = "replayed-ballot", 409;
    /// This signed request was already carried out.
    ReplayedRequest = "replayed-request", 409;
    /// The log already holds an entry with this entry's unique key.
    DuplicateEntry = "duplicate-entry", 409;
    /// The log already holds this trustee's dealing.
    DuplicateDealing = "duplicate-dealing", 409;
    /// The log already holds this complaint.
    DuplicateComplaint = "duplicate-complaint", 409;
    /// The log already holds this trustee's partial decryption.
    DuplicatePartialDecryption = "duplicate-partial-decryption", 409;
    /// The body is larger than the route accepts.
    BodyTooLarge = "body-too-large", 413;
    /// The request target is longer than the board accepts.
    UriTooLong = "uri-too-long", 414;
    /// The body's media type is not accepted.
    UnsupportedMediaType = "unsupported-media-type", 415;
    /// Too many requests from this address.
    RateLimited = "rate-limited", 429;
    /// The board failed (nothing was changed).
    BoardError = "board-error", 500;
    /// The board's stored log does not decode.
    CorruptLog = "corrupt-log", 500;
    /// Fewer of the election's witnesses than its threshold cosigned the checkpoint: the
    /// entry is recorded and its receipt is served once they answer.
    WitnessesUnavailable = "witnesses-unavailable", 503;
    /// A mirror that holds no verified checkpoint of this election yet (it is still
    /// catching up with the board): ask again, or ask the board.
    NotMirrored = "not-mirrored", 503;
}

impl ErrorCode {
    /// The code with this name.
    pub fn from_name(name: &str) -> Option<ErrorCode> {
        ErrorCode::ALL.iter().copied().find(|c| c.as_str() == name)
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ErrorCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        ErrorCode::from_name(&text)
            .ok_or_else(|| de::Error::custom(format!("unknown error code {text:?}")))
    }
}

/// The body of every refusal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// The code and message of a refusal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorDetail {
    /// The stable code.
    pub code: ErrorCode,
    /// What went wrong, for people.
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_and_round_trip() {
        let mut names: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ErrorCode::ALL.len());
        for c in ErrorCode::ALL {
            let text = serde_json::to_string(c).unwrap();
            assert_eq!(serde_json::from_str::<ErrorCode>(&text).unwrap(), *c);
            assert!((400..600).contains(&c.status()));
        }
        assert!(serde_json::from_str::<ErrorCode>("\"no-such-code\"").is_err());
    }
}
