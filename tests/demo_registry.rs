//! `codexport demo`, the README's main command, runs to completion and leaves nothing behind;
//! interrupted, it still cleans up. Needs npm (the demo installs an npm MCP server).

#[cfg(unix)]
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::Command;
#[cfg(unix)]
use std::process::Stdio;
#[cfg(unix)]
use std::sync::mpsc;
#[cfg(unix)]
use std::time::Duration;

#[cfg(unix)]
use codexport_test_support::port_open;
use codexport_test_support::{Home, TestContext, bins, run};

/// The demo as a user runs it, from a home of its own (the demo makes its own homes inside
/// the temp dir; this only keeps it away from the real home).
fn demo_cmd(home: &Home) -> Command {
    let mut cmd = home.cmd();
    cmd.arg("demo");
    // The user's package caches are the demo's too; point them at the machine's real ones so
    // the test does not download what this machine already has.
    if let Some(real) = std::env::var_os("HOME") {
        let real = PathBuf::from(real);
        cmd.env("npm_config_cache", real.join(".npm"))
            .env("UV_CACHE_DIR", real.join(".cache/uv"));
    }
    cmd
}

/// The homes root the demo announced (`  master home:   /tmp/codexport-demo-XXX/master`).
fn demo_root(stderr_line: &str) -> Option<PathBuf> {
    let path = stderr_line.strip_prefix("  master home:")?.trim();
    PathBuf::from(path).parent().map(PathBuf::from)
}

#[test]
fn the_demo_runs_to_completion_and_cleans_up() {
    let ctx = TestContext::new(bins!());
    let ran = run(&mut demo_cmd(&ctx.follower));
    assert_eq!(ran.code, 0, "demo failed:\n{}", ran.stderr);
    assert_eq!(ran.stdout, "", "the demo narrates on stderr only");
    for step in [
        "[2/10] Build a sample master Codex home",
        "[6/10] Join the follower and apply the master's revision",
        "[10/10] Check every MCP server with `mcp doctor`",
        "demo complete",
    ] {
        assert!(ran.stderr.contains(step), "no `{step}` in:\n{}", ran.stderr);
    }
    assert!(ran.stderr.contains("2 ok, 0 failed"), "{}", ran.stderr);
    assert!(!ran.stderr.contains("token=") || ran.stderr.contains("token=***"));
    let root = ran
        .stderr
        .lines()
        .find_map(demo_root)
        .expect("the demo names its homes");
    assert!(!root.exists(), "{} was not removed", root.display());
}

#[cfg(unix)]
#[test]
fn an_interrupted_demo_stops_its_master_and_removes_its_homes() {
    let ctx = TestContext::new(bins!());
    let mut child = demo_cmd(&ctx.follower)
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { return };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let mut root = None;
    let mut port = None;
    while port.is_none() {
        let line = rx
            .recv_timeout(Duration::from_secs(300))
            .expect("the demo reaches its master");
        root = root.or_else(|| demo_root(&line));
        port = line
            .trim()
            .strip_prefix("listening on 127.0.0.1:")
            .and_then(|p| p.parse::<u16>().ok());
    }
    let (root, port) = (root.unwrap(), port.unwrap());
    assert!(port_open(port));

    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    assert!(!root.exists(), "{} was not removed", root.display());
    assert!(!port_open(port), "the demo's master still listens");
}
