//! Follower side of `source`: unpack the packed tree, install its dependencies or build it,
//! and run it from the artifact (node: `node ENTRY`; python: its uv tool or a uv venv;
//! cargo: `cargo build --release`).

use std::io::Read;

use codexport_core::mcp::manifest::{ArtifactSpec, McpEntry};

use super::super::resolve_common::{bad_spec, check_name, check_relative, exe, uv_tool_bin};
use crate::executor::find_tool;
use crate::plan::{Launch, Plan, Step};
use crate::spec::{BuiltinSpec, SourceKind, SourceSpec};
use crate::{Error, Resolution, ResolveContext};

/// The files at the root of a packed tree that decide the plan.
#[derive(Debug, Default)]
struct TreeFacts {
    package_json: Option<String>,
    has_npm_lock: bool,
    pyproject: Option<String>,
    has_requirements: bool,
    has_cargo_lock: bool,
}

/// The plan that hydrates `spec`.
pub(super) fn resolve(
    cx: &ResolveContext,
    entry: &McpEntry,
    spec: &ArtifactSpec,
) -> Result<Resolution, Error> {
    let src = SourceSpec::from_artifact(&entry.name, spec)?;
    if !codexport_core::store::is_object_name(&src.object) {
        return Err(bad_spec(
            entry,
            spec,
            format!("`{}` is not an object hash", src.object),
        ));
    }
    let facts = read_facts(cx, &src.object)?;
    let copy = Step::CopySource {
        object: src.object.clone(),
        dest: "src".to_owned(),
    };
    // Relative args the master wrote against the project root keep working from the copy.
    let cwd = entry
        .cwd
        .as_deref()
        .filter(|c| c.trim_end_matches('/') == src.root.trim_end_matches('/'))
        .map(|_| "${artifact}/src".to_owned());
    let (steps, launch) = match src.kind {
        SourceKind::Node => node_plan(entry, spec, &src, &facts, copy)?,
        SourceKind::Python => python_plan(entry, spec, &src, &facts, copy)?,
        SourceKind::Cargo => cargo_plan(entry, spec, &src, &facts, copy)?,
    };
    Ok(Resolution {
        version: "local".to_owned(),
        cache_key: src.object.clone(),
        plan: Plan {
            steps,
            launch: Launch { cwd, ..launch },
        },
    })
}

fn node_plan(
    entry: &McpEntry,
    spec: &ArtifactSpec,
    src: &SourceSpec,
    facts: &TreeFacts,
    copy: Step,
) -> Result<(Vec<Step>, Launch), Error> {
    check_relative(entry, spec, "entry", &src.entry)?;
    find_tool(&entry.name, "node")?;
    let has_deps = facts
        .package_json
        .as_deref()
        .and_then(|text| serde_json::from_str::<serde_json::Value>(text).ok())
        .and_then(|pkg| {
            pkg.get("dependencies")
                .and_then(|d| d.as_object())
                .map(|d| !d.is_empty())
        })
        .unwrap_or(false);
    let mut steps = vec![copy];
    if has_deps {
        let verb = if facts.has_npm_lock { "ci" } else { "install" };
        steps.push(Step::Run {
            program: "npm".to_owned(),
            args: [
                verb,
                "--omit=dev",
                "--no-audit",
                "--no-fund",
                "--loglevel=error",
            ]
            .map(str::to_owned)
            .to_vec(),
            cwd: Some("src".to_owned()),
        });
    }
    let mut args = vec![format!("${{artifact}}/src/{}", src.entry)];
    args.extend(src.args.iter().cloned());
    Ok((
        steps,
        Launch {
            program: "node".to_owned(),
            args,
            ..Launch::default()
        },
    ))
}

fn python_plan(
    entry: &McpEntry,
    spec: &ArtifactSpec,
    src: &SourceSpec,
    facts: &TreeFacts,
    copy: Step,
) -> Result<(Vec<Step>, Launch), Error> {
    find_tool(&entry.name, "uv")?;
    let project = facts
        .pyproject
        .as_deref()
        .and_then(|text| text.parse::<toml_edit::DocumentMut>().ok());
    let project_table = project.as_ref().and_then(|doc| doc.get("project"));
    let script_package = project_table.and_then(|p| {
        let has_script = p
            .get("scripts")
            .and_then(|s| s.as_table_like())
            .is_some_and(|s| s.contains_key(&src.entry));
        let name = p.get("name").and_then(|n| n.as_str())?;
        has_script.then(|| name.to_owned())
    });
    if let Some(package) = script_package {
        // A console script: install the project as a uv tool, run its own executable.
        check_name(entry, spec, "entry", &src.entry)?;
        return Ok((
            vec![
                copy,
                Step::UvTool {
                    from: "${artifact}/src".to_owned(),
                    package: package.clone(),
                    with: Vec::new(),
                },
            ],
            Launch {
                program: uv_tool_bin(&package, &src.entry),
                args: src.args.clone(),
                ..Launch::default()
            },
        ));
    }
    // A script or module: a venv of its own with the project's dependencies.
    let python = if cfg!(windows) {
        "${artifact}/venv/Scripts/python.exe"
    } else {
        "${artifact}/venv/bin/python"
    };
    let mut steps = vec![
        copy,
        Step::Run {
            program: "uv".to_owned(),
            args: vec![
                "venv".to_owned(),
                "--quiet".to_owned(),
                "${artifact}/venv".to_owned(),
            ],
            cwd: Some("src".to_owned()),
        },
    ];
    let requirements = if project_table.is_some() {
        Some("pyproject.toml")
    } else if facts.has_requirements {
        Some("requirements.txt")
    } else {
        None
    };
    if let Some(file) = requirements {
        steps.push(Step::Run {
            program: "uv".to_owned(),
            args: vec![
                "pip".to_owned(),
                "install".to_owned(),
                "--quiet".to_owned(),
                "--compile-bytecode".to_owned(),
                "--python".to_owned(),
                python.to_owned(),
                "-r".to_owned(),
                format!("${{artifact}}/src/{file}"),
            ],
            cwd: Some("src".to_owned()),
        });
    }
    let mut args = match src.entry.strip_prefix("-m ") {
        Some(module) => {
            check_name(entry, spec, "module", module.trim())?;
            vec!["-m".to_owned(), module.trim().to_owned()]
        }
        None => {
            check_relative(entry, spec, "entry", &src.entry)?;
            vec![format!("${{artifact}}/src/{}", src.entry)]
        }
    };
    args.extend(src.args.iter().cloned());
    Ok((
        steps,
        Launch {
            program: python.to_owned(),
            args,
            ..Launch::default()
        },
    ))
}

fn cargo_plan(
    entry: &McpEntry,
    spec: &ArtifactSpec,
    src: &SourceSpec,
    facts: &TreeFacts,
    copy: Step,
) -> Result<(Vec<Step>, Launch), Error> {
    check_name(entry, spec, "entry", &src.entry)?;
    find_tool(&entry.name, "cargo")?;
    let mut args: Vec<String> = [
        "build",
        "--release",
        "--quiet",
        "--manifest-path",
        "${artifact}/src/Cargo.toml",
        "--target-dir",
        "${artifact}/target",
        "--bin",
    ]
    .map(str::to_owned)
    .to_vec();
    args.push(src.entry.clone());
    if facts.has_cargo_lock {
        args.push("--locked".to_owned());
    }
    Ok((
        vec![
            copy,
            Step::Run {
                program: "cargo".to_owned(),
                args,
                cwd: Some("src".to_owned()),
            },
        ],
        Launch {
            program: format!("${{artifact}}/target/release/{}", exe(&src.entry)),
            args: src.args.clone(),
            ..Launch::default()
        },
    ))
}

/// Reads the root manifests of the packed tree from the object store.
fn read_facts(cx: &ResolveContext, object: &str) -> Result<TreeFacts, Error> {
    let path = cx
        .store
        .path(object)
        .map_err(|e| Error::io("read", cx.store.root(), std::io::Error::other(e)))?;
    let file = std::fs::File::open(&path).map_err(|e| Error::io("read packed source", &path, e))?;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let mut facts = TreeFacts::default();
    let entries = archive
        .entries()
        .map_err(|e| Error::io("unpack", &path, e))?;
    for member in entries {
        let mut member = member.map_err(|e| Error::io("unpack", &path, e))?;
        let name = member
            .path()
            .map_err(|e| Error::io("unpack", &path, e))?
            .to_string_lossy()
            .trim_start_matches("./")
            .to_owned();
        let mut text = || {
            let mut s = String::new();
            member.read_to_string(&mut s).map(|_| s)
        };
        match name.as_str() {
            "package.json" => facts.package_json = text().ok(),
            "pyproject.toml" => facts.pyproject = text().ok(),
            "package-lock.json" | "npm-shrinkwrap.json" => facts.has_npm_lock = true,
            "requirements.txt" => facts.has_requirements = true,
            "Cargo.lock" => facts.has_cargo_lock = true,
            _ => {}
        }
    }
    Ok(facts)
}
