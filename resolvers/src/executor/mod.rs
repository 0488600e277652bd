//! The plan executor: hydrates a [`Resolution`] into its artifact directory.
//!
//! Artifacts live in `mcp-artifacts/<resolver>/<key>/`, where the key hashes the resolver, its
//! spec and the platform, so the launcher finds a ready artifact without resolving anything.
//! One lock file per artifact (`<key>.lock`, next to the directory) serialises hydrations: a
//! second process waits, then finds the `.ready` marker the first one wrote. `.ready` holds
//! the launch command and is written last; a failed hydration leaves the directory without
//! it, plus `.hydrate.log` with every command's output. The executor does not care who
//! produced the plan (a built-in or a wasm plugin).

mod archive;
mod download;
mod progress;
mod steps;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use codexport_core::fsx;
use codexport_core::lock::{LockError, LockGuard, Wait};
use codexport_core::mcp::manifest::ArtifactSpec;
use codexport_core::store::ObjectStore;
use serde::{Deserialize, Serialize};

use crate::Error;
use crate::plan::{ARTIFACT_PLACEHOLDER, Launch, Resolution};
use crate::platform::Platform;

pub use archive::{Limits, extract_with};
pub use progress::Reporter;
pub use steps::find_tool;

/// The marker file inside a hydrated artifact directory.
pub const READY_FILE: &str = ".ready";
/// The hydration log inside an artifact directory.
pub const LOG_FILE: &str = ".hydrate.log";

/// The content of `.ready`: what was hydrated and how to launch it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ready {
    /// The resolver that planned it.
    pub resolver: String,
    /// The exact version hydrated.
    pub version: String,
    /// The resolver's own cache key.
    pub cache_key: String,
    /// The launch command, with `${artifact}` placeholders.
    pub launch: Launch,
    /// When hydration finished (seconds since the Unix epoch).
    pub hydrated_at: u64,
}

impl Ready {
    /// The launch command with `${artifact}` expanded to `dir`.
    pub fn launch_in(&self, dir: &Path) -> Launch {
        let x = |s: &str| expand(s, dir);
        Launch {
            program: x(&self.launch.program),
            args: self.launch.args.iter().map(|a| x(a)).collect(),
            env: self
                .launch
                .env
                .iter()
                .map(|(k, v)| (k.clone(), x(v)))
                .collect(),
            cwd: self.launch.cwd.as_deref().map(x),
        }
    }
}

/// Replaces `${artifact}` in `text` with `dir`.
pub fn expand(text: &str, dir: &Path) -> String {
    text.replace(ARTIFACT_PLACEHOLDER, &dir.to_string_lossy())
}

/// The artifact key: a hash of the resolver, its spec and the platform (32 hex digits).
pub fn artifact_key(spec: &ArtifactSpec, platform: &Platform) -> String {
    // serde_json maps keep keys sorted, so equal specs hash equally.
    let doc = serde_json::json!({
        "resolver": spec.resolver,
        "spec": spec.spec,
        "objects": spec.objects,
        "platform": platform,
    });
    let hash = codexport_core::store::sha256_hex(doc.to_string().as_bytes());
    hash[..32].to_owned()
}

/// `root/<resolver>/<key>`: where `spec` hydrates on `platform`.
pub fn artifact_dir(root: &Path, spec: &ArtifactSpec, platform: &Platform) -> PathBuf {
    root.join(safe_component(&spec.resolver))
        .join(artifact_key(spec, platform))
}

/// A resolver name as one safe path component (plugin names are not trusted as paths).
fn safe_component(name: &str) -> String {
    let ok = !name.is_empty()
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if ok {
        name.to_owned()
    } else {
        format!(
            "x-{}",
            &codexport_core::store::sha256_hex(name.as_bytes())[..16]
        )
    }
}

/// The `.ready` marker of `dir`, when the artifact is hydrated (a corrupt marker counts as
/// not ready, so the artifact is hydrated again).
pub fn read_ready(dir: &Path) -> Option<Ready> {
    let bytes = fs::read(dir.join(READY_FILE)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// The marker of `dir` when the artifact is hydrated and its launch program still exists
/// (a bare program name is looked up on PATH at launch, so it counts as present). A marker
/// whose program vanished is stale: the artifact hydrates again.
pub fn read_launchable(dir: &Path) -> Option<Ready> {
    let ready = read_ready(dir)?;
    let program = expand(&ready.launch.program, dir);
    let path = Path::new(&program);
    (!path.is_absolute() || path.exists()).then_some(ready)
}

/// How a hydration ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// This call ran the plan.
    Hydrated,
    /// Another process (or an earlier run) had already hydrated it.
    AlreadyReady,
}

/// Runs plans for one host.
#[derive(Debug, Clone)]
pub struct Executor {
    store: ObjectStore,
    reporter: Reporter,
}

impl Executor {
    /// An executor reading packed sources from `store` and reporting through `reporter`.
    pub fn new(store: ObjectStore, reporter: Reporter) -> Self {
        Self { store, reporter }
    }

    /// Hydrates `resolution` (planned by `resolver`) for the MCP `entry` into `dir` under the
    /// artifact's lock, unless it is ready already. On failure `dir` has no `.ready` and keeps
    /// its `.hydrate.log`.
    pub fn hydrate(
        &self,
        entry: &str,
        resolver: &str,
        resolution: &Resolution,
        dir: &Path,
    ) -> Result<(Ready, Outcome), Error> {
        let parent = dir.parent().unwrap_or(dir);
        fs::create_dir_all(parent).map_err(|e| Error::io("create", parent, e))?;
        let lock_path = dir.with_extension("lock");
        let _lock = match LockGuard::acquire(&lock_path, Wait::No) {
            Ok(lock) => lock,
            Err(LockError::Busy(_)) => {
                self.reporter
                    .status(&format!("waiting for another hydration of MCP `{entry}`"));
                LockGuard::acquire(&lock_path, Wait::Forever)
                    .map_err(|e| lock_error(&lock_path, e))?
            }
            Err(e) => return Err(lock_error(&lock_path, e)),
        };
        if let Some(ready) = read_launchable(dir) {
            return Ok((ready, Outcome::AlreadyReady));
        }
        // A directory without `.ready` is a failed or interrupted hydration: start afresh.
        if dir.exists() {
            fs::remove_dir_all(dir).map_err(|e| Error::io("remove", dir, e))?;
        }
        fs::create_dir_all(dir).map_err(|e| Error::io("create", dir, e))?;
        let mut run = steps::StepRunner::new(entry, dir, &self.store, &self.reporter)?;
        for (i, step) in resolution.plan.steps.iter().enumerate() {
            self.reporter.status(&format!(
                "MCP `{entry}`: step {}/{} {}",
                i + 1,
                resolution.plan.steps.len(),
                step.kind()
            ));
            run.step(step)?;
        }
        let ready = Ready {
            resolver: resolver.to_owned(),
            version: resolution.version.clone(),
            cache_key: resolution.cache_key.clone(),
            launch: resolution.plan.launch.clone(),
            hydrated_at: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
        };
        run.finish()?;
        // Last: the marker that makes the artifact visible to launchers.
        let path = dir.join(READY_FILE);
        let bytes = serde_json::to_vec_pretty(&ready).expect("Ready serialises");
        fsx::write_atomic(&path, &bytes, None).map_err(|e| Error::io("write", &path, e))?;
        Ok((ready, Outcome::Hydrated))
    }
}

fn lock_error(path: &Path, e: LockError) -> Error {
    Error::io("lock", path, std::io::Error::other(e.to_string()))
}
