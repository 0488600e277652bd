//! Writes the desired files: backup, temp + fsync + rename, managed-only deletion, state.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use crate::apply::{DesiredFile, Source};
use crate::error::{Error, Result};
use crate::identity::now_rfc3339;
use crate::revision::Revision;
use crate::selection::{FileClass, Root};
use crate::state::{Applied, State};
use crate::store::{ObjectStore, sha256_hex};
use crate::{Homes, fsx};

/// What an apply did.
#[derive(Debug, Clone, Default)]
pub struct ApplyReport {
    /// `root:path` of every file written.
    pub written: Vec<String>,
    /// `root:path` of every managed file deleted.
    pub deleted: Vec<String>,
    /// Files already as desired.
    pub unchanged: usize,
    /// Managed files that were edited on this machine since the last apply (backed up).
    pub locally_edited: Vec<String>,
    /// Where replaced files were backed up, when any were.
    pub backup_dir: Option<PathBuf>,
}

/// Lazily created backup directory `backups/<timestamp>/<root>/<path>`.
struct Backup {
    root: PathBuf,
    dir: Option<PathBuf>,
}

impl Backup {
    fn save(&mut self, root: Root, rel: &str, existing: &Path) -> Result<()> {
        let dir = match &self.dir {
            Some(d) => d.clone(),
            None => {
                let stamp = time::OffsetDateTime::now_utc()
                    .format(time::macros::format_description!(
                        "[year][month][day]T[hour][minute][second].[subsecond digits:6]Z"
                    ))
                    .unwrap_or_else(|_| "backup".into());
                let d = self.root.join(stamp);
                self.dir = Some(d.clone());
                d
            }
        };
        let dest = dir.join(root.name()).join(rel);
        let parent = dest.parent().expect("has a parent");
        fs::create_dir_all(parent).map_err(|e| Error::io("create", parent, e))?;
        let meta = fs::symlink_metadata(existing).map_err(|e| Error::io("read", existing, e))?;
        if meta.file_type().is_symlink() {
            let target = fs::read_link(existing).map_err(|e| Error::io("read", existing, e))?;
            fs::write(&dest, target.to_string_lossy().as_bytes())
                .map_err(|e| Error::io("write", &dest, e))?;
        } else {
            // Keep the mode: a backed-up secret stays 0600.
            fs::copy(existing, &dest).map_err(|e| Error::io("back up", existing, e))?;
        }
        Ok(())
    }
}

/// The bytes a desired file should hold (objects re-verified: the store is a cache).
fn content(store: &ObjectStore, file: &DesiredFile) -> Result<Vec<u8>> {
    match &file.source {
        Source::Object(hash) => {
            let path = store.path(hash).map_err(|e| Error::Protocol {
                url: "store".into(),
                reason: e.to_string(),
            })?;
            let bytes = fs::read(&path).map_err(|e| Error::io("read", &path, e))?;
            let actual = sha256_hex(&bytes);
            if &actual != hash {
                return Err(Error::HashMismatch {
                    expected: hash.clone(),
                    actual,
                });
            }
            Ok(bytes)
        }
        Source::Bytes(b) => Ok(b.clone()),
        Source::Link(target) => Ok(target.as_bytes().to_vec()),
    }
}

/// The sha256 a desired file's content has, without reading it.
fn desired_hash(file: &DesiredFile) -> String {
    match &file.source {
        Source::Object(hash) => hash.clone(),
        Source::Bytes(b) => sha256_hex(b),
        Source::Link(target) => sha256_hex(target.as_bytes()),
    }
}

fn mode_for(file: &DesiredFile) -> u32 {
    match file.class {
        FileClass::Secret => fsx::SECRET_MODE,
        _ => file.mode & 0o777,
    }
}

/// The sha256 of what is at `path` now (a link hashes its target text), if anything.
fn current_hash(path: &Path) -> Option<(String, bool, u32)> {
    let meta = fs::symlink_metadata(path).ok()?;
    if meta.file_type().is_symlink() {
        let target = fs::read_link(path).ok()?;
        return Some((sha256_hex(target.to_string_lossy().as_bytes()), true, 0o777));
    }
    if !meta.is_file() {
        return None;
    }
    let bytes = fs::read(path).ok()?;
    Some((sha256_hex(&bytes), false, fsx::mode_of(&meta)))
}

/// Writes `files` into their roots and records the result. The caller holds the lock.
pub fn execute(homes: &Homes, revision: &Revision, files: &[DesiredFile]) -> Result<ApplyReport> {
    let store = ObjectStore::new(homes.objects());
    let mut state = State::load(homes)?;
    let mut report = ApplyReport::default();
    let mut backup = Backup {
        root: homes.backups(),
        dir: None,
    };
    let mut managed: BTreeMap<Root, BTreeMap<String, String>> = BTreeMap::new();

    // Decide what must be written before reading any object, then read and verify those
    // objects, so a missing or corrupt object stops the apply before any file changes.
    let mut pending = Vec::new();
    for file in files {
        let target = file.root.dir(homes).join(&file.path);
        let hash = desired_hash(file);
        let is_link = matches!(file.source, Source::Link(_));
        let mode = mode_for(file);
        managed
            .entry(file.root)
            .or_default()
            .insert(file.path.clone(), hash.clone());
        let existing = current_hash(&target);
        if let Some((h, link, m)) = &existing
            && *h == hash
            && *link == is_link
            && (is_link || *m == mode)
        {
            report.unchanged += 1;
            continue;
        }
        pending.push((file, target, existing.map(|(h, ..)| h), is_link, mode));
    }
    let contents = pending
        .iter()
        .map(|(file, ..)| content(&store, file))
        .collect::<Result<Vec<_>>>()?;

    for ((file, target, existing, is_link, mode), bytes) in pending.into_iter().zip(contents) {
        let name = format!("{}:{}", file.root.name(), file.path);
        if let Some(h) = &existing {
            let before = state
                .managed
                .get(&file.root)
                .and_then(|m| m.get(&file.path));
            if before.is_some_and(|b| b != h) {
                report.locally_edited.push(name.clone());
            }
            backup.save(file.root, &file.path, &target)?;
        }
        write_one(&target, &bytes, is_link, mode)?;
        report.written.push(name);
    }

    for (root, paths) in &state.managed {
        for (path, written_hash) in paths {
            if managed.get(root).is_some_and(|m| m.contains_key(path)) {
                continue;
            }
            let target = root.dir(homes).join(path);
            let Some((h, ..)) = current_hash(&target) else {
                continue;
            };
            let name = format!("{}:{path}", root.name());
            if &h != written_hash {
                report.locally_edited.push(name.clone());
            }
            backup.save(*root, path, &target)?;
            fs::remove_file(&target).map_err(|e| Error::io("delete", &target, e))?;
            remove_empty_parents(&target, &root.dir(homes));
            report.deleted.push(name);
        }
    }

    let manifest_path = homes.mcp_manifest();
    let manifest = serde_json::to_vec_pretty(&revision.mcp).expect("serialises");
    fsx::write_secret(&manifest_path, &manifest)
        .map_err(|e| Error::io("write", manifest_path, e))?;

    state.applied = Some(Applied {
        revision: revision.revision.clone(),
        seq: revision.seq,
        applied_at: now_rfc3339(),
    });
    state.max_seq = state.max_seq.max(revision.seq);
    state.managed = managed;
    state.save(homes)?;
    report.backup_dir = backup.dir;
    Ok(report)
}

fn write_one(target: &Path, bytes: &[u8], is_link: bool, mode: u32) -> Result<()> {
    if let Ok(meta) = fs::symlink_metadata(target)
        && meta.is_dir()
        && !meta.file_type().is_symlink()
    {
        return Err(Error::io(
            "replace the directory",
            target,
            std::io::Error::other("a file of the revision has this path"),
        ));
    }
    if is_link {
        let parent = target.parent().expect("has a parent");
        fs::create_dir_all(parent).map_err(|e| Error::io("create", parent, e))?;
        let _ = fs::remove_file(target);
        #[cfg(unix)]
        std::os::unix::fs::symlink(String::from_utf8_lossy(bytes).as_ref(), target)
            .map_err(|e| Error::io("create the symlink", target, e))?;
        #[cfg(not(unix))]
        fsx::write_atomic(target, bytes, None).map_err(|e| Error::io("write", target, e))?;
        return Ok(());
    }
    // A symlink in the way is replaced, not written through.
    if fs::symlink_metadata(target).is_ok_and(|m| m.file_type().is_symlink()) {
        fs::remove_file(target).map_err(|e| Error::io("replace", target, e))?;
    }
    fsx::write_atomic(target, bytes, Some(mode)).map_err(|e| Error::io("write", target, e))
}

fn remove_empty_parents(file: &Path, root: &Path) {
    let mut dir = file.parent();
    while let Some(d) = dir {
        if d == root || !d.starts_with(root) || fs::remove_dir(d).is_err() {
            break;
        }
        dir = d.parent();
    }
}
