//! Follower side of `npm`: an exact `npm install` into the artifact, run from
//! `node_modules/.bin` (or `node` on a package file when the master ran one).

use codexport_core::mcp::manifest::{ArtifactSpec, McpEntry};

use super::super::resolve_common::{bad_spec, check_name, check_relative};
use crate::executor::find_tool;
use crate::plan::{Launch, Plan, Step};
use crate::spec::{BuiltinSpec, NpmSpec};
use crate::{Error, Resolution, ResolveContext};

/// The plan that hydrates `spec`.
pub(super) fn resolve(
    _cx: &ResolveContext,
    entry: &McpEntry,
    spec: &ArtifactSpec,
) -> Result<Resolution, Error> {
    let npm = NpmSpec::from_artifact(&entry.name, spec)?;
    if npm.package.is_empty()
        || npm.package.starts_with('-')
        || npm.package.contains(char::is_whitespace)
    {
        return Err(bad_spec(
            entry,
            spec,
            format!("`{}` is not an npm package name", npm.package),
        ));
    }
    // `latest` is what an unpinned `npx pkg` left; the artifact key pins it at first hydration.
    if npm.version != "latest" && semver::Version::parse(&npm.version).is_err() {
        return Err(bad_spec(
            entry,
            spec,
            format!("version `{}` is not one exact version", npm.version),
        ));
    }
    let pinned = format!("{}@{}", npm.package, npm.version);
    let launch = match &npm.script {
        Some(script) => {
            check_relative(entry, spec, "script", script)?;
            find_tool(&entry.name, "node")?;
            let mut args = vec![format!(
                "${{artifact}}/node_modules/{}/{script}",
                npm.package
            )];
            args.extend(npm.args.iter().cloned());
            Launch {
                program: "node".to_owned(),
                args,
                ..Launch::default()
            }
        }
        None => {
            check_name(entry, spec, "bin", &npm.bin)?;
            let bin = if cfg!(windows) {
                format!("{}.cmd", npm.bin)
            } else {
                npm.bin.clone()
            };
            Launch {
                program: format!("${{artifact}}/node_modules/.bin/{bin}"),
                args: npm.args.clone(),
                ..Launch::default()
            }
        }
    };
    Ok(Resolution {
        version: npm.version.clone(),
        cache_key: pinned.clone(),
        plan: Plan {
            steps: vec![Step::NpmInstall { spec: pinned }],
            launch,
        },
    })
}
