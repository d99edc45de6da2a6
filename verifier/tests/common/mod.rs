//! The pinned version-1 record and how the tests find entries in it.

use zkvote_protocol::Record;

/// The pinned record (`vectors/record-v1.jsonl`: 3 trustees, 12 registrations, 12 ballots,
/// revote policy `reject`).
pub fn pinned() -> Record {
    Record::parse(include_str!("../vectors/record-v1.jsonl")).unwrap()
}

/// The position of the `nth` entry of `kind`.
pub fn position(r: &Record, kind: &str, nth: usize) -> usize {
    (0..r.entries.len())
        .filter(|&i| r.entries[i].kind == kind)
        .nth(nth)
        .unwrap()
}
