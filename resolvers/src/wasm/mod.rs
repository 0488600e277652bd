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

use codexport_core::mcp::manifest::{ArtifactSpec, McpEntry};

use crate::registry::Registry;
use crate::{Error, GithubConfig, InferContext, Mode, Resolution, ResolveContext};

pub use fetch::{FetchError, Fetcher, HttpFetcher, RegistryUrls, Release, ReleaseAsset};
pub use runtime::API_VERSIONS;

/// The generated host bindings of the WIT contract. `wit/` is a copy of `resolver-sdk/wit` (the
/// published crate must hold the files it builds from); tests/packaging.rs keeps them equal.
mod bindings {
    wasmtime::component::bindgen!({
        path: "wit/since_v0.1.0",
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
            fetcher: Arc::new(HttpFetcher::new(
                github,
                homes.tool.join("cache").join("github"),
                RegistryUrls::default(),
            )),
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

    /// One resolver per plugin file, named by the file, nothing loaded: a follower's registry
    /// (only the plugin a spec names is ever compiled).
    pub fn lazy_resolvers(self: &Arc<Self>) -> Vec<WasmResolver> {
        self.plugin_files()
            .into_iter()
            .filter_map(|file| WasmResolver::lazy(self, file))
            .collect()
    }

    /// Every plugin that loads, highest priority first (ties by name): a master's inference
    /// order. Plugins that fail to load are logged by name and left out.
    pub fn loaded_resolvers(self: &Arc<Self>) -> Vec<WasmResolver> {
        let mut out: Vec<(i32, WasmResolver)> = self
            .lazy_resolvers()
            .into_iter()
            .filter_map(|r| match r.info() {
                Ok(info) => Some((info.priority, r)),
                Err(err) => {
                    tracing::warn!("skipping resolver plugin: {err}");
                    None
                }
            })
            .collect();
        out.sort_by(|(pa, a), (pb, b)| pb.cmp(pa).then_with(|| a.name.cmp(&b.name)));
        out.into_iter().map(|(_, r)| r).collect()
    }

    /// The plugin called `name` (file `<name>.wasm`), not yet loaded.
    pub fn find(self: &Arc<Self>, name: &str) -> Option<WasmResolver> {
        if name.is_empty() || name.contains(['/', '\\', '.']) {
            return None;
        }
        let file = self.config.plugins.join(format!("{name}.wasm"));
        file.is_file()
            .then(|| WasmResolver::lazy(self, file))
            .flatten()
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

/// One plugin as a [`Resolver`](crate::Resolver), named by its file (`<name>.wasm`) and
/// loaded on first use.
#[derive(Debug, Clone)]
pub struct WasmResolver {
    host: Arc<PluginHost>,
    name: String,
    file: PathBuf,
}

impl WasmResolver {
    fn lazy(host: &Arc<PluginHost>, file: PathBuf) -> Option<Self> {
        let name = file.file_stem()?.to_str()?.to_owned();
        Some(Self {
            host: Arc::clone(host),
            name,
            file,
        })
    }

    /// The plugin's file.
    pub fn file(&self) -> &Path {
        &self.file
    }

    /// Loads the plugin (once) and returns what it says about itself.
    pub fn info(&self) -> Result<PluginInfo, Error> {
        Ok(self.host.loaded(&self.file)?.info.clone())
    }

    /// Runs the plugin's `probe`: its confidence (0-100) that it can resolve `spec`.
    pub fn probe(&self, entry: &McpEntry, spec: &ArtifactSpec) -> Result<Option<u32>, Error> {
        let loaded = self.host.loaded(&self.file)?;
        self.host
            .runtime()?
            .probe(&loaded, &self.host.config, entry, spec)
    }
}

impl crate::Resolver for WasmResolver {
    fn name(&self) -> &str {
        &self.name
    }

    fn infer(
        &self,
        cx: &InferContext<'_>,
        entry: &McpEntry,
    ) -> Result<Option<ArtifactSpec>, Error> {
        let loaded = self.host.loaded(&self.file)?;
        self.host
            .runtime()?
            .infer(&loaded, &self.host.config, cx, entry)
    }

    fn resolve(
        &self,
        cx: &ResolveContext,
        entry: &McpEntry,
        spec: &ArtifactSpec,
    ) -> Result<Resolution, Error> {
        let loaded = self.host.loaded(&self.file)?;
        self.host
            .runtime()?
            .resolve(&loaded, &self.host.config, cx, entry, spec)
    }
}

/// The master's registry: loaded plugins by priority, then the built-ins.
pub fn master_registry(homes: &codexport_core::Homes, github: GithubConfig) -> Registry {
    let host = Arc::new(PluginHost::new(HostConfig::new(homes, github)));
    Registry::with_plugins(boxed(host.loaded_resolvers()))
}

/// A follower's registry: every installed plugin by name (none loaded until a spec names it),
/// then the built-ins.
pub fn follower_registry(homes: &codexport_core::Homes, github: GithubConfig) -> Registry {
    let host = Arc::new(PluginHost::new(HostConfig::new(homes, github)));
    Registry::with_plugins(boxed(host.lazy_resolvers()))
}

fn boxed(resolvers: Vec<WasmResolver>) -> Vec<Box<dyn crate::Resolver>> {
    resolvers
        .into_iter()
        .map(|r| Box::new(r) as Box<dyn crate::Resolver>)
        .collect()
}

/// Mode for master-side inference: online (the master pins versions).
const INFER_MODE: Mode = Mode::Online;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lazy_resolvers_are_named_by_their_files_and_load_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let homes =
            codexport_core::Homes::new(dir.path(), dir.path().join("c"), dir.path().join("t"));
        std::fs::create_dir_all(homes.resolvers()).unwrap();
        std::fs::write(homes.resolvers().join("b_plugin.wasm"), b"junk").unwrap();
        std::fs::write(homes.resolvers().join("a.wasm"), b"junk").unwrap();
        std::fs::write(homes.resolvers().join("notes.txt"), b"").unwrap();
        let host = Arc::new(PluginHost::new(HostConfig::new(
            &homes,
            GithubConfig::default(),
        )));
        let names: Vec<String> = host
            .lazy_resolvers()
            .iter()
            .map(|r| r.name.clone())
            .collect();
        assert_eq!(names, ["a", "b_plugin"]);
        assert!(host.runtime.get().is_none(), "no engine was built");
        assert!(host.loaded_resolvers().is_empty(), "junk never loads");
    }
}
