//! Follower side of `path`: the program must be on this machine's PATH; nothing to hydrate.

use codexport_core::mcp::manifest::{ArtifactSpec, McpEntry};

use crate::plan::{Launch, Plan};
use crate::spec::{BuiltinSpec, PathSpec};
use crate::{Error, Resolution, ResolveContext};

/// The plan that hydrates `spec`: no steps, the program as found on PATH.
pub(super) fn resolve(
    _cx: &ResolveContext,
    entry: &McpEntry,
    spec: &ArtifactSpec,
) -> Result<Resolution, Error> {
    let path = PathSpec::from_artifact(&entry.name, spec)?;
    let found = which::which(&path.program).map_err(|_| Error::ToolMissing {
        entry: entry.name.clone(),
        tool: path.program.clone(),
        install: format!(
            "install `{}` on this machine and put it on PATH (the master runs it from its PATH)",
            path.program
        ),
    })?;
    Ok(Resolution {
        version: "path".to_owned(),
        cache_key: path.program.clone(),
        plan: Plan {
            steps: Vec::new(),
            launch: Launch {
                program: found.to_string_lossy().into_owned(),
                args: path.args,
                ..Launch::default()
            },
        },
    })
}
