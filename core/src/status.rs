//! `codexport status`: what this machine is, what it applied and staged, and whether the
//! master answers.

use std::time::Duration;

use serde::Serialize;

use crate::Homes;
use crate::error::Result;
use crate::follower::client::Client;
use crate::follower::state::{LastSync, State};
use crate::identity::Identity;
use crate::master::publish::load_published;
use crate::master::selection::{Selection, SkippedLink};
use crate::settings::{LocalSettings, MasterSettings};

/// A revision by seq and hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RevisionRef {
    /// Its seq.
    pub seq: u64,
    /// Its hash.
    pub revision: String,
}

/// Everything `status` reports (the `--json` shape).
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    /// `master`, `follower` or `none`.
    pub role: &'static str,
    /// The Codex home.
    pub codex_home: String,
    /// The tool home.
    pub tool_home: String,
    /// Master: its own fingerprint; follower: the pinned one.
    pub fingerprint: Option<String>,
    /// Follower: the master's URL.
    pub master_url: Option<String>,
    /// Master: the last published revision; follower: the applied one.
    pub applied: Option<RevisionRef>,
    /// When it was applied (follower).
    pub applied_at: Option<String>,
    /// Follower: the staged revision.
    pub staged: Option<RevisionRef>,
    /// Follower: files apply manages.
    pub managed_files: usize,
    /// Follower: the last sync.
    pub last_sync: Option<LastSync>,
    /// Follower: whether `/v1/meta` answered within the probe timeout.
    pub reachable: Option<bool>,
    /// Follower: the master's current revision, when it answered.
    pub master_revision: Option<RevisionRef>,
    /// Why the master did not answer.
    pub reach_error: Option<String>,
    /// Master: links leaving their root that are not published (see `follow_links`).
    pub skipped_links: Vec<SkippedLink>,
    /// The running codexport and the installed copy hooks and services run.
    pub binary: crate::binaries::BinaryStatus,
}

/// Gathers the status; probes the master for at most `probe` (none when `None`).
pub fn status(homes: &Homes, probe: Option<Duration>) -> Result<Status> {
    let mut status = Status {
        role: "none",
        codex_home: homes.codex.display().to_string(),
        tool_home: homes.tool.display().to_string(),
        fingerprint: None,
        master_url: None,
        applied: None,
        applied_at: None,
        staged: None,
        managed_files: 0,
        last_sync: None,
        reachable: None,
        master_revision: None,
        reach_error: None,
        skipped_links: Vec::new(),
        binary: crate::binaries::status(homes),
    };
    match Identity::load(homes)? {
        None => {}
        Some(Identity::Master(key)) => {
            status.role = "master";
            status.fingerprint = Some(key.fingerprint);
            status.applied = load_published(homes)?.map(|p| RevisionRef {
                seq: p.revision.seq,
                revision: p.revision.revision,
            });
            // A walk without hashing: what the next rebuild would leave out.
            let settings = MasterSettings::load(homes)?;
            status.skipped_links = Selection::new(&settings).select(homes).skipped_links;
        }
        Some(Identity::Follower(trust)) => {
            status.role = "follower";
            status.fingerprint = Some(trust.fingerprint.clone());
            let state = State::load(homes)?;
            status.managed_files = state.managed.values().map(|m| m.len()).sum();
            if let Some(a) = state.applied.clone() {
                status.applied = Some(RevisionRef {
                    seq: a.seq,
                    revision: a.revision,
                });
                status.applied_at = Some(a.applied_at);
            }
            status.staged = state.staged.map(|r| RevisionRef {
                seq: r.seq,
                revision: r.revision,
            });
            status.last_sync = LastSync::load(homes);
            let url = LocalSettings::load(homes).ok().and_then(|s| s.master);
            if let (Some(url), Some(probe)) = (&url, probe) {
                let answer = probe_meta(url, &trust.fingerprint, probe);
                status.reachable = Some(answer.is_ok());
                match answer {
                    Ok(r) => status.master_revision = Some(r),
                    Err(e) => status.reach_error = Some(e.to_string()),
                }
            }
            status.master_url = url;
        }
    }
    Ok(status)
}

fn probe_meta(url: &str, fingerprint: &str, timeout: Duration) -> Result<RevisionRef> {
    let client = Client::new(url, None, fingerprint, timeout)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| crate::error::Error::io("start the runtime for", ".", e))?;
    runtime.block_on(async {
        match tokio::time::timeout(timeout, client.meta()).await {
            // The meta is unsigned: only a well-formed revision name is shown as the master's.
            Ok(Ok(m)) if crate::store::is_object_name(&m.revision) => Ok(RevisionRef {
                seq: m.seq,
                revision: m.revision,
            }),
            Ok(Ok(_)) => Err(crate::error::Error::Protocol {
                url: url.to_owned(),
                reason: "`/v1/meta` names a revision that is not a SHA-256".to_owned(),
            }),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(crate::error::Error::Timeout {
                url: url.to_owned(),
                seconds: timeout.as_secs_f64(),
            }),
        }
    })
}
