//! `codexport mcp run NAME`: what the launcher does, from the main CLI.

use codexport_core::ExitStatus;

use crate::cli::{GlobalArgs, McpRunArgs};

/// Starts the MCP server `args.name`; on Unix the server replaces this process. An artifact
/// that is not hydrated is hydrated by `codexport mcp hydrate NAME` (this binary), as the
/// launcher does.
pub(crate) fn run(args: &McpRunArgs, _global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
    let homes = crate::commands::homes()?;
    let code = match codexport_launcher::run(&homes, &args.name) {
        Ok(code) => code,
        // `mcp hydrate` has reported it; its status is passed on.
        Err(codexport_launcher::Error::HydrateFailed {
            code: Some(code), ..
        }) => code,
        Err(err) => return Err(err.into()),
    };
    // Only Windows gets here with the server's own exit code, which is passed through as is.
    std::process::exit(code)
}
