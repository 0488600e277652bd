//! Managed requirements with the real Codex CLI 0.169.0 and 0.171.0 (npm, installed once into
//! the repo's `.tools/`; needs the npm registry or its cache the first time): an admin's
//! `mcp_servers` allowlist in `/etc/codex/requirements.toml` disables a server routed through
//! `codexport-mcp-run` (its command is no longer the one listed), `mcp doctor` says so with the
//! repair, and `[mcp.NAME] route = "direct"` on the master keeps the listed command.
//!
//! The requirements file lives in a private mount namespace (`unshare -Urm` with an overlay on
//! `/etc`), so the machine's own `/etc` is never touched.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use codexport_test_support::{
    CODEX_VERSIONS, Home, TestContext, bins, codex_bin_of, mcp::SH_SERVER,
};
use serde_json::Value;

const REQUIREMENTS: &str = r#"# An admin's allowlist: both servers by name, each with the command the master uses.
[mcp_servers.direct-srv.identity]
command = "sh"

[mcp_servers.routed-srv.identity]
command = "sh"
"#;

/// A scratch overlay whose upper layer holds `/etc/codex/requirements.toml`.
fn overlay(dir: &Path) -> PathBuf {
    let root = dir.join("etc-overlay");
    codexport_test_support::write(&root.join("up/codex/requirements.toml"), REQUIREMENTS);
    std::fs::create_dir_all(root.join("work")).unwrap();
    root
}

/// Runs `program args` as `home`'s machine inside a mount namespace whose `/etc` carries the
/// overlay's requirements.
fn under_requirements(overlay: &Path, home: &Home, program: &Path, args: &[&str]) -> Output {
    let tmp = home.user.join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let mut cmd = Command::new("unshare");
    cmd.args(["-Urm", "sh", "-c"])
        .arg(r#"mount -t overlay overlay -o "lowerdir=/etc,upperdir=$1/up,workdir=$1/work" /etc && shift && exec "$@""#)
        .arg("sh")
        .arg(overlay)
        .arg(program)
        .args(args);
    home.apply_env(&mut cmd);
    cmd.env("TMPDIR", &tmp);
    let out = cmd.output().unwrap();
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("unshare:"),
        "this test needs unprivileged user and mount namespaces (unshare -Urm): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn codex_mcp_list(version: &str, overlay: &Path, home: &Home) -> Vec<Value> {
    let out = under_requirements(
        overlay,
        home,
        &codex_bin_of(version),
        &["mcp", "list", "--json"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice::<Value>(&out.stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

fn requirements_disable_routed_servers_and_direct_keeps_them(version: &str) {
    let mut ctx = TestContext::new(bins!());
    for home in [&ctx.master, &ctx.follower] {
        codexport_test_support::write(&home.user.join("srv.sh"), SH_SERVER);
    }
    let script = ctx.master.user.join("srv.sh").display().to_string();
    ctx.master.write_codex(
        "config.toml",
        format!(
            "[mcp_servers.direct-srv]\ncommand = \"sh\"\nargs = [\"{script}\", \"direct_tool\"]\n\n\
             [mcp_servers.routed-srv]\ncommand = \"sh\"\nargs = [\"{script}\"]\n"
        ),
    );
    codexport_test_support::write(
        &ctx.master.tool.join("master.toml"),
        "[mcp.direct-srv]\nroute = \"direct\"\n",
    );
    ctx.start_master_with(&["--no-watch"]);
    ctx.join(&["--apply"]);

    // The direct server keeps the master's command (paths mapped); the other one runs the
    // launcher.
    let config: toml_edit::DocumentMut = ctx.follower.read_codex("config.toml").parse().unwrap();
    let direct = &config["mcp_servers"]["direct-srv"];
    assert_eq!(direct["command"].as_str(), Some("sh"));
    let follower_script = ctx.follower.user.join("srv.sh").display().to_string();
    assert_eq!(direct["args"][0].as_str(), Some(follower_script.as_str()));
    let launcher = ctx
        .follower
        .tool
        .join("bin/codexport-mcp-run")
        .display()
        .to_string();
    assert_eq!(
        config["mcp_servers"]["routed-srv"]["command"].as_str(),
        Some(launcher.as_str())
    );

    // Codex itself: the listed command passes, the launcher does not.
    let overlay = overlay(ctx.dir.path());
    let listed = codex_mcp_list(version, &overlay, &ctx.follower);
    let server = |name: &str| listed.iter().find(|s| s["name"] == name).unwrap().clone();
    assert_eq!(server("direct-srv")["enabled"], true, "{listed:?}");
    assert_eq!(server("routed-srv")["enabled"], false, "{listed:?}");
    assert!(
        server("routed-srv")["disabled_reason"]
            .as_str()
            .unwrap()
            .contains("requirements"),
        "{listed:?}"
    );

    // `mcp doctor` reads the same requirements and names the repair.
    let out = under_requirements(
        &overlay,
        &ctx.follower,
        &ctx.follower.bins.codexport,
        &["mcp", "doctor", "--no-start", "--json"],
    );
    assert_eq!(
        out.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let entry = |name: &str| {
        doc["entries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == name)
            .unwrap()
            .clone()
    };
    let routed = entry("routed-srv");
    assert_eq!(routed["ok"], false, "{doc}");
    let problem = routed["problem"].as_str().unwrap();
    assert!(
        problem.contains("/etc/codex/requirements.toml"),
        "{problem}"
    );
    assert!(problem.contains("`sh`"), "{problem}");
    let repair = routed["repair"].to_string();
    assert!(repair.contains("route = \\\"direct\\\""), "{repair}");
    assert!(repair.contains("[mcp.routed-srv]"), "{repair}");
    let direct = entry("direct-srv");
    assert_eq!(direct["ok"], true, "{doc}");
    assert_eq!(direct["resolver"], "direct", "{doc}");

    // Without requirements nothing is reported against either.
    let out = ctx
        .follower
        .cmd()
        .args(["mcp", "doctor", "--no-start", "--json", "direct-srv"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn requirements_disable_routed_servers_and_direct_keeps_them_0_169() {
    requirements_disable_routed_servers_and_direct_keeps_them(CODEX_VERSIONS[0]);
}

#[test]
fn requirements_disable_routed_servers_and_direct_keeps_them_0_171() {
    requirements_disable_routed_servers_and_direct_keeps_them(CODEX_VERSIONS[1]);
}
