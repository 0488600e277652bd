//! Snapshots: hash every selected file into the object store, re-reading only what changed.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::fsx::read_optional;
use crate::master::selection::{Selected, Selection, SkippedLink};
use crate::mcp::export::McpExport;
use crate::mcp::manifest::McpManifest;
use crate::revision::FileEntry;
use crate::settings::TomlFile;
use crate::store::{ObjectStore, sha256_hex};
use crate::{Homes, fsx};

/// What a file looked like when it was last hashed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Stamp {
    size: u64,
    mtime_ns: i128,
    inode: u64,
    sha256: String,
}

/// Remembers (size, mtime, inode) → sha256 per file, so an unchanged file is not re-read.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub(crate) struct HashCache {
    entries: HashMap<String, Stamp>,
    #[serde(skip)]
    path: Option<PathBuf>,
    /// Whether `entries` changed since it was loaded or saved.
    #[serde(skip)]
    dirty: bool,
}

impl HashCache {
    /// Loads the cache file of the master (`hash-cache.json`); an unreadable one starts empty.
    pub(crate) fn load(homes: &Homes) -> Self {
        let path = homes.tool.join("hash-cache.json");
        let mut cache: Self = read_optional(&path)
            .ok()
            .flatten()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        cache.path = Some(path);
        cache
    }

    /// Writes the cache back when it changed (best effort: a lost cache only costs
    /// re-hashing).
    pub(crate) fn save(&mut self) {
        if !self.dirty {
            return;
        }
        self.dirty = false;
        // Atomic but not fsynced: after a crash a stale or missing cache only costs a re-read.
        let write = |path: &std::path::Path, bytes: &[u8]| -> std::io::Result<()> {
            let parent = path.parent().expect("the cache lives in the tool home");
            fs::create_dir_all(parent)?;
            let mut tmp = crate::fsx::temp_file_in(parent, crate::fsx::TEMP_PREFIX, false)?;
            std::io::Write::write_all(&mut tmp, bytes)?;
            crate::fsx::persist(tmp, path)?;
            Ok(())
        };
        if let Some(path) = &self.path
            && let Ok(bytes) = serde_json::to_vec(self)
            && let Err(e) = write(path, &bytes)
        {
            tracing::warn!("cannot write `{}`: {e}", path.display());
        }
    }
}

impl HashCache {
    /// The stamp of one file: from the cache when size, mtime and inode match and the object
    /// is in the store, else read into the store (`true`: it was read).
    fn stamp(
        &self,
        store: &ObjectStore,
        key: &str,
        abs: &std::path::Path,
        meta: &fs::Metadata,
    ) -> Result<(Stamp, bool)> {
        let (size, mtime_ns, inode) = stamp_of(meta);
        if let Some(s) = self.entries.get(key).filter(|s| {
            s.size == size
                && s.mtime_ns == mtime_ns
                && s.inode == inode
                && store.contains(&s.sha256)
        }) {
            return Ok((s.clone(), false));
        }
        let (sha256, _) = store.put_file(abs).map_err(|e| Error::io("read", abs, e))?;
        Ok((
            Stamp {
                size,
                mtime_ns,
                inode,
                sha256,
            },
            true,
        ))
    }

    /// The revision entry of one selected file, hashed through the cache (and recorded in it),
    /// a link as its target; `None` when it vanished since it was listed. `true`: it was read.
    pub(crate) fn entry(
        &mut self,
        store: &ObjectStore,
        sel: Selected,
    ) -> Result<Option<(FileEntry, bool)>> {
        let meta = match fs::symlink_metadata(&sel.abs) {
            Ok(m) => m,
            // Deleted between listing and hashing: the next rebuild sees it gone.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io("read", &sel.abs, e)),
        };
        if let Some(target) = sel.link {
            return Ok(Some((
                FileEntry {
                    root: sel.root,
                    path: sel.path,
                    sha256: sha256_hex(target.as_bytes()),
                    size: target.len() as u64,
                    mode: 0o777,
                    class: sel.class,
                    link: Some(target),
                },
                false,
            )));
        }
        let key = cache_key(&sel);
        let (stamp, read) = self.stamp(store, &key, &sel.abs, &meta)?;
        let entry = FileEntry {
            root: sel.root,
            path: sel.path,
            sha256: stamp.sha256.clone(),
            size: stamp.size,
            mode: fsx::mode_of(&meta),
            class: sel.class,
            link: None,
        };
        if read {
            self.entries.insert(key, stamp);
            self.dirty = true;
        }
        Ok(Some((entry, read)))
    }
}

fn cache_key(sel: &Selected) -> String {
    format!("{}:{}", sel.root.name(), sel.path)
}

fn stamp_of(meta: &fs::Metadata) -> (u64, i128, u64) {
    let mtime = filetime::FileTime::from_last_modification_time(meta);
    let mtime_ns =
        i128::from(mtime.unix_seconds()) * 1_000_000_000 + i128::from(mtime.nanoseconds());
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(meta);
    #[cfg(not(unix))]
    let inode = 0;
    (meta.len(), mtime_ns, inode)
}

/// The selected files of a master, hashed, and its MCP manifest.
#[derive(Debug, Clone)]
pub(crate) struct Snapshot {
    /// Every file, sorted by root then path.
    pub files: Vec<FileEntry>,
    /// The MCP manifest built from `config.toml`.
    pub mcp: McpManifest,
    /// What was skipped or could not be exported, for the log.
    pub warnings: Vec<String>,
    /// Links leaving their root that were not published.
    pub skipped_links: Vec<SkippedLink>,
    /// Whether a link was followed under `follow_links`.
    pub followed: bool,
    /// How many files had to be read (the rest came from the hash cache).
    pub rehashed: usize,
}

/// Hashes every selected file into `store` and builds the MCP manifest through `export`.
pub(crate) fn snapshot(
    homes: &Homes,
    selection: &Selection,
    cache: &mut HashCache,
    store: &ObjectStore,
    export: &dyn McpExport,
) -> Result<Snapshot> {
    let scan = selection.select(homes);
    let mut warnings = scan.warnings;
    let mut files = Vec::with_capacity(scan.files.len());
    let mut rehashed = 0;
    let mut seen = HashSet::with_capacity(scan.files.len());
    for sel in scan.files {
        seen.insert(cache_key(&sel));
        if let Some((entry, read)) = cache.entry(store, sel)? {
            rehashed += usize::from(read);
            files.push(entry);
        }
    }
    // Forget files no longer selected, so the cache does not grow without bound.
    let before = cache.entries.len();
    cache.entries.retain(|key, _| seen.contains(key));
    cache.dirty |= cache.entries.len() != before;

    let config = TomlFile::codex(homes.codex_config()).read()?;
    let outcome = export.export(homes, config.as_ref(), store);
    warnings.extend(outcome.problems.iter().map(ToString::to_string));
    Ok(Snapshot {
        files,
        mcp: outcome.manifest,
        warnings,
        skipped_links: scan.skipped_links,
        followed: scan.followed,
        rehashed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Diagnose;
    use crate::mcp::export::PlainExport;
    use crate::settings::MasterSettings;

    #[test]
    fn second_snapshot_reads_only_the_changed_file() {
        let dir = tempfile::tempdir().unwrap();
        let homes = Homes::new(
            dir.path(),
            dir.path().join(".codex"),
            dir.path().join(".codexport"),
        );
        fs::create_dir_all(homes.codex.join("rules")).unwrap();
        for i in 0..5 {
            fs::write(
                homes.codex.join(format!("rules/{i}.rules")),
                format!("r{i}"),
            )
            .unwrap();
        }
        fs::write(
            homes.codex_config(),
            "model = \"x\"\n[mcp_servers.t]\ncommand = \"node\"\n",
        )
        .unwrap();
        let store = ObjectStore::new(homes.objects());
        let sel = Selection::new(&MasterSettings::default());
        let mut cache = HashCache::load(&homes);
        let first = snapshot(&homes, &sel, &mut cache, &store, &PlainExport).unwrap();
        assert_eq!(first.rehashed, 6);
        assert_eq!(first.mcp.names(), ["t"]);
        cache.save();

        let mut cache = HashCache::load(&homes);
        fs::write(homes.codex.join("rules/3.rules"), "changed, longer").unwrap();
        let second = snapshot(&homes, &sel, &mut cache, &store, &PlainExport).unwrap();
        assert_eq!(second.rehashed, 1);
        let changed = second
            .files
            .iter()
            .find(|f| f.path == "rules/3.rules")
            .unwrap();
        assert_eq!(changed.sha256, sha256_hex(b"changed, longer"));

        fs::write(homes.codex_config(), "model = [").unwrap();
        let err = snapshot(&homes, &sel, &mut cache, &store, &PlainExport).unwrap_err();
        assert!(
            matches!(
                err,
                Error::InvalidToml {
                    line: 1,
                    column: 10,
                    ..
                }
            ),
            "{err}"
        );
        assert!(
            err.hints()[0].contains("Codex refuses it too"),
            "{:?}",
            err.hints()
        );
    }
}
