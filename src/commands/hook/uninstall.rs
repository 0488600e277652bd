//! `codexport hook uninstall`: take codexport's SessionStart hook out of the Codex home.

use codexport_core::ExitStatus;
use codexport_core::hooks;
use codexport_core::settings::LocalSettings;

use crate::cli::HookUninstallArgs;
use crate::printer::Printer;

/// Removes the hook and its trust entry; other hooks stay as they are.
pub(crate) fn run(_args: &HookUninstallArgs, printer: Printer) -> anyhow::Result<ExitStatus> {
    let homes = crate::commands::homes()?;
    let _lock = super::lock(&homes)?;
    let removed = hooks::uninstall(&homes)?;
    let mut settings = LocalSettings::load(&homes)?;
    if settings.hook.installed {
        settings.hook.installed = false;
        settings.save_hook(&homes)?;
    }
    match removed {
        0 => printer.status(format_args!(
            "codexport's hook was not installed; nothing to do"
        )),
        n => printer.status(format_args!(
            "removed codexport's SessionStart hook ({n} {}) and its trust entry",
            if n == 1 { "entry" } else { "entries" }
        )),
    }
    Ok(ExitStatus::Success)
}
