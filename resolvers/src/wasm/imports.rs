//! The per-call store state and the host capabilities a plugin may import.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtime::component::ResourceTable;
use wasmtime::{StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::bindings::codexport::resolver::{host, types};
use super::fetch::{FetchError, Fetcher};
use super::{HostConfig, convert};
use crate::{Mode, Platform};

/// Largest file `read-file` returns.
const MAX_READ: u64 = 1024 * 1024;
/// How much a plugin may write to stderr (where a panic message lands; plugins log through
/// `host::log`). Writing past it fails inside the plugin, so it is generous.
const STDERR_KEEP: usize = 64 * 1024;
/// Files never handed to a plugin, wherever they are (Codex, codexport, cargo, git, npm and
/// PyPI credentials).
const SECRET_NAMES: &[&str] = &[
    "auth.json",
    ".credentials.json",
    "identity.json",
    ".netrc",
    "credentials",
    "credentials.toml",
    ".git-credentials",
    ".npmrc",
    ".pypirc",
];

/// Everything one call into a plugin may touch.
pub(super) struct State {
    wasi: WasiCtx,
    table: ResourceTable,
    pub(super) limits: StoreLimits,
    plugin: String,
    fetcher: Arc<dyn Fetcher>,
    platform: Platform,
    mode: Mode,
    /// Directories whose direct children `read-file` may read (see [`super::convert::probe_roots`]).
    probe_roots: Vec<PathBuf>,
    stderr: MemoryOutputPipe,
    started: Instant,
    /// Time spent in host calls, which does not count against the plugin's budget.
    host_time: Duration,
    pub(super) budget: Duration,
    pub(super) deadline_hit: bool,
}

impl State {
    pub(super) fn new(
        plugin: String,
        config: &HostConfig,
        platform: Platform,
        mode: Mode,
        probe_roots: Vec<PathBuf>,
    ) -> Self {
        let stderr = MemoryOutputPipe::new(STDERR_KEEP);
        // No preopens, env, args or network: the builder's defaults deny them all.
        let wasi = WasiCtx::builder().stderr(stderr.clone()).build();
        let limits = StoreLimitsBuilder::new()
            .memory_size(config.limits.memory)
            .instances(16)
            .tables(16)
            .memories(4)
            .trap_on_grow_failure(true)
            .build();
        Self {
            wasi,
            table: ResourceTable::new(),
            limits,
            plugin,
            fetcher: Arc::clone(&config.fetcher),
            platform,
            mode,
            probe_roots,
            stderr,
            started: Instant::now(),
            host_time: Duration::ZERO,
            budget: config.limits.guest_time,
            deadline_hit: false,
        }
    }

    /// Wall time of this call minus time spent in host calls.
    pub(super) fn guest_time(&self) -> Duration {
        self.started.elapsed().saturating_sub(self.host_time)
    }

    /// The last lines the plugin wrote to stderr (a panic message), joined and bounded.
    pub(super) fn stderr_tail(&self) -> String {
        let bytes = self.stderr.contents();
        let text = String::from_utf8_lossy(&bytes);
        let lines: Vec<&str> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        let tail = &lines[lines.len().saturating_sub(3)..];
        tail.join("; ").chars().take(400).collect()
    }

    /// Runs a host call that may block, off the plugin's time budget.
    fn timed<R>(&mut self, f: impl FnOnce(&Self) -> R) -> R {
        let start = Instant::now();
        let out = f(self);
        self.host_time += start.elapsed();
        out
    }

    fn online(&self) -> Result<(), types::FetchError> {
        match self.mode {
            Mode::Online => Ok(()),
            Mode::Offline => Err(types::FetchError::Offline),
        }
    }

    /// `path` canonicalised, when it is a direct child of a probe root (or, for directories,
    /// a root itself) and not a secret.
    fn probe_path(&self, path: &str, dir: bool) -> Result<PathBuf, String> {
        let requested = Path::new(path);
        if !requested.is_absolute() {
            return Err(format!("`{path}` is not an absolute path"));
        }
        let real = std::fs::canonicalize(requested).map_err(|e| format!("`{path}`: {e}"))?;
        let allowed = if dir {
            self.probe_roots.contains(&real)
        } else {
            real.parent()
                .is_some_and(|parent| self.probe_roots.iter().any(|r| r == parent))
        };
        let secret = real
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| SECRET_NAMES.contains(&n));
        if !allowed || secret {
            return Err(format!(
                "`{path}` is not next to a file this entry names; plugins may only read those"
            ));
        }
        Ok(real)
    }
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl types::Host for State {}

impl host::Host for State {
    fn log(&mut self, level: types::LogLevel, message: String) {
        let plugin = &self.plugin;
        // Plugins cannot flood the log: one line, bounded.
        let message: String = message.chars().take(2000).collect();
        match level {
            types::LogLevel::Error => tracing::error!("plugin {plugin}: {message}"),
            types::LogLevel::Warn => tracing::warn!("plugin {plugin}: {message}"),
            types::LogLevel::Info => tracing::info!("plugin {plugin}: {message}"),
            types::LogLevel::Debug => tracing::debug!("plugin {plugin}: {message}"),
        }
    }

    fn current_platform(&mut self) -> types::Platform {
        convert::platform_to_wit(&self.platform)
    }

    fn github_release(
        &mut self,
        repo: String,
        tag: Option<String>,
    ) -> Result<types::Release, types::FetchError> {
        self.timed(|s| s.fetcher.github_release(&repo, tag.as_deref(), s.mode))
            .map(|r| types::Release {
                tag: r.tag,
                assets: r
                    .assets
                    .into_iter()
                    .map(|a| types::ReleaseAsset {
                        name: a.name,
                        url: a.url,
                        sha256: a.sha256,
                    })
                    .collect(),
            })
            .map_err(fetch_error)
    }

    fn npm_metadata(&mut self, pkg: String) -> Result<String, types::FetchError> {
        self.online()?;
        self.timed(|s| s.fetcher.npm_metadata(&pkg))
            .map_err(fetch_error)
    }

    fn pypi_metadata(&mut self, pkg: String) -> Result<String, types::FetchError> {
        self.online()?;
        self.timed(|s| s.fetcher.pypi_metadata(&pkg))
            .map_err(fetch_error)
    }

    fn crate_metadata(&mut self, name: String) -> Result<String, types::FetchError> {
        self.online()?;
        self.timed(|s| s.fetcher.crate_metadata(&name))
            .map_err(fetch_error)
    }

    fn which(&mut self, name: String) -> Option<String> {
        self.timed(|_| which::which(&name).ok())
            .map(|p| p.display().to_string())
    }

    fn read_file(&mut self, path: String) -> Result<Vec<u8>, String> {
        self.timed(|s| {
            let real = s.probe_path(&path, false)?;
            let meta = std::fs::metadata(&real).map_err(|e| format!("`{path}`: {e}"))?;
            if !meta.is_file() {
                return Err(format!("`{path}` is not a file"));
            }
            if meta.len() > MAX_READ {
                return Err(format!("`{path}` is larger than {MAX_READ} bytes"));
            }
            std::fs::read(&real).map_err(|e| format!("`{path}`: {e}"))
        })
    }

    fn list_dir(&mut self, path: String) -> Result<Vec<String>, String> {
        self.timed(|s| {
            let real = s.probe_path(&path, true)?;
            let mut names: Vec<String> = std::fs::read_dir(&real)
                .map_err(|e| format!("`{path}`: {e}"))?
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .take(10_000)
                .collect();
            names.sort();
            Ok(names)
        })
    }
}

fn fetch_error(err: FetchError) -> types::FetchError {
    match err {
        FetchError::NotFound => types::FetchError::NotFound,
        FetchError::RateLimited(secs) => types::FetchError::RateLimited(secs),
        FetchError::Network(why) => types::FetchError::Network(why),
        FetchError::Offline => types::FetchError::Offline,
    }
}
