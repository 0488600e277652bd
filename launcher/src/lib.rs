//! `codexport-mcp-run`, the launcher Codex spawns for every synced command MCP on a follower.
//!
//! It finds the entry in `~/.codexport/mcp-manifest.json`, restores its env, rewrites master
//! paths, and execs the hydrated server; when the artifact is not ready it hydrates it through
//! `codexport-resolvers` first. Its stdout belongs to the MCP server: everything the launcher
//! itself says goes to stderr. The hot path ([`run`] with a ready artifact) reads the manifest
//! and one `.ready` file and execs: no async runtime, no HTTP client, no wasm engine.
//!
//! Also here, for the CLI: [`hydrate`] (`mcp hydrate`, `mcp plan`), [`install`] (the launcher
//! binary in `~/.codexport/bin` and the detached post-apply hydration), [`doctor`] (`mcp
//! doctor`), and [`probe`], a small MCP stdio client that `mcp doctor`, tests and benchmarks
//! reuse.

pub mod doctor;
mod error;
pub mod hydrate;
pub mod install;
pub mod manifest;
pub mod probe;
pub mod run;

pub use error::Error;
pub use run::run;
