//! The API's one error type: every refusal is a JSON error with a stable
//! [`ErrorCode`], the status the code implies, and a message; and the mapping of the
//! store's, the log's and the ballot box's refusals onto it, written once.

use crate::ballot_box::Rejection;
use crate::log::LogServiceError;
use crate::store::StoreError;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use zkvote_protocol::{ApplyError, EntryKind, ErrorBody, ErrorCode, ErrorDetail};

/// A refusal: HTTP status, stable code, message.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: ErrorCode,
    message: String,
}

impl ApiError {
    /// A refusal with `code` and its status.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::from_u16(code.status()).expect("error codes carry valid statuses"),
            code,
            message: message.into(),
        }
    }

    /// A refusal with `code` under another status (a framework refusal whose status
    /// has no code of its own).
    pub(crate) fn with_status(status: StatusCode, code: ErrorCode, message: String) -> Self {
        ApiError {
            status,
            code,
            message,
        }
    }

    /// The error's code.
    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// The error's message.
    pub fn message(&self) -> &str {
        &self.message
    }

    pub(crate) fn not_found() -> Self {
        Self::new(ErrorCode::UnknownElection, "no such election on this board")
    }

    pub(crate) fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::BadSignature, message)
    }

    pub(crate) fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::BoardError, message)
    }

    pub(crate) fn corrupt(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::CorruptLog, message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code,
                message: self.message,
            },
        };
        (self.status, Json(body)).into_response()
    }
}

impl From<LogServiceError> for ApiError {
    fn from(e: LogServiceError) -> Self {
        match e {
            LogServiceError::Store(StoreError::UnknownElection) => ApiError::not_found(),
            LogServiceError::Store(StoreError::ElectionExists) => {
                ApiError::new(ErrorCode::ElectionExists, "election already exists")
            }
            LogServiceError::Log(e) => ApiError::new(ErrorCode::BadProofRequest, e.to_string()),
            LogServiceError::Store(e @ StoreError::WrongPhase(_)) => {
                ApiError::new(ErrorCode::WrongPhase, e.to_string())
            }
            LogServiceError::Store(e @ StoreError::Duplicate { .. }) => {
                ApiError::new(ErrorCode::DuplicateEntry, e.to_string())
            }
            LogServiceError::Store(e @ StoreError::RollFull) => {
                ApiError::new(ErrorCode::RollFull, e.to_string())
            }
            e @ LogServiceError::Witnesses(_) => ApiError::new(
                ErrorCode::WitnessesUnavailable,
                format!("{e}; the entry is recorded and its receipt is served once they answer"),
            ),
            other => ApiError::internal(other.to_string()),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        LogServiceError::Store(e).into()
    }
}

/// A manifest and verifying key that cannot start an election.
pub(crate) fn bad_genesis(e: ApplyError) -> ApiError {
    let code = match e {
        ApplyError::VerifyingKey(_) => ErrorCode::BadVerifyingKey,
        ApplyError::VerifyingKeyMismatch => ErrorCode::VerifyingKeyMismatch,
        _ => ErrorCode::BadManifest,
    };
    ApiError::new(code, e.to_string())
}

/// The refusal of an entry of `kind` (not of the setup ceremony) while a version-2
/// election's setup ceremony is still open.
pub(crate) fn setup_not_closed(kind: EntryKind) -> ApiError {
    ApiError::new(
        ErrorCode::SetupNotClosed,
        format!(
            "the setup ceremony of the eligibility keys has not closed yet: {kind} entries come after it"
        ),
    )
}

/// The refusal of an entry of `kind` in a phase whose rule does not allow it: the same
/// status and code whether the board's state or the append transaction saw it first.
pub(crate) fn wrong_phase(kind: EntryKind) -> ApiError {
    use ErrorCode::*;
    let (code, message) = match kind {
        EntryKind::Manifest => (ElectionExists, "the election already exists"),
        EntryKind::Registration => (RollFrozen, "the roll is frozen: registration is closed"),
        EntryKind::RollFrozen => (RollFrozen, "the roll is already frozen"),
        EntryKind::Dealing | EntryKind::Complaint => (CeremonyOver, "the key ceremony is over"),
        EntryKind::SetupContribution | EntryKind::SetupFinal => (
            SetupClosed,
            "the setup ceremony of the eligibility keys is closed (or the election has none)",
        ),
        EntryKind::Open => (
            NotFrozen,
            "open needs a frozen roll and an election not yet opened",
        ),
        EntryKind::Ballot => (ElectionNotOpen, "the election is not open for voting"),
        EntryKind::Close => (ElectionNotOpen, "only an open election can be closed"),
        EntryKind::PartialDecryption => (
            ElectionNotClosed,
            "partial decryptions are accepted once voting is closed",
        ),
        EntryKind::Result => (
            ElectionNotClosed,
            "the result is published once voting is closed",
        ),
    };
    ApiError::new(code, message)
}

/// The refusal of an append of an entry of `kind`: phase and uniqueness conflicts found
/// in the append transaction are 409s with the kind's stable code.
pub(crate) fn append_refusal(kind: EntryKind, e: LogServiceError) -> ApiError {
    match e {
        LogServiceError::Store(StoreError::WrongPhase(_)) => wrong_phase(kind),
        LogServiceError::Store(StoreError::Duplicate { key, index }) => {
            let code = match kind {
                EntryKind::Dealing => ErrorCode::DuplicateDealing,
                EntryKind::Complaint => ErrorCode::DuplicateComplaint,
                EntryKind::PartialDecryption => ErrorCode::DuplicatePartialDecryption,
                _ => ErrorCode::DuplicateEntry,
            };
            ApiError::new(
                code,
                format!("the log already holds {key} (entry {index}); a copy is refused"),
            )
        }
        other => other.into(),
    }
}

/// The refusal of a ballot by the ballot box.
pub(crate) fn rejection(e: Rejection) -> ApiError {
    let code = match e {
        Rejection::NotOpen => ErrorCode::ElectionNotOpen,
        Rejection::Invalid(_) => ErrorCode::InvalidBallot,
        Rejection::AlreadyVoted(_) => ErrorCode::AlreadyVoted,
        Rejection::ReplayedCiphertext => ErrorCode::ReplayedBallot,
        Rejection::Board(_) => ErrorCode::BoardError,
        Rejection::WitnessesUnavailable(_) => ErrorCode::WitnessesUnavailable,
    };
    ApiError::new(code, e.to_string())
}
