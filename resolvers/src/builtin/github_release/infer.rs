//! Master side of `github-release`: recognising an entry and writing its spec.

use codexport_core::manifest::{ArtifactSpec, McpEntry};

use crate::{Error, InferContext};

/// The spec for `entry`, or `None` when it is not a `github-release` artifact.
pub(super) fn infer(
    _cx: &InferContext<'_>,
    _entry: &McpEntry,
) -> Result<Option<ArtifactSpec>, Error> {
    // Inference lands with the manifest work (issue 4); until then nothing is recognised.
    Ok(None)
}
