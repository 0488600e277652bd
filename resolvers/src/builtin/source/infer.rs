//! Master side of `source`: node and python projects outside any package store (`node
//! script.js`, `python server.py`, `python -m pkg`, `uv run`, a project venv's console
//! script), packed as one object with the entry point relative to the project root. Cargo
//! crates are packed by the `cargo` resolver.

use std::path::{Path, PathBuf};

use codexport_core::mcp::manifest::{ArtifactSpec, McpEntry};

use crate::ecosystem::argv::{self, Arg};
use crate::ecosystem::node::node_script;
use crate::ecosystem::{self, project};
use crate::pack;
use crate::spec::{BuiltinSpec, SourceKind, SourceSpec};
use crate::{Error, InferContext};

/// What a local project runs, before it is packed.
struct Found {
    kind: SourceKind,
    root: PathBuf,
    /// The spec's `entry`.
    entry: String,
    /// A file path (relative to the root) whose directories must be packed even if they
    /// are normally skipped (`dist/index.js`).
    keep: Option<String>,
    args: Vec<String>,
}

/// The spec for `entry`, or `None` when it is not a `source` artifact.
pub(super) fn infer(
    cx: &InferContext<'_>,
    entry: &McpEntry,
) -> Result<Option<ArtifactSpec>, Error> {
    let Some(found) = find(cx, entry)? else {
        return Ok(None);
    };
    project::check_root(cx, entry, &found.root)?;
    let packed = pack::pack(cx, entry, &found.root, found.keep.as_deref())?;
    tracing::debug!(
        entry = %entry.name,
        root = %found.root.display(),
        files = packed.files,
        bytes = packed.bytes,
        "packed local source"
    );
    Ok(Some(
        SourceSpec {
            kind: found.kind,
            object: packed.object.clone(),
            root: found.root.to_string_lossy().into_owned(),
            entry: found.entry,
            args: found.args,
        }
        .to_artifact(vec![packed.object]),
    ))
}

fn find(cx: &InferContext<'_>, entry: &McpEntry) -> Result<Option<Found>, Error> {
    let Some(command) = entry.command.as_deref() else {
        return Ok(None);
    };
    if ecosystem::is_program(command, "node") || ecosystem::is_program(command, "nodejs") {
        let Some((script, rest)) = node_script(&entry.args) else {
            return Ok(None);
        };
        return script_file(cx, entry, script, SourceKind::Node, rest);
    }
    if ecosystem::is_python(command) {
        let interpreter = ecosystem::locate(cx, entry, command);
        let venv_root = interpreter
            .as_ref()
            .and_then(|p| project::venv_of(&p.given))
            .and_then(Path::parent)
            .map(Path::to_owned);
        return python(cx, entry, &entry.args, venv_root);
    }
    if ecosystem::is_program(command, "uv") {
        return uv_run(cx, entry);
    }
    let Some(program) = ecosystem::locate(cx, entry, command) else {
        return Ok(None);
    };
    if let Some(venv) = project::venv_of(&program.given)
        && let Some(root) = venv
            .parent()
            .and_then(|p| project::root_of(p, SourceKind::Python))
        && !ecosystem::in_store(&program.given)
    {
        return Ok(Some(Found {
            kind: SourceKind::Python,
            root,
            entry: ecosystem::bin_name(&program.given),
            keep: None,
            args: entry.args.clone(),
        }));
    }
    let kind = match program.real.extension().and_then(|e| e.to_str()) {
        Some("js" | "mjs" | "cjs") => SourceKind::Node,
        Some("py") => SourceKind::Python,
        _ => return Ok(None),
    };
    file_in_project(cx, entry, &program.real, kind, &entry.args)
}

fn script_file(
    cx: &InferContext<'_>,
    entry: &McpEntry,
    script: &str,
    kind: SourceKind,
    rest: &[String],
) -> Result<Option<Found>, Error> {
    match ecosystem::existing_file(cx, entry, script) {
        Some(file) => file_in_project(cx, entry, &file, kind, rest),
        None => Ok(None),
    }
}

fn file_in_project(
    cx: &InferContext<'_>,
    entry: &McpEntry,
    file: &Path,
    kind: SourceKind,
    rest: &[String],
) -> Result<Option<Found>, Error> {
    let file = std::fs::canonicalize(file).unwrap_or_else(|_| file.to_owned());
    if ecosystem::in_store(&file) {
        return Ok(None);
    }
    let root = project::root_for_file(cx, entry, &file, kind)?;
    let rel = ecosystem::relative(&root, &file).unwrap_or_default();
    Ok(Some(Found {
        kind,
        root,
        entry: rel.clone(),
        keep: Some(rel),
        args: rest.to_vec(),
    }))
}

/// `python [opts] script.py|-m module [args]`; a module runs from the venv's project or the
/// entry's `cwd`.
fn python(
    cx: &InferContext<'_>,
    entry: &McpEntry,
    args: &[String],
    venv_root: Option<PathBuf>,
) -> Result<Option<Found>, Error> {
    let mut scan = argv::PYTHON.scan(args);
    while let Some(arg) = scan.next() {
        match arg {
            Arg::Opt { name: "-c", .. } | Arg::Positional("-") => return Ok(None),
            Arg::Opt {
                name: "-m",
                value: module,
            } => {
                let Some(module) = module else {
                    return Ok(None);
                };
                let root = venv_root.or_else(|| {
                    project::root_of(&ecosystem::base_dir(cx, entry), SourceKind::Python)
                });
                return Ok(root.map(|root| Found {
                    kind: SourceKind::Python,
                    root,
                    entry: format!("-m {module}"),
                    keep: None,
                    args: scan.rest().to_vec(),
                }));
            }
            Arg::Opt { .. } | Arg::DashDash => {}
            Arg::Positional(script) => {
                return script_file(cx, entry, script, SourceKind::Python, scan.rest());
            }
        }
    }
    Ok(None)
}

/// `uv [--directory D] run [--directory D|--project D] [opts] CMD [args]`.
fn uv_run(cx: &InferContext<'_>, entry: &McpEntry) -> Result<Option<Found>, Error> {
    let mut dir: Option<&str> = None;
    let mut seen_run = false;
    let mut scan = argv::UV.scan(&entry.args);
    let command = loop {
        match scan.next() {
            None => return Ok(None),
            Some(Arg::Opt {
                name: "--directory" | "--project",
                value,
            }) => dir = value,
            Some(Arg::Positional("run")) if !seen_run => seen_run = true,
            Some(Arg::Opt { .. } | Arg::DashDash) => {}
            Some(Arg::Positional(command)) if seen_run => break command,
            Some(Arg::Positional(_)) => return Ok(None),
        }
    };
    let rest = scan.rest();
    let base = ecosystem::base_dir(cx, entry);
    let start = dir.map_or(base.clone(), |d| base.join(d));
    let Some(root) = project::root_of(&start, SourceKind::Python) else {
        return Ok(None);
    };
    let inner = McpEntry {
        cwd: Some(start.to_string_lossy().into_owned()),
        ..entry.clone()
    };
    if ecosystem::is_python(command) {
        return python(cx, &inner, rest, Some(root));
    }
    if command.ends_with(".py") {
        return script_file(cx, &inner, command, SourceKind::Python, rest);
    }
    Ok(Some(Found {
        kind: SourceKind::Python,
        root,
        entry: command.to_owned(),
        keep: None,
        args: rest.to_vec(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ecosystem::test_support::{Master, stdio_entry};

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    fn spec(master: &Master, entry: &McpEntry) -> Option<SourceSpec> {
        infer(&master.cx(), entry)
            .unwrap()
            .map(|a| SourceSpec::from_artifact("e", &a).unwrap())
    }

    #[test]
    #[cfg_attr(
        windows,
        ignore = "canonicalize gives a verbatim `\\\\?\\` path on Windows (resolvers on Windows are issue 12)"
    )]
    fn node_projects_pack_with_a_relative_entry() {
        let tmp = tempfile::tempdir().unwrap();
        let master = Master::new(tmp.path());
        let proj = master.homes.user.join("code/srv");
        write(&proj.join("package.json"), r#"{"name":"srv"}"#);
        write(&proj.join("dist/index.js"), "");
        let entry = stdio_entry(
            "e",
            "node",
            &[proj.join("dist/index.js").to_str().unwrap(), "-v"],
        );
        let got = spec(&master, &entry).unwrap();
        assert_eq!(
            (got.kind, got.entry.as_str(), got.args),
            (SourceKind::Node, "dist/index.js", vec!["-v".to_owned()])
        );
        assert_eq!(got.root, proj.to_string_lossy());
        let installed = master.homes.user.join("lib/node_modules/p/index.js");
        write(&installed, "");
        let entry = stdio_entry("e", "node", &[installed.to_str().unwrap()]);
        assert_eq!(spec(&master, &entry), None, "packages belong to npm");
    }

    #[test]
    fn python_scripts_modules_and_uv_run_find_their_project() {
        let tmp = tempfile::tempdir().unwrap();
        let master = Master::new(tmp.path());
        let proj = master.homes.user.join("code/py");
        write(&proj.join("pyproject.toml"), "[project]\nname = \"py\"\n");
        write(&proj.join("src/server.py"), "");
        let script = stdio_entry(
            "e",
            "python3",
            &["-u", proj.join("src/server.py").to_str().unwrap(), "x"],
        );
        let got = spec(&master, &script).unwrap();
        assert_eq!(
            (got.entry.as_str(), got.args),
            ("src/server.py", vec!["x".to_owned()])
        );
        let mut module = stdio_entry("e", "python", &["-m", "py.server", "--flag"]);
        module.cwd = Some(proj.to_string_lossy().into_owned());
        let got = spec(&master, &module).unwrap();
        assert_eq!(
            (got.entry.as_str(), got.args),
            ("-m py.server", vec!["--flag".to_owned()])
        );
        let uv = stdio_entry(
            "e",
            "uv",
            &[
                "--directory",
                proj.to_str().unwrap(),
                "run",
                "py-server",
                "--port",
                "1",
            ],
        );
        let got = spec(&master, &uv).unwrap();
        assert_eq!(
            (got.entry.as_str(), got.root.as_str()),
            ("py-server", proj.to_str().unwrap())
        );
        let uv_script = stdio_entry(
            "e",
            "uv",
            &[
                "run",
                "--project",
                proj.to_str().unwrap(),
                "python",
                "src/server.py",
            ],
        );
        assert_eq!(spec(&master, &uv_script).unwrap().entry, "src/server.py");
        assert_eq!(
            spec(&master, &stdio_entry("e", "python", &["-c", "print()"])),
            None
        );
    }

    #[test]
    fn a_project_venv_console_script_is_the_project() {
        let tmp = tempfile::tempdir().unwrap();
        let master = Master::new(tmp.path());
        let proj = master.homes.user.join("code/py");
        write(&proj.join("pyproject.toml"), "[project]\nname = \"py\"\n");
        write(&proj.join(".venv/pyvenv.cfg"), "home = /usr/bin\n");
        write(&proj.join(".venv/bin/py-server"), "#!python\n");
        let entry = stdio_entry("e", proj.join(".venv/bin/py-server").to_str().unwrap(), &[]);
        let got = spec(&master, &entry).unwrap();
        assert_eq!(
            (got.kind, got.entry.as_str()),
            (SourceKind::Python, "py-server")
        );
        let listed = pack::list(&master.store.read(&got.object).unwrap());
        assert_eq!(
            listed.iter().map(|(p, _)| p.as_str()).collect::<Vec<_>>(),
            ["pyproject.toml"]
        );
    }
}
