//! `codexport follower trust-reset`: forget the pinned master key.

use codexport_core::ExitStatus;
use codexport_core::follower;

use crate::cli::FollowerTrustResetArgs;
use crate::printer::Printer;
use crate::report::CliError;

/// Drops the pinned key, the staged revision and the rollback floor, after `--yes`.
pub(crate) fn run(args: &FollowerTrustResetArgs, printer: Printer) -> anyhow::Result<ExitStatus> {
    let homes = super::super::homes()?;
    if !args.yes {
        return Err(CliError::new(
            ExitStatus::Usage,
            "trust-reset forgets the master's pinned key; confirm with `--yes`",
        )
        .hint("codexport follower trust-reset --yes")
        .into());
    }
    if follower::trust_reset(&homes)? {
        printer.status(format_args!(
            "forgot the pinned master key; join again with `codexport follower join LINK`"
        ));
    } else {
        printer.status(format_args!("no master key was pinned"));
    }
    Ok(ExitStatus::Success)
}
