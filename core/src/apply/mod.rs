//! Apply: turn a staged revision into files in the Codex home and the other roots.
//!
//! Three stages, each its own module so later work can hook in:
//! [`desired`] computes the files the revision asks for, [`transform`] rewrites that set
//! (config layering and overlays go there), [`execute`] backs up, writes atomically, deletes
//! only managed files, and records `state.json` and `mcp-manifest.json`.

pub mod desired;
pub mod execute;
pub mod transform;

use crate::Homes;
use crate::error::Result;
use crate::revision::Revision;

pub use desired::{DesiredFile, Source, desired_files};
pub use execute::{ApplyReport, execute};

/// Applies `revision` (already verified and fetched) to the homes. The caller holds the lock.
pub fn apply(homes: &Homes, revision: &Revision) -> Result<ApplyReport> {
    let files = desired_files(revision);
    let files = transform::transform(homes, revision, files)?;
    execute(homes, revision, &files)
}
