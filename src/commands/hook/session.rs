//! `codexport sync --apply --hook`: what Codex runs at every session start. A bounded, silent
//! sync: it never waits for a lock another session holds, gives up after its budget, prints
//! nothing (Codex feeds a SessionStart hook's stdout to the model), logs one line per run to
//! `~/.codexport/logs/hook.log`, and exits 0 whatever happened.

use std::io::Write;
use std::path::Path;
use std::sync::mpsc;
use std::time::Instant;

use codexport_core::follower::{self, SyncOptions, SyncOutcome};
use codexport_core::lock::Wait;
use codexport_core::settings::{DEFAULT_BUDGET, LocalSettings};
use codexport_core::{ExitStatus, Homes};

use crate::cli::SyncArgs;

/// The log is cut over to `hook.log.1` past this size, so it never grows without bound.
const LOG_LIMIT: u64 = 1024 * 1024;

/// Runs the hook's sync and logs its outcome; always succeeds.
pub(crate) fn run(args: &SyncArgs) -> anyhow::Result<ExitStatus> {
    let Ok(homes) = Homes::from_env() else {
        return Ok(ExitStatus::Success); // no home: nowhere to sync to, nowhere to log
    };
    let start = Instant::now();
    // The budget bounds the sync, so it is read before it (the sync reads `local.toml` again
    // under the lock, where a concurrent `hook uninstall` cannot change it any more).
    let settings = LocalSettings::load(&homes);
    let budget = args
        .budget
        .or_else(|| settings.as_ref().ok().and_then(|s| s.hook.budget))
        .unwrap_or(DEFAULT_BUDGET);
    let line = match settings {
        Err(e) => format!("skipped: {e}"),
        Ok(_) => {
            let options = SyncOptions {
                timeout: budget,
                apply: args.apply,
                lock_wait: Wait::No,
                dry_run: false,
            };
            let manifest_before = super::super::mcp::manifest_snapshot(&homes);
            let (tx, rx) = mpsc::channel();
            let worker_homes = homes.clone();
            // The sync runs on its own thread so the budget holds even if it stalls; when the
            // budget runs out the process ends with it (an apply in flight is journaled and
            // finishes at the next run).
            std::thread::spawn(move || {
                let _ = tx.send(follower::sync(&worker_homes, options));
            });
            match rx.recv_timeout(budget) {
                Ok(Ok(outcome)) => {
                    let mut line = describe(&outcome);
                    if outcome.applied.is_some() {
                        // Servers get ready in a detached job; the hook stays within budget.
                        for note in
                            super::super::mcp::after_apply(&homes, manifest_before.as_deref())
                        {
                            line.push_str("; ");
                            line.push_str(&note);
                        }
                    }
                    line
                }
                Ok(Err(codexport_core::Error::Busy(_))) => {
                    "skipped: another sync or apply holds the lock".to_owned()
                }
                // `{:#}` prints the error and its causes on one line.
                Ok(Err(e)) => format!("failed: {:#}", anyhow::Error::new(e)),
                Err(_) => format!("gave up: the {} ms budget ran out", budget.as_millis()),
            }
        }
    };
    log(
        &homes.hook_log(),
        &format!(
            "{} {line} ({} ms)",
            codexport_core::clock::now_rfc3339(),
            start.elapsed().as_millis()
        ),
    );
    Ok(ExitStatus::Success)
}

/// One line for a finished sync.
fn describe(outcome: &SyncOutcome) -> String {
    let Some((seq, _)) = &outcome.staged else {
        return "nothing staged".to_owned();
    };
    match (&outcome.applied, outcome.new_revision) {
        (Some(report), _) => format!(
            "applied seq {seq}: {} written, {} deleted, {} unchanged, {} objects fetched",
            report.written.len(),
            report.deleted.len(),
            report.unchanged,
            outcome.fetched_objects
        ),
        (None, true) => format!("staged seq {seq}"),
        (None, false) => format!("up to date at seq {seq}"),
    }
}

/// Appends `line` to the log; a log that cannot be written is not worth failing a session.
fn log(path: &Path, line: &str) {
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    if std::fs::metadata(path).is_ok_and(|m| m.len() > LOG_LIMIT) {
        let _ = std::fs::rename(path, path.with_extension("log.1"));
    }
    if let Ok(mut file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        let _ = writeln!(file, "{line}");
    }
}
