//! The `uv` resolver: uv tools from PyPI or a URL: exact version, run from the tool's own `bin/`.

mod infer;
mod resolve;

use codexport_core::mcp::manifest::{ArtifactSpec, McpEntry};

use crate::{Error, InferContext, Resolution, ResolveContext, Resolver};

/// The `uv` resolver.
#[derive(Debug, Default, Clone, Copy)]
pub struct UvResolver;

impl UvResolver {
    /// Its stable name in manifests.
    pub const NAME: &'static str = "uv";
}

impl Resolver for UvResolver {
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
