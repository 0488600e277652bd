//! The npm package's JS shim (`npm/codexport/bin/codexport.js`) run by the real `node`: it passes
//! arguments through, exits with the binary's code (128+N for a signal), forwards SIGINT, SIGTERM
//! and SIGHUP, honours `CODEXPORT_BINARY`, and a missing platform package is one error line.

#![cfg(unix)]

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use codexport_test_support::{output, write};

/// The shim's one environment knob (documented in npm/codexport/bin/codexport.js).
const CODEXPORT_BINARY: &str = "CODEXPORT_BINARY";

fn shim() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("npm/codexport/bin/codexport.js")
}

/// `node shim ARGS...` with `CODEXPORT_BINARY` set to `binary` when given.
fn node(binary: Option<&Path>) -> Command {
    let mut cmd = Command::new("node");
    cmd.arg(shim()).stdin(Stdio::null());
    match binary {
        Some(binary) => cmd.env(CODEXPORT_BINARY, binary),
        None => cmd.env_remove(CODEXPORT_BINARY),
    };
    cmd
}

/// An executable shell script standing in for the native binary.
fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = write(&dir.join(name), format!("#!/bin/sh\n{body}\n"));
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

#[test]
fn arguments_stdout_and_exit_code_pass_through() {
    let dir = tempfile::tempdir().unwrap();
    let bin = script(
        dir.path(),
        "fake",
        r#"printf '%s\n' "$@"; echo err >&2; exit 7"#,
    );
    let ran = output(
        node(Some(&bin)).args(["follower", "join", "a b", "--apply"]),
        7,
    );
    assert_eq!(ran.stdout, "follower\njoin\na b\n--apply\n");
    assert_eq!(ran.stderr, "err\n");
}

#[test]
fn a_binary_killed_by_a_signal_exits_128_plus_n() {
    let dir = tempfile::tempdir().unwrap();
    let bin = script(dir.path(), "fake", "kill -TERM $$");
    output(&mut node(Some(&bin)), 128 + libc::SIGTERM);
    let bin = script(dir.path(), "fake9", "kill -KILL $$");
    output(&mut node(Some(&bin)), 128 + libc::SIGKILL);
}

#[test]
fn signals_sent_to_the_shim_reach_the_binary() {
    let dir = tempfile::tempdir().unwrap();
    // Prints the signal it got and exits with its own code, so the exit code proves which one
    // arrived; gives up after 30 s (exit 99) so a lost signal cannot hang the test.
    let bin = script(
        dir.path(),
        "fake",
        "trap 'echo INT; exit 42' INT\n\
         trap 'echo TERM; exit 45' TERM\n\
         trap 'echo HUP; exit 41' HUP\n\
         echo ready\n\
         i=0; while [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done; exit 99",
    );
    for (signal, name, code) in [
        (libc::SIGINT, "INT", 42),
        (libc::SIGTERM, "TERM", 45),
        (libc::SIGHUP, "HUP", 41),
    ] {
        let mut child = node(Some(&bin))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let next = || lines.recv_timeout(Duration::from_secs(40)).ok();
        assert_eq!(next().as_deref(), Some("ready"));
        // To the shim alone, not its process group: only forwarding can reach the binary.
        assert_eq!(
            unsafe { libc::kill(child.id() as libc::pid_t, signal) },
            0,
            "kill"
        );
        assert_eq!(next().as_deref(), Some(name), "the binary never got {name}");
        let deadline = Instant::now() + Duration::from_secs(20);
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "the shim never exited after {name}"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        assert_eq!(status.code(), Some(code), "after {name}");
    }
}

#[test]
fn a_binary_that_cannot_start_is_one_error_line() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nowhere/codexport");
    let ran = output(node(Some(&missing)).arg("--version"), 1);
    assert_eq!(
        ran.stderr,
        format!(
            "error: cannot run `{0}`: spawn {0} ENOENT\n",
            missing.display()
        )
    );
    assert_eq!(ran.stdout, "");
}

#[test]
fn a_missing_platform_package_names_it_and_the_reinstall_command() {
    // Run from the source tree: no node_modules beside it, so no platform package resolves.
    let ran = output(node(None).arg("--version"), 1);
    let version = env!("CARGO_PKG_VERSION");
    let platform = match (std::env::consts::OS, std::env::consts::ARCH) {
        ("linux", "x86_64") => "linux-x64",
        ("linux", "aarch64") => "linux-arm64",
        (os, arch) => panic!("no npm platform package for {os} {arch}"),
    };
    assert_eq!(
        ran.stderr,
        format!(
            "error: the platform package `@codexport/{platform}` is not installed (npm left out \
             the optional dependency); reinstall: `npm install codexport@{version} --include=optional`\n"
        )
    );
    assert_eq!(ran.stdout, "");
}
