//! Master side of `npm`: `node <file in node_modules>`, a PATH shim that leads into
//! `node_modules` (npm prefixes, the npx cache, nvm/fnm/volta/pnpm layouts), and `npx pkg`.

use std::path::{Path, PathBuf};

use codexport_core::mcp::manifest::{ArtifactSpec, McpEntry};

use crate::ecosystem::argv::{self, Arg};
use crate::ecosystem::node::{self, Package, node_script};
use crate::ecosystem::{self, Program};
use crate::spec::{BuiltinSpec, NpmSpec};
use crate::{Error, InferContext};

/// The spec for `entry`, or `None` when it is not a `npm` artifact.
pub(super) fn infer(
    cx: &InferContext<'_>,
    entry: &McpEntry,
) -> Result<Option<ArtifactSpec>, Error> {
    let Some(command) = entry.command.as_deref() else {
        return Ok(None);
    };
    if ecosystem::is_program(command, "npx") {
        return npx(cx, entry);
    }
    if ecosystem::is_program(command, "node") || ecosystem::is_program(command, "nodejs") {
        let Some((script, rest)) = node_script(&entry.args) else {
            return Ok(None);
        };
        let Some(file) = ecosystem::existing_file(cx, entry, script) else {
            return Ok(None);
        };
        return from_file(entry, &file, rest);
    }
    let Some(program) = ecosystem::locate(cx, entry, command) else {
        return Ok(None);
    };
    for file in program_files(&program) {
        if let Some(spec) = from_file(entry, &file, &entry.args)? {
            return Ok(Some(spec));
        }
    }
    Ok(None)
}

/// Files that may belong to an npm package: the program's real path, the script a shim
/// runs, and what a volta shim stands for.
fn program_files(program: &Program) -> Vec<PathBuf> {
    let mut files = vec![program.real.clone()];
    if let Some(target) = node::shim_target(&program.given) {
        files.push(target);
    }
    if let Some(target) = volta_target(program) {
        files.push(target);
    }
    files
}

/// Volta's bins are links to one `volta-shim` binary; `tools/user/bins/<bin>.json` says
/// which package provides the bin, and the package lives in `tools/image/packages/<pkg>`.
fn volta_target(program: &Program) -> Option<PathBuf> {
    if ecosystem::bin_name(&program.real) != "volta-shim" {
        return None;
    }
    let volta = program.given.parent()?.parent()?;
    let bin = ecosystem::bin_name(&program.given);
    let record =
        std::fs::read_to_string(volta.join("tools/user/bins").join(format!("{bin}.json"))).ok()?;
    let record: serde_json::Value = serde_json::from_str(&record).ok()?;
    let package = record.get("package")?.as_str()?;
    let image = volta.join("tools/image/packages").join(package);
    let root = ["lib/node_modules", "node_modules"]
        .iter()
        .map(|m| image.join(m).join(package))
        .find(|root| root.join("package.json").is_file())?;
    let pkg = std::fs::read_to_string(root.join("package.json")).ok()?;
    let pkg: serde_json::Value = serde_json::from_str(&pkg).ok()?;
    let target = match pkg.get("bin")? {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Object(map) => map.get(&bin)?.as_str()?.to_owned(),
        _ => return None,
    };
    Some(root.join(target))
}

/// The spec when `file` lies in an installed package.
fn from_file(
    entry: &McpEntry,
    file: &Path,
    args: &[String],
) -> Result<Option<ArtifactSpec>, Error> {
    if !node::in_node_modules(file) {
        return Ok(None);
    }
    let Some(root) = node::package_root(file) else {
        return Ok(None);
    };
    let package = Package::read(entry, root)?;
    let (bin, script) = match package.bin_for(file) {
        Some(bin) => (bin.to_owned(), None),
        None => (
            package.default_bin(),
            Some(ecosystem::relative(&package.root, file).unwrap_or_default()),
        ),
    };
    Ok(Some(
        NpmSpec {
            package: package.name,
            version: package.version,
            bin,
            script,
            args: args.to_vec(),
        }
        .to_artifact(Vec::new()),
    ))
}

/// `npx [-y] [-p pkg[@ver]] pkg[@ver]|bin [args]`.
fn npx(cx: &InferContext<'_>, entry: &McpEntry) -> Result<Option<ArtifactSpec>, Error> {
    let mut package: Option<&str> = None;
    let mut scan = argv::NPX.scan(&entry.args);
    let (target, rest) = loop {
        match scan.next() {
            None => return Ok(None),
            Some(Arg::Opt {
                name: "-c" | "--call",
                ..
            }) => return Ok(None),
            Some(Arg::Opt {
                name: "-p" | "--package",
                value,
            }) => package = value,
            Some(Arg::Opt { .. } | Arg::DashDash) => {}
            Some(Arg::Positional(target)) => break (target, scan.rest()),
        }
    };
    let (name, range) = node::split_spec(package.unwrap_or(target));
    let explicit_bin = package.is_some().then(|| target.to_owned());
    let exact = range.filter(|r| semver::Version::parse(r).is_ok());
    let wanted = match exact {
        Some(v) => Some(format!("={v}")),
        None => range.filter(|r| *r != "latest").map(str::to_owned),
    };
    let cached = node::npx_cached(entry, &npm_cache(cx), name, wanted.as_deref())?;
    let (version, default_bin) = match (exact, &cached) {
        (_, Some(pkg)) => (pkg.version.clone(), pkg.default_bin()),
        (Some(v), None) => {
            tracing::warn!(
                entry = %entry.name,
                package = name,
                "`{name}@{v}` is not in the npx cache: its bin is assumed to be `{}` (npx's default)",
                node::unscoped(name)
            );
            (v.to_owned(), node::unscoped(name).to_owned())
        }
        (None, None) => {
            let unpinned = range.unwrap_or("latest").to_owned();
            tracing::warn!(
                entry = %entry.name,
                package = name,
                version = %unpinned,
                "`npx` runs an unpinned package that is not in the npx cache: followers install `{name}@{unpinned}`; pin a version in the command to make them match"
            );
            (unpinned, node::unscoped(name).to_owned())
        }
    };
    Ok(Some(
        NpmSpec {
            package: name.to_owned(),
            version,
            bin: explicit_bin.unwrap_or(default_bin),
            script: None,
            args: rest.to_vec(),
        }
        .to_artifact(Vec::new()),
    ))
}

/// npm's cache directory: `npm_config_cache`, else `~/.npm` (`%LocalAppData%\npm-cache` on
/// Windows).
fn npm_cache(cx: &InferContext<'_>) -> PathBuf {
    let configured = ["npm_config_cache", "NPM_CONFIG_CACHE"]
        .iter()
        .find_map(|k| cx.env.get(*k).filter(|v| !v.is_empty()));
    if let Some(dir) = configured {
        return PathBuf::from(dir);
    }
    if cfg!(windows)
        && let Some(local) = cx.env.get("LOCALAPPDATA")
    {
        return Path::new(local).join("npm-cache");
    }
    cx.homes.user.join(".npm")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ecosystem::test_support::{Master, stdio_entry};

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    fn spec(artifact: Option<ArtifactSpec>) -> NpmSpec {
        let artifact = artifact.expect("recognised");
        NpmSpec::from_artifact("e", &artifact).unwrap()
    }

    #[test]
    fn node_with_a_package_file_that_no_bin_names_records_the_script() {
        let tmp = tempfile::tempdir().unwrap();
        let master = Master::new(tmp.path());
        let pkg = tmp.path().join("prefix/lib/node_modules/@s/p");
        write(
            &pkg.join("package.json"),
            r#"{"name":"@s/p","version":"1.2.3","bin":{"p":"dist/cli.js"}}"#,
        );
        write(&pkg.join("dist/cli.js"), "");
        write(&pkg.join("dist/other.js"), "");
        let run = |file: &str| {
            let e = stdio_entry(
                "e",
                "node",
                &[pkg.join(file).to_str().unwrap(), "--port", "1"],
            );
            spec(infer(&master.cx(), &e).unwrap())
        };
        let bin = run("dist/cli.js");
        assert_eq!((bin.bin.as_str(), bin.script), ("p", None));
        assert_eq!(bin.args, ["--port", "1"]);
        let other = run("dist/other.js");
        assert_eq!(other.script.as_deref(), Some("dist/other.js"));
        assert_eq!(other.version, "1.2.3");
    }

    #[test]
    fn npx_pins_explicit_versions_and_looks_in_the_cache_otherwise() {
        let tmp = tempfile::tempdir().unwrap();
        let master = Master::new(tmp.path());
        let cx = master.cx();
        let pinned =
            spec(infer(&cx, &stdio_entry("e", "npx", &["-y", "@s/p@1.0.0", "a"])).unwrap());
        assert_eq!(
            pinned,
            NpmSpec {
                package: "@s/p".into(),
                version: "1.0.0".into(),
                bin: "p".into(),
                script: None,
                args: vec!["a".into()],
            }
        );
        let unpinned = spec(infer(&cx, &stdio_entry("e", "npx", &["-y", "q"])).unwrap());
        assert_eq!(unpinned.version, "latest");
        write(
            &master
                .homes
                .user
                .join(".npm/_npx/0a1b/node_modules/q/package.json"),
            r#"{"name":"q","version":"3.1.0","bin":{"q-server":"i.js"}}"#,
        );
        let cached = spec(infer(&cx, &stdio_entry("e", "npx", &["q", "--", "x"])).unwrap());
        assert_eq!(
            (cached.version.as_str(), cached.bin.as_str()),
            ("3.1.0", "q-server")
        );
        let with_package = spec(
            infer(
                &cx,
                &stdio_entry("e", "/usr/bin/npx", &["--package=q@2.0.0", "q-cli", "x"]),
            )
            .unwrap(),
        );
        assert_eq!(
            (
                with_package.version.as_str(),
                with_package.bin.as_str(),
                with_package.args
            ),
            ("2.0.0", "q-cli", vec!["x".to_owned()])
        );
        assert!(
            infer(&cx, &stdio_entry("e", "npx", &["-y"]))
                .unwrap()
                .is_none()
        );
    }

    #[cfg(unix)]
    #[test]
    fn path_shims_resolve_through_their_links() {
        let tmp = tempfile::tempdir().unwrap();
        let mut master = Master::new(tmp.path());
        let prefix = tmp.path().join("nvm/versions/node/v20.1.0");
        let pkg = prefix.join("lib/node_modules/srv");
        write(
            &pkg.join("package.json"),
            r#"{"name":"srv","version":"0.4.0","bin":"bin/srv.js"}"#,
        );
        write(&pkg.join("bin/srv.js"), "");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            pkg.join("bin/srv.js"),
            std::fs::Permissions::from_mode(0o755),
        )
        .unwrap();
        std::fs::create_dir_all(prefix.join("bin")).unwrap();
        std::os::unix::fs::symlink("../lib/node_modules/srv/bin/srv.js", prefix.join("bin/srv"))
            .unwrap();
        master.env.insert(
            "PATH".into(),
            prefix.join("bin").to_string_lossy().into_owned(),
        );
        let got = spec(infer(&master.cx(), &stdio_entry("e", "srv", &["stdio"])).unwrap());
        assert_eq!(
            (got.package.as_str(), got.version.as_str(), got.bin.as_str()),
            ("srv", "0.4.0", "srv")
        );
        assert!(
            infer(&master.cx(), &stdio_entry("e", "absent", &[]))
                .unwrap()
                .is_none()
        );
    }

    #[cfg(unix)]
    #[test]
    fn volta_shims_lead_to_the_package_volta_installed() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let mut master = Master::new(tmp.path());
        let volta = master.homes.user.join(".volta");
        write(&volta.join("bin/volta-shim"), "ELF");
        std::fs::set_permissions(
            volta.join("bin/volta-shim"),
            std::fs::Permissions::from_mode(0o755),
        )
        .unwrap();
        std::os::unix::fs::symlink(volta.join("bin/volta-shim"), volta.join("bin/srv")).unwrap();
        write(
            &volta.join("tools/user/bins/srv.json"),
            r#"{"name":"srv","package":"@s/srv","version":"1.0.0"}"#,
        );
        let pkg = volta.join("tools/image/packages/@s/srv/lib/node_modules/@s/srv");
        write(
            &pkg.join("package.json"),
            r#"{"name":"@s/srv","version":"1.4.2","bin":{"srv":"dist/cli.js"}}"#,
        );
        write(&pkg.join("dist/cli.js"), "");
        master.env.insert(
            "PATH".into(),
            volta.join("bin").to_string_lossy().into_owned(),
        );
        let got = spec(infer(&master.cx(), &stdio_entry("e", "srv", &[])).unwrap());
        assert_eq!(
            (got.package.as_str(), got.version.as_str(), got.bin.as_str()),
            ("@s/srv", "1.4.2", "srv")
        );
    }
}
