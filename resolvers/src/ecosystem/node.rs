//! npm facts: package roots inside `node_modules`, `package.json` name/version/bin, shim
//! scripts that point into `node_modules`, and the npx cache.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use codexport_core::mcp::manifest::McpEntry;
use serde::Deserialize;

use super::argv::{self, Arg};
use super::{bad_file, read_text};
use crate::Error;

/// The script after node's own options, and the server's arguments after it.
pub(crate) fn node_script(args: &[String]) -> Option<(&str, &[String])> {
    let mut scan = argv::NODE.scan(args);
    while let Some(arg) = scan.next() {
        match arg {
            Arg::Opt {
                name: "-e" | "--eval" | "-p" | "--print",
                ..
            }
            | Arg::Positional("-") => return None,
            Arg::Opt { .. } | Arg::DashDash => {}
            Arg::Positional(script) => return Some((script, scan.rest())),
        }
    }
    None
}

/// What inference needs from a `package.json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Package {
    /// The package directory.
    pub(crate) root: PathBuf,
    /// `name`.
    pub(crate) name: String,
    /// `version`.
    pub(crate) version: String,
    /// `bin` as name -> path relative to the root (a string `bin` is named after the package).
    pub(crate) bins: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct RawPackage {
    name: Option<String>,
    version: Option<String>,
    #[serde(default)]
    bin: Option<RawBin>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawBin {
    One(String),
    Many(BTreeMap<String, String>),
}

/// The package name without its scope (`@a/b` -> `b`): npm's default bin name.
pub(crate) fn unscoped(name: &str) -> &str {
    name.rsplit('/').next().unwrap_or(name)
}

impl Package {
    /// Reads `root/package.json`; a package without a name or version is an error.
    pub(crate) fn read(entry: &McpEntry, root: &Path) -> Result<Self, Error> {
        let path = root.join("package.json");
        let text = read_text(entry, &path)?;
        let raw: RawPackage = serde_json::from_str(&text)
            .map_err(|e| bad_file(entry, &path, format!("not valid package.json: {e}")))?;
        let name = raw
            .name
            .ok_or_else(|| bad_file(entry, &path, "has no `name`"))?;
        let version = raw
            .version
            .ok_or_else(|| bad_file(entry, &path, "has no `version`"))?;
        let bins = match raw.bin {
            None => BTreeMap::new(),
            Some(RawBin::One(path)) => BTreeMap::from([(unscoped(&name).to_owned(), path)]),
            Some(RawBin::Many(map)) => map,
        };
        Ok(Self {
            root: root.to_owned(),
            name,
            version,
            bins,
        })
    }

    /// The bin whose target is `file` (compared after resolving symlinks).
    pub(crate) fn bin_for(&self, file: &Path) -> Option<&str> {
        let file = std::fs::canonicalize(file).ok()?;
        self.bins.iter().find_map(|(name, target)| {
            let target = std::fs::canonicalize(self.root.join(target)).ok()?;
            (target == file).then_some(name.as_str())
        })
    }

    /// The bin npx would run: the only one, else the one named like the package.
    pub(crate) fn default_bin(&self) -> String {
        if self.bins.len() == 1 {
            return self.bins.keys().next().cloned().unwrap_or_default();
        }
        unscoped(&self.name).to_owned()
    }
}

/// The root of the installed package that holds `file`: the nearest ancestor whose parent is
/// a `node_modules` directory (or an `@scope` inside one) and that has a `package.json`.
/// Works for npm prefixes, the npx cache, nvm/fnm/volta images and pnpm's `.pnpm` store.
pub(crate) fn package_root(file: &Path) -> Option<&Path> {
    file.ancestors().skip(1).find(|dir| {
        let Some(parent) = dir.parent() else {
            return false;
        };
        let in_modules = is_node_modules(parent)
            || (parent
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('@'))
                && parent.parent().is_some_and(is_node_modules));
        in_modules && dir.join("package.json").is_file()
    })
}

fn is_node_modules(dir: &Path) -> bool {
    dir.file_name().is_some_and(|n| n == "node_modules")
}

/// Whether `path` lies inside some `node_modules` directory.
pub(crate) fn in_node_modules(path: &Path) -> bool {
    path.components().any(|c| c.as_os_str() == "node_modules")
}

/// The script a small shell or cmd shim runs from `node_modules` (pnpm's global bins, npm's
/// Windows `.cmd` shims): the first quoted path that, with `$basedir` / `%~dp0` / `%dp0%`
/// replaced by the shim's directory, lies in `node_modules` and exists (npm's cmd shims name
/// the script as `"%dp0%\..\pkg\bin\x.js"`, so the directory is replaced before the check).
pub(crate) fn shim_target(shim: &Path) -> Option<PathBuf> {
    const MAX_SHIM: u64 = 64 * 1024;
    if std::fs::metadata(shim).ok()?.len() > MAX_SHIM {
        return None;
    }
    let text = std::fs::read_to_string(shim).ok()?;
    let dir = shim.parent()?.to_string_lossy().into_owned();
    text.split('"')
        .skip(1)
        .step_by(2)
        .map(|quoted| {
            quoted
                .replace("$basedir", &dir)
                .replace("%~dp0\\", &format!("{dir}/"))
                .replace("%dp0%\\", &format!("{dir}/"))
                .replace('\\', "/")
        })
        .filter(|path| path.contains("node_modules"))
        .map(PathBuf::from)
        .find(|path| path.is_file())
}

/// `name@version` split at the version's `@` (a leading scope `@` is part of the name).
pub(crate) fn split_spec(spec: &str) -> (&str, Option<&str>) {
    let search_from = usize::from(spec.starts_with('@'));
    match spec[search_from..].find('@') {
        Some(at) => {
            let at = at + search_from;
            (&spec[..at], Some(&spec[at + 1..]).filter(|v| !v.is_empty()))
        }
        None => (spec, None),
    }
}

/// The newest version of `package` in the npx cache (`<cache>/_npx/*/node_modules/<pkg>`)
/// that satisfies `range` (any version when `None` or a dist-tag).
pub(crate) fn npx_cached(
    entry: &McpEntry,
    npm_cache: &Path,
    package: &str,
    range: Option<&str>,
) -> Result<Option<Package>, Error> {
    let req = range.and_then(|r| semver::VersionReq::parse(r).ok());
    let Ok(dirs) = std::fs::read_dir(npm_cache.join("_npx")) else {
        return Ok(None);
    };
    let mut best: Option<(semver::Version, Package)> = None;
    let mut roots: Vec<PathBuf> = dirs
        .filter_map(Result::ok)
        .map(|d| d.path().join("node_modules").join(package))
        .filter(|root| root.join("package.json").is_file())
        .collect();
    roots.sort();
    for root in roots {
        let pkg = Package::read(entry, &root)?;
        let Ok(version) = semver::Version::parse(&pkg.version) else {
            continue;
        };
        if req.as_ref().is_some_and(|req| !req.matches(&version)) {
            continue;
        }
        if best.as_ref().is_none_or(|(v, _)| version > *v) {
            best = Some((version, pkg));
        }
    }
    Ok(best.map(|(_, pkg)| pkg))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ecosystem::test_support::stdio_entry;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    fn entry() -> McpEntry {
        stdio_entry("e", "node", &[])
    }

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn node_options_are_skipped_before_the_script() {
        let args = strings(&[
            "--enable-source-maps",
            "-r",
            "dotenv/config",
            "/a/x.js",
            "stdio",
        ]);
        let (script, rest) = node_script(&args).unwrap();
        assert_eq!((script, rest), ("/a/x.js", &args[4..]));
        assert_eq!(node_script(&strings(&["-e", "1"])), None);
    }

    #[test]
    fn specs_split_after_the_scope() {
        assert_eq!(split_spec("@a/b@1.2.3"), ("@a/b", Some("1.2.3")));
        assert_eq!(split_spec("@a/b"), ("@a/b", None));
        assert_eq!(split_spec("b@latest"), ("b", Some("latest")));
        assert_eq!(split_spec("b@"), ("b", None));
    }

    #[test]
    fn package_roots_are_found_in_scoped_and_pnpm_layouts() {
        let tmp = tempfile::tempdir().unwrap();
        let pnpm = tmp
            .path()
            .join("global/5/node_modules/.pnpm/@s+p@1.0.0/node_modules/@s/p");
        write(
            &pnpm.join("package.json"),
            r#"{"name":"@s/p","version":"1.0.0"}"#,
        );
        write(&pnpm.join("dist/cli.js"), "");
        assert_eq!(
            package_root(&pnpm.join("dist/cli.js")),
            Some(pnpm.as_path())
        );
        let plain = tmp.path().join("lib/node_modules/q");
        write(
            &plain.join("package.json"),
            r#"{"name":"q","version":"2.0.0"}"#,
        );
        write(&plain.join("bin/q.js"), "");
        assert_eq!(package_root(&plain.join("bin/q.js")), Some(plain.as_path()));
        assert_eq!(package_root(&tmp.path().join("x.js")), None);
    }

    #[test]
    fn string_bins_are_named_after_the_unscoped_package() {
        let tmp = tempfile::tempdir().unwrap();
        write(
            &tmp.path().join("package.json"),
            r#"{"name":"@s/tool","version":"1.0.0","bin":"cli.js"}"#,
        );
        write(&tmp.path().join("cli.js"), "");
        let pkg = Package::read(&entry(), tmp.path()).unwrap();
        assert_eq!(pkg.bins["tool"], "cli.js");
        assert_eq!(pkg.bin_for(&tmp.path().join("cli.js")), Some("tool"));
        assert_eq!(pkg.default_bin(), "tool");
    }

    #[test]
    fn broken_package_json_names_the_file_and_entry() {
        let tmp = tempfile::tempdir().unwrap();
        write(&tmp.path().join("package.json"), "{not json");
        let err = Package::read(&entry(), tmp.path()).unwrap_err().to_string();
        assert!(err.starts_with("MCP `e`: `"), "{err}");
        assert!(
            err.contains("package.json`: not valid package.json"),
            "{err}"
        );
    }

    #[test]
    fn pnpm_shims_lead_to_their_script() {
        let tmp = tempfile::tempdir().unwrap();
        let script = tmp.path().join("global/5/node_modules/p/index.js");
        write(&script, "");
        let shim = tmp.path().join("p");
        write(
            &shim,
            "#!/bin/sh\nbasedir=$(dirname \"$0\")\nexec node  \"$basedir/global/5/node_modules/p/index.js\" \"$@\"\n",
        );
        assert_eq!(shim_target(&shim), Some(script));
    }

    /// npm's own `node_modules\.bin\x.cmd` (cmd-shim), as `npm install` writes it on Windows:
    /// the script is relative to `%dp0%`, and the shim names `node.exe` first.
    #[test]
    fn npm_cmd_shims_lead_to_their_script() {
        let tmp = tempfile::tempdir().unwrap();
        let modules = tmp.path().join("prefix").join("node_modules");
        let script = modules.join("@s").join("p").join("bin").join("x.js");
        write(&script, "");
        let shim = modules.join(".bin").join("x.cmd");
        write(
            &shim,
            "@ECHO off\r\nGOTO start\r\n:find_dp0\r\nSET dp0=%~dp0\r\nEXIT /b\r\n:start\r\n\
             SETLOCAL\r\nCALL :find_dp0\r\n\r\nIF EXIST \"%dp0%\\node.exe\" (\r\n  \
             SET \"_prog=%dp0%\\node.exe\"\r\n) ELSE (\r\n  SET \"_prog=node\"\r\n  \
             SET PATHEXT=%PATHEXT:;.JS;=;%\r\n)\r\n\r\nendLocal & goto #_undefined_# 2>NUL || \
             title %COMSPEC% & \"%_prog%\"  \"%dp0%\\..\\@s\\p\\bin\\x.js\" %*\r\n",
        );
        let found = shim_target(&shim).expect("the shim's script");
        assert_eq!(
            std::fs::canonicalize(found).unwrap(),
            std::fs::canonicalize(&script).unwrap()
        );
    }

    #[test]
    fn the_npx_cache_yields_the_newest_matching_version() {
        let tmp = tempfile::tempdir().unwrap();
        for (dir, version) in [("a1", "1.2.0"), ("b2", "1.10.0"), ("c3", "2.0.0")] {
            write(
                &tmp.path()
                    .join(format!("_npx/{dir}/node_modules/@s/p/package.json")),
                &format!(r#"{{"name":"@s/p","version":"{version}"}}"#),
            );
        }
        let newest = |range| {
            npx_cached(&entry(), tmp.path(), "@s/p", range)
                .unwrap()
                .map(|p| p.version)
        };
        assert_eq!(newest(None).as_deref(), Some("2.0.0"));
        assert_eq!(newest(Some("^1")).as_deref(), Some("1.10.0"));
        assert_eq!(newest(Some("^3")), None);
    }
}
