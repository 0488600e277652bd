//! codexport's sync core: where things live, what is selected from a Codex home, how it is
//! hashed into signed revisions and served, and how a follower pulls, stages and applies them.
//!
//! It owns the on-disk layout, the protocol and every write into the Codex home. It knows MCP
//! entries only as data ([`manifest`]): inferring and hydrating artifacts is
//! `codexport-resolvers`' job, and the CLI wires the two together.

pub mod backups;
pub mod env;
pub mod error;
pub mod exit;
pub mod fsx;
pub mod homes;
pub mod hooks;
pub mod journal;
pub mod layer;
pub mod lock;
pub mod manifest;
pub mod mcp_config;
pub mod mcp_export;
pub mod pathmap;
pub mod service;
pub mod store;

pub use error::Error;
pub use exit::{Diagnose, ExitStatus};
pub use homes::Homes;
