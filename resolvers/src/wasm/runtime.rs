//! The engine, compiled-code cache, per-call stores and limits, and the calls into a plugin.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::time::Duration;

use codexport_core::mcp::manifest::{ArtifactSpec, McpEntry};
use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::{Config, Engine, Store, UpdateDeadline};

use super::bindings::{Plugin, PluginPre};
use super::imports::State;
use super::{HostConfig, INFER_MODE, PluginInfo, convert};
use crate::{Error, InferContext, Resolution, ResolveContext};

/// Contract versions this host runs, `major.minor` (0.x versions break at the minor).
pub const API_VERSIONS: &[&str] = &["0.1"];

/// The interface every plugin exports, without its version.
const EXPORT: &str = "codexport:resolver/resolver";

/// How often the engine's epoch advances; deadlines are checked at this granularity.
const TICK: Duration = Duration::from_millis(5);

/// The engine and the linker every plugin is instantiated with.
pub(super) struct Runtime {
    engine: Engine,
    linker: Linker<State>,
    /// The engine's compatibility hash, part of every `.cwasm` cache key.
    compat: String,
}

/// A plugin compiled and pre-instantiated, ready for fresh stores.
pub(super) struct Loaded {
    pub(super) info: PluginInfo,
    pre: PluginPre<State>,
}

impl Runtime {
    pub(super) fn new() -> wasmtime::Result<Self> {
        let mut config = Config::new();
        config.epoch_interruption(true).wasm_component_model(true);
        let engine = Engine::new(&config)?;
        let mut linker = Linker::new(&engine);
        // WASI p2 is linked because Rust's std imports it; the context grants nothing.
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
        Plugin::add_to_linker::<State, HasSelf<State>>(&mut linker, |s| s)?;
        let mut hasher = std::hash::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        let compat = format!("{:016x}", hasher.finish());
        start_ticker(&engine);
        Ok(Self {
            engine,
            linker,
            compat,
        })
    }

    /// Compiles `file` (or loads its cached `.cwasm`), checks its contract version, links it
    /// and asks it for its `info`.
    pub(super) fn load(&self, file: &Path, config: &HostConfig) -> Result<Loaded, Error> {
        let label = file_label(file);
        let fail = |reason: String| Error::Plugin {
            plugin: label.clone(),
            reason,
        };
        let bytes = std::fs::read(file).map_err(|e| Error::io("read", file, e))?;
        let sha256 = codexport_core::store::sha256_hex(&bytes);
        let component = self
            .component(&bytes, &sha256, &config.cache)
            .map_err(fail)?;
        let api = self.check_version(&component).map_err(fail)?;
        let instance_pre = self
            .linker
            .instantiate_pre(&component)
            .map_err(|e| fail(format!("cannot link: {e:#}")))?;
        let pre = PluginPre::new(instance_pre).map_err(|e| {
            fail(format!(
                "does not match the `codexport:resolver@{api}` contract: {e:#}"
            ))
        })?;
        let mut loaded = Loaded {
            info: PluginInfo {
                name: label.clone(),
                version: String::new(),
                priority: 0,
                api,
                file: file.to_owned(),
                sha256,
            },
            pre,
        };
        let info = self.call(&loaded, config, Vec::new(), None, |plugin, store| {
            plugin.codexport_resolver_resolver().call_info(store)
        })?;
        let stem = file.file_stem().and_then(|s| s.to_str()).unwrap_or("");
        if stem != info.name {
            return Err(fail(format!(
                "calls itself `{}`; rename the file to `{}.wasm` so followers can find it by name",
                info.name, info.name
            )));
        }
        loaded.info.name = info.name;
        loaded.info.version = info.version;
        loaded.info.priority = info.priority;
        Ok(loaded)
    }

    pub(super) fn infer(
        &self,
        loaded: &Loaded,
        config: &HostConfig,
        cx: &InferContext<'_>,
        entry: &McpEntry,
    ) -> Result<Option<ArtifactSpec>, Error> {
        let facts = convert::facts(cx, entry);
        let roots = convert::probe_roots(cx.homes, entry, facts.command_path.as_deref());
        let wit_entry = convert::entry(entry);
        let spec = self.call(loaded, config, roots, None, |plugin, store| {
            plugin
                .codexport_resolver_resolver()
                .call_infer(store, &wit_entry, &facts)
        })?;
        spec.map(|text| convert::spec_from_plugin(&loaded.info.name, &text))
            .transpose()
    }

    pub(super) fn probe(
        &self,
        loaded: &Loaded,
        config: &HostConfig,
        entry: &McpEntry,
        spec: &ArtifactSpec,
    ) -> Result<Option<u32>, Error> {
        let wit_entry = convert::entry(entry);
        let text = spec.spec.to_string();
        self.call(loaded, config, Vec::new(), None, |plugin, store| {
            plugin
                .codexport_resolver_resolver()
                .call_probe(store, &wit_entry, &text)
        })
    }

    pub(super) fn resolve(
        &self,
        loaded: &Loaded,
        config: &HostConfig,
        cx: &ResolveContext,
        entry: &McpEntry,
        spec: &ArtifactSpec,
    ) -> Result<Resolution, Error> {
        let wit_entry = convert::entry(entry);
        let text = spec.spec.to_string();
        let platform = convert::platform_to_wit(&cx.platform);
        let mode = convert::mode_to_wit(cx.mode);
        let answer = self.call(loaded, config, Vec::new(), Some(cx), |plugin, store| {
            plugin
                .codexport_resolver_resolver()
                .call_resolve(store, &wit_entry, &text, &platform, mode)
        })?;
        match answer {
            Ok(resolution) => convert::resolution(&loaded.info.name, resolution),
            Err(err) => Err(convert::resolve_error(
                &loaded.info.name,
                entry,
                &cx.platform,
                err,
            )),
        }
    }

    /// Runs `f` against a fresh instance in a fresh store, within the limits, and turns any
    /// trap into an error that names the plugin and what it hit.
    fn call<R>(
        &self,
        loaded: &Loaded,
        config: &HostConfig,
        probe_roots: Vec<PathBuf>,
        resolve: Option<&ResolveContext>,
        f: impl FnOnce(&Plugin, &mut Store<State>) -> wasmtime::Result<R>,
    ) -> Result<R, Error> {
        let (platform, mode) = match resolve {
            Some(cx) => (cx.platform.clone(), cx.mode),
            // Master-side inference has no resolve context: the master's own platform.
            None => (crate::Platform::detect(), INFER_MODE),
        };
        let state = State::new(
            loaded.info.name.clone(),
            config,
            platform,
            mode,
            probe_roots,
        );
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limits);
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(|mut cx| {
            let state = cx.data_mut();
            if state.guest_time() > state.budget {
                state.deadline_hit = true;
                return Ok(UpdateDeadline::Interrupt);
            }
            Ok(UpdateDeadline::Continue(1))
        });
        let outcome = loaded
            .pre
            .instantiate(&mut store)
            .and_then(|plugin| f(&plugin, &mut store));
        outcome.map_err(|err| {
            let state = store.data();
            let reason = if state.deadline_hit {
                format!(
                    "ran longer than its {} ms limit and was stopped",
                    state.budget.as_millis()
                )
            } else if is_memory_exhaustion(&err) {
                format!(
                    "needed more than its {} MiB memory limit and was stopped",
                    config.limits.memory / (1024 * 1024)
                )
            } else {
                let said = state.stderr_tail();
                let said = if said.is_empty() {
                    String::new()
                } else {
                    format!(" ({said})")
                };
                format!("trapped: {}{said}", root_cause(&err))
            };
            Error::Plugin {
                plugin: loaded.info.name.clone(),
                reason,
            }
        })
    }

    /// The compiled component for `bytes`, from the cache when it holds one for this engine.
    fn component(&self, bytes: &[u8], sha256: &str, cache: &Path) -> Result<Component, String> {
        let cached = cache.join(format!("{sha256}-{}.cwasm", self.compat));
        if cached.is_file() {
            // SAFETY: only this host writes the cache, from `Component::serialize` of the same
            // engine configuration (the file name carries its compatibility hash), atomically.
            match unsafe { Component::deserialize_file(&self.engine, &cached) } {
                Ok(component) => return Ok(component),
                Err(e) => tracing::debug!("ignoring cached {}: {e:#}", cached.display()),
            }
        }
        if !bytes.starts_with(b"\0asm") {
            return Err("is not a WebAssembly file".to_owned());
        }
        if bytes.get(4..8) != Some(&[0x0d, 0x00, 0x01, 0x00][..]) {
            return Err(
                "is a core WebAssembly module, not a component; build it with `cargo build --release --target wasm32-wasip2`"
                    .to_owned(),
            );
        }
        let component = Component::new(&self.engine, bytes)
            .map_err(|e| format!("is not a valid component: {}", root_cause(&e)))?;
        match component.serialize() {
            Ok(compiled) => {
                let written = std::fs::create_dir_all(cache).and_then(|()| {
                    codexport_core::fsx::write_atomic(&cached, &compiled, Some(0o644))
                });
                if let Err(e) = written {
                    tracing::debug!("cannot cache {}: {e}", cached.display());
                }
            }
            Err(e) => tracing::debug!("cannot serialise a compiled plugin: {e:#}"),
        }
        Ok(component)
    }

    /// The contract version the component exports, when this host supports it.
    fn check_version(&self, component: &Component) -> Result<String, String> {
        let ty = component.component_type();
        let versions: Vec<&str> = ty
            .exports(&self.engine)
            .filter_map(|(name, _)| name.strip_prefix(EXPORT)?.strip_prefix('@'))
            .collect();
        let supported = API_VERSIONS
            .iter()
            .map(|v| format!("{v}.x"))
            .collect::<Vec<_>>()
            .join(", ");
        let Some(version) = versions.first() else {
            return Err(format!(
                "exports no `{EXPORT}` interface: it is not a codexport resolver plugin"
            ));
        };
        if API_VERSIONS
            .iter()
            .any(|v| major_minor(version).is_some_and(|mm| mm == *v))
        {
            Ok((*version).to_owned())
        } else {
            Err(format!(
                "is built against contract version {version}, which this codexport does not run (it runs {supported}); rebuild the plugin with a matching codexport-resolver-sdk, or upgrade codexport"
            ))
        }
    }
}

/// Advances the engine's epoch every [`TICK`] for as long as the engine lives.
fn start_ticker(engine: &Engine) {
    let weak = engine.weak();
    let spawned = std::thread::Builder::new()
        .name("codexport-wasm-epoch".to_owned())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(TICK);
            }
        });
    if let Err(e) = spawned {
        // Without the ticker deadlines never fire; say so rather than run unbounded silently.
        tracing::warn!("cannot start the plugin deadline thread: {e}");
    }
}

/// `0.1` for `0.1.3`, `2` for `2.0.1` (semver compatibility classes).
fn major_minor(version: &str) -> Option<String> {
    let v = semver::Version::parse(version).ok()?;
    Some(if v.major == 0 {
        format!("0.{}", v.minor)
    } else {
        v.major.to_string()
    })
}

fn is_memory_exhaustion(err: &wasmtime::Error) -> bool {
    let text = format!("{err:?}");
    text.contains("growing memory") || text.contains("memory minimum size")
}

fn root_cause(err: &wasmtime::Error) -> String {
    err.chain()
        .last()
        .map(ToString::to_string)
        .unwrap_or_default()
}

/// The plugin's file name, for errors before it said its name.
fn file_label(file: &Path) -> String {
    file.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| file.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_by_semver_class() {
        assert_eq!(major_minor("0.1.7").as_deref(), Some("0.1"));
        assert_eq!(major_minor("2.3.0").as_deref(), Some("2"));
        assert_eq!(major_minor("x"), None);
    }
}
