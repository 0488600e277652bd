//! `codexport gc [--dry-run] [--keep N] [--json]`: remove the objects no kept revision references.

use std::io::Write;

use codexport_core::ExitStatus;
use codexport_core::gc::{self, GcOptions, GcReport};
use codexport_core::lock::INTERACTIVE_WAIT;

use crate::cli::GcArgs;
use crate::printer::Printer;

/// Collects this machine's store; the report goes to stdout (JSON with `--json`).
pub(crate) fn run(args: &GcArgs, printer: Printer) -> anyhow::Result<ExitStatus> {
    let homes = super::homes()?;
    let report = gc::collect(
        &homes,
        GcOptions {
            dry_run: args.dry_run,
            keep: args.keep,
            budget: None,
            lock_wait: INTERACTIVE_WAIT,
        },
    )?;
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &report)?;
        writeln!(out)?;
        return Ok(ExitStatus::Success);
    }
    for line in lines(&report) {
        writeln!(out, "{line}")?;
    }
    for bad in &report.unreadable {
        printer.status(format_args!("warning: kept revision not readable: {bad}"));
    }
    Ok(ExitStatus::Success)
}

/// The report in words, one fact a line.
pub(crate) fn lines(report: &GcReport) -> Vec<String> {
    let verb = if report.dry_run {
        "would remove"
    } else {
        "removed"
    };
    let seqs = |s: &[u64]| s.iter().map(u64::to_string).collect::<Vec<_>>().join(", ");
    let mut lines = vec![
        format!(
            "{}: kept {} objects of seq {}",
            report.role,
            report.kept_objects,
            if report.kept_revisions.is_empty() {
                "none".to_owned()
            } else {
                seqs(&report.kept_revisions)
            }
        ),
        format!(
            "{verb} {} objects ({} bytes) and {} stale temp files",
            report.removed_objects, report.removed_bytes, report.removed_temps
        ),
    ];
    if !report.dropped_revisions.is_empty() {
        lines.push(format!(
            "{verb} revisions seq {} from `revisions/`",
            seqs(&report.dropped_revisions)
        ));
    }
    if report.stopped_early {
        lines.push("stopped at the time budget; the rest goes next time".to_owned());
    }
    lines
}
