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

#[test]
fn a_version_1_record_has_no_transcript_to_verify() {
    use zkvote_verifier::transcript::{read_transcript, verify_transcript, TranscriptError};
    let record = include_bytes!("vectors/record-v1.jsonl");
    let entries = read_transcript(&record[..]).unwrap();
    // The manifest only: the entry after it is not of the ceremony.
    assert_eq!(entries.len(), 1);
    let e = verify_transcript(&entries).unwrap_err();
    assert!(matches!(e, TranscriptError::Version1), "{e}");
    assert!(e.to_string().contains("trust point"));
    assert!(matches!(
        verify_transcript(&[]),
        Err(TranscriptError::Genesis(_))
    ));
}
