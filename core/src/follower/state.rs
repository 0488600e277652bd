//! `state.json` (applied revision and the files apply manages) and `last-sync.json`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::fsx::read_optional;
use crate::master::selection::Root;
use crate::{Homes, fsx};

/// Format version of `state.json`.
pub(crate) const STATE_VERSION: u32 = 1;

/// The revision an apply wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Applied {
    /// Revision hash.
    pub revision: String,
    /// Its seq.
    pub seq: u64,
    /// When (RFC 3339).
    pub applied_at: String,
}

/// The revision fetched, verified and staged in `staged.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Staged {
    /// Revision hash.
    pub revision: String,
    /// Its seq.
    pub seq: u64,
}

/// The small part of `state.json` a no-change sync needs (it skips the managed list; read by
/// [`head_from_slice`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Head {
    /// The last applied revision.
    pub applied: Option<Applied>,
    /// The staged revision.
    pub staged: Option<Staged>,
    /// The highest seq ever accepted.
    pub max_seq: u64,
}

impl Head {
    /// The revision to name in `If-None-Match`: the staged one, else the applied one.
    pub(crate) fn known_revision(&self) -> Option<&str> {
        self.staged
            .as_ref()
            .map(|s| s.revision.as_str())
            .or(self.applied.as_ref().map(|a| a.revision.as_str()))
    }

    /// The highest seq this follower has seen: a master offering less is rolling back.
    pub(crate) fn known_seq(&self) -> u64 {
        self.max_seq
            .max(self.applied.as_ref().map_or(0, |a| a.seq))
            .max(self.staged.as_ref().map_or(0, |s| s.seq))
    }

    /// Whether the staged revision is already applied.
    pub(crate) fn staged_is_applied(&self) -> bool {
        match (&self.staged, &self.applied) {
            (Some(s), Some(a)) => s.revision == a.revision,
            (None, _) => true,
            (Some(_), None) => false,
        }
    }
}

/// `state.json`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct State {
    /// [`STATE_VERSION`].
    pub version: u32,
    /// The last applied revision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applied: Option<Applied>,
    /// The staged revision (`staged.json`), so a no-change sync never parses it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub staged: Option<Staged>,
    /// The highest seq ever accepted from the pinned master (rollback protection survives
    /// an apply of nothing and a deleted staging file).
    #[serde(default)]
    pub max_seq: u64,
    /// Files apply wrote, by root then path, with the sha256 it wrote: the only files a
    /// later apply may delete. The last field, so the last written: [`State::load_head`]
    /// stops reading here.
    #[serde(default)]
    pub managed: BTreeMap<Root, BTreeMap<String, String>>,
}

fn parse<T>(
    homes: &Homes,
    from_slice: impl FnOnce(&[u8]) -> serde_json::Result<T>,
) -> Result<Option<T>> {
    let path = homes.state();
    let Some(bytes) = read_optional(&path)? else {
        return Ok(None);
    };
    from_slice(&bytes).map(Some).map_err(|e| Error::Corrupt {
        path,
        reason: e.to_string(),
        hint: "move `state.json` away and run `codexport sync --apply` (files an earlier apply wrote are then no longer deleted when the master drops them)".into(),
    })
}

/// Reads [`Head`] off `state.json` and stops at `managed`, which [`State`] writes last: the
/// managed list grows with the tree (1 MB for 10k files) and was most of a no-change hook's
/// work. What follows `managed` is not looked at; a full [`State::load`] (every apply) is.
fn head_from_slice(bytes: &[u8]) -> serde_json::Result<Head> {
    use serde::de::{Deserializer, Error as _, IgnoredAny, MapAccess, Visitor};

    /// Where the head goes when the parse is stopped at `managed` (by an error of ours).
    struct HeadVisitor<'a>(&'a mut Option<Head>);
    impl<'de> Visitor<'de> for HeadVisitor<'_> {
        type Value = Head;

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("the object of `state.json`")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<Head, A::Error> {
            let mut head = Head::default();
            while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                match &*key {
                    "applied" => head.applied = map.next_value()?,
                    "staged" => head.staged = map.next_value()?,
                    "max_seq" => head.max_seq = map.next_value()?,
                    "managed" => {
                        *self.0 = Some(head);
                        return Err(A::Error::custom("stopped at `managed`"));
                    }
                    _ => {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
            }
            Ok(head)
        }
    }
    let mut stopped = None;
    let mut de = serde_json::Deserializer::from_slice(bytes);
    de.deserialize_map(HeadVisitor(&mut stopped))
        .and_then(|head| de.end().map(|()| head))
        .or_else(|e| stopped.ok_or(e))
}

impl State {
    /// Reads `state.json` (empty when missing).
    pub(crate) fn load(homes: &Homes) -> Result<Self> {
        let state = parse(homes, |bytes| serde_json::from_slice(bytes))?;
        Ok(state.unwrap_or(Self {
            version: STATE_VERSION,
            ..Self::default()
        }))
    }

    /// Reads only the revisions and seq of `state.json` (fast: the hook path).
    pub(crate) fn load_head(homes: &Homes) -> Result<Head> {
        Ok(parse(homes, head_from_slice)?.unwrap_or_default())
    }

    /// Records that codexport itself rewrote the managed file `root:path` outside an apply
    /// (`hook install`), so the next apply does not report it as edited on this machine.
    /// Nothing happens when the file is not managed.
    pub(crate) fn rewrote_managed(homes: &Homes, root: Root, path: &str) -> Result<()> {
        let mut state = Self::load(homes)?;
        let Some(hash) = state.managed.get_mut(&root).and_then(|m| m.get_mut(path)) else {
            return Ok(());
        };
        let file = root.dir(homes).join(path);
        match std::fs::read(&file) {
            Ok(bytes) => *hash = crate::store::sha256_hex(&bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(Error::io("read", file, e)),
        }
        state.save(homes)
    }

    /// Writes `state.json` atomically.
    pub(crate) fn save(&self, homes: &Homes) -> Result<()> {
        let path = homes.state();
        let bytes = serde_json::to_vec_pretty(self).expect("serialises");
        fsx::write_atomic(&path, &bytes, None).map_err(|e| Error::io("write", path, e))
    }
}

/// How the last sync ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastSync {
    /// When it ended (RFC 3339; the file's modification time).
    #[serde(default, skip_deserializing)]
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
        let path = homes.last_sync();
        let mut last: Self = serde_json::from_slice(&read_optional(&path).ok()??).ok()?;
        let modified = std::fs::metadata(&path).ok()?.modified().ok()?;
        last.at = time::OffsetDateTime::from(modified)
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        Some(last)
    }

    /// Records an outcome (best effort). The same outcome as last time only touches the
    /// file's time: the hook path syncs often and should not pay for an fsync each time.
    pub fn record(homes: &Homes, error: Option<String>) {
        let path = homes.last_sync();
        let last = Self {
            at: String::new(),
            outcome: if error.is_some() { "error" } else { "ok" }.into(),
            error,
        };
        let bytes = serde_json::to_vec_pretty(&last).expect("serialises");
        if read_optional(&path).ok().flatten().as_deref() == Some(&bytes[..])
            && filetime::set_file_mtime(&path, filetime::FileTime::now()).is_ok()
        {
            return;
        }
        if let Err(e) = fsx::write_atomic(&path, &bytes, None) {
            tracing::warn!("cannot record the sync outcome: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> State {
        let mut managed = BTreeMap::new();
        managed.insert(
            Root::Codex,
            BTreeMap::from([("AGENTS.md".to_owned(), "ab".repeat(32))]),
        );
        State {
            version: STATE_VERSION,
            applied: Some(Applied {
                revision: "r1".into(),
                seq: 4,
                applied_at: "2026-12-02T00:00:00Z".into(),
            }),
            staged: Some(Staged {
                revision: "r2".into(),
                seq: 5,
            }),
            max_seq: 6,
            managed,
        }
    }

    fn head_of(state: &State) -> Head {
        Head {
            applied: state.applied.clone(),
            staged: state.staged.clone(),
            max_seq: state.max_seq,
        }
    }

    #[test]
    fn the_head_is_read_without_the_managed_list_that_follows_it() {
        let state = state();
        let bytes = serde_json::to_vec_pretty(&state).unwrap();
        assert_eq!(head_from_slice(&bytes).unwrap(), head_of(&state));
        // What follows `managed` is not read: a head read never pays for the list.
        let at = bytes.windows(9).position(|w| w == b"\"managed\"").unwrap();
        let mut cut = bytes[..at + 10].to_vec();
        cut.extend_from_slice(b" {\"codex\": [broken");
        assert_eq!(head_from_slice(&cut).unwrap(), head_of(&state));
        assert!(serde_json::from_slice::<State>(&cut).is_err());
    }

    #[test]
    fn a_head_without_managed_is_read_whole_and_checked_to_its_end() {
        let json = r#"{"version": 1, "applied": null, "max_seq": 9, "other": [1, {"a": 2}]}"#;
        let head = head_from_slice(json.as_bytes()).unwrap();
        assert_eq!(head.max_seq, 9);
        assert_eq!(head.applied, None);
        for broken in [
            &b"{\"max_seq\": 9"[..],
            b"{\"max_seq\": 9} trailing",
            b"{\"max_seq\": \"nine\", \"managed\": {}}",
            b"[1]",
            b"",
        ] {
            assert!(
                head_from_slice(broken).is_err(),
                "{:?}",
                String::from_utf8_lossy(broken)
            );
        }
    }
}
