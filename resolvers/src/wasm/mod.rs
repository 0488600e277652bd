//! The wasm plugin host: loads `~/.codexport/resolvers/*.wasm` components and runs them
//! sandboxed as [`Resolver`](crate::Resolver)s.
//!
//! One wasmtime [`Engine`](wasmtime::Engine), built lazily the first time a plugin is needed (the
//! launcher's hot path never builds it). Each plugin is compiled once and cached as `.cwasm`
//! keyed on its sha256 and the engine's compatibility hash; its `InstancePre` is kept and every
//! call gets a fresh `Store` with WASI p2 granting nothing (no preopens, env, args, sockets),
//! a memory limit and an epoch deadline that traps. Plans coming back are validated before
//! anyone runs them.

mod convert;
mod fetch;
mod imports;
mod runtime;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use codexport_core::manifest::{ArtifactSpec, McpEntry};

use crate::{Error, GithubConfig, InferContext, Mode, Platform, Resolution, ResolveContext};

pub use fetch::{FetchError, Fetcher, HttpFetcher, RegistryUrls, Release, ReleaseAsset};
pub use runtime::API_VERSIONS;

/// The generated host bindings of `resolver-sdk/wit` (the same files the SDK builds from).
mod bindings {
    wasmtime::component::bindgen!({
        path: "../resolver-sdk/wit/since_v0.1.0",
        world: "plugin",
    });
}

/// How long and how large a plugin may run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Linear memory per call.
    pub memory: usize,
    /// Time a call may spend inside the plugin's own code (host calls such as downloads of
    /// release metadata do not count).
    pub guest_time: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            memory: 64 * 1024 * 1024,
            guest_time: Duration::from_secs(2),
        }
    }
}

/// Everything the host needs besides the plugin files.
#[derive(Clone)]
pub struct HostConfig {
    /// `~/.codexport/resolvers`: where plugins live.
    pub plugins: PathBuf,
    /// Where compiled `.cwasm` files are cached.
    pub cache: PathBuf,
    /// Memory and time limits per call.
    pub limits: Limits,
    /// Answers `github-release` and the registry metadata imports.
    pub fetcher: Arc<dyn Fetcher>,
}

impl std::fmt::Debug for HostConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostConfig")
            .field("plugins", &self.plugins)
            .field("cache", &self.cache)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl HostConfig {
    /// Plugins from `homes.resolvers()`, compiled code cached under `homes.tool/cache`,
    /// default limits, metadata from GitHub (per `github`) and the public registries.
    pub fn new(homes: &codexport_core::Homes, github: GithubConfig) -> Self {
        Self {
            plugins: homes.resolvers(),
            cache: homes.tool.join("cache").join("resolvers"),
            limits: Limits::default(),
            fetcher: Arc::new(HttpFetcher::new(github, RegistryUrls::default())),
        }
    }
}

/// What a plugin says about itself, plus where it came from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PluginInfo {
    /// Its resolver name (what manifests name).
    pub name: String,
    /// Its own version.
    pub version: String,
    /// Order in inference among plugins, higher first.
    pub priority: i32,
    /// The contract version it was built against.
    pub api: String,
    /// Its file.
    pub file: PathBuf,
    /// sha256 of the file.
    pub sha256: String,
}

/// Loads and runs plugins. Cheap to create: nothing happens until a plugin is needed.
pub struct PluginHost {
    config: HostConfig,
    runtime: OnceLock<Result<runtime::Runtime, String>>,
    loaded: Mutex<BTreeMap<PathBuf, Arc<runtime::Loaded>>>,
}

impl std::fmt::Debug for PluginHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginHost")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl PluginHost {
    /// A host over `config`.
    pub fn new(config: HostConfig) -> Self {
        Self {
            config,
            runtime: OnceLock::new(),
            loaded: Mutex::new(BTreeMap::new()),
        }
    }

    /// Every `*.wasm` file in the plugin directory, sorted by name. No plugin is loaded.
    pub fn plugin_files(&self) -> Vec<PathBuf> {
        let Ok(dir) = std::fs::read_dir(&self.config.plugins) else {
            return Vec::new();
        };
        let mut files: Vec<PathBuf> = dir
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "wasm") && p.is_file())
            .collect();
        files.sort();
        files
    }

    /// Loads (compiling or reading the cache) the plugin in `file` and asks it who it is.
    pub fn load(&self, file: &Path) -> Result<PluginInfo, Error> {
        Ok(self.loaded(file)?.info.clone())
    }

    /// Every plugin that loads, as resolvers, highest priority first (ties by name). Plugins
    /// that fail to load are logged by name and left out.
    pub fn resolvers(self: &Arc<Self>) -> Vec<WasmResolver> {
        let mut out: Vec<WasmResolver> = self
            .plugin_files()
            .into_iter()
            .filter_map(|file| match self.loaded(&file) {
                Ok(loaded) => Some(WasmResolver {
                    host: Arc::clone(self),
                    info: loaded.info.clone(),
                }),
                Err(err) => {
                    tracing::warn!("skipping resolver plugin: {err}");
                    None
                }
            })
            .collect();
        out.sort_by(|a, b| {
            b.info
                .priority
                .cmp(&a.info.priority)
                .then_with(|| a.info.name.cmp(&b.info.name))
        });
        out
    }

    /// The plugin called `name` (file `<name>.wasm`, `-` and `_` alike), loading only it.
    pub fn find(self: &Arc<Self>, name: &str) -> Option<Result<WasmResolver, Error>> {
        let file = self.plugin_files().into_iter().find(|f| {
            f.file_stem()
                .and_then(|s| s.to_str())
                .is_some_and(|stem| same_name(stem, name))
        })?;
        Some(self.loaded(&file).map(|loaded| WasmResolver {
            host: Arc::clone(self),
            info: loaded.info.clone(),
        }))
    }

    fn runtime(&self) -> Result<&runtime::Runtime, Error> {
        self.runtime
            .get_or_init(|| runtime::Runtime::new().map_err(|e| format!("{e:#}")))
            .as_ref()
            .map_err(|reason| Error::Plugin {
                plugin: "(engine)".to_owned(),
                reason: reason.clone(),
            })
    }

    fn loaded(&self, file: &Path) -> Result<Arc<runtime::Loaded>, Error> {
        if let Some(hit) = self.lock_loaded().get(file) {
            return Ok(Arc::clone(hit));
        }
        let runtime = self.runtime()?;
        let loaded = Arc::new(runtime.load(file, &self.config)?);
        self.lock_loaded()
            .insert(file.to_owned(), Arc::clone(&loaded));
        Ok(loaded)
    }

    fn lock_loaded(&self) -> std::sync::MutexGuard<'_, BTreeMap<PathBuf, Arc<runtime::Loaded>>> {
        // A panic while holding the map cannot leave it half-written: inserts are single calls.
        self.loaded.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Plugin names compare with `-` and `_` alike (cargo names the file `my_plugin.wasm` for the
/// crate `my-plugin`).
fn same_name(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes().zip(b.bytes()).all(|(x, y)| {
            let norm = |c: u8| if c == b'_' { b'-' } else { c };
            norm(x) == norm(y)
        })
}

/// One loaded plugin as a [`Resolver`](crate::Resolver).
#[derive(Debug, Clone)]
pub struct WasmResolver {
    host: Arc<PluginHost>,
    info: PluginInfo,
}

impl WasmResolver {
    /// What the plugin says about itself.
    pub fn info(&self) -> &PluginInfo {
        &self.info
    }

    /// Runs the plugin's `probe`: its confidence (0-100) that it can resolve `spec`.
    pub fn probe(&self, entry: &McpEntry, spec: &ArtifactSpec) -> Result<Option<u32>, Error> {
        let loaded = self.host.loaded(&self.info.file)?;
        let runtime = self.host.runtime()?;
        runtime.probe(&loaded, &self.host.config, entry, spec)
    }
}

impl crate::Resolver for WasmResolver {
    fn name(&self) -> &str {
        &self.info.name
    }

    fn infer(
        &self,
        cx: &InferContext<'_>,
        entry: &McpEntry,
    ) -> Result<Option<ArtifactSpec>, Error> {
        let loaded = self.host.loaded(&self.info.file)?;
        let runtime = self.host.runtime()?;
        runtime.infer(&loaded, &self.host.config, cx, entry)
    }

    fn resolve(
        &self,
        cx: &ResolveContext,
        entry: &McpEntry,
        spec: &ArtifactSpec,
    ) -> Result<Resolution, Error> {
        let loaded = self.host.loaded(&self.info.file)?;
        let runtime = self.host.runtime()?;
        runtime.resolve(&loaded, &self.host.config, cx, entry, spec)
    }
}

/// The platform used for `current-platform` during master-side inference, where no
/// [`ResolveContext`] exists.
fn this_platform() -> Platform {
    Platform {
        os: std::env::consts::OS.to_owned(),
        arch: std::env::consts::ARCH.to_owned(),
        libc: None,
        triples: Vec::new(),
    }
}

/// Mode for master-side inference: online (the master pins versions).
const INFER_MODE: Mode = Mode::Online;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_across_dash_and_underscore() {
        assert!(same_name("github_binaries", "github-binaries"));
        assert!(!same_name("github_binaries", "github-binary"));
    }
}
