//! `codexport hook ...`: codexport's Codex SessionStart hook on a follower.

pub(crate) mod install;
pub(crate) mod session;
pub(crate) mod status;
pub(crate) mod uninstall;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use codexport_core::lock::{LockGuard, Wait};
use codexport_core::{Homes, binaries};

/// The installed codexport (`~/.codexport/bin/codexport`), refreshed from this binary first:
/// what the hook and the master's service run, so they outlive npm's cache or a cargo target
/// dir this binary may run from.
pub(crate) fn installed_exe(homes: &Homes) -> anyhow::Result<PathBuf> {
    binaries::stable_codexport(homes)
        .with_context(|| format!("cannot install codexport into `{}`", homes.bin().display()))
}

/// The tool home's lock, waited for a little: an apply may be writing the same files.
pub(crate) fn lock(homes: &Homes) -> anyhow::Result<LockGuard> {
    LockGuard::acquire(&homes.lock(), Wait::For(Duration::from_secs(10)))
        .map_err(|e| codexport_core::Error::from(e).into())
}
