//! `codexport mcp run NAME`: what the launcher does, from the main CLI.

use codexport_core::ExitStatus;
use codexport_resolvers::executor::Reporter;

use crate::cli::{GlobalArgs, McpRunArgs};

/// Starts the MCP server `args.name`; on Unix the server replaces this process.
pub(crate) fn run(args: &McpRunArgs, global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
    let homes = crate::commands::homes()?;
    let code = codexport_launcher::run(&homes, &args.name, Reporter::stderr(global.quiet))?;
    // Only Windows gets here with the server's own exit code, which is passed through as is.
    std::process::exit(code)
}
