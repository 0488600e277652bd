//! The `codexport-mcp-run` binary.

fn main() -> std::process::ExitCode {
    eprintln!("error: codexport-mcp-run is not built yet");
    std::process::ExitCode::from(1)
}
