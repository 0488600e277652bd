//! MCP servers as data: Codex's `[mcp_servers.NAME]` tables, the portable manifest the master
//! publishes, the seam through which a snapshot obtains it, and a hydrated artifact's record on
//! disk (what the launcher reads). Inference and hydration of artifacts belong to
//! `codexport-resolvers`.

pub mod artifact;
pub mod config;
pub mod export;
pub mod manifest;
pub mod plugins;
pub mod requirements;
