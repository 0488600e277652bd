//! Follower side of `cargo`: `cargo install --locked` of the exact version or git revision.

use codexport_core::mcp::manifest::{ArtifactSpec, McpEntry};

use super::super::resolve_common::{bad_spec, check_name, exe};
use crate::plan::{Launch, Plan, Step};
use crate::spec::{BuiltinSpec, CargoSpec};
use crate::{Error, Resolution, ResolveContext};

/// The plan that hydrates `spec`.
pub(super) fn resolve(
    _cx: &ResolveContext,
    entry: &McpEntry,
    spec: &ArtifactSpec,
) -> Result<Resolution, Error> {
    let cargo = CargoSpec::from_artifact(&entry.name, spec)?;
    check_name(entry, spec, "crate", &cargo.crate_name)?;
    check_name(entry, spec, "bin", &cargo.bin)?;
    let version = match (&cargo.version, &cargo.git, &cargo.rev) {
        (Some(v), None, None) if semver::Version::parse(v).is_ok() => v.clone(),
        (None, Some(git), Some(rev)) if !git.starts_with('-') && !rev.starts_with('-') => {
            rev.clone()
        }
        _ => {
            return Err(bad_spec(
                entry,
                spec,
                "needs either one exact `version` or both `git` and `rev`",
            ));
        }
    };
    let cache_key = match &cargo.git {
        Some(git) => format!("{}@{git}#{version}", cargo.crate_name),
        None => format!("{}@{version}", cargo.crate_name),
    };
    Ok(Resolution {
        version,
        cache_key,
        plan: Plan {
            steps: vec![Step::CargoInstall {
                crate_name: cargo.crate_name.clone(),
                version: cargo.version.clone(),
                git: cargo.git.clone(),
                rev: cargo.rev.clone(),
                bin: cargo.bin.clone(),
            }],
            launch: Launch {
                program: format!("${{artifact}}/bin/{}", exe(&cargo.bin)),
                args: cargo.args,
                ..Launch::default()
            },
        },
    })
}
