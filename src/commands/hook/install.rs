//! `codexport hook install`: put codexport's SessionStart hook into the Codex home, trusted.

use codexport_core::ExitStatus;
use codexport_core::hooks::{self, HookSettings, OurHook};

use crate::cli::HookInstallArgs;

/// Installs (or refreshes) the hook, trusts it in `config.toml`, and records it in
/// `local.toml` so every apply puts it back.
pub(crate) fn run(args: &HookInstallArgs) -> anyhow::Result<ExitStatus> {
    let homes = crate::commands::homes()?;
    let exe = super::current_exe()?;
    let _lock = super::lock(&homes)?;
    let mut settings = HookSettings::load(&homes.local_toml())?;
    if let Some(budget) = args.budget {
        settings.budget = Some(budget);
    }
    let ours = OurHook::for_homes(&exe, settings.budget(), &homes);
    let done = hooks::install(&homes, &ours)?;
    settings.installed = true;
    settings.save(&homes.local_toml())?;

    for key in &done.dropped_root_keys {
        eprintln!(
            "warning: dropped root key `{key}` from `{}` (Codex ignores a hooks file that has one)",
            done.hooks_json.display()
        );
    }
    eprintln!(
        "{} codexport's SessionStart hook in `{}`, trusted in `{}`",
        if done.replaced {
            "refreshed"
        } else {
            "installed"
        },
        done.hooks_json.display(),
        homes.codex.join("config.toml").display()
    );
    eprintln!("  runs: {}", ours.command);
    eprintln!(
        "  budget: {} ms; log: `{}`",
        settings.budget().as_millis(),
        homes.logs().join("hook.log").display()
    );
    if !homes.state().exists() {
        eprintln!(
            "note: this machine has not joined a master yet; the hook does nothing until `codexport follower join LINK`"
        );
    }
    Ok(ExitStatus::Success)
}
