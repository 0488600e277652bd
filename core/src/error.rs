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
    /// The OS refused a file operation.
    #[error("cannot {action} `{}`", .path.display())]
    Io {
        /// What was being done (`read`, `write`, `create`, ...).
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// A layer file that is not valid TOML.
    #[error("`{}:{line}:{column}` is not valid TOML: {message}", .path.display())]
    InvalidToml {
        /// The file (or the revision's `config.toml`).
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The parser's message.
        message: String,
    },
    /// A JSON file that does not parse.
    #[error("`{}` is not valid JSON", .path.display())]
    InvalidJson {
        /// The file.
        path: PathBuf,
        /// Line, column and what was expected.
        #[source]
        source: serde_json::Error,
    },
    /// A Codex `hooks.json` that parses but that Codex would refuse.
    #[error("`{}` is not a Codex hooks file: {reason}", .path.display())]
    InvalidHooks {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A layer file that parses but holds something layering cannot use.
    #[error("`{}` is invalid: {reason}", .path.display())]
    InvalidLayer {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A follower layer names a canonical MCP or skill without the setting that allows it.
    #[error(
        "{kind} `{name}` from `{}` clashes with the master's {kind} of the same name, and `{setting}` is not set in `{}`",
        layer.display(),
        local_toml.display()
    )]
    OverlayClash {
        /// `MCP` or `skill`.
        kind: &'static str,
        /// The clashing name.
        name: String,
        /// The local file or folder.
        layer: PathBuf,
        /// The `local.toml` setting that allows it.
        setting: &'static str,
        /// The follower's `local.toml`.
        local_toml: PathBuf,
    },
    /// `codexport restore NAME` with no such backup, or no backup at all.
    #[error("{}", match name { Some(n) => format!("no backup called `{n}`"), None => "there are no backups yet".to_owned() })]
    NoBackup {
        /// The name asked for.
        name: Option<String>,
        /// The newest backup names.
        known: Vec<String>,
    },
    /// A committed apply journal is waiting to be replayed.
    #[error("an interrupted apply must be finished first (journal `{}`)", .0.display())]
    JournalPending(PathBuf),
}

impl Error {
    /// An `Io` error for `path`.
    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            action,
            path: path.into(),
            source,
        }
    }
}

impl Diagnose for Error {
    fn exit_status(&self) -> ExitStatus {
        match self {
            Error::UnknownPathVariable { .. }
            | Error::InvalidToml { .. }
            | Error::InvalidLayer { .. }
            | Error::InvalidJson { .. }
            | Error::InvalidHooks { .. } => ExitStatus::InvalidInput,
            Error::OverlayClash { .. } => ExitStatus::Conflict,
            Error::NoBackup { .. } => ExitStatus::Usage,
            Error::Io { .. } | Error::JournalPending(_) => ExitStatus::Unexpected,
        }
    }

    fn hints(&self) -> Vec<String> {
        match self {
            Error::UnknownPathVariable { name, local_toml } => vec![format!(
                "add `{name} = \"/path/on/this/machine\"` under `[pathVariables]` in `{}`",
                local_toml.display()
            )],
            Error::InvalidToml { path, line, .. } => {
                vec![format!("fix line {line} of `{}`", path.display())]
            }
            Error::OverlayClash {
                kind,
                name,
                layer,
                setting,
                local_toml,
            } => vec![format!(
                "rename or remove `{}`, or set `{setting} = true` in `{}` to let it replace the master's {kind} `{name}`",
                layer.display(),
                local_toml.display()
            )],
            Error::NoBackup { known, .. } if known.is_empty() => Vec::new(),
            Error::NoBackup { known, .. } => vec![format!(
                "newest backups: {} (all: `codexport backups`)",
                known.join(", ")
            )],
            Error::JournalPending(_) => vec!["run `codexport apply` to finish it".to_owned()],
            Error::InvalidJson { path, .. } | Error::InvalidHooks { path, .. } => vec![format!(
                "fix or move away `{}`, then run the command again",
                path.display()
            )],
            Error::Io { .. } | Error::InvalidLayer { .. } => Vec::new(),
        }
    }
}
