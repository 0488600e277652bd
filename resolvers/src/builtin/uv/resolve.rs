//! Follower side of `uv`: `uv tool install` into the artifact, run from the tool's own bin.

use codexport_core::mcp::manifest::{ArtifactSpec, McpEntry};

use super::super::resolve_common::{bad_spec, check_name, uv_tool_bin};
use crate::plan::{Launch, Plan, Step};
use crate::spec::{BuiltinSpec, UvSpec};
use crate::{Error, Resolution, ResolveContext};

/// The plan that hydrates `spec`.
pub(super) fn resolve(
    _cx: &ResolveContext,
    entry: &McpEntry,
    spec: &ArtifactSpec,
) -> Result<Resolution, Error> {
    let uv = UvSpec::from_artifact(&entry.name, spec)?;
    check_name(entry, spec, "package", &uv.package)?;
    check_name(entry, spec, "bin", &uv.bin)?;
    for requirement in std::iter::once(&uv.from).chain(&uv.with) {
        if requirement.is_empty() || requirement.starts_with('-') {
            return Err(bad_spec(
                entry,
                spec,
                format!("`{requirement}` is not a requirement"),
            ));
        }
    }
    // A bare package name with a known version is pinned, so every follower gets the same.
    let from = match &uv.version {
        Some(version) if uv.from == uv.package => format!("{}=={version}", uv.package),
        _ => uv.from.clone(),
    };
    let mut cache_key = from.clone();
    for extra in &uv.with {
        cache_key.push_str(" --with ");
        cache_key.push_str(extra);
    }
    Ok(Resolution {
        version: uv.version.clone().unwrap_or_else(|| from.clone()),
        cache_key,
        plan: Plan {
            steps: vec![Step::UvTool {
                from,
                package: uv.package.clone(),
                with: uv.with.clone(),
            }],
            launch: Launch {
                program: uv_tool_bin(&uv.package, &uv.bin),
                args: uv.args,
                ..Launch::default()
            },
        },
    })
}
