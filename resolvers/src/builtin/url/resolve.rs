//! Follower side of `url`: Codex connects to the URL itself, so there is nothing to run.

use codexport_core::mcp::manifest::{ArtifactSpec, McpEntry};

use crate::spec::{BuiltinSpec, UrlSpec};
use crate::{Error, Resolution, ResolveContext};

/// Always [`Error::NothingToRun`]: the explanation `mcp run` gives for a URL entry.
pub(super) fn resolve(
    _cx: &ResolveContext,
    entry: &McpEntry,
    spec: &ArtifactSpec,
) -> Result<Resolution, Error> {
    let url = UrlSpec::from_artifact(&entry.name, spec)?;
    Err(Error::NothingToRun {
        entry: entry.name.clone(),
        url: url.url,
    })
}
