//! MCP servers as data: Codex's `[mcp_servers.NAME]` tables, the portable manifest the master
//! publishes, and the seam through which a snapshot obtains it. Inference and hydration of
//! artifacts belong to `codexport-resolvers`.

pub mod config;
pub mod export;
pub mod manifest;
pub mod plugins;
pub mod requirements;
