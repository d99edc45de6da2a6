//! The record written by `zkvote demo --record-out` verifies, and each kind of tampering
//! makes the right numbered check fail, naming the right entry.

use serde_json::Value;
use std::process::Command;
use std::sync::OnceLock;
use zkvote_testkit::edit_entry as edit;
use zkvote_verifier::{verify, Record, Report, Status};

const BIN: &str = env!("CARGO_BIN_EXE_zkvote");

/// Runs the demo and returns its record.
fn demo_record(voters: &str, revote: &str) -> Record {
    let dir = std::env::temp_dir().join(format!("zkvote-verify-{:016x}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("record.jsonl");
    let out = Command::new(BIN)
        .args([
            "demo",
            "--voters",
            voters,
            "--revote",
            revote,
            "--roll-depth",
            "4",
            "--quiet",
            "--record-out",
        ])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "demo failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let record = Record::parse(&std::fs::read_to_string(&path).unwrap()).unwrap();
    std::fs::remove_dir_all(&dir).ok();
    record
}

/// One demo election (revote policy `reject`), run once for the tests of this file.
fn good_record() -> &'static Record {
    static RECORD: OnceLock<Record> = OnceLock::new();
    RECORD.get_or_init(|| demo_record("6", "reject"))
}

fn positions(r: &Record, kind: &str) -> Vec<usize> {
    (0..r.entries.len())
        .filter(|&i| r.entries[i].kind == kind)
        .collect()
}

/// Asserts that check `n` failed, naming `index` (when given).
fn assert_fails(report: &Report, n: u8, index: Option<u64>) {
    assert!(
        report.fails(n, index),
        "check {n} should fail naming entry {index:?}:\n{report}"
    );
}

#[test]
fn the_demo_record_verifies() {
    let report = verify(good_record());
    println!("{report}");
    assert!(report.ok());
    for c in &report.checks {
        assert_eq!(c.status, Status::Pass, "check {}", c.number);
    }
    // The demo's election is version 2: its three trustees contributed to both phases of
    // the setup ceremony, and check 9 names them.
    let setup = report.check(9);
    assert_eq!(setup.counts["phase-1 contributions"], 3);
    assert_eq!(setup.counts["phase-2 contributions"], 3);
    let note = setup.note.as_deref().unwrap();
    for i in 1..=3 {
        assert!(
            note.contains(&format!("Trustee {i} (trustee {i})")),
            "{note}"
        );
    }
    assert_eq!(report.check(5).counts["ballots"], 6);
    assert_eq!(report.check(5).counts["counted"], 6);
    // The JSON report is machine-readable.
    let v: Value = serde_json::from_str(&report.to_json()).unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(v["checks"].as_array().unwrap().len(), 9);
}

#[test]
fn a_flipped_byte_in_a_ballot_is_named() {
    let mut r = good_record().clone();
    let b = positions(&r, "ballot")[2];
    let data = &mut r.entries[b].data;
    let at = data
        .windows(20)
        .position(|w| w == b"\"eligibility_proof\":")
        .unwrap()
        + 40;
    data[at] = if data[at] == b'0' { b'1' } else { b'0' };
    let report = verify(&r);
    assert_fails(&report, 5, Some(r.entries[b].index));
    assert_fails(&report, 1, None);
}

#[test]
fn a_removed_ballot_is_noticed() {
    let mut r = good_record().clone();
    let b = positions(&r, "ballot")[1];
    let next = r.entries[b + 1].index;
    r.entries.remove(b);
    let report = verify(&r);
    assert_fails(&report, 1, Some(next));
}

#[test]
fn a_duplicated_ballot_is_named() {
    let mut r = good_record().clone();
    let b = positions(&r, "ballot")[3];
    let copy = r.entries[b].clone();
    r.entries.insert(b + 1, copy.clone());
    let report = verify(&r);
    assert_fails(&report, 1, Some(copy.index));
    assert_fails(&report, 5, Some(copy.index));
}

/// Inserts a copy of entry `at` right after it, renumbering what follows, as a board
/// that accepted a re-posted message would have logged it.
fn with_copy_after(r: &Record, at: usize) -> (Record, u64) {
    let mut r = r.clone();
    r.entries.insert(at + 1, r.entries[at].clone());
    for (i, e) in r.entries.iter_mut().enumerate() {
        e.index = i as u64;
    }
    (r, at as u64 + 1)
}

#[test]
fn a_copied_dealing_or_partial_decryption_is_named() {
    let dealing = positions(good_record(), "dealing")[1];
    let (r, copy) = with_copy_after(good_record(), dealing);
    let report = verify(&r);
    assert_fails(&report, 3, Some(copy));
    let message = &report.check(3).failures[0].message;
    assert!(
        message.contains("dealing/2") && message.contains("copy"),
        "{message}"
    );
    let partial = positions(good_record(), "partial-decryption")[0];
    let (r, copy) = with_copy_after(good_record(), partial);
    let report = verify(&r);
    assert_fails(&report, 7, Some(copy));
    assert_eq!(report.check(3).status, Status::Pass);
}

#[test]
fn entries_in_another_encoding_are_refused() {
    // The same entry with a space, with its fields reordered, or with a number as 1.0e0:
    // each decodes to the same thing, and only the canonical bytes are accepted.
    let r = good_record();
    let freeze = positions(r, "roll-frozen")[0];
    let text = String::from_utf8(r.entries[freeze].data.clone()).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    let count = v["count"].as_u64().unwrap();
    for other in [
        text.replacen(':', ": ", 1),
        format!(
            "{{\"kind\":\"roll-frozen\",\"count\":{count},\"root\":{}}}",
            v["root"]
        ),
        text.replace(
            &format!("\"count\":{count}"),
            &format!("\"count\":{count}.0"),
        ),
    ] {
        assert_ne!(other, text);
        let mut r = r.clone();
        r.entries[freeze].data = other.into_bytes();
        let report = verify(&r);
        assert_fails(&report, 4, Some(freeze as u64));
    }
    // A ballot whose contest omits `range_proof` (rather than `null`) is refused too.
    let mut r = r.clone();
    let ballot = positions(&r, "ballot")[0];
    let text = String::from_utf8(r.entries[ballot].data.clone()).unwrap();
    assert!(text.contains(",\"range_proof\":null"));
    r.entries[ballot].data = text.replacen(",\"range_proof\":null", "", 1).into_bytes();
    assert_fails(&verify(&r), 5, Some(ballot as u64));
}

#[test]
fn swapped_entries_are_named() {
    let mut r = good_record().clone();
    let b = positions(&r, "ballot");
    let (i, j) = (b[0], b[4]);
    r.entries.swap(i, j);
    let report = verify(&r);
    assert_fails(&report, 1, Some(r.entries[i].index));
}

#[test]
fn a_copied_ciphertext_under_another_nullifier_is_named() {
    let mut r = good_record().clone();
    let b = positions(&r, "ballot");
    let source: Value = serde_json::from_slice(&r.entries[b[0]].data).unwrap();
    edit(&mut r.entries[b[5]], |v| {
        v["ballot"]["ballot"]["contests"] = source["ballot"]["ballot"]["contests"].clone();
    });
    let report = verify(&r);
    assert_fails(&report, 5, Some(r.entries[b[5]].index));
    assert!(report
        .check(5)
        .failures
        .iter()
        .any(|f| f.index == Some(r.entries[b[5]].index)));
}

#[test]
fn a_changed_checkpoint_signature_is_refused() {
    let mut r = good_record().clone();
    let line = r.checkpoint.lines().last().unwrap().to_string();
    let mut chars: Vec<char> = line.chars().collect();
    let k = chars.len() - 5;
    chars[k] = if chars[k] == 'A' { 'B' } else { 'A' };
    r.checkpoint = r
        .checkpoint
        .replace(&line, &chars.into_iter().collect::<String>());
    let report = verify(&r);
    assert_fails(&report, 1, None);
    assert!(report.check(1).failures[0].message.contains("checkpoint"));
    // Everything else still holds.
    assert!(report.checks[1..8].iter().all(|c| c.status == Status::Pass));
}

#[test]
fn a_registration_after_the_freeze_is_named() {
    let mut r = good_record().clone();
    let frozen = positions(&r, "roll-frozen")[0];
    let reg = positions(&r, "registration")[0];
    let mut added = r.entries[reg].clone();
    added.index = r.entries[frozen].index + 1;
    // A commitment of a credential that never got a registration code.
    let other = zkvote_circuits::credential::Credential::generate(&mut rand::rngs::OsRng);
    added.data = serde_json::to_vec(&serde_json::json!({
        "kind": "registration",
        "commitment": hex::encode(zkvote_circuits::field::fr_to_bytes(&other.commitment())),
    }))
    .unwrap();
    r.entries.insert(frozen + 1, added.clone());
    for e in &mut r.entries[frozen + 2..] {
        e.index += 1;
    }
    let report = verify(&r);
    assert_fails(&report, 4, Some(added.index));
    assert_fails(&report, 1, Some(added.index));
}

#[test]
fn a_tampered_record_fails_on_the_command_line() {
    let mut r = good_record().clone();
    let p = positions(&r, "result")[0];
    edit(&mut r.entries[p], |v| v["counts"][1][0] = Value::from(999));
    let dir =
        std::env::temp_dir().join(format!("zkvote-verify-cli-{:016x}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("tampered.jsonl");
    std::fs::write(&path, r.to_jsonl()).unwrap();
    let out = Command::new(BIN)
        .args(["verify", "--json", "--record"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ok"], false);
    assert_eq!(v["checks"][7]["status"], "fail");
    assert_eq!(v["checks"][7]["failures"][0]["index"], r.entries[p].index);
    std::fs::remove_dir_all(&dir).ok();
}

/// One demo election with a revote (revote policy `last-ballot-counts`).
fn revote_record() -> &'static Record {
    static RECORD: OnceLock<Record> = OnceLock::new();
    RECORD.get_or_init(|| demo_record("4", "last-ballot-counts"))
}

/// The revote record's report.
fn revote_report() -> &'static Report {
    static REPORT: OnceLock<Report> = OnceLock::new();
    REPORT.get_or_init(|| verify(revote_record()))
}

#[test]
fn last_ballot_counts_supersedes_and_a_removed_revote_is_noticed() {
    let r = revote_record().clone();
    let report = revote_report().clone();
    assert!(report.ok(), "{report}");
    let c5 = report.check(5);
    assert_eq!(
        (
            c5.counts["ballots"],
            c5.counts["counted"],
            c5.counts["superseded"]
        ),
        (5, 4, 1)
    );
    assert_eq!(report.check(6).counts["ballots added"], 4);
    // The same verdict whatever the ballot chunks (a ballot superseded in a later chunk is
    // taken out of the running sum).
    for chunk in [1, 2, 3] {
        let mut v = zkvote_verifier::Verifier::with_ballot_chunk(chunk);
        for e in &r.entries {
            v.push(e.clone());
        }
        let (again, _) = v.finish(&r.checkpoint);
        assert_eq!(again, report, "chunk {chunk}");
    }
    // Removing the superseding ballot (and renumbering) changes what is counted: the
    // published aggregate no longer matches.
    let mut t = r.clone();
    let b = positions(&t, "ballot")[2];
    t.entries.remove(b);
    for e in &mut t.entries[b..] {
        e.index -= 1;
    }
    let report = verify(&t);
    let result = t.entries[positions(&t, "result")[0]].index;
    assert_fails(&report, 6, Some(result));
    assert_fails(&report, 1, None);
}

#[test]
fn any_changed_byte_fails_and_nothing_panics() {
    use rand::{Rng, SeedableRng};
    let good = good_record();
    let mut rng = rand::rngs::StdRng::seed_from_u64(20261121);
    for _ in 0..60 {
        let mut r = good.clone();
        let e = rng.gen_range(0..r.entries.len());
        let data = &mut r.entries[e].data;
        let at = rng.gen_range(0..data.len());
        let old = data[at];
        data[at] = loop {
            let b: u8 = rng.gen_range(0x20..0x7f);
            if b != old {
                break b;
            }
        };
        let report = verify(&r);
        assert!(!report.ok(), "entry {e} byte {at} changed, still verifies");
        assert_eq!(report.check(1).status, Status::Fail);
    }
    // Garbage lines are refused by the parser, never by a panic.
    for _ in 0..200 {
        let len = rng.gen_range(0..200);
        let line: String = (0..len)
            .map(|_| rng.gen_range(0x20u8..0x7f) as char)
            .collect();
        assert!(Record::parse(&format!("{line}\n")).is_err());
    }
}

/// Runs `zkvote verify` with `args` on `record` (written to `dir`); returns its JSON report
/// (or, for a part, nothing) and whether it succeeded.
fn verify_cli(dir: &std::path::Path, record: &std::path::Path, args: &[&str]) -> (Value, bool) {
    let out = Command::new(BIN)
        .arg("verify")
        .arg("--record")
        .arg(record)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let value = serde_json::from_str(&text).unwrap_or(Value::Null);
    assert!(
        out.status.success() || !value.is_null(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (value, out.status.success())
}

#[test]
fn a_verification_split_in_ranges_and_merged_equals_the_whole() {
    // The revote record in two parts on the command line: the superseded ballot and its
    // revote fall in different parts. (Tampered records and parts: verifier/tests/split.rs.)
    let good = revote_record();
    let ballots = positions(good, "ballot");
    let dir = std::env::temp_dir().join(format!("zkvote-split-{:016x}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir).unwrap();
    let record = dir.join("record.jsonl");
    std::fs::write(&record, good.to_jsonl()).unwrap();
    let cut = ballots[1] + 1;
    for (range, part) in [
        (format!("0..{cut}"), "a.part"),
        (format!("{cut}.."), "b.part"),
    ] {
        let (_, wrote) = verify_cli(&dir, &record, &["--range", &range, "--part-out", part]);
        assert!(wrote);
    }
    let (merged, ok) = verify_cli(&dir, &record, &["--json", "--merge", "b.part", "a.part"]);
    let whole: Value = serde_json::from_str(&revote_report().to_json()).unwrap();
    assert_eq!(merged, whole);
    assert!(ok);
    assert_eq!(merged["checks"][4]["counts"]["superseded"], 1);
    // A part missing: refused, no report.
    let out = Command::new(BIN)
        .args(["verify", "--merge", "a.part", "--record"])
        .arg(&record)
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("the record's end"));
    std::fs::remove_dir_all(&dir).ok();
}
