//! `codexport hook ...`: codexport's Codex SessionStart hook on a follower.

pub(crate) mod install;
pub(crate) mod session;
pub(crate) mod status;
pub(crate) mod uninstall;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use codexport_core::Homes;
use codexport_core::lock::{LockGuard, Wait};

/// The absolute path of this codexport binary (what the hook runs).
pub(crate) fn current_exe() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("cannot find the codexport binary")?;
    Ok(std::fs::canonicalize(&exe).unwrap_or(exe))
}

/// The tool home's lock, waited for a little: an apply may be writing the same files.
pub(crate) fn lock(homes: &Homes) -> anyhow::Result<LockGuard> {
    LockGuard::acquire(&homes.lock(), Wait::For(Duration::from_secs(10)))
        .map_err(|e| codexport_core::Error::from(e).into())
}
