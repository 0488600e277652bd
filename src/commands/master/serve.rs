//! `codexport master serve`: the protocol v1 server, with the watcher.

use codexport_core::ExitStatus;
use codexport_core::master::server::{ServeOptions, listen_addr, serve};
use codexport_core::settings::MasterSettings;

use crate::cli::MasterServeArgs;

/// Serves until SIGTERM or Ctrl-C.
pub(crate) fn run(args: &MasterServeArgs) -> anyhow::Result<ExitStatus> {
    let homes = super::super::homes()?;
    let settings = MasterSettings::load(&homes)?;
    let options = ServeOptions {
        listen: listen_addr(args.listen.as_deref(), &settings)?,
        watch: !args.no_watch,
    };
    serve(
        &homes,
        &settings,
        super::mcp_export(&homes, &settings)?,
        &options,
    )?;
    Ok(ExitStatus::Success)
}
