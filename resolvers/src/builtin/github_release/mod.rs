//! The `github-release` resolver: binaries from GitHub release assets, matched to this platform.

mod infer;
mod resolve;

use codexport_core::mcp::manifest::McpEntry;
use serde_json::{Map, Value};

use super::{Builtin, InferFn, ResolveFn, args_from_entry};
use crate::spec::GithubReleaseSpec;
use crate::{Error, InferContext};

/// The `github-release` resolver.
#[derive(Debug, Default, Clone, Copy)]
pub struct GithubReleaseResolver;

impl Builtin for GithubReleaseResolver {
    type Spec = GithubReleaseSpec;
    const INFER: InferFn = infer::infer;
    const RESOLVE: ResolveFn = resolve::resolve;

    /// The entry's `args` when the hint leaves them out; a warning when its `asset` is one
    /// fixed file name.
    fn complete_hint(
        &self,
        _cx: &InferContext<'_>,
        entry: &McpEntry,
        fields: &mut Map<String, Value>,
    ) -> Result<Vec<String>, Error> {
        args_from_entry(entry, fields);
        if let Some(asset) = fields.get("asset").and_then(|a| a.as_str())
            && !asset.contains(['{', '*'])
        {
            tracing::warn!(entry = %entry.name, asset, "the `asset` hint has no `{{...}}` placeholder or `*`: every follower downloads this same file, whatever its platform");
        }
        Ok(Vec::new())
    }

    fn summary(gh: GithubReleaseSpec) -> String {
        format!(
            "{}@{} {} ({})",
            gh.repo,
            gh.tag.as_deref().unwrap_or("latest"),
            gh.asset.as_deref().unwrap_or("<platform match>"),
            gh.bin
        )
    }
}
