//! The master's side: what it selects from the Codex home, how it snapshots and publishes signed
//! revisions, the follower tokens it hands out, the HTTP server and the per-user service.

pub mod publish;
pub mod selection;
#[cfg(feature = "net")]
pub mod server;
pub mod service;
pub(crate) mod snapshot;
pub mod tokens;
