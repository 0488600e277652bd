//! The spec each built-in resolver writes on the master and reads on the follower.
//!
//! These are the stable, documented shapes inside `artifact.spec` of a manifest entry.
//! Master-side inference produces them; follower-side resolution consumes them.

use serde::{Deserialize, Serialize};

/// `npm`: an exact package version and the bin to run from it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NpmSpec {
    /// Package name (`@scope/name`).
    pub package: String,
    /// Exact version from the installed package.json (`2025.1.14`).
    pub version: String,
    /// The `bin` entry to run.
    pub bin: String,
    /// Server arguments that followed the program in the master's command (master paths kept
    /// as they were: the launcher rewrites them on the follower).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
}

/// `uv`: a uv tool requirement and the executable it provides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UvSpec {
    /// The package name.
    pub package: String,
    /// Exact version, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// What `uv tool install --from` takes (`pkg==1.2.3`, a VCS or archive URL).
    pub from: String,
    /// The executable to run.
    pub bin: String,
    /// Server arguments that followed the program in the master's command (master paths kept
    /// as they were: the launcher rewrites them on the follower).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
}

/// What kind of local project a source artifact is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    /// `node ENTRY` after `npm ci`/`npm install --omit=dev` when there are dependencies.
    Node,
    /// A Python project run through uv.
    Python,
    /// A crate built with `cargo build --release`.
    Cargo,
}

/// `source`: a local project tree packed into the object store.
///
/// The packed tree is one object: a gzip-compressed tar whose member paths are relative to
/// the project root (no leading `/`, no `..`), holding regular files (modes kept), directories
/// and symlinks that stay inside the tree. `copy-source` unpacks it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceSpec {
    /// Node, Python or Cargo.
    pub kind: SourceKind,
    /// Object hash of the packed tree (a tar of the project root).
    pub object: String,
    /// The project root on the master (for rewriting args that point inside it).
    pub root: String,
    /// Node: the entry script relative to the root. Python: the console script or module
    /// (`-m pkg`). Cargo: the binary name.
    pub entry: String,
    /// Arguments that followed the entry in the master's command (paths inside the root
    /// rewritten relative to it).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
}

/// `cargo`: a crate installed with `cargo install`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CargoSpec {
    /// Crate name.
    #[serde(rename = "crate")]
    pub crate_name: String,
    /// Exact version (registry installs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Git URL (git installs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git: Option<String>,
    /// Exact git revision (git installs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rev: Option<String>,
    /// The binary to run.
    pub bin: String,
    /// Server arguments that followed the program in the master's command (master paths kept
    /// as they were: the launcher rewrites them on the follower).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
}

/// `github-release`: a binary from a GitHub release, matched per platform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GithubReleaseSpec {
    /// `owner/name`.
    pub repo: String,
    /// Release tag; `None` means the latest release.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// Asset name template (`fff-mcp-{triple}`, `tool-{version}-{os}-{arch}.tar.gz`) or, when
    /// `None`, platform matching over all assets. Never the master's concrete asset name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asset: Option<String>,
    /// The executable's path inside the unpacked asset (or its file name for raw binaries).
    pub bin: String,
    /// Server arguments that followed the program in the master's command (master paths kept
    /// as they were: the launcher rewrites them on the follower).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
}

/// `url`: a streamable-HTTP server; nothing to hydrate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UrlSpec {
    /// The server URL as the master configured it.
    pub url: String,
}

/// `path`: a program the follower is expected to have on PATH (`docker`, `git`, ...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PathSpec {
    /// The program name looked up on the follower's PATH.
    pub program: String,
    /// Server arguments that followed the program in the master's command (master paths kept
    /// as they were: the launcher rewrites them on the follower).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
}
