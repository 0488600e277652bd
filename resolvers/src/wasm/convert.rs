//! Values across the plugin boundary: manifest entries in, plans out (validated), errors mapped.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use codexport_core::Homes;
use codexport_core::mcp::manifest::{ArtifactSpec, McpEntry, Transport};

use super::bindings::codexport::resolver::types as w;
use crate::plan::{ARTIFACT_PLACEHOLDER, ArchiveKind, Launch, Plan, Resolution, Step};
use crate::platform::Libc;
use crate::{Error, InferContext, Mode, Platform};

/// The entry as plugins see it: env values withheld.
pub(super) fn entry(entry: &McpEntry) -> w::Entry {
    w::Entry {
        name: entry.name.clone(),
        transport: match entry.transport {
            Transport::Stdio => w::Transport::Stdio,
            Transport::Http => w::Transport::Http,
        },
        command: entry.command.clone(),
        args: entry.args.clone(),
        env_names: entry.env.keys().cloned().collect(),
        cwd: entry.cwd.clone(),
        url: entry.url.clone(),
    }
}

/// What the master knows about `entry` beyond its config.
pub(super) fn facts(cx: &InferContext<'_>, entry: &McpEntry) -> w::Facts {
    let command_path = entry.command.as_deref().and_then(|command| {
        if Path::new(command).is_absolute() {
            return canonical(Path::new(command)).map(|p| p.display().to_string());
        }
        let path = cx.env.get(codexport_core::env::PATH).map(String::as_str);
        let cwd = entry
            .cwd
            .as_deref()
            .map(PathBuf::from)
            .unwrap_or_else(|| cx.homes.user.clone());
        let found = which::which_in(command, path, cwd).ok()?;
        Some(
            std::fs::canonicalize(&found)
                .unwrap_or(found)
                .display()
                .to_string(),
        )
    });
    w::Facts {
        command_path,
        home: cx.homes.user.display().to_string(),
        codex_home: cx.homes.codex.display().to_string(),
        os: std::env::consts::OS.to_owned(),
    }
}

/// Directories whose direct children a plugin may read: for each file the entry names (the
/// command as found on PATH, absolute arguments, the cwd), its directory and the one above.
/// The user's home itself, the filesystem root and the Codex and tool homes never qualify.
pub(super) fn probe_roots(
    homes: &Homes,
    entry: &McpEntry,
    command_path: Option<&str>,
) -> Vec<PathBuf> {
    let named = command_path
        .into_iter()
        .chain(entry.command.as_deref())
        .chain(entry.args.iter().map(String::as_str))
        .chain(entry.cwd.as_deref())
        .map(Path::new)
        .filter(|p| p.is_absolute())
        .filter_map(|p| std::fs::canonicalize(p).ok());
    let forbidden = |dir: &Path| {
        dir.parent().is_none()
            || homes.user.starts_with(dir)
            || dir.starts_with(&homes.codex)
            || dir.starts_with(&homes.tool)
            || canonical(&homes.codex).is_some_and(|c| dir.starts_with(c))
            || canonical(&homes.tool).is_some_and(|t| dir.starts_with(t))
            || canonical(&homes.user).is_some_and(|u| u.starts_with(dir))
    };
    let mut roots = Vec::new();
    for path in named {
        let dir = if path.is_dir() {
            Some(path.clone())
        } else {
            path.parent().map(Path::to_path_buf)
        };
        for root in dir
            .iter()
            .flat_map(|d| [Some(d.clone()), d.parent().map(Path::to_path_buf)])
        {
            if let Some(root) = root
                && !forbidden(&root)
                && !roots.contains(&root)
            {
                roots.push(root);
            }
        }
    }
    roots
}

fn canonical(path: &Path) -> Option<PathBuf> {
    std::fs::canonicalize(path).ok()
}

pub(super) fn platform_to_wit(p: &Platform) -> w::Platform {
    w::Platform {
        os: p.os.clone(),
        arch: p.arch.clone(),
        libc: p.libc.map(|l| match l {
            Libc::Gnu => w::Libc::Gnu,
            Libc::Musl => w::Libc::Musl,
        }),
        triples: p.triples.clone(),
    }
}

pub(super) fn mode_to_wit(mode: Mode) -> w::Mode {
    match mode {
        Mode::Online => w::Mode::Online,
        Mode::Offline => w::Mode::Offline,
    }
}

/// The plugin's spec text as a manifest artifact spec.
pub(super) fn spec_from_plugin(plugin: &str, text: &str) -> Result<ArtifactSpec, Error> {
    let spec = serde_json::from_str(text).map_err(|e| Error::Plugin {
        plugin: plugin.to_owned(),
        reason: format!("`infer` returned a spec that is not JSON: {e}"),
    })?;
    Ok(ArtifactSpec {
        resolver: plugin.to_owned(),
        spec,
        objects: Vec::new(),
    })
}

/// The plugin's resolution as a plan, refused when any path would leave the artifact
/// directory or a value is malformed.
pub(super) fn resolution(plugin: &str, r: w::Resolution) -> Result<Resolution, Error> {
    let bad = |reason: String| Error::Plugin {
        plugin: plugin.to_owned(),
        reason: format!("returned a plan the host refuses: {reason}"),
    };
    if r.cache_key.is_empty() || r.cache_key.len() > 512 {
        return Err(bad("the cache key must be 1 to 512 characters".to_owned()));
    }
    let steps = r
        .plan
        .into_iter()
        .map(|s| step(s).map_err(&bad))
        .collect::<Result<Vec<_>, _>>()?;
    let launch = launch(r.launch).map_err(&bad)?;
    Ok(Resolution {
        version: r.version,
        cache_key: r.cache_key,
        plan: Plan { steps, launch },
    })
}

fn step(s: w::Step) -> Result<Step, String> {
    Ok(match s {
        w::Step::Download(d) => {
            if !(d.url.starts_with("https://") || d.url.starts_with("http://")) {
                return Err(format!("download URL `{}` is not http(s)", d.url));
            }
            if let Some(hex) = &d.sha256
                && !(hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
            {
                return Err(format!("`{hex}` is not a sha256 digest"));
            }
            Step::Download {
                url: d.url,
                sha256: d.sha256.map(|h| h.to_ascii_lowercase()),
                archive: match d.archive {
                    w::ArchiveKind::Raw => ArchiveKind::Raw,
                    w::ArchiveKind::TarGz => ArchiveKind::TarGz,
                    w::ArchiveKind::TarXz => ArchiveKind::TarXz,
                    w::ArchiveKind::Tar => ArchiveKind::Tar,
                    w::ArchiveKind::Zip => ArchiveKind::Zip,
                    w::ArchiveKind::Gz => ArchiveKind::Gz,
                },
                strip: d.strip,
                dest: inside(&d.dest)?,
            }
        }
        w::Step::NpmInstall(spec) => Step::NpmInstall { spec },
        w::Step::UvTool(u) => Step::UvTool {
            from: u.from,
            package: u.package,
            with: u.with,
        },
        w::Step::CargoInstall(c) => {
            if c.version.is_none() && (c.git.is_none() || c.rev.is_none()) {
                return Err(
                    "cargo-install needs an exact version, or a git URL and a rev".to_owned(),
                );
            }
            Step::CargoInstall {
                crate_name: c.crate_name,
                version: c.version,
                git: c.git,
                rev: c.rev,
                bin: c.bin,
            }
        }
        w::Step::CopySource(c) => Step::CopySource {
            object: c.object,
            dest: inside(&c.dest)?,
        },
        w::Step::Run(r) => Step::Run {
            program: program(&r.program)?,
            args: r.args,
            cwd: r.cwd.as_deref().map(inside).transpose()?,
        },
        w::Step::MakeExecutable(path) => Step::MakeExecutable {
            path: inside(&path)?,
        },
    })
}

fn launch(l: w::Launch) -> Result<Launch, String> {
    let cwd = l
        .cwd
        .map(|cwd| match cwd.strip_prefix(ARTIFACT_PLACEHOLDER) {
            Some(rest) => inside(rest.trim_start_matches(['/', '\\']))
                .map(|_| cwd.clone())
                .map_err(|_| format!("launch cwd `{cwd}` would escape the artifact directory")),
            None => Err(format!(
                "launch cwd `{cwd}` must start with `{ARTIFACT_PLACEHOLDER}`"
            )),
        })
        .transpose()?;
    Ok(Launch {
        program: program(&l.program)?,
        args: l.args,
        env: l.env.into_iter().collect::<BTreeMap<_, _>>(),
        cwd,
    })
}

/// A program is a bare name looked up on PATH or `${artifact}/<path inside>`.
fn program(program: &str) -> Result<String, String> {
    if let Some(rest) = program.strip_prefix(ARTIFACT_PLACEHOLDER) {
        inside(rest.trim_start_matches(['/', '\\']))
            .map_err(|_| format!("program `{program}` would escape the artifact directory"))?;
        return Ok(program.to_owned());
    }
    if program.is_empty() || program.contains(['/', '\\']) || program.contains(':') {
        return Err(format!(
            "program `{program}` must be a name on PATH or `{ARTIFACT_PLACEHOLDER}/...`"
        ));
    }
    Ok(program.to_owned())
}

/// `path` when it is relative and stays inside the artifact directory.
fn inside(path: &str) -> Result<String, String> {
    let escapes = path.starts_with(['/', '\\'])
        || path.contains(':')
        || path.split(['/', '\\']).any(|c| c == "..");
    if escapes {
        return Err(format!("`{path}` would escape the artifact directory"));
    }
    Ok(path.to_owned())
}

/// A plugin's typed refusal as the crate's error.
pub(super) fn resolve_error(
    plugin: &str,
    entry: &McpEntry,
    platform: &Platform,
    err: w::ResolveError,
) -> Error {
    match err {
        w::ResolveError::NotApplicable(reason) => Error::BadSpec {
            entry: entry.name.clone(),
            resolver: plugin.to_owned(),
            reason,
        },
        w::ResolveError::RateLimited(retry_after) => Error::RateLimited {
            url: format!("plugin `{plugin}`"),
            retry_after,
        },
        w::ResolveError::Network(reason) => Error::Network {
            url: format!("plugin `{plugin}`"),
            reason,
        },
        w::ResolveError::NoMatchingAsset(candidates) => Error::NoMatchingAsset {
            repo: format!("plugin `{plugin}`"),
            platform: match platform.libc {
                Some(libc) => format!("{}/{}/{libc:?}", platform.os, platform.arch).to_lowercase(),
                None => format!("{}/{}", platform.os, platform.arch),
            },
            candidates: candidates.join(", "),
        },
        w::ResolveError::Integrity(reason) => Error::Plugin {
            plugin: plugin.to_owned(),
            reason: format!("integrity: {reason}"),
        },
        w::ResolveError::Other(reason) => Error::Plugin {
            plugin: plugin.to_owned(),
            reason,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_must_stay_inside() {
        assert!(inside("bin/x").is_ok());
        assert!(inside("bin/../../x").is_err());
        assert!(inside("/tmp/x").is_err());
        assert!(inside(r"C:\x").is_err());
        assert!(inside(r"bin\..\..\x").is_err());
        assert!(program("${artifact}/bin/x").is_ok());
        assert!(program("node").is_ok());
        assert!(program("${artifact}/../x").is_err());
        assert!(program("/usr/bin/env").is_err());
    }
}
