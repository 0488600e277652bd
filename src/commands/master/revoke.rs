//! `codexport master revoke NAME`: drop a follower's token.

use codexport_core::ExitStatus;
use codexport_core::identity::Identity;
use codexport_core::master::tokens::Followers;

use crate::cli::MasterRevokeArgs;
use crate::printer::Printer;

/// Removes the token; the running server refuses it from the next request on.
pub(crate) fn run(args: &MasterRevokeArgs, printer: Printer) -> anyhow::Result<ExitStatus> {
    let homes = super::super::homes()?;
    Identity::load_master(&homes)?;
    Followers::update(&homes, |followers| {
        Ok((followers.revoke(&args.name)?, true))
    })?;
    printer.status(format_args!("revoked `{}`", args.name));
    Ok(ExitStatus::Success)
}
