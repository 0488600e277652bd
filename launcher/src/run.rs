//! `mcp run NAME`: find the entry, make its artifact ready, restore its env, rewrite master
//! paths, and exec the server.
//!
//! A hydrated artifact starts in-process. One that is not is hydrated by `codexport mcp
//! hydrate NAME` (the binary beside this one), whose output goes to stderr; its exit status
//! is passed on when it fails. On Unix the launcher `exec`s, so the server is the very process
//! Codex spawned (signals, stdio and exit status need no relaying). On Windows it spawns the
//! server with inherited stdio and passes its exit code through.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use codexport_core::Homes;
use codexport_core::homes::codexport_file_name;
use codexport_core::mcp::artifact::{self, Launch, Platform, Ready};
use codexport_core::mcp::manifest::{Artifact, McpEntry, McpManifest, Origin};
use codexport_core::pathmap::PathMap;
use codexport_core::settings::LocalSettings;

use crate::spec::{artifact_spec, ready_now};
use crate::{Error, manifest};

/// The server command, ready to start.
#[derive(Debug)]
pub struct ServerCommand {
    /// The entry's name.
    pub entry: String,
    /// The program, args, env and cwd.
    pub command: Command,
}

/// Runs the MCP `name` of `homes`: on Unix this only returns on failure; on Windows it
/// returns the server's exit code.
pub fn run(homes: &Homes, name: &str) -> Result<i32, Error> {
    let server = prepare(homes, name)?;
    exec(server)
}

/// Everything up to the exec: the entry's launch command with env restored and paths
/// rewritten, hydrating the artifact first when it is not ready.
pub fn prepare(homes: &Homes, name: &str) -> Result<ServerCommand, Error> {
    let manifest = manifest::load(homes)?;
    let entry = manifest::entry(&manifest, name)?;
    // A follower's own MCP that no resolver claimed runs as written: it was written here. So
    // does one the master routes `direct` (Codex normally starts it without the launcher).
    let as_written = match entry.artifact {
        Artifact::Direct => true,
        Artifact::Unresolved { .. } => entry.origin == Origin::Local,
        Artifact::Resolved(_) => false,
    };
    if as_written && let Some(program) = &entry.command {
        let launch = Launch {
            program: program.clone(),
            args: entry.args.clone(),
            ..Launch::default()
        };
        return build(homes, &manifest, entry, &launch);
    }
    let spec = artifact_spec(entry)?;
    let platform = Platform::detect();
    let (dir, ready) = match ready_now(homes, spec, &platform) {
        Some(found) => found,
        None => hydrate(homes, entry, spec, &platform)?,
    };
    build(homes, &manifest, entry, &ready.launch_in(&dir))
}

/// Hydrates `entry` with `codexport mcp hydrate NAME`, then finds what it made ready: the
/// current artifact, or the previous one it fell back to when the network failed.
fn hydrate(
    homes: &Homes,
    entry: &McpEntry,
    spec: &codexport_core::mcp::manifest::ArtifactSpec,
    platform: &Platform,
) -> Result<(PathBuf, Ready), Error> {
    let (program, from_env) = codexport_binary();
    if !program.is_file() {
        return Err(Error::CodexportMissing {
            entry: entry.name.clone(),
            path: program,
            from_env,
        });
    }
    // The launcher's stdout is the server's: everything `mcp hydrate` says goes to stderr.
    let status = Command::new(&program)
        .args(["mcp", "hydrate", "--", &entry.name])
        .env(codexport_core::env::CODEXPORT_HOME, &homes.tool)
        .env(codexport_core::env::CODEX_HOME, &homes.codex)
        .stdin(Stdio::null())
        .stdout(Stdio::from(std::io::stderr()))
        .status()
        .map_err(|source| Error::Exec {
            entry: entry.name.clone(),
            program: program.display().to_string(),
            source,
        })?;
    if !status.success() {
        return Err(Error::HydrateFailed {
            entry: entry.name.clone(),
            code: status.code(),
        });
    }
    ready_now(homes, spec, platform)
        .or_else(|| artifact::last_good(homes, &entry.name))
        .ok_or_else(|| Error::HydrateFailed {
            entry: entry.name.clone(),
            code: None,
        })
}

/// The `codexport` executable that hydrates: `CODEXPORT_BINARY` when set, else the one beside
/// the running executable (`~/.codexport/bin/codexport` for the installed launcher). The flag
/// says whether the path came from the variable.
pub fn codexport_binary() -> (PathBuf, bool) {
    if let Some(path) =
        std::env::var_os(codexport_core::env::CODEXPORT_BINARY).filter(|p| !p.is_empty())
    {
        return (PathBuf::from(path), true);
    }
    let beside = codexport_core::binaries::running_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join(codexport_file_name())))
        .unwrap_or_else(|| PathBuf::from(codexport_file_name()));
    (beside, false)
}

fn build(
    homes: &Homes,
    manifest: &McpManifest,
    entry: &McpEntry,
    launch: &Launch,
) -> Result<ServerCommand, Error> {
    let settings = LocalSettings::load(homes)?;
    let map = PathMap::new(&manifest.master, homes, &settings.path_variables);
    // Canonical and plugin entries carry the master's paths; local ones were written here.
    let rewrite = |text: &str| -> Result<String, Error> {
        Ok(match entry.origin {
            Origin::Canonical | Origin::Plugin => map.rewrite(text)?,
            Origin::Local => map.to_follower(text)?,
        })
    };
    let mut command = Command::new(&launch.program);
    for arg in &launch.args {
        command.arg(rewrite(arg)?);
    }
    let mut env = BTreeMap::new();
    for (key, value) in &entry.env {
        env.insert(key.clone(), rewrite(value)?);
    }
    env.extend(launch.env.clone());
    command.envs(&env);
    let cwd = match &launch.cwd {
        Some(cwd) => Some(cwd.clone()),
        None => entry.cwd.as_deref().map(rewrite).transpose()?,
    };
    if let Some(cwd) = cwd {
        if Path::new(&cwd).is_dir() {
            command.current_dir(cwd);
        } else {
            eprintln!(
                "warning: MCP `{}`: working directory `{cwd}` does not exist here; starting in the current one",
                entry.name
            );
        }
    }
    Ok(ServerCommand {
        entry: entry.name.clone(),
        command,
    })
}

/// Replaces this process with the server (Unix).
#[cfg(unix)]
pub fn exec(mut server: ServerCommand) -> Result<i32, Error> {
    use std::os::unix::process::CommandExt;
    let program = server.command.get_program().to_string_lossy().into_owned();
    let source = server.command.exec();
    Err(Error::Exec {
        entry: server.entry,
        program,
        source,
    })
}

/// Runs the server with inherited stdio in a kill-on-close job and returns its exit code
/// (Windows has no exec; see `spawn_windows`).
#[cfg(windows)]
pub fn exec(mut server: ServerCommand) -> Result<i32, Error> {
    let program = server.command.get_program().to_string_lossy().into_owned();
    crate::spawn_windows::spawn_and_wait(&mut server.command).map_err(|source| Error::Exec {
        entry: server.entry,
        program,
        source,
    })
}
