//! The `github-release` resolver: binaries from GitHub release assets, matched to this platform.

mod infer;
mod resolve;

use codexport_core::mcp::manifest::{ArtifactSpec, McpEntry};

use crate::{Error, InferContext, Resolution, ResolveContext, Resolver};

/// The `github-release` resolver.
#[derive(Debug, Default, Clone, Copy)]
pub struct GithubReleaseResolver;

impl GithubReleaseResolver {
    /// Its stable name in manifests.
    pub const NAME: &'static str = "github-release";
}

impl Resolver for GithubReleaseResolver {
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
