//! The spec each built-in resolver writes on the master and reads on the follower.
//!
//! These are the stable, documented shapes inside `artifact.spec` of a manifest entry.
//! Master-side inference produces them; follower-side resolution consumes them.

use codexport_core::mcp::manifest::ArtifactSpec;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::Error;

/// A built-in resolver's typed spec, and the resolver name it belongs to.
pub trait BuiltinSpec: Serialize + DeserializeOwned {
    /// The resolver that writes and reads this spec (`npm`, `uv`, ...).
    const RESOLVER: &'static str;

    /// Wraps the spec into a manifest artifact that needs `objects` from the store.
    fn to_artifact(&self, objects: Vec<String>) -> ArtifactSpec {
        ArtifactSpec {
            resolver: Self::RESOLVER.to_owned(),
            spec: serde_json::to_value(self).expect("specs serialise to JSON"),
            objects,
        }
    }

    /// Reads the spec of `entry` back from its artifact; a shape mismatch is
    /// [`Error::BadSpec`].
    fn from_artifact(entry: &str, artifact: &ArtifactSpec) -> Result<Self, Error> {
        serde_json::from_value(artifact.spec.clone()).map_err(|e| Error::BadSpec {
            entry: entry.to_owned(),
            resolver: artifact.resolver.clone(),
            reason: e.to_string(),
        })
    }
}

/// `npm`: an exact package version and the bin to run from it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NpmSpec {
    /// Package name (`@scope/name`).
    pub package: String,
    /// Exact version from the installed package.json (`2025.1.14`). `latest` only when the
    /// master ran `npx pkg` with no version and had none installed (inference warns then).
    pub version: String,
    /// The `bin` entry to run (`node_modules/.bin/<bin>`).
    pub bin: String,
    /// A file inside the package, relative to its root, to run with `node` instead of `bin`:
    /// set when the master ran a package file that no `bin` entry names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub script: Option<String>,
    /// Server arguments that followed the program in the master's command (master paths kept
    /// as they were: the launcher rewrites them on the follower).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
}

impl BuiltinSpec for NpmSpec {
    const RESOLVER: &'static str = "npm";
}

/// `uv`: a uv tool requirement and the executable it provides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UvSpec {
    /// The package name.
    pub package: String,
    /// Exact version, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// What `uv tool install --from` takes (`pkg==1.2.3`, `git+URL@REV`, an archive URL);
    /// just the package name when the master ran `uvx pkg` unpinned.
    pub from: String,
    /// Extra requirements installed with it (`uvx --with X`, `uv tool install --with X`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub with: Vec<String>,
    /// The executable in the tool's `bin/` to run (`mcp-server-time`, or `python` with
    /// `args` starting `-m module`).
    pub bin: String,
    /// Server arguments that followed the program in the master's command (master paths kept
    /// as they were: the launcher rewrites them on the follower).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
}

impl BuiltinSpec for UvSpec {
    const RESOLVER: &'static str = "uv";
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
    /// Node: the entry script relative to the root (`dist/index.js`). Python: a script
    /// relative to the root (`server.py`), a module (`-m pkg`), or a console-script name of
    /// the project. Cargo: the binary name.
    pub entry: String,
    /// Arguments that followed the entry in the master's command (paths inside the root
    /// rewritten relative to it).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
}

impl BuiltinSpec for SourceSpec {
    const RESOLVER: &'static str = "source";
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

impl BuiltinSpec for CargoSpec {
    const RESOLVER: &'static str = "cargo";
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

impl BuiltinSpec for GithubReleaseSpec {
    const RESOLVER: &'static str = "github-release";
}

/// `url`: a streamable-HTTP server; nothing to hydrate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UrlSpec {
    /// The server URL as the master configured it.
    pub url: String,
}

impl BuiltinSpec for UrlSpec {
    const RESOLVER: &'static str = "url";
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

impl BuiltinSpec for PathSpec {
    const RESOLVER: &'static str = "path";
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Resolver;
    use crate::builtin::{
        CargoResolver, GithubReleaseResolver, NpmResolver, PathResolver, SourceResolver,
        UrlResolver, UvResolver,
    };

    #[test]
    fn spec_resolver_names_match_the_builtin_resolvers() {
        assert_eq!(NpmSpec::RESOLVER, NpmResolver.name());
        assert_eq!(UvSpec::RESOLVER, UvResolver.name());
        assert_eq!(SourceSpec::RESOLVER, SourceResolver.name());
        assert_eq!(CargoSpec::RESOLVER, CargoResolver.name());
        assert_eq!(GithubReleaseSpec::RESOLVER, GithubReleaseResolver.name());
        assert_eq!(UrlSpec::RESOLVER, UrlResolver.name());
        assert_eq!(PathSpec::RESOLVER, PathResolver.name());
    }

    #[test]
    fn specs_round_trip_through_artifacts_and_reject_wrong_shapes() {
        let spec = NpmSpec {
            package: "@scope/p".into(),
            version: "1.2.3".into(),
            bin: "p".into(),
            script: None,
            args: vec!["stdio".into()],
        };
        let artifact = spec.to_artifact(Vec::new());
        assert_eq!(artifact.resolver, "npm");
        assert_eq!(
            artifact.spec,
            serde_json::json!({"package": "@scope/p", "version": "1.2.3", "bin": "p", "args": ["stdio"]})
        );
        assert_eq!(NpmSpec::from_artifact("e", &artifact).unwrap(), spec);
        let err = CargoSpec::from_artifact("e", &artifact).unwrap_err();
        assert!(
            err.to_string().contains("MCP `e`: invalid `npm` spec"),
            "{err}"
        );
    }
}
