//! After an apply: the binaries installed where `config.toml` points, and the post-apply
//! hydration started in the background.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use codexport_core::{Homes, binaries, env};

/// The log the background hydration appends to.
pub fn hydrate_log(homes: &Homes) -> PathBuf {
    homes.logs().join("hydrate.log")
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

/// What [`after_apply`] did.
#[derive(Debug)]
pub struct AfterApply {
    /// The installed launcher, or why it could not be installed.
    pub launcher: io::Result<PathBuf>,
    /// The background hydration's pid, when one was started; or why it could not start.
    pub hydrate: Option<io::Result<u32>>,
}

/// The follower's side of an apply that the launcher cares about: keeps
/// `~/.codexport/bin/codexport-mcp-run` and the `codexport` it hydrates with current (copied
/// from `codexport`'s directory, the CLI executable's), and when the manifest changed (`manifest_before` holds its bytes from before
/// the apply) and some entry is not hydrated, starts `codexport mcp hydrate --all` detached (unless
/// `CODEXPORT_NO_BACKGROUND_HYDRATE` is set).
pub fn after_apply(homes: &Homes, codexport: &Path, manifest_before: Option<&[u8]>) -> AfterApply {
    let background = std::env::var_os(codexport_core::env::NO_BACKGROUND_HYDRATE).is_none();
    after_apply_with(homes, codexport, manifest_before, background)
}

/// [`after_apply`], with background hydration allowed or not (`CODEXPORT_NO_BACKGROUND_HYDRATE`).
fn after_apply_with(
    homes: &Homes,
    codexport: &Path,
    manifest_before: Option<&[u8]>,
    background: bool,
) -> AfterApply {
    let launcher = match codexport.parent() {
        Some(dir) => binaries::install_from(homes, dir, env!("CARGO_PKG_VERSION"))
            .map(|installed| installed.launcher),
        None => Err(io::Error::other(
            "the codexport executable has no directory",
        )),
    };
    let after = fs::read(homes.mcp_manifest()).ok();
    let changed = after.as_deref() != manifest_before;
    // `masterMcpServers = "off"`: nothing of the master's is installed ahead of time (an
    // install may run a package's scripts); a server enabled later hydrates at its first start.
    let master_servers_off = codexport_core::settings::LocalSettings::load(homes)
        .is_ok_and(|s| s.master_mcp_servers == codexport_core::settings::MasterMcpServers::Off);
    let hydrate =
        (background && changed && after.is_some() && !master_servers_off && needs_hydration(homes))
            .then(|| spawn_background_hydrate(homes, codexport));
    AfterApply { launcher, hydrate }
}

/// Whether any command entry of the manifest has no ready artifact on this platform.
fn needs_hydration(homes: &Homes) -> bool {
    let Ok(manifest) = crate::manifest::load(homes) else {
        return false;
    };
    let platform = codexport_core::mcp::artifact::Platform::detect();
    manifest.entries.iter().any(|entry| {
        crate::spec::artifact_spec(entry)
            .is_ok_and(|spec| crate::spec::ready_now(homes, spec, &platform).is_none())
    })
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

// Unix only: the stand-in `codexport` the test runs is a shell script.
#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use codexport_core::fsx;
    use codexport_core::homes::launcher_file_name;

    #[cfg(unix)]
    #[test]
    fn after_apply_hydrates_in_the_background_only_when_the_manifest_changed() {
        let tmp = tempfile::tempdir().unwrap();
        let homes = Homes::new(
            tmp.path(),
            tmp.path().join(".codex"),
            tmp.path().join(".cx"),
        );
        // A stand-in `codexport` that records its arguments, with a launcher next to it.
        let bin = tmp.path().join("bin");
        let marker = tmp.path().join("ran");
        let fake = bin.join("codexport");
        let script = format!("#!/bin/sh\necho \"$@\" > {}\n", marker.display());
        fsx::write_atomic(&fake, script.as_bytes(), Some(0o755)).unwrap();
        fs::write(bin.join(launcher_file_name()), b"launcher").unwrap();
        let manifest = serde_json::json!({
            "version": 1,
            "master": {"os": "linux", "home": "/m", "codex_home": "/m/.codex"},
            "entries": [{"name": "e", "transport": "stdio", "artifact": {"state": "resolved",
                "resolver": "npm", "spec": {"package": "p", "version": "1.0.0", "bin": "p"}}}],
        });
        let bytes = serde_json::to_vec(&manifest).unwrap();
        fsx::write_secret(&homes.mcp_manifest(), &bytes).unwrap();

        let unchanged = after_apply(&homes, &fake, Some(&bytes));
        assert_eq!(unchanged.launcher.unwrap(), homes.launcher());
        assert_eq!(fs::read(homes.launcher()).unwrap(), b"launcher");
        assert!(unchanged.hydrate.is_none());

        let opted_out = after_apply_with(&homes, &fake, None, false);
        assert!(opted_out.hydrate.is_none());
        assert!(!marker.exists());

        let changed = after_apply(&homes, &fake, None);
        changed.hydrate.unwrap().unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while fs::read_to_string(&marker).map_or(true, |s| !s.ends_with('\n'))
            && std::time::Instant::now() < deadline
        {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert_eq!(
            fs::read_to_string(&marker).unwrap(),
            "mcp hydrate --all --quiet\n"
        );
    }
}
