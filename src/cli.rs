//! Every clap type of the `codexport` CLI, and nothing else: no logic lives here.

use clap::{Args, Parser, Subcommand};

/// Keep a fleet of machines on one canonical Codex CLI setup.
#[derive(Debug, Parser)]
#[command(name = "codexport", version, about, propagate_version = true)]
#[command(after_help = after_help())]
pub(crate) struct Cli {
    /// Options every command takes.
    #[command(flatten)]
    pub(crate) global: GlobalArgs,
    /// What to do.
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub(crate) struct GlobalArgs {
    /// More log output on stderr (repeat for more: -v info, -vv debug, -vvv trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub(crate) verbose: u8,
    /// Only errors on stderr; no progress bars.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub(crate) quiet: bool,
}

/// The top-level commands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Print a shell completion script to stdout.
    #[command(
        after_help = "Example:\n  codexport completions bash > ~/.local/share/bash-completion/completions/codexport"
    )]
    Completions(CompletionsArgs),
}

/// `codexport completions SHELL`.
#[derive(Debug, Args)]
pub(crate) struct CompletionsArgs {
    /// The shell to generate for.
    #[arg(value_enum)]
    pub(crate) shell: clap_complete::Shell,
}

fn after_help() -> String {
    codexport_core::ExitStatus::help_table()
}
