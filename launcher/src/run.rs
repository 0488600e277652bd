//! `mcp run NAME`: find the entry, make its artifact ready, restore its env, rewrite master
//! paths, and exec the server.
//!
//! On Unix the launcher `exec`s, so the server is the very process Codex spawned (signals,
//! stdio and exit status need no relaying). On Windows it spawns the server with inherited
//! stdio and passes its exit code through.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use codexport_core::Homes;
use codexport_core::mcp::manifest::{Artifact, McpEntry, McpManifest, Origin};
use codexport_core::pathmap::PathMap;
use codexport_core::settings::LocalSettings;
use codexport_resolvers::executor::Reporter;
use codexport_resolvers::{Launch, Platform};

use crate::hydrate::{Hydrator, artifact_spec, ready_now};
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
pub fn run(homes: &Homes, name: &str, reporter: Reporter) -> Result<i32, Error> {
    let server = prepare(homes, name, reporter)?;
    exec(server)
}

/// Everything up to the exec: the entry's launch command with env restored and paths
/// rewritten, hydrating the artifact first when it is not ready.
pub fn prepare(homes: &Homes, name: &str, reporter: Reporter) -> Result<ServerCommand, Error> {
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
        return build(homes, &manifest, entry, &launch, reporter);
    }
    let spec = artifact_spec(entry)?;
    let platform = Platform::detect();
    let (dir, ready) = match ready_now(homes, spec, &platform) {
        Some(found) => found,
        None => {
            let artifact = Hydrator::new(homes, platform, reporter).ensure_ready(entry)?;
            (artifact.dir, artifact.ready)
        }
    };
    build(homes, &manifest, entry, &ready.launch_in(&dir), reporter)
}

fn build(
    homes: &Homes,
    manifest: &McpManifest,
    entry: &McpEntry,
    launch: &Launch,
    reporter: Reporter,
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
            reporter.warn(&format!(
                "MCP `{}`: working directory `{cwd}` does not exist here; starting in the current one",
                entry.name
            ));
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

/// Runs the server with inherited stdio and returns its exit code (Windows has no exec).
#[cfg(not(unix))]
pub fn exec(mut server: ServerCommand) -> Result<i32, Error> {
    let program = server.command.get_program().to_string_lossy().into_owned();
    let status = server.command.status().map_err(|source| Error::Exec {
        entry: server.entry,
        program,
        source,
    })?;
    Ok(status.code().unwrap_or(1))
}
