//! `codexport master revoke NAME`: drop a follower's token.

use codexport_core::ExitStatus;
use codexport_core::identity::Identity;
use codexport_core::master::tokens::Followers;

use crate::cli::MasterRevokeArgs;

/// Removes the token; the running server refuses it from the next request on.
pub(crate) fn run(args: &MasterRevokeArgs) -> anyhow::Result<ExitStatus> {
    let homes = super::super::homes()?;
    Identity::load_master(&homes)?;
    let mut followers = Followers::load(&homes)?;
    followers.revoke(&args.name)?;
    followers.save(&homes)?;
    eprintln!("revoked `{}`", args.name);
    Ok(ExitStatus::Success)
}
