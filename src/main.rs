//! The `codexport` command line: parses arguments, sets up logging, dispatches, reports.

mod cli;
mod commands;
mod demo;
mod logging;
mod printer;
mod report;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{
    Cli, Command, FollowerCommand, HookCommand, MasterCommand, McpCommand, ResolverCommand,
};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match &cli.command {
        // The SessionStart hook says nothing on stdout or stderr: its log line is its report.
        Command::Sync(args) if args.hook => {}
        // A server's log is what its operator watches: start at `info` (publishes, refusals).
        Command::Master(MasterCommand::Serve(_)) => {
            logging::init(cli.global.verbose.max(1), cli.global.quiet)
        }
        _ => logging::init(cli.global.verbose, cli.global.quiet),
    }
    let printer = printer::Printer::new(cli.global.quiet);
    let result = match &cli.command {
        Command::Completions(args) => commands::completions::run(args),
        Command::Master(MasterCommand::Init(args)) => commands::master::init::run(args, printer),
        Command::Master(MasterCommand::Service(command)) => {
            commands::master::service::run(command, printer)
        }
        Command::Master(MasterCommand::Rebuild(args)) => {
            commands::master::rebuild::run(args, printer, cli.global.verbose)
        }
        Command::Master(MasterCommand::Serve(args)) => commands::master::serve::run(args),
        Command::Master(MasterCommand::Link(args)) => commands::master::link::run(args),
        Command::Master(MasterCommand::Followers(args)) => {
            commands::master::followers::run(args, printer)
        }
        Command::Master(MasterCommand::Revoke(args)) => {
            commands::master::revoke::run(args, printer)
        }
        Command::Follower(FollowerCommand::Join(args)) => {
            commands::follower::join::run(args, printer)
        }
        Command::Follower(FollowerCommand::TrustReset(args)) => {
            commands::follower::trust_reset::run(args, printer)
        }
        Command::Sync(args) => commands::sync::run(args, printer),
        Command::Apply(args) => commands::apply::run(args, printer),
        Command::Restore(args) => commands::restore::run(args, printer),
        Command::Backups(args) => commands::backups::run(args, printer),
        Command::Gc(args) => commands::gc::run(args, printer),
        Command::Status(args) => commands::status::run(args, cli.global.verbose),
        Command::Verify(args) => commands::verify::run(args, &cli.global),
        Command::Demo(args) => commands::demo::run(args),
        Command::Hook(HookCommand::Install(args)) => commands::hook::install::run(args, printer),
        Command::Hook(HookCommand::Uninstall(args)) => {
            commands::hook::uninstall::run(args, printer)
        }
        Command::Hook(HookCommand::Status(args)) => commands::hook::status::run(args),
        Command::Mcp(McpCommand::Run(args)) => commands::mcp::run::run(args, &cli.global),
        Command::Mcp(McpCommand::Hydrate(args)) => commands::mcp::hydrate::run(args, &cli.global),
        Command::Mcp(McpCommand::Plan(args)) => commands::mcp::plan::run(args, &cli.global),
        Command::Mcp(McpCommand::List(args)) => commands::mcp::list::run(args, printer),
        Command::Mcp(McpCommand::Inspect(args)) => commands::mcp::inspect::run(args),
        Command::Mcp(McpCommand::Doctor(args)) => commands::mcp::doctor::run(args, &cli.global),
        Command::Resolver(ResolverCommand::List(args)) => {
            commands::resolver::list::run(args, printer)
        }
        Command::Resolver(ResolverCommand::Test(args)) => commands::resolver::test::run(args),
    };
    match result {
        Ok(status) => status.into(),
        Err(err) => report::report(&err).into(),
    }
}
