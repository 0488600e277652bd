//! The resolvers crate's one error type, with exit statuses and repair hints.

use std::path::{Path, PathBuf};

use codexport_core::{Diagnose, ExitStatus};

/// Everything inference, resolution and hydration can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The manifest names a resolver nobody registered.
    #[error(
        "MCP `{entry}` needs resolver `{resolver}`, which is not installed here (known: {known})"
    )]
    UnknownResolver {
        /// The entry.
        entry: String,
        /// The resolver it names.
        resolver: String,
        /// Registered resolvers, comma-separated.
        known: String,
    },
    /// Master-side inference recognised the entry but cannot describe it portably.
    #[error("MCP `{entry}`: {reason}")]
    Inference {
        /// The entry.
        entry: String,
        /// What is wrong (names the file or setting).
        reason: String,
        /// The repair step.
        hint: String,
    },
    /// A spec that does not have the resolver's shape.
    #[error("MCP `{entry}`: invalid `{resolver}` spec: {reason}")]
    BadSpec {
        /// The entry.
        entry: String,
        /// The resolver.
        resolver: String,
        /// What is wrong.
        reason: String,
    },
    /// A tool a plan needs (npm, uv, cargo, node) is not installed.
    #[error("`{tool}` is not installed or not on PATH (needed by MCP `{entry}`)")]
    ToolMissing {
        /// The entry.
        entry: String,
        /// The missing program.
        tool: String,
        /// How to install it.
        install: String,
    },
    /// Bytes that do not match their expected digest.
    #[error("checksum mismatch for `{what}`: expected sha256 `{expected}`, got `{actual}`")]
    Integrity {
        /// What was checked (a URL or file).
        what: String,
        /// The published digest.
        expected: String,
        /// What the bytes hash to.
        actual: String,
    },
    /// No release asset fits this platform.
    #[error("no release asset of `{repo}` fits {platform} (candidates: {candidates})")]
    NoMatchingAsset {
        /// `owner/name`.
        repo: String,
        /// The platform, as `os/arch[/libc]`.
        platform: String,
        /// The asset names considered.
        candidates: String,
    },
    /// An archive member or plan path that would land outside the artifact dir.
    #[error("`{path}` would escape the artifact directory")]
    PathEscape {
        /// The offending path.
        path: String,
    },
    /// An archive past a cap (size, expansion ratio, entries) or with a member that is not
    /// a file, directory or link of its own.
    #[error("archive `{archive}` is refused: {reason}")]
    ArchiveRefused {
        /// The archive (its URL or packed object).
        archive: String,
        /// What is wrong, naming the cap or the member.
        reason: String,
    },
    /// A network request failed.
    #[error("network request to `{url}` failed: {reason}")]
    Network {
        /// The URL.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// A remote service said to slow down.
    #[error("`{url}` is rate limited")]
    RateLimited {
        /// The URL.
        url: String,
        /// Seconds to wait, when the service said.
        retry_after: Option<u64>,
    },
    /// A hydration step exited non-zero.
    #[error("step `{step}` of MCP `{entry}` failed ({status}); last output:\n{tail}")]
    StepFailed {
        /// The entry.
        entry: String,
        /// The step's description (`npm install ...`).
        step: String,
        /// Exit status text.
        status: String,
        /// The last lines of its output.
        tail: String,
        /// The full log (boxed: a `PathBuf` is 32 bytes on Windows, which would put this error
        /// at clippy's 128-byte limit for `Err` there).
        log: Box<Path>,
    },
    /// A wasm plugin misbehaved (trap, deadline, memory, bad plan).
    #[error("resolver plugin `{plugin}`: {reason}")]
    Plugin {
        /// The plugin's name (or file name).
        plugin: String,
        /// What happened.
        reason: String,
    },
    /// The entry is a URL server: Codex connects to it, nothing runs locally.
    #[error("MCP `{entry}` is a streamable-HTTP server at `{url}`: there is nothing to launch")]
    NothingToRun {
        /// The entry.
        entry: String,
        /// Its URL.
        url: String,
    },
    /// The artifact was unpacked but holds no file where the plan expects the program.
    #[error("MCP `{entry}`: the artifact has no `{path}` to run")]
    MissingProgram {
        /// The MCP entry.
        entry: String,
        /// The expected path, relative to the artifact directory.
        path: String,
        /// Some files the artifact does hold (relative paths, a few at most).
        found: Vec<String>,
    },
    /// A download that no published checksum covers.
    #[error("no checksum is published for `{what}`, so it cannot be verified")]
    Unverifiable {
        /// The asset.
        what: String,
    },
    /// A file operation failed.
    #[error("cannot {action} `{}`", .path.display())]
    Io {
        /// What was being done (`read`, `create`, ...).
        action: &'static str,
        /// The path.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// An `Io` error for `path`.
    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            action,
            path: path.into(),
            source,
        }
    }
}

impl Diagnose for Error {
    fn exit_status(&self) -> ExitStatus {
        match self {
            Error::UnknownResolver { .. }
            | Error::BadSpec { .. }
            | Error::Plugin { .. }
            | Error::Inference { .. }
            | Error::NothingToRun { .. } => ExitStatus::InvalidInput,
            Error::Integrity { .. } => ExitStatus::Trust,
            Error::Io { .. } => ExitStatus::Unexpected,
            Error::ToolMissing { .. }
            | Error::NoMatchingAsset { .. }
            | Error::PathEscape { .. }
            | Error::ArchiveRefused { .. }
            | Error::Network { .. }
            | Error::RateLimited { .. }
            | Error::StepFailed { .. }
            | Error::MissingProgram { .. }
            | Error::Unverifiable { .. } => ExitStatus::Hydration,
        }
    }

    fn hints(&self) -> Vec<String> {
        match self {
            Error::UnknownResolver { resolver, .. } => vec![format!(
                "install the `{resolver}` plugin on the master (`~/.codexport/resolvers/{resolver}.wasm`) and sync, or upgrade codexport"
            )],
            Error::Inference { hint, .. } => vec![hint.clone()],
            Error::ToolMissing { install, .. } => vec![install.clone()],
            Error::StepFailed { log, .. } => vec![format!("full log: {}", log.display())],
            Error::NothingToRun { .. } => vec![
                "Codex connects to URL servers itself; remove the `command` routing for this entry or run `codexport apply`".to_owned(),
            ],
            Error::Unverifiable { .. } => vec![
                "ask the publisher for a `.sha256` or `checksums.txt` asset, or pin `sha256` in the `[mcp.NAME]` hint of `master.toml`".to_owned(),
            ],
            Error::NoMatchingAsset { .. } => vec![
                "set an explicit `asset` template for this MCP in the master's `master.toml` (`[mcp.NAME]`)".to_owned(),
            ],
            Error::PathEscape { .. } | Error::ArchiveRefused { .. } => vec![
                "the artifact is malformed or malicious; report it to its publisher".to_owned(),
            ],
            Error::MissingProgram { found, .. } => {
                let mut hints = vec![
                    "set `bin` in this MCP's `[mcp.NAME]` hint of the master's `master.toml` to the program's path inside the archive".to_owned(),
                ];
                if !found.is_empty() {
                    hints.push(format!("the artifact holds: {}", found.join(", ")));
                }
                hints
            }
            Error::RateLimited { .. } => {
                vec!["set `GITHUB_TOKEN` (or `GH_TOKEN`) to raise the rate limit".to_owned()]
            }
            // The message says it all (a value, a URL, the plugin's own words) or no one
            // repair fits.
            Error::BadSpec { .. }
            | Error::Integrity { .. }
            | Error::Network { .. }
            | Error::Plugin { .. }
            | Error::Io { .. } => Vec::new(),
        }
    }
}
