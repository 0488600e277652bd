//! The Codex CLI the tests check generated files against, installed once into `.tools/codex`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The Codex CLI version tests check generated files against (REFERENCE.md describes it).
pub const CODEX_VERSION: &str = "0.169.0";

/// The `codex` binary, installed with npm into the repo's `.tools/codex` on first use (needs
/// the npm registry or its cache then; `scripts/setup.sh` does the same).
pub fn codex_bin() -> PathBuf {
    static CODEX: OnceLock<PathBuf> = OnceLock::new();
    CODEX
        .get_or_init(|| {
            // This crate sits one level below the repository root.
            let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
            let prefix = root.join(".tools/codex");
            let manifest = prefix.join("node_modules/@openai/codex/package.json");
            // nextest runs each test in its own process: one installs, the others wait.
            let _lock = codexport_core::lock::LockGuard::acquire(
                &prefix.with_extension("lock"),
                codexport_core::lock::Wait::Forever,
            )
            .unwrap();
            let installed = fs::read_to_string(&manifest)
                .is_ok_and(|p| p.contains(&format!("\"version\": \"{CODEX_VERSION}\"")));
            if !installed {
                let status = Command::new("npm")
                    .args([
                        "install",
                        "--no-audit",
                        "--no-fund",
                        "--save-exact",
                        "--prefix",
                    ])
                    .arg(&prefix)
                    .arg(format!("@openai/codex@{CODEX_VERSION}"))
                    .status()
                    .expect("npm runs (scripts/setup.sh installs node and npm)");
                assert!(status.success(), "npm install @openai/codex failed");
            }
            prefix.join("node_modules/.bin/codex")
        })
        .clone()
}
