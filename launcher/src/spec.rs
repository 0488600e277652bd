//! Whether an entry has an artifact to launch on this machine, and whether it is hydrated.

use codexport_core::mcp::artifact::REMOTE_RESOLVERS;
use codexport_core::mcp::manifest::{Artifact, ArtifactSpec, McpEntry, Transport};

use crate::Error;

/// The entry's artifact spec, or why it has nothing to launch here.
pub fn artifact_spec(entry: &McpEntry) -> Result<&ArtifactSpec, Error> {
    match &entry.artifact {
        Artifact::Unresolved { reason, hint } => Err(Error::Unresolved {
            entry: entry.name.clone(),
            reason: reason.clone(),
            hint: hint.clone(),
        }),
        Artifact::Resolved(spec)
            if entry.transport == Transport::Http
                || REMOTE_RESOLVERS.contains(&spec.resolver.as_str()) =>
        {
            Err(Error::NothingToRun {
                entry: entry.name.clone(),
                url: entry.url.clone().unwrap_or_default(),
            })
        }
        Artifact::Direct => Err(Error::Unresolved {
            entry: entry.name.clone(),
            reason:
                "the master routes it `direct`: Codex runs its own command, nothing is hydrated"
                    .to_owned(),
            hint: format!(
                "nothing to do; to hydrate it, drop `route = \"direct\"` from `[mcp.{}]` in the master's `master.toml`",
                entry.name
            ),
        }),
        Artifact::Resolved(spec) => Ok(spec),
    }
}

/// The hot check (is it hydrated here?), from the artifact record it reads.
pub use codexport_core::mcp::artifact::ready_now;
