//! `zkvote verify`: a whole record, one range of its ballots (a part), or a merge of parts
//! (`docs/deployment.md`, "Verifying 10 million ballots").

use crate::ui::byte_bar;
use crate::CliError;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter};
use std::path::{Path, PathBuf};
use zkvote_verifier::split::{verify_merge, verify_part, EntryRange, PartEnd};
use zkvote_verifier::{verify_reader, Report};

/// What to do with the record.
pub enum Job {
    /// Every check on the whole record.
    Whole,
    /// Check 5's first stage on the ballots of a range, written to a part file.
    Part {
        /// The range.
        range: EntryRange,
        /// The part file.
        out: PathBuf,
    },
    /// Every check, with check 5's first stage taken from these part files.
    Merge(Vec<PathBuf>),
}

/// What the job found.
pub enum Outcome {
    /// The report (whole or merged).
    Report(Box<Report>),
    /// A part was written.
    Part(PartEnd),
}

/// Runs `job` on the record at `path`, with a progress bar when `progress` is set.
pub async fn run(path: &Path, job: Job, progress: bool) -> Result<Outcome, CliError> {
    let (file, size) = File::open(path)
        .and_then(|f| f.metadata().map(|m| (f, m.len())))
        .map_err(|e| CliError::msg(format!("cannot read record {}: {e}", path.display())))?;
    let message = match &job {
        Job::Part { range, .. } => format!("verifying {range}"),
        _ => "verifying".to_string(),
    };
    let pb = byte_bar(size, &message, progress);
    tokio::task::spawn_blocking(move || {
        let progress = |bytes: u64| pb.set_position(bytes);
        let reader = BufReader::with_capacity(1 << 20, file);
        let r = run_blocking(reader, job, &progress);
        pb.finish_and_clear();
        r
    })
    .await
    .map_err(|e| CliError::msg(e.to_string()))?
}

fn run_blocking(
    reader: impl BufRead,
    job: Job,
    progress: &dyn Fn(u64),
) -> Result<Outcome, CliError> {
    let fail = |e: &dyn std::fmt::Display| CliError::msg(e.to_string());
    match job {
        Job::Whole => {
            let (report, _) = verify_reader(reader, Some(progress)).map_err(|e| fail(&e))?;
            Ok(Outcome::Report(Box::new(report)))
        }
        Job::Part { range, out } => {
            // Written aside and renamed once whole, so that a part file is never partial.
            let mut aside = out.clone().into_os_string();
            aside.push(".incomplete");
            let aside = PathBuf::from(aside);
            let cannot = |e: std::io::Error| {
                CliError::msg(format!("cannot write part {}: {e}", out.display()))
            };
            let file = File::create(&aside).map_err(cannot)?;
            match verify_part(reader, range, BufWriter::new(file), Some(progress)) {
                Ok(end) => {
                    std::fs::rename(&aside, &out).map_err(cannot)?;
                    Ok(Outcome::Part(end))
                }
                Err(e) => {
                    std::fs::remove_file(&aside).ok();
                    Err(fail(&e))
                }
            }
        }
        Job::Merge(paths) => {
            let mut parts: Vec<(String, Box<dyn BufRead + Send>)> = Vec::with_capacity(paths.len());
            for p in paths {
                let f = File::open(&p)
                    .map_err(|e| CliError::msg(format!("cannot read part {}: {e}", p.display())))?;
                parts.push((p.display().to_string(), Box::new(BufReader::new(f))));
            }
            let (report, _) = verify_merge(reader, parts, Some(progress)).map_err(|e| fail(&e))?;
            Ok(Outcome::Report(Box::new(report)))
        }
    }
}
