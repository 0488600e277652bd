//! The `codexport-mcp-run` command line, parsed by hand: the hot path of every MCP start takes
//! one fixed form. Nothing but the server writes to stdout.

use std::process::ExitCode;

use crate::Error;
use codexport_core::{ExitStatus, Homes, report};

const USAGE: &str = "usage: codexport-mcp-run mcp run NAME";

/// Runs `codexport-mcp-run` with this process's arguments and returns its exit status.
pub fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let name = match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["mcp", "run", name] => (*name).to_owned(),
        ["--version" | "-V"] => {
            eprintln!("codexport-mcp-run {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        ["--help" | "-h"] => {
            eprintln!(
                "Starts a synced MCP server on this follower (Codex runs it).\n\n{USAGE}\n\n{}",
                ExitStatus::help_table()
            );
            return ExitCode::SUCCESS;
        }
        _ => {
            let err = Error::Usage(format!("expected `mcp run NAME`, got `{}`", args.join(" ")));
            return report(&err, Some(&err)).into();
        }
    };
    let homes = match Homes::from_env() {
        Ok(homes) => homes,
        Err(err) => return report(&err, Some(&err)).into(),
    };
    match crate::run(&homes, &name) {
        // Only Windows returns here (Unix execs): its exit codes are 32 bits wide.
        Ok(code) => std::process::exit(code),
        // `codexport mcp hydrate` has reported it; its status is passed on.
        Err(
            err @ Error::HydrateFailed {
                code: Some(code), ..
            },
        ) => u8::try_from(code).map_or_else(|_| report(&err, Some(&err)).into(), ExitCode::from),
        Err(err) => report(&err, Some(&err)).into(),
    }
}
