//! The `npm` resolver: npm packages: exact version, run from `node_modules/.bin`.

mod infer;
mod resolve;

use codexport_core::mcp::manifest::{ArtifactSpec, McpEntry};

use crate::{Error, InferContext, Resolution, ResolveContext, Resolver};

/// The `npm` resolver.
#[derive(Debug, Default, Clone, Copy)]
pub struct NpmResolver;

impl NpmResolver {
    /// Its stable name in manifests.
    pub const NAME: &'static str = "npm";
}

impl Resolver for NpmResolver {
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
