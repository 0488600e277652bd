//! The `codexport-mcp-run` binary as the root package builds it ([`codexport_launcher::main`]):
//! one `cargo install` (also of the published crate, which holds only files under this
//! package's own directory) installs it beside `codexport`.

fn main() -> std::process::ExitCode {
    codexport_launcher::main()
}
