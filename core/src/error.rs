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
    /// A TOML file that does not parse, or holds a value of the wrong type.
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
        /// Whose file it is (the repair differs).
        owner: crate::settings::TomlOwner,
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
        "{kind} `{name}` from `{}` clashes with the master's {kind} of the same name, and `{setting}` in `{}` does not allow it",
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
    /// A folder apply must write into does not take new files.
    #[error("cannot write into `{}`: nothing was changed", .path.display())]
    NotWritable {
        /// The folder.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// A committed apply journal is waiting to be replayed.
    #[error("an interrupted apply must be finished first (journal `{}`)", .0.display())]
    JournalPending(PathBuf),
    /// A committed apply journal that cannot be replayed (unreadable, or an operation fails).
    #[error("the unfinished apply in `{}` cannot be finished: {reason}", .dir.display())]
    JournalBroken {
        /// The journal directory.
        dir: PathBuf,
        /// Why (the failing operation and its causes, on one line).
        reason: String,
    },
    /// A revision that would delete more than half of the files applies made (and more than
    /// [`crate::follower::apply::MASS_DELETE_MIN`]): staged, not applied without a yes.
    #[error(
        "the staged revision would delete {count} of the {managed} files the master manages here; nothing was applied"
    )]
    MassDelete {
        /// Files it deletes.
        count: usize,
        /// Files the last apply manages.
        managed: usize,
    },
    /// A join link that cannot be parsed.
    #[error("malformed join link: {0}")]
    BadLink(String),
    /// A join link of a version this build does not speak.
    #[error("join link version `{0}` is not supported (this codexport speaks versions 1 and 2)")]
    LinkVersion(String),
    /// `/v1/meta` announced another key than the link's fingerprint.
    #[error("the master at `{url}` has fingerprint `{actual}`, not `{expected}`")]
    FingerprintMismatch {
        /// The master URL.
        url: String,
        /// The fingerprint the user gave.
        expected: String,
        /// The fingerprint the master announced.
        actual: String,
    },
    /// The master signs with another key than the pinned one.
    #[error("the master's key changed: pinned `{pinned}`, the master now presents `{actual}`")]
    KeyChanged {
        /// The pinned fingerprint.
        pinned: String,
        /// The fingerprint the master now presents.
        actual: String,
    },
    /// The revision's signature does not verify with the pinned key.
    #[error("the revision's signature does not verify with the pinned key `{0}`")]
    BadSignature(String),
    /// Bytes that do not hash to the name they came under.
    #[error("object `{expected}` arrived with bytes that hash to `{actual}`")]
    HashMismatch {
        /// The name it was sent under.
        expected: String,
        /// What the bytes hash to.
        actual: String,
    },
    /// A revision names a path that could land outside its root.
    #[error("the revision lists an unsafe path `{path}`: {reason}")]
    UnsafePath {
        /// The path as listed.
        path: String,
        /// Why it is refused.
        reason: String,
    },
    /// A folder of a file the revision writes is a symlink on this machine.
    #[error(
        "`{file}` would be written through the symlink `{}` on this machine",
        .link.display()
    )]
    LinkInTheWay {
        /// The file (`root:path`).
        file: String,
        /// The link in the way.
        link: PathBuf,
    },
    /// A revision that is signed but does not hold together (an object name that is not a
    /// hash, a content hash that does not match).
    #[error("the revision is invalid: {0}")]
    InvalidRevision(String),
    /// A revision older than the one already applied or staged.
    #[error("the master offers seq {offered}, older than seq {known} already applied (rollback)")]
    Rollback {
        /// The highest seq this follower has.
        known: u64,
        /// The seq the master offered.
        offered: u64,
    },
    /// The master could not be reached.
    #[error("cannot reach the master at `{url}`: {reason}")]
    Unreachable {
        /// The master URL.
        url: String,
        /// What failed.
        reason: String,
    },
    /// The master did not answer in time.
    #[error("the master at `{url}` did not answer within {seconds:.1}s")]
    Timeout {
        /// The master URL.
        url: String,
        /// The limit.
        seconds: f64,
    },
    /// The master refused this peer's address.
    #[error("the master at `{url}` refused this machine's address (not in its allow list)")]
    PeerRefused {
        /// The master URL.
        url: String,
    },
    /// The master refused the token.
    #[error("the master at `{url}` refused this follower's token (missing or revoked)")]
    TokenRefused {
        /// The master URL.
        url: String,
    },
    /// The master refused an invite link's token: expired, or single-use and used.
    #[error("the master at `{url}` refused this join link: {reason}")]
    InviteRefused {
        /// The master URL.
        url: String,
        /// `it expired` or `it was already used to join`.
        reason: String,
    },
    /// The TLS connection did not prove the pinned key (another key, not TLS at all, a
    /// handshake that does not verify).
    #[error("the master at `{url}` did not prove it holds the pinned key: {reason}")]
    TlsRefused {
        /// The master URL.
        url: String,
        /// What the handshake showed.
        reason: String,
    },
    /// The master's TLS certificate or configuration could not be made.
    #[error("TLS: {0}")]
    Tls(String),
    /// The master answered something the protocol does not allow.
    #[error("the master at `{url}` sent an invalid answer: {reason}")]
    Protocol {
        /// The master URL.
        url: String,
        /// What was wrong.
        reason: String,
    },
    /// A file codexport owns holds something it cannot read.
    #[error("`{}` is corrupt: {reason}", .path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
        /// The repair.
        hint: String,
    },
    /// A command that needs a role this machine does not have.
    #[error("{0}")]
    WrongRole(String, String),
    /// `local.toml` is the original Node codexport's (`role`, `masterUrl`, `masterFingerprint`):
    /// its fingerprint scheme cannot verify an Ed25519 master key, so this follower joins again.
    #[error(
        "`{}` was written by the original codexport: its master fingerprint cannot verify this master's signed revisions",
        .path.display()
    )]
    OriginalToolSettings {
        /// The follower's `local.toml`.
        path: PathBuf,
    },
    /// Another process holds the lock.
    #[error("another codexport sync or apply is running (`{}` is locked)", .0.display())]
    Busy(PathBuf),
    /// A follower name that `master followers` does not list.
    #[error("no follower called `{name}` (known: {known})")]
    UnknownFollower {
        /// The name given.
        name: String,
        /// The known names.
        known: String,
    },
    /// A bad argument value.
    #[error("{0}")]
    Usage(String),
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

impl From<crate::store::BadObjectName> for Error {
    fn from(e: crate::store::BadObjectName) -> Self {
        Self::InvalidRevision(e.to_string())
    }
}

impl From<crate::lock::LockError> for Error {
    fn from(e: crate::lock::LockError) -> Self {
        match e {
            crate::lock::LockError::Busy(path) => Self::Busy(path),
            crate::lock::LockError::Io { path, source } => Self::io("lock", path, source),
        }
    }
}

/// An error and its causes on one line (`a: b: c`), for logs that keep one line per event.
pub(crate) fn one_line(e: &dyn std::error::Error) -> String {
    let mut line = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        line.push_str(": ");
        line.push_str(&cause.to_string());
        source = cause.source();
    }
    line
}

/// A `Result` with the core's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Diagnose for Error {
    fn exit_status(&self) -> ExitStatus {
        match self {
            Error::UnknownPathVariable { .. }
            | Error::InvalidToml { .. }
            | Error::InvalidLayer { .. }
            | Error::InvalidJson { .. }
            | Error::InvalidHooks { .. } => ExitStatus::InvalidInput,
            Error::OverlayClash { .. } | Error::MassDelete { .. } | Error::LinkInTheWay { .. } => {
                ExitStatus::Conflict
            }
            Error::NoBackup { .. } => ExitStatus::Usage,
            Error::Io { .. }
            | Error::JournalPending(_)
            | Error::JournalBroken { .. }
            | Error::NotWritable { .. }
            | Error::Tls(_) => ExitStatus::Unexpected,
            Self::BadLink(_)
            | Self::LinkVersion(_)
            | Self::UnsafePath { .. }
            | Self::InvalidRevision(_)
            | Self::Protocol { .. }
            | Self::Corrupt { .. } => ExitStatus::InvalidInput,
            Self::FingerprintMismatch { .. }
            | Self::KeyChanged { .. }
            | Self::BadSignature(_)
            | Self::HashMismatch { .. }
            | Self::Rollback { .. }
            | Self::PeerRefused { .. }
            | Self::TokenRefused { .. }
            | Self::InviteRefused { .. }
            | Self::TlsRefused { .. } => ExitStatus::Trust,
            Self::Unreachable { .. } | Self::Timeout { .. } => ExitStatus::Unreachable,
            Self::Busy(_) => ExitStatus::Busy,
            Self::WrongRole(..)
            | Self::OriginalToolSettings { .. }
            | Self::UnknownFollower { .. }
            | Self::Usage(_) => ExitStatus::Usage,
        }
    }

    fn hints(&self) -> Vec<String> {
        let hint = match self {
            Error::UnknownPathVariable { name, local_toml } => format!(
                "add `{name} = \"/path/on/this/machine\"` under `[pathVariables]` in `{}`",
                local_toml.display()
            ),
            Error::InvalidToml {
                path, line, owner, ..
            } => match owner {
                crate::settings::TomlOwner::Codexport => {
                    format!("fix line {line} of `{}`", path.display())
                }
                crate::settings::TomlOwner::Codex => format!(
                    "fix line {line} of `{}` (Codex refuses it too; deleting it would lose your Codex settings)",
                    path.display()
                ),
            },
            Error::OverlayClash {
                kind,
                name,
                layer,
                setting,
                local_toml,
            } => format!(
                "rename or remove `{}`, or set `{setting} = [\"{name}\"]` (or `true` for every name) in `{}` to let it replace the master's {kind} `{name}`",
                layer.display(),
                local_toml.display()
            ),
            Error::NoBackup { known, .. } if known.is_empty() => return Vec::new(),
            Error::NoBackup { known, .. } => format!(
                "newest backups: {} (all: `codexport backups`)",
                known.join(", ")
            ),
            Error::JournalPending(_) => "run `codexport apply` to finish it".to_owned(),
            Error::JournalBroken { .. } => {
                return vec![
                    "run `codexport apply --discard-journal`: it drops the unfinished apply and applies the staged revision afresh (a backup keeps what it replaces)".to_owned(),
                    "or `codexport sync --apply --discard-journal`, which also fetches again an object found corrupt".to_owned(),
                ];
            }
            Error::MassDelete { .. } => {
                "check the master; if the deletion is meant, run `codexport sync --apply --allow-mass-delete` (or `codexport apply --allow-mass-delete`)".to_owned()
            }
            Error::LinkInTheWay { link, .. } => format!(
                "codexport never writes through a link: move `{}` away (the master syncs a folder there), then run `codexport apply`",
                link.display()
            ),
            Error::NotWritable { path, .. } => format!(
                "make `{}` writable for this user (`chmod u+w`), or point `CODEX_HOME` at a folder you own",
                path.display()
            ),
            Error::InvalidJson { path, .. } | Error::InvalidHooks { path, .. } => format!(
                "fix or move away `{}`, then run the command again",
                path.display()
            ),
            // The message names the file and what the OS or the value said; no one repair fits.
            Error::Io { .. } | Error::InvalidLayer { .. } | Error::Usage(_) | Error::Tls(_) => {
                return Vec::new();
            }
            Self::BadLink(_) => {
                "copy the whole link printed by `codexport master link` on the master (quote it in the shell)".to_owned()
            }
            Self::LinkVersion(_) => {
                "upgrade codexport on this machine, or make a link with this machine's version on the master".to_owned()
            }
            Self::FingerprintMismatch { .. } => {
                "check the host and port, then make a fresh link with `codexport master link` on the master".to_owned()
            }
            Self::KeyChanged { .. } => {
                "if the master was reinstalled on purpose, run `codexport follower trust-reset --yes`, then join again".to_owned()
            }
            Self::BadSignature(_)
            | Self::HashMismatch { .. }
            | Self::UnsafePath { .. }
            | Self::InvalidRevision(_) => {
                "nothing was applied; check the master (`codexport master rebuild`) and the network path to it".to_owned()
            }
            Self::Rollback { .. } => {
                "if the master was restored on purpose, run `codexport follower trust-reset --yes`, then join again".to_owned()
            }
            Self::Unreachable { .. } | Self::Timeout { .. } => {
                "check that `codexport master serve` runs on the master and that this machine can reach it; `codexport status` shows the URL".to_owned()
            }
            Self::PeerRefused { .. } => {
                "add this machine's address to `allow` in the master's `~/.codexport/master.toml` (a running `codexport master serve` reads it again at once; one started with `--no-watch`, at its next start)".to_owned()
            }
            Self::TokenRefused { .. } => {
                "make a new link with `codexport master link --name NAME` on the master, then `codexport follower join LINK`".to_owned()
            }
            Self::InviteRefused { .. } => {
                "ask for a new link: `codexport master link --name NAME` on the master".to_owned()
            }
            Self::TlsRefused { .. } => {
                return vec![
                    "nothing was written; if the master was set up again on purpose (a new key), run `codexport follower trust-reset --yes`, then join with a new link".to_owned(),
                    "otherwise something else answers at that address (a proxy, another service, or a master run with `--plain-http`: join it with a link from `codexport master link --plain-http`)".to_owned(),
                ];
            }
            Self::Protocol { .. } => {
                "make sure master and follower run the same codexport version".to_owned()
            }
            Self::Corrupt { hint, .. } | Self::WrongRole(_, hint) => hint.clone(),
            Self::OriginalToolSettings { .. } => {
                "run `codexport master link` on the master and `codexport follower join LINK` here; the join keeps `pathVariables` and the override settings of that file".to_owned()
            }
            Self::Busy(_) => {
                "wait for the other codexport process to finish, then run the command again".to_owned()
            }
            Self::UnknownFollower { .. } => "list them with `codexport master followers`".to_owned(),
        };
        vec![hint]
    }
}
