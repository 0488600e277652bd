//! `codexport hook install`: put codexport's SessionStart hook into the Codex home, trusted.

use codexport_core::hooks::{self, Installed, OurHook};
use codexport_core::settings::LocalSettings;
use codexport_core::{ExitStatus, Homes, codex};

use crate::cli::HookInstallArgs;
use crate::printer::Printer;

/// Installs (or refreshes) the hook, trusts it in `config.toml`, and records it in
/// `local.toml` so every apply puts it back.
pub(crate) fn run(args: &HookInstallArgs, printer: Printer) -> anyhow::Result<ExitStatus> {
    let homes = crate::commands::homes()?;
    let exe = super::installed_exe(&homes)?;
    let _lock = super::lock(&homes)?;
    let mut settings = LocalSettings::load(&homes)?;
    if let Some(budget) = args.budget {
        settings.hook.budget = Some(budget);
    }
    let ours = OurHook::for_homes(&exe, settings.hook.budget(), &homes);
    let done = hooks::install(&homes, &ours)?;
    trust_what_codex_hashes(&homes, &done)?;
    settings.hook.installed = true;
    settings.save_hook(&homes)?;

    for key in &done.dropped_root_keys {
        printer.warn(format_args!(
            "dropped root key `{key}` from `{}` (Codex ignores a hooks file that has one)",
            done.hooks_json.display()
        ));
    }
    printer.status(format_args!(
        "{} codexport's SessionStart hook in `{}`, trusted in `{}`",
        if done.replaced {
            "refreshed"
        } else {
            "installed"
        },
        done.hooks_json.display(),
        homes.codex_config().display()
    ));
    let runs = if cfg!(windows) {
        &ours.command_windows
    } else {
        &ours.command
    };
    printer.status(format_args!("  runs: {runs}"));
    printer.status(format_args!(
        "  budget: {} ms; log: `{}`",
        settings.hook.budget().as_millis(),
        homes.hook_log().display()
    ));
    if !homes.state().exists() {
        printer.status(format_args!(
            "note: this machine has not joined a master yet; the hook does nothing until `codexport follower join LINK`"
        ));
    }
    Ok(ExitStatus::Success)
}

/// When a `codex` is found and its own `hooks/list` hashes our hook differently from
/// codexport's recipe (a Codex that changed it), trusts Codex's hash and says so.
fn trust_what_codex_hashes(homes: &Homes, done: &Installed) -> anyhow::Result<()> {
    let Some(bin) = codex::find_codex() else {
        return Ok(());
    };
    let listed = match codex::hooks_list(&bin, homes, codex::DEFAULT_TIMEOUT) {
        Ok(listed) => listed,
        Err(why) => {
            tracing::info!("not checked against Codex: {why}");
            return Ok(());
        }
    };
    let Some(ours) = listed.iter().find(|h| h.key == done.trust_key) else {
        return Ok(());
    };
    let codex_hash = ours.definition_hash();
    if codex_hash != done.trusted_hash {
        hooks::retrust(homes, &done.trust_key, codex_hash)?;
        eprintln!(
            "note: `{}` hashes codexport's hook as `{codex_hash}`, codexport's recipe as `{}`: trusted Codex's hash",
            bin.display(),
            done.trusted_hash
        );
    }
    Ok(())
}
