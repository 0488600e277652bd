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
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use codexport_core::fsx;
use codexport_core::lock::{LockError, LockGuard, Wait};
use codexport_core::store::ObjectStore;

use crate::Error;
use crate::plan::Resolution;

pub use archive::{Limits, extract_with};
pub use progress::Reporter;
pub use steps::find_tool;

// The artifact record the launcher reads lives in core, free of the resolvers.
pub use codexport_core::mcp::artifact::{
    LOG_FILE, READY_FILE, Ready, artifact_dir, artifact_key, expand, read_launchable, read_ready,
};

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
