//! Codex plugins and marketplaces on followers, checked with the real Codex CLI 0.169.0 and
//! 0.171.0 (npm, installed once into the repo's `.tools/`; needs the npm registry or its cache
//! the first time): the master's `[marketplaces]` and `[plugins]` reach the follower, Codex
//! there builds its own plugin cache (never synced) and loads the plugin's skill, MCP server
//! and hook, the hook trusted because the master trusts it, the plugin's MCP server exported
//! and run through the launcher, and Codex's own plugin edits on the follower survive the
//! next sync.

use std::fs;
use std::path::Path;
use std::time::Duration;

use codexport_core::hooks::{HookState, set_state};
use codexport_test_support::{
    CODEX_VERSIONS, Home, TestContext, app_server, bins, codex_bin_of, codex_cmd,
    mcp::{NODE_SERVER, probe_launcher},
    output, write,
};
use serde_json::{Value, json};

/// The plugin hook's `[hooks.state]` key: no absolute path, the same on every machine.
const HOOK_KEY: &str = "hello@local-mkt:hooks.json:session_start:0:0";

/// A local marketplace at `root` holding plugin `hello` (a skill, an MCP server, a hook) and
/// plugin `extra` (a skill only).
fn marketplace(root: &Path) {
    write(
        &root.join(".agents/plugins/marketplace.json"),
        json!({"name": "local-mkt", "interface": {"displayName": "Local"}, "plugins": [
            {"name": "hello", "source": {"source": "local", "path": "./plugins/hello"},
             "policy": {"installation": "AVAILABLE", "authentication": "ON_INSTALL"}},
            {"name": "extra", "source": {"source": "local", "path": "./plugins/extra"},
             "policy": {"installation": "AVAILABLE", "authentication": "ON_INSTALL"}}
        ]})
        .to_string(),
    );
    let hello = root.join("plugins/hello");
    write(
        &hello.join(".codex-plugin/plugin.json"),
        json!({"name": "hello", "version": "0.1.0", "description": "Says hello",
               "skills": "./skills/", "mcpServers": "./.mcp.json", "hooks": "./hooks.json"})
        .to_string(),
    );
    write(
        &hello.join("skills/greet/SKILL.md"),
        "---\nname: greet\ndescription: Greets the user\n---\nSay hello.\n",
    );
    write(&hello.join("server.js"), NODE_SERVER);
    // Codex resolves a plugin server's relative `cwd` against the plugin's own folder.
    write(
        &hello.join(".mcp.json"),
        json!({"mcpServers": {"hello-mcp": {"command": "node", "args": ["./server.js", "hello_tool"], "cwd": "."}}})
            .to_string(),
    );
    write(
        &hello.join("hooks.json"),
        json!({"hooks": {"SessionStart": [{"matcher": "startup", "hooks": [
            {"type": "command", "command": "echo hello from the plugin", "timeout": 5}]}]}})
        .to_string(),
    );
    let extra = root.join("plugins/extra");
    write(
        &extra.join(".codex-plugin/plugin.json"),
        json!({"name": "extra", "version": "1.0.0", "description": "More", "skills": "./skills/"})
            .to_string(),
    );
    write(
        &extra.join("skills/more/SKILL.md"),
        "---\nname: more\ndescription: More things\n---\nMore.\n",
    );
}

/// Runs `codex ARGS` of `version` as `home`'s machine; its stdout.
fn codex(version: &str, home: &Home, args: &[&str]) -> String {
    let out = codex_cmd(version, home).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "codex {version} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Codex's hook `key` for `home`: (trustStatus, currentHash).
fn codex_hook(version: &str, home: &Home, key: &str) -> Option<(String, String)> {
    let cwd = home.user.display().to_string();
    let answer = app_server(version, home, "hooks/list", json!({"cwds": [cwd]}));
    answer["data"][0]["hooks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["key"] == key)
        .map(|h| {
            (
                h["trustStatus"].as_str().unwrap().to_owned(),
                h["currentHash"].as_str().unwrap().to_owned(),
            )
        })
}

/// The names Codex's `codex mcp list --json` lists for `home`.
fn mcp_names(version: &str, home: &Home) -> Vec<String> {
    let list: Value =
        serde_json::from_str(&codex(version, home, &["mcp", "list", "--json"])).unwrap();
    list.as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_owned())
        .collect()
}

/// Lets Codex of `version` build `home`'s plugin cache the way an app does (`plugin/list`
/// installs enabled plugins that are missing, in the background), until `plugin` is there.
fn build_cache(version: &str, home: &Home, plugin: &str) -> Value {
    let cache = home.codex.join(plugin);
    for _ in 0..40 {
        let listed = app_server(version, home, "plugin/list", json!({}));
        if cache.is_file() {
            return listed;
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    panic!("codex {version} never built `{}`", cache.display());
}

fn config_doc(home: &Home) -> toml_edit::DocumentMut {
    home.read_codex("config.toml").parse().unwrap()
}

fn plugins_reach_the_follower_and_codex_loads_them(version: &str) {
    let mut ctx = TestContext::new(bins!());
    let master_mkt = ctx.master.user.join("mkt");
    marketplace(&master_mkt);
    let mkt = master_mkt.display().to_string();
    codex(
        version,
        &ctx.master,
        &["plugin", "marketplace", "add", &mkt],
    );
    codex(version, &ctx.master, &["plugin", "add", "hello@local-mkt"]);
    // The master trusts the plugin's hook the way Codex's own prompt does: `trusted_hash` is
    // the definition half of Codex's `currentHash`.
    let (status, hash) =
        codex_hook(version, &ctx.master, HOOK_KEY).expect("the master lists the plugin hook");
    assert_eq!(status, "untrusted");
    let definition = hash
        .split_once('/')
        .map_or(hash.as_str(), |(d, _)| d)
        .to_owned();
    let mut doc = config_doc(&ctx.master);
    set_state(
        &mut doc,
        HOOK_KEY,
        &HookState {
            trusted_hash: Some(definition),
            enabled: None,
        },
    );
    ctx.master.write_codex("config.toml", doc.to_string());
    assert_eq!(
        codex_hook(version, &ctx.master, HOOK_KEY).unwrap().0,
        "trusted"
    );
    assert!(
        ctx.master
            .codex
            .join("plugins/cache/local-mkt/hello/0.1.0/.mcp.json")
            .is_file()
    );

    // The plugin's MCP server is exported like the master's own: its folder packed as source.
    let listed = output(ctx.master_cmd().args(["mcp", "list", "--json"]), 0);
    let rows: Value = serde_json::from_str(&listed.stdout).unwrap();
    let row = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "hello-mcp")
        .unwrap_or_else(|| panic!("{rows}"));
    assert_eq!(row["resolver"], "source", "{row}");

    ctx.start_master_with(&["--no-watch"]);
    ctx.join(&["--apply"]);
    output(
        ctx.follower_cmd()
            .args(["mcp", "hydrate", "hello-mcp", "-q"]),
        0,
    );

    // ...and on the follower a `[mcp_servers.hello-mcp]` table, which replaces the plugin's
    // server in Codex, runs it through the launcher.
    let doc = config_doc(&ctx.follower);
    let launcher = ctx.follower.tool.join("bin/codexport-mcp-run");
    assert_eq!(
        doc["mcp_servers"]["hello-mcp"]["command"].as_str(),
        Some(launcher.to_str().unwrap()),
        "{doc}"
    );

    // config.toml carries the marketplace (its path mapped to this machine), the enabled
    // plugin and the trust entry; Codex's runtime state stayed home.
    let follower_mkt = ctx.follower.user.join("mkt");
    let doc = config_doc(&ctx.follower);
    assert_eq!(
        doc["marketplaces"]["local-mkt"]["source"].as_str(),
        Some(follower_mkt.to_str().unwrap())
    );
    assert_eq!(
        doc["marketplaces"]["local-mkt"]["source_type"].as_str(),
        Some("local")
    );
    assert_eq!(
        doc["plugins"]["hello@local-mkt"]["enabled"].as_bool(),
        Some(true)
    );
    assert!(
        doc["hooks"]["state"][HOOK_KEY]["trusted_hash"].is_str(),
        "{doc}"
    );
    for runtime in ["plugins", ".hook-trust", ".tmp"] {
        assert!(
            !ctx.follower.codex.join(runtime).exists(),
            "`{runtime}` was synced"
        );
    }

    // `verify` (asking this Codex) names what is missing here: the marketplace folder, and so
    // the plugin whose hook config.toml trusts.
    let verify = |code: i32| -> Value {
        let ran = output(
            ctx.follower_cmd()
                .env("CODEXPORT_CODEX", codex_bin_of(version))
                .args(["verify", "--json"]),
            code,
        );
        serde_json::from_str(&ran.stdout).unwrap()
    };
    let doc = verify(4);
    let items: Vec<&str> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["item"].as_str().unwrap())
        .collect();
    assert_eq!(items, ["marketplace local-mkt", "hello@local-mkt"], "{doc}");

    // The follower has its own checkout of the marketplace; Codex builds the cache when an
    // app lists plugins, then loads the skill, the MCP server and the trusted hook.
    marketplace(&follower_mkt);
    let listed = build_cache(
        version,
        &ctx.follower,
        "plugins/cache/local-mkt/hello/0.1.0/.mcp.json",
    );
    assert!(listed.to_string().contains("hello@local-mkt"), "{listed}");
    assert!(mcp_names(version, &ctx.follower).contains(&"hello-mcp".to_owned()));
    assert_eq!(
        codex_hook(version, &ctx.follower, HOOK_KEY).unwrap().0,
        "trusted"
    );
    let cwd = ctx.follower.user.display().to_string();
    let skills = app_server(
        version,
        &ctx.follower,
        "skills/list",
        json!({"cwds": [cwd]}),
    );
    assert!(skills.to_string().contains("hello:greet"), "{skills}");
    assert_eq!(verify(0)["findings"], json!([]));
    // Codex lists the plugin's server once, as the launcher, and the launcher starts it from
    // the hydrated artifact (not from Codex's plugin cache).
    let list: Value =
        serde_json::from_str(&codex(version, &ctx.follower, &["mcp", "list", "--json"])).unwrap();
    let servers: Vec<&Value> = list
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["name"] == "hello-mcp")
        .collect();
    assert_eq!(servers.len(), 1, "{list}");
    assert!(
        servers[0].to_string().contains(launcher.to_str().unwrap()),
        "{list}"
    );
    let report = probe_launcher(&ctx.follower, "hello-mcp", Duration::from_secs(60)).unwrap();
    assert_eq!(report.tools, ["node_echo", "hello_tool"]);

    // Codex's own edit on the follower (a second plugin enabled here) survives the next sync.
    codex(
        version,
        &ctx.follower,
        &["plugin", "add", "extra@local-mkt"],
    );
    ctx.stop_master();
    ctx.master.write_codex("AGENTS.md", "seq 2\n");
    output(ctx.master_cmd().args(["master", "rebuild"]), 0);
    ctx.start_master_with(&["--no-watch"]);
    output(ctx.follower_cmd().args(["sync", "--apply"]), 0);
    assert_eq!(ctx.follower.read_codex("AGENTS.md"), "seq 2\n");
    let doc = config_doc(&ctx.follower);
    assert_eq!(
        doc["plugins"]["extra@local-mkt"]["enabled"].as_bool(),
        Some(true),
        "{doc}"
    );
    assert_eq!(
        doc["plugins"]["hello@local-mkt"]["enabled"].as_bool(),
        Some(true),
        "{doc}"
    );
    assert_eq!(
        codex_hook(version, &ctx.follower, HOOK_KEY).unwrap().0,
        "trusted"
    );
    assert!(
        fs::read_to_string(ctx.follower.tool.join("state.json"))
            .unwrap()
            .contains("config.toml")
    );
    // The server needs nothing of Codex's cache: it runs from the artifact.
    fs::remove_dir_all(ctx.follower.codex.join("plugins/cache")).unwrap();
    let report = probe_launcher(&ctx.follower, "hello-mcp", Duration::from_secs(60)).unwrap();
    assert_eq!(report.tools, ["node_echo", "hello_tool"]);
}

/// A hook the master never trusted stays untrusted on the follower.
fn an_untrusted_plugin_hook_stays_untrusted(version: &str) {
    let mut ctx = TestContext::new(bins!());
    let master_mkt = ctx.master.user.join("mkt");
    marketplace(&master_mkt);
    let mkt = master_mkt.display().to_string();
    codex(
        version,
        &ctx.master,
        &["plugin", "marketplace", "add", &mkt],
    );
    codex(version, &ctx.master, &["plugin", "add", "hello@local-mkt"]);
    ctx.start_master_with(&["--no-watch"]);
    ctx.join(&["--apply"]);
    marketplace(&ctx.follower.user.join("mkt"));
    build_cache(
        version,
        &ctx.follower,
        "plugins/cache/local-mkt/hello/0.1.0/.mcp.json",
    );
    assert_eq!(
        codex_hook(version, &ctx.follower, HOOK_KEY).unwrap().0,
        "untrusted"
    );
}

#[test]
fn plugins_reach_the_follower_and_codex_loads_them_0_169() {
    plugins_reach_the_follower_and_codex_loads_them(CODEX_VERSIONS[0]);
}

#[test]
fn plugins_reach_the_follower_and_codex_loads_them_0_171() {
    plugins_reach_the_follower_and_codex_loads_them(CODEX_VERSIONS[1]);
}

#[test]
fn an_untrusted_plugin_hook_stays_untrusted_0_169() {
    an_untrusted_plugin_hook_stays_untrusted(CODEX_VERSIONS[0]);
}

#[test]
fn an_untrusted_plugin_hook_stays_untrusted_0_171() {
    an_untrusted_plugin_hook_stays_untrusted(CODEX_VERSIONS[1]);
}
