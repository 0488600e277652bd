//! The Codex CLI versions the tests check against, each installed once into `.tools/`
//! (0.169.0 in `.tools/codex`, newer ones in `.tools/codex-<version>`), and how to ask one.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use crate::Home;

/// The Codex CLI version most tests check generated files against (REFERENCE.md describes it).
pub const CODEX_VERSION: &str = "0.169.0";

/// Every Codex CLI version the tests that ask Codex itself run against, oldest first
/// (`scripts/setup.sh` installs them side by side).
pub const CODEX_VERSIONS: [&str; 2] = ["0.169.0", "0.171.0"];

/// The `codex` binary of [`CODEX_VERSION`].
pub fn codex_bin() -> PathBuf {
    codex_bin_of(CODEX_VERSION)
}

/// The `codex` binary of `version`, installed with npm on first use (needs the npm registry
/// or its cache then; `scripts/setup.sh` does the same).
pub fn codex_bin_of(version: &str) -> PathBuf {
    static BINS: OnceLock<Mutex<BTreeMap<String, PathBuf>>> = OnceLock::new();
    let mut bins = BINS.get_or_init(Default::default).lock().unwrap();
    if let Some(bin) = bins.get(version) {
        return bin.clone();
    }
    // This crate sits one level below the repository root.
    let tools = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .join(".tools");
    let prefix = if version == CODEX_VERSION {
        tools.join("codex")
    } else {
        tools.join(format!("codex-{version}"))
    };
    let manifest = prefix.join("node_modules/@openai/codex/package.json");
    // nextest runs each test in its own process: one installs, the others wait.
    let _lock = codexport_core::lock::LockGuard::acquire(
        &tools.join(format!("codex-{version}.lock")),
        codexport_core::lock::Wait::Forever,
    )
    .unwrap();
    let installed = fs::read_to_string(&manifest)
        .is_ok_and(|p| p.contains(&format!("\"version\": \"{version}\"")));
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
            .arg(format!("@openai/codex@{version}"))
            .status()
            .expect("npm runs (scripts/setup.sh installs node and npm)");
        assert!(
            status.success(),
            "npm install @openai/codex@{version} failed"
        );
    }
    let bin = prefix.join("node_modules/.bin/codex");
    bins.insert(version.to_owned(), bin.clone());
    bin
}

/// A `codex` command of `version` run as `home`'s machine (`TMPDIR` outside its Codex home,
/// which silences Codex's PATH-alias warning).
pub fn codex_cmd(version: &str, home: &Home) -> Command {
    let tmp = home.user.join("tmp");
    fs::create_dir_all(&tmp).unwrap();
    let mut cmd = Command::new(codex_bin_of(version));
    home.apply_env(&mut cmd);
    cmd.env("TMPDIR", &tmp).current_dir(&home.user);
    cmd
}

/// The `result` of one `codex app-server` request (after its `initialize` handshake) of
/// `version` for `home`.
pub fn app_server(
    version: &str,
    home: &Home,
    method: &str,
    params: serde_json::Value,
) -> serde_json::Value {
    codexport_core::codex::app_server(
        &codex_bin_of(version),
        &home.homes(),
        method,
        params,
        Duration::from_secs(60),
    )
    .unwrap_or_else(|e| panic!("codex {version} app-server `{method}`: {e}"))
}
