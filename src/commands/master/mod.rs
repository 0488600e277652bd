//! `codexport master ...`: identity, revisions, the server, follower links.

pub(crate) mod followers;
pub(crate) mod init;
pub(crate) mod link;
pub(crate) mod rebuild;
pub(crate) mod revoke;
pub(crate) mod serve;
pub(crate) mod service;

use std::sync::Arc;

use codexport_core::Homes;
use codexport_core::mcp::export::McpExport;
use codexport_core::settings::MasterSettings;

/// How master snapshots build the MCP manifest: resolver inference steered by the hints in
/// `settings` (`master.toml`, read once when the command starts).
pub(crate) fn mcp_export(
    homes: &Homes,
    settings: &MasterSettings,
) -> anyhow::Result<Arc<dyn McpExport>> {
    Ok(Arc::new(crate::commands::mcp::registry_export(
        homes, settings,
    )?))
}
