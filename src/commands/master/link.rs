//! `codexport master link`: a join link with a fresh token for one follower.

use std::io::Write;

use codexport_core::ExitStatus;
use codexport_core::identity::Identity;
use codexport_core::link::{JoinLink, LINK_VERSION, PLAIN_LINK_VERSION};
use codexport_core::master::tokens::{Followers, Terms};
use codexport_core::settings::{DEFAULT_PORT, MasterSettings};

use crate::cli::MasterLinkArgs;

/// Issues a token for `--name` and prints the link and the equivalent explicit command.
pub(crate) fn run(args: &MasterLinkArgs) -> anyhow::Result<ExitStatus> {
    let homes = super::super::homes()?;
    let key = Identity::load_master(&homes)?;
    let config = MasterSettings::load(&homes)?;
    let configured: Option<std::net::SocketAddr> =
        config.listen.as_deref().and_then(|l| l.parse().ok());
    let port = args
        .port
        .or(configured.map(|a| a.port()))
        .unwrap_or(DEFAULT_PORT);
    let host = args
        .host
        .clone()
        .or_else(|| {
            configured
                .filter(|a| !a.ip().is_unspecified())
                .map(|a| a.ip().to_string())
        })
        .unwrap_or_else(hostname);
    // A follower refuses a link whose host is not one: refuse to issue it instead.
    codexport_core::link::parse_host(&host, true).map_err(|why| {
        codexport_core::Error::Usage(format!(
            "cannot make a link: {why}; pass `--host` with this machine's name or address"
        ))
    })?;
    let (token, invite) = Followers::update(&homes, |followers| {
        let terms = Terms {
            expires: args.expires,
            single_use: args.single_use,
        };
        let token = followers.issue_with(&args.name, terms)?;
        let invite = followers.followers[&args.name].invite.clone();
        Ok(((token, invite), true))
    })?;
    let link = JoinLink {
        host,
        port,
        fingerprint: key.fingerprint.clone(),
        token,
        version: if args.plain_http {
            PLAIN_LINK_VERSION
        } else {
            LINK_VERSION
        },
    };
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", link.to_link())?;
    writeln!(out)?;
    if let Some(invite) = invite {
        let until = invite
            .expires_at
            .as_deref()
            .map_or(String::new(), |at| format!(" until {at}"));
        let uses = if invite.single_use {
            "for one join"
        } else {
            "for joins"
        };
        writeln!(
            out,
            "An invite, valid {uses}{until}; the join exchanges it for the follower's own token."
        )?;
        writeln!(out)?;
    }
    writeln!(out, "On the follower:")?;
    writeln!(
        out,
        "  codexport follower join '{}' --apply",
        link.to_link()
    )?;
    writeln!(out, "or, without the link:")?;
    writeln!(
        out,
        "  codexport follower join --master {} --fingerprint {} --token {} --apply",
        link.master_url(),
        link.fingerprint,
        link.token
    )?;
    Ok(ExitStatus::Success)
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "127.0.0.1".to_owned())
}
