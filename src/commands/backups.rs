//! `codexport backups [--json]`: list the backups applies made, oldest first.

use std::io::Write;

use codexport_core::ExitStatus;
use codexport_core::follower::backups;

use crate::cli::BackupsArgs;
use crate::printer::Printer;

/// Lists backups on stdout (a table, or JSON with `--json`).
pub(crate) fn run(args: &BackupsArgs, printer: Printer) -> anyhow::Result<ExitStatus> {
    let homes = super::homes()?;
    let list = backups::list(&homes.backups())?;
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &list)?;
        writeln!(out)?;
        return Ok(ExitStatus::Success);
    }
    if list.is_empty() {
        printer.status(format_args!(
            "no backups yet in `{}`",
            homes.backups().display()
        ));
        return Ok(ExitStatus::Success);
    }
    for b in &list {
        writeln!(
            out,
            "{}  {:>5} files  {:>10} bytes",
            b.name, b.files, b.bytes
        )?;
    }
    Ok(ExitStatus::Success)
}
