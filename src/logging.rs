//! `tracing` to stderr, filtered by `-v`/`-q`, `CODEXPORT_LOG` or `RUST_LOG`.

use codexport_core::env;
use tracing_subscriber::EnvFilter;

/// Installs the stderr subscriber. Never writes to stdout.
pub(crate) fn init(verbose: u8, quiet: bool) {
    let default = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, 2) => "debug",
        (false, _) => "trace",
    };
    let filter = std::env::var(env::CODEXPORT_LOG)
        .or_else(|_| std::env::var(env::RUST_LOG))
        .ok()
        .filter(|_| verbose == 0)
        .and_then(|spec| EnvFilter::try_new(spec).ok())
        .unwrap_or_else(|| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(
            std::env::var_os(env::NO_COLOR).is_none()
                && std::io::IsTerminal::is_terminal(&std::io::stderr()),
        )
        .without_time()
        .with_target(false)
        .try_init();
}
