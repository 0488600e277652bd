//! `codexport sync --apply --hook`: what Codex runs at every session start. The policy (never
//! wait, a budget, one log line, silence) is `codexport_core::hooks::session_start`; this adds
//! the launcher install and background hydration after an apply, and always exits 0.

use codexport_core::hooks::{self, SessionOptions};
use codexport_core::{ExitStatus, Homes};

use crate::cli::SyncArgs;

/// Runs the hook's sync and logs its outcome; always succeeds.
pub(crate) fn run(args: &SyncArgs) -> anyhow::Result<ExitStatus> {
    let Ok(homes) = Homes::from_env() else {
        return Ok(ExitStatus::Success); // no home: nowhere to sync to, nowhere to log
    };
    let manifest_before = super::super::mcp::manifest_snapshot(&homes);
    let options = SessionOptions {
        budget: args.budget,
        apply: args.apply,
    };
    hooks::session_start(&homes, options, || {
        // Servers get ready in a detached job; the hook stays within budget.
        super::super::mcp::after_apply(&homes, manifest_before.as_deref())
            .iter()
            .map(ToString::to_string)
            .collect()
    });
    Ok(ExitStatus::Success)
}
