//! Reading this machine's MCP manifest and finding one entry in it.

use std::path::Path;

use codexport_core::Homes;
use codexport_core::mcp::manifest::{McpEntry, McpManifest};
use codexport_core::suggest::known_list;

use crate::Error;

/// Reads `mcp-manifest.json` of `homes` (the follower's, as received from the master).
pub fn load(homes: &Homes) -> Result<McpManifest, Error> {
    load_from(&homes.mcp_manifest())
}

/// Where the manifest [`load_on_machine`] found came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A follower's `mcp-manifest.json`, received from its master.
    Received,
    /// The master's published revision.
    Published,
}

/// The manifest this machine already has: a follower's received one, else the one in the
/// master's published revision; `None` on a master that has not published yet (the caller
/// then exports one from Codex's config, which needs the resolvers).
pub fn load_on_machine(homes: &Homes) -> Result<Option<(McpManifest, Source)>, Error> {
    if homes.mcp_manifest().is_file() {
        return Ok(Some((load(homes)?, Source::Received)));
    }
    let published = codexport_core::master::publish::load_published(homes)?;
    Ok(published.map(|p| (p.revision.mcp, Source::Published)))
}

fn load_from(path: &Path) -> Result<McpManifest, Error> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::ManifestMissing {
                path: path.to_path_buf(),
            });
        }
        Err(source) => return Err(Error::io("read", path, source)),
    };
    serde_json::from_slice(&bytes).map_err(|e| Error::ManifestCorrupt {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

/// The entry called `name`, or [`Error::UnknownMcp`] listing the known names, closest first.
pub fn entry<'m>(manifest: &'m McpManifest, name: &str) -> Result<&'m McpEntry, Error> {
    manifest.get(name).ok_or_else(|| Error::UnknownMcp {
        name: name.to_owned(),
        known: known_list(name, manifest.names()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_names_list_the_closest_first() {
        let manifest: McpManifest = serde_json::from_value(serde_json::json!({
            "version": 1,
            "master": {"os": "linux", "home": "/h", "codex_home": "/h/.codex"},
            "entries": [
                {"name": "zeta", "transport": "stdio", "artifact": {"state": "unresolved", "reason": "r", "hint": "h"}},
                {"name": "time", "transport": "stdio", "artifact": {"state": "unresolved", "reason": "r", "hint": "h"}}
            ]
        }))
        .unwrap();
        let err = entry(&manifest, "tme").unwrap_err();
        assert_eq!(
            err.to_string(),
            "no MCP named `tme` in the manifest (known: time, zeta)"
        );
    }

    #[test]
    fn missing_and_corrupt_manifests_are_told_apart() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("m.json");
        assert!(matches!(
            load_from(&path),
            Err(Error::ManifestMissing { .. })
        ));
        std::fs::write(&path, "{not json").unwrap();
        assert!(matches!(
            load_from(&path),
            Err(Error::ManifestCorrupt { .. })
        ));
    }
}
