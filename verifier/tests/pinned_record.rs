//! A version-1 election record, written by `zkvote demo --voters 12` and pinned with the
//! report `zkvote verify --json` gave for it: whatever the verifier's code becomes, this
//! record keeps verifying with exactly that report.

use zkvote_verifier::verify_reader;

#[test]
fn the_pinned_version_1_record_keeps_its_report() {
    let record = include_bytes!("vectors/record-v1.jsonl");
    let (report, tally) = verify_reader(&record[..], None).unwrap();
    assert!(report.ok(), "{report}");
    assert!(tally.is_some());
    let expected = include_str!("vectors/record-v1.report.json");
    assert_eq!(report.to_json(), expected.trim_end());
}
