//! `codexport hook status`: whether Codex will run codexport's hook, and every hook beside it.

use std::io::Write;

use codexport_core::ExitStatus;
use codexport_core::hooks::{self, Trust};
use codexport_core::settings::LocalSettings;
use serde_json::json;

use crate::cli::HookStatusArgs;

/// Prints the hook's state (a table, or JSON with `--json`) to stdout.
pub(crate) fn run(args: &HookStatusArgs) -> anyhow::Result<ExitStatus> {
    let homes = crate::commands::homes()?;
    let status = hooks::status(&homes)?;
    let settings = LocalSettings::load(&homes)?.hook;
    let mut out = std::io::stdout().lock();
    if args.json {
        let doc = json!({
            "installed": status.ours().is_some(),
            "runs": status.runs(),
            "recorded": settings.installed,
            "budget_ms": settings.budget().as_millis() as u64,
            "hooks_json": status.hooks_json,
            "log": homes.hook_log(),
            "hooks": status.hooks,
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
        return Ok(ExitStatus::Success);
    }
    let verdict = match status.ours() {
        None => "not installed (`codexport hook install` installs it)".to_owned(),
        Some(h) if h.disabled => {
            "installed but switched off in Codex (`enabled = false`)".to_owned()
        }
        Some(h) => match h.trust {
            Trust::Trusted => "installed and trusted: runs at every session start".to_owned(),
            Trust::Untrusted | Trust::Modified => {
                "installed but NOT trusted: Codex skips it (`codexport hook install` repairs it)"
                    .to_owned()
            }
        },
    };
    writeln!(out, "codexport hook: {verdict}")?;
    writeln!(out, "  budget: {} ms", settings.budget().as_millis())?;
    writeln!(out, "  log:    {}", homes.hook_log().display())?;
    writeln!(out, "hooks in {}:", status.hooks_json.display())?;
    if status.hooks.is_empty() {
        writeln!(out, "  (none)")?;
    }
    for h in &status.hooks {
        let trust = match (h.trust, h.disabled) {
            (_, true) => "disabled",
            (Trust::Trusted, _) => "trusted",
            (Trust::Untrusted, _) => "untrusted",
            (Trust::Modified, _) => "modified",
        };
        writeln!(
            out,
            "  {:<14} {:<16} {:<10} {}{}",
            h.event,
            h.matcher.as_deref().unwrap_or("*"),
            trust,
            h.command.as_deref().unwrap_or("-"),
            if h.ours { "  (codexport)" } else { "" }
        )?;
    }
    Ok(ExitStatus::Success)
}
