//! A verification split into parts by ranges of entries and merged gives exactly the whole
//! record's report, on the pinned version-1 record (12 ballots, revote policy `reject`) as
//! it is and tampered with; parts that do not make the record are refused.

use std::io::{BufRead, Cursor, Read, Write};
use std::sync::{Arc, Mutex};
use zkvote_protocol::Record;
use zkvote_testkit::{edit_entry as edit, swap_ciphertexts};
use zkvote_verifier::split::{verify_merge, verify_part, EntryRange, SplitError};
use zkvote_verifier::{verify_reader, Report};

mod common;

use common::{pinned, position};

/// A writer whose bytes can be read back once the verifier is done with it.
#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The parts of `text` for `ranges` (each `"A..B"` or `"A.."`), as the merge reads them.
fn parts(text: &str, ranges: &[&str]) -> Vec<(String, Box<dyn BufRead + Send>)> {
    ranges
        .iter()
        .map(|r| {
            let out = Shared::default();
            let range: EntryRange = r.parse().unwrap();
            verify_part(Cursor::new(text.to_string()), range, out.clone(), None).unwrap();
            let bytes = out.0.lock().unwrap().clone();
            (
                r.to_string(),
                Box::new(Cursor::new(bytes)) as Box<dyn BufRead + Send>,
            )
        })
        .collect()
}

fn whole(text: &str) -> Report {
    verify_reader(Cursor::new(text), None).unwrap().0
}

fn merged(text: &str, ranges: &[&str]) -> Result<Report, SplitError> {
    verify_merge(Cursor::new(text), parts(text, ranges), None).map(|(r, _)| r)
}

/// Splits that cut before, inside and after the ballots, in two and three parts.
fn splits(r: &Record) -> Vec<Vec<String>> {
    let first = position(r, "ballot", 0);
    let mid = position(r, "ballot", 6);
    let close = position(r, "close", 0);
    let mut out = vec![vec!["0..".to_string()]];
    for cut in [1, first, first + 1, mid, close, r.entries.len() - 1] {
        out.push(vec![format!("0..{cut}"), format!("{cut}..")]);
    }
    out.push(vec![
        format!("0..{}", first + 2),
        format!("{}..{mid}", first + 2),
        format!("{mid}.."),
    ]);
    out
}

fn assert_split_equals_whole(r: &Record) -> Report {
    let text = r.to_jsonl();
    let expected = whole(&text);
    for ranges in splits(r) {
        let ranges: Vec<&str> = ranges.iter().map(String::as_str).collect();
        let got = merged(&text, &ranges).unwrap();
        assert_eq!(got, expected, "split {ranges:?}");
    }
    expected
}

#[test]
fn a_split_verification_gives_the_whole_records_report() {
    let r = pinned();
    let report = assert_split_equals_whole(&r);
    assert!(report.ok(), "{report}");
    // The tally's inputs are the same too: the aggregate of the counted ballots.
    let text = r.to_jsonl();
    let (_, whole_tally) = verify_reader(Cursor::new(&text), None).unwrap();
    let first = position(&r, "ballot", 3);
    let ranges = [format!("0..{first}"), format!("{first}..")];
    let ranges: Vec<&str> = ranges.iter().map(String::as_str).collect();
    let (_, split_tally) = verify_merge(Cursor::new(&text), parts(&text, &ranges), None).unwrap();
    assert_eq!(
        whole_tally.unwrap().aggregate,
        split_tally.unwrap().aggregate
    );
}

#[test]
fn a_tampered_ballot_in_one_part_is_caught() {
    let mut r = pinned();
    let p = position(&r, "ballot", 8);
    swap_ciphertexts(&mut r.entries[p]);
    let report = assert_split_equals_whole(&r);
    assert!(report.fails(5, Some(p as u64)), "{report}");
}

#[test]
fn a_ballot_replayed_in_a_later_part_is_caught() {
    let mut r = pinned();
    // The first ballot logged again just before the close: the rules see it across parts.
    let p = position(&r, "ballot", 0);
    let close = position(&r, "close", 0);
    let copy = r.entries[p].clone();
    r.entries.insert(close, copy);
    for (i, e) in r.entries.iter_mut().enumerate() {
        e.index = i as u64;
    }
    let report = assert_split_equals_whole(&r);
    assert!(report.fails(5, Some(close as u64)), "{report}");
    assert_eq!(report.check(5).counts["counted"], 12);
}

#[test]
fn parts_of_another_record_are_refused() {
    let r = pinned();
    let text = r.to_jsonl();
    let mut other = pinned();
    let p = position(&other, "ballot", 4);
    swap_ciphertexts(&mut other.entries[p]);
    let cut = position(&r, "ballot", 2);
    let ranges = [format!("0..{cut}"), format!("{cut}..")];
    let ranges: Vec<&str> = ranges.iter().map(String::as_str).collect();
    // The second part was made from the tampered record: its verdict on the edited ballot
    // would hide nothing here, but its range's leaves are not this record's.
    assert_second_part_from_elsewhere_is_refused(&text, &other, &ranges);
    // A part whose own range is this record's but whose prefix (what its ballots were
    // judged against) is not: refused too.
    let mut before = pinned();
    let reg = position(&before, "registration", 1);
    edit(&mut before.entries[reg], |v| {
        v["commitment"] = serde_json::Value::from("01".repeat(32));
    });
    assert_second_part_from_elsewhere_is_refused(&text, &before, &ranges);
}

/// Merging `text` with its second part made from `other` fails as made from another record.
fn assert_second_part_from_elsewhere_is_refused(text: &str, other: &Record, ranges: &[&str]) {
    let mut mixed = parts(text, ranges);
    mixed[1] = parts(&other.to_jsonl(), ranges).remove(1);
    let err = verify_merge(Cursor::new(text), mixed, None).unwrap_err();
    assert!(
        err.to_string().contains("made from another record"),
        "{err}"
    );
}

#[test]
fn parts_must_cover_the_record_exactly() {
    let text = pinned().to_jsonl();
    let gap = verify_merge(Cursor::new(&text), parts(&text, &["0..10", "12.."]), None);
    assert!(gap
        .unwrap_err()
        .to_string()
        .contains("no part starts at entry 10"));
    let short = verify_merge(Cursor::new(&text), parts(&text, &["0..10", "10..20"]), None);
    assert!(short.unwrap_err().to_string().contains("record's end"));
    let none = verify_merge(Cursor::new(&text), Vec::new(), None);
    assert!(none.unwrap_err().to_string().contains("no parts given"));
}

#[test]
fn a_part_cut_short_is_refused() {
    let r = pinned();
    let text = r.to_jsonl();
    let mut ps = parts(&text, &["0.."]);
    let (name, mut reader) = ps.remove(0);
    let mut body = String::new();
    reader.read_to_string(&mut body).unwrap();
    // Without its last verdict and trailer.
    let lines: Vec<&str> = body.lines().collect();
    let cut = lines[..lines.len() - 2].join("\n");
    let err = verify_merge(
        Cursor::new(&text),
        vec![(name, Box::new(Cursor::new(cut.into_bytes())))],
        None,
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("not the verdict on ballot entry"),
        "{err}"
    );
}

#[test]
fn ranges_read_as_written() {
    for (text, from, to) in [("0..", 0, None), ("5..9", 5, Some(9)), ("7..8", 7, Some(8))] {
        let r: EntryRange = text.parse().unwrap();
        assert_eq!((r.from, r.to), (from, to));
        assert_eq!(r.to_string(), text);
    }
    for bad in ["", "5", "9..5", "5..5", "a..", "..5", "1..2..3"] {
        assert!(bad.parse::<EntryRange>().is_err(), "{bad}");
    }
}

#[test]
fn a_verdict_not_in_the_manifests_shape_is_refused() {
    let text = pinned().to_jsonl();
    let (name, mut reader) = parts(&text, &["0.."]).remove(0);
    let mut body = String::new();
    reader.read_to_string(&mut body).unwrap();
    // The first valid verdict loses a ciphertext.
    let mut done = false;
    let lines: Vec<String> = body
        .lines()
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
            if !done && v.get("valid").is_some() {
                v["valid"]["ciphertexts"].as_array_mut().unwrap().pop();
                done = true;
            }
            v.to_string()
        })
        .collect();
    assert!(done);
    let err = verify_merge(
        Cursor::new(&text),
        vec![(name, Box::new(Cursor::new(lines.join("\n").into_bytes())))],
        None,
    )
    .unwrap_err();
    assert!(err.to_string().contains("manifest's shape"), "{err}");
}
