//! The `codexport` command line: parses arguments, sets up logging, dispatches, reports.

mod cli;
mod commands;
mod logging;
mod report;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    logging::init(cli.global.verbose, cli.global.quiet);
    let result = match &cli.command {
        Command::Completions(args) => commands::completions::run(args),
    };
    match result {
        Ok(status) => status.into(),
        Err(err) => report::report(&err).into(),
    }
}
