//! Shared helpers of codexport's integration tests and benchmarks (a dev-dependency only).
//!
//! It owns the one [`TestContext`] (temp master and follower homes, a free loopback port, a
//! `master serve` stopped when the test ends), the one manifest writer and entry builder
//! ([`mcp`]), the one loopback GitHub release fixture ([`github`]) and the hostile archives
//! it serves ([`archives`]), the one raw HTTP server of fake peers ([`raw_http`]) and what a
//! fake master answers with ([`fake_master`]), the Codex CLI the tests
//! check against, the build of the example wasm plugins, and the error snapshots
//! ([`assert_transcript!`]). The binaries under test belong to
//! the root package, whose `CARGO_BIN_EXE_*` only its own tests see: callers pass them in with
//! [`bins!`].

pub mod archives;
mod codex;
mod context;
pub mod fake_master;
pub mod github;
pub mod mcp;
mod plugins;
pub mod raw_http;
mod snapshot;

pub use codex::{CODEX_VERSION, CODEX_VERSIONS, app_server, codex_bin, codex_bin_of, codex_cmd};
pub use context::{
    Bins, Home, Ran, TestContext, free_port, output, port_open, run, text_tree, tree, write,
};
#[doc(hidden)]
pub use insta;
pub use plugins::{example_plugin, example_plugins_dir};
pub use snapshot::{regex_escape, snapshot_settings};

/// The binaries of the root package under test, from the calling test's `CARGO_BIN_EXE_*`
/// (set only while cargo builds the root package's tests and benches).
#[macro_export]
macro_rules! bins {
    () => {
        $crate::Bins {
            codexport: ::std::path::PathBuf::from(env!("CARGO_BIN_EXE_codexport")),
            launcher: ::std::path::PathBuf::from(env!("CARGO_BIN_EXE_codexport-mcp-run")),
        }
    };
}
