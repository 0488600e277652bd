//! Plain Rust values a plugin reads and returns: entries, specs, platforms, plans, errors.

use std::collections::BTreeMap;
use std::fmt;

pub use codexport_assets::{ArchiveKind, Libc};
use codexport_assets::{AssetName, NoMatch, Target};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// How Codex talks to the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// A child process on stdin/stdout (`command`).
    Stdio,
    /// Streamable HTTP (`url`).
    Http,
}

/// One `[mcp_servers.NAME]` entry as the master configured it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The table's key.
    pub name: String,
    /// stdio or http.
    pub transport: Transport,
    /// The command, with the master's paths.
    pub command: Option<String>,
    /// Its arguments.
    pub args: Vec<String>,
    /// Names of the entry's environment variables (values are secrets and withheld).
    pub env_names: Vec<String>,
    /// Working directory.
    pub cwd: Option<String>,
    /// The URL of an http server.
    pub url: Option<String>,
}

impl Entry {
    /// The file name of the command (`fff-mcp` for `/home/a/.local/bin/fff-mcp`), without a
    /// Windows `.exe`.
    pub fn command_name(&self) -> Option<&str> {
        let command = self.command.as_deref()?;
        let name = command.rsplit(['/', '\\']).next().unwrap_or(command);
        Some(name.strip_suffix(".exe").unwrap_or(name))
    }
}

/// What the master knows about an entry beyond its config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    /// The command looked up on the master's PATH, symlinks followed, when it is a file.
    pub command_path: Option<String>,
    /// The master user's home.
    pub home: String,
    /// The master's Codex home.
    pub codex_home: String,
    /// `linux`, `macos` or `windows`.
    pub os: String,
}

/// A plugin's own spec: JSON the plugin writes in `infer` and reads back in `resolve`.
///
/// Keep it portable: record what identifies the artifact (a repo and tag, a crate and rev),
/// never a path or asset name that only fits the master.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec(String);

impl Spec {
    /// A spec holding `value` as JSON.
    pub fn new<T: Serialize>(value: &T) -> Self {
        // Serialising plain data structs cannot fail; a map with non-string keys would, and is
        // a plugin bug worth a trap.
        Self(serde_json::to_string(value).expect("spec serialises to JSON"))
    }

    /// The spec as JSON text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Reads the spec as `T`; a spec of another shape is [`ResolveError::NotApplicable`].
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, ResolveError> {
        serde_json::from_str(&self.0)
            .map_err(|e| ResolveError::NotApplicable(format!("spec does not fit: {e}")))
    }
}

impl From<String> for Spec {
    fn from(json: String) -> Self {
        Self(json)
    }
}

impl From<Spec> for String {
    fn from(spec: Spec) -> Self {
        spec.0
    }
}

/// Where the artifact will run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    /// `linux`, `macos` or `windows`.
    pub os: String,
    /// `x86_64` or `aarch64` (Rust's names).
    pub arch: String,
    /// Linux only.
    pub libc: Option<Libc>,
    /// Rust target triples this host runs, best first (gnu before musl on glibc hosts).
    pub triples: Vec<String>,
}

impl Platform {
    /// The platform as the asset rules see it (for [`expand_template`](crate::expand_template)
    /// and the [`assets`](crate::assets) functions).
    pub fn target(&self) -> Target<'_> {
        Target {
            os: &self.os,
            arch: &self.arch,
            libc: self.libc,
            triples: &self.triples,
        }
    }
}

/// Whether resolution may use the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Registries and release APIs may be asked.
    Online,
    /// Only what the host has cached.
    Offline,
}

/// One hydration step. Paths are relative to the artifact directory; the host refuses any that
/// would leave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Fetch `url`, verify `sha256` when given, unpack into `dest`.
    Download {
        /// Where from.
        url: String,
        /// Lowercase hex SHA-256.
        sha256: Option<String>,
        /// How to unpack.
        archive: ArchiveKind,
        /// Leading components dropped from archive members.
        strip: u32,
        /// A file for `raw`, a directory otherwise.
        dest: String,
    },
    /// `npm install` of an exact `name@version`.
    NpmInstall {
        /// `name@version`.
        spec: String,
    },
    /// `uv tool install --from FROM PACKAGE`.
    UvTool {
        /// The requirement.
        from: String,
        /// The package uv installs.
        package: String,
        /// Extra requirements in the same environment (`--with`).
        with: Vec<String>,
    },
    /// `cargo install --locked` from the registry (`version`) or git (`git` + `rev`).
    CargoInstall {
        /// Crate name.
        crate_name: String,
        /// Exact version (registry).
        version: Option<String>,
        /// Repository URL (git).
        git: Option<String>,
        /// Exact revision (git).
        rev: Option<String>,
        /// The binary to install.
        bin: String,
    },
    /// Unpack a packed source tree from the object store into `dest`.
    CopySource {
        /// Object hash.
        object: String,
        /// Destination.
        dest: String,
    },
    /// A build step.
    Run {
        /// Program on PATH or a path inside the artifact directory.
        program: String,
        /// Arguments (`${artifact}` expands).
        args: Vec<String>,
        /// Working directory inside the artifact directory.
        cwd: Option<String>,
    },
    /// `chmod +x` a file inside the artifact directory.
    MakeExecutable {
        /// The file.
        path: String,
    },
}

/// The server command once every step succeeded; `${artifact}` expands to the artifact dir.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Launch {
    /// `${artifact}/bin/x`, or a program on PATH.
    pub program: String,
    /// Arguments.
    pub args: Vec<String>,
    /// Extra environment over the entry's own.
    pub env: BTreeMap<String, String>,
    /// Working directory.
    pub cwd: Option<String>,
}

impl Launch {
    /// Runs `program` with no arguments.
    pub fn program(program: impl Into<String>) -> Self {
        Self {
            program: program.into(),
            ..Self::default()
        }
    }

    /// Adds arguments.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }
}

/// What a plugin settled on for one entry on one platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolution {
    /// The exact version hydrated (`1.2.3`, a git rev).
    pub version: String,
    /// Distinguishes this plugin's artifacts (the host adds the platform).
    pub cache_key: String,
    /// Run in order.
    pub steps: Vec<Step>,
    /// The server command.
    pub launch: Launch,
}

/// Why `resolve` gave no plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResolveError {
    /// The spec is not one this plugin understands.
    NotApplicable(String),
    /// A service said to slow down; seconds to wait, when known.
    RateLimited(Option<u64>),
    /// A request failed.
    Network(String),
    /// No release asset fits the platform; the candidates considered.
    NoMatchingAsset(Vec<String>),
    /// A digest is missing or does not match.
    Integrity(String),
    /// Anything else.
    Other(String),
}

impl fmt::Display for ResolveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotApplicable(why) => write!(f, "not applicable: {why}"),
            Self::RateLimited(Some(secs)) => write!(f, "rate limited (retry in {secs} s)"),
            Self::RateLimited(None) => f.write_str("rate limited"),
            Self::Network(why) => write!(f, "network: {why}"),
            Self::NoMatchingAsset(names) => {
                write!(f, "no asset fits (candidates: {})", names.join(", "))
            }
            Self::Integrity(why) => write!(f, "integrity: {why}"),
            Self::Other(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for ResolveError {}

impl From<NoMatch> for ResolveError {
    /// The names a template stood for, then the candidates.
    fn from(none: NoMatch) -> Self {
        let mut names = none.wanted;
        names.extend(none.candidates);
        Self::NoMatchingAsset(names)
    }
}

impl From<FetchError> for ResolveError {
    fn from(err: FetchError) -> Self {
        match err {
            FetchError::NotFound => Self::Other("not found".to_owned()),
            FetchError::RateLimited(secs) => Self::RateLimited(secs),
            FetchError::Network(why) => Self::Network(why),
            FetchError::Offline => Self::Network("offline".to_owned()),
        }
    }
}

/// One asset of a GitHub release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseAsset {
    /// File name.
    pub name: String,
    /// Download URL.
    pub url: String,
    /// Lowercase hex SHA-256, when GitHub or the release's checksum files give one.
    pub sha256: Option<String>,
}

impl AssetName for ReleaseAsset {
    fn asset_name(&self) -> &str {
        &self.name
    }
}

/// A GitHub release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    /// Its tag.
    pub tag: String,
    /// Its assets.
    pub assets: Vec<ReleaseAsset>,
}

/// Why a host fetch failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchError {
    /// No such release, package or crate.
    NotFound,
    /// Seconds to wait, when the service said.
    RateLimited(Option<u64>),
    /// The request failed.
    Network(String),
    /// The host runs offline.
    Offline,
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        ResolveError::from(self.clone()).fmt(f)
    }
}

impl std::error::Error for FetchError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_name_drops_directories_and_exe() {
        let mut entry = Entry {
            name: "fff".into(),
            transport: Transport::Stdio,
            command: Some("/home/a/.local/bin/fff-mcp".into()),
            args: vec![],
            env_names: vec![],
            cwd: None,
            url: None,
        };
        assert_eq!(entry.command_name(), Some("fff-mcp"));
        entry.command = Some(r"C:\tools\fff-mcp.exe".into());
        assert_eq!(entry.command_name(), Some("fff-mcp"));
    }

    #[test]
    fn spec_round_trips_and_refuses_other_shapes() {
        #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
        struct S {
            repo: String,
        }
        let spec = Spec::new(&S { repo: "a/b".into() });
        assert_eq!(spec.parse::<S>().unwrap(), S { repo: "a/b".into() });
        assert!(matches!(
            Spec::from("[]".to_owned()).parse::<S>(),
            Err(ResolveError::NotApplicable(_))
        ));
    }
}
