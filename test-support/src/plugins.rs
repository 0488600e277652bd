//! Builds the example resolver plugins of `resolver-sdk/examples` for wasm32-wasip2, once per
//! process, for the tests and benchmarks that drive them.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// An example resolver plugin (`github_binaries`, `cargo_git`, `misbehave`): the path of its
/// `.wasm`, built on first use.
pub fn example_plugin(crate_file: &str) -> PathBuf {
    example_plugins_dir().join(format!("{crate_file}.wasm"))
}

/// The directory holding `<crate_file>.wasm` for every example plugin, built on first use.
///
/// The plugins are built beside the running test's target dir (`<target>/wasm-plugins`, so
/// the root's and the resolvers crate's tests share one build), never inside it: cargo holds
/// that one's lock.
pub fn example_plugins_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let examples = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .unwrap()
            .join("resolver-sdk/examples");
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
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .env_remove("CARGO_BUILD_RUSTFLAGS")
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
