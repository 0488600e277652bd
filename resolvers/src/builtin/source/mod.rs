//! The `source` resolver: local node, python and cargo projects packed into the object store.

mod infer;
mod resolve;

use codexport_core::mcp::manifest::{ArtifactSpec, McpEntry};

use crate::{Error, InferContext, Resolution, ResolveContext, Resolver};

/// The `source` resolver.
#[derive(Debug, Default, Clone, Copy)]
pub struct SourceResolver;

impl SourceResolver {
    /// Its stable name in manifests.
    pub const NAME: &'static str = "source";
}

impl Resolver for SourceResolver {
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
