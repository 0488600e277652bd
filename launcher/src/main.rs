//! The `codexport-mcp-run` binary: `codexport-mcp-run mcp run NAME` ([`codexport_launcher::main`]).
//!
//! Built by this package with `--features standalone`; the root package builds the same
//! program from `src/bin/codexport-mcp-run.rs` (so `cargo install`, also of the published
//! crate, installs it beside `codexport`).

fn main() -> std::process::ExitCode {
    codexport_launcher::main()
}
