//! `codexport mcp list`: one line per MCP entry.

use std::io::Write;

use codexport_core::ExitStatus;
use codexport_core::manifest::{Artifact, McpEntry, Transport};
use codexport_resolvers::spec::summary;
use serde::Serialize;

use crate::cli::McpListArgs;

/// Prints every entry of the manifest (a table, or JSON with `--json`) to stdout.
pub(crate) fn run(args: &McpListArgs) -> anyhow::Result<ExitStatus> {
    let homes = crate::commands::homes()?;
    let (manifest, _) = super::load(&homes)?;
    let rows: Vec<Row<'_>> = manifest.entries.iter().map(Row::of).collect();
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &rows)?;
        writeln!(out)?;
        return Ok(ExitStatus::Success);
    }
    if rows.is_empty() {
        eprintln!("no MCP servers (`[mcp_servers.*]` in the Codex config.toml)");
        return Ok(ExitStatus::Success);
    }
    let width = |title: &str, cell: &dyn Fn(&Row<'_>) -> usize| {
        rows.iter().map(cell).max().unwrap_or(0).max(title.len())
    };
    let w_name = width("NAME", &|r| r.name.len());
    let w_transport = width("TRANSPORT", &|r| r.transport.len());
    let w_resolver = width("RESOLVER", &|r| r.resolver.len());
    let w_state = width("STATE", &|r| r.state.len());
    writeln!(
        out,
        "{:w_name$}  {:w_transport$}  {:w_resolver$}  {:w_state$}  SPEC",
        "NAME", "TRANSPORT", "RESOLVER", "STATE"
    )?;
    for r in &rows {
        writeln!(
            out,
            "{:w_name$}  {:w_transport$}  {:w_resolver$}  {:w_state$}  {}",
            r.name, r.transport, r.resolver, r.state, r.summary
        )?;
    }
    Ok(ExitStatus::Success)
}

/// One listed entry (also the `--json` shape).
#[derive(Debug, Serialize)]
struct Row<'a> {
    name: &'a str,
    transport: &'a str,
    resolver: &'a str,
    /// `resolved` or `unresolved`.
    state: &'a str,
    /// The spec in one line, or why there is none.
    summary: String,
    /// `canonical` or `local`.
    origin: codexport_core::manifest::Origin,
}

impl<'a> Row<'a> {
    fn of(entry: &'a McpEntry) -> Self {
        let (state, summary) = match &entry.artifact {
            Artifact::Resolved(spec) => ("resolved", summary(spec)),
            Artifact::Unresolved { reason, .. } => ("unresolved", reason.clone()),
        };
        Row {
            name: &entry.name,
            transport: match entry.transport {
                Transport::Stdio => "stdio",
                Transport::Http => "http",
            },
            resolver: entry.resolver_name(),
            state,
            summary,
            origin: entry.origin,
        }
    }
}
