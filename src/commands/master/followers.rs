//! `codexport master followers`: who holds a token, when each was last seen, its version.

use std::io::Write;

use codexport_core::ExitStatus;
use codexport_core::identity::Identity;
use codexport_core::master::tokens::{FollowerToken, Followers, Seen};

use crate::cli::MasterFollowersArgs;
use crate::printer::Printer;

/// Prints one `NAME  CREATED  LAST-SEEN  VERSION  [INVITE]` line per follower (or JSON);
/// tokens are never shown.
pub(crate) fn run(args: &MasterFollowersArgs, printer: Printer) -> anyhow::Result<ExitStatus> {
    let homes = super::super::homes()?;
    Identity::load_master(&homes)?;
    let followers = Followers::load(&homes)?;
    let seen = Seen::load(&homes);
    let mut out = std::io::stdout().lock();
    if args.json {
        let list: Vec<_> = followers
            .followers
            .iter()
            .map(|(name, t)| {
                let last = seen.followers.get(name);
                serde_json::json!({
                    "name": name,
                    "created_at": t.created_at,
                    "last_seen": last.map(|s| &s.at),
                    "version": last.and_then(|s| s.version.as_ref()),
                    "invite": t.invite.as_ref().map(|i| serde_json::json!({
                        "expires_at": i.expires_at,
                        "single_use": i.single_use,
                        "redeemed_at": i.redeemed_at,
                    })),
                })
            })
            .collect();
        writeln!(out, "{}", serde_json::to_string_pretty(&list)?)?;
    } else if followers.followers.is_empty() {
        printer.status(format_args!(
            "no followers yet; make a link with `codexport master link --name NAME`"
        ));
    } else {
        for (name, t) in &followers.followers {
            let last = seen.followers.get(name);
            let at = last.map_or("never seen", |s| s.at.as_str());
            let version = last.and_then(|s| s.version.as_deref()).unwrap_or("-");
            writeln!(
                out,
                "{name}\t{}\t{at}\t{version}{}",
                t.created_at,
                invite(t)
            )?;
        }
    }
    Ok(ExitStatus::Success)
}

/// An invite's state, as a last column (empty for a plain token).
fn invite(t: &FollowerToken) -> String {
    let Some(invite) = &t.invite else {
        return String::new();
    };
    let state = match (&invite.redeemed_at, invite.single_use) {
        (Some(at), true) => format!("single-use invite, used {at}"),
        (Some(at), false) => format!("invite, last used {at}"),
        (None, true) => "single-use invite, not used yet".to_owned(),
        (None, false) => "invite, not used yet".to_owned(),
    };
    match &invite.expires_at {
        Some(end) => format!("\t{state}, expires {end}"),
        None => format!("\t{state}"),
    }
}
