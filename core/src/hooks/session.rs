//! What codexport's SessionStart hook does: a bounded sync that never waits, one log line.
//!
//! Codex runs the hook at every session start and feeds its stdout to the model, so the run
//! prints nothing: it never waits for a lock another session holds, gives up after its budget,
//! appends one line to `~/.codexport/logs/hook.log` (rotated past [`LOG_LIMIT`]) and leaves
//! the exit status to the caller (always success).

use std::io::Write;
use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::Homes;
use crate::clock::now_rfc3339;
use crate::error::{Error, one_line};
use crate::exit::Diagnose;
use crate::follower::{self, LocalGate, SyncOptions, SyncOutcome};
use crate::lock::Wait;
use crate::settings::{DEFAULT_BUDGET, LocalSettings};

/// The log is cut over to `hook.log.1` past this size, so it never grows without bound.
pub const LOG_LIMIT: u64 = 1024 * 1024;

/// How one hook run goes.
#[derive(Debug, Clone, Copy, Default)]
pub struct SessionOptions {
    /// `--budget`: wins over `[hook] budget` of `local.toml`, which wins over [`DEFAULT_BUDGET`].
    pub budget: Option<Duration>,
    /// Apply what was staged.
    pub apply: bool,
}

/// Runs the hook's sync within its budget and logs its outcome; returns the logged line.
/// `after_apply` runs once a revision was applied (it installs the launcher and starts the
/// hydration, which live above this crate) and returns notes for the line.
pub fn session_start(
    homes: &Homes,
    options: SessionOptions,
    after_apply: impl FnOnce() -> Vec<String>,
) -> String {
    let start = Instant::now();
    // The budget bounds the sync, so it is read before it (the sync reads `local.toml` again
    // under the lock, where a concurrent `hook uninstall` cannot change it any more).
    let settings = LocalSettings::load(homes);
    let budget = options
        .budget
        .or_else(|| settings.as_ref().ok().and_then(|s| s.hook.budget))
        .unwrap_or(DEFAULT_BUDGET);
    let line = match settings {
        Err(e) => format!("skipped: {e}"),
        Ok(_) => sync_within(homes, budget, options.apply, after_apply),
    };
    let line = format!(
        "{} {line} ({} ms)",
        now_rfc3339(),
        start.elapsed().as_millis()
    );
    append(&homes.hook_log(), &line);
    line
}

/// The sync, on its own thread so the budget holds even if the network stalls. The budget
/// bounds the network only: when it runs out during a local step (replaying a journal,
/// staging, applying), that step finishes first, so the session never starts on a
/// half-applied home; no local step starts after it ran out.
fn sync_within(
    homes: &Homes,
    budget: Duration,
    apply: bool,
    after_apply: impl FnOnce() -> Vec<String>,
) -> String {
    let options = SyncOptions {
        timeout: budget,
        apply,
        lock_wait: Wait::No,
        ..SyncOptions::default()
    };
    let (tx, rx) = mpsc::channel();
    let worker_homes = homes.clone();
    let gate = std::sync::Arc::new(LocalGate::default());
    let worker_gate = gate.clone();
    std::thread::spawn(move || {
        let _ = tx.send(follower::sync_gated(&worker_homes, options, &worker_gate));
    });
    let result = match rx.recv_timeout(budget) {
        Ok(result) => Ok(result),
        Err(_) => {
            let finished_local = gate.abandon();
            // A local step that was waited for is the sync's last one: its outcome follows.
            match rx.recv_timeout(Duration::from_millis(if finished_local { 500 } else { 0 })) {
                Ok(result) => Ok(result),
                Err(_) => Err(finished_local),
            }
        }
    };
    match result {
        Ok(Ok(outcome)) => {
            let mut line = describe(&outcome);
            if outcome.applied.is_some() {
                for note in after_apply() {
                    line.push_str("; ");
                    line.push_str(&note);
                }
            }
            line
        }
        Ok(Err(Error::Busy(_))) => "skipped: another sync or apply holds the lock".to_owned(),
        Ok(Err(e)) => {
            let mut line = format!("failed: {}", one_line(&e));
            // These stay until the user acts: the log says how.
            let hints = match e {
                Error::JournalBroken { .. } | Error::MassDelete { .. } => e.hints(),
                _ => Vec::new(),
            };
            for hint in hints {
                line.push_str("; hint: ");
                line.push_str(&hint);
            }
            line
        }
        Err(finished_local) => format!(
            "gave up: the {} ms budget ran out{}",
            budget.as_millis(),
            if finished_local {
                " (the local step it had started was finished first)"
            } else {
                ""
            }
        ),
    }
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

/// Appends `line` to the log, control characters escaped (a value from the master cannot
/// forge a second line); a log that cannot be written is not worth failing a session.
fn append(path: &Path, line: &str) {
    let line = crate::report::escape_controls(line);
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

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    #[test]
    fn causes_join_on_one_line() {
        let e = Error::io(
            "read",
            PathBuf::from("/x/y"),
            std::io::Error::other("disk on fire"),
        );
        let line = one_line(&e);
        assert!(line.ends_with(": disk on fire"), "{line}");
        assert!(!line.contains('\n'), "{line}");
    }

    #[test]
    fn a_logged_line_stays_one_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("logs/hook.log");
        append(&path, "failed: `x\napplied seq 999`\u{1b}[31m");
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "failed: `x\\napplied seq 999`\\u{1b}[31m\n"
        );
    }

    #[test]
    fn log_rotates_past_its_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("logs/hook.log");
        append(&path, "first");
        std::fs::write(&path, vec![b'x'; LOG_LIMIT as usize + 1]).unwrap();
        append(&path, "second");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "second\n");
        assert_eq!(
            std::fs::metadata(path.with_extension("log.1"))
                .unwrap()
                .len(),
            LOG_LIMIT + 1
        );
    }
}
