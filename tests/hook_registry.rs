//! Codex itself trusts the hooks codexport writes: Codex CLI 0.169.0 (npm, installed once into
//! the repo's `.tools/`) answers `hooks/list` over its app-server protocol with each hook's key,
//! `currentHash` and `trustStatus`. Needs the npm registry (or its cache) the first time.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use codexport_core::Homes;
use codexport_core::follower::layer::paths::{Direction, rewrite_document};
use codexport_core::hooks::{
    self, CanonicalHooks, HookState, HooksFile, OurHook, handler_hash, set_state, trust_key,
};
use codexport_core::mcp::manifest::MasterPaths;
use codexport_core::pathmap::PathMap;
use codexport_test_support::{TestContext, bins, codex_bin, output};
use serde_json::{Value, json};

/// Codex's own view of the hooks of `homes`: key → (currentHash, trustStatus).
fn codex_hooks_list(homes: &Homes) -> BTreeMap<String, (String, String)> {
    let tmp = homes.user.join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let mut child = Command::new(codex_bin())
        .arg("app-server")
        .env("HOME", &homes.user)
        .env("CODEX_HOME", &homes.codex)
        .env("TMPDIR", &tmp)
        .current_dir(&homes.user)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { return };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let cwd = homes.user.display().to_string();
    for message in [
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
               "params": {"clientInfo": {"name": "codexport-tests", "version": "0"}}}),
        json!({"jsonrpc": "2.0", "method": "initialized"}),
        json!({"jsonrpc": "2.0", "id": 2, "method": "hooks/list", "params": {"cwds": [cwd]}}),
    ] {
        writeln!(stdin, "{message}").unwrap();
    }
    let answer = loop {
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("codex app-server answers hooks/list");
        let message: Value = serde_json::from_str(&line).unwrap();
        if message["id"] == 2 {
            break message;
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    let data = &answer["result"]["data"][0];
    assert_eq!(data["errors"], json!([]), "{answer}");
    data["hooks"]
        .as_array()
        .expect("a hooks array")
        .iter()
        .map(|h| {
            (
                h["key"].as_str().unwrap().to_owned(),
                (
                    h["currentHash"].as_str().unwrap().to_owned(),
                    h["trustStatus"].as_str().unwrap().to_owned(),
                ),
            )
        })
        .collect()
}

fn temp_homes(dir: &Path, name: &str) -> Homes {
    let user = dir.join(name);
    let homes = Homes::new(&user, user.join(".codex"), user.join(".codexport"));
    std::fs::create_dir_all(&homes.codex).unwrap();
    homes
}

/// The master's hooks: a SessionStart hook it trusts (with a path), a Stop hook it trusts with
/// a status message, and a PreToolUse hook it never trusted.
fn master_hooks(master: &Homes) -> String {
    json!({"hooks": {
        "SessionStart": [{"matcher": "startup", "hooks": [
            {"type": "command", "command": format!("{}/hooks/greet.sh", master.codex.display()), "timeout": 5}
        ]}],
        "Stop": [{"hooks": [
            {"type": "command", "command": "echo bye", "statusMessage": "Saying bye…", "async": false}
        ]}],
        "PreToolUse": [{"matcher": "Bash", "hooks": [
            {"type": "command", "command": "echo never trusted"}
        ]}]
    }})
    .to_string()
}

#[test]
fn our_hook_installed_next_to_existing_hooks_is_trusted_by_codex() {
    let dir = tempfile::tempdir().unwrap();
    let homes = temp_homes(dir.path(), "follower");
    std::fs::write(homes.codex.join("hooks.json"), master_hooks(&homes)).unwrap();

    let ours = OurHook::new(Path::new("/usr/local/bin/codexport"), 2, None);
    let done = hooks::install(&homes, &ours).unwrap();

    let listed = codex_hooks_list(&homes);
    let (hash, status) = &listed[&done.trust_key];
    assert_eq!(hash, &done.trusted_hash, "our hash is Codex's hash");
    assert_eq!(status, "trusted");
    // The hooks already there are untouched and still untrusted: nobody trusted them here.
    assert_eq!(listed.len(), 4, "{listed:?}");
    let untrusted = listed.values().filter(|(_, s)| s == "untrusted").count();
    assert_eq!(untrusted, 3, "{listed:?}");
    assert_status_agrees_with_codex(&homes, &listed);

    // A definition changed after trust: Codex and `hook status` both say `modified`.
    let path = homes.codex.join("hooks.json");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace("\"timeout\": 5", "\"timeout\": 7")).unwrap();
    let listed = codex_hooks_list(&homes);
    assert_eq!(listed[&done.trust_key].1, "modified");
    assert_status_agrees_with_codex(&homes, &listed);
}

/// `codexport_core::hooks::status` says what Codex says about every hook.
fn assert_status_agrees_with_codex(homes: &Homes, listed: &BTreeMap<String, (String, String)>) {
    let ours = hooks::status(homes).unwrap();
    assert_eq!(ours.hooks.len(), listed.len());
    for hook in &ours.hooks {
        let trust = serde_json::to_value(hook.trust).unwrap();
        assert_eq!(
            trust.as_str(),
            Some(listed[&hook.key].1.as_str()),
            "{}",
            hook.key
        );
    }
}

#[test]
fn master_trust_carries_to_the_follower_and_untrusted_stays_untrusted() {
    let dir = tempfile::tempdir().unwrap();
    let master = temp_homes(dir.path(), "master");
    let follower = temp_homes(dir.path(), "follower");

    // The master: its hooks, trusted the way Codex trusts them there.
    let hooks_text = master_hooks(&master);
    std::fs::write(master.codex.join("hooks.json"), &hooks_text).unwrap();
    let master_file = HooksFile::parse(hooks_text.as_bytes(), Path::new("h"))
        .unwrap()
        .file;
    let master_real = std::fs::canonicalize(&master.codex).unwrap();
    let mut config: toml_edit::DocumentMut = "model = \"o3\"\n".parse().unwrap();
    for event in ["SessionStart", "Stop"] {
        let group = &master_file.groups(event)[0];
        set_state(
            &mut config,
            &trust_key(&master_real, event, 0, 0),
            &HookState {
                trusted_hash: handler_hash(event, group.matcher.as_deref(), &group.hooks[0]),
                enabled: None,
            },
        );
    }
    let config = config.to_string();
    std::fs::write(master.codex.join("config.toml"), &config).unwrap();
    let on_master = codex_hooks_list(&master);
    let trusted_on_master = on_master.values().filter(|(_, s)| s == "trusted").count();
    assert_eq!(trusted_on_master, 2, "the master trusts two: {on_master:?}");

    // The follower: the hooks layer of an apply, as the pipeline runs it.
    let paths = MasterPaths {
        os: std::env::consts::OS.into(),
        home: master.user.display().to_string(),
        codex_home: master_real.display().to_string(),
    };
    let map = PathMap::new(&paths, &follower, &BTreeMap::new());
    let ours = OurHook::new(Path::new("/usr/local/bin/codexport"), 2, None);
    let layer = hooks::layer_hooks(
        CanonicalHooks {
            config: Some(&config),
            hooks_json: Some(hooks_text.as_bytes()),
            master: &paths,
        },
        &map,
        &follower.codex_realpath(),
        Some(&ours),
    )
    .unwrap();
    let mut generated: toml_edit::DocumentMut = config.parse().unwrap();
    rewrite_document(&mut generated, &map, Direction::MasterToFollower).unwrap();
    layer.write_trust(&mut generated);
    std::fs::write(follower.codex.join("config.toml"), generated.to_string()).unwrap();
    std::fs::write(
        follower.codex.join("hooks.json"),
        layer.hooks_json.as_deref().unwrap(),
    )
    .unwrap();

    let on_follower = codex_hooks_list(&follower);
    let status_of = |event_label: &str, group: usize| {
        let key = format!(
            "{}/hooks.json:{event_label}:{group}:0",
            follower.codex_realpath().display()
        );
        on_follower
            .get(&key)
            .map(|(_, s)| s.as_str())
            .unwrap_or_else(|| panic!("{key} not in {on_follower:?}"))
    };
    assert_eq!(
        status_of("session_start", 0),
        "trusted",
        "rewritten path, new hash"
    );
    assert_eq!(status_of("stop", 0), "trusted");
    assert_eq!(
        status_of("session_start", 1),
        "trusted",
        "codexport's own hook"
    );
    assert_eq!(status_of("pre_tool_use", 0), "untrusted");
    assert_status_agrees_with_codex(&follower, &on_follower);
}

#[test]
fn after_join_apply_and_hook_install_codex_runs_what_the_master_trusts_and_ours() {
    let mut ctx = TestContext::new(bins!());
    let master = Homes::new(&ctx.master.user, &ctx.master.codex, &ctx.master.tool);
    let hooks_text = master_hooks(&master);
    ctx.master.write_codex("hooks.json", &hooks_text);
    ctx.master.write_codex("hooks/greet.sh", "#!/bin/sh\n");
    let file = HooksFile::parse(hooks_text.as_bytes(), Path::new("h"))
        .unwrap()
        .file;
    let real = std::fs::canonicalize(&master.codex).unwrap();
    let mut config: toml_edit::DocumentMut = "model = \"o3\"\n".parse().unwrap();
    for event in ["SessionStart", "Stop"] {
        let group = &file.groups(event)[0];
        set_state(
            &mut config,
            &trust_key(&real, event, 0, 0),
            &HookState {
                trusted_hash: handler_hash(event, group.matcher.as_deref(), &group.hooks[0]),
                enabled: None,
            },
        );
    }
    ctx.master.write_codex("config.toml", config.to_string());

    ctx.join(&["--apply"]);
    output(ctx.follower_cmd().args(["hook", "install"]), 0);

    let follower = Homes::new(&ctx.follower.user, &ctx.follower.codex, &ctx.follower.tool);
    let listed = codex_hooks_list(&follower);
    let by_command: BTreeMap<String, String> = hooks::status(&follower)
        .unwrap()
        .hooks
        .into_iter()
        .map(|h| (h.command.unwrap(), listed[&h.key].1.clone()))
        .collect();
    let greet = format!("{}/hooks/greet.sh", follower.codex.display());
    assert_eq!(by_command[&greet], "trusted", "{by_command:?}");
    assert_eq!(by_command["echo bye"], "trusted");
    assert_eq!(by_command["echo never trusted"], "untrusted");
    let ours: Vec<_> = by_command
        .iter()
        .filter(|(c, _)| c.ends_with("sync --apply --hook"))
        .collect();
    assert_eq!(ours.len(), 1, "{by_command:?}");
    assert_eq!(ours[0].1, "trusted");
    assert_status_agrees_with_codex(&follower, &listed);
}
