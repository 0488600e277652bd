//! `codexport resolver test PLUGIN --entry NAME [--json]`: infer and plan with one plugin,
//! hydrating nothing.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use std::io::Write;

use codexport_core::ExitStatus;
use codexport_core::mcp::config::read_mcp_servers;
use codexport_core::mcp::manifest::Origin;
use codexport_core::store::ObjectStore;
use codexport_core::suggest::known_list;
use codexport_resolvers::wasm::{HostConfig, PluginHost};
use codexport_resolvers::{
    GithubConfig, InferContext, Mode, Platform, ResolveContext, Resolver, SourceLimits,
};

use crate::cli::ResolverTestArgs;
use crate::report::CliError;

/// Runs the plugin's `infer` on the entry, then its `resolve` for this platform, and prints
/// the spec and the plan.
pub(crate) fn run(args: &ResolverTestArgs) -> anyhow::Result<ExitStatus> {
    let homes = crate::commands::homes()?;
    let github = GithubConfig::from_env();
    let path = Path::new(&args.plugin);
    // A path tries a plugin before it is installed; a bare name is an installed plugin.
    let (host, name) = if args.plugin.ends_with(".wasm") || args.plugin.contains(['/', '\\']) {
        let mut config = HostConfig::new(&homes, github.clone());
        config.plugins = path.parent().unwrap_or(Path::new(".")).to_owned();
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        (Arc::new(PluginHost::new(config)), name.to_owned())
    } else {
        (super::host(&homes), args.plugin.clone())
    };
    let plugin = host.find(&name).ok_or_else(|| {
        let installed = host.lazy_resolvers();
        CliError::new(
            ExitStatus::Usage,
            format!(
                "no resolver plugin `{}` (installed: {})",
                args.plugin,
                known_list(&name, installed.iter().map(|r| r.name()))
            ),
        )
        .hint(format!(
            "pass the path of a built component, or copy it into `{}`",
            homes.resolvers().display()
        ))
    })?;
    let info = plugin.info()?;

    let config = crate::commands::mcp::read_codex_config(&homes)?;
    let entries = config
        .map(|doc| read_mcp_servers(&doc, Origin::Canonical).0)
        .unwrap_or_default();
    let entry = entries
        .iter()
        .find(|e| e.name == args.entry)
        .ok_or_else(|| {
            CliError::new(
                ExitStatus::Usage,
                format!(
                    "no MCP entry `{}` in `{}` (known: {})",
                    args.entry,
                    homes.codex_config().display(),
                    known_list(&args.entry, entries.iter().map(|e| e.name.as_str()))
                ),
            )
        })?;

    let env: BTreeMap<String, String> = std::env::vars().collect();
    let store = ObjectStore::new(homes.objects());
    let infer_cx = InferContext {
        homes: &homes,
        env: &env,
        store: &store,
        source_limits: SourceLimits::default(),
        include_secret_files: &BTreeMap::new(),
        notes: &Default::default(),
    };
    let spec = plugin.infer(&infer_cx, entry)?.ok_or_else(|| {
        CliError::new(
            ExitStatus::Hydration,
            format!(
                "plugin `{}` does not recognise MCP `{}` (its `infer` returned none)",
                info.name, entry.name
            ),
        )
        .hint("run with `-vv` to see the plugin's log lines")
    })?;
    let resolve_cx = ResolveContext {
        homes: homes.clone(),
        platform: Platform::detect(),
        mode: Mode::Online,
        github,
        store: store.clone(),
        artifacts: homes.mcp_artifacts(),
    };
    let resolution = plugin.resolve(&resolve_cx, entry, &spec)?;
    let mut out = std::io::stdout().lock();

    if args.json {
        let doc = serde_json::json!({
            "plugin": info,
            "entry": entry.name,
            "spec": spec,
            "version": resolution.version,
            "cache_key": resolution.cache_key,
            "steps": resolution.plan.steps,
            "launch": resolution.plan.launch,
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
        return Ok(ExitStatus::Success);
    }
    writeln!(
        out,
        "plugin: {} {} (contract {})",
        info.name, info.version, info.api
    )?;
    writeln!(out, "spec: {}", serde_json::to_string(&spec.spec)?)?;
    writeln!(out, "version: {}", resolution.version)?;
    writeln!(out, "steps:")?;
    for (i, step) in resolution.plan.steps.iter().enumerate() {
        let mut fields = serde_json::to_value(step)?;
        if let Some(map) = fields.as_object_mut() {
            map.remove("step");
        }
        writeln!(out, "  {}. {} {fields}", i + 1, step.kind())?;
    }
    let launch = &resolution.plan.launch;
    writeln!(out, "launch: {} {}", launch.program, launch.args.join(" "))?;
    Ok(ExitStatus::Success)
}
