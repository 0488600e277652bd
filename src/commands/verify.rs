//! `codexport verify [--json]`: read-only check that this follower is exactly what the last
//! apply made it (files, `config.toml`, hooks as Codex itself sees them, MCP artifacts).

use std::io::Write;
use std::time::Duration;

use codexport_core::codex;
use codexport_core::follower::apply::ApplyOptions;
use codexport_core::hooks::{self, Trust, read_states};
use codexport_core::lock::Wait;
use codexport_core::mcp::manifest::{Artifact, Transport};
use codexport_core::settings::LocalSettings;
use codexport_core::status::status;
use codexport_core::{ExitStatus, Homes, follower};
use codexport_hydrate::doctor::{self, DoctorOptions};
use codexport_hydrate::hydrate::Hydrator;
use codexport_launcher::manifest;
use codexport_resolvers::Platform;
use codexport_resolvers::executor::Reporter;
use serde::Serialize;

use crate::cli::{GlobalArgs, VerifyArgs};

/// One thing that is not as the last apply left it.
#[derive(Debug, Clone, Serialize)]
struct Finding {
    /// `revision`, `files`, `config`, `plugins`, `hooks` or `mcp`.
    check: &'static str,
    /// The file, key, hook or MCP concerned.
    item: String,
    /// What is wrong.
    problem: String,
    /// The command that repairs it.
    repair: String,
}

/// Runs every check and prints what differs on stdout (a list, or JSON with `--json`); exits
/// 0 when nothing does, 4 otherwise. Writes nothing anywhere.
pub(crate) fn run(args: &VerifyArgs, global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
    let homes = super::homes()?;
    let mut findings = Vec::new();
    check_files(&homes, &mut findings)?;
    check_marketplaces(&homes, &mut findings);
    let hooks_by = check_hooks(&homes, args.timeout, &mut findings)?;
    check_mcps(&homes, args.timeout, &mut findings)?;

    let mut out = std::io::stdout().lock();
    if args.json {
        let doc = serde_json::json!({
            "ok": findings.is_empty(),
            "hooks_checked_by": hooks_by,
            "findings": findings,
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
    } else {
        for f in &findings {
            writeln!(out, "{}: {}: {}", f.check, f.item, f.problem)?;
            writeln!(out, "  repair: {}", f.repair)?;
        }
        if !global.quiet {
            eprintln!("hooks checked by {hooks_by}");
            match findings.len() {
                0 => eprintln!("verified: this follower is what the last apply made it"),
                n => eprintln!("{n} difference{} found", if n == 1 { "" } else { "s" }),
            }
        }
    }
    Ok(if findings.is_empty() {
        ExitStatus::Success
    } else {
        ExitStatus::Conflict
    })
}

/// Managed files and `config.toml` against what applying the applied revision again would
/// write (a dry run: no backup, no journal, no state).
fn check_files(homes: &Homes, findings: &mut Vec<Finding>) -> anyhow::Result<()> {
    let head = status(homes, None)?;
    let Some(applied) = &head.applied else {
        findings.push(Finding {
            check: "revision",
            item: "state.json".into(),
            problem: "nothing was applied on this machine yet".into(),
            repair: "codexport sync --apply".into(),
        });
        return Ok(());
    };
    if homes.journal().exists() {
        findings.push(Finding {
            check: "revision",
            item: homes.journal().display().to_string(),
            problem: "an interrupted apply left its journal".into(),
            repair: "codexport apply".into(),
        });
        return Ok(());
    }
    if let Some(staged) = head
        .staged
        .as_ref()
        .filter(|s| s.revision != applied.revision)
    {
        let seq = staged.seq;
        findings.push(Finding {
            check: "revision",
            item: format!("seq {seq}"),
            problem: format!(
                "a newer revision is staged but not applied (applied: seq {})",
                applied.seq
            ),
            repair: "codexport apply".into(),
        });
        return Ok(());
    }
    let report = follower::apply_staged(
        homes,
        Wait::For(Duration::from_secs(10)),
        ApplyOptions {
            dry_run: true,
            ..ApplyOptions::default()
        },
    )?;
    for path in &report.locally_edited {
        findings.push(Finding {
            check: "files",
            item: path.to_string(),
            problem: "edited on this machine since the last apply".into(),
            repair: "codexport apply (the edit goes to a backup)".into(),
        });
    }
    for path in &report.written {
        if report.locally_edited.contains(path) {
            continue;
        }
        let config = path.is_codex("config.toml");
        let problem = if report.added.contains(path) {
            "missing (the applied revision has it)".to_owned()
        } else if config {
            let keys = report.config_keys.join(", ");
            format!("differs from a fresh layering ({keys})")
        } else {
            "differs from the applied revision".to_owned()
        };
        findings.push(Finding {
            check: if config { "config" } else { "files" },
            item: path.to_string(),
            problem,
            repair: "codexport apply".into(),
        });
    }
    for path in &report.deleted {
        findings.push(Finding {
            check: "files",
            item: path.to_string(),
            problem: "the applied revision no longer has it, but it is still here".into(),
            repair: "codexport apply".into(),
        });
    }
    Ok(())
}

/// codexport's hook and every hook `config.toml` trusts: Codex must run them. Asks Codex's own
/// `hooks/list` when a `codex` is found, else predicts with codexport's hash recipe; returns
/// which one it used.
fn check_hooks(
    homes: &Homes,
    timeout: Duration,
    findings: &mut Vec<Finding>,
) -> anyhow::Result<String> {
    let ours = LocalSettings::load(homes)?.hook.installed;
    let recipe = hooks::status(homes)?;
    let our_key = recipe.ours().map(|h| h.key.clone());
    if ours && our_key.is_none() {
        findings.push(Finding {
            check: "hooks",
            item: "codexport hook".into(),
            problem: "installed by `codexport hook install` but gone from hooks.json".into(),
            repair: "codexport hook install".into(),
        });
    }
    let config = homes.codex.join("config.toml");
    let trusted: Vec<String> = match std::fs::read_to_string(&config) {
        Ok(text) => match text.parse::<toml_edit::DocumentMut>() {
            Ok(doc) => read_states(&doc)
                .into_iter()
                .filter(|(_, s)| s.trusted_hash.is_some())
                .map(|(k, _)| k)
                .collect(),
            Err(_) => Vec::new(),
        },
        Err(_) => Vec::new(),
    };
    let repair = |key: &str| {
        if Some(key) == our_key.as_deref() {
            "codexport hook install".to_owned()
        } else {
            "codexport apply (trust follows the master's)".to_owned()
        }
    };
    let asked = codex::find_codex().map(|bin| (codex::hooks_list(&bin, homes, timeout), bin));
    match asked {
        Some((Ok(listed), bin)) => {
            // A trusted plugin hook Codex does not list: the plugin is not installed here yet.
            for key in trusted.iter().filter(|k| plugin_of(k).is_some()) {
                if !listed.iter().any(|h| &h.key == key) {
                    let plugin = plugin_of(key).unwrap_or_default();
                    findings.push(Finding {
                        check: "plugins",
                        item: plugin.to_owned(),
                        problem: format!(
                            "config.toml trusts its hook `{key}`, but Codex has not installed the plugin here"
                        ),
                        repair: format!("codex plugin add {plugin} (or open Codex once)"),
                    });
                }
            }
            for hook in listed {
                let meant = trusted.contains(&hook.key) || Some(&hook.key) == our_key.as_ref();
                if meant && !hook.runs() {
                    let status = if hook.enabled {
                        hook.trust_status.clone()
                    } else {
                        "disabled".to_owned()
                    };
                    findings.push(Finding {
                        check: "hooks",
                        item: hook.key.clone(),
                        problem: format!("trusted in config.toml, but Codex reports it {status}"),
                        repair: repair(&hook.key),
                    });
                }
            }
            Ok(format!(
                "Codex itself (`{} app-server` hooks/list)",
                bin.display()
            ))
        }
        other => {
            for hook in &recipe.hooks {
                let meant = trusted.contains(&hook.key) || hook.ours;
                if meant && (hook.trust != Trust::Trusted || hook.disabled) {
                    let status = match (hook.disabled, hook.trust) {
                        (true, _) => "disabled",
                        (_, Trust::Modified) => "modified",
                        _ => "untrusted",
                    };
                    findings.push(Finding {
                        check: "hooks",
                        item: hook.key.clone(),
                        problem: format!("trusted in config.toml, but its hash says {status}"),
                        repair: repair(&hook.key),
                    });
                }
            }
            Ok(match other {
                Some((Err(why), _)) => format!("codexport's hash recipe ({why})"),
                _ => "codexport's hash recipe (no `codex` on PATH; set `CODEXPORT_CODEX`)".into(),
            })
        }
    }
}

/// The plugin (`hello@local-mkt`) a `[hooks.state]` key belongs to, when it is a plugin's.
fn plugin_of(key: &str) -> Option<&str> {
    let (plugin, _) = key.split_once(':')?;
    (!plugin.is_empty() && plugin.contains('@') && !plugin.contains(['/', '\\'])).then_some(plugin)
}

/// Every local marketplace `config.toml` names exists on this machine (Codex builds its plugin
/// cache from it; the master's `[marketplaces]` arrive with paths mapped, the folder does not).
fn check_marketplaces(homes: &Homes, findings: &mut Vec<Finding>) {
    let Ok(text) = std::fs::read_to_string(homes.codex.join("config.toml")) else {
        return;
    };
    let Ok(doc) = text.parse::<toml_edit::DocumentMut>() else {
        return;
    };
    let Some(marketplaces) = doc.get("marketplaces").and_then(|m| m.as_table_like()) else {
        return;
    };
    for (name, item) in marketplaces.iter() {
        let local = item.get("source_type").and_then(|v| v.as_str()) == Some("local");
        let Some(source) = item.get("source").and_then(|v| v.as_str()) else {
            continue;
        };
        if local && !std::path::Path::new(source).is_dir() {
            findings.push(Finding {
                check: "plugins",
                item: format!("marketplace {name}"),
                problem: format!("its local source `{source}` does not exist on this machine"),
                repair: format!(
                    "put a checkout of the marketplace at `{source}`, or `codex plugin marketplace remove {name}`"
                ),
            });
        }
    }
}

/// Every MCP of the manifest that codexport launches: its plan resolves here and its
/// artifact is hydrated (no server is started).
fn check_mcps(homes: &Homes, timeout: Duration, findings: &mut Vec<Finding>) -> anyhow::Result<()> {
    if !homes.mcp_manifest().exists() {
        return Ok(());
    }
    let manifest = manifest::load(homes)?;
    let hydrator = Hydrator::new(homes, Platform::detect(), Reporter::hidden());
    let options = DoctorOptions {
        start: false,
        timeout,
    };
    for entry in &manifest.entries {
        if entry.transport == Transport::Http || matches!(entry.artifact, Artifact::Direct) {
            continue;
        }
        let report = doctor::check(homes, &hydrator, entry, options);
        let problem = match (&report.problem, report.hydrated) {
            (Some(problem), _) => problem.clone(),
            (None, Some(false)) => "not hydrated".to_owned(),
            (None, _) => continue,
        };
        findings.push(Finding {
            check: "mcp",
            item: entry.name.clone(),
            problem,
            repair: report
                .repair
                .first()
                .cloned()
                .unwrap_or_else(|| format!("codexport mcp hydrate {}", entry.name)),
        });
    }
    Ok(())
}
