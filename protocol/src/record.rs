//! The election record: the board's JSON Lines export. Every line but the last is
//! `{"index":N,"kind":"...","entry":ENTRY}` where `ENTRY` is the entry's exact stored
//! bytes (its leaf data); the last line is `{"checkpoint":"<signed note>"}`.

use serde::Deserialize;
use serde_json::value::RawValue;
use std::io::BufRead;

/// One log entry as it appears in the record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordEntry {
    /// The index the line claims.
    pub index: u64,
    /// The kind the line claims.
    pub kind: String,
    /// The entry's exact bytes (the leaf data).
    pub data: Vec<u8>,
}

/// A whole election record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// Entries in the order of the file.
    pub entries: Vec<RecordEntry>,
    /// The board's signed checkpoint (C2SP signed note).
    pub checkpoint: String,
}

/// Why a record file could not be read. Anything past the syntax is the checks' business.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// Reading failed.
    #[error("cannot read the record: {0}")]
    Io(#[from] std::io::Error),
    /// A line is neither an entry line nor the checkpoint line.
    #[error("record line {line}: {message}")]
    Line {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// The file ends without the checkpoint line.
    #[error("the record has no checkpoint line at the end")]
    NoCheckpoint,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryLine<'a> {
    index: u64,
    kind: String,
    #[serde(borrow)]
    entry: &'a RawValue,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckpointLine {
    checkpoint: String,
}

/// One line of a record.
pub enum Line {
    /// An entry line.
    Entry(RecordEntry),
    /// The final checkpoint line (the signed note).
    Checkpoint(String),
}

/// An entry's line in the record (without the line feed): its one accepted form.
pub fn entry_line(index: u64, kind: &str, data: &[u8]) -> String {
    format!(
        "{{\"index\":{index},\"kind\":{},\"entry\":{}}}",
        serde_json::Value::String(kind.to_string()),
        String::from_utf8_lossy(data)
    )
}

/// The checkpoint's line in the record (without the line feed): its one accepted form.
pub fn checkpoint_line(note: &str) -> String {
    serde_json::json!({ "checkpoint": note }).to_string()
}

/// Parses one non-empty line of a record. Only the form [`entry_line`] or
/// [`checkpoint_line`] writes is accepted (keys in that order, no whitespace, the index
/// in plain decimal), so that every record has one reading.
pub fn parse_line(line: &str) -> Result<Line, String> {
    let parsed = match serde_json::from_str::<EntryLine>(line) {
        Ok(e) => Line::Entry(RecordEntry {
            index: e.index,
            kind: e.kind,
            data: e.entry.get().as_bytes().to_vec(),
        }),
        Err(entry_err) => serde_json::from_str::<CheckpointLine>(line)
            .map(|c| Line::Checkpoint(c.checkpoint))
            .map_err(|_| format!("not an entry or checkpoint line: {entry_err}"))?,
    };
    let canonical = match &parsed {
        Line::Entry(e) => entry_line(e.index, &e.kind, &e.data),
        Line::Checkpoint(c) => checkpoint_line(c),
    };
    if canonical != line {
        return Err(format!(
            "not in the record's line form (expected {})",
            match parsed {
                Line::Entry(_) => "{\"index\":N,\"kind\":\"...\",\"entry\":{...}}",
                Line::Checkpoint(_) => "{\"checkpoint\":\"...\"}",
            }
        ));
    }
    Ok(parsed)
}

/// Reads a record's lines one at a time: yields the entries, keeps the final checkpoint
/// line, refuses anything after it, and counts the bytes read.
pub struct LineReader<I> {
    lines: I,
    line: usize,
    bytes: u64,
    checkpoint: Option<String>,
}

impl<I: Iterator<Item = std::io::Result<String>>> LineReader<I> {
    /// A reader over `lines`.
    pub fn new(lines: I) -> Self {
        LineReader {
            lines,
            line: 0,
            bytes: 0,
            checkpoint: None,
        }
    }

    /// Bytes read so far (line terminators counted as one byte).
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// The checkpoint line, once every entry has been read.
    pub fn checkpoint(self) -> Result<String, RecordError> {
        self.checkpoint.ok_or(RecordError::NoCheckpoint)
    }
}

impl<I: Iterator<Item = std::io::Result<String>>> Iterator for LineReader<I> {
    type Item = Result<RecordEntry, RecordError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let line = match self.lines.next()? {
                Ok(l) => l,
                Err(e) => return Some(Err(e.into())),
            };
            self.line += 1;
            self.bytes += line.len() as u64 + 1;
            if line.is_empty() {
                continue;
            }
            let bad = |message: String, line: usize| RecordError::Line { line, message };
            if self.checkpoint.is_some() {
                return Some(Err(bad(
                    "nothing may follow the checkpoint line".into(),
                    self.line,
                )));
            }
            match parse_line(&line) {
                Ok(Line::Entry(e)) => return Some(Ok(e)),
                Ok(Line::Checkpoint(c)) => self.checkpoint = Some(c),
                Err(m) => return Some(Err(bad(m, self.line))),
            }
        }
    }
}

impl Record {
    /// Parses a record from its text.
    pub fn parse(text: &str) -> Result<Record, RecordError> {
        Record::from_lines(text.lines().map(|l| Ok(l.to_string())))
    }

    /// Reads a record line by line.
    pub fn read(reader: impl BufRead) -> Result<Record, RecordError> {
        Record::from_lines(reader.lines())
    }

    fn from_lines(
        lines: impl Iterator<Item = std::io::Result<String>>,
    ) -> Result<Record, RecordError> {
        let mut entries = Vec::new();
        let mut reader = LineReader::new(lines);
        for line in &mut reader {
            entries.push(line?);
        }
        Ok(Record {
            entries,
            checkpoint: reader.checkpoint()?,
        })
    }

    /// The record as JSON Lines, exactly as the board exports it.
    pub fn to_jsonl(&self) -> String {
        let mut out = String::new();
        for e in &self.entries {
            out.push_str(&entry_line(e.index, &e.kind, &e.data));
            out.push('\n');
        }
        out.push_str(&checkpoint_line(&self.checkpoint));
        out.push('\n');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn other_forms_of_a_line_are_refused() {
        let good = "{\"index\":19,\"kind\":\"close\",\"entry\":{\"kind\":\"close\"}}";
        assert!(parse_line(good).is_ok());
        for other in [
            "{\"index\":19.0,\"kind\":\"close\",\"entry\":{\"kind\":\"close\"}}",
            "{\"index\":1.9e1,\"kind\":\"close\",\"entry\":{\"kind\":\"close\"}}",
            "{\"index\":-0,\"kind\":\"close\",\"entry\":{\"kind\":\"close\"}}",
            "{\"kind\":\"close\",\"index\":19,\"entry\":{\"kind\":\"close\"}}",
            "{\"index\": 19,\"kind\":\"close\",\"entry\":{\"kind\":\"close\"}}",
            "{\"index\":19,\"kind\":\"close\",\"entry\":{\"kind\":\"close\"},\"extra\":1}",
            "{\"index\":19,\"index\":19,\"kind\":\"close\",\"entry\":{\"kind\":\"close\"}}",
            "{\"index\":19,\"kind\":\"\\u0063lose\",\"entry\":{\"kind\":\"close\"}}",
            "{\"checkpoint\":\"n\\n\",\"extra\":1}",
            "{ \"checkpoint\":\"n\\n\"}",
        ] {
            assert!(parse_line(other).is_err(), "{other} was accepted");
        }
    }

    #[test]
    fn entry_bytes_are_kept_exactly() {
        let text = "{\"index\":0,\"kind\":\"close\",\"entry\":{\"kind\":\"close\" }}\n{\"checkpoint\":\"n\\n\"}\n";
        let r = Record::parse(text).unwrap();
        assert_eq!(r.entries[0].data, b"{\"kind\":\"close\" }");
        assert_eq!(r.checkpoint, "n\n");
        assert_eq!(Record::parse(&r.to_jsonl()).unwrap(), r);
    }

    #[test]
    fn bad_records_are_refused() {
        assert!(matches!(
            Record::parse("{\"index\":0,\"kind\":\"close\",\"entry\":{}}\n"),
            Err(RecordError::NoCheckpoint)
        ));
        assert!(matches!(
            Record::parse("{\"checkpoint\":\"x\"}\n{\"checkpoint\":\"y\"}\n"),
            Err(RecordError::Line { line: 2, .. })
        ));
        assert!(matches!(
            Record::parse("{\"index\":\"zero\"}\n"),
            Err(RecordError::Line { line: 1, .. })
        ));
    }
}
