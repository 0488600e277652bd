//! Master side of `github-release`: nothing is inferred from a bare binary (its origin is
//! not recorded anywhere on disk). A `[mcp.NAME]` hint in `master.toml` or a wasm plugin
//! supplies `repo`, `tag` and an asset template; the registry applies hints.

use codexport_core::mcp::manifest::{ArtifactSpec, McpEntry};

use crate::{Error, InferContext};

/// Always `None`: see the module docs.
pub(super) fn infer(
    _cx: &InferContext<'_>,
    _entry: &McpEntry,
) -> Result<Option<ArtifactSpec>, Error> {
    Ok(None)
}
