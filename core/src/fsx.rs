//! File helpers: crash-safe writes (temp file in the same directory, fsync, rename, fsync the
//! directory), modes, and reads of files that may not exist.

use std::fs;
use std::io::{self, Write};
use std::path::Path;

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
    fn secrets_are_0600() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json");
        write_secret(&path, b"{}").unwrap();
        assert_eq!(mode_of(&fs::metadata(&path).unwrap()), 0o600);
    }
}
