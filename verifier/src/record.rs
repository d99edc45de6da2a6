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

/// Parses one non-empty line of a record.
pub fn parse_line(line: &str) -> Result<Line, String> {
    match serde_json::from_str::<EntryLine>(line) {
        Ok(e) => Ok(Line::Entry(RecordEntry {
            index: e.index,
            kind: e.kind,
            data: e.entry.get().as_bytes().to_vec(),
        })),
        Err(entry_err) => serde_json::from_str::<CheckpointLine>(line)
            .map(|c| Line::Checkpoint(c.checkpoint))
            .map_err(|_| format!("not an entry or checkpoint line: {entry_err}")),
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
        let mut checkpoint = None;
        for (n, line) in lines.enumerate() {
            let line = line?;
            if line.is_empty() {
                continue;
            }
            if checkpoint.is_some() {
                return Err(RecordError::Line {
                    line: n + 1,
                    message: "nothing may follow the checkpoint line".into(),
                });
            }
            match parse_line(&line).map_err(|message| RecordError::Line {
                line: n + 1,
                message,
            })? {
                Line::Entry(e) => entries.push(e),
                Line::Checkpoint(c) => checkpoint = Some(c),
            }
        }
        Ok(Record {
            entries,
            checkpoint: checkpoint.ok_or(RecordError::NoCheckpoint)?,
        })
    }

    /// The record as JSON Lines, exactly as the board exports it.
    pub fn to_jsonl(&self) -> String {
        let mut out = String::new();
        for e in &self.entries {
            out.push_str(&format!(
                "{{\"index\":{},\"kind\":{},\"entry\":{}}}\n",
                e.index,
                serde_json::Value::String(e.kind.clone()),
                String::from_utf8_lossy(&e.data)
            ));
        }
        out.push_str(&serde_json::json!({ "checkpoint": self.checkpoint }).to_string());
        out.push('\n');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
