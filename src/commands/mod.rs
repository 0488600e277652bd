//! One module per command group; each verb is one file with one documented entry function.

pub(crate) mod apply;
pub(crate) mod backups;
pub(crate) mod completions;
pub(crate) mod demo;
pub(crate) mod follower;
pub(crate) mod gc;
pub(crate) mod hook;
pub(crate) mod master;
pub(crate) mod mcp;
pub(crate) mod resolver;
pub(crate) mod restore;
pub(crate) mod status;
pub(crate) mod sync;
pub(crate) mod verify;

use codexport_core::Homes;

/// The homes from the environment, resolved once at the edge.
pub(crate) fn homes() -> anyhow::Result<Homes> {
    Ok(Homes::from_env()?)
}
