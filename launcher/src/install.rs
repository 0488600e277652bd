//! Installing the launcher where `config.toml` points, and starting the post-apply hydration
//! in the background.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use codexport_core::homes::launcher_file_name;
use codexport_core::{Homes, env, fsx};

/// The log the background hydration appends to.
pub fn hydrate_log(homes: &Homes) -> PathBuf {
    homes.logs().join("hydrate.log")
}

/// Copies `codexport-mcp-run` from the directory of the running executable into
/// `homes.launcher()` atomically (temp file, fsync, rename), unless the same bytes are there.
/// Returns the installed path.
pub fn install_launcher(homes: &Homes) -> io::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let dir = exe
        .parent()
        .ok_or_else(|| io::Error::other("the running executable has no directory"))?;
    install_launcher_from(homes, &dir.join(launcher_file_name()))
}

/// [`install_launcher`] from an explicit source file.
pub fn install_launcher_from(homes: &Homes, source: &Path) -> io::Result<PathBuf> {
    let target = homes.launcher();
    let bytes = fs::read(source).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("cannot read the launcher `{}`: {e}", source.display()),
        )
    })?;
    if fs::read(&target).is_ok_and(|old| old == bytes) {
        return Ok(target);
    }
    // Replacing by rename never disturbs a launcher that is running (it keeps its inode).
    fsx::write_atomic(&target, &bytes, Some(0o755))?;
    Ok(target)
}

/// Starts `codexport mcp hydrate --all` detached from this process (its own process group,
/// stdio to [`hydrate_log`]), so an apply returns at once while servers get ready before
/// Codex first asks. `codexport` is the CLI executable to run. Returns the child's pid.
pub fn spawn_background_hydrate(homes: &Homes, codexport: &Path) -> io::Result<u32> {
    let log_path = hydrate_log(homes);
    fs::create_dir_all(homes.logs())?;
    let log = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)?;
    let mut command = Command::new(codexport);
    command
        .args(["mcp", "hydrate", "--all", "--quiet"])
        .env(env::CODEXPORT_HOME, &homes.tool)
        .env(env::CODEX_HOME, &homes.codex)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    detach(&mut command);
    let child = command.spawn()?;
    Ok(child.id())
}

#[cfg(unix)]
fn detach(command: &mut Command) {
    use std::os::unix::process::CommandExt;
    // A process group of its own: the terminal's Ctrl-C and the hook's end do not reach it.
    command.process_group(0);
}

#[cfg(windows)]
fn detach(command: &mut Command) {
    use std::os::windows::process::CommandExt;
    const DETACHED_PROCESS: u32 = 0x0000_0008;
    const CREATE_NEW_PROCESS_GROUP: u32 = 0x0000_0200;
    command.creation_flags(DETACHED_PROCESS | CREATE_NEW_PROCESS_GROUP);
}

#[cfg(not(any(unix, windows)))]
fn detach(_command: &mut Command) {}

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
        let source = tmp.path().join("src-launcher");
        fs::write(&source, b"v1").unwrap();
        let target = install_launcher_from(&homes, &source).unwrap();
        assert_eq!(target, homes.launcher());
        assert_eq!(fs::read(&target).unwrap(), b"v1");
        #[cfg(unix)]
        assert_eq!(fsx::mode_of(&fs::metadata(&target).unwrap()), 0o755);
        fs::write(&source, b"v2").unwrap();
        install_launcher_from(&homes, &source).unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"v2");
        let err = install_launcher_from(&homes, &tmp.path().join("missing")).unwrap_err();
        assert!(
            err.to_string().contains("cannot read the launcher"),
            "{err}"
        );
    }
}
