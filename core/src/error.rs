//! The core crate's error type: one enum, each variant with its exit status and repair hints.

use std::path::PathBuf;

use crate::exit::{Diagnose, ExitStatus};

/// Errors of `codexport-core` that reach the user.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A `${NAME}` that neither codexport nor `[pathVariables]` defines.
    #[error(
        "unknown path variable `${{{name}}}`: set it in `{}` under `[pathVariables]`",
        local_toml.display()
    )]
    UnknownPathVariable {
        /// The variable's name.
        name: String,
        /// The follower's `local.toml`.
        local_toml: PathBuf,
    },
}

impl Diagnose for Error {
    fn exit_status(&self) -> ExitStatus {
        match self {
            Error::UnknownPathVariable { .. } => ExitStatus::InvalidInput,
        }
    }

    fn hints(&self) -> Vec<String> {
        match self {
            Error::UnknownPathVariable { name, local_toml } => vec![format!(
                "add `{name} = \"/path/on/this/machine\"` under `[pathVariables]` in `{}`",
                local_toml.display()
            )],
        }
    }
}
