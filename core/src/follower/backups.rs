//! Backups of what applies replaced or deleted (`~/.codexport/backups/<stamp>/<root>/<path>`):
//! listing, pruning to a count, and planning a restore.

use std::fs;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::Error;

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
}

/// Every backup in `dir`, oldest first.
pub fn list(dir: &Path) -> Result<Vec<BackupInfo>, Error> {
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
pub fn prune(dir: &Path, keep: usize) -> Result<Vec<String>, Error> {
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
pub fn find(dir: &Path, name: Option<&str>) -> Result<BackupInfo, Error> {
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
pub fn files(backup: &BackupInfo) -> Result<Vec<RestoreFile>, Error> {
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
        out.push(RestoreFile {
            root,
            path,
            source: f.path().to_path_buf(),
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
