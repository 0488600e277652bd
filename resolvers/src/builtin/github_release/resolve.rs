//! Follower side of `github-release`: pick this platform's asset, pin its published checksum,
//! download, unpack and mark the binary executable.

use codexport_core::mcp::manifest::{ArtifactSpec, McpEntry};

use super::super::resolve_common::{bad_spec, check_relative};
use crate::executor::Reporter;
use crate::github::{GithubClient, choose};
use crate::plan::{ArchiveKind, Launch, Plan, Step};
use crate::spec::{BuiltinSpec, GithubReleaseSpec};
use crate::{Error, Resolution, ResolveContext};

/// The plan that hydrates `spec`.
pub(super) fn resolve(
    cx: &ResolveContext,
    entry: &McpEntry,
    spec: &ArtifactSpec,
) -> Result<Resolution, Error> {
    let gh = GithubReleaseSpec::from_artifact(&entry.name, spec)?;
    let valid_repo = gh.repo.split_once('/').is_some_and(|(owner, name)| {
        let part = |s: &str| {
            !s.is_empty()
                && !s.starts_with('.')
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        };
        part(owner) && part(name)
    });
    if !valid_repo {
        return Err(bad_spec(
            entry,
            spec,
            format!("`{}` is not `owner/name`", gh.repo),
        ));
    }
    if let Some(tag) = &gh.tag
        && (tag.is_empty() || tag.contains(['/', '?', '#', ' ']))
    {
        return Err(bad_spec(
            entry,
            spec,
            format!("`{tag}` is not a release tag"),
        ));
    }
    let client = GithubClient::new(
        &cx.github,
        cx.artifacts.join("github-release").join(".api-cache"),
        cx.mode,
        Reporter::hidden(),
    )?;
    let release = client.release(&gh.repo, gh.tag.as_deref())?;
    let tag = release.tag_name.clone();
    let chosen = choose(&release, gh.asset.as_deref(), &cx.platform).map_err(|none| {
        Error::NoMatchingAsset {
            repo: gh.repo.clone(),
            platform: cx.platform.label(),
            candidates: if none.candidates.is_empty() {
                "none".to_owned()
            } else {
                none.candidates.join(", ")
            },
        }
    })?;
    let sha256 = client.checksum(&release, chosen.asset)?;
    // `bin` speaks the asset template's grammar, with the values the asset was chosen with.
    let bin = chosen.bindings.expand(&gh.bin);
    check_relative(entry, spec, "bin", &bin)?;
    let archive = ArchiveKind::from_name(&chosen.asset.name);
    let (dest, exe_path) = match archive {
        ArchiveKind::Raw | ArchiveKind::Gz => {
            let file = bin.rsplit(['/', '\\']).next().unwrap_or(&bin).to_owned();
            (format!("bin/{file}"), format!("bin/{file}"))
        }
        _ => ("asset".to_owned(), format!("asset/{bin}")),
    };
    Ok(Resolution {
        version: tag.clone(),
        cache_key: format!("{}@{tag}/{}", gh.repo, chosen.asset.name),
        plan: Plan {
            steps: vec![
                Step::Download {
                    url: chosen.asset.browser_download_url.clone(),
                    sha256: Some(sha256),
                    archive,
                    strip: 0,
                    dest,
                },
                Step::MakeExecutable {
                    path: exe_path.clone(),
                },
            ],
            launch: Launch {
                program: format!("${{artifact}}/{exe_path}"),
                args: gh.args,
                ..Launch::default()
            },
        },
    })
}
