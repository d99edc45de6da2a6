//! A verification split across machines (`docs/protocol.md` section 13.10). Check 5's first
//! stage (decoding and proofs, nearly all of the work) runs over ranges of entries in
//! parallel, each writing a *part*: the verdict on every ballot entry of its range and the
//! sum of its valid ballots. The merge then streams the whole record once more through
//! every check, taking check 5's verdicts from the parts instead of verifying the ballots
//! again, and gives the report the whole record's verification gives.
//!
//! A part is bound to the record by a digest of the leaf hashes of every entry up to its
//! range's end (what its verdicts were judged against, the manifest, keys and frozen root,
//! and the range itself): a part made from another record, or for another range, is
//! refused. A part's verdicts are the verifier's
//! own computation and are taken as they are: whoever merges parts made by a machine they
//! do not trust must verify that range again.
//!
//! A part is JSON Lines: a header `{"format": "zkvote-verify-part/1", "from": A, "to": B}`
//! (`to` null for "to the end"), one [`Verdict`] per ballot entry of the range in log
//! order, and a trailer `{"end": {...}}` ([`PartEnd`]).

use crate::checks::verdict::{Outcome, Verdict};
use crate::checks::{stream, TallyInputs, Verifier};
use crate::report::Report;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::VecDeque;
use std::fmt;
use std::io::{BufRead, Lines, Write};
use std::str::FromStr;
use zkvote_core::log::Hash;
use zkvote_core::Manifest;
use zkvote_protocol::{encode_aggregate, EncodedCiphertext, RecordError};
use zkvote_tally::Aggregate;

/// The header's format name.
pub const PART_FORMAT: &str = "zkvote-verify-part/1";

/// A range of log indices, `from..to` (`to` excluded), or `from..` to the record's end.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryRange {
    /// The first index.
    pub from: u64,
    /// The index after the last, or `None` for the record's end.
    pub to: Option<u64>,
}

impl EntryRange {
    /// Whether `index` is in the range.
    pub fn contains(&self, index: u64) -> bool {
        index >= self.from && self.to.map_or(true, |t| index < t)
    }
}

impl FromStr for EntryRange {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (from, to) = s
            .split_once("..")
            .ok_or_else(|| format!("{s:?} is not a range FROM..TO or FROM.."))?;
        let number = |t: &str| {
            t.parse::<u64>()
                .map_err(|_| format!("{t:?} in {s:?} is not an entry index"))
        };
        let range = EntryRange {
            from: number(from)?,
            to: if to.is_empty() {
                None
            } else {
                Some(number(to)?)
            },
        };
        match range.to {
            Some(t) if t <= range.from => Err(format!("{s:?} is empty")),
            _ => Ok(range),
        }
    }
}

impl fmt::Display for EntryRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.to {
            Some(t) => write!(f, "{}..{t}", self.from),
            None => write!(f, "{}..", self.from),
        }
    }
}

/// A part's first line.
#[derive(Serialize, Deserialize)]
struct PartHeader {
    format: String,
    #[serde(flatten)]
    range: EntryRange,
}

/// A part's last line, under `"end"`: what its range held.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartEnd {
    /// Entries of the record in the range.
    pub entries: u64,
    /// SHA-256 over the leaf hashes of the record's entries from index 0 to the range's
    /// end, in log order (hex).
    pub digest: String,
    /// Ballot entries in the range (one verdict each).
    pub ballots: u64,
    /// Of which valid.
    pub valid: u64,
    /// The sum of the valid ballots (per contest and option, `hex(A || B)`), when the
    /// record has a manifest.
    pub sum: Option<Vec<Vec<EncodedCiphertext>>>,
}

#[derive(Serialize, Deserialize)]
struct PartTrailer {
    end: PartEnd,
}

/// Why a split verification could not be made.
#[derive(Debug, thiserror::Error)]
pub enum SplitError {
    /// The record could not be read.
    #[error(transparent)]
    Record(#[from] RecordError),
    /// A part could not be written or read.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// A part does not belong to this record, or does not fit with the others.
    #[error("part {part}: {message}")]
    Part {
        /// The part's name (its file).
        part: String,
        /// What is wrong.
        message: String,
    },
    /// The parts together do not make the record.
    #[error("{0}")]
    Parts(String),
}

/// Verifies the ballots of `range` in the record read from `reader` (check 5's first
/// stage), writing the part to `out`. The entries before the range are read for what
/// ballots are checked against (manifest, keys, frozen root); the other checks are the
/// merge's.
pub fn verify_part(
    reader: impl BufRead,
    range: EntryRange,
    out: impl Write + Send + 'static,
    progress: Option<&dyn Fn(u64)>,
) -> Result<PartEnd, SplitError> {
    let mut writer = PartWriter::new(range, Box::new(out));
    writer.header()?;
    let mut v = Verifier::new();
    v.split = Mode::Part(writer);
    stream(reader, progress, &mut v)?;
    v.finish_part()
}

/// Verifies the record read from `reader` with check 5's first stage taken from `parts`
/// (each named, e.g. by its file), which together must cover the record's entries from
/// index 0, each range starting where the one before ends. Gives the report (and tally
/// inputs) the whole record's verification gives.
pub fn verify_merge(
    reader: impl BufRead,
    parts: Vec<(String, Box<dyn BufRead + Send>)>,
    progress: Option<&dyn Fn(u64)>,
) -> Result<(Report, Option<TallyInputs>), SplitError> {
    let mut v = Verifier::new();
    v.split = Mode::Merge(PartReader::open(parts)?);
    let checkpoint = stream(reader, progress, &mut v)?;
    v.finish_merge(&checkpoint)
}

/// What the verifier does with check 5: all of it, one range's first stage, or the second
/// stage on verdicts read from parts.
#[derive(Default)]
pub(crate) enum Mode {
    #[default]
    Whole,
    Part(PartWriter),
    Merge(PartReader),
}

impl Mode {
    /// The part being written, when verifying one.
    pub(crate) fn part_mut(&mut self) -> Option<&mut PartWriter> {
        match self {
            Mode::Part(p) => Some(p),
            _ => None,
        }
    }

    /// Whether a ballot entry at `index` is judged here (not in another range's part).
    pub(crate) fn judges(&self, index: u64) -> bool {
        match self {
            Mode::Whole => true,
            Mode::Part(p) => p.range.contains(index),
            Mode::Merge(_) => false,
        }
    }

    /// Whether writing or reading a part has failed.
    pub(crate) fn failed(&self) -> bool {
        match self {
            Mode::Whole => false,
            Mode::Part(p) => p.error.is_some(),
            Mode::Merge(r) => r.error.is_some(),
        }
    }

    /// Takes the leaf hash of the entry at `index`. When merging, returns the sum of a
    /// part whose range ended just before it.
    pub(crate) fn entry(&mut self, index: u64, leaf: &Hash) -> Option<PartSum> {
        match self {
            Mode::Whole => None,
            Mode::Part(p) => {
                p.entry(index, leaf);
                None
            }
            Mode::Merge(r) => r.entry(index, leaf),
        }
    }
}

/// A part's sum of valid ballots, with how many it holds.
pub(crate) struct PartSum {
    name: String,
    valid: u64,
    sum: Option<Vec<Vec<EncodedCiphertext>>>,
}

impl PartSum {
    /// The sum as an aggregate of `manifest`'s shape.
    pub(crate) fn decode(self, manifest: &Manifest) -> Result<Aggregate, SplitError> {
        let bad = |message: &str| SplitError::Part {
            part: self.name.clone(),
            message: message.into(),
        };
        let rows = self.sum.as_ref().ok_or_else(|| bad("it has no sum"))?;
        let mut agg = Aggregate::empty(manifest);
        if rows.len() != agg.contests.len()
            || rows
                .iter()
                .zip(&agg.contests)
                .any(|(r, c)| r.len() != c.len())
        {
            return Err(bad("its sum is not in the manifest's shape"));
        }
        for (row, cells) in rows.iter().zip(agg.contests.iter_mut()) {
            for (enc, cell) in row.iter().zip(cells.iter_mut()) {
                *cell = enc.decode().ok_or_else(|| bad("its sum does not decode"))?;
            }
        }
        agg.ballots = self.valid;
        Ok(agg)
    }
}

/// Writes a part as its range's ballots are judged.
pub(crate) struct PartWriter {
    range: EntryRange,
    out: Box<dyn Write + Send>,
    digest: Sha256,
    end: PartEnd,
    total: Option<Aggregate>,
    error: Option<SplitError>,
}

impl PartWriter {
    fn new(range: EntryRange, out: Box<dyn Write + Send>) -> Self {
        PartWriter {
            range,
            out,
            digest: Sha256::new(),
            end: PartEnd {
                entries: 0,
                digest: String::new(),
                ballots: 0,
                valid: 0,
                sum: None,
            },
            total: None,
            error: None,
        }
    }

    fn header(&mut self) -> std::io::Result<()> {
        let header = PartHeader {
            format: PART_FORMAT.into(),
            range: self.range,
        };
        self.line(&header)
    }

    fn line(&mut self, value: &impl Serialize) -> std::io::Result<()> {
        serde_json::to_writer(&mut self.out, value)?;
        self.out.write_all(b"\n")
    }

    fn entry(&mut self, index: u64, leaf: &Hash) {
        if self.range.to.map_or(true, |t| index < t) {
            self.digest.update(leaf);
        }
        if self.range.contains(index) {
            self.end.entries += 1;
        }
    }

    /// Writes a chunk's verdicts and adds its sum.
    pub(crate) fn write(&mut self, verdicts: &[Verdict], sum: Option<Aggregate>) {
        for v in verdicts {
            self.end.ballots += 1;
            self.end.valid += u64::from(matches!(v.outcome, Outcome::Valid(_)));
            if let Err(e) = self.line(v) {
                self.error.get_or_insert(e.into());
            }
        }
        if let Some(sum) = sum {
            self.total = Some(match self.total.take() {
                Some(t) => t.merge(sum),
                None => sum,
            });
        }
    }

    /// Writes the trailer.
    pub(crate) fn finish(mut self, manifest: Option<&Manifest>) -> Result<PartEnd, SplitError> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        self.end.digest = hex::encode(self.digest.clone().finalize());
        self.end.sum = match (self.total.take(), manifest) {
            (Some(t), _) => Some(encode_aggregate(&t)),
            (None, Some(m)) => Some(encode_aggregate(&Aggregate::empty(m))),
            (None, None) => None,
        };
        let trailer = PartTrailer {
            end: self.end.clone(),
        };
        self.line(&trailer)?;
        self.out.flush()?;
        Ok(self.end)
    }
}

/// One part being read.
struct OpenPart {
    name: String,
    range: EntryRange,
    lines: Lines<Box<dyn BufRead + Send>>,
    line: usize,
    entries: u64,
    ballots: u64,
    valid: u64,
}

/// Reads the parts in range order as the merge streams the record.
pub(crate) struct PartReader {
    /// SHA-256 over the leaf hashes of the entries so far.
    prefix: Sha256,
    waiting: VecDeque<OpenPart>,
    current: Option<OpenPart>,
    error: Option<SplitError>,
}

impl PartReader {
    /// Reads every part's header; they must start at index 0 and follow one another.
    fn open(parts: Vec<(String, Box<dyn BufRead + Send>)>) -> Result<Self, SplitError> {
        if parts.is_empty() {
            return Err(SplitError::Parts("no parts given".into()));
        }
        let mut opened = Vec::with_capacity(parts.len());
        for (name, reader) in parts {
            let mut lines = reader.lines();
            let bad = |message: String| SplitError::Part {
                part: name.clone(),
                message,
            };
            let first = lines.next().ok_or_else(|| bad("it is empty".into()))??;
            let header: PartHeader = serde_json::from_str(&first)
                .map_err(|e| bad(format!("its first line is not a part's header: {e}")))?;
            if header.format != PART_FORMAT {
                return Err(bad(format!("its format is {:?}", header.format)));
            }
            opened.push(OpenPart {
                name,
                range: header.range,
                lines,
                line: 1,
                entries: 0,
                ballots: 0,
                valid: 0,
            });
        }
        opened.sort_by_key(|p| p.range.from);
        let mut next = Some(0u64);
        for p in &opened {
            if Some(p.range.from) != next {
                return Err(SplitError::Parts(match next {
                    Some(n) => format!(
                        "no part starts at entry {n} (part {} covers {})",
                        p.name, p.range
                    ),
                    None => format!("part {} starts after a part that goes to the end", p.name),
                }));
            }
            next = p.range.to;
        }
        if next.is_some() {
            return Err(SplitError::Parts(format!(
                "the last part ends at entry {}: one must go to the record's end (FROM..)",
                next.unwrap_or_default()
            )));
        }
        let mut waiting: VecDeque<OpenPart> = opened.into();
        let current = waiting.pop_front();
        Ok(PartReader {
            prefix: Sha256::new(),
            waiting,
            current,
            error: None,
        })
    }

    /// Takes the leaf of the entry at `index`: closes the part whose range ended before
    /// it (returning its sum), then adds the leaf to the digest.
    fn entry(&mut self, index: u64, leaf: &Hash) -> Option<PartSum> {
        let mut closed = None;
        if self
            .current
            .as_ref()
            .is_some_and(|p| !p.range.contains(index))
        {
            closed = self.close_current();
            self.current = self.waiting.pop_front();
        }
        self.prefix.update(leaf);
        if let Some(p) = &mut self.current {
            p.entries += 1;
        }
        closed
    }

    /// The verdict on the ballot entry at `index`, from the part it is in.
    pub(crate) fn verdict(&mut self, index: u64) -> Option<Verdict> {
        let p = self.current.as_mut()?;
        let line = p.lines.next();
        p.line += 1;
        let found = match line {
            Some(Ok(text)) => serde_json::from_str::<Verdict>(&text).ok(),
            Some(Err(e)) => {
                self.error.get_or_insert(e.into());
                return None;
            }
            None => None,
        };
        match found {
            Some(v) if v.index == index => {
                p.ballots += 1;
                p.valid += u64::from(matches!(v.outcome, Outcome::Valid(_)));
                Some(v)
            }
            _ => {
                let message = format!(
                    "line {} is not the verdict on ballot entry {index}: the part was made from another record",
                    p.line
                );
                self.fail_part(message);
                None
            }
        }
    }

    fn fail_part(&mut self, message: String) {
        let part = self
            .current
            .as_ref()
            .map_or(String::new(), |p| p.name.clone());
        self.error.get_or_insert(SplitError::Part { part, message });
    }

    /// Reads the current part's trailer and checks it against what the merge saw.
    fn close_current(&mut self) -> Option<PartSum> {
        let mut p = self.current.take()?;
        let digest = hex::encode(self.prefix.clone().finalize());
        let trailer = match p.lines.next() {
            Some(Ok(text)) => serde_json::from_str::<PartTrailer>(&text).ok(),
            _ => None,
        };
        let wrong = match &trailer {
            None => {
                Some("it has more verdicts than the record has ballots in its range, or no trailer")
            }
            Some(PartTrailer { end }) if end.entries != p.entries || end.digest != digest => {
                Some("its entries are not this record's: it was made from another record")
            }
            Some(PartTrailer { end }) if end.ballots != p.ballots || end.valid != p.valid => {
                Some("its trailer's counts are not its verdicts'")
            }
            Some(_) => None,
        };
        if let Some(message) = wrong {
            self.error.get_or_insert(SplitError::Part {
                part: p.name,
                message: message.into(),
            });
            return None;
        }
        Some(PartSum {
            name: p.name,
            valid: p.valid,
            sum: trailer.and_then(|t| t.end.sum),
        })
    }

    /// Closes the last part once the record is in.
    pub(crate) fn finish(&mut self) -> Result<Option<PartSum>, SplitError> {
        let last = self.close_current();
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        if let Some(p) = self.waiting.front() {
            return Err(SplitError::Part {
                part: p.name.clone(),
                message: format!("it covers {}, after the record's end", p.range),
            });
        }
        Ok(last)
    }
}
