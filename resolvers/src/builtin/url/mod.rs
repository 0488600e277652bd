//! The `url` resolver: streamable-HTTP servers: passed through, nothing to hydrate.

mod infer;
mod resolve;

use codexport_core::mcp::manifest::{ArtifactSpec, McpEntry};

use crate::{Error, InferContext, Resolution, ResolveContext, Resolver};

/// The `url` resolver.
#[derive(Debug, Default, Clone, Copy)]
pub struct UrlResolver;

impl UrlResolver {
    /// Its stable name in manifests.
    pub const NAME: &'static str = "url";
}

impl Resolver for UrlResolver {
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
