//! Where the executor's messages and progress bars go: stderr only, and only to a terminal.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Status lines and progress bars on stderr; hidden unless stderr is a terminal. Warnings are
/// always shown (they say something the user must know, such as a fallback artifact).
#[derive(Debug, Clone, Copy)]
pub struct Reporter {
    show: bool,
}

impl Reporter {
    /// Shows progress when stderr is a terminal and `quiet` is off.
    pub fn stderr(quiet: bool) -> Self {
        Self {
            show: !quiet && std::io::stderr().is_terminal(),
        }
    }

    /// Never shows progress or status (warnings still go to stderr).
    pub fn hidden() -> Self {
        Self { show: false }
    }

    /// A status line.
    pub fn status(&self, message: &str) {
        if self.show {
            eprintln!("{message}");
        }
    }

    /// A warning, always printed.
    pub fn warn(&self, message: &str) {
        eprintln!("warning: {message}");
    }

    /// A spinner for a step of unknown length.
    pub fn spinner(&self, message: String) -> ProgressBar {
        if !self.show {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.set_message(message);
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    }

    /// A byte counter for a download of `len` bytes (when known).
    pub fn bytes(&self, len: Option<u64>, message: String) -> ProgressBar {
        if !self.show {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::with_draw_target(len, ProgressDrawTarget::stderr());
        let template = if len.is_some() {
            "{msg} [{bar:30}] {bytes}/{total_bytes}"
        } else {
            "{spinner} {msg} {bytes}"
        };
        bar.set_style(
            ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.set_message(message);
        bar
    }
}
