//! codexport's in-process MCP hydration and `mcp doctor`: the resolvers, the plan executor and
//! the launcher wired together for the CLI.
//!
//! [`hydrate::Hydrator`] makes an entry's artifact ready (`mcp hydrate`, `mcp plan`, and the
//! launcher through `codexport mcp hydrate NAME`); [`doctor`] checks an entry from its spec to
//! a live handshake. The launcher's own hot path lives in `codexport-launcher`, which holds
//! none of this (no wasm engine, HTTP client or async runtime).

pub mod doctor;
mod error;
pub mod hydrate;

pub use error::Error;
