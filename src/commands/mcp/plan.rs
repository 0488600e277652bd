//! `codexport mcp plan NAME [--json]`: what hydrating an MCP would do here, without doing it.

use codexport_core::ExitStatus;
use codexport_hydrate::hydrate::Hydrator;
use codexport_launcher::manifest;
use codexport_resolvers::Platform;
use codexport_resolvers::executor::{self, Reporter};
use codexport_resolvers::plan::Step;

use crate::cli::{GlobalArgs, McpPlanArgs};

/// Prints the plan of `args.name` on stdout.
pub(crate) fn run(args: &McpPlanArgs, global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
    let homes = crate::commands::homes()?;
    let manifest = manifest::load(&homes)?;
    let entry = manifest::entry(&manifest, &args.name)?;
    let hydrator = Hydrator::new(&homes, Platform::detect(), Reporter::stderr(global.quiet));
    let (dir, resolution) = hydrator.plan(entry)?;
    let ready = executor::read_launchable(&dir).is_some();
    let resolver = entry.resolver_name();
    if args.json {
        let doc = serde_json::json!({
            "name": entry.name,
            "resolver": resolver,
            "version": resolution.version,
            "cache_key": resolution.cache_key,
            "artifact": dir,
            "ready": ready,
            "steps": resolution.plan.steps,
            "launch": resolution.plan.launch,
        });
        println!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(ExitStatus::Success);
    }
    println!("MCP `{}`: {resolver} {}", entry.name, resolution.version);
    println!(
        "artifact: {} ({})",
        dir.display(),
        if ready { "ready" } else { "not hydrated" }
    );
    if resolution.plan.steps.is_empty() {
        println!("steps: none");
    } else {
        println!("steps:");
    }
    for (i, step) in resolution.plan.steps.iter().enumerate() {
        println!("  {}. {}", i + 1, describe(step));
    }
    let launch = &resolution.plan.launch;
    let mut line = launch.program.clone();
    for arg in &launch.args {
        line.push(' ');
        line.push_str(arg);
    }
    println!("launch: {line}");
    Ok(ExitStatus::Success)
}

/// One line per step: its kind and its fields.
fn describe(step: &Step) -> String {
    let mut fields = serde_json::to_value(step).unwrap_or_default();
    if let Some(map) = fields.as_object_mut() {
        map.remove("step");
    }
    format!("{} {}", step.kind(), fields)
}
