//! `codexport follower join`: pin a master's key from a link and stage its revision.

use codexport_core::follower::{self, JoinRequest, SyncOptions};
use codexport_core::identity::is_fingerprint;
use codexport_core::link::JoinLink;
use codexport_core::lock::Wait;
use codexport_core::{Error, ExitStatus};

use crate::cli::FollowerJoinArgs;

/// Joins, stages, and applies with `--apply`.
pub(crate) fn run(args: &FollowerJoinArgs) -> anyhow::Result<ExitStatus> {
    let homes = super::super::homes()?;
    let request = match &args.link {
        Some(link) => {
            let link = JoinLink::parse(link)?;
            JoinRequest {
                url: link.master_url(),
                fingerprint: link.fingerprint,
                token: link.token,
            }
        }
        None => {
            let url = args.master.clone().unwrap_or_default();
            let fingerprint = args.fingerprint.clone().unwrap_or_default();
            if url::Url::parse(&url).map_or(true, |u| u.scheme() != "http" && u.scheme() != "https")
            {
                return Err(
                    Error::BadLink(format!("`--master {url}` is not an http:// URL")).into(),
                );
            }
            if !is_fingerprint(&fingerprint) {
                return Err(Error::BadLink(format!(
                    "`--fingerprint {fingerprint}` is not `SHA256:` + 43 base64url characters"
                ))
                .into());
            }
            JoinRequest {
                url,
                fingerprint,
                token: args.token.clone().unwrap_or_default(),
            }
        }
    };
    let manifest_before = super::super::mcp::manifest_snapshot(&homes);
    let outcome = follower::join(
        &homes,
        &request,
        SyncOptions {
            timeout: args.timeout,
            apply: args.apply,
            lock_wait: Wait::For(std::time::Duration::from_secs(60)),
            dry_run: false,
        },
    )?;
    eprintln!(
        "joined {} (fingerprint {})",
        request.url, request.fingerprint
    );
    super::super::sync::print_outcome(&outcome);
    if outcome.applied.is_some() {
        for line in super::super::mcp::after_apply(&homes, manifest_before.as_deref()) {
            eprintln!("{line}");
        }
    }
    Ok(ExitStatus::Success)
}
