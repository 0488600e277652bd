//! `codexport-mcp-run`, the launcher Codex spawns for every synced command MCP on a follower.
//!
//! It finds the entry in `~/.codexport/mcp-manifest.json`, restores its env, rewrites master
//! paths, and execs the hydrated server; when the artifact is not ready it hydrates it through
//! `codexport-resolvers` first. Its stdout belongs to the MCP server: everything the launcher
//! itself says goes to stderr. The hot path loads no async runtime and no wasm engine.
//!
//! [`probe`] is a small MCP stdio client that `mcp doctor`, tests and benchmarks reuse.

pub mod probe;
