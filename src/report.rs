//! Turns a failed command into one `error:` line, its causes, `hint:` lines and an exit status.

use std::io;

use codexport_core::{Diagnose, ExitStatus};

/// An error raised at the CLI edge that carries its own status and repair hints.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub(crate) struct CliError {
    /// Exit status.
    pub(crate) status: ExitStatus,
    /// The one-line message.
    pub(crate) message: String,
    /// Repair steps.
    pub(crate) hints: Vec<String>,
}

impl CliError {
    /// A new error with `status`, `message` and no hints.
    pub(crate) fn new(status: ExitStatus, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            hints: Vec::new(),
        }
    }

    /// Adds a repair hint.
    pub(crate) fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hints.push(hint.into());
        self
    }
}

impl Diagnose for CliError {
    fn exit_status(&self) -> ExitStatus {
        self.status
    }
    fn hints(&self) -> Vec<String> {
        self.hints.clone()
    }
}

/// The first error in the chain that knows its exit status.
fn diagnosis(err: &anyhow::Error) -> Option<&dyn Diagnose> {
    err.chain().find_map(|cause| -> Option<&dyn Diagnose> {
        if let Some(e) = cause.downcast_ref::<CliError>() {
            return Some(e);
        }
        if let Some(e) = cause.downcast_ref::<codexport_core::Error>() {
            return Some(e);
        }
        if let Some(e) = cause.downcast_ref::<codexport_resolvers::Error>() {
            return Some(e);
        }
        if let Some(e) = cause.downcast_ref::<codexport_launcher::Error>() {
            return Some(e);
        }
        None
    })
}

/// Whether the failure is stdout closing under us (`codexport mcp list | head`).
fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    })
}

/// Prints `err` to stderr and returns the exit status it maps to.
pub(crate) fn report(err: &anyhow::Error) -> ExitStatus {
    if is_broken_pipe(err) {
        return ExitStatus::Success;
    }
    eprintln!("error: {err}");
    for cause in err.chain().skip(1) {
        eprintln!("  caused by: {cause}");
    }
    match diagnosis(err) {
        Some(d) => {
            for hint in d.hints() {
                eprintln!("hint: {hint}");
            }
            d.exit_status()
        }
        None => ExitStatus::Unexpected,
    }
}
