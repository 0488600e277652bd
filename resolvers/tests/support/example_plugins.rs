//! Builds the example resolver plugins of `resolver-sdk/examples` for wasm32-wasip2, once per
//! process, for the tests and benchmarks that drive them (included with `#[path]`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The directory holding `<crate_file>.wasm` for every example plugin.
///
/// `examples` is the examples workspace. The plugins are built beside the running test's
/// target dir (`<target>/wasm-plugins`), never inside it: cargo holds that one's lock.
pub(crate) fn example_plugins_dir(examples: &Path) -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        // <target>/<profile>/deps/<test>-HASH
        let exe = std::env::current_exe().unwrap();
        let target = exe.ancestors().nth(3).unwrap().join("wasm-plugins");
        let out = Command::new(env!("CARGO"))
            .args(["build", "--release", "--locked", "--target", "wasm32-wasip2"])
            .arg("--manifest-path")
            .arg(examples.join("Cargo.toml"))
            .env("CARGO_TARGET_DIR", &target)
            // Host flags (e.g. a linker choice) must not reach the wasm build.
            .env_remove("RUSTFLAGS")
            .output()
            .expect("cargo runs");
        assert!(
            out.status.success(),
            "building the example plugins failed (is the wasm32-wasip2 target installed? `rustup target add wasm32-wasip2`):\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        target.join("wasm32-wasip2/release")
    })
}
