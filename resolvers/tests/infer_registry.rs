//! Master-side inference against real installs: npm (`@modelcontextprotocol/server-everything`
//! installed globally into a temp prefix), uv (`uv tool install mcp-server-time`, and an
//! editable local project, with `UV_TOOL_DIR`/`UV_TOOL_BIN_DIR` in a temp dir),
//! `cargo install --path` of a tiny crate,
//! local node and python projects, and a URL server. Needs the npm registry and PyPI (or
//! their caches) the first time; installs are cached under the target dir between runs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use codexport_core::Homes;
use codexport_core::lock::{LockGuard, Wait};
use codexport_core::mcp::export::McpExport;
use codexport_core::mcp::manifest::{Artifact, ArtifactSpec, McpManifest};
use codexport_core::store::ObjectStore;
#[cfg(unix)]
use codexport_resolvers::spec::NpmSpec;
use codexport_resolvers::spec::{
    BuiltinSpec, CargoSpec, PathSpec, SourceKind, SourceSpec, UrlSpec, UvSpec,
};
use codexport_resolvers::{InferSettings, Registry, RegistryExport};

const NPM_PACKAGE: &str = "@modelcontextprotocol/server-everything";

/// Installs shared by every test of this binary, kept between runs.
struct Installs {
    /// `npm install -g --prefix` root (`bin/`, `lib/node_modules/`).
    npm_prefix: PathBuf,
    /// `UV_TOOL_DIR`.
    uv_tools: PathBuf,
    /// `UV_TOOL_BIN_DIR`.
    uv_bin: PathBuf,
    /// `cargo install --root`.
    cargo_root: PathBuf,
    /// The tiny crate that was installed.
    crate_dir: PathBuf,
    /// A python project installed as an editable uv tool.
    py_project: PathBuf,
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn installs() -> &'static Installs {
    static INSTALLS: OnceLock<Installs> = OnceLock::new();
    INSTALLS.get_or_init(|| {
        let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("infer_registry");
        std::fs::create_dir_all(&cache).unwrap();
        // nextest runs each test in its own process: one installs, the others wait.
        let _lock = LockGuard::acquire(&cache.join("lock"), Wait::Forever).unwrap();
        let i = Installs {
            npm_prefix: cache.join("npm-global"),
            uv_tools: cache.join("uv/tools"),
            uv_bin: cache.join("uv/bin"),
            cargo_root: cache.join("cargo-root"),
            crate_dir: cache.join("tiny-mcp"),
            py_project: cache.join("py-srv"),
        };
        if !i.npm_prefix.join("bin/mcp-server-everything").exists() {
            run(Command::new("npm")
                .args(["install", "-g", "--no-audit", "--no-fund", "--prefix"])
                .arg(&i.npm_prefix)
                .arg(NPM_PACKAGE));
        }
        if !i.uv_bin.join("mcp-server-time").exists() {
            run(Command::new("uv")
                .args(["tool", "install", "mcp-server-time"])
                .env("UV_TOOL_DIR", &i.uv_tools)
                .env("UV_TOOL_BIN_DIR", &i.uv_bin));
        }
        if !i.uv_bin.join("py-srv").exists() {
            std::fs::create_dir_all(i.py_project.join("src/py_srv")).unwrap();
            std::fs::write(
                i.py_project.join("pyproject.toml"),
                "[project]\nname = \"py-srv\"\nversion = \"0.3.0\"\n\n[project.scripts]\npy-srv = \"py_srv:main\"\n\n[build-system]\nrequires = [\"uv_build>=0.8,<1\"]\nbuild-backend = \"uv_build\"\n",
            )
            .unwrap();
            std::fs::write(
                i.py_project.join("src/py_srv/__init__.py"),
                "def main():\n    print('py-srv')\n",
            )
            .unwrap();
            run(Command::new("uv")
                .args(["tool", "install", "--editable"])
                .arg(&i.py_project)
                .env("UV_TOOL_DIR", &i.uv_tools)
                .env("UV_TOOL_BIN_DIR", &i.uv_bin));
        }
        if !i.cargo_root.join("bin/tiny-mcp").exists() {
            std::fs::create_dir_all(i.crate_dir.join("src")).unwrap();
            std::fs::write(
                i.crate_dir.join("Cargo.toml"),
                "[package]\nname = \"tiny-mcp\"\nversion = \"0.2.0\"\nedition = \"2021\"\n\n[workspace]\n",
            )
            .unwrap();
            std::fs::write(i.crate_dir.join("src/main.rs"), "fn main() {}\n").unwrap();
            run(Command::new("cargo")
                .args(["install", "--offline", "--quiet", "--path"])
                .arg(&i.crate_dir)
                .arg("--root")
                .arg(&i.cargo_root)
                .arg("--target-dir")
                .arg(cache.join("cargo-target")));
        }
        i
    })
}

/// A master home in a temp dir, with the installs on its PATH.
struct Master {
    _tmp: tempfile::TempDir,
    homes: Homes,
    store: ObjectStore,
    env: BTreeMap<String, String>,
}

impl Master {
    fn new() -> Self {
        let i = installs();
        let tmp = tempfile::tempdir().unwrap();
        let user = tmp.path().join("home");
        std::fs::create_dir_all(&user).unwrap();
        let homes = Homes::new(&user, user.join(".codex"), user.join(".codexport"));
        let store = ObjectStore::new(homes.objects());
        let path = [
            i.npm_prefix.join("bin"),
            i.uv_bin.clone(),
            i.cargo_root.join("bin"),
        ]
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .chain([std::env::var("PATH").unwrap_or_default()])
        .collect::<Vec<_>>()
        .join(":");
        let env = BTreeMap::from([
            ("PATH".to_owned(), path),
            ("HOME".to_owned(), user.to_string_lossy().into_owned()),
            (
                "npm_config_cache".to_owned(),
                user.join(".npm").to_string_lossy().into_owned(),
            ),
        ]);
        Self {
            _tmp: tmp,
            homes,
            store,
            env,
        }
    }

    fn export(&self, config: &str, master_toml: &str) -> (McpManifest, Vec<String>) {
        let export = RegistryExport {
            registry: Registry::builtin(),
            env: self.env.clone(),
            settings: InferSettings::from_toml(master_toml).unwrap(),
        };
        let out = export.export(&self.homes, Some(&config.parse().unwrap()), &self.store);
        let problems = out.problems.iter().map(ToString::to_string).collect();
        (out.manifest, problems)
    }
}

fn artifact<'a>(manifest: &'a McpManifest, name: &str) -> &'a ArtifactSpec {
    match &manifest.get(name).unwrap().artifact {
        Artifact::Resolved(spec) => spec,
        Artifact::Unresolved { reason, .. } => panic!("`{name}` unresolved: {reason}"),
        Artifact::Direct => panic!("`{name}` routed direct"),
    }
}

/// (Only the npm test, Unix only: its prefix layout is `lib/node_modules`, Windows has none.)
#[cfg(unix)]
fn json_field(path: &Path, field: &str) -> String {
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    doc[field].as_str().unwrap().to_owned()
}

fn toml_str(path: &Path) -> String {
    path.to_string_lossy().replace('\\', "\\\\")
}

#[cfg(unix)]
#[test]
fn npm_packages_from_a_global_prefix_by_shim_by_script_and_by_npx() {
    let master = Master::new();
    let pkg_root = installs()
        .npm_prefix
        .join("lib/node_modules")
        .join(NPM_PACKAGE);
    let version = json_field(&pkg_root.join("package.json"), "version");
    let config = format!(
        r#"
[mcp_servers.shim]
command = "mcp-server-everything"
args = ["stdio"]
[mcp_servers.script]
command = "node"
args = ["{}", "stdio"]
[mcp_servers.pinned]
command = "npx"
args = ["-y", "{NPM_PACKAGE}@{version}"]
[mcp_servers.unpinned]
command = "npx"
args = ["{NPM_PACKAGE}", "stdio"]
"#,
        toml_str(&pkg_root.join("dist/index.js"))
    );
    // npx's own cache layout (`_npx/<hash>/node_modules/<pkg>`), holding the real install.
    let npx_dir = master.homes.user.join(".npm/_npx/0123abcd");
    std::fs::create_dir_all(&npx_dir).unwrap();
    std::os::unix::fs::symlink(
        installs().npm_prefix.join("lib/node_modules"),
        npx_dir.join("node_modules"),
    )
    .unwrap();
    let (manifest, problems) = master.export(&config, "");
    assert!(problems.is_empty(), "{problems:?}");
    let expected = NpmSpec {
        package: NPM_PACKAGE.into(),
        version: version.clone(),
        bin: "mcp-server-everything".into(),
        script: None,
        args: vec!["stdio".into()],
    };
    for name in ["shim", "script", "unpinned"] {
        let got = NpmSpec::from_artifact(name, artifact(&manifest, name)).unwrap();
        assert_eq!(got, expected, "{name}");
    }
    let pinned = NpmSpec::from_artifact("pinned", artifact(&manifest, "pinned")).unwrap();
    assert_eq!(
        pinned,
        NpmSpec {
            args: vec![],
            ..expected
        }
    );
}

#[test]
fn uv_tools_from_a_custom_tool_dir_and_uvx_commands() {
    let master = Master::new();
    let tool = installs().uv_tools.join("mcp-server-time");
    let dist = std::fs::read_dir(tool.join("lib"))
        .unwrap()
        .filter_map(Result::ok)
        .flat_map(|py| std::fs::read_dir(py.path().join("site-packages")).unwrap())
        .filter_map(Result::ok)
        .find(|d| {
            d.file_name()
                .to_string_lossy()
                .starts_with("mcp_server_time-")
        })
        .unwrap()
        .file_name()
        .to_string_lossy()
        .into_owned();
    let version = dist
        .trim_start_matches("mcp_server_time-")
        .trim_end_matches(".dist-info")
        .to_owned();
    let config = format!(
        r#"
[mcp_servers.time]
command = "mcp-server-time"
args = ["--local-timezone", "UTC"]
[mcp_servers.module]
command = "{}"
args = ["-m", "mcp_server_time"]
[mcp_servers.uvx]
command = "uvx"
args = ["mcp-server-fetch@2025.4.7"]
[mcp_servers.editable]
command = "py-srv"
args = ["--stdio"]
[mcp_servers.editable_module]
command = "{}"
args = ["-m", "py_srv"]
"#,
        toml_str(&tool.join("bin/python")),
        toml_str(&installs().uv_tools.join("py-srv/bin/python"))
    );
    let (manifest, problems) = master.export(&config, "");
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(
        UvSpec::from_artifact("time", artifact(&manifest, "time")).unwrap(),
        UvSpec {
            package: "mcp-server-time".into(),
            version: Some(version.clone()),
            from: format!("mcp-server-time=={version}"),
            with: vec![],
            bin: "mcp-server-time".into(),
            args: vec!["--local-timezone".into(), "UTC".into()],
        }
    );
    let module = UvSpec::from_artifact("module", artifact(&manifest, "module")).unwrap();
    assert_eq!(
        (module.bin.as_str(), module.args),
        (
            "python",
            vec!["-m".to_owned(), "mcp_server_time".to_owned()]
        )
    );
    let editable = artifact(&manifest, "editable");
    let spec = SourceSpec::from_artifact("editable", editable).unwrap();
    assert_eq!(
        (spec.kind, spec.entry.as_str(), spec.args.as_slice()),
        (
            SourceKind::Python,
            "py-srv",
            ["--stdio".to_owned()].as_slice()
        )
    );
    assert_eq!(Path::new(&spec.root), installs().py_project);
    assert_eq!(editable.objects, [spec.object.as_str()]);
    let module = SourceSpec::from_artifact("m", artifact(&manifest, "editable_module")).unwrap();
    assert_eq!((module.entry.as_str(), module.args.len()), ("-m py_srv", 0));
    assert_eq!(module.object, spec.object, "one project, one object");
    assert_eq!(
        UvSpec::from_artifact("uvx", artifact(&manifest, "uvx")).unwrap(),
        UvSpec {
            package: "mcp-server-fetch".into(),
            version: Some("2025.4.7".into()),
            from: "mcp-server-fetch==2025.4.7".into(),
            with: vec![],
            bin: "mcp-server-fetch".into(),
            args: vec![],
        }
    );
}

#[test]
fn cargo_installs_local_projects_urls_and_system_programs() {
    let master = Master::new();
    let node_proj = master.homes.user.join("src/node-srv");
    std::fs::create_dir_all(node_proj.join("dist")).unwrap();
    std::fs::create_dir_all(node_proj.join("node_modules/dep")).unwrap();
    std::fs::write(node_proj.join("package.json"), r#"{"name":"node-srv"}"#).unwrap();
    std::fs::write(node_proj.join("dist/main.js"), "console.log(1)\n").unwrap();
    std::fs::write(node_proj.join("node_modules/dep/index.js"), "").unwrap();
    let py_proj = master.homes.user.join("src/py-srv");
    std::fs::create_dir_all(&py_proj).unwrap();
    std::fs::write(
        py_proj.join("pyproject.toml"),
        "[project]\nname = \"py-srv\"\n",
    )
    .unwrap();
    std::fs::write(py_proj.join("server.py"), "print()\n").unwrap();
    let config = format!(
        r#"
[mcp_servers.tiny]
command = "tiny-mcp"
args = ["--stdio"]
[mcp_servers.node]
command = "node"
args = ["{}"]
[mcp_servers.py]
command = "python3"
args = ["server.py", "--verbose"]
cwd = "{}"
[mcp_servers.remote]
url = "http://127.0.0.1:8931/mcp"
env_http_headers = {{ "X-Token" = "REMOTE_TOKEN" }}
[mcp_servers.git]
command = "git"
args = ["--version"]
"#,
        toml_str(&node_proj.join("dist/main.js")),
        toml_str(&py_proj)
    );
    let (manifest, problems) = master.export(&config, "");
    assert!(problems.is_empty(), "{problems:?}");

    let tiny = artifact(&manifest, "tiny");
    let spec = SourceSpec::from_artifact("tiny", tiny).unwrap();
    assert_eq!(
        (spec.kind, spec.entry.as_str(), spec.args.as_slice()),
        (
            SourceKind::Cargo,
            "tiny-mcp",
            ["--stdio".to_owned()].as_slice()
        )
    );
    assert_eq!(
        Path::new(&spec.root),
        std::fs::canonicalize(&installs().crate_dir).unwrap()
    );
    assert_eq!(tiny.objects, [spec.object.as_str()]);

    let node = artifact(&manifest, "node");
    let spec = SourceSpec::from_artifact("node", node).unwrap();
    assert_eq!(
        (spec.kind, spec.entry.as_str()),
        (SourceKind::Node, "dist/main.js")
    );
    assert!(master.store.contains(&spec.object));

    let py = SourceSpec::from_artifact("py", artifact(&manifest, "py")).unwrap();
    assert_eq!(
        (py.kind, py.entry.as_str(), py.args.as_slice()),
        (
            SourceKind::Python,
            "server.py",
            ["--verbose".to_owned()].as_slice()
        )
    );

    assert_eq!(
        UrlSpec::from_artifact("remote", artifact(&manifest, "remote")).unwrap(),
        UrlSpec {
            url: "http://127.0.0.1:8931/mcp".into()
        }
    );
    assert_eq!(
        manifest.get("remote").unwrap().extra["env_http_headers"],
        serde_json::json!({"X-Token": "REMOTE_TOKEN"})
    );
    assert_eq!(
        PathSpec::from_artifact("git", artifact(&manifest, "git")).unwrap(),
        PathSpec {
            program: "git".into(),
            args: vec!["--version".into()]
        }
    );
}

#[test]
fn a_registry_crate_record_gives_crate_and_version() {
    let master = Master::new();
    let root = master.homes.user.join(".cargo");
    std::fs::create_dir_all(root.join("bin")).unwrap();
    std::fs::copy(
        installs().cargo_root.join("bin/tiny-mcp"),
        root.join("bin/rg"),
    )
    .unwrap();
    std::fs::write(
        root.join(".crates2.json"),
        r#"{"installs":{"ripgrep 14.1.1 (registry+https://github.com/rust-lang/crates.io-index)":{"version_req":null,"bins":["rg"],"features":[],"all_features":false,"no_default_features":false,"profile":"release","target":"x86_64-unknown-linux-gnu","rustc":"rustc 1.95.0"}}}"#,
    )
    .unwrap();
    let config = format!(
        "[mcp_servers.rg]\ncommand = \"{}\"\n",
        toml_str(&root.join("bin/rg"))
    );
    let (manifest, problems) = master.export(&config, "");
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(
        CargoSpec::from_artifact("rg", artifact(&manifest, "rg")).unwrap(),
        CargoSpec {
            crate_name: "ripgrep".into(),
            version: Some("14.1.1".into()),
            git: None,
            rev: None,
            bin: "rg".into(),
            args: vec![],
        }
    );
}

#[test]
fn oversize_trees_and_unknown_programs_stay_exported_as_unresolved() {
    let master = Master::new();
    let proj = master.homes.user.join("src/big");
    std::fs::create_dir_all(&proj).unwrap();
    std::fs::write(proj.join("package.json"), "{}").unwrap();
    std::fs::write(proj.join("index.js"), vec![b'x'; 600 * 1024]).unwrap();
    std::fs::write(proj.join("data.json"), vec![b'x'; 600 * 1024]).unwrap();
    let config = format!(
        r#"
[mcp_servers.big]
command = "node"
args = ["{}"]
[mcp_servers.mystery]
command = "/opt/nowhere/mystery-mcp"
"#,
        toml_str(&proj.join("index.js"))
    );
    let (manifest, problems) = master.export(&config, "[source]\nmax_total_mib = 1\n");
    assert_eq!(manifest.entries.len(), 2);
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(
        problems[0].starts_with(
            "MCP `big`: exported without an artifact: source: MCP `big`: source tree `"
        ),
        "{problems:?}"
    );
    assert!(
        problems[0].contains("over the 1.0 MiB limit"),
        "{problems:?}"
    );
    let Artifact::Unresolved { hint, .. } = &manifest.get("big").unwrap().artifact else {
        panic!("big must be unresolved");
    };
    assert!(hint.contains("max_total_mib"), "{hint}");
    assert_eq!(
        problems[1],
        "MCP `mystery`: exported without an artifact: no resolver recognised the command `/opt/nowhere/mystery-mcp`: `/opt/nowhere/mystery-mcp` does not exist on the master"
    );
}
