//! `codexport follower join`: pin a master's key from a link and stage its revision.

use codexport_core::ExitStatus;
use codexport_core::follower::{self, SyncOptions};
use codexport_core::link::{self, JoinLink};
use codexport_core::lock::INTERACTIVE_WAIT;

use crate::cli::FollowerJoinArgs;
use crate::printer::Printer;

/// Joins, stages, and applies with `--apply`.
pub(crate) fn run(args: &FollowerJoinArgs, printer: Printer) -> anyhow::Result<ExitStatus> {
    let homes = super::super::homes()?;
    let request = match &args.link {
        Some(link) => JoinLink::parse(link)?.into(),
        None => link::explicit_request(
            args.master.as_deref().unwrap_or_default(),
            args.fingerprint.as_deref().unwrap_or_default(),
            args.token.as_deref().unwrap_or_default(),
        )?,
    };
    let manifest_before = super::super::mcp::manifest_snapshot(&homes);
    let outcome = follower::join(
        &homes,
        &request,
        SyncOptions {
            timeout: args.timeout,
            apply: args.apply,
            lock_wait: INTERACTIVE_WAIT,
            ..SyncOptions::default()
        },
    )?;
    printer.status(format_args!(
        "joined {} (fingerprint {})",
        request.url, request.fingerprint
    ));
    super::super::sync::print_outcome(&outcome, printer);
    if outcome.applied.is_some() {
        for line in super::super::mcp::after_apply(&homes, manifest_before.as_deref()) {
            line.print(printer);
        }
    }
    Ok(ExitStatus::Success)
}
