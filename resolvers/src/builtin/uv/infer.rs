//! Master side of `uv`: programs inside a uv tool environment (any `UV_TOOL_DIR`: found by
//! its `uv-receipt.toml`), and `uvx` / `uv tool run` commands. A tool installed from a local
//! directory becomes a packed python `source` artifact.

use std::path::Path;

use codexport_core::mcp::manifest::{ArtifactSpec, McpEntry};

use crate::ecosystem::argv::{self, Arg};
use crate::ecosystem::uv::{self as receipts, Origin, Tool};
use crate::ecosystem::{self, project};
use crate::pack;
use crate::spec::{BuiltinSpec, SourceKind, SourceSpec, UvSpec};
use crate::{Error, InferContext};

/// The spec for `entry`, or `None` when it is not a `uv` artifact.
pub(super) fn infer(
    cx: &InferContext<'_>,
    entry: &McpEntry,
) -> Result<Option<ArtifactSpec>, Error> {
    let Some(command) = entry.command.as_deref() else {
        return Ok(None);
    };
    if ecosystem::is_program(command, "uvx") {
        return Ok(uvx(entry, &entry.args));
    }
    if ecosystem::is_program(command, "uv") {
        return Ok(
            match entry.args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
                ["tool", "run", ..] => uvx(entry, &entry.args[2..]),
                _ => None,
            },
        );
    }
    let Some(program) = ecosystem::locate(cx, entry, command) else {
        return Ok(None);
    };
    for path in program.paths() {
        if let Some(dir) = receipts::tool_dir(path) {
            return from_tool(cx, entry, dir, path).map(Some);
        }
    }
    Ok(None)
}

/// A program inside the tool environment `dir`.
fn from_tool(
    cx: &InferContext<'_>,
    entry: &McpEntry,
    dir: &Path,
    program: &Path,
) -> Result<ArtifactSpec, Error> {
    let tool = Tool::read(entry, dir)?;
    let bin = ecosystem::bin_name(program);
    let dist_info = tool.dist_info().ok_or_else(|| Error::Inference {
        entry: entry.name.clone(),
        reason: format!(
            "uv tool `{}` has no installed `{}` distribution",
            dir.display(),
            tool.main.name
        ),
        hint: format!(
            "reinstall it (`uv tool install --force {}`)",
            tool.main.name
        ),
    })?;
    let version = receipts::dist_version(entry, &dist_info)?;
    let with = tool
        .with
        .iter()
        .map(receipts::Requirement::render)
        .collect();
    let from = match receipts::origin(entry, &dist_info)? {
        Origin::Directory(root) => return local_tool(cx, entry, &root, bin),
        Origin::Vcs(from) | Origin::Archive(from) => from,
        Origin::Index => {
            let mut main = tool.main.clone();
            main.specifier = Some(format!("=={version}"));
            main.render()
        }
    };
    Ok(UvSpec {
        package: tool.main.name,
        version: Some(version),
        from,
        with,
        bin,
        args: entry.args.clone(),
    }
    .to_artifact(Vec::new()))
}

/// A tool installed from a local project (editable or `file:`): the project, packed.
fn local_tool(
    cx: &InferContext<'_>,
    entry: &McpEntry,
    root: &Path,
    bin: String,
) -> Result<ArtifactSpec, Error> {
    project::check_root(cx, entry, root)?;
    let packed = pack::pack(cx, entry, root, None)?;
    // The tool's own interpreter running a module is the module of the project.
    let (entry_point, args) = match &entry.args[..] {
        [flag, module, rest @ ..] if ecosystem::is_python(&bin) && flag == "-m" => {
            (format!("-m {module}"), rest.to_vec())
        }
        _ => (bin, entry.args.clone()),
    };
    Ok(SourceSpec {
        kind: SourceKind::Python,
        object: packed.object.clone(),
        root: root.to_string_lossy().into_owned(),
        entry: entry_point,
        args,
    }
    .to_artifact(vec![packed.object]))
}

/// `uvx [opts] [--from X] target[@ver] [args]`: uv's own rules for what runs.
fn uvx(entry: &McpEntry, args: &[String]) -> Option<ArtifactSpec> {
    let mut from: Option<&str> = None;
    let mut with = Vec::new();
    let mut scan = argv::UV.scan(args);
    let (target, rest) = loop {
        match scan.next()? {
            Arg::Opt {
                name: "--from",
                value,
            } => from = value,
            Arg::Opt {
                name: "--with" | "-w",
                value,
            } => with.extend(value.map(str::to_owned)),
            Arg::Opt { .. } | Arg::DashDash => {}
            Arg::Positional(target) => break (target, scan.rest()),
        }
    };
    let (package, version, from, bin) = match from {
        Some(from) => {
            let (package, version) = requirement(from);
            (package, version, from.to_owned(), target.to_owned())
        }
        None => {
            let (package, version) = requirement(target);
            let from = match &version {
                Some(v) => format!("{package}=={v}"),
                None => package.clone(),
            };
            (package.clone(), version, from, package)
        }
    };
    if version.is_none() && !from.contains(['/', ':', '@']) {
        tracing::warn!(
            entry = %entry.name,
            package = %package,
            "`uvx` runs an unpinned package: followers install the newest `{package}`; pin it (`{package}@VERSION`) to make them match"
        );
    }
    Some(
        UvSpec {
            package,
            version,
            from,
            with,
            bin,
            args: rest.to_vec(),
        }
        .to_artifact(Vec::new()),
    )
}

/// `pkg`, `pkg@1.2.3`, `pkg==1.2.3`, `pkg[extra]@1`: the package name and an exact version.
/// `@latest` and ranges are not exact.
/// A URL requirement's package name is a guess from its last path segment (`git+https://h/o/
/// repo.git@v1` -> `repo`); uv itself reads the real one from the project.
fn requirement(spec: &str) -> (String, Option<String>) {
    if let Some((name, _)) = spec.split_once(" @ ") {
        return (
            name.split('[').next().unwrap_or(name).trim().to_owned(),
            None,
        );
    }
    if let Some((_, rest)) = spec.split_once("://") {
        let path = rest.split(['@', '#', '?']).next().unwrap_or(rest);
        let last = path
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or(path);
        return (last.trim_end_matches(".git").to_owned(), None);
    }
    let exact = |v: &str| {
        (!v.is_empty()
            && v.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '+' | '!'))
            && v != "latest")
            .then(|| v.to_owned())
    };
    let (name, version) = if let Some((n, v)) = spec.split_once("==") {
        (n, exact(v))
    } else if let Some((n, v)) = spec
        .split_once('@')
        .filter(|(n, _)| !n.contains(['/', ':']))
    {
        (n, exact(v))
    } else {
        let end = spec
            .find(['<', '>', '=', '~', '!', ' ', ';'])
            .unwrap_or(spec.len());
        (&spec[..end], None)
    };
    let name = name.split('[').next().unwrap_or(name).trim();
    (name.to_owned(), version)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ecosystem::test_support::{Master, stdio_entry};

    fn spec(artifact: Option<ArtifactSpec>) -> UvSpec {
        UvSpec::from_artifact("e", &artifact.expect("recognised")).unwrap()
    }

    fn uvx_spec(args: &[&str]) -> UvSpec {
        let entry = stdio_entry("e", "uvx", args);
        spec(uvx(&entry, &entry.args))
    }

    #[test]
    fn uvx_commands_become_uv_specs() {
        assert_eq!(
            uvx_spec(&["mcp-server-time@2025.1.1", "--local-timezone", "UTC"]),
            UvSpec {
                package: "mcp-server-time".into(),
                version: Some("2025.1.1".into()),
                from: "mcp-server-time==2025.1.1".into(),
                with: vec![],
                bin: "mcp-server-time".into(),
                args: vec!["--local-timezone".into(), "UTC".into()],
            }
        );
        let unpinned = uvx_spec(&["-q", "mcp-server-fetch"]);
        assert_eq!(
            (unpinned.from.as_str(), unpinned.version),
            ("mcp-server-fetch", None)
        );
        let from = uvx_spec(&[
            "--python",
            "3.12",
            "--from",
            "git+https://h/o/r@v1",
            "--with",
            "x",
            "srv",
        ]);
        assert_eq!(
            (
                from.package.as_str(),
                from.from.as_str(),
                from.bin.as_str(),
                from.with
            ),
            ("r", "git+https://h/o/r@v1", "srv", vec!["x".to_owned()])
        );
        let extras = uvx_spec(&["--from", "tool[cli]==1.0", "tool-cli"]);
        assert_eq!(
            (extras.package.as_str(), extras.version.as_deref()),
            ("tool", Some("1.0"))
        );
    }

    #[test]
    fn uv_tool_run_is_uvx_and_other_uv_commands_are_not_mine() {
        let tmp = tempfile::tempdir().unwrap();
        let master = Master::new(tmp.path());
        let run = stdio_entry("e", "uv", &["tool", "run", "mcp-server-time"]);
        assert_eq!(
            spec(infer(&master.cx(), &run).unwrap()).bin,
            "mcp-server-time"
        );
        let other = stdio_entry("e", "uv", &["run", "server.py"]);
        assert!(infer(&master.cx(), &other).unwrap().is_none());
    }

    #[test]
    fn tool_environments_give_exact_index_requirements() {
        let tmp = tempfile::tempdir().unwrap();
        let master = Master::new(tmp.path());
        let tool = tmp.path().join("tools/my-tool");
        std::fs::create_dir_all(tool.join("bin")).unwrap();
        std::fs::write(
            tool.join("uv-receipt.toml"),
            "[tool]\nrequirements = [{ name = \"my-tool\" }, { name = \"extra-dep\", specifier = \">=2\" }]\n",
        )
        .unwrap();
        let dist = tool.join("lib/python3.12/site-packages/my_tool-0.9.1.dist-info");
        std::fs::create_dir_all(&dist).unwrap();
        std::fs::write(dist.join("METADATA"), "Name: my-tool\nVersion: 0.9.1\n").unwrap();
        std::fs::write(tool.join("bin/my-tool"), "#!/bin/sh\n").unwrap();
        let entry = stdio_entry("e", tool.join("bin/my-tool").to_str().unwrap(), &["serve"]);
        assert_eq!(
            spec(infer(&master.cx(), &entry).unwrap()),
            UvSpec {
                package: "my-tool".into(),
                version: Some("0.9.1".into()),
                from: "my-tool==0.9.1".into(),
                with: vec!["extra-dep>=2".into()],
                bin: "my-tool".into(),
                args: vec!["serve".into()],
            }
        );
        std::fs::remove_dir_all(&dist).unwrap();
        let err = infer(&master.cx(), &entry).unwrap_err().to_string();
        assert!(
            err.contains("has no installed `my-tool` distribution"),
            "{err}"
        );
    }
}
