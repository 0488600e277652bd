//! `codexport master ...`: identity, revisions, the server, follower links.

pub(crate) mod followers;
pub(crate) mod init;
pub(crate) mod link;
pub(crate) mod rebuild;
pub(crate) mod revoke;
pub(crate) mod serve;
pub(crate) mod service;

use std::sync::Arc;

use codexport_core::mcp_export::{McpExport, PlainExport};

/// How master snapshots build the MCP manifest. Resolver-backed inference replaces
/// [`PlainExport`] here once `codexport_resolvers` provides it.
pub(crate) fn mcp_export() -> Arc<dyn McpExport> {
    Arc::new(PlainExport)
}
