//! `state.json` (applied revision and the files apply manages) and `last-sync.json`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::identity::read_optional;
use crate::selection::Root;
use crate::{Homes, fsx};

/// Format version of `state.json`.
pub const STATE_VERSION: u32 = 1;

/// The revision an apply wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applied {
    /// Revision hash.
    pub revision: String,
    /// Its seq.
    pub seq: u64,
    /// When (RFC 3339).
    pub applied_at: String,
}

/// `state.json`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// [`STATE_VERSION`].
    pub version: u32,
    /// The last applied revision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applied: Option<Applied>,
    /// The highest seq ever accepted from the pinned master (rollback protection survives
    /// an apply of nothing and a deleted staging file).
    #[serde(default)]
    pub max_seq: u64,
    /// Files apply wrote, by root then path, with the sha256 it wrote: the only files a
    /// later apply may delete.
    #[serde(default)]
    pub managed: BTreeMap<Root, BTreeMap<String, String>>,
}

impl State {
    /// Reads `state.json` (empty when missing).
    pub fn load(homes: &Homes) -> Result<Self> {
        let path = homes.state();
        let Some(bytes) = read_optional(&path)? else {
            return Ok(Self {
                version: STATE_VERSION,
                ..Self::default()
            });
        };
        serde_json::from_slice(&bytes).map_err(|e| Error::Corrupt {
            path,
            reason: e.to_string(),
            hint: "move `state.json` away and run `codexport sync --apply` (files an earlier apply wrote are then no longer deleted when the master drops them)".into(),
        })
    }

    /// Writes `state.json` atomically.
    pub fn save(&self, homes: &Homes) -> Result<()> {
        let path = homes.state();
        let bytes = serde_json::to_vec_pretty(self).expect("serialises");
        fsx::write_atomic(&path, &bytes, None).map_err(|e| Error::io("write", path, e))
    }
}

/// How the last sync ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastSync {
    /// When it ended (RFC 3339).
    pub at: String,
    /// `ok` or `error`.
    pub outcome: String,
    /// The error message, when it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl LastSync {
    /// Reads `last-sync.json` (none when missing or unreadable: it is informational).
    pub fn load(homes: &Homes) -> Option<Self> {
        read_optional(&homes.last_sync())
            .ok()
            .flatten()
            .and_then(|b| serde_json::from_slice(&b).ok())
    }

    /// Records an outcome (best effort).
    pub fn record(homes: &Homes, error: Option<String>) {
        let last = Self {
            at: crate::identity::now_rfc3339(),
            outcome: if error.is_some() { "error" } else { "ok" }.into(),
            error,
        };
        let bytes = serde_json::to_vec_pretty(&last).expect("serialises");
        if let Err(e) = fsx::write_atomic(&homes.last_sync(), &bytes, None) {
            tracing::warn!("cannot record the sync outcome: {e}");
        }
    }
}
