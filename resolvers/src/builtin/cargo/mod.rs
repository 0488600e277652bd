//! The `cargo` resolver: crates installed with `cargo install` (registry version or git rev).

mod infer;
mod resolve;

use codexport_core::mcp::manifest::{ArtifactSpec, McpEntry};

use crate::{Error, InferContext, Resolution, ResolveContext, Resolver};

/// The `cargo` resolver.
#[derive(Debug, Default, Clone, Copy)]
pub struct CargoResolver;

impl CargoResolver {
    /// Its stable name in manifests.
    pub const NAME: &'static str = "cargo";
}

impl Resolver for CargoResolver {
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
