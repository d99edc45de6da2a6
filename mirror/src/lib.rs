//! zkvote-mirror: an organization's own copy of an election's record. It pulls the
//! record from the board, takes a checkpoint only if it is signed and cosigned as the
//! manifest requires and extends the one it verified last, proves every entry it stores
//! on such a checkpoint, runs `zkvote verify`'s checks entry by entry, and serves the
//! board's read-only API from its copy. A board that shows it a checkpoint not on the
//! history it holds is caught: the mirror keeps both signed checkpoints as evidence and
//! follows that election no further (`docs/protocol.md` section 16).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod api;
pub mod follow;
pub mod server;
pub mod source;
pub mod store;

pub use follow::{Election, Finding, Followed, Follower, State, SyncError};
pub use store::{Fork, MirrorStore};
