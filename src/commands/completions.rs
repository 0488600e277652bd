//! `codexport completions SHELL`: shell completion scripts.

use std::io::Write;

use clap::CommandFactory;
use codexport_core::ExitStatus;

use crate::cli::{Cli, CompletionsArgs};

/// Writes the completion script for `args.shell` to stdout.
pub(crate) fn run(args: &CompletionsArgs) -> anyhow::Result<ExitStatus> {
    let mut buf = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "codexport", &mut buf);
    std::io::stdout().lock().write_all(&buf)?;
    Ok(ExitStatus::Success)
}
