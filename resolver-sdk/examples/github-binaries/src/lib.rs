//! A resolver plugin for MCP servers shipped as prebuilt binaries on GitHub releases.
//!
//! It knows a table of servers by their command name (FFF's `fff-mcp`, the one the original
//! codexport hard-coded). On the master it pins the release the command came from (the latest
//! one when the master is online); on each follower it picks the asset for the follower's
//! platform from a per-target template and hands the host a digest-verified download.

use codexport_resolver_sdk::host::{self, Level};
use codexport_resolver_sdk::{
    ArchiveKind, Entry, Facts, Launch, Mode, Platform, Resolution, ResolveError, Resolver, Spec,
    Step, export_resolver, find_templated,
};
use serde::{Deserialize, Serialize};

/// A server this plugin knows.
struct Known {
    /// The command name on the master (`fff-mcp`).
    command: &'static str,
    /// `owner/name` on GitHub.
    repo: &'static str,
    /// The release asset for one target, `{triple}` and friends expanded per platform.
    asset: &'static str,
}

const KNOWN: &[Known] = &[Known {
    command: "fff-mcp",
    repo: "dmtrKovalenko/fff.nvim",
    asset: "fff-mcp-{triple}{exe}",
}];

/// What the master records: everything a follower needs, nothing only the master has.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseSpec {
    /// `owner/name`.
    pub repo: String,
    /// The pinned tag; `None` means "the latest release when hydrating".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// Asset name template (`fff-mcp-{triple}{exe}`).
    pub asset: String,
    /// The binary's name inside the artifact.
    pub bin: String,
}

#[derive(Default)]
struct GithubBinaries;

impl Resolver for GithubBinaries {
    fn infer(&self, entry: &Entry, _facts: &Facts) -> Option<Spec> {
        let name = entry.command_name()?;
        // A binary renamed after its asset (`fff-mcp-x86_64-unknown-linux-gnu`) is the same
        // server.
        let known = KNOWN.iter().find(|k| {
            name == k.command
                || name
                    .strip_prefix(k.command)
                    .is_some_and(|rest| rest.starts_with('-'))
        })?;
        let tag = match host::github_release(known.repo, None) {
            Ok(release) => Some(release.tag),
            Err(e) => {
                host::log(
                    Level::Warn,
                    &format!(
                        "cannot pin a release of {} ({e}); followers take the latest",
                        known.repo
                    ),
                );
                None
            }
        };
        Some(Spec::new(&ReleaseSpec {
            repo: known.repo.to_owned(),
            tag,
            asset: known.asset.to_owned(),
            bin: known.command.to_owned(),
        }))
    }

    fn probe(&self, _entry: &Entry, spec: &Spec) -> Option<u32> {
        spec.parse::<ReleaseSpec>().ok().map(|_| 100)
    }

    fn resolve(
        &self,
        entry: &Entry,
        spec: &Spec,
        platform: &Platform,
        _mode: Mode,
    ) -> Result<Resolution, ResolveError> {
        let spec: ReleaseSpec = spec.parse()?;
        let release = host::github_release(&spec.repo, spec.tag.as_deref())?;
        let asset = find_templated(&release, &spec.asset, platform)?;
        let sha256 = asset.sha256.clone().ok_or_else(|| {
            ResolveError::Integrity(format!(
                "{} publishes no digest for `{}` (no API digest, `.sha256` sibling or checksums file)",
                spec.repo, asset.name
            ))
        })?;
        let archive = ArchiveKind::from_name(&asset.name);
        let exe = if platform.os == "windows" { ".exe" } else { "" };
        let bin = format!("bin/{}{exe}", spec.bin);
        let (dest, program) = match archive {
            ArchiveKind::Raw => (bin.clone(), bin),
            // Archives unpack into `bin/`, the binary at their top level.
            _ => ("bin".to_owned(), bin),
        };
        Ok(Resolution {
            version: release.tag.clone(),
            cache_key: format!("{}@{}/{}", spec.repo, release.tag, asset.name),
            steps: vec![
                Step::Download {
                    url: asset.url.clone(),
                    sha256: Some(sha256),
                    archive,
                    strip: 0,
                    dest,
                },
                Step::MakeExecutable {
                    path: program.clone(),
                },
            ],
            launch: Launch::program(format!("${{artifact}}/{program}")).args(entry.args.clone()),
        })
    }
}

export_resolver!(GithubBinaries);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_round_trip_without_a_tag() {
        let spec = Spec::new(&ReleaseSpec {
            repo: "o/r".into(),
            tag: None,
            asset: "x-{triple}".into(),
            bin: "x".into(),
        });
        assert_eq!(
            spec.as_str(),
            r#"{"repo":"o/r","asset":"x-{triple}","bin":"x"}"#
        );
        assert!(GithubBinaries.probe(&entry(), &spec).is_some());
    }

    fn entry() -> Entry {
        Entry {
            name: "fff".into(),
            transport: codexport_resolver_sdk::Transport::Stdio,
            command: Some("/home/a/.local/bin/fff-mcp".into()),
            args: vec![],
            env_names: vec![],
            cwd: None,
            url: None,
        }
    }
}
