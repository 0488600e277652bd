//! Backups of what applies and restores replaced (`~/.codexport/backups/<stamp>/<root>/<path>`):
//! taking one, listing, pruning to a count, and restoring one.

use std::fs;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{Error, Result};
use crate::follower::apply::RootPath;
use crate::follower::apply::execute::{current_hash, files_under, obstacle, rel_of};
use crate::follower::journal::Pending;
use crate::master::selection::Root;
use crate::store::sha256_hex;
use crate::{Homes, fsx};

/// One backup folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BackupInfo {
    /// Its name (a UTC timestamp, so names sort by age).
    pub name: String,
    /// Its folder.
    pub path: PathBuf,
    /// Files in it.
    pub files: usize,
    /// Their total size in bytes.
    pub bytes: u64,
}

/// One file a restore puts back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreFile {
    /// The root's name (`codex`, ...).
    pub root: String,
    /// Path inside the root, `/`-separated.
    pub path: String,
    /// The backed-up copy.
    pub source: PathBuf,
    /// The target text when the backed-up file is a symlink (restored as one).
    pub link: Option<String>,
}

/// What a restore did (or would do).
#[derive(Debug, Clone, Default)]
pub struct RestoreReport {
    /// The backup restored.
    pub backup: String,
    /// Every file put back.
    pub restored: Vec<RootPath>,
    /// Files already as in the backup.
    pub unchanged: usize,
    /// Where the replaced files were backed up, when any were.
    pub backup_dir: Option<PathBuf>,
    /// Nothing was written.
    pub dry_run: bool,
}

/// Copies each file `(at, existing)` into a new backup `<stamp>/<root>/<path>`, created
/// only when there is a file to copy; returns its folder. A symlink is saved as a symlink
/// (never followed), a folder with everything in it; a file keeps its mode (a backed-up
/// secret stays 0600; on Windows every backed-up file is owner-only, [`fsx::copy_private`]).
pub(crate) fn save<'a>(
    homes: &Homes,
    files: impl IntoIterator<Item = (&'a RootPath, &'a Path)>,
) -> Result<Option<PathBuf>> {
    let mut dir = None;
    for (at, existing) in files {
        let dir = dir.get_or_insert_with(|| homes.backups().join(stamp()));
        let dest = dir.join(at.root.name()).join(&at.rel);
        for file in files_under(existing) {
            let rel = file.strip_prefix(existing).expect("inside");
            let dest = if rel.as_os_str().is_empty() {
                dest.clone()
            } else {
                dest.join(rel)
            };
            save_one(&file, &dest)?;
        }
    }
    Ok(dir)
}

/// Copies the file or symlink `existing` to `dest`.
fn save_one(existing: &Path, dest: &Path) -> Result<()> {
    let parent = dest.parent().expect("has a parent");
    fs::create_dir_all(parent).map_err(|e| Error::io("create", parent, e))?;
    let meta = fs::symlink_metadata(existing).map_err(|e| Error::io("read", existing, e))?;
    if meta.file_type().is_symlink() {
        let target = fs::read_link(existing).map_err(|e| Error::io("read", existing, e))?;
        let _ = fs::remove_file(dest);
        #[cfg(unix)]
        std::os::unix::fs::symlink(&target, dest).map_err(|e| Error::io("back up", existing, e))?;
        #[cfg(not(unix))]
        fs::write(dest, target.to_string_lossy().as_bytes())
            .map_err(|e| Error::io("write", dest, e))?;
    } else {
        fsx::copy_private(existing, dest).map_err(|e| Error::io("back up", existing, e))?;
    }
    Ok(())
}

/// A new backup's name: the UTC time to the microsecond, so names sort by age.
fn stamp() -> String {
    time::OffsetDateTime::now_utc()
        .format(time::macros::format_description!(
            "[year][month][day]T[hour][minute][second].[subsecond digits:6]Z"
        ))
        .unwrap_or_else(|_| "backup".into())
}

/// Restores backup `name` (the newest when `None`): plans what differs from the backup,
/// then (unless `dry_run`) backs up what it replaces, so a restore can itself be undone,
/// and puts the files back through the journal. The caller holds the lock.
pub fn restore(homes: &Homes, name: Option<&str>, dry_run: bool) -> Result<RestoreReport> {
    crate::follower::apply::recover(homes, false)?;
    let info = find(&homes.backups(), name)?;
    let mut report = RestoreReport {
        backup: info.name.clone(),
        dry_run,
        ..Default::default()
    };
    let mut planned = Vec::new();
    let mut clears = Vec::new();
    for file in files(&info)? {
        let root = Root::from_name(&file.root).ok_or_else(|| Error::InvalidLayer {
            path: info.path.join(&file.root),
            reason: format!("`{}` is not a root codexport knows", file.root),
        })?;
        let at = RootPath::new(root, file.path);
        let target = at.target(homes);
        let (bytes, mode) = match &file.link {
            Some(text) => (text.as_bytes().to_vec(), 0o777),
            None => {
                let bytes =
                    fs::read(&file.source).map_err(|e| Error::io("read", &file.source, e))?;
                let mode = fs::metadata(&file.source)
                    .map(|m| fsx::mode_of(&m))
                    .map_err(|e| Error::io("read", &file.source, e))?;
                (bytes, mode)
            }
        };
        let is_link = file.link.is_some();
        let root_dir = root.dir(homes);
        let current = current_hash(&root_dir, &target);
        if current.as_ref().is_some_and(|(h, link, m)| {
            *link == is_link && *h == sha256_hex(&bytes) && (is_link || *m == mode)
        }) {
            report.unchanged += 1;
            continue;
        }
        // What changed kind since the backup (a folder where the file was, a link or file
        // where its folder was) goes first, backed up like every file the restore replaces.
        if let Some(block) = obstacle(&root_dir, &target)
            && !clears
                .iter()
                .any(|(_, b): &(RootPath, PathBuf)| *b == block)
        {
            clears.push((RootPath::new(root, rel_of(&root_dir, &block)), block));
        }
        report.restored.push(at.clone());
        planned.push((at, target, bytes, mode, is_link, current.is_some()));
    }
    if dry_run || planned.is_empty() {
        return Ok(report);
    }
    report.backup_dir = save(
        homes,
        planned
            .iter()
            .filter(|(.., existed)| *existed)
            .map(|(at, target, ..)| (at, target.as_path()))
            .chain(clears.iter().map(|(at, block)| (at, block.as_path()))),
    )?;
    let mut journal = Pending::begin(&homes.journal())?;
    for (at, block) in &clears {
        journal.clear(block, &at.root.dir(homes));
    }
    for (at, target, bytes, mode, link, _) in &planned {
        journal.write_in(&at.root.dir(homes), target, bytes, Some(*mode), *link)?;
    }
    journal.commit()?.run()?;
    Ok(report)
}

/// Every backup in `dir`, oldest first.
pub fn list(dir: &Path) -> Result<Vec<BackupInfo>> {
    let read = match fs::read_dir(dir) {
        Ok(r) => r,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io("read", dir, e)),
    };
    let mut out = Vec::new();
    for entry in read {
        let entry = entry.map_err(|e| Error::io("read", dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || !entry.path().is_dir() {
            continue;
        }
        let (mut files, mut bytes) = (0, 0);
        for f in walkdir::WalkDir::new(entry.path()).min_depth(1) {
            let f = f.map_err(|e| Error::io("read", entry.path(), e.into()))?;
            if !f.file_type().is_dir() {
                files += 1;
                bytes += f.metadata().map(|m| m.len()).unwrap_or(0);
            }
        }
        out.push(BackupInfo {
            name,
            path: entry.path(),
            files,
            bytes,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// Deletes the oldest backups until at most `keep` remain; returns the deleted names.
pub fn prune(dir: &Path, keep: usize) -> Result<Vec<String>> {
    let all = list(dir)?;
    let excess = all.len().saturating_sub(keep);
    let mut removed = Vec::new();
    for backup in all.into_iter().take(excess) {
        fs::remove_dir_all(&backup.path).map_err(|e| Error::io("remove", &backup.path, e))?;
        removed.push(backup.name);
    }
    Ok(removed)
}

/// The backup called `name`, or the newest when `None`.
pub fn find(dir: &Path, name: Option<&str>) -> Result<BackupInfo> {
    let all = list(dir)?;
    let found = match name {
        Some(n) => all.iter().find(|b| b.name == n),
        None => all.last(),
    };
    found.cloned().ok_or_else(|| Error::NoBackup {
        name: name.map(str::to_owned),
        known: all.iter().rev().take(5).map(|b| b.name.clone()).collect(),
    })
}

/// Every file of `backup`, by root and path (the first folder level is the root's name).
pub fn files(backup: &BackupInfo) -> Result<Vec<RestoreFile>> {
    let mut out = Vec::new();
    for f in walkdir::WalkDir::new(&backup.path)
        .min_depth(2)
        .sort_by_file_name()
    {
        let f = f.map_err(|e| Error::io("read", &backup.path, e.into()))?;
        if f.file_type().is_dir() {
            continue;
        }
        let rel = f.path().strip_prefix(&backup.path).expect("inside");
        let mut parts = rel.iter().map(|p| p.to_string_lossy().into_owned());
        let root = parts.next().expect("min_depth 2");
        let path = parts.collect::<Vec<_>>().join("/");
        let link = if f.path_is_symlink() {
            let target = fs::read_link(f.path()).map_err(|e| Error::io("read", f.path(), e))?;
            Some(target.to_string_lossy().into_owned())
        } else {
            None
        };
        out.push(RestoreFile {
            root,
            path,
            source: f.path().to_path_buf(),
            link,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_prune_find_files() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        for (stamp, file) in [
            ("20260101T000000Z", "codex/a"),
            ("20260102T000000Z", "codex/r/b"),
            ("20260103T000000Z", "codex/c"),
        ] {
            let p = dir.join(stamp).join(file);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, "xy").unwrap();
        }
        let all = list(dir).unwrap();
        assert_eq!(all.len(), 3);
        assert_eq!((all[0].files, all[0].bytes), (1, 2));
        assert_eq!(find(dir, None).unwrap().name, "20260103T000000Z");
        let b = find(dir, Some("20260102T000000Z")).unwrap();
        let f = files(&b).unwrap();
        assert_eq!((f[0].root.as_str(), f[0].path.as_str()), ("codex", "r/b"));
        let err = find(dir, Some("nope")).unwrap_err().to_string();
        assert!(err.contains("`nope`"), "{err}");
        assert_eq!(
            prune(dir, 1).unwrap(),
            ["20260101T000000Z", "20260102T000000Z"]
        );
        assert_eq!(list(dir).unwrap().len(), 1);
        assert!(prune(dir, 5).unwrap().is_empty());
    }
}
