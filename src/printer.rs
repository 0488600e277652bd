//! What a command tells the person running it on stderr, and what `-q`/`--quiet` silences.
//!
//! stdout carries only what was asked for (a link, a fingerprint, a list) and is written by the
//! command itself; everything else goes through here. Under `--quiet` status lines are dropped;
//! warnings stay, as they ask the reader to act.

use std::fmt::Display;

/// Passed to every command; copy it freely.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Printer {
    quiet: bool,
}

impl Printer {
    /// A printer for `--quiet` (or not).
    pub(crate) fn new(quiet: bool) -> Self {
        Self { quiet }
    }

    /// A status or progress line (what was done, notes): stderr, nothing under `--quiet`.
    pub(crate) fn status(self, line: impl Display) {
        if !self.quiet {
            eprintln!("{line}");
        }
    }

    /// A warning the reader should act on: stderr, shown even under `--quiet`.
    pub(crate) fn warn(self, line: impl Display) {
        eprintln!("warning: {line}");
    }
}
