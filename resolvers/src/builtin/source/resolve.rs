//! Follower side of `source`: turning a spec into a plan for this platform.

use codexport_core::manifest::{ArtifactSpec, McpEntry};

use crate::{Error, Resolution, ResolveContext};

/// The plan that hydrates `spec`.
pub(super) fn resolve(
    _cx: &ResolveContext,
    entry: &McpEntry,
    spec: &ArtifactSpec,
) -> Result<Resolution, Error> {
    // Resolution lands with the launcher work (issue 5).
    Err(Error::BadSpec {
        entry: entry.name.clone(),
        resolver: spec.resolver.clone(),
        reason: "this build cannot resolve `source` artifacts yet".to_owned(),
    })
}
