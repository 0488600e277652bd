//! The launcher crate's one error type, with exit statuses and repair hints.

use std::path::PathBuf;

use codexport_core::{Diagnose, ExitStatus};

/// Everything `codexport-mcp-run` (and `mcp run`) can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Bad command-line arguments of `codexport-mcp-run`.
    #[error("{0}")]
    Usage(String),
    /// This machine has no manifest yet.
    #[error("no MCP manifest at `{}`: this machine has not synced from a master yet", .path.display())]
    ManifestMissing {
        /// Where it should be.
        path: PathBuf,
    },
    /// The manifest is not valid JSON of the expected shape.
    #[error("the MCP manifest `{}` is corrupt: {reason}", .path.display())]
    ManifestCorrupt {
        /// The file.
        path: PathBuf,
        /// What the parser said.
        reason: String,
    },
    /// The OS refused a file operation.
    #[error("cannot {action} `{}`", .path.display())]
    Io {
        /// What was being done (`read`, `write`, ...).
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// No entry with that name.
    #[error("no MCP named `{name}` in the manifest (known: {known})")]
    UnknownMcp {
        /// The name asked for.
        name: String,
        /// The names the manifest has, closest first.
        known: String,
    },
    /// The server could not be started.
    #[error("cannot start `{program}` for MCP `{entry}`")]
    Exec {
        /// The entry.
        entry: String,
        /// The program.
        program: String,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// The master could not infer an artifact for the entry (or routes it `direct`).
    #[error("MCP `{entry}` has no artifact: {reason}")]
    Unresolved {
        /// The entry.
        entry: String,
        /// The master's reason.
        reason: String,
        /// The master's repair step.
        hint: String,
    },
    /// The entry is a URL server: Codex connects to it, nothing runs locally.
    #[error("MCP `{entry}` is a streamable-HTTP server at `{url}`: there is nothing to launch")]
    NothingToRun {
        /// The entry.
        entry: String,
        /// Its URL.
        url: String,
    },
    /// The `codexport` binary that hydrates artifacts is not where the launcher looks.
    #[error("cannot hydrate MCP `{entry}`: the codexport binary `{}` is missing", .path.display())]
    CodexportMissing {
        /// The entry.
        entry: String,
        /// Where it was looked for.
        path: PathBuf,
        /// Whether the path came from `CODEXPORT_BINARY`.
        from_env: bool,
    },
    /// `codexport mcp hydrate NAME` failed; it has said why on stderr already.
    #[error("`codexport mcp hydrate {entry}` failed")]
    HydrateFailed {
        /// The entry.
        entry: String,
        /// Its exit code (`None`: killed by a signal).
        code: Option<i32>,
    },
    /// Path rewriting or settings failed.
    #[error(transparent)]
    Core(#[from] codexport_core::Error),
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
            Error::Usage(_) | Error::UnknownMcp { .. } => ExitStatus::Usage,
            Error::ManifestMissing { .. } | Error::ManifestCorrupt { .. } => {
                ExitStatus::InvalidInput
            }
            Error::Io { .. } => ExitStatus::Unexpected,
            Error::Unresolved { .. } | Error::Exec { .. } | Error::CodexportMissing { .. } => {
                ExitStatus::Hydration
            }
            Error::NothingToRun { .. } => ExitStatus::InvalidInput,
            Error::HydrateFailed { code, .. } => code
                .and_then(|code| {
                    ExitStatus::TABLE
                        .iter()
                        .find(|(s, _)| i32::from(s.code()) == code)
                })
                .map_or(ExitStatus::Hydration, |(status, _)| *status),
            Error::Core(e) => e.exit_status(),
        }
    }

    fn hints(&self) -> Vec<String> {
        match self {
            Error::Usage(_) => vec!["usage: codexport-mcp-run mcp run NAME".to_owned()],
            Error::ManifestMissing { .. } => vec![
                "join a master with `codexport follower join LINK`, then run `codexport sync`".to_owned(),
            ],
            Error::ManifestCorrupt { .. } => {
                vec!["run `codexport sync` to write it again".to_owned()]
            }
            Error::UnknownMcp { .. } => vec![
                "run `codexport mcp list` to see the synced MCPs, or `codexport sync` if it was added on the master".to_owned(),
            ],
            Error::Exec { entry, .. } => {
                vec![format!("run `codexport mcp hydrate {entry}` to hydrate it again")]
            }
            Error::Unresolved { hint, .. } => vec![hint.clone()],
            Error::NothingToRun { .. } => vec![
                "Codex connects to URL servers itself; remove the `command` routing for this entry or run `codexport apply`".to_owned(),
            ],
            Error::CodexportMissing { from_env: true, .. } => vec![format!(
                "point `{}` at the codexport executable, or unset it to use the one beside the launcher",
                codexport_core::env::CODEXPORT_BINARY,
            )],
            Error::CodexportMissing { .. } => vec![
                "run `codexport apply` (it installs `codexport` beside the launcher in `~/.codexport/bin`), or set `CODEXPORT_BINARY` to the codexport executable".to_owned(),
            ],
            Error::HydrateFailed { entry, .. } => {
                vec![format!("run `codexport mcp doctor {entry}` to see what it needs")]
            }
            Error::Core(e) => e.hints(),
            // The message names the file and the OS's reason; no one repair fits.
            Error::Io { .. } => Vec::new(),
        }
    }
}
