//! codexport's MCP resolvers: master-side inference that turns a Codex MCP entry into a
//! portable artifact spec, the plan model, built-in resolvers (npm, uv, local source, cargo,
//! GitHub release, url, path), the wasm plugin host, and the executor that hydrates plans into
//! `~/.codexport/mcp-artifacts`.
//!
//! It reads manifest types from `codexport-core` and never writes into the Codex home.

pub mod builtin;
mod ecosystem;
mod error;
pub mod executor;
pub mod export;
pub mod github;
pub mod hints;
mod http;
mod pack;
pub mod plan;
pub mod platform;
pub mod registry;
pub mod resolver;
pub mod spec;
pub mod wasm;

pub use error::Error;
pub use export::RegistryExport;
pub use hints::{InferSettings, McpHint, SettingsError};
pub use plan::{Launch, Plan, Resolution, Step};
pub use platform::Platform;
pub use registry::Registry;
pub use resolver::{
    GithubConfig, InferContext, InferNotes, Mode, ResolveContext, Resolver, SourceLimits,
};
