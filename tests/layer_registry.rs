//! Codex itself accepts what layering generates: `codex mcp list --json` (Codex CLI 0.169.0
//! from npm, installed once into the repo's `.tools/`) lists every MCP of a generated
//! `config.toml`. Needs the npm registry (or its cache) the first time.

use std::path::Path;
use std::process::Command;

use codexport_core::Homes;
use codexport_core::follower::layer::{ConfigInputs, generate};
use codexport_core::mcp::config::read_mcp_servers;
use codexport_core::mcp::manifest::{MANIFEST_VERSION, MasterPaths, McpManifest, Origin};
use codexport_core::settings::LocalSettings;
use codexport_test_support::{TestContext, bins, codex_bin, output, write};

/// `codex mcp list --json` against `codex_home`, as JSON.
fn codex_mcp_list(home: &Path, codex_home: &Path) -> serde_json::Value {
    // TMPDIR away from the folder holding CODEX_HOME silences Codex's PATH-alias warning.
    let tmp = home.join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let out = Command::new(codex_bin())
        .args(["mcp", "list", "--json"])
        .env("HOME", home)
        .env("CODEX_HOME", codex_home)
        .env("TMPDIR", &tmp)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "codex refused the config: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

const MASTER_CONFIG: &str = r#"# The master's config: comments and order survive layering.
model = "gpt-5"
approval_policy = "on-request"

[projects."/home/al/src/app"]
trust_level = "trusted"

[mcp_servers.everything]
command = "node"
args = ["/home/al/.npm-global/lib/node_modules/@modelcontextprotocol/server-everything/dist/index.js"]
startup_timeout_sec = 20
enabled_tools = ["echo"]
env_vars = ["TZ"]

[mcp_servers.everything.env]
API_TOKEN = "s3cret"

[mcp_servers.time]
command = "/home/al/.local/bin/mcp-server-time"
cwd = "/home/al/.codex"
tool_timeout_sec = 60.5
env_vars = ["TZ"]

[mcp_servers.remote]
url = "http://127.0.0.1:8931/mcp"
bearer_token_env_var = "REMOTE_TOKEN"

[mcp_servers.remote.http_headers]
X-Team = "core"
"#;

const OVERLAY: &str = r#"[mcp_servers.scratch]
command = "${home}/bin/scratch-mcp"
args = ["--root", "${workspaceRoot}"]

[mcp_servers.time]
command = "/usr/bin/true"
"#;

#[test]
fn codex_lists_every_generated_mcp() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("bo");
    let homes = Homes::new(&home, home.join(".codex"), tmp.path().join("cx-tool"));
    std::fs::create_dir_all(&homes.codex).unwrap();
    let (entries, errors) = read_mcp_servers(&MASTER_CONFIG.parse().unwrap(), Origin::Canonical);
    assert!(errors.is_empty());
    let manifest = McpManifest {
        version: MANIFEST_VERSION,
        master: MasterPaths {
            os: "linux".into(),
            home: "/home/al".into(),
            codex_home: "/home/al/.codex".into(),
        },
        entries,
    };
    let settings = LocalSettings {
        path_variables: [("workspaceRoot".to_owned(), "/srv/work".to_owned())].into(),
        allow_mcp_overrides: codexport_core::settings::Overrides::All,
        ..Default::default()
    };
    let generated = generate(&ConfigInputs {
        homes: &homes,
        settings: &settings,
        manifest: &manifest,
        master_host: Some("100.64.0.7"),
        canonical: Some(MASTER_CONFIG),
        overlay: Some(OVERLAY),
        hooks: None,
    })
    .unwrap();
    let config = generated.config.unwrap();
    assert!(config.starts_with("# The master's config"), "{config}");
    assert!(
        !config.contains("s3cret"),
        "env values stay out of config.toml"
    );
    std::fs::write(homes.codex.join("config.toml"), &config).unwrap();

    let listed = codex_mcp_list(&home, &homes.codex);
    let by_name = |name: &str| {
        listed
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == name)
            .unwrap_or_else(|| panic!("codex does not list `{name}`: {listed:#}"))
            .clone()
    };
    let launcher = homes.launcher().to_string_lossy().into_owned();
    for name in ["everything", "time", "scratch"] {
        let entry = by_name(name);
        assert_eq!(
            entry["transport"]["command"],
            launcher.as_str(),
            "{entry:#}"
        );
        assert_eq!(
            entry["transport"]["args"],
            serde_json::json!(["mcp", "run", name])
        );
        // The tool home is not the default one: the launcher learns it from `env`.
        assert_eq!(
            entry["transport"]["env"]["CODEXPORT_HOME"],
            homes.tool.to_string_lossy().as_ref()
        );
    }
    assert_eq!(by_name("everything")["startup_timeout_sec"], 20.0);
    assert_eq!(
        by_name("everything")["transport"]["env_vars"],
        serde_json::json!(["TZ"])
    );
    let remote = by_name("remote");
    assert_eq!(remote["transport"]["url"], "http://100.64.0.7:8931/mcp");
    assert_eq!(remote["transport"]["bearer_token_env_var"], "REMOTE_TOKEN");
    assert_eq!(listed.as_array().unwrap().len(), 4);

    // The overridden `time` is the local one in the manifest, once.
    assert_eq!(
        generated.manifest.names(),
        ["everything", "remote", "scratch", "time"]
    );
    let time = generated.manifest.get("time").unwrap();
    assert_eq!(time.origin, Origin::Local);
    assert_eq!(time.command.as_deref(), Some("/usr/bin/true"));
    let scratch = generated.manifest.get("scratch").unwrap();
    assert_eq!(scratch.args, ["--root", "/srv/work"]);
    assert_eq!(
        scratch.command.as_deref(),
        Some(format!("{}/bin/scratch-mcp", home.display()).as_str())
    );
}

/// Real `codex`, run as the follower machine.
fn follower_codex(ctx: &TestContext, args: &[&str]) -> std::process::Output {
    let tmp = ctx.dir.path().join("codex-tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let mut cmd = Command::new(codex_bin());
    ctx.follower.apply_env(&mut cmd);
    let out = cmd.args(args).env("TMPDIR", &tmp).output().unwrap();
    assert!(
        out.status.success(),
        "codex {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Through the binaries: join, a local overlay, a real `codex mcp add` on the follower, a
/// master change, sync again: Codex lists every MCP of every layer, and its own edit survives.
#[test]
fn codex_accepts_applied_configs_and_its_own_edits_survive_a_sync() {
    let mut ctx = TestContext::new(bins!());
    let master_home = ctx.master.user.to_string_lossy().into_owned();
    let config = format!(
        "# master\nmodel = \"gpt-5\"\n\n[mcp_servers.a]\ncommand = \"{master_home}/bin/a\"\nstartup_timeout_sec = 15\n\n[mcp_servers.a.env]\nK = \"v\"\n\n[mcp_servers.web]\nurl = \"http://127.0.0.1:9/mcp\"\n"
    );
    ctx.master.write_codex("config.toml", &config);
    ctx.join(&["--apply"]);
    write(
        &ctx.follower.tool.join("mcps.local.toml"),
        "[mcp_servers.mine]\ncommand = \"${home}/bin/mine\"\n",
    );
    output(ctx.follower_cmd().arg("apply"), 0);
    follower_codex(
        &ctx,
        &["mcp", "add", "extra", "--", "/usr/bin/true", "--flag"],
    );

    ctx.master
        .write_codex("config.toml", config.replace("gpt-5\"", "gpt-5.1\""));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !ctx.follower.read_codex("config.toml").contains("gpt-5.1") {
        assert!(std::time::Instant::now() < deadline, "{}", ctx.master_log());
        output(ctx.follower_cmd().args(["sync", "--apply"]), 0);
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let listed: serde_json::Value =
        serde_json::from_slice(&follower_codex(&ctx, &["mcp", "list", "--json"]).stdout).unwrap();
    let mut names: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["a", "extra", "mine", "web"], "{listed:#}");
    let launcher = ctx.follower.tool.join("bin/codexport-mcp-run");
    for e in listed.as_array().unwrap() {
        let routed = e["transport"]["command"] == launcher.to_string_lossy().as_ref();
        match e["name"].as_str().unwrap() {
            "a" | "mine" => assert!(routed, "{e:#}"),
            "extra" => assert_eq!(e["transport"]["command"], "/usr/bin/true"),
            _ => assert_eq!(e["transport"]["url"], "http://127.0.0.1:9/mcp"),
        }
    }
    let a = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "a")
        .unwrap();
    assert_eq!(a["startup_timeout_sec"], 15.0);
}
