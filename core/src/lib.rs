//! codexport's sync core: where things live, what is selected from a Codex home, how it is
//! hashed into signed revisions and served, and how a follower pulls, stages and applies them.
//!
//! It owns the on-disk layout, the protocol and every write into the Codex home. It knows MCP
//! entries only as data ([`mcp::manifest`]): inferring and hydrating artifacts is
//! `codexport-resolvers`' job, and the CLI wires the two together.
//!
//! Layout: [`master`] (selection, snapshot, publish, tokens, server, service), [`follower`]
//! (client, stage, layering, apply, journal, backups, state), [`mcp`] (Codex's MCP tables and
//! the portable manifest), [`hooks`] (Codex's `hooks.json` and hook trust), [`settings`]
//! (`master.toml`, `local.toml`); the modules at the top are shared by both roles.

// Shared by both roles.
pub mod binaries;
pub mod clock;
pub mod codex;
pub mod duration;
pub mod env;
mod error;
mod exit;
pub mod fsx;
pub mod gc;
pub mod homes;
pub mod identity;
pub mod link;
pub mod lock;
pub mod pathmap;
mod report;
pub mod revision;
#[cfg(feature = "net")]
pub mod status;
pub mod store;
pub mod suggest;
#[cfg(test)]
mod test_child;
#[cfg(feature = "net")]
pub mod tls;
pub mod tree;

// By role and concept.
pub mod follower;
pub mod hooks;
pub mod master;
pub mod mcp;
pub mod settings;

pub use error::{Error, Result};
pub use exit::{Diagnose, ExitStatus};
pub use homes::{Homes, NoHomeDir};
pub use report::{escape_controls, render, report};
