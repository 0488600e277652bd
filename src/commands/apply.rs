//! `codexport apply`: write the staged revision, layered for this machine, into the Codex home.

use codexport_core::ExitStatus;
use codexport_core::follower;
use codexport_core::follower::apply::{ApplyOptions, ApplyReport};
use codexport_core::lock::INTERACTIVE_WAIT;

use crate::cli::ApplyArgs;
use crate::printer::Printer;

/// Applies the staged revision (or, with `--dry-run`, prints what it would change on stdout);
/// a summary goes to stderr.
pub(crate) fn run(args: &ApplyArgs, printer: Printer) -> anyhow::Result<ExitStatus> {
    let homes = super::homes()?;
    let manifest_before = super::mcp::manifest_snapshot(&homes);
    let report = follower::apply_staged(
        &homes,
        INTERACTIVE_WAIT,
        ApplyOptions {
            dry_run: args.dry_run,
            allow_mass_delete: args.allow_mass_delete,
            discard_journal: args.discard_journal,
        },
    )?;
    print_report(&report, printer);
    if !report.dry_run {
        for line in super::mcp::after_apply(&homes, manifest_before.as_deref()) {
            line.print(printer);
        }
    }
    Ok(ExitStatus::Success)
}

/// What an apply did (stderr), or for a dry run what it would do (stdout: the user asked).
pub(crate) fn print_report(report: &ApplyReport, printer: Printer) {
    if report.dry_run {
        print_diff(report, printer);
        return;
    }
    if report.written.is_empty() && report.deleted.is_empty() {
        printer.status(format_args!("already applied: nothing to change"));
    } else {
        printer.status(format_args!(
            "applied: {} written, {} deleted, {} unchanged",
            report.written.len(),
            report.deleted.len(),
            report.unchanged
        ));
    }
    print_notes(report, printer);
    if let Some(dir) = &report.backup_dir {
        printer.status(format_args!("backup: {}", dir.display()));
    }
    if !report.pruned_backups.is_empty() {
        printer.status(format_args!(
            "pruned {} old backups",
            report.pruned_backups.len()
        ));
    }
}

fn print_notes(report: &ApplyReport, printer: Printer) {
    for name in &report.locally_edited {
        printer.warn(format_args!(
            "`{name}` was edited on this machine; the edit is in the backup"
        ));
    }
    for name in &report.local_additions {
        printer.warn(format_args!(
            "`{name}` was added on this machine in a folder the master turned into a file or link; it is in the backup"
        ));
    }
    for note in &report.merge_notes {
        printer.status(format_args!("note: config.toml: {note}"));
    }
    for name in &report.replaced_mcps {
        printer.status(format_args!(
            "note: MCP `{name}` comes from mcps.local.toml (allowMcpOverrides)"
        ));
    }
}

/// `+ added`, `~ changed`, `- removed` files, then `config.toml` keys, on stdout.
fn print_diff(report: &ApplyReport, printer: Printer) {
    for name in &report.written {
        let sign = if report.added.contains(name) {
            '+'
        } else {
            '~'
        };
        println!("{sign} {name}");
    }
    for name in &report.deleted {
        println!("- {name}");
    }
    for key in &report.config_keys {
        println!("  config.toml {key}");
    }
    print_notes(report, printer);
    printer.status(format_args!(
        "dry run: {} to add, {} to change, {} to remove, {} unchanged; nothing written",
        report.added.len(),
        report.written.len() - report.added.len(),
        report.deleted.len(),
        report.unchanged
    ));
}
