//! Master side of `cargo`: a binary that `cargo install` put into `<root>/bin` (any
//! `CARGO_HOME` or `--root`: found by the root's `.crates2.json`). Installs from a local path,
//! binaries under a crate's `target/`, and `cargo run` commands become packed cargo `source`
//! artifacts.

use std::path::{Path, PathBuf};

use codexport_core::mcp::manifest::{ArtifactSpec, McpEntry};

use crate::ecosystem::argv::{self, Arg};
use crate::ecosystem::cargo::{self as records, Source};
use crate::ecosystem::{self, project};
use crate::pack;
use crate::spec::{BuiltinSpec, CargoSpec, SourceKind, SourceSpec};
use crate::{Error, InferContext};

/// The spec for `entry`, or `None` when it is not a `cargo` artifact.
pub(super) fn infer(
    cx: &InferContext<'_>,
    entry: &McpEntry,
) -> Result<Option<ArtifactSpec>, Error> {
    let Some(command) = entry.command.as_deref() else {
        return Ok(None);
    };
    if ecosystem::is_program(command, "cargo") {
        return cargo_run(cx, entry);
    }
    let Some(program) = ecosystem::locate(cx, entry, command) else {
        return Ok(None);
    };
    let bin = ecosystem::bin_name(&program.real);
    for path in program.paths() {
        let Some(root) = path
            .parent()
            .filter(|d| d.ends_with("bin"))
            .and_then(Path::parent)
        else {
            continue;
        };
        if let Some(install) = records::install_of(entry, root, &ecosystem::bin_name(path))? {
            let (git, rev, version) = match install.source {
                Source::Registry => (None, None, Some(install.version)),
                Source::Git { url, rev } => (Some(url), rev, None),
                Source::Path(crate_root) => {
                    return local_crate(cx, entry, &crate_root, bin, entry.args.clone()).map(Some);
                }
            };
            return Ok(Some(
                CargoSpec {
                    crate_name: install.name,
                    version,
                    git,
                    rev,
                    bin,
                    args: entry.args.clone(),
                }
                .to_artifact(Vec::new()),
            ));
        }
    }
    if let Some(crate_root) = built_in_target(&program.real) {
        return local_crate(cx, entry, &crate_root, bin, entry.args.clone()).map(Some);
    }
    Ok(None)
}

/// A binary under `<crate>/target/<profile>/` (or `target/<triple>/<profile>/`): the crate
/// (or workspace) root next to that `target`.
fn built_in_target(binary: &Path) -> Option<PathBuf> {
    binary
        .ancestors()
        .skip(1)
        .take(3)
        .find(|dir| dir.file_name().is_some_and(|n| n == "target"))
        .and_then(Path::parent)
        .filter(|root| root.join("Cargo.toml").is_file())
        .map(Path::to_owned)
}

/// `cargo run [--manifest-path P] [--bin B] [-- args]`, from the entry's `cwd` otherwise.
fn cargo_run(cx: &InferContext<'_>, entry: &McpEntry) -> Result<Option<ArtifactSpec>, Error> {
    let mut scan = argv::CARGO.scan(&entry.args);
    loop {
        match scan.next() {
            Some(Arg::Positional("run" | "r")) => break,
            Some(Arg::Positional(toolchain)) if toolchain.starts_with('+') => {}
            Some(Arg::Opt { .. }) => {}
            None | Some(Arg::Positional(_) | Arg::DashDash) => return Ok(None),
        }
    }
    let (mut manifest_path, mut bin) = (None, None);
    let server_args = loop {
        match scan.next() {
            None => break &[][..],
            Some(Arg::DashDash) => break scan.rest(),
            Some(Arg::Opt {
                name: "--manifest-path",
                value,
            }) => manifest_path = manifest_path.or(value),
            Some(Arg::Opt {
                name: "--bin",
                value,
            }) => bin = bin.or(value),
            Some(Arg::Opt { .. }) => {}
            // `cargo run` takes no positional argument before `--`.
            Some(Arg::Positional(_)) => return Ok(None),
        }
    };
    let manifest_dir = match manifest_path {
        Some(path) => {
            ecosystem::existing_file(cx, entry, path).and_then(|p| p.parent().map(Path::to_owned))
        }
        None => Some(ecosystem::base_dir(cx, entry)),
    };
    let Some(crate_root) = manifest_dir.and_then(|d| project::root_of(&d, SourceKind::Cargo))
    else {
        return Ok(None);
    };
    let bin = match bin {
        Some(bin) => bin.to_owned(),
        None => records::package_name(entry, &crate_root)?,
    };
    local_crate(cx, entry, &crate_root, bin, server_args.to_vec()).map(Some)
}

/// A local crate, packed; the follower builds `bin` from it.
fn local_crate(
    cx: &InferContext<'_>,
    entry: &McpEntry,
    root: &Path,
    bin: String,
    args: Vec<String>,
) -> Result<ArtifactSpec, Error> {
    project::check_root(cx, entry, root)?;
    let packed = pack::pack(cx, entry, root, None)?;
    Ok(SourceSpec {
        kind: SourceKind::Cargo,
        object: packed.object.clone(),
        root: root.to_string_lossy().into_owned(),
        entry: bin,
        args,
    }
    .to_artifact(vec![packed.object]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ecosystem::test_support::{Master, stdio_entry};

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn installed_binaries_map_to_their_crate_and_git_revision() {
        let tmp = tempfile::tempdir().unwrap();
        let master = Master::new(tmp.path());
        let root = tmp.path().join("cargo-home");
        write(&root.join("bin/gq"), "");
        write(
            &root.join(".crates2.json"),
            r#"{"installs":{"gitquarry 0.3.0 (git+https://github.com/o/gitquarry?branch=main#0123abcd)":{"bins":["gq"]}}}"#,
        );
        let entry = stdio_entry("e", root.join("bin/gq").to_str().unwrap(), &["mcp"]);
        let spec =
            CargoSpec::from_artifact("e", &infer(&master.cx(), &entry).unwrap().unwrap()).unwrap();
        assert_eq!(
            spec,
            CargoSpec {
                crate_name: "gitquarry".into(),
                version: None,
                git: Some("https://github.com/o/gitquarry".into()),
                rev: Some("0123abcd".into()),
                bin: "gq".into(),
                args: vec!["mcp".into()],
            }
        );
    }

    #[test]
    fn cargo_run_and_target_binaries_pack_the_crate() {
        let tmp = tempfile::tempdir().unwrap();
        let master = Master::new(tmp.path());
        let krate = master.homes.user.join("src/srv");
        write(
            &krate.join("Cargo.toml"),
            "[package]\nname = \"srv\"\nversion = \"0.1.0\"\n",
        );
        write(&krate.join("src/main.rs"), "fn main() {}");
        write(&krate.join("target/release/srv"), "binary");
        let manifest = krate.join("Cargo.toml");
        let run = stdio_entry(
            "e",
            "cargo",
            &[
                "run",
                "--release",
                "--manifest-path",
                manifest.to_str().unwrap(),
                "--",
                "--stdio",
            ],
        );
        let artifact = infer(&master.cx(), &run).unwrap().unwrap();
        let spec = SourceSpec::from_artifact("e", &artifact).unwrap();
        assert_eq!(
            (spec.kind, spec.entry.as_str(), spec.args),
            (SourceKind::Cargo, "srv", vec!["--stdio".to_owned()])
        );
        assert_eq!(artifact.objects, [spec.object.as_str()]);
        let listed = crate::pack::list(&master.store.read(&spec.object).unwrap());
        assert!(
            listed.iter().all(|(p, _)| !p.starts_with("target")),
            "{listed:?}"
        );
        let built = stdio_entry("e", krate.join("target/release/srv").to_str().unwrap(), &[]);
        let spec =
            SourceSpec::from_artifact("e", &infer(&master.cx(), &built).unwrap().unwrap()).unwrap();
        assert_eq!(spec.entry, "srv");
        assert!(
            infer(&master.cx(), &stdio_entry("e", "cargo", &["build"]))
                .unwrap()
                .is_none()
        );
    }
}
