//! Master side of `url`: streamable-HTTP servers pass through. Headers, `env_http_headers`
//! and `bearer_token_env_var` stay in the entry's `extra` (names only); nothing to hydrate.

use codexport_core::mcp::manifest::{ArtifactSpec, McpEntry, Transport};

use crate::spec::{BuiltinSpec, UrlSpec};
use crate::{Error, InferContext};

/// The spec for `entry`, or `None` when it is not a `url` artifact.
pub(super) fn infer(
    _cx: &InferContext<'_>,
    entry: &McpEntry,
) -> Result<Option<ArtifactSpec>, Error> {
    Ok(match (&entry.transport, &entry.url) {
        (Transport::Http, Some(url)) => Some(UrlSpec { url: url.clone() }.to_artifact(Vec::new())),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ecosystem::test_support::{Master, stdio_entry};

    #[test]
    fn http_entries_pass_through_and_stdio_ones_are_not_mine() {
        let tmp = tempfile::tempdir().unwrap();
        let master = Master::new(tmp.path());
        let mut entry = stdio_entry("e", "x", &[]);
        assert_eq!(infer(&master.cx(), &entry).unwrap(), None);
        entry.transport = Transport::Http;
        entry.command = None;
        entry.url = Some("http://127.0.0.1:9/mcp".into());
        let artifact = infer(&master.cx(), &entry).unwrap().unwrap();
        assert_eq!(artifact.resolver, "url");
        assert_eq!(
            artifact.spec,
            serde_json::json!({"url": "http://127.0.0.1:9/mcp"})
        );
    }
}
