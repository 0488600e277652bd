//! `codexport mcp list` and `codexport mcp inspect` on a master (manifest built from the
//! Codex config and master.toml hints) and on a follower (`mcp-manifest.json`), run as the
//! built binary in temp homes. No package registry needed.

use codexport_test_support::{Home, TestContext, bins, write};
use std::process::Output;

/// Runs `codexport ARGS` as `home`.
fn run(home: &Home, args: &[&str]) -> Output {
    home.cmd().args(args).output().unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

const CONFIG: &str = r#"
[mcp_servers.remote]
url = "http://127.0.0.1:8931/mcp"
http_headers = { Authorization = "Bearer abc" }
[mcp_servers.fff]
command = "/opt/fff/fff-mcp"
args = ["--stdio"]
env = { FFF_TOKEN = "s3cret" }
[mcp_servers.mystery]
command = "/opt/nowhere/mystery"
[mcp_servers.both]
command = "x"
url = "http://127.0.0.1:1/mcp"
"#;

const MASTER_TOML: &str = r#"
[mcp.fff]
resolver = "github-release"
repo = "dmtrKovalenko/fff.nvim"
tag = "v0.5.0"
asset = "fff-mcp-{triple}"
bin = "fff-mcp"
"#;

fn master() -> TestContext {
    let ctx = TestContext::new(bins!());
    ctx.master.write_codex("config.toml", CONFIG);
    write(&ctx.master.tool.join("master.toml"), MASTER_TOML);
    ctx
}

#[test]
fn master_list_shows_every_entry_and_warns_about_the_broken_ones() {
    let ctx = master();
    let out = run(&ctx.master, &["mcp", "list"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "NAME     TRANSPORT  RESOLVER        STATE       SPEC\n\
         fff      stdio      github-release  resolved    dmtrKovalenko/fff.nvim@v0.5.0 fff-mcp-{triple} (fff-mcp)\n\
         mystery  stdio      unresolved      unresolved  no resolver recognised the command `/opt/nowhere/mystery`: `/opt/nowhere/mystery` does not exist on the master\n\
         remote   http       url             resolved    http://127.0.0.1:8931/mcp\n"
    );
    let err = stderr(&out);
    assert!(
        err.contains("MCP `both`: has both `command` and `url`"),
        "{err}"
    );
    assert!(
        err.contains("MCP `mystery`: exported without an artifact"),
        "{err}"
    );
    assert!(!err.contains("s3cret"), "{err}");
}

#[test]
fn list_json_is_one_object_per_entry() {
    let ctx = master();
    let out = run(&ctx.master, &["mcp", "list", "--json", "-q"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        rows[0],
        serde_json::json!({
            "name": "fff",
            "transport": "stdio",
            "resolver": "github-release",
            "state": "resolved",
            "summary": "dmtrKovalenko/fff.nvim@v0.5.0 fff-mcp-{triple} (fff-mcp)",
            "origin": "canonical"
        })
    );
    assert_eq!(rows.as_array().unwrap().len(), 3);
}

#[test]
fn inspect_masks_env_and_header_values() {
    let ctx = master();
    let out = run(&ctx.master, &["mcp", "inspect", "fff", "-q"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        r#"name: fff
origin: canonical
command: /opt/fff/fff-mcp
args: ["--stdio"]
env.FFF_TOKEN: ****
resolver: github-release
spec: {
  "args": [
    "--stdio"
  ],
  "asset": "fff-mcp-{triple}",
  "bin": "fff-mcp",
  "repo": "dmtrKovalenko/fff.nvim",
  "tag": "v0.5.0"
}
"#
    );
    let out = run(&ctx.master, &["mcp", "inspect", "remote", "--json", "-q"]);
    let entry: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        entry["extra"]["http_headers"],
        serde_json::json!({"Authorization": "****"})
    );
    let out = run(&ctx.master, &["mcp", "inspect", "mystery", "-q"]);
    assert!(
        stdout(&out).contains("repair: add `[mcp.mystery]` to `"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn inspect_of_an_unknown_name_lists_the_known_ones() {
    let ctx = master();
    let out = run(&ctx.master, &["mcp", "inspect", "ff", "-q"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stdout(&out), "");
    assert_eq!(
        stderr(&out),
        "error: no MCP server named `ff`\n\
         hint: did you mean `codexport mcp inspect fff`?\n\
         hint: known: fff, mystery, remote\n"
    );
}

#[test]
fn a_bad_hint_table_is_invalid_input() {
    let ctx = master();
    write(
        &ctx.master.tool.join("master.toml"),
        "[mcp.fff]\nrepo = \"o/r\"\n",
    );
    let out = run(&ctx.master, &["mcp", "list"]);
    assert_eq!(out.status.code(), Some(7), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.starts_with("error: `master.toml`: `[mcp.fff]`: missing field `resolver`"),
        "{err}"
    );
    assert!(err.contains("hint: fix `"), "{err}");
}

#[test]
fn a_follower_lists_the_manifest_it_received() {
    let ctx = TestContext::new(bins!());
    let manifest = serde_json::json!({
        "version": 1,
        "master": {"os": "linux", "home": "/home/al", "codex_home": "/home/al/.codex"},
        "entries": [{
            "name": "everything",
            "transport": "stdio",
            "command": "node",
            "args": ["/home/al/lib/node_modules/x/index.js"],
            "env": {"KEY": "v"},
            "artifact": {"state": "resolved", "resolver": "npm",
                         "spec": {"package": "x", "version": "1.0.0", "bin": "x"}},
            "origin": "canonical"
        }]
    });
    let path = ctx.follower.tool.join("mcp-manifest.json");
    write(&path, manifest.to_string());
    let out = run(&ctx.follower, &["mcp", "list"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "NAME        TRANSPORT  RESOLVER  STATE    SPEC\n\
         everything  stdio      npm       pending  x@1.0.0 (x)\n"
    );
    // A hydrated artifact shows as such (a `path` artifact hydrates without a registry).
    let mut hydrated = manifest.clone();
    hydrated["entries"][0]["artifact"] = serde_json::json!(
        {"state": "resolved", "resolver": "path", "spec": {"program": "sh"}}
    );
    write(&path, hydrated.to_string());
    let out = run(&ctx.follower, &["mcp", "hydrate", "everything", "-q"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run(&ctx.follower, &["mcp", "list", "--json"]);
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows[0]["state"], "hydrated", "{rows}");
    write(&path, "{broken");
    let out = run(&ctx.follower, &["mcp", "list"]);
    assert_eq!(out.status.code(), Some(7));
    let err = stderr(&out);
    assert!(
        err.contains("the MCP manifest `") && err.contains("mcp-manifest.json` is corrupt"),
        "{err}"
    );
    assert!(err.contains("hint: run `codexport sync`"), "{err}");
}

#[test]
fn the_documented_master_toml_examples_parse() {
    for (doc, text) in [
        ("README.md", include_str!("../README.md")),
        ("docs/mcp.md", include_str!("../docs/mcp.md")),
    ] {
        let blocks: Vec<&str> = text
            .split("```toml\n")
            .skip(1)
            .filter_map(|rest| rest.split("```").next())
            .filter(|block| block.contains("[mcp."))
            .collect();
        assert!(!blocks.is_empty(), "{doc} shows a hint");
        for block in blocks {
            let settings = codexport_resolvers::InferSettings::from_toml(block)
                .unwrap_or_else(|e| panic!("{doc}: {e}\n{block}"));
            if block.contains("[mcp.fff]") {
                assert_eq!(settings.hints["fff"].resolver, "github-release", "{doc}");
            } else if block.contains("include_secret_files") {
                assert!(!settings.include_secret_files.is_empty(), "{doc}: {block}");
            } else {
                assert!(settings.direct.contains("time"), "{doc}: {block}");
            }
        }
    }
}

/// The packed object of entry `name` in the master's manifest (`mcp inspect --json`), read
/// from the master's store as (path, bytes) of its regular files.
fn packed_files(ctx: &TestContext, name: &str) -> Vec<(String, Vec<u8>)> {
    let out = run(&ctx.master, &["mcp", "inspect", name, "--json", "-q"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let entry: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let object = entry["artifact"]["spec"]["object"]
        .as_str()
        .unwrap_or_else(|| panic!("no packed object in {entry:#}"))
        .to_owned();
    let store = codexport_core::store::ObjectStore::new(ctx.master.homes().objects());
    codexport_test_support::mcp::tar_gz_files(&store.read(&object).unwrap())
}

#[test]
fn packed_sources_leave_out_secret_looking_files_unless_master_toml_includes_them() {
    let ctx = TestContext::new(bins!());
    let proj = ctx.master.user.join("work/api");
    write(
        &proj.join("package.json"),
        r#"{"name":"api","version":"1.0.0"}"#,
    );
    write(&proj.join("server.js"), "console.log('api')\n");
    write(&proj.join(".env"), "API_TOKEN=tok-from-dotenv\n");
    write(&proj.join(".env.example"), "API_TOKEN=\n");
    write(
        &proj.join("certs/server.pem"),
        "-----BEGIN PRIVATE KEY-----\n",
    );
    ctx.master.write_codex(
        "config.toml",
        format!(
            "[mcp_servers.api]\ncommand = \"node\"\nargs = [\"{}\"]\n",
            proj.join("server.js").display()
        ),
    );
    let ok = |out: &Output| assert!(out.status.success(), "{}", stderr(out));
    ok(&run(&ctx.master, &["master", "init"]));

    let rebuilt = run(&ctx.master, &["master", "rebuild"]);
    ok(&rebuilt);
    let err = stderr(&rebuilt);
    assert!(
        err.contains(&format!(
            "warning: MCP `api`: left out of the packed source `{}`, as their names look like secrets: `.env`, `certs/server.pem` (to pack them on purpose, list them in `include_secret_files` under `[mcp.api]` in `{}`)",
            proj.display(),
            ctx.master.tool.join("master.toml").display()
        )),
        "{err}"
    );
    assert!(!err.contains("tok-from-dotenv"), "{err}");
    let names = |files: &[(String, Vec<u8>)]| -> Vec<String> {
        files.iter().map(|(p, _)| p.clone()).collect()
    };
    let files = packed_files(&ctx, "api");
    assert_eq!(names(&files), [".env.example", "package.json", "server.js"]);

    // On purpose: `.env` by name, the key by path; the warning goes away.
    write(
        &ctx.master.tool.join("master.toml"),
        "[mcp.api]\ninclude_secret_files = [\".env\", \"certs/*.pem\"]\n",
    );
    let rebuilt = run(&ctx.master, &["master", "rebuild"]);
    ok(&rebuilt);
    assert!(
        !stderr(&rebuilt).contains("left out"),
        "{}",
        stderr(&rebuilt)
    );
    let files = packed_files(&ctx, "api");
    assert_eq!(
        names(&files),
        [
            ".env",
            ".env.example",
            "certs/server.pem",
            "package.json",
            "server.js"
        ]
    );
    assert_eq!(files[0].1, b"API_TOKEN=tok-from-dotenv\n");
}
