//! The seam through which a master snapshot obtains its MCP manifest.
//!
//! The core reads `[mcp_servers]` but cannot infer artifacts (that needs resolvers, which
//! depend on the core). The CLI hands the snapshot an [`McpExport`] backed by the resolver
//! registry; [`PlainExport`] is the resolver-free fallback used by core tests.

use toml_edit::DocumentMut;

use crate::Homes;
use crate::mcp::config::{EntryError, read_mcp_servers};
use crate::mcp::manifest::{MANIFEST_VERSION, MasterPaths, McpManifest, Origin};
use crate::store::ObjectStore;

/// A manifest and the problems found while building it.
#[derive(Debug, Clone, Default)]
pub struct McpExportOutcome {
    /// Every well-formed entry, inferred or marked unresolved.
    pub manifest: McpManifest,
    /// Malformed entries (skipped) and inference failures (entry kept as unresolved).
    pub problems: Vec<EntryError>,
}

/// Builds the MCP manifest of a master from its parsed `config.toml`.
pub trait McpExport: Send + Sync {
    /// `config` is `None` when the Codex home has no `config.toml`. Packed source trees go
    /// into `store`, and their hashes into the entries' `artifact.objects`.
    fn export(
        &self,
        homes: &Homes,
        config: Option<&DocumentMut>,
        store: &ObjectStore,
    ) -> McpExportOutcome;
}

/// Exports entries without inferring artifacts: every entry is `unresolved`.
#[derive(Debug, Default, Clone, Copy)]
pub struct PlainExport;

impl McpExport for PlainExport {
    fn export(
        &self,
        homes: &Homes,
        config: Option<&DocumentMut>,
        _store: &ObjectStore,
    ) -> McpExportOutcome {
        let (entries, problems) = match config {
            Some(doc) => read_mcp_servers(doc, Origin::Canonical),
            None => (Vec::new(), Vec::new()),
        };
        McpExportOutcome {
            manifest: McpManifest {
                entries,
                ..master_manifest(homes)
            },
            problems,
        }
    }
}

/// An empty manifest stamped with this master's paths and OS.
pub fn master_manifest(homes: &Homes) -> McpManifest {
    McpManifest {
        version: MANIFEST_VERSION,
        master: MasterPaths {
            os: std::env::consts::OS.to_owned(),
            home: homes.user.to_string_lossy().into_owned(),
            codex_home: homes.codex.to_string_lossy().into_owned(),
        },
        entries: Vec::new(),
    }
}
