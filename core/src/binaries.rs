//! The installed copies of `codexport` and `codexport-mcp-run` in `~/.codexport/bin`: the
//! paths the SessionStart hook, the master's service and Codex's MCP config record.
//!
//! The running binary may sit in npm's cache (which npm prunes) or a cargo target dir; what
//! outlives it is a copy in the tool home, installed atomically (temp file, fsync, rename, mode
//! 0755) and replaced only when its bytes differ. `bin/installed.json` says which version is
//! there and where it came from, for `codexport status`.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::homes::{codexport_file_name, launcher_file_name};
use crate::{Homes, fsx};

/// The record of what was installed (`bin/installed.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstalledRecord {
    /// The version of the `codexport` that installed the copies (theirs).
    pub version: String,
    /// The directory the copies were taken from.
    pub source: PathBuf,
}

/// What [`install_from`] left in `~/.codexport/bin`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installed {
    /// The installed `codexport`.
    pub codexport: PathBuf,
    /// The installed `codexport-mcp-run`.
    pub launcher: PathBuf,
    /// Whether any file was written (`false`: the same bytes were there).
    pub changed: bool,
}

/// The running executable, with links resolved.
pub fn running_exe() -> io::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    Ok(fs::canonicalize(&exe).unwrap_or(exe))
}

/// Installs `codexport` and `codexport-mcp-run` from the running executable's directory
/// (both ship side by side: cargo's bin dir, the npm platform package, the release archive).
pub fn install(homes: &Homes) -> io::Result<Installed> {
    let exe = running_exe()?;
    let dir = exe
        .parent()
        .ok_or_else(|| io::Error::other("the running executable has no directory"))?;
    install_from(homes, dir, env!("CARGO_PKG_VERSION"))
}

/// [`install`] from the binaries in `dir`, recorded as `version`.
pub fn install_from(homes: &Homes, dir: &Path, version: &str) -> io::Result<Installed> {
    let codexport = homes.codexport();
    let launcher = homes.launcher();
    let mut changed = copy_if_different(&dir.join(codexport_file_name()), &codexport)?;
    changed |= copy_if_different(&dir.join(launcher_file_name()), &launcher)?;
    let record = InstalledRecord {
        version: version.to_owned(),
        source: dir.to_path_buf(),
    };
    if changed || read_record(homes).as_ref() != Some(&record) {
        let bytes = serde_json::to_vec_pretty(&record).expect("InstalledRecord serialises");
        fsx::write_atomic(&record_path(homes), &bytes, None)?;
    }
    Ok(Installed {
        codexport,
        launcher,
        changed,
    })
}

/// The installed `codexport`, installing (or refreshing) it from the running binary first:
/// the path a hook or service records.
pub fn stable_codexport(homes: &Homes) -> io::Result<PathBuf> {
    install(homes).map(|installed| installed.codexport)
}

/// What `bin/installed.json` says, when it is there and readable.
pub fn read_record(homes: &Homes) -> Option<InstalledRecord> {
    serde_json::from_slice(&fs::read(record_path(homes)).ok()?).ok()
}

/// Whether the files at `a` and `b` hold the same bytes (sizes first; a missing file is not
/// the same).
pub fn same_bytes(a: &Path, b: &Path) -> bool {
    let (Ok(ma), Ok(mb)) = (fs::metadata(a), fs::metadata(b)) else {
        return false;
    };
    ma.len() == mb.len() && matches!((fs::read(a), fs::read(b)), (Ok(x), Ok(y)) if x == y)
}

/// Which codexport runs and which one is installed (`codexport status`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BinaryStatus {
    /// The running binary.
    pub running: PathBuf,
    /// Its version.
    pub version: String,
    /// The installed copy (`~/.codexport/bin/codexport`), when there is one.
    pub installed: Option<PathBuf>,
    /// The installed copy's version, as recorded when it was installed.
    pub installed_version: Option<String>,
    /// Whether the running binary is the installed copy.
    pub running_installed: bool,
    /// Whether the running binary and the installed copy hold different bytes (what hooks
    /// and services run is not what runs now).
    pub differs: bool,
}

/// The running binary against the installed copy.
pub fn status(homes: &Homes) -> BinaryStatus {
    let running = running_exe().unwrap_or_default();
    let copy = homes.codexport();
    let installed = copy
        .is_file()
        .then(|| fs::canonicalize(&copy).unwrap_or(copy));
    let running_installed = installed.as_ref() == Some(&running);
    let differs = installed
        .as_ref()
        .is_some_and(|copy| !running_installed && !same_bytes(&running, copy));
    BinaryStatus {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        installed_version: installed
            .as_ref()
            .and_then(|_| read_record(homes))
            .map(|r| r.version),
        installed,
        running,
        running_installed,
        differs,
    }
}

fn record_path(homes: &Homes) -> PathBuf {
    homes.bin().join("installed.json")
}

/// Copies `source` to `target` atomically unless `target` holds the same bytes; returns
/// whether it wrote. Replacing by rename never disturbs a copy that is running (it keeps its
/// inode).
fn copy_if_different(source: &Path, target: &Path) -> io::Result<bool> {
    let bytes = fs::read(source).map_err(|e| {
        io::Error::new(e.kind(), format!("cannot read `{}`: {e}", source.display()))
    })?;
    if fs::read(target).is_ok_and(|old| old == bytes) {
        return Ok(false);
    }
    fsx::write_atomic(target, &bytes, Some(0o755))?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn installs_atomically_and_only_when_changed() {
        let tmp = tempfile::tempdir().unwrap();
        let homes = Homes::new(
            tmp.path(),
            tmp.path().join(".codex"),
            tmp.path().join(".cx"),
        );
        let src = tmp.path().join("dist");
        fs::create_dir_all(&src).unwrap();
        fs::write(src.join(codexport_file_name()), b"cli v1").unwrap();
        fs::write(src.join(launcher_file_name()), b"run v1").unwrap();
        let first = install_from(&homes, &src, "1.0.0").unwrap();
        assert!(first.changed);
        assert_eq!(first.launcher, homes.launcher());
        assert_eq!(fs::read(&first.codexport).unwrap(), b"cli v1");
        assert_eq!(fs::read(&first.launcher).unwrap(), b"run v1");
        #[cfg(unix)]
        for file in [&first.codexport, &first.launcher] {
            assert_eq!(fsx::mode_of(&fs::metadata(file).unwrap()), 0o755);
        }
        assert_eq!(read_record(&homes).unwrap().version, "1.0.0");
        assert!(!install_from(&homes, &src, "1.0.0").unwrap().changed);

        fs::write(src.join(codexport_file_name()), b"cli v2").unwrap();
        assert!(install_from(&homes, &src, "2.0.0").unwrap().changed);
        assert_eq!(fs::read(homes.codexport()).unwrap(), b"cli v2");
        assert_eq!(read_record(&homes).unwrap().version, "2.0.0");
        assert!(same_bytes(
            &src.join(codexport_file_name()),
            &homes.codexport()
        ));

        fs::remove_file(src.join(launcher_file_name())).unwrap();
        let err = install_from(&homes, &src, "2.0.0").unwrap_err();
        assert!(err.to_string().starts_with("cannot read `"), "{err}");
    }
}
