//! Names of every environment variable codexport reads, in one place for code, clap and tests.

/// Codex's own home (`~/.codex` when unset or empty).
pub const CODEX_HOME: &str = "CODEX_HOME";
/// codexport's tool home (`~/.codexport` when unset or empty).
pub const CODEXPORT_HOME: &str = "CODEXPORT_HOME";
/// The user's home on Unix.
pub const HOME: &str = "HOME";
/// The user's home on Windows.
pub const USERPROFILE: &str = "USERPROFILE";
/// Executable search path.
pub const PATH: &str = "PATH";
/// Base URL of the GitHub REST API (mirrors, GitHub Enterprise, loopback test fixtures).
pub const GITHUB_API_URL: &str = "CODEXPORT_GITHUB_API_URL";
/// GitHub token, first choice.
pub const GITHUB_TOKEN: &str = "GITHUB_TOKEN";
/// GitHub token, second choice (the `gh` CLI's name).
pub const GH_TOKEN: &str = "GH_TOKEN";
/// uv's tool directory override.
pub const UV_TOOL_DIR: &str = "UV_TOOL_DIR";
/// uv's tool bin directory override.
pub const UV_TOOL_BIN_DIR: &str = "UV_TOOL_BIN_DIR";
/// cargo's home (`~/.cargo` when unset).
pub const CARGO_HOME: &str = "CARGO_HOME";
/// Log filter for `tracing` (same syntax as `RUST_LOG`).
pub const CODEXPORT_LOG: &str = "CODEXPORT_LOG";
/// Standard log filter, honoured when `CODEXPORT_LOG` is unset.
pub const RUST_LOG: &str = "RUST_LOG";
/// Disables colour when set to anything (https://no-color.org).
pub const NO_COLOR: &str = "NO_COLOR";
/// The highest protocol a follower speaks: `1` keeps it on v1 (the benchmark comparing both,
/// tests of the v1 path masters still serve); unset or anything else, v2 when the master has
/// it.
pub const PROTOCOL: &str = "CODEXPORT_PROTOCOL";
/// Tests of crash safety only: abort an apply journal run after this many operations.
pub const TEST_CRASH_AFTER: &str = "CODEXPORT_TEST_CRASH_AFTER";
/// Where systemd and other XDG programs keep per-user configuration (`~/.config` when unset).
pub const XDG_CONFIG_HOME: &str = "XDG_CONFIG_HOME";
/// The per-user runtime directory a systemd user session creates (holds its bus socket).
pub const XDG_RUNTIME_DIR: &str = "XDG_RUNTIME_DIR";
/// The user's Windows domain (or machine name), for scheduled tasks.
pub const USERDOMAIN: &str = "USERDOMAIN";
/// The user's Windows account name, for scheduled tasks.
pub const USERNAME: &str = "USERNAME";
/// Set to anything: an apply does not start `codexport mcp hydrate --all` in the background
/// (containers, CI, scripts that hydrate explicitly).
pub const NO_BACKGROUND_HYDRATE: &str = "CODEXPORT_NO_BACKGROUND_HYDRATE";
/// The `codexport` executable to run instead of the one beside the running binary: the
/// launcher runs it as `codexport mcp hydrate NAME` when an artifact is not hydrated (and the
/// npm shim runs it in place of the platform package's binary).
pub const CODEXPORT_BINARY: &str = "CODEXPORT_BINARY";
/// The Codex CLI `verify` and `hook install` ask about hooks (`codex` on PATH when unset;
/// empty: ask none and rely on codexport's own hash recipe).
pub const CODEXPORT_CODEX: &str = "CODEXPORT_CODEX";
