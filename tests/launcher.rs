//! End-to-end tests of `codexport-mcp-run` and `codexport mcp run|hydrate|plan`, offline: a
//! GitHub release fixture on loopback, local node and cargo sources, and every bad input of
//! issue 5. Each server is checked through a real MCP handshake (`initialize` + `tools/list`).
#![cfg(unix)]

use std::fs;
use std::path::Path;
use std::time::Duration;

use codexport_core::mcp::manifest::McpEntry;
use codexport_test_support::github::{FixtureAsset, ReleaseFixture};
use codexport_test_support::mcp::*;
use codexport_test_support::{
    Home, TestContext, assert_transcript, bins, regex_escape, run, write,
};
use serde_json::{Value, json};

const TIMEOUT: Duration = Duration::from_secs(60);

fn triple() -> String {
    codexport_resolvers::Platform::detect().triples[0].clone()
}

fn other_arch() -> &'static str {
    if std::env::consts::ARCH == "x86_64" {
        "aarch64"
    } else {
        "x86_64"
    }
}

/// A release of `acme/mcp-tool` whose tarball holds [`SH_SERVER`], verified through a
/// `.sha256` sibling (no GitHub digest), next to an asset for another arch.
fn publish_tool(fixture: &ReleaseFixture, tag: &str, tampered: bool) -> String {
    let version = tag.trim_start_matches('v');
    let name = format!("mcp-tool-{version}-{}.tar.gz", triple());
    let tarball = tar_gz(&[(
        &format!("mcp-tool-{version}/bin/mcp-tool"),
        0o644,
        SH_SERVER.as_bytes(),
    )]);
    let published = if tampered {
        sha256(b"what the publisher built")
    } else {
        sha256(&tarball)
    };
    fixture.publish(
        "acme/mcp-tool",
        tag,
        vec![
            FixtureAsset::undigested(&name, tarball),
            FixtureAsset::undigested(
                &format!("{name}.sha256"),
                format!("{published}  {name}\n").into_bytes(),
            ),
            FixtureAsset::new(
                &format!(
                    "mcp-tool-{version}-{}-unknown-linux-gnu.tar.gz",
                    other_arch()
                ),
                b"not for this machine".to_vec(),
            ),
        ],
    );
    name
}

fn tool_entry(name: &str, tag: &str) -> McpEntry {
    let mut e = entry(
        name,
        "github-release",
        json!({
            "repo": "acme/mcp-tool",
            "tag": tag,
            "asset": "mcp-tool-{version}-{triple}",
            "bin": "mcp-tool-{version}/bin/mcp-tool",
            "args": ["gh_tool", "/home/master/work"],
        }),
    );
    e.env = [("EXTRA_TOOL".to_owned(), "from_env".to_owned())].into();
    e
}

fn with_fixture(cmd: ProbeCmd, fixture: &ReleaseFixture) -> ProbeCmd {
    let [(k, v)] = fixture.env();
    cmd.env(k, v)
}

type ProbeCmd = codexport_launcher::probe::ProbeCommand;

fn probe_with(
    home: &Home,
    name: &str,
    fixture: &ReleaseFixture,
) -> codexport_launcher::probe::ProbeReport {
    let cmd = with_fixture(probe_command(home, name), fixture).timeout(TIMEOUT);
    codexport_launcher::probe::probe(&cmd).unwrap_or_else(|e| {
        let ran = run(launcher(home, name).envs(fixture.env()));
        panic!(
            "probe of `{name}` failed: {e}\n--- launcher stderr\n{}",
            ran.stderr
        )
    })
}

#[test]
fn github_release_with_sha256_sibling_hydrates_once_then_starts_from_the_artifact() {
    let cx = TestContext::new(bins!());
    let home = &cx.follower;
    let fixture = ReleaseFixture::start();
    let asset = publish_tool(&fixture, "v1.0.0", false);
    write_manifest(home, vec![tool_entry("tool", "v1.0.0")]);

    let report = probe_with(home, "tool", &fixture);
    let rewritten = home.user.join("work").to_string_lossy().into_owned();
    assert_eq!(report.tools, ["gh_tool", &rewritten, "from_env"]);
    assert_eq!(report.server_name, "sh");
    assert_eq!(fixture.downloads(&asset), 1);
    assert_eq!(ready_markers(home).len(), 1);

    // Ready: the hot path asks GitHub nothing and downloads nothing.
    let calls = fixture.api_calls();
    probe_with(home, "tool", &fixture);
    assert_eq!(fixture.api_calls(), calls);
    assert_eq!(fixture.downloads(&asset), 1);

    // `codexport mcp run` is the same launcher.
    let cmd = ProbeCmd::new(bins!().codexport, ["mcp", "run", "tool"])
        .env("HOME", &home.user)
        .env("CODEXPORT_HOME", &home.tool)
        .timeout(TIMEOUT);
    assert_eq!(
        codexport_launcher::probe::probe(&cmd).unwrap().tools.len(),
        3
    );
}

#[test]
fn two_launchers_for_one_unhydrated_entry_hydrate_once() {
    let cx = TestContext::new(bins!());
    let home = cx.follower.clone();
    let fixture = ReleaseFixture::start();
    let asset = publish_tool(&fixture, "v1.0.0", false);
    write_manifest(&home, vec![tool_entry("tool", "v1.0.0")]);
    let base = fixture.base.clone();
    let starts: Vec<_> = (0..2)
        .map(|_| {
            let home = home.clone();
            let base = base.clone();
            std::thread::spawn(move || {
                let cmd = probe_command(&home, "tool")
                    .env("CODEXPORT_GITHUB_API_URL", base)
                    .timeout(TIMEOUT);
                codexport_launcher::probe::probe(&cmd)
            })
        })
        .collect();
    for start in starts {
        assert_eq!(start.join().unwrap().unwrap().tools[0], "gh_tool");
    }
    assert_eq!(fixture.downloads(&asset), 1, "hydrated exactly once");
}

#[test]
fn raw_asset_matched_by_platform_with_github_digest() {
    let cx = TestContext::new(bins!());
    let home = &cx.follower;
    let fixture = ReleaseFixture::start();
    let (ours, theirs) = if std::env::consts::ARCH == "x86_64" {
        ("amd64", "arm64")
    } else {
        ("arm64", "amd64")
    };
    fixture.publish(
        "acme/raw",
        "v2",
        vec![
            FixtureAsset::new(&format!("raw-linux-{ours}"), SH_SERVER.as_bytes().to_vec()),
            FixtureAsset::new(&format!("raw-linux-{theirs}"), b"other".to_vec()),
            FixtureAsset::new(&format!("raw-darwin-{ours}"), b"mac".to_vec()),
            FixtureAsset::new("checksums.txt", b"whatever".to_vec()),
        ],
    );
    write_manifest(
        home,
        vec![entry(
            "raw",
            "github-release",
            json!({"repo": "acme/raw", "tag": "v2", "bin": "raw", "args": ["raw_tool"]}),
        )],
    );
    assert_eq!(probe_with(home, "raw", &fixture).tools, ["raw_tool"]);

    // `mcp plan --json` shows the pinned download without running it.
    let ran = run(home
        .cmd()
        .args(["mcp", "plan", "raw", "--json"])
        .envs(fixture.env()));
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let plan: Value = serde_json::from_str(&ran.stdout).unwrap();
    assert_eq!(plan["ready"], true);
    assert_eq!(plan["steps"][0]["step"], "download");
    assert_eq!(plan["steps"][0]["sha256"], sha256(SH_SERVER.as_bytes()));
}

/// Runs the launcher for a failing entry and checks the error against snapshot `snapshot`
/// (exit code, stdout, stderr; this machine's target triple shows as `[TRIPLE]`, its platform
/// label as `[PLATFORM]`), an empty stdout, no `.ready`, and that nothing outside the artifacts
/// changed.
fn assert_refused(home: &Home, name: &str, env: &[(&str, String)], snapshot: &str) {
    let before = outside_artifacts(home);
    let ran = run(launcher(home, name).envs(env.iter().map(|(k, v)| (*k, v.as_str()))));
    assert_eq!(
        ran.stdout, "",
        "the launcher's stdout belongs to the server"
    );
    assert!(ran.stderr.starts_with("error: "), "{}", ran.stderr);
    let platform = codexport_resolvers::Platform::detect().label();
    assert_transcript!(
        snapshot,
        ran,
        &regex_escape(&triple()) => "[TRIPLE]",
        &regex_escape(&platform) => "[PLATFORM]",
    );
    assert!(
        ready_markers(home).is_empty(),
        "a failed hydration left a `.ready`"
    );
    assert_eq!(
        outside_artifacts(home),
        before,
        "files outside mcp-artifacts changed"
    );
}

#[test]
fn tampered_release_asset_is_refused() {
    let cx = TestContext::new(bins!());
    let home = &cx.follower;
    let fixture = ReleaseFixture::start();
    publish_tool(&fixture, "v1.0.0", true);
    write_manifest(home, vec![tool_entry("tool", "v1.0.0")]);
    assert_refused(home, "tool", &fixture.env(), "tampered_release_asset");
    let unpacked = fs::read_dir(home.tool.join("mcp-artifacts/github-release"))
        .unwrap()
        .flatten()
        .any(|e| e.path().join("asset").exists());
    assert!(!unpacked, "nothing of a tampered asset is unpacked");
}

#[test]
fn bad_releases_are_refused_with_the_reason() {
    let cx = TestContext::new(bins!());
    let home = &cx.follower;
    let fixture = ReleaseFixture::start();
    fixture.publish(
        "acme/other",
        "v1",
        vec![
            FixtureAsset::new("tool-windows-amd64.zip", b"zip".to_vec()),
            FixtureAsset::new("tool-darwin-arm64.tar.gz", b"tgz".to_vec()),
        ],
    );
    fixture.publish(
        "acme/evil",
        "v1",
        vec![FixtureAsset::new(
            &format!("evil-{}.tar.gz", triple()),
            escaping_tar_gz(),
        )],
    );
    fixture.publish(
        "acme/nosum",
        "v1",
        vec![FixtureAsset::undigested(
            &format!("nosum-{}", triple()),
            b"x".to_vec(),
        )],
    );
    write_manifest(
        home,
        vec![
            entry(
                "other",
                "github-release",
                json!({"repo": "acme/other", "tag": "v1", "bin": "tool"}),
            ),
            entry(
                "evil",
                "github-release",
                json!({"repo": "acme/evil", "tag": "v1", "bin": "evil"}),
            ),
            entry(
                "nosum",
                "github-release",
                json!({"repo": "acme/nosum", "tag": "v1", "bin": "nosum"}),
            ),
            entry(
                "missing",
                "github-release",
                json!({"repo": "acme/missing", "tag": "v9", "bin": "x"}),
            ),
        ],
    );
    let env = fixture.env();
    assert_refused(home, "other", &env, "release_without_a_fitting_asset");
    assert_refused(home, "evil", &env, "release_asset_escaping_the_artifact");
    assert!(
        !home
            .tool
            .join("mcp-artifacts/github-release/escape")
            .exists()
    );
    assert_refused(home, "nosum", &env, "release_without_a_checksum");
    assert_refused(home, "missing", &env, "release_not_found");
}

#[test]
fn rate_limited_with_a_previous_artifact_starts_it_and_says_so() {
    let cx = TestContext::new(bins!());
    let home = &cx.follower;
    let fixture = ReleaseFixture::start();
    publish_tool(&fixture, "v1.0.0", false);
    write_manifest(home, vec![tool_entry("tool", "v1.0.0")]);
    probe_with(home, "tool", &fixture);

    // The master moved to v2, and GitHub now rate-limits this machine.
    publish_tool(&fixture, "v2.0.0", false);
    write_manifest(home, vec![tool_entry("tool", "v2.0.0")]);
    fixture.set_rate_limited(true);
    let report = probe_with(home, "tool", &fixture);
    assert_eq!(report.tools[0], "gh_tool");
    let ran = run(launcher(home, "tool").envs(fixture.env()));
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_transcript!("rate_limited_falls_back_to_the_previous_artifact", ran);

    // Without a previous artifact there is nothing to fall back to.
    write_manifest(
        home,
        vec![tool_entry("tool", "v1.0.0"), tool_entry("fresh", "v2.0.0")],
    );
    let ran = run(launcher(home, "fresh").envs(fixture.env()));
    assert_transcript!("rate_limited_without_a_previous_artifact", ran);
}

fn node_project(root: &Path) {
    write(
        &root.join("package.json"),
        r#"{"name": "local-node", "version": "0.1.0"}"#,
    );
    write(&root.join("server/index.js"), NODE_SERVER);
}

#[test]
fn local_node_source_runs_with_node_from_the_artifact() {
    let cx = TestContext::new(bins!());
    let home = &cx.follower;
    let project = cx.dir.path().join("node-project");
    node_project(&project);
    let object = put_packed_tree(home, &project);
    write_manifest(
        home,
        vec![entry(
            "local",
            "source",
            json!({"kind": "node", "object": object, "root": "/home/master/src/local", "entry": "server/index.js", "args": ["extra_tool"]}),
        )],
    );
    let report = probe_launcher(home, "local", TIMEOUT).unwrap();
    assert_eq!(report.tools, ["node_echo", "extra_tool"]);
    assert_eq!(report.server_name, "local-node");

    // `mcp hydrate` reports it ready; `mcp plan` shows the copy.
    let ran = run(home.cmd().args(["mcp", "hydrate", "local"]));
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(ran.stdout, "local: already ready (source local)\n");
    let ran = run(home.cmd().args(["mcp", "plan", "local"]));
    assert!(ran.stdout.contains("1. copy-source"), "{}", ran.stdout);
    assert!(
        ran.stdout
            .contains("launch: node ${artifact}/src/server/index.js extra_tool"),
        "{}",
        ran.stdout
    );
}

const RUST_SERVER: &str = r##"
use std::io::{BufRead, Write};
fn main() {
    let stdin = std::io::stdin();
    let mut out = std::io::stdout();
    for line in stdin.lock().lines() {
        let line = line.unwrap();
        let id: String = line.split("\"id\":").nth(1).map(|s| s.chars().take_while(|c| c.is_ascii_digit()).collect()).unwrap_or_default();
        let reply = if line.contains("\"initialize\"") {
            format!(r#"{{"jsonrpc":"2.0","id":{id},"result":{{"protocolVersion":"2025-06-18","capabilities":{{"tools":{{}}}},"serverInfo":{{"name":"tiny-rust","version":"0.1.0"}}}}}}"#)
        } else if line.contains("\"tools/list\"") {
            format!(r#"{{"jsonrpc":"2.0","id":{id},"result":{{"tools":[{{"name":"rust_tool","inputSchema":{{"type":"object"}}}}]}}}}"#)
        } else {
            continue;
        };
        writeln!(out, "{reply}").unwrap();
        out.flush().unwrap();
    }
}
"##;

fn cargo_project(root: &Path, main: &str) {
    write(
        &root.join("Cargo.toml"),
        "[package]\nname = \"tiny-mcp\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n",
    );
    write(&root.join("src/main.rs"), main);
}

#[test]
fn local_cargo_source_builds_in_the_artifact_and_a_broken_one_shows_the_compiler() {
    let cx = TestContext::new(bins!());
    let home = &cx.follower;
    let good = cx.dir.path().join("good");
    cargo_project(&good, RUST_SERVER);
    let bad = cx.dir.path().join("bad");
    cargo_project(&bad, "fn main() { this_is_not_rust }\n");
    let spec = |object: String| json!({"kind": "cargo", "object": object, "root": "/home/master/tiny", "entry": "tiny-mcp"});
    write_manifest(
        home,
        vec![
            entry("rusty", "source", spec(put_packed_tree(home, &good))),
            entry("broken", "source", spec(put_packed_tree(home, &bad))),
        ],
    );
    let report = probe_launcher(home, "rusty", Duration::from_secs(600)).unwrap();
    assert_eq!(report.tools, ["rust_tool"]);

    let before = ready_markers(home);
    let ran = run(&mut launcher(home, "broken"));
    assert_eq!(ran.stdout, "");
    assert_transcript!("cargo_build_fails_with_the_compiler_output", ran);
    assert_eq!(ready_markers(home), before);
}

#[test]
fn bad_manifests_and_entries_fail_with_their_exit_codes() {
    let cx = TestContext::new(bins!());
    let home = &cx.follower;

    // No manifest yet.
    assert_refused(home, "x", &[], "no_manifest");

    // A corrupt one.
    write(
        &home.tool.join("mcp-manifest.json"),
        "{\"version\": 1, \"entries\": [",
    );
    assert_refused(home, "x", &[], "corrupt_manifest");

    let empty_path = cx.dir.path().join("empty-bin");
    fs::create_dir_all(&empty_path).unwrap();
    write_manifest(
        home,
        vec![
            entry(
                "everything",
                "npm",
                json!({"package": "@modelcontextprotocol/server-everything", "version": "2026.8.31", "bin": "mcp-server-everything"}),
            ),
            entry("plugin", "fancy-plugin", json!({})),
            entry("badspec", "npm", json!({"package": "x"})),
            serde_json::from_value(json!({"name": "remote", "transport": "http", "url": "https://mcp.example.com/mcp",
                   "artifact": {"state": "resolved", "resolver": "url", "spec": {"url": "https://mcp.example.com/mcp"}}})).unwrap(),
            serde_json::from_value(json!({"name": "mystery", "transport": "stdio", "command": "/opt/x/bin/srv",
                   "artifact": {"state": "unresolved", "reason": "`/opt/x/bin/srv` belongs to no package manager", "hint": "add `[mcp.mystery]` to master.toml"}})).unwrap(),
        ],
    );
    assert_refused(home, "everythng", &[], "unknown_name_with_a_suggestion");
    assert_refused(home, "plugin", &[], "resolver_plugin_not_installed");
    assert_refused(home, "badspec", &[], "invalid_spec");
    assert_refused(home, "remote", &[], "remote_http_entry");
    assert_refused(home, "mystery", &[], "unresolved_entry");
    // npm is not on this PATH.
    assert_refused(
        home,
        "everything",
        &[("PATH", empty_path.to_string_lossy().into_owned())],
        "package_manager_not_on_path",
    );

    // Usage errors of the launcher itself.
    let ran = run(std::process::Command::new(bins!().launcher).args(["mcp", "start"]));
    assert_transcript!("usage_error", ran);
}

#[test]
fn without_home_the_launcher_says_how_to_set_it() {
    let ran = run(std::process::Command::new(bins!().launcher)
        .args(["mcp", "run", "x"])
        .env_remove("HOME")
        .env_remove("USERPROFILE")
        .env_remove("CODEXPORT_HOME")
        .env_remove("CODEX_HOME")
        .stdin(std::process::Stdio::null()));
    assert_eq!(ran.stdout, "");
    assert_transcript!("no_home", ran);
}

#[test]
fn a_launcher_without_codexport_beside_it_names_the_missing_binary() {
    let cx = TestContext::new(bins!());
    let home = &cx.follower;
    write_manifest(home, vec![tool_entry("tool", "v1.0.0")]);
    // The launcher alone in a directory: nothing to hydrate the entry with.
    let alone = cx.dir.path().join("alone");
    fs::create_dir_all(&alone).unwrap();
    let launcher = alone.join("codexport-mcp-run");
    fs::copy(bins!().launcher, &launcher).unwrap();
    let mut cmd = std::process::Command::new(&launcher);
    home.apply_env(&mut cmd);
    let ran = run(cmd
        .args(["mcp", "run", "tool"])
        .env_remove("CODEXPORT_BINARY"));
    assert_eq!(ran.stdout, "");
    assert_transcript!("codexport_missing_beside", ran);
    // `CODEXPORT_BINARY` names one that is not there.
    let mut cmd = std::process::Command::new(&launcher);
    home.apply_env(&mut cmd);
    let ran = run(cmd
        .args(["mcp", "run", "tool"])
        .env("CODEXPORT_BINARY", alone.join("nowhere/codexport")));
    assert_transcript!("codexport_binary_missing", ran);
    assert!(!home.tool.join("mcp-artifacts").exists());
}

/// What the launcher is made of: its package's dependency set (as a build of that package
/// alone resolves it) and the symbols of the binary the tests run hold no async runtime, HTTP
/// stack, file watcher or wasm engine.
#[cfg(target_os = "linux")]
#[test]
fn the_launcher_holds_no_async_runtime_http_client_or_wasm_engine() {
    const HEAVY: [&str; 7] = [
        "wasmtime",
        "reqwest",
        "tokio",
        "hyper",
        "axum",
        "notify",
        "indicatif",
    ];
    let tree = std::process::Command::new(env!("CARGO"))
        .args([
            "tree",
            "-p",
            "codexport-launcher",
            "--features",
            "standalone",
        ])
        .args(["-e", "normal", "--prefix", "none", "--offline", "--locked"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(
        tree.status.success(),
        "{}",
        String::from_utf8_lossy(&tree.stderr)
    );
    let tree = String::from_utf8(tree.stdout).unwrap();
    let crates: Vec<&str> = tree.lines().filter_map(|l| l.split(' ').next()).collect();
    assert!(crates.contains(&"codexport-core"), "{tree}");
    for heavy in HEAVY {
        assert!(
            !crates.contains(&heavy),
            "`{heavy}` in the launcher's tree:\n{tree}"
        );
    }

    let nm = std::process::Command::new("nm")
        .args(["--demangle", "--defined-only"])
        .arg(bins!().launcher)
        .output()
        .unwrap();
    assert!(
        nm.status.success(),
        "{}",
        String::from_utf8_lossy(&nm.stderr)
    );
    let symbols = String::from_utf8_lossy(&nm.stdout);
    assert!(symbols.contains("codexport_launcher::run::prepare"));
    for heavy in HEAVY {
        let path = format!("{heavy}::");
        let found: Vec<&str> = symbols
            .lines()
            .filter(|l| l.contains(&path))
            .take(3)
            .collect();
        assert!(
            found.is_empty(),
            "`{heavy}` linked into the launcher: {found:?}"
        );
    }
}
