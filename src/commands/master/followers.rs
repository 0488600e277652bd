//! `codexport master followers`: who holds a token.

use std::io::Write;

use codexport_core::ExitStatus;
use codexport_core::identity::Identity;
use codexport_core::master::tokens::Followers;

use crate::cli::MasterFollowersArgs;
use crate::printer::Printer;

/// Prints one `NAME  CREATED` line per follower (or JSON); tokens are never shown.
pub(crate) fn run(args: &MasterFollowersArgs, printer: Printer) -> anyhow::Result<ExitStatus> {
    let homes = super::super::homes()?;
    Identity::load_master(&homes)?;
    let followers = Followers::load(&homes)?;
    let mut out = std::io::stdout().lock();
    if args.json {
        let list: Vec<_> = followers
            .followers
            .iter()
            .map(|(name, t)| serde_json::json!({"name": name, "created_at": t.created_at}))
            .collect();
        writeln!(out, "{}", serde_json::to_string_pretty(&list)?)?;
    } else if followers.followers.is_empty() {
        printer.status(format_args!(
            "no followers yet; make a link with `codexport master link --name NAME`"
        ));
    } else {
        for (name, t) in &followers.followers {
            writeln!(out, "{name}\t{}", t.created_at)?;
        }
    }
    Ok(ExitStatus::Success)
}
