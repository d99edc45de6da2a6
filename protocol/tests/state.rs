//! `ElectionState::apply` replays the pinned version-1 record (the one the verifier's
//! tests use) and refuses, changing nothing, what the protocol's rules refuse.

use zkvote_protocol::{
    ApplyError, AuthorError, ElectionState, Entry, EntryKind, Phase, Record, TransitionError,
};

fn entries() -> Vec<Entry> {
    let record =
        Record::parse(include_str!("../../verifier/tests/vectors/record-v1.jsonl")).unwrap();
    record
        .entries
        .iter()
        .map(|e| Entry::decode(&e.data).unwrap())
        .collect()
}

/// The state after the entries before the first one of `kind` (and that entry).
fn state_before(entries: &[Entry], kind: EntryKind) -> (ElectionState, Entry) {
    let mut state = ElectionState::from_genesis(&entries[0]).unwrap();
    for e in &entries[1..] {
        if e.kind() == kind {
            return (state, e.clone());
        }
        state.apply(e).unwrap();
    }
    panic!("no {kind} entry");
}

#[test]
fn the_pinned_record_replays_to_its_result() {
    let entries = entries();
    let mut state = ElectionState::from_genesis(&entries[0]).unwrap();
    for e in &entries[1..] {
        state.apply(e).unwrap();
    }
    assert_eq!(state.phase(), Phase::Tallied);
    assert_eq!(state.entries(), entries.len() as u64);
    assert_eq!(state.commitments().len(), 12);
    assert_eq!(state.ballots(), 12);
    assert_eq!(state.dealings().len(), 3);
    assert_eq!(state.partials().len(), 2);
    assert!(state.root().is_some() && state.context().is_some());
    assert_eq!(state.outcome().unwrap().qualified, vec![1, 2, 3]);
}

#[test]
fn a_forged_dealing_is_refused_and_changes_nothing() {
    let entries = entries();
    let (mut state, dealing) = state_before(&entries, EntryKind::Dealing);
    let Entry::Dealing { mut dealing } = dealing else {
        unreachable!()
    };
    dealing.signature[0] ^= 1;
    let author = dealing.dealer;
    let before = state.entries();
    assert_eq!(
        state.apply(&Entry::Dealing { dealing }),
        Err(ApplyError::Author(AuthorError::BadSignature(author)))
    );
    assert_eq!(state.entries(), before);
    assert!(state.dealings().is_empty());
}

#[test]
fn a_second_dealing_of_one_trustee_is_refused() {
    let entries = entries();
    let (mut state, dealing) = state_before(&entries, EntryKind::Dealing);
    state.apply(&dealing).unwrap();
    assert!(matches!(
        state.apply(&dealing),
        Err(ApplyError::Duplicate(key)) if key == "dealing/1"
    ));
    assert_eq!(state.dealings().len(), 1);
}

#[test]
fn entries_out_of_their_phase_are_refused() {
    let entries = entries();
    let (mut state, open) = state_before(&entries, EntryKind::Open);
    let registration = entries
        .iter()
        .find(|e| e.kind() == EntryKind::Registration)
        .unwrap();
    assert_eq!(
        state.apply(registration),
        Err(ApplyError::Transition(TransitionError::WrongPhase {
            kind: EntryKind::Registration,
            phase: Phase::Frozen
        }))
    );
    assert!(matches!(
        state.apply(&Entry::Close {}),
        Err(ApplyError::Transition(_))
    ));
    state.apply(&open).unwrap();
    assert_eq!(state.phase(), Phase::Open);
}

#[test]
fn an_open_entry_must_carry_the_ceremony_outcome() {
    let entries = entries();
    let (mut state, open) = state_before(&entries, EntryKind::Open);
    let Entry::Open {
        joint_key,
        mut qualified,
    } = open
    else {
        unreachable!()
    };
    qualified.pop();
    assert!(matches!(
        state.apply(&Entry::Open {
            joint_key,
            qualified
        }),
        Err(ApplyError::Ceremony(_))
    ));
    assert_eq!(state.phase(), Phase::Frozen);
}

#[test]
fn a_frozen_roll_must_count_the_registrations() {
    let entries = entries();
    let (mut state, frozen) = state_before(&entries, EntryKind::RollFrozen);
    let Entry::RollFrozen { root, count } = frozen else {
        unreachable!()
    };
    assert_eq!(
        state.apply(&Entry::RollFrozen {
            root,
            count: count + 1
        }),
        Err(ApplyError::RollCount {
            claimed: count + 1,
            registered: count
        })
    );
}
