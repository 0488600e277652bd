//! `codexport resolver list [--json]`: every installed plugin, loaded and checked.

use std::io::Write;

use codexport_core::ExitStatus;
use codexport_resolvers::Resolver;

use crate::cli::ResolverListArgs;
use crate::printer::Printer;

/// Prints one row per `*.wasm` in `~/.codexport/resolvers`, broken plugins with their error.
pub(crate) fn run(args: &ResolverListArgs, printer: Printer) -> anyhow::Result<ExitStatus> {
    let homes = crate::commands::homes()?;
    let mut out = std::io::stdout().lock();
    let host = super::host(&homes);
    let rows: Vec<serde_json::Value> = host
        .lazy_resolvers()
        .iter()
        .map(|plugin| {
            let file = plugin.file().display().to_string();
            match plugin.info() {
                Ok(info) => serde_json::json!({
                    "name": info.name,
                    "version": info.version,
                    "priority": info.priority,
                    "api": info.api,
                    "sha256": info.sha256,
                    "file": file,
                }),
                Err(err) => serde_json::json!({
                    "name": plugin.name(),
                    "file": file,
                    "error": err.to_string(),
                }),
            }
        })
        .collect();
    if args.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&rows)?)?;
        return Ok(ExitStatus::Success);
    }
    if rows.is_empty() {
        printer.status(format_args!(
            "no resolver plugins in `{}` (docs/resolver-authors.md shows how to write one)",
            homes.resolvers().display()
        ));
        return Ok(ExitStatus::Success);
    }
    let text = |row: &serde_json::Value, key: &str| match &row[key] {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    };
    let width = rows
        .iter()
        .map(|r| text(r, "name").len())
        .max()
        .unwrap_or(4)
        .max(4);
    writeln!(
        out,
        "{:width$}  {:10}  {:>8}  {:5}  STATE",
        "NAME", "VERSION", "PRIORITY", "API"
    )?;
    for row in &rows {
        let state = match row.get("error") {
            Some(err) => format!("error: {}", err.as_str().unwrap_or_default()),
            None => format!("ok (sha256 {})", &text(row, "sha256")[..12]),
        };
        writeln!(
            out,
            "{:width$}  {:10}  {:>8}  {:5}  {state}",
            text(row, "name"),
            text(row, "version"),
            text(row, "priority"),
            text(row, "api"),
        )?;
    }
    Ok(ExitStatus::Success)
}
