//! `codexport sync`: pull the master's revision and stage it (and apply with `--apply`).

use codexport_core::ExitStatus;
use codexport_core::follower::{self, SyncOptions, SyncOutcome};
use codexport_core::lock::INTERACTIVE_WAIT;

use crate::cli::SyncArgs;
use crate::printer::Printer;

/// Syncs once; a summary goes to stderr.
pub(crate) fn run(args: &SyncArgs, printer: Printer) -> anyhow::Result<ExitStatus> {
    if args.hook {
        return super::hook::session::run(args);
    }
    let homes = super::homes()?;
    let manifest_before = super::mcp::manifest_snapshot(&homes);
    let outcome = follower::sync(
        &homes,
        SyncOptions {
            timeout: args.timeout,
            apply: args.apply,
            lock_wait: INTERACTIVE_WAIT,
            dry_run: args.dry_run,
            allow_mass_delete: args.allow_mass_delete,
            discard_journal: args.discard_journal,
        },
    )?;
    print_outcome(&outcome, printer);
    if outcome.applied.as_ref().is_some_and(|r| !r.dry_run) {
        for line in super::mcp::after_apply(&homes, manifest_before.as_deref()) {
            line.print(printer);
        }
    }
    Ok(ExitStatus::Success)
}

/// One line per fact on stderr: staged revision, fetched objects, what apply did.
pub(crate) fn print_outcome(outcome: &SyncOutcome, printer: Printer) {
    if let Some((seq, rev)) = &outcome.staged {
        if outcome.new_revision {
            printer.status(format_args!(
                "staged seq {seq} ({}) : {} objects, {} bytes fetched",
                &rev[..12.min(rev.len())],
                outcome.fetched_objects,
                outcome.fetched_bytes
            ));
        } else {
            printer.status(format_args!("up to date at seq {seq}"));
        }
    }
    if let Some(report) = &outcome.applied {
        super::apply::print_report(report, printer);
    }
}
