//! `codexport mcp list`: one line per MCP entry.

use std::io::Write;

use codexport_core::mcp::manifest::{Artifact, ArtifactSpec, McpEntry, Transport};
use codexport_core::{ExitStatus, Homes};
use codexport_launcher::spec::ready_now;
use codexport_resolvers::{Platform, Registry};
use serde::Serialize;

use super::Role;
use crate::cli::McpListArgs;
use crate::printer::Printer;

/// Prints every entry of the manifest (a table, or JSON with `--json`) to stdout.
pub(crate) fn run(args: &McpListArgs, printer: Printer) -> anyhow::Result<ExitStatus> {
    let homes = crate::commands::homes()?;
    let (manifest, role) = super::load(&homes)?;
    let platform = (role == Role::Follower).then(Platform::detect);
    let builtins = Registry::builtin();
    let rows: Vec<Row<'_>> = manifest
        .entries
        .iter()
        .map(|entry| Row::of(entry, &homes, platform.as_ref(), &builtins))
        .collect();
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &rows)?;
        writeln!(out)?;
        return Ok(ExitStatus::Success);
    }
    if rows.is_empty() {
        printer.status(format_args!(
            "no MCP servers (`[mcp_servers.*]` in the Codex config.toml)"
        ));
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
    /// Master: `resolved`, `direct` or `unresolved`. Follower: `hydrated`, `pending` (not
    /// hydrated yet), `remote` (a url server: nothing to hydrate), `direct` or `unresolved`.
    state: &'a str,
    /// The spec in one line, or why there is none.
    summary: String,
    /// `canonical`, `local` or `plugin`.
    origin: codexport_core::mcp::manifest::Origin,
}

impl<'a> Row<'a> {
    fn of(
        entry: &'a McpEntry,
        homes: &Homes,
        follower: Option<&Platform>,
        builtins: &Registry,
    ) -> Self {
        let summary = |spec: &ArtifactSpec| builtins.summary(spec);
        let (state, summary) = match (&entry.artifact, follower) {
            (Artifact::Unresolved { reason, .. }, _) => ("unresolved", reason.clone()),
            (Artifact::Direct, _) => (
                "direct",
                "Codex runs the master's command (no launcher, no hydration)".to_owned(),
            ),
            (Artifact::Resolved(spec), None) => ("resolved", summary(spec)),
            (Artifact::Resolved(spec), Some(_)) if entry.transport == Transport::Http => {
                ("remote", summary(spec))
            }
            (Artifact::Resolved(spec), Some(platform)) => {
                let hydrated = ready_now(homes, spec, platform).is_some();
                (if hydrated { "hydrated" } else { "pending" }, summary(spec))
            }
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
