//! codexport's sync core: where things live, what is selected from a Codex home, how it is
//! hashed into signed revisions and served, and how a follower pulls, stages and applies them.
//!
//! It owns the on-disk layout, the protocol and every write into the Codex home. It knows MCP
//! entries only as data ([`manifest`]): inferring and hydrating artifacts is
//! `codexport-resolvers`' job, and the CLI wires the two together.

pub mod apply;
pub mod backups;
pub mod client;
pub mod config;
pub mod duration;
pub mod env;
pub mod error;
pub mod exit;
pub mod follower;
pub mod followers;
pub mod fsx;
pub mod homes;
pub mod hooks;
pub mod identity;
pub mod journal;
pub mod layer;
pub mod link;
pub mod lock;
pub mod manifest;
pub mod master;
pub mod mcp_config;
pub mod mcp_export;
pub mod pathmap;
pub mod revision;
pub mod selection;
pub mod server;
pub mod service;
pub mod snapshot;
pub mod state;
pub mod status;
pub mod store;

pub use error::{Error, Result};
pub use exit::{Diagnose, ExitStatus};
pub use homes::Homes;
