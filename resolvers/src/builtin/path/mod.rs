//! The `path` resolver: programs the follower is expected to have on PATH (`docker`, `git`).

mod infer;
mod resolve;

use codexport_core::mcp::manifest::{ArtifactSpec, McpEntry};

use crate::{Error, InferContext, Resolution, ResolveContext, Resolver};

/// The `path` resolver.
#[derive(Debug, Default, Clone, Copy)]
pub struct PathResolver;

impl PathResolver {
    /// Its stable name in manifests.
    pub const NAME: &'static str = "path";
}

impl Resolver for PathResolver {
    fn name(&self) -> &str {
        Self::NAME
    }

    fn infer(
        &self,
        cx: &InferContext<'_>,
        entry: &McpEntry,
    ) -> Result<Option<ArtifactSpec>, Error> {
        infer::infer(cx, entry)
    }

    fn resolve(
        &self,
        cx: &ResolveContext,
        entry: &McpEntry,
        spec: &ArtifactSpec,
    ) -> Result<Resolution, Error> {
        resolve::resolve(cx, entry, spec)
    }
}
