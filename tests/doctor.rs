//! `codexport mcp doctor` end to end, with no package registry: a working local server, a
//! server that dies, a missing program, an entry the master could not resolve, and URL servers
//! that answer or do not.

use std::io::{Read, Write};
use std::net::TcpListener;

use codexport_core::mcp::manifest::{Artifact, McpEntry, Transport};
use codexport_test_support::mcp::{mcp_entry, resolved, write_manifest};
use codexport_test_support::{
    Home, TestContext, assert_transcript, bins, free_port, output, run, write,
};
use serde_json::{Value, json};

/// A dependency-free MCP server with two tools.
const SERVER_JS: &str = r#"
const send = (m) => process.stdout.write(JSON.stringify(m) + "\n");
require("node:readline").createInterface({ input: process.stdin }).on("line", (line) => {
  const msg = JSON.parse(line);
  if (msg.id === undefined) return;
  if (msg.method === "initialize") {
    send({ jsonrpc: "2.0", id: msg.id, result: { protocolVersion: "2025-06-18",
      capabilities: { tools: {} }, serverInfo: { name: "fixture", version: "1.0.0" } } });
  } else if (msg.method === "tools/list") {
    send({ jsonrpc: "2.0", id: msg.id, result: { tools: [{ name: "a" }, { name: "b" }] } });
  } else {
    send({ jsonrpc: "2.0", id: msg.id, error: { code: -32601, message: "no" } });
  }
});
"#;

fn path_entry(name: &str, program: &str, args: &[&str]) -> McpEntry {
    mcp_entry(
        name,
        resolved("path", json!({"program": program, "args": args})),
    )
}

fn url_entry(name: &str, url: &str) -> McpEntry {
    McpEntry {
        transport: Transport::Http,
        command: None,
        url: Some(url.into()),
        ..mcp_entry(name, resolved("url", json!({"url": url})))
    }
}

/// A follower with the launcher installed and a working `fixture` server.
fn follower(ctx: &TestContext) -> &Home {
    let home = &ctx.follower;
    let script = write(&home.user.join("fixture/server.js"), SERVER_JS);
    home.install_launcher();
    write_manifest(
        home,
        vec![path_entry("fixture", "node", &[script.to_str().unwrap()])],
    );
    home
}

fn doctor_json(home: &Home, args: &[&str], code: i32) -> Value {
    let out = output(
        home.cmd().args(["mcp", "doctor", "--json"]).args(args),
        code,
    );
    serde_json::from_str(&out.stdout).unwrap()
}

#[test]
fn a_working_server_reports_protocol_tools_and_latency() {
    let ctx = TestContext::new(bins!());
    let home = follower(&ctx);
    let out = output(home.cmd().args(["mcp", "doctor"]), 0);
    let row = out
        .stdout
        .lines()
        .find(|l| l.starts_with("fixture"))
        .unwrap();
    assert!(row.contains("path"), "{row}");
    assert!(
        row.contains("ok    protocol 2025-06-18, 2 tools, "),
        "{}",
        out.stdout
    );
    assert!(row.contains("(fixture 1.0.0)"), "{row}");
    assert!(out.stdout.ends_with("1 ok, 0 failed\n"), "{}", out.stdout);

    let report = doctor_json(home, &[], 0);
    let entry = &report["entries"][0];
    assert_eq!(report["ok"], true);
    assert_eq!(entry["started"]["tools"], 2);
    assert_eq!(entry["started"]["protocol_version"], "2025-06-18");
    assert!(entry["started"]["latency_ms"].is_u64());
    assert_eq!(entry["spec"]["program"], "node");

    let quiet = doctor_json(home, &["--no-start"], 0);
    assert!(quiet["entries"][0].get("started").is_none());
}

#[test]
fn each_failure_names_its_repair_and_the_exit_code_is_8() {
    let ctx = TestContext::new(bins!());
    let home = follower(&ctx);
    let script = home.user.join("fixture/server.js");
    write_manifest(
        home,
        vec![
            path_entry("fixture", "node", &[script.to_str().unwrap()]),
            path_entry("dies", "sh", &["-c", "echo boom >&2; exit 3"]),
            path_entry("missing", "definitely-not-installed-xyz", &[]),
            mcp_entry(
                "unresolved",
                Artifact::Unresolved {
                    reason: "no resolver recognised the command".into(),
                    hint: "add a `[mcp.unresolved]` hint to `~/.codexport/master.toml`".into(),
                },
            ),
        ],
    );
    let out = run(home.cmd().args(["mcp", "doctor"]));
    assert_transcript!("report_with_failing_entries", out);

    let report = doctor_json(home, &[], 8);
    let by_name = |name: &str| {
        report["entries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == name)
            .unwrap()
            .clone()
    };
    assert_eq!(report["ok"], false);
    assert_eq!(by_name("fixture")["ok"], true);
    assert_eq!(
        by_name("missing")["missing_tools"],
        json!(["definitely-not-installed-xyz"])
    );
    assert_eq!(by_name("unresolved")["resolver"], "unresolved");
    assert!(by_name("dies")["repair"].as_array().unwrap().len() == 1);

    // Only the named entries are checked.
    let one = doctor_json(home, &["fixture"], 0);
    assert_eq!(one["entries"].as_array().unwrap().len(), 1);
}

#[test]
fn unknown_names_and_missing_manifests_are_clear_errors() {
    let ctx = TestContext::new(bins!());
    let none = run(ctx.follower_cmd().args(["mcp", "doctor"]));
    assert_transcript!("no_manifest", none);

    let home = follower(&ctx);
    let out = run(home.cmd().args(["mcp", "doctor", "fixtur"]));
    assert_transcript!("unknown_name", out);
}

#[test]
fn a_missing_launcher_is_reported_with_its_repair() {
    let ctx = TestContext::new(bins!());
    let home = follower(&ctx);
    std::fs::remove_dir_all(home.tool.join("bin")).unwrap();
    let report = doctor_json(home, &[], 8);
    let entry = &report["entries"][0];
    assert!(
        entry["problem"]
            .as_str()
            .unwrap()
            .contains("codexport-mcp-run` is missing"),
        "{entry}"
    );
    assert_eq!(
        entry["repair"][0],
        "run `codexport apply` (it installs the launcher that config.toml points at)"
    );
}

#[test]
fn url_servers_get_a_reachability_check() {
    let ctx = TestContext::new(bins!());
    let home = follower(&ctx);
    // A loopback HTTP server that answers every request with 202 Accepted.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let up = format!("http://{}/mcp", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let _ = stream.write_all(
                b"HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
            );
        }
    });
    let down = format!("http://127.0.0.1:{}/mcp", free_port());
    write_manifest(home, vec![url_entry("up", &up), url_entry("down", &down)]);

    let out = run(home.cmd().args(["mcp", "doctor"]));
    // Only URL servers failed: exit 5.
    assert_transcript!("report_with_an_unreachable_url_server", out);
}
