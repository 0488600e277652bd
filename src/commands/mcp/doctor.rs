//! `codexport mcp doctor [NAME...] [--json] [--no-start]`: is every MCP of this machine able to
//! start, and if not, what repairs it.

use std::io::Write;

use codexport_core::ExitStatus;
use codexport_core::mcp::manifest::Transport;
use codexport_core::mcp::requirements::{McpAllowlist, requirements_path};
use codexport_hydrate::doctor::{self, DoctorOptions, EntryReport};
use codexport_hydrate::hydrate::Hydrator;
use codexport_launcher::manifest;
use codexport_resolvers::Platform;
use codexport_resolvers::executor::Reporter;

use crate::cli::{GlobalArgs, McpDoctorArgs};

/// Checks the entries and prints a table (or JSON) on stdout; exits 4 when Codex's managed
/// requirements disable a server, else 8 when a command server fails, 5 when only URL servers
/// do, 0 when all pass.
pub(crate) fn run(args: &McpDoctorArgs, global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
    let homes = crate::commands::homes()?;
    let manifest = manifest::load(&homes)?;
    let entries = if args.names.is_empty() {
        manifest.entries.iter().collect::<Vec<_>>()
    } else {
        args.names
            .iter()
            .map(|name| manifest::entry(&manifest, name))
            .collect::<Result<Vec<_>, _>>()?
    };
    let hydrator = Hydrator::new(&homes, Platform::detect(), Reporter::hidden());
    let options = DoctorOptions {
        start: !args.no_start,
        timeout: args.timeout,
    };
    // What Codex's managed requirements allow, against the command each server has in this
    // machine's config.toml (the identity Codex compares).
    let allowlist = McpAllowlist::load(&requirements_path())?;
    let config = std::fs::read_to_string(homes.codex.join("config.toml"))
        .ok()
        .and_then(|text| text.parse::<toml_edit::DocumentMut>().ok());
    let reports: Vec<EntryReport> = entries
        .into_iter()
        .map(|entry| {
            if !global.quiet && !args.json {
                eprintln!("checking `{}` ...", entry.name);
            }
            let mut report = doctor::check(&homes, &hydrator, entry, options);
            let table = config
                .as_ref()
                .and_then(|doc| doc.get("mcp_servers")?.get(&entry.name));
            if let (Some(allowlist), Some(table)) = (&allowlist, table) {
                report.require(
                    allowlist,
                    table.get("command").and_then(|v| v.as_str()),
                    table.get("url").and_then(|v| v.as_str()),
                    entry.launched(),
                );
            }
            report
        })
        .collect();

    let mut out = std::io::stdout().lock();
    if args.json {
        let entries: Vec<serde_json::Value> = reports
            .iter()
            .map(|r| {
                let mut value = serde_json::to_value(r).expect("reports serialise");
                value["ok"] = r.ok().into();
                value
            })
            .collect();
        let doc = serde_json::json!({
            "ok": reports.iter().all(EntryReport::ok),
            "entries": entries,
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
    } else {
        print_table(&mut out, &reports)?;
    }
    let failed = |transport| reports.iter().any(|r| !r.ok() && r.transport == transport);
    Ok(if reports.iter().any(|r| r.blocked_by_requirements) {
        ExitStatus::Conflict
    } else if failed(Transport::Stdio) {
        ExitStatus::Hydration
    } else if failed(Transport::Http) {
        ExitStatus::Unreachable
    } else {
        ExitStatus::Success
    })
}

/// One row per entry, its spec under it, and the repair steps of each failure.
fn print_table(out: &mut impl Write, reports: &[EntryReport]) -> std::io::Result<()> {
    let name_width = reports
        .iter()
        .map(|r| r.name.len())
        .max()
        .unwrap_or(4)
        .max(4);
    let resolver_width = reports
        .iter()
        .map(|r| r.resolver.len())
        .max()
        .unwrap_or(8)
        .max(8);
    writeln!(
        out,
        "{:<name_width$}  {:<resolver_width$}  {:<12}  {:<8}  RESULT",
        "NAME", "RESOLVER", "VERSION", "HYDRATED"
    )?;
    for r in reports {
        let hydrated = match r.hydrated {
            Some(true) => "yes",
            Some(false) => "no",
            None => "-",
        };
        let result = match (&r.problem, &r.started, &r.reached) {
            (Some(problem), _, _) => format!("FAIL  {problem}"),
            (None, Some(s), _) => format!(
                "ok    protocol {}, {} tool{}, {} ms ({})",
                s.protocol_version,
                s.tools,
                if s.tools == 1 { "" } else { "s" },
                s.latency_ms,
                s.server
            ),
            (None, None, Some(reached)) => format!(
                "ok    reachable (HTTP {}, {} ms)",
                reached.status, reached.latency_ms
            ),
            (None, None, None) => match &r.note {
                Some(note) => format!("ok    {note}"),
                None => "ok    (not started)".to_owned(),
            },
        };
        writeln!(
            out,
            "{:<name_width$}  {:<resolver_width$}  {:<12}  {:<8}  {result}",
            r.name,
            r.resolver,
            r.version.as_deref().unwrap_or("-"),
            hydrated
        )?;
        if let Some(spec) = &r.spec {
            writeln!(out, "{:name_width$}  spec: {spec}", "")?;
        }
        for step in &r.repair {
            writeln!(out, "{:name_width$}  repair: {step}", "")?;
        }
    }
    let failed = reports.iter().filter(|r| !r.ok()).count();
    writeln!(out, "{} ok, {failed} failed", reports.len() - failed)
}
