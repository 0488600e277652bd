//! The exit codes every codexport command shares (the table in README and `--help`).

/// Process exit status of every codexport command and of the launcher.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ExitStatus {
    /// Done.
    Success = 0,
    /// Unexpected error: a bug, or the OS said no.
    Unexpected = 1,
    /// Usage: bad flags or arguments.
    Usage = 2,
    /// Trust refused: fingerprint or key mismatch, bad signature, hash mismatch, rollback.
    Trust = 3,
    /// Conflict: overlay name clash, drift that needs a decision.
    Conflict = 4,
    /// Master unreachable or timed out.
    Unreachable = 5,
    /// Busy: another sync/apply holds the lock.
    Busy = 6,
    /// Invalid input: malformed link, TOML, JSON, manifest, plugin.
    InvalidInput = 7,
    /// Hydration failed: resolver, download, build or missing tool.
    Hydration = 8,
}

impl ExitStatus {
    /// Every status with its one-line meaning, in code order (for README and `--help`).
    pub const TABLE: [(ExitStatus, &'static str); 9] = [
        (ExitStatus::Success, "done"),
        (
            ExitStatus::Unexpected,
            "unexpected error (a bug or the OS said no)",
        ),
        (ExitStatus::Usage, "usage: bad flags or arguments"),
        (
            ExitStatus::Trust,
            "trust refused: fingerprint or key mismatch, bad signature, hash mismatch, rollback",
        ),
        (
            ExitStatus::Conflict,
            "conflict: overlay name clash, drift that needs a decision",
        ),
        (ExitStatus::Unreachable, "master unreachable or timed out"),
        (ExitStatus::Busy, "busy: another sync/apply holds the lock"),
        (
            ExitStatus::InvalidInput,
            "invalid input: malformed link, TOML, JSON, manifest, plugin",
        ),
        (
            ExitStatus::Hydration,
            "hydration failed: resolver, download, build or missing tool",
        ),
    ];

    /// The numeric code handed to the OS.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The table as plain text, one `  N  meaning` line per code.
    pub fn help_table() -> String {
        let mut out = String::from("Exit codes:\n");
        for (status, meaning) in Self::TABLE {
            out.push_str(&format!("  {}  {meaning}\n", status.code()));
        }
        out
    }
}

impl From<ExitStatus> for std::process::ExitCode {
    fn from(status: ExitStatus) -> Self {
        std::process::ExitCode::from(status.code())
    }
}

/// An error that knows which exit status it maps to and how a user repairs it.
///
/// Every crate's error enum implements this, so the CLI edge can walk an error chain and
/// print one `error:` line, the causes, and `hint:` lines without knowing the crate.
pub trait Diagnose: std::error::Error {
    /// The exit status this error ends the process with.
    fn exit_status(&self) -> ExitStatus;
    /// Repair steps, each an exact command or setting, printed as `hint:` lines.
    fn hints(&self) -> Vec<String> {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_in_code_order_and_complete() {
        for (i, (status, _)) in ExitStatus::TABLE.iter().enumerate() {
            assert_eq!(status.code() as usize, i);
        }
    }
}
