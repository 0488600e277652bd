//! File helpers: crash-safe writes (temp file in the same directory, fsync, rename, fsync the
//! directory), writes inside a root that never go through a link, modes, and reads of files
//! that may not exist.

use std::fs;
use std::io::{self, Write};
use std::path::{Component, Path, PathBuf};

/// Name prefix of the temp files [`write_atomic`] creates beside its target.
pub const TEMP_PREFIX: &str = ".codexport-tmp-";

/// File mode for secrets (`auth.json`, manifests with env values, identities).
pub const SECRET_MODE: u32 = 0o600;

/// Writes `bytes` to `path` atomically: readers see the old file or the new one, never a part.
///
/// `mode` is applied to the temp file before any byte is written, so a secret is never
/// readable by others even for an instant (ignored on Windows). Missing parent directories
/// are created.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: Option<u32>) -> io::Result<()> {
    let parent = parent_dir(path);
    fs::create_dir_all(parent)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .tempfile_in(parent)?;
    #[cfg(unix)]
    if let Some(mode) = mode {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(fs::Permissions::from_mode(mode))?;
    }
    #[cfg(not(unix))]
    let _ = mode;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    sync_dir(parent)
}

/// Writes a secret file (mode 0600) atomically.
pub fn write_secret(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_atomic(path, bytes, Some(SECRET_MODE))
}

/// Flushes a directory's entries so a rename inside it survives a crash (no-op on Windows).
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        fs::File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

/// The permission bits of a file (0o644 on platforms without them).
pub fn mode_of(meta: &fs::Metadata) -> u32 {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        meta.permissions().mode() & 0o7777
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        0o644
    }
}

/// The widest mode a synced file gets: no group or other write, no setuid, setgid or sticky
/// bit, whatever the master sent.
pub const MAX_SYNCED_MODE: u32 = 0o755;

/// The mode a follower writes a synced file with: the master's bits masked to
/// [`MAX_SYNCED_MODE`], always readable and writable by its owner.
pub fn synced_mode(sent: u32) -> u32 {
    (sent & MAX_SYNCED_MODE) | 0o600
}

/// The first folder between `root` and `rel` (both excluded) that exists and is a symlink:
/// a write of `rel` inside `root` would go through it. Missing folders end the search (they
/// are created as real folders).
pub fn link_in_the_way(root: &Path, rel: &Path) -> Option<PathBuf> {
    let mut at = root.to_path_buf();
    let mut parts: Vec<_> = rel.components().collect();
    parts.pop();
    for part in parts {
        at.push(part);
        match fs::symlink_metadata(&at) {
            Ok(meta) if meta.file_type().is_symlink() => return Some(at),
            Ok(meta) if meta.is_dir() => {}
            _ => return None,
        }
    }
    None
}

/// Writes `bytes` to `rel` inside `root` like [`write_atomic`], except that no folder below
/// `root` is ever followed if it is a symlink, so nothing is written outside `root` (or
/// anywhere a link in it points). Missing folders are created (0755 at most). On Unix every
/// step is an `openat` relative to the folder opened before it with `O_NOFOLLOW`, so a link
/// swapped in while the write runs is refused too; `root` itself may be a link.
pub fn write_beneath(root: &Path, rel: &Path, bytes: &[u8], mode: Option<u32>) -> io::Result<()> {
    beneath::write(root, rel, bytes, mode.unwrap_or(SECRET_MODE))
}

/// Makes `rel` inside `root` a symlink to `target` (replacing a file or link there, never a
/// folder), with the same no-follow walk as [`write_beneath`]. On platforms without symlinks
/// the target text is written as a file.
pub fn symlink_beneath(root: &Path, rel: &Path, target: &str) -> io::Result<()> {
    beneath::symlink(root, rel, target)
}

/// The `Normal` components of a root-relative path; anything else is refused.
fn rel_parts(rel: &Path) -> io::Result<Vec<&std::ffi::OsStr>> {
    rel.components()
        .map(|c| match c {
            Component::Normal(s) => Ok(s),
            _ => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("`{}` is not a plain relative path", rel.display()),
            )),
        })
        .collect::<io::Result<Vec<_>>>()
        .and_then(|parts| {
            if parts.is_empty() {
                Err(io::Error::new(io::ErrorKind::InvalidInput, "empty path"))
            } else {
                Ok(parts)
            }
        })
}

/// The refusal of a write through `link`.
fn through_link(link: &Path) -> io::Error {
    io::Error::other(format!(
        "`{}` is a symlink, and codexport never writes through a link",
        link.display()
    ))
}

#[cfg(unix)]
fn temp_name() -> String {
    format!("{TEMP_PREFIX}{:016x}", rand::random::<u64>())
}

#[cfg(unix)]
mod beneath {
    use std::ffi::OsStr;
    use std::io::{self, Write};
    use std::os::fd::OwnedFd;
    use std::path::{Path, PathBuf};

    use rustix::fs::{self as rfs, AtFlags, Mode, OFlags};
    use rustix::io::Errno;

    use super::{rel_parts, temp_name, through_link};

    const DIR: OFlags = OFlags::DIRECTORY
        .union(OFlags::NOFOLLOW)
        .union(OFlags::RDONLY)
        .union(OFlags::CLOEXEC);

    /// The folder `parts` names below `root`, opened without following any link below
    /// `root`; missing folders are created when `create`, else `Ok(None)`.
    fn open_dir(root: &Path, parts: &[&OsStr], create: bool) -> io::Result<Option<OwnedFd>> {
        if create {
            std::fs::create_dir_all(root)?;
        }
        let mut dir = match rfs::open(
            root,
            OFlags::DIRECTORY | OFlags::RDONLY | OFlags::CLOEXEC,
            Mode::empty(),
        ) {
            Ok(fd) => fd,
            Err(Errno::NOENT) if !create => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let mut at = root.to_path_buf();
        for part in parts {
            at.push(part);
            dir = match rfs::openat(&dir, *part, DIR, Mode::empty()) {
                Ok(fd) => fd,
                Err(Errno::NOENT) if create => {
                    match rfs::mkdirat(&dir, *part, Mode::from_raw_mode(0o755)) {
                        Ok(()) | Err(Errno::EXIST) => {}
                        Err(e) => return Err(e.into()),
                    }
                    rfs::openat(&dir, *part, DIR, Mode::empty()).map_err(|e| refusal(&at, e))?
                }
                Err(Errno::NOENT) => return Ok(None),
                Err(e) => return Err(refusal(&at, e)),
            };
        }
        Ok(Some(dir))
    }

    /// What a failed no-follow open of the folder `at` means.
    fn refusal(at: &PathBuf, e: Errno) -> io::Error {
        if std::fs::symlink_metadata(at).is_ok_and(|m| m.file_type().is_symlink()) {
            return through_link(at);
        }
        e.into()
    }

    pub(super) fn write(root: &Path, rel: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
        let mut parts = rel_parts(rel)?;
        let name = parts.pop().expect("not empty");
        let dir = open_dir(root, &parts, true)?.expect("created");
        let tmp = temp_name();
        let fd = rfs::openat(
            &dir,
            tmp.as_str(),
            OFlags::CREATE | OFlags::EXCL | OFlags::WRONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o600),
        )?;
        let written = (|| {
            // Set before any byte is written (the umask never widens it, never narrows it).
            rfs::fchmod(&fd, Mode::from_raw_mode(mode))?;
            let mut file = std::fs::File::from(fd);
            file.write_all(bytes)?;
            file.sync_all()?;
            rfs::renameat(&dir, tmp.as_str(), &dir, name)?;
            Ok::<_, io::Error>(())
        })();
        if let Err(e) = written {
            let _ = rfs::unlinkat(&dir, tmp.as_str(), AtFlags::empty());
            return Err(e);
        }
        rfs::fsync(&dir).map_err(Into::into)
    }

    pub(super) fn symlink(root: &Path, rel: &Path, target: &str) -> io::Result<()> {
        let mut parts = rel_parts(rel)?;
        let name = parts.pop().expect("not empty");
        let dir = open_dir(root, &parts, true)?.expect("created");
        let tmp = temp_name();
        rfs::symlinkat(target, &dir, tmp.as_str())?;
        if let Err(e) = rfs::renameat(&dir, tmp.as_str(), &dir, name) {
            let _ = rfs::unlinkat(&dir, tmp.as_str(), AtFlags::empty());
            return Err(e.into());
        }
        rfs::fsync(&dir).map_err(Into::into)
    }
}

#[cfg(not(unix))]
mod beneath {
    //! Without `openat`: each folder is checked with `symlink_metadata` before the write.
    use std::io;
    use std::path::Path;

    use super::{link_in_the_way, rel_parts, through_link, write_atomic};

    pub(super) fn write(root: &Path, rel: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
        rel_parts(rel)?;
        if let Some(link) = link_in_the_way(root, rel) {
            return Err(through_link(&link));
        }
        write_atomic(&root.join(rel), bytes, Some(mode))
    }

    pub(super) fn symlink(root: &Path, rel: &Path, target: &str) -> io::Result<()> {
        write(root, rel, target.as_bytes(), 0o644)
    }
}

/// Reads a file, mapping "not found" to `None`.
pub fn read_optional(path: &Path) -> crate::Result<Option<Vec<u8>>> {
    match fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(crate::Error::io("read", path, e)),
    }
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_content_and_creates_parents() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/c.txt");
        write_atomic(&path, b"one", None).unwrap();
        write_atomic(&path, b"two", None).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        let leftovers: Vec<_> = fs::read_dir(path.parent().unwrap()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temp file is left behind");
    }

    #[cfg(unix)]
    #[test]
    fn writes_beneath_a_root_never_go_through_a_link() {
        use std::os::unix::fs::symlink;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        let outside = dir.path().join("outside");
        fs::create_dir_all(root.join("skills")).unwrap();
        fs::create_dir_all(&outside).unwrap();
        symlink(&outside, root.join("skills/l")).unwrap();
        for rel in ["skills/l/p.md", "skills/l/new/p.md"] {
            let err = write_beneath(&root, Path::new(rel), b"x", Some(0o644)).unwrap_err();
            assert!(err.to_string().contains("is a symlink"), "{err}");
            let err = symlink_beneath(&root, Path::new(rel), "t").unwrap_err();
            assert!(err.to_string().contains("is a symlink"), "{err}");
        }
        assert_eq!(fs::read_dir(&outside).unwrap().count(), 0);
        assert_eq!(
            link_in_the_way(&root, Path::new("skills/l/a/b")),
            Some(root.join("skills/l"))
        );
        assert_eq!(link_in_the_way(&root, Path::new("skills/m/a")), None);

        // A link as the target itself is replaced, not written through.
        write_beneath(&root, Path::new("skills/l"), b"file", Some(0o777)).unwrap();
        assert_eq!(fs::read(root.join("skills/l")).unwrap(), b"file");
        assert_eq!(
            mode_of(&fs::metadata(root.join("skills/l")).unwrap()),
            0o777
        );
        symlink_beneath(&root, Path::new("a/b/link"), "../x").unwrap();
        assert_eq!(
            fs::read_link(root.join("a/b/link")).unwrap(),
            Path::new("../x")
        );
        assert_eq!(mode_of(&fs::metadata(root.join("a")).unwrap()) & 0o022, 0);
        let leftovers: Vec<_> = fs::read_dir(root.join("skills")).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temp file is left behind");
        assert_eq!(synced_mode(0o7777), 0o755);
        assert_eq!(synced_mode(0o444), 0o644);
    }

    #[cfg(unix)]
    #[test]
    fn secrets_are_0600() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json");
        write_secret(&path, b"{}").unwrap();
        assert_eq!(mode_of(&fs::metadata(&path).unwrap()), 0o600);
    }
}
