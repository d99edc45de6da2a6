//! What a process remembers of the ceremony's public computations, which one process
//! often repeats (the board checks a contribution before appending it and again when it
//! replays its log; the first phase-2 contributor, the board's close and every
//! verification of a record need the transition; a demo verifies one record several
//! times):
//!
//! - the phase-1 to phase-2 transition, a deterministic function of the circuit and the
//!   final phase-1 parameters that costs tens of seconds at production depth, keyed by a
//!   hash of the roll depth and the parameters' whole encoding;
//! - the contributions that verified, keyed by the transcript digest they lead to, which
//!   commits to the whole transcript before them and to the contribution itself (its
//!   phase, proof and parameters' hash): a remembered result is only ever that of the
//!   same check on the same input.

use super::phase1::Phase1;
use super::phase2::Phase2;
use super::qap::{CircuitShape, KeyBase};
use super::{Next, SetupDigest, SetupError};
use sha2::{Digest, Sha256};
use std::sync::{Arc, Mutex};

/// The transition's output.
pub(crate) type Transition = Arc<(KeyBase, Phase2)>;

/// How many transitions a process keeps (each about the size of a proving key).
const KEPT: usize = 2;

static MEMO: Mutex<Vec<([u8; 32], Transition)>> = Mutex::new(Vec::new());

fn key(depth: u8, p1: &Phase1) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"zkvote/v2/setup-transition-memo");
    h.update([depth]);
    h.update(p1.to_bytes());
    h.finalize().into()
}

/// `shape.vartime_transition(p1)`, computed at most once per input while remembered.
pub(crate) fn vartime_transition(
    shape: &CircuitShape,
    depth: u8,
    p1: &Phase1,
) -> Result<Transition, SetupError> {
    let k = key(depth, p1);
    let found = MEMO
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .find(|(key, _)| *key == k)
        .map(|(_, t)| t.clone());
    if let Some(t) = found {
        return Ok(t);
    }
    let t = Arc::new(shape.vartime_transition(p1)?);
    let mut memo = MEMO.lock().unwrap_or_else(|e| e.into_inner());
    if !memo.iter().any(|(key, _)| *key == k) {
        if memo.len() == KEPT {
            memo.remove(0);
        }
        memo.push((k, t.clone()));
    }
    Ok(t)
}

/// How many checked contributions a process keeps (each as decoded parameters, up to a
/// few megabytes at production depth).
const CHECKED_KEPT: usize = 8;

static CHECKED: Mutex<Vec<(SetupDigest, Next)>> = Mutex::new(Vec::new());

/// The decoded parameters of a contribution that verified and led to `digest`, if this
/// process checked it.
pub(super) fn checked(digest: &SetupDigest) -> Option<Next> {
    CHECKED
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .find(|(d, _)| d == digest)
        .map(|(_, next)| next.clone())
}

/// Remembers that the contribution leading to `digest` verified.
pub(super) fn remember_checked(digest: SetupDigest, next: &Next) {
    let mut kept = CHECKED.lock().unwrap_or_else(|e| e.into_inner());
    if kept.iter().any(|(d, _)| *d == digest) {
        return;
    }
    if kept.len() == CHECKED_KEPT {
        kept.remove(0);
    }
    kept.push((digest, next.clone()));
}
