//! `codexport restore [BACKUP] [--dry-run]`: put the files of a backup back.

use codexport_core::ExitStatus;
use codexport_core::follower::backups;
use codexport_core::lock::{INTERACTIVE_WAIT, LockGuard};

use crate::cli::RestoreArgs;
use crate::printer::Printer;

/// Restores a backup (the newest by default); with `--dry-run` lists the files on stdout.
pub(crate) fn run(args: &RestoreArgs, printer: Printer) -> anyhow::Result<ExitStatus> {
    let homes = super::homes()?;
    let _lock =
        LockGuard::acquire(&homes.lock(), INTERACTIVE_WAIT).map_err(codexport_core::Error::from)?;
    let report = backups::restore(&homes, args.backup.as_deref(), args.dry_run)?;
    if args.dry_run {
        for name in &report.restored {
            println!("~ {name}");
        }
        printer.status(format_args!(
            "dry run: {} files of backup `{}` to put back, {} already as in it; nothing written",
            report.restored.len(),
            report.backup,
            report.unchanged
        ));
        return Ok(ExitStatus::Success);
    }
    printer.status(format_args!(
        "restored {} files from backup `{}` ({} already as in it)",
        report.restored.len(),
        report.backup,
        report.unchanged
    ));
    if let Some(dir) = &report.backup_dir {
        printer.status(format_args!("the files it replaced: {}", dir.display()));
    }
    Ok(ExitStatus::Success)
}
