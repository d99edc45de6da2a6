//! The tamper cases that matter for the verifier, on the pinned version-1 record
//! (`vectors/record-v1.jsonl`: 3 trustees, 12 registrations, 12 ballots, revote policy
//! `reject`). Each edit must make the check responsible for it fail and name the entry at
//! fault. The checkpoint cannot be re-signed here, so an edited entry also fails check 1
//! (the root no longer matches): that is asserted too.

use zkvote_testkit::{edit_entry as edit, swap_ciphertexts};
use zkvote_verifier::{verify, verify_reader, Status};

mod common;

use common::{pinned, position};

#[test]
fn the_pinned_record_passes_every_check() {
    let report = verify(&pinned());
    assert!(report.ok());
    for n in 1..=8 {
        assert!(!report.fails(n, None), "check {n}");
    }
}

#[test]
fn a_changed_leaf_breaks_the_root() {
    let mut r = pinned();
    let p = position(&r, "registration", 3);
    edit(&mut r.entries[p], |v| {
        v["commitment"] = serde_json::Value::from("01".repeat(32));
    });
    let report = verify(&r);
    assert!(report.fails(1, None), "{report}");
    assert!(report.fails(4, None), "{report}");
}

#[test]
fn reordered_entries_are_named() {
    let mut r = pinned();
    let (a, b) = (position(&r, "ballot", 2), position(&r, "ballot", 3));
    r.entries.swap(a, b);
    let report = verify(&r);
    assert!(report.fails(1, Some(r.entries[a].index)), "{report}");
}

#[test]
fn an_entry_out_of_its_phase_is_named() {
    let mut r = pinned();
    // A registration moved after the freeze: the phase rule refuses it (check 1) and the
    // roll no longer has the frozen root (check 4).
    let reg = position(&r, "registration", 0);
    let frozen = position(&r, "roll-frozen", 0);
    let moved = r.entries.remove(reg);
    r.entries.insert(frozen, moved);
    for (i, e) in r.entries.iter_mut().enumerate() {
        e.index = i as u64;
    }
    let report = verify(&r);
    assert!(report.fails(1, Some(frozen as u64)), "{report}");
    assert!(report.fails(4, Some(frozen as u64)), "{report}");
}

#[test]
fn a_tampered_ballot_is_named() {
    let mut r = pinned();
    let p = position(&r, "ballot", 5);
    swap_ciphertexts(&mut r.entries[p]);
    let report = verify(&r);
    assert!(report.fails(5, Some(p as u64)), "{report}");
}

#[test]
fn a_second_ballot_of_one_voter_is_named() {
    let mut r = pinned();
    // The same ballot logged twice (before the close): its ciphertexts were already cast.
    let p = position(&r, "ballot", 0);
    let close = position(&r, "close", 0);
    let copy = r.entries[p].clone();
    r.entries.insert(close, copy);
    for (i, e) in r.entries.iter_mut().enumerate() {
        e.index = i as u64;
    }
    let report = verify(&r);
    assert!(report.fails(5, Some(close as u64)), "{report}");
}

#[test]
fn a_copied_dealing_is_named() {
    let mut r = pinned();
    let p = position(&r, "dealing", 0);
    let copy = r.entries[p].clone();
    r.entries.insert(p + 1, copy);
    for (i, e) in r.entries.iter_mut().enumerate() {
        e.index = i as u64;
    }
    let report = verify(&r);
    assert!(report.fails(3, Some(p as u64 + 1)), "{report}");
}

#[test]
fn a_dealing_not_signed_by_its_dealer_is_named() {
    let mut r = pinned();
    let p = position(&r, "dealing", 1);
    edit(&mut r.entries[p], |v| {
        let sig = v["dealing"]["signature"].as_str().unwrap().to_string();
        let flipped = if sig.starts_with('0') { "1" } else { "0" };
        v["dealing"]["signature"] = serde_json::Value::from(format!("{flipped}{}", &sig[1..]));
    });
    let report = verify(&r);
    assert!(report.fails(3, Some(p as u64)), "{report}");
    let c3 = report.check(3);
    assert!(
        c3.failures
            .iter()
            .any(|f| f.index == Some(p as u64) && f.message.contains("not signed by trustee")),
        "{:?}",
        c3.failures
    );
}

#[test]
fn a_changed_count_is_named() {
    let mut r = pinned();
    let p = position(&r, "result", 0);
    edit(&mut r.entries[p], |v| {
        let c = v["counts"][0][0].as_u64().unwrap();
        v["counts"][0][0] = serde_json::Value::from(c + 1);
    });
    let report = verify(&r);
    assert!(report.fails(8, Some(p as u64)), "{report}");
    assert_eq!(report.check(6).status, Status::Pass);
}

#[test]
fn a_wrong_partial_decryption_is_named() {
    let mut r = pinned();
    let p = position(&r, "partial-decryption", 1);
    edit(&mut r.entries[p], |v| {
        let shares = &mut v["partial"]["shares"][0];
        let first = shares[0]["share"].clone();
        shares[0]["share"] = shares[1]["share"].clone();
        shares[1]["share"] = first;
    });
    let report = verify(&r);
    assert!(report.fails(7, Some(p as u64)), "{report}");
}

#[test]
fn a_non_canonical_entry_does_not_decode() {
    let mut r = pinned();
    let p = position(&r, "open", 0);
    let mut data = r.entries[p].data.clone();
    data.insert(1, b' ');
    r.entries[p].data = data;
    let report = verify(&r);
    assert!(report.fails(1, None), "{report}");
    assert!(!report.ok());
}

#[test]
fn a_truncated_record_is_refused() {
    let mut r = pinned();
    r.entries.pop();
    let report = verify(&r);
    assert!(report.fails(1, None), "{report}");
}

#[test]
fn a_malformed_line_is_named_by_its_number() {
    let text =
        include_str!("vectors/record-v1.jsonl").replacen("{\"index\":5,", "{\"index\": 5,", 1);
    let (report, _) = verify_reader(text.as_bytes(), None).unwrap();
    let c = report.check(1);
    assert_eq!(c.status, Status::Fail);
    assert!(
        c.failures
            .iter()
            .any(|f| f.message.starts_with("record line 6:")),
        "{:?}",
        c.failures
    );
}

#[test]
fn findings_name_a_bad_ballot_as_the_entries_come() {
    let mut r = pinned();
    let p = position(&r, "ballot", 4);
    swap_ciphertexts(&mut r.entries[p]);
    let index = r.entries[p].index;
    let mut v = zkvote_verifier::Verifier::new();
    for e in r.entries[..p].iter().cloned() {
        v.push(e);
    }
    v.settle();
    assert!(v.findings().is_empty(), "{:?}", v.findings());
    assert!(v.manifest().is_some());
    v.push(r.entries[p].clone());
    // Pending ballots are judged by `settle`, not before.
    assert!(v.findings().is_empty());
    v.settle();
    let found = v.findings();
    assert!(
        found
            .iter()
            .any(|(check, f)| *check == 5 && f.index == Some(index)),
        "{found:?}"
    );
    assert_eq!(v.entries(), p as u64 + 1);
}
