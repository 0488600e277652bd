//! The apply journal: a multi-file change that a crash (kill -9, power loss) cannot leave half
//! done. Every new content is written into the journal first, then the list of operations is
//! committed with one atomic rename; only then are targets touched. A run that finds a
//! committed journal replays it (every operation is idempotent), and an uncommitted one is
//! dropped: the targets were never touched. A journal that cannot be replayed is reported with
//! the command that discards it ([`discard`]), never retried forever.

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::store::sha256_hex;
use crate::{env, fsx};

/// The committed operation list inside the journal directory.
const OPS_FILE: &str = "journal.json";
/// Content files inside the journal directory.
const BLOBS: &str = "blobs";

/// One idempotent change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub(crate) enum Op {
    /// Make `path` hold blob `blob` (or, for a link, point at the blob's text).
    Write {
        /// Absolute target.
        path: PathBuf,
        /// Index of the content in `blobs/`.
        blob: usize,
        /// Permission bits (ignored for links).
        mode: Option<u32>,
        /// Whether the target is a symlink.
        #[serde(default)]
        link: bool,
        /// The root `path` lies in: nothing below it is written through a link.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        root: Option<PathBuf>,
    },
    /// Make `path` hold the bytes of `from`, a file that never changes (an object of the
    /// content-addressed store): no copy in the journal needed.
    Copy {
        /// Absolute target.
        path: PathBuf,
        /// The immutable source file.
        from: PathBuf,
        /// Permission bits.
        mode: Option<u32>,
        /// The sha256 `from` must hash to: store objects are not fsynced, so a replay after a
        /// crash checks them again before they reach a home.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sha256: Option<String>,
        /// The root `path` lies in: nothing below it is written through a link.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        root: Option<PathBuf>,
    },
    /// Make the file or link `path` not exist; then remove its empty parent folders up to
    /// `root`. A directory at `path` is left alone (a later write made it one).
    Delete {
        /// Absolute target.
        path: PathBuf,
        /// The folder never removed.
        root: PathBuf,
    },
    /// Make `path` not exist, whatever it is (file, link, or a whole directory: a path that
    /// changed kind), so the writes after it can put something else there.
    Clear {
        /// Absolute target.
        path: PathBuf,
        /// The root it lies in.
        root: PathBuf,
    },
}

/// Operations being collected; nothing is committed until [`Pending::commit`].
#[derive(Debug)]
pub(crate) struct Pending {
    dir: PathBuf,
    ops: Vec<Op>,
    blobs: usize,
}

/// A committed journal: its operations will happen, now or on the next recovery.
#[derive(Debug)]
pub(crate) struct Journal {
    dir: PathBuf,
    ops: Vec<Op>,
}

impl Pending {
    /// Starts a journal in `dir` (`~/.codexport/journal`), dropping an uncommitted one.
    pub(crate) fn begin(dir: &Path) -> Result<Self, Error> {
        if dir.join(OPS_FILE).exists() {
            return Err(Error::JournalPending(dir.to_path_buf()));
        }
        remove_dir(dir)?;
        let blobs = dir.join(BLOBS);
        fs::create_dir_all(&blobs).map_err(|e| Error::io("create", &blobs, e))?;
        Ok(Self {
            dir: dir.to_path_buf(),
            ops: Vec::new(),
            blobs: 0,
        })
    }

    /// Queues writing `bytes` to `path` (a symlink to the text of `bytes` when `link`).
    pub(crate) fn write(
        &mut self,
        path: &Path,
        bytes: &[u8],
        mode: Option<u32>,
        link: bool,
    ) -> Result<(), Error> {
        self.write_into(None, path, bytes, mode, link)
    }

    /// [`Pending::write`] of `path` inside `root` (a synced root): no folder between `root`
    /// and `path` is followed if it is a link (see [`fsx::write_beneath`]).
    pub(crate) fn write_in(
        &mut self,
        root: &Path,
        path: &Path,
        bytes: &[u8],
        mode: Option<u32>,
        link: bool,
    ) -> Result<(), Error> {
        self.write_into(Some(root), path, bytes, mode, link)
    }

    fn write_into(
        &mut self,
        root: Option<&Path>,
        path: &Path,
        bytes: &[u8],
        mode: Option<u32>,
        link: bool,
    ) -> Result<(), Error> {
        let blob = self.blobs;
        let blob_path = self.dir.join(BLOBS).join(blob.to_string());
        // Blobs may be secrets (auth.json, the MCP manifest): never readable by others.
        fsx::write_secret(&blob_path, bytes).map_err(|e| Error::io("write", &blob_path, e))?;
        self.blobs += 1;
        self.ops.push(Op::Write {
            path: path.to_path_buf(),
            blob,
            mode,
            link,
            root: root.map(Path::to_path_buf),
        });
        Ok(())
    }

    /// Queues writing the bytes of the immutable file `from` (a store object whose bytes
    /// hash to `sha256`) to `path` inside `root`, as [`Pending::write_in`] does.
    pub(crate) fn copy_in(
        &mut self,
        root: &Path,
        path: &Path,
        from: &Path,
        sha256: &str,
        mode: Option<u32>,
    ) {
        self.ops.push(Op::Copy {
            path: path.to_path_buf(),
            from: from.to_path_buf(),
            mode,
            sha256: Some(sha256.to_owned()),
            root: Some(root.to_path_buf()),
        });
    }

    /// Queues removing whatever is at `path` inside `root` (a directory with all it holds).
    pub(crate) fn clear(&mut self, path: &Path, root: &Path) {
        self.ops.push(Op::Clear {
            path: path.to_path_buf(),
            root: root.to_path_buf(),
        });
    }

    /// Queues deleting `path` (and its parents, emptied, up to `root`).
    pub(crate) fn delete(&mut self, path: &Path, root: &Path) {
        self.ops.push(Op::Delete {
            path: path.to_path_buf(),
            root: root.to_path_buf(),
        });
    }

    /// Commits: from here on the change happens, now or at the next recovery.
    pub(crate) fn commit(self) -> Result<Journal, Error> {
        let path = self.dir.join(OPS_FILE);
        let bytes = serde_json::to_vec_pretty(&self.ops).expect("serialises");
        fsx::sync_dir(&self.dir.join(BLOBS)).map_err(|e| Error::io("sync", &self.dir, e))?;
        fsx::write_atomic(&path, &bytes, None).map_err(|e| Error::io("write", &path, e))?;
        Ok(Journal {
            dir: self.dir,
            ops: self.ops,
        })
    }
}

impl Journal {
    /// Performs every operation, then removes the journal.
    pub(crate) fn run(self) -> Result<(), Error> {
        let crash_after = crash_point();
        self.sweep_temp_files();
        for (done, op) in self.ops.iter().enumerate() {
            if crash_after == Some(done) {
                // Tests of crash safety: die like kill -9, with no cleanup of any kind.
                std::process::abort();
            }
            self.perform(op)?;
        }
        // Removing the op list first marks the journal done; leftover blobs are harmless.
        let ops = self.dir.join(OPS_FILE);
        fs::remove_file(&ops).map_err(|e| Error::io("remove", &ops, e))?;
        fsx::sync_dir(&self.dir).map_err(|e| Error::io("sync", &self.dir, e))?;
        remove_dir(&self.dir)
    }

    /// Removes temp files an earlier run killed mid-write left beside the targets it touched,
    /// so a recovered Codex home holds exactly what a clean apply writes. The tool home is
    /// skipped: other codexport processes (launcher installs, hydration) write there without
    /// the apply lock.
    fn sweep_temp_files(&self) {
        let tool_home = self.dir.parent();
        let dirs: std::collections::BTreeSet<&Path> = self
            .ops
            .iter()
            .filter_map(|op| match op {
                Op::Write { path, .. }
                | Op::Copy { path, .. }
                | Op::Delete { path, .. }
                | Op::Clear { path, .. } => path.parent(),
            })
            .filter(|dir| tool_home.is_none_or(|tool| !dir.starts_with(tool)))
            .collect();
        for dir in dirs {
            let Ok(entries) = fs::read_dir(dir) else {
                continue;
            };
            for entry in entries.flatten() {
                if entry
                    .file_name()
                    .to_string_lossy()
                    .starts_with(fsx::TEMP_PREFIX)
                {
                    let _ = fs::remove_file(entry.path());
                }
            }
        }
    }

    fn perform(&self, op: &Op) -> Result<(), Error> {
        match op {
            Op::Write {
                path,
                blob,
                mode,
                link,
                root,
            } => {
                let blob_path = self.dir.join(BLOBS).join(blob.to_string());
                let bytes = fs::read(&blob_path).map_err(|e| Error::io("read", &blob_path, e))?;
                write_target(root.as_deref(), path, &bytes, *mode, *link)
            }
            Op::Copy {
                path,
                from,
                mode,
                sha256,
                root,
            } => {
                let bytes = fs::read(from).map_err(|e| Error::io("read", from, e))?;
                if let Some(expected) = sha256 {
                    let actual = sha256_hex(&bytes);
                    if &actual != expected {
                        // Removed, so the next sync fetches it again.
                        let _ = fs::remove_file(from);
                        return Err(Error::HashMismatch {
                            expected: expected.clone(),
                            actual,
                        });
                    }
                }
                write_target(root.as_deref(), path, &bytes, *mode, false)
            }
            Op::Delete { path, root } => {
                if !inside_real_dirs(root, path) {
                    // A folder on the way is gone or became a link: the file is not there.
                    return Ok(());
                }
                match fs::symlink_metadata(path) {
                    Ok(meta) if meta.is_dir() => {}
                    Ok(_) => fsx::remove_file(path).map_err(|e| Error::io("delete", path, e))?,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(Error::io("delete", path, e)),
                }
                remove_empty_parents(path, root);
                Ok(())
            }
            Op::Clear { path, root } => {
                if !inside_real_dirs(root, path) {
                    return Ok(());
                }
                match fs::symlink_metadata(path) {
                    // `remove_dir_all` never follows a link inside the tree.
                    Ok(meta) if meta.is_dir() => {
                        fs::remove_dir_all(path).map_err(|e| Error::io("remove", path, e))
                    }
                    Ok(_) => fsx::remove_file(path).map_err(|e| Error::io("remove", path, e)),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                    Err(e) => Err(Error::io("remove", path, e)),
                }
            }
        }
    }

    /// Replays a committed journal left by a killed run, or drops an uncommitted one.
    /// Returns how many operations were replayed (`None` when there was no journal).
    pub(crate) fn recover(dir: &Path) -> Result<Option<usize>, Error> {
        let path = dir.join(OPS_FILE);
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if dir.exists() {
                    remove_dir(dir)?;
                    return Ok(Some(0));
                }
                return Ok(None);
            }
            Err(e) => return Err(Error::io("read", &path, e)),
        };
        let broken = |reason: String| Error::JournalBroken {
            dir: dir.to_path_buf(),
            reason,
        };
        let ops: Vec<Op> = serde_json::from_slice(&bytes)
            .map_err(|e| broken(format!("`{}` is unreadable ({e})", path.display())))?;
        let count = ops.len();
        Journal {
            dir: dir.to_path_buf(),
            ops,
        }
        .run()
        .map_err(|e| broken(crate::error::one_line(&e)))?;
        Ok(Some(count))
    }
}

/// Drops the journal in `dir`, committed or not, without running it (`--discard-journal`):
/// the next apply plans from what is on disk, so it writes whatever the journal did not.
/// Returns whether there was one.
pub(crate) fn discard(dir: &Path) -> Result<bool, Error> {
    let had = dir.exists();
    remove_dir(dir)?;
    Ok(had)
}

/// Whether every folder between `root` (excluded) and `path` is a real directory: no link,
/// no file, nothing missing. What lies at `path` is then what is in the root at that path.
pub(crate) fn inside_real_dirs(root: &Path, path: &Path) -> bool {
    let Ok(rel) = path.strip_prefix(root) else {
        return false;
    };
    let mut dir = root.to_path_buf();
    let mut parts: Vec<_> = rel.components().collect();
    parts.pop();
    for part in parts {
        dir.push(part);
        if !fs::symlink_metadata(&dir).is_ok_and(|m| m.is_dir()) {
            return false;
        }
    }
    true
}

/// `CODEXPORT_TEST_CRASH_AFTER` = N aborts a journal run after N operations (tests only).
fn crash_point() -> Option<usize> {
    std::env::var(env::TEST_CRASH_AFTER)
        .ok()
        .and_then(|v| v.parse().ok())
}

/// Writes one target: inside `root` without following any link below it (a synced root), or
/// at `path` as it is (codexport's own files in the tool home).
fn write_target(
    root: Option<&Path>,
    path: &Path,
    bytes: &[u8],
    mode: Option<u32>,
    link: bool,
) -> Result<(), Error> {
    if let Ok(meta) = fs::symlink_metadata(path)
        && meta.is_dir()
    {
        return Err(Error::io(
            "replace the directory",
            path,
            std::io::Error::other("a file must be written at this path"),
        ));
    }
    if let Some(root) = root {
        let rel = path.strip_prefix(root).map_err(|_| {
            Error::io(
                "write",
                path,
                std::io::Error::other(format!("it is not inside `{}`", root.display())),
            )
        })?;
        return if link {
            let target = String::from_utf8_lossy(bytes);
            fsx::symlink_beneath(root, rel, &target)
                .map_err(|e| Error::io("create the symlink", path, e))
        } else {
            fsx::write_beneath(root, rel, bytes, mode).map_err(|e| Error::io("write", path, e))
        };
    }
    if link {
        let parent = path.parent().expect("absolute target");
        fs::create_dir_all(parent).map_err(|e| Error::io("create", parent, e))?;
        let _ = fs::remove_file(path);
        #[cfg(unix)]
        std::os::unix::fs::symlink(String::from_utf8_lossy(bytes).as_ref(), path)
            .map_err(|e| Error::io("create the symlink", path, e))?;
        #[cfg(not(unix))]
        fsx::write_atomic(path, bytes, None).map_err(|e| Error::io("write", path, e))?;
        return Ok(());
    }
    // A symlink in the way is replaced, not written through.
    if fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        fs::remove_file(path).map_err(|e| Error::io("replace", path, e))?;
    }
    fsx::write_atomic(path, bytes, mode).map_err(|e| Error::io("write", path, e))
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

fn remove_dir(dir: &Path) -> Result<(), Error> {
    match fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io("remove", dir, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn committed_journals_replay_and_uncommitted_ones_vanish() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("codex");
        let jdir = tmp.path().join("tool/journal");
        fs::create_dir_all(root.join("gone/deep")).unwrap();
        fs::write(root.join("gone/deep/x"), "old").unwrap();
        fs::write(root.join("a"), "old").unwrap();

        // Uncommitted: nothing happens, the journal disappears.
        let mut p = Pending::begin(&jdir).unwrap();
        p.write(&root.join("a"), b"new", None, false).unwrap();
        drop(p);
        assert_eq!(Journal::recover(&jdir).unwrap(), Some(0));
        assert_eq!(fs::read_to_string(root.join("a")).unwrap(), "old");
        assert!(!jdir.exists());

        // Committed but never run (a crash right after the commit): recovery does it all,
        // twice over is the same as once.
        let mut p = Pending::begin(&jdir).unwrap();
        p.write(&root.join("a"), b"new", Some(0o600), false)
            .unwrap();
        p.write(&root.join("b/c"), b"c", None, false).unwrap();
        let object = tmp.path().join("object");
        fs::write(&object, "copied").unwrap();
        p.copy_in(
            &root,
            &root.join("d"),
            &object,
            &sha256_hex(b"copied"),
            None,
        );
        p.delete(&root.join("gone/deep/x"), &root);
        let j = p.commit().unwrap();
        j.perform(&j.ops[0]).unwrap();
        std::mem::forget(j);
        // A run killed mid-write left temp files beside its targets, in the tool home too.
        fs::write(root.join(".codexport-tmp-left"), "partial").unwrap();
        fs::write(root.join("gone/deep/.codexport-tmp-x"), "partial").unwrap();
        fs::write(jdir.parent().unwrap().join(".codexport-tmp-busy"), "").unwrap();
        assert!(matches!(
            Pending::begin(&jdir),
            Err(Error::JournalPending(_))
        ));
        assert_eq!(Journal::recover(&jdir).unwrap(), Some(4));
        assert_eq!(fs::read_to_string(root.join("d")).unwrap(), "copied");
        assert_eq!(fs::read_to_string(root.join("a")).unwrap(), "new");
        assert_eq!(fs::read_to_string(root.join("b/c")).unwrap(), "c");
        assert!(!root.join("gone").exists());
        assert!(!root.join(".codexport-tmp-left").exists());
        assert!(jdir.parent().unwrap().join(".codexport-tmp-busy").exists());
        assert!(root.exists());
        assert_eq!(Journal::recover(&jdir).unwrap(), None);
        #[cfg(unix)]
        assert_eq!(fsx::mode_of(&fs::metadata(root.join("a")).unwrap()), 0o600);
    }

    #[cfg(unix)]
    #[test]
    fn clears_replace_any_kind_and_nothing_reaches_through_a_link() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("codex");
        let outside = tmp.path().join("outside");
        let jdir = tmp.path().join("tool/journal");
        fs::create_dir_all(root.join("d/sub")).unwrap();
        fs::write(root.join("d/sub/local"), "mine").unwrap();
        fs::create_dir_all(&outside).unwrap();
        fs::write(outside.join("f"), "keep").unwrap();
        std::os::unix::fs::symlink(&outside, root.join("l")).unwrap();

        let mut p = Pending::begin(&jdir).unwrap();
        // A delete below a link is not a file of this root: never followed.
        p.delete(&root.join("l/f"), &root);
        p.clear(&root.join("d"), &root);
        p.write(&root.join("d"), b"now a file", None, false)
            .unwrap();
        p.clear(&root.join("l"), &root);
        p.write(&root.join("l/inside"), b"now a folder", None, false)
            .unwrap();
        let j = p.commit().unwrap();
        for op in &j.ops {
            j.perform(op).unwrap();
        }
        // Killed after the last operation: the replay runs every one again.
        std::mem::forget(j);
        assert_eq!(fs::read_to_string(root.join("d")).unwrap(), "now a file");
        assert_eq!(
            fs::read_to_string(root.join("l/inside")).unwrap(),
            "now a folder"
        );
        assert!(!fs::symlink_metadata(root.join("l")).unwrap().is_symlink());
        assert_eq!(fs::read_to_string(outside.join("f")).unwrap(), "keep");
        assert!(!outside.join("inside").exists());

        assert_eq!(Journal::recover(&jdir).unwrap(), Some(5));
        assert_eq!(fs::read_to_string(root.join("d")).unwrap(), "now a file");
        assert_eq!(
            fs::read_to_string(root.join("l/inside")).unwrap(),
            "now a folder"
        );
    }

    #[test]
    fn a_replayed_copy_checks_its_object_and_a_broken_journal_names_its_repair() {
        use crate::exit::Diagnose;
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("codex");
        let jdir = tmp.path().join("tool/journal");
        let object = tmp.path().join("object");
        fs::write(&object, "good").unwrap();
        let mut p = Pending::begin(&jdir).unwrap();
        p.copy_in(&root, &root.join("a"), &object, &sha256_hex(b"good"), None);
        std::mem::forget(p.commit().unwrap());
        fs::write(&object, "evil").unwrap();
        let err = Journal::recover(&jdir).unwrap_err();
        assert!(matches!(err, Error::JournalBroken { .. }), "{err}");
        assert!(err.to_string().contains("hash to"), "{err}");
        assert!(err.hints()[0].contains("codexport apply --discard-journal"));
        assert!(!root.join("a").exists() && !object.exists());
        assert!(discard(&jdir).unwrap());
        assert_eq!(Journal::recover(&jdir).unwrap(), None);
    }
}
