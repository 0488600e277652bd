//! `codexport-mcp-run`, the launcher Codex spawns for every synced command MCP on a follower.
//!
//! It finds the entry in `~/.codexport/mcp-manifest.json`, checks that its artifact is
//! hydrated, restores its env, rewrites master paths, and execs the server. Its stdout belongs
//! to the MCP server: everything the launcher itself says goes to stderr. It holds no async
//! runtime, HTTP client or wasm engine (`codexport-core` without `net`, no resolvers): when an
//! artifact is not hydrated it runs `codexport mcp hydrate NAME` (the binary beside it, see
//! [`run::codexport_binary`]) with its output on stderr, then execs.
//!
//! Also here, for the CLI: [`spec`] (whether an entry has anything to launch here),
//! [`install`] (the installed binaries and the detached post-apply hydration), and [`probe`], a
//! small MCP stdio client that `mcp doctor`, tests and benchmarks reuse. Hydrating in-process
//! and `mcp doctor` live in `codexport-hydrate`.

mod cli;
mod error;
pub mod install;
pub mod manifest;
pub mod probe;
pub mod run;
#[cfg(windows)]
mod spawn_windows;
pub mod spec;

pub use cli::main;
pub use error::Error;
pub use run::run;
