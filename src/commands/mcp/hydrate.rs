//! `codexport mcp hydrate [NAME...|--all]`: make MCP artifacts ready ahead of time.

use codexport_core::ExitStatus;
use codexport_core::mcp::manifest::{Artifact, Transport};
use codexport_hydrate::hydrate::Hydrator;
use codexport_launcher::manifest;
use codexport_resolvers::executor::{Outcome, Reporter};
use codexport_resolvers::{Platform, Registry};

use crate::cli::{GlobalArgs, McpHydrateArgs};

/// Hydrates the named MCPs (or all), one line each on stdout; failures on stderr. Exits with
/// the status of the first failure.
pub(crate) fn run(args: &McpHydrateArgs, global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
    let homes = crate::commands::homes()?;
    let manifest = manifest::load(&homes)?;
    let entries = if args.all {
        let builtins = Registry::builtin();
        manifest
            .entries
            .iter()
            .filter(|e| {
                let runnable = e.transport == Transport::Stdio
                    && matches!(&e.artifact, Artifact::Resolved(s) if builtins.runs_locally(s));
                if !runnable {
                    tracing::info!(entry = %e.name, "nothing to hydrate");
                }
                runnable
            })
            .collect::<Vec<_>>()
    } else {
        args.names
            .iter()
            .map(|name| manifest::entry(&manifest, name))
            .collect::<Result<Vec<_>, _>>()?
    };
    let hydrator = Hydrator::new(&homes, Platform::detect(), Reporter::stderr(global.quiet));
    let mut status = ExitStatus::Success;
    for entry in entries {
        match hydrator.ensure_ready(entry) {
            Ok(artifact) => {
                let how = match (&artifact.fallback, artifact.outcome) {
                    (Some(_), _) => "previous artifact kept",
                    (None, Outcome::Hydrated) => "hydrated",
                    (None, Outcome::AlreadyReady) => "already ready",
                };
                println!(
                    "{}: {how} ({} {})",
                    entry.name, artifact.ready.resolver, artifact.ready.version
                );
            }
            Err(err) => {
                let err = anyhow::Error::from(err);
                let failed = crate::report::report(&err);
                if status == ExitStatus::Success {
                    status = failed;
                }
            }
        }
    }
    Ok(status)
}
