//! Master side of `path`: a program installed system-wide (`docker`, `git`), which each
//! follower is expected to have on its own PATH.
//!
//! It runs last among the built-ins. It takes a command when (1) the program resolves on the
//! master's PATH (or is an absolute path) to a file outside the user's home, and (2) no
//! argument names an existing file in the user's home outside the Codex home or in a package
//! store (`node_modules`, `site-packages`, a uv tool), or a script (`.js`, `.py`, ...) that
//! does not exist on the master: such files do not travel (or are not there), so the entry
//! stays unresolved with a hint instead.

use std::path::Path;

use codexport_core::mcp::manifest::{ArtifactSpec, McpEntry};

use crate::ecosystem;
use crate::spec::{BuiltinSpec, PathSpec};
use crate::{Error, InferContext};

/// Extensions of scripts an interpreter runs: a missing one means the command cannot work.
const SCRIPT_EXTENSIONS: &[&str] = &["js", "mjs", "cjs", "ts", "py", "rb", "pl", "sh", "php"];

/// The spec for `entry`, or `None` when it is not a `path` artifact.
pub(super) fn infer(
    cx: &InferContext<'_>,
    entry: &McpEntry,
) -> Result<Option<ArtifactSpec>, Error> {
    let Some(command) = entry.command.as_deref() else {
        return Ok(None);
    };
    let Some(program) = ecosystem::locate(cx, entry, command) else {
        return Ok(None);
    };
    let home = real(&cx.homes.user);
    let codex = real(&cx.homes.codex);
    if program
        .paths()
        .iter()
        .any(|p| p.starts_with(&home) || p.starts_with(&cx.homes.user))
    {
        return Ok(None);
    }
    let base = ecosystem::base_dir(cx, entry);
    let names_home_file = entry.args.iter().any(|arg| {
        let candidate = arg.split_once('=').map_or(arg.as_str(), |(_, v)| v);
        let path = base.join(candidate);
        if !path.exists() {
            return path
                .extension()
                .is_some_and(|ext| SCRIPT_EXTENSIONS.contains(&&*ext.to_string_lossy()));
        }
        path.is_file() && {
            let path = real(&path);
            (path.starts_with(&home) && !path.starts_with(&codex)) || ecosystem::in_store(&path)
        }
    });
    if names_home_file {
        return Ok(None);
    }
    let program_name = if command.contains(['/', '\\']) {
        command.to_owned()
    } else {
        ecosystem::bin_name(Path::new(command))
    };
    Ok(Some(
        PathSpec {
            program: program_name,
            args: entry.args.clone(),
        }
        .to_artifact(Vec::new()),
    ))
}

fn real(path: &Path) -> std::path::PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use crate::ecosystem::test_support::{Master, stdio_entry};
    use std::os::unix::fs::PermissionsExt;

    fn executable(path: &Path) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    #[test]
    fn system_programs_become_path_specs_unless_they_run_home_files() {
        let tmp = tempfile::tempdir().unwrap();
        let mut master = Master::new(tmp.path());
        let system = tmp.path().join("usr/bin");
        executable(&system.join("docker"));
        executable(&master.homes.user.join(".local/bin/mine"));
        master.env.insert(
            "PATH".into(),
            format!(
                "{}:{}",
                master.homes.user.join(".local/bin").display(),
                system.display()
            ),
        );
        let docker = stdio_entry("e", "docker", &["run", "-i", "--rm", "mcp/git"]);
        let spec =
            PathSpec::from_artifact("e", &infer(&master.cx(), &docker).unwrap().unwrap()).unwrap();
        assert_eq!(spec.program, "docker");
        assert_eq!(spec.args, ["run", "-i", "--rm", "mcp/git"]);
        assert_eq!(
            infer(&master.cx(), &stdio_entry("e", "mine", &[])).unwrap(),
            None
        );
        assert_eq!(
            infer(&master.cx(), &stdio_entry("e", "nowhere", &[])).unwrap(),
            None
        );
        let script = master.homes.user.join("srv.sh");
        std::fs::write(&script, "").unwrap();
        let runs_home = stdio_entry(
            "e",
            "docker",
            &[&format!("--env-file={}", script.display())],
        );
        assert_eq!(infer(&master.cx(), &runs_home).unwrap(), None);
        let config = master.homes.codex.join("srv.toml");
        std::fs::create_dir_all(&master.homes.codex).unwrap();
        std::fs::write(&config, "").unwrap();
        let codex_file = stdio_entry("e", "docker", &[config.to_str().unwrap()]);
        assert!(infer(&master.cx(), &codex_file).unwrap().is_some());
        let installed = tmp.path().join("usr/lib/node_modules/p/index.js");
        std::fs::create_dir_all(installed.parent().unwrap()).unwrap();
        std::fs::write(&installed, "").unwrap();
        let package_file = stdio_entry("e", "docker", &[installed.to_str().unwrap()]);
        assert_eq!(infer(&master.cx(), &package_file).unwrap(), None);
        let missing_script = stdio_entry("e", "docker", &["/srv/echo.js"]);
        assert_eq!(infer(&master.cx(), &missing_script).unwrap(), None);
    }
}
