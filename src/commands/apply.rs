//! `codexport apply`: write the staged revision into the Codex home.

use std::time::Duration;

use codexport_core::ExitStatus;
use codexport_core::apply::ApplyReport;
use codexport_core::follower;
use codexport_core::lock::Wait;

use crate::cli::ApplyArgs;

/// Applies the staged revision; a summary goes to stderr.
pub(crate) fn run(_args: &ApplyArgs) -> anyhow::Result<ExitStatus> {
    let homes = super::homes()?;
    let manifest_before = super::mcp::manifest_snapshot(&homes);
    match follower::apply_staged(&homes, Wait::For(Duration::from_secs(60)))? {
        Some(report) => {
            print_report(&report);
            for line in super::mcp::after_apply(&homes, manifest_before.as_deref()) {
                eprintln!("{line}");
            }
        }
        None => eprintln!("already applied"),
    }
    Ok(ExitStatus::Success)
}

/// What an apply did, on stderr.
pub(crate) fn print_report(report: &ApplyReport) {
    eprintln!(
        "applied: {} written, {} deleted, {} unchanged",
        report.written.len(),
        report.deleted.len(),
        report.unchanged
    );
    for name in &report.locally_edited {
        eprintln!("warning: `{name}` was edited on this machine; the edit is in the backup");
    }
    if let Some(dir) = &report.backup_dir {
        eprintln!("backup: {}", dir.display());
    }
}
