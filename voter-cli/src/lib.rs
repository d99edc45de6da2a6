//! zkvote-cli: the `zkvote` command for every role. Each role's module is a library that
//! the commands and the demo share, so the demo runs the same code real clients run.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod client;
pub mod commission;
#[cfg(feature = "server")]
pub mod demo;
pub mod files;
pub mod setup;
pub mod trustee;
pub mod ui;
pub mod verify;
pub mod voter;

use std::fmt;
use zkvote_protocol::voter::VoterError;
use zkvote_protocol::ErrorCode;

/// A user-facing error: printed as one line on stderr, exit status 1.
#[derive(Debug)]
pub enum CliError {
    /// A local problem, already phrased for the user.
    Msg(String),
    /// The board refused a request.
    Board {
        /// The board's stable error code (`None`: the answer carried none).
        code: Option<ErrorCode>,
        /// The board's message.
        message: String,
    },
}

impl CliError {
    /// A local error.
    pub fn msg(m: impl Into<String>) -> Self {
        CliError::Msg(m.into())
    }

    /// The board's error code, if the board refused with one.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            CliError::Board { code, .. } => *code,
            CliError::Msg(_) => None,
        }
    }

    /// Rewords "unknown election" for a command given an election id.
    pub fn with_unknown_election(self, election_id: &[u8; 32]) -> Self {
        match self.code() {
            Some(ErrorCode::UnknownElection) => CliError::msg(format!(
                "wrong election id: the board has no election {}",
                hex::encode(election_id)
            )),
            _ => self,
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::Msg(m) => write!(f, "{m}"),
            CliError::Board { code, message } => match code {
                Some(ErrorCode::AlreadyVoted) => write!(f, "already voted: {message}"),
                Some(ErrorCode::ElectionNotOpen) => {
                    write!(f, "the election is not open: {message}")
                }
                Some(ErrorCode::ElectionNotClosed) => {
                    write!(f, "the election is not closed: {message}")
                }
                Some(code) => write!(f, "the board refused the request: {message} ({code})"),
                None => write!(f, "the board refused the request: {message}"),
            },
        }
    }
}

impl std::error::Error for CliError {}

impl From<VoterError> for CliError {
    fn from(e: VoterError) -> Self {
        CliError::msg(e.to_string())
    }
}
