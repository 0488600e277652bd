//! `codexport mcp inspect NAME`: one entry in full, secrets masked.

use std::io::Write;

use codexport_core::ExitStatus;
use codexport_core::mcp::manifest::Artifact;
use codexport_core::suggest::by_similarity;

use crate::cli::McpInspectArgs;
use crate::report::CliError;

/// Prints the entry called `args.name` to stdout; an unknown name lists the known ones.
pub(crate) fn run(args: &McpInspectArgs) -> anyhow::Result<ExitStatus> {
    let homes = crate::commands::homes()?;
    let (manifest, _) = super::load(&homes)?;
    let Some(entry) = manifest.get(&args.name) else {
        let known = by_similarity(&args.name, manifest.names());
        let mut err = CliError::new(
            ExitStatus::Usage,
            format!("no MCP server named `{}`", args.name),
        );
        err = match known.first() {
            Some(closest) => err
                .hint(format!("did you mean `codexport mcp inspect {closest}`?"))
                .hint(format!("known: {}", known.join(", "))),
            None => err.hint(
                "there are no MCP servers; add `[mcp_servers.NAME]` to the Codex config.toml",
            ),
        };
        return Err(err.into());
    };
    let entry = entry.masked();
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &entry)?;
        writeln!(out)?;
        return Ok(ExitStatus::Success);
    }
    writeln!(out, "name: {}", entry.name)?;
    writeln!(
        out,
        "origin: {}",
        serde_json::to_value(entry.origin)?.as_str().unwrap_or("?")
    )?;
    if let Some(command) = &entry.command {
        writeln!(out, "command: {command}")?;
    }
    if !entry.args.is_empty() {
        writeln!(out, "args: {}", serde_json::to_string(&entry.args)?)?;
    }
    if let Some(url) = &entry.url {
        writeln!(out, "url: {url}")?;
    }
    if let Some(cwd) = &entry.cwd {
        writeln!(out, "cwd: {cwd}")?;
    }
    for (key, value) in &entry.env {
        writeln!(out, "env.{key}: {value}")?;
    }
    for (key, value) in &entry.extra {
        writeln!(out, "{key}: {value}")?;
    }
    match &entry.artifact {
        Artifact::Resolved(spec) => {
            writeln!(out, "resolver: {}", spec.resolver)?;
            writeln!(out, "spec: {}", serde_json::to_string_pretty(&spec.spec)?)?;
            for object in &spec.objects {
                writeln!(out, "object: {object}")?;
            }
        }
        Artifact::Direct => {
            writeln!(out, "resolver: direct")?;
            writeln!(
                out,
                "route: direct (Codex runs the master's command; no launcher, no hydration)"
            )?;
        }
        Artifact::Unresolved { reason, hint } => {
            writeln!(out, "resolver: unresolved")?;
            writeln!(out, "reason: {reason}")?;
            writeln!(out, "repair: {hint}")?;
        }
    }
    Ok(ExitStatus::Success)
}
