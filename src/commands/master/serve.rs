//! `codexport master serve`: the server (TLS for v2, plain HTTP for v1), with the watcher.

use codexport_core::ExitStatus;
use std::sync::Arc;

use codexport_core::master::server::{ExportFactory, ServeOptions, listen_addr, serve};
use codexport_core::settings::MasterSettings;

use crate::cli::MasterServeArgs;

/// Serves until SIGTERM or Ctrl-C.
pub(crate) fn run(args: &MasterServeArgs) -> anyhow::Result<ExitStatus> {
    let homes = super::super::homes()?;
    let settings = MasterSettings::load(&homes)?;
    let options = ServeOptions {
        listen: listen_addr(args.listen.as_deref(), &settings)?,
        watch: !args.no_watch,
        plain_http: args.plain_http,
    };
    let export = super::mcp_export(&homes, &settings)?;
    let export_homes = homes.clone();
    let reexport: ExportFactory = Arc::new(move |settings: &MasterSettings| {
        super::mcp_export(&export_homes, settings).map_err(|e| format!("{e:#}"))
    });
    serve(&homes, &settings, export, reexport, &options)?;
    Ok(ExitStatus::Success)
}
