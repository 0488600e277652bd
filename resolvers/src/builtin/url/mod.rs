//! The `url` resolver: streamable-HTTP servers: passed through, nothing to hydrate.

mod infer;
mod resolve;

use codexport_core::mcp::manifest::McpEntry;
use serde_json::{Map, Value};

use super::{Builtin, InferFn, ResolveFn};
use crate::spec::UrlSpec;
use crate::{Error, InferContext};

/// The `url` resolver.
#[derive(Debug, Default, Clone, Copy)]
pub struct UrlResolver;

impl Builtin for UrlResolver {
    type Spec = UrlSpec;
    const INFER: InferFn = infer::infer;
    const RESOLVE: ResolveFn = resolve::resolve;
    // Codex connects to the URL itself.
    const RUNS_LOCALLY: bool = false;

    /// The entry's `url` when the hint leaves it out.
    fn complete_hint(
        &self,
        _cx: &InferContext<'_>,
        entry: &McpEntry,
        fields: &mut Map<String, Value>,
    ) -> Result<Vec<String>, Error> {
        if let Some(url) = &entry.url {
            fields.entry("url").or_insert_with(|| url.clone().into());
        }
        Ok(Vec::new())
    }

    fn summary(url: UrlSpec) -> String {
        url.url
    }
}
