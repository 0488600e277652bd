//! End-to-end launcher tests that need package registries (npm, PyPI): real MCP servers
//! hydrated by the npm, uv and python-source resolvers, then started through the launcher and
//! checked with a real MCP handshake.
#![cfg(unix)]

use std::time::Duration;

use codexport_test_support::mcp::*;
use codexport_test_support::{TestContext, bins, write};
use serde_json::json;

/// Cold hydrations download packages; later starts are fast.
const COLD: Duration = Duration::from_secs(600);

#[test]
fn npm_server_everything_through_the_launcher() {
    let cx = TestContext::new(bins!());
    let home = &cx.follower;
    write_manifest(
        home,
        vec![entry(
            "everything",
            "npm",
            json!({"package": "@modelcontextprotocol/server-everything", "version": "2026.8.31", "bin": "mcp-server-everything"}),
        )],
    );
    let report = probe_launcher(home, "everything", COLD).unwrap();
    assert!(
        report.tools.iter().any(|t| t == "echo"),
        "{:?}",
        report.tools
    );
    assert!(!report.server_name.is_empty());
    // Exec'd from the artifact, not through npx.
    let ready = ready_markers(home);
    assert_eq!(ready.len(), 1);
    let marker = std::fs::read_to_string(&ready[0]).unwrap();
    assert!(
        marker.contains("node_modules/.bin/mcp-server-everything"),
        "{marker}"
    );
    assert!(
        ready[0]
            .parent()
            .unwrap()
            .join("node_modules/@modelcontextprotocol/server-everything/package.json")
            .is_file()
    );
}

#[test]
fn uv_mcp_server_time_through_the_launcher() {
    let cx = TestContext::new(bins!());
    let home = &cx.follower;
    write_manifest(
        home,
        vec![entry(
            "time",
            "uv",
            json!({"package": "mcp-server-time", "version": "2026.10.19", "from": "mcp-server-time", "bin": "mcp-server-time", "args": ["--local-timezone", "UTC"]}),
        )],
    );
    let report = probe_launcher(home, "time", COLD).unwrap();
    assert!(
        report.tools.iter().any(|t| t == "get_current_time"),
        "{:?}",
        report.tools
    );
    let marker = std::fs::read_to_string(&ready_markers(home)[0]).unwrap();
    assert!(
        marker.contains("tools/mcp-server-time/bin/mcp-server-time"),
        "{marker}"
    );
}

const PY_SERVER: &str = r#"from mcp.server.fastmcp import FastMCP

mcp = FastMCP("local-python")


@mcp.tool()
def py_add(a: int, b: int) -> int:
    """Adds two numbers."""
    return a + b


def main() -> None:
    mcp.run()


if __name__ == "__main__":
    main()
"#;

#[test]
fn local_python_sources_run_from_their_own_environment() {
    let cx = TestContext::new(bins!());
    let home = &cx.follower;
    // A script with its dependencies in pyproject.toml (no build system): a venv of its own.
    let script = cx.dir.path().join("py-script");
    write(
        &script.join("pyproject.toml"),
        "[project]\nname = \"local-python\"\nversion = \"0.1.0\"\nrequires-python = \">=3.10\"\ndependencies = [\"mcp>=1.2,<2\"]\n",
    );
    write(&script.join("server.py"), PY_SERVER);
    // A package with a console script: installed as a uv tool from the copied tree.
    let package = cx.dir.path().join("py-package");
    write(
        &package.join("pyproject.toml"),
        "[project]\nname = \"local-py-pkg\"\nversion = \"0.1.0\"\nrequires-python = \">=3.10\"\ndependencies = [\"mcp>=1.2,<2\"]\n\n[project.scripts]\nlocal-py-server = \"local_py_pkg.server:main\"\n\n[build-system]\nrequires = [\"hatchling\"]\nbuild-backend = \"hatchling.build\"\n",
    );
    write(&package.join("src/local_py_pkg/__init__.py"), "");
    write(&package.join("src/local_py_pkg/server.py"), PY_SERVER);

    let script_object = put_packed_tree(home, &script);
    let package_object = put_packed_tree(home, &package);
    write_manifest(
        home,
        vec![
            entry(
                "pyscript",
                "source",
                json!({"kind": "python", "object": script_object, "root": "/home/master/py-script", "entry": "server.py"}),
            ),
            entry(
                "pypkg",
                "source",
                json!({"kind": "python", "object": package_object, "root": "/home/master/py-package", "entry": "local-py-server"}),
            ),
        ],
    );
    for name in ["pyscript", "pypkg"] {
        let report = probe_launcher(home, name, COLD)
            .unwrap_or_else(|e| panic!("{name}: {e}\n{}", run_launcher(home, name).stderr));
        assert_eq!(report.tools, ["py_add"], "{name}");
        assert_eq!(report.server_name, "local-python", "{name}");
    }
}
