//! Terminal output: progress bars (only on a terminal) and the result table.

use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use zkvote_core::Manifest;

/// Whether progress bars should be drawn (stderr is a terminal and not `--quiet`).
pub fn progress_enabled(quiet: bool) -> bool {
    !quiet && std::io::stderr().is_terminal()
}

/// A progress bar of `len` steps on stderr, hidden when `enabled` is false.
pub fn bar(len: u64, message: &str, enabled: bool) -> ProgressBar {
    if !enabled {
        return ProgressBar::hidden();
    }
    let b = ProgressBar::new(len);
    b.set_style(
        ProgressStyle::with_template("  {msg:<24} [{bar:32}] {pos}/{len} ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    b.set_message(message.to_string());
    b
}

/// A progress bar over `len` bytes on stderr, hidden when `enabled` is false.
pub fn byte_bar(len: u64, message: &str, enabled: bool) -> ProgressBar {
    if !enabled {
        return ProgressBar::hidden();
    }
    let b = ProgressBar::new(len);
    b.set_style(
        ProgressStyle::with_template(
            "  {msg:<24} [{bar:32}] {bytes}/{total_bytes} ({elapsed}, {eta} left)",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    b.set_message(message.to_string());
    b
}

/// The result as a table: one block per contest, one line per option.
pub fn result_table(manifest: &Manifest, counts: &[Vec<u64>]) -> String {
    let mut out = String::new();
    for (contest, row) in manifest.contests.iter().zip(counts) {
        out.push_str(&format!("  {} ({})\n", contest.title, contest.id));
        let width = contest
            .options
            .iter()
            .map(|o| o.label.len())
            .max()
            .unwrap_or(0);
        for (option, count) in contest.options.iter().zip(row) {
            out.push_str(&format!(
                "    {:<width$}  {:>8}\n",
                option.label,
                count,
                width = width
            ));
        }
    }
    out
}
