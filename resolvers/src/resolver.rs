//! The `Resolver` trait every built-in and wasm plugin resolver implements, and the contexts
//! they run in.

use std::collections::BTreeMap;
use std::path::PathBuf;

use codexport_core::mcp::config::EntryError;
use codexport_core::mcp::manifest::{ArtifactSpec, McpEntry};
use codexport_core::store::ObjectStore;
use codexport_core::{Homes, env};

use crate::Error;
use crate::plan::Resolution;
use crate::platform::Platform;

/// Teaches codexport one kind of MCP artifact.
///
/// `infer` runs on the master and turns a config entry into a portable spec; `resolve` runs on
/// the follower and turns a spec into a [`Resolution`] (a plan, never an action).
/// `Ok(None)` from `infer` means "not mine": the registry then asks the next resolver.
/// The other methods have defaults that fit a plugin; the built-ins override them
/// ([`Builtin`](crate::builtin::Builtin)).
pub trait Resolver: Send + Sync {
    /// A stable, unique name; it is what `artifact.resolver` names in the manifest.
    fn name(&self) -> &str;

    /// Master side: the spec for `entry`, or `None` when this resolver does not recognise it.
    fn infer(&self, cx: &InferContext<'_>, entry: &McpEntry)
    -> Result<Option<ArtifactSpec>, Error>;

    /// Follower side: the plan that hydrates `spec` on `cx.platform`.
    fn resolve(
        &self,
        cx: &ResolveContext,
        entry: &McpEntry,
        spec: &ArtifactSpec,
    ) -> Result<Resolution, Error>;

    /// Master side: the spec a `[mcp.NAME]` hint's `fields` describe for `entry`, completed
    /// with what the hint may leave out, or [`Error::BadSpec`] when it has the wrong shape.
    /// By default the fields as written: a plugin's spec is the plugin's business.
    fn spec_from_hint(
        &self,
        cx: &InferContext<'_>,
        entry: &McpEntry,
        fields: serde_json::Map<String, serde_json::Value>,
    ) -> Result<ArtifactSpec, Error> {
        let _ = (cx, entry);
        Ok(ArtifactSpec {
            resolver: self.name().to_owned(),
            spec: serde_json::Value::Object(fields),
            objects: Vec::new(),
        })
    }

    /// One line describing `artifact` for listings (`@scope/p@1.2.3 (p)`), or `None` to show
    /// the spec as compact JSON (the default).
    fn summary(&self, artifact: &ArtifactSpec) -> Option<String> {
        let _ = artifact;
        None
    }

    /// Whether an entry of this resolver runs on the follower. `false` (the `url` resolver)
    /// means a remote server: nothing to hydrate or launch.
    fn runs_locally(&self) -> bool {
        true
    }
}

/// Everything master-side inference may look at.
#[derive(Debug)]
pub struct InferContext<'a> {
    /// The master's homes.
    pub homes: &'a Homes,
    /// The master's environment (PATH, `UV_TOOL_DIR`, `CARGO_HOME`, ...), as a map so tests
    /// can pin it.
    pub env: &'a BTreeMap<String, String>,
    /// Where packed source trees are stored.
    pub store: &'a ObjectStore,
    /// Limits for packing local source trees.
    pub source_limits: SourceLimits,
    /// `include_secret_files` of `[mcp.NAME]`, by entry name: secret-looking files (globs on
    /// the name, or on the path when it has a `/`) packed on purpose.
    pub include_secret_files: &'a BTreeMap<String, Vec<String>>,
    /// What inference left out, for the master's warnings.
    pub notes: &'a InferNotes,
}

/// What inference left out or worked around (a secret-looking file not packed, a file over
/// the size limit), by entry: the master prints each as a warning (`master rebuild`,
/// `mcp list`).
#[derive(Debug, Default)]
pub struct InferNotes(std::sync::Mutex<Vec<EntryError>>);

impl InferNotes {
    /// Records `reason` for entry `name`.
    pub fn push(&self, name: &str, reason: impl Into<String>) {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(EntryError {
                name: name.to_owned(),
                reason: reason.into(),
            });
    }

    /// Everything recorded so far, in order; the notes are empty afterwards.
    pub fn take(&self) -> Vec<EntryError> {
        std::mem::take(
            &mut *self
                .0
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        )
    }
}

/// Size limits for local source trees packed on the master.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceLimits {
    /// Largest single file, in bytes.
    pub max_file: u64,
    /// Largest tree, in bytes.
    pub max_total: u64,
}

impl Default for SourceLimits {
    fn default() -> Self {
        Self {
            max_file: 10 * 1024 * 1024,
            max_total: 75 * 1024 * 1024,
        }
    }
}

/// Whether resolution may use the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Registries and release APIs may be asked.
    Online,
    /// Only what is cached locally.
    Offline,
}

/// Where GitHub (or a mirror, GitHub Enterprise, a loopback fixture) is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GithubConfig {
    /// REST API base (`https://api.github.com`).
    pub api_base: String,
    /// Bearer token (`GITHUB_TOKEN`/`GH_TOKEN`); never logged.
    pub token: Option<String>,
}

impl Default for GithubConfig {
    fn default() -> Self {
        Self {
            api_base: "https://api.github.com".to_owned(),
            token: None,
        }
    }
}

impl GithubConfig {
    /// The API base from `CODEXPORT_GITHUB_API_URL` and the token from `GITHUB_TOKEN`, else
    /// `GH_TOKEN` (empty values count as unset); what every command and the launcher use.
    pub fn from_env() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        Self {
            api_base: var(env::GITHUB_API_URL).unwrap_or_else(|| Self::default().api_base),
            token: var(env::GITHUB_TOKEN).or_else(|| var(env::GH_TOKEN)),
        }
    }
}

/// Everything follower-side resolution may look at.
#[derive(Debug, Clone)]
pub struct ResolveContext {
    /// The follower's homes.
    pub homes: Homes,
    /// This host's platform.
    pub platform: Platform,
    /// Online or offline.
    pub mode: Mode,
    /// GitHub endpoint and token.
    pub github: GithubConfig,
    /// The follower's object store (packed sources arrive here with the revision).
    pub store: ObjectStore,
    /// The root of hydrated artifacts (`~/.codexport/mcp-artifacts`).
    pub artifacts: PathBuf,
}
