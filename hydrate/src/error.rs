//! The hydration crate's one error type: the launcher's errors and the resolvers'.

use codexport_core::{Diagnose, ExitStatus};

/// Everything `mcp hydrate`, `mcp plan` and `mcp doctor` can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The manifest, the entry or its spec (what the launcher checks too).
    #[error(transparent)]
    Launch(#[from] codexport_launcher::Error),
    /// Resolution or hydration failed.
    #[error(transparent)]
    Resolve(#[from] codexport_resolvers::Error),
}

impl Diagnose for Error {
    fn exit_status(&self) -> ExitStatus {
        match self {
            Error::Launch(e) => e.exit_status(),
            Error::Resolve(e) => e.exit_status(),
        }
    }

    fn hints(&self) -> Vec<String> {
        match self {
            Error::Launch(e) => e.hints(),
            Error::Resolve(e) => e.hints(),
        }
    }
}
