//! The CLI's errors: [`CliError`], and finding which error of a chain diagnoses the failure.

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
        if let Some(e) = cause.downcast_ref::<codexport_core::NoHomeDir>() {
            return Some(e);
        }
        if let Some(e) = cause.downcast_ref::<codexport_resolvers::Error>() {
            return Some(e);
        }
        if let Some(e) = cause.downcast_ref::<codexport_launcher::Error>() {
            return Some(e);
        }
        if let Some(e) = cause.downcast_ref::<codexport_hydrate::Error>() {
            return Some(e);
        }
        None
    })
}

/// Prints `err` with the one renderer every codexport binary uses; returns its exit status.
pub(crate) fn report(err: &anyhow::Error) -> ExitStatus {
    codexport_core::report(err.as_ref(), diagnosis(err))
}
