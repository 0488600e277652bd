//! Operations end to end: the follower's SessionStart hook (install next to master hooks,
//! uninstall, the hook run itself: silent, bounded, never blocked by a lock) and the master
//! service (`--dry-run` text, refusals that write nothing).

use std::net::TcpListener;
use std::process::Command;
use std::time::{Duration, Instant};

use codexport_test_support::{Home, Ran, TestContext, assert_transcript, bins, output, run};
use serde_json::Value;

/// Hooks a master left in the follower's Codex home, with a comment-bearing config.
const MASTER_HOOKS: &str = r#"{
  "hooks": {
    "SessionStart": [
      {"matcher": "startup", "hooks": [{"type": "command", "command": "echo from-master", "timeout": 5}]}
    ],
    "Stop": [{"hooks": [{"type": "command", "command": "echo bye"}]}]
  }
}"#;
const CONFIG: &str = "# my config\nmodel = \"o3\"\n";

fn hook_status(home: &Home) -> Value {
    let out = output(home.cmd().args(["hook", "status", "--json"]), 0);
    serde_json::from_str(&out.stdout).unwrap()
}

/// The hook's command exactly as Codex runs it: `$SHELL -lc <command>` in the follower's
/// environment, with the SessionStart payload on stdin.
fn run_hook_as_codex(home: &Home) -> (Ran, Duration) {
    let status = hook_status(home);
    let hooks = status["hooks"].as_array().unwrap();
    let ours = hooks.iter().find(|h| h["ours"] == true).expect("our hook");
    let command = ours["command"].as_str().unwrap();
    let mut cmd = Command::new("sh");
    cmd.args([
        "-c",
        &format!(
            "echo '{{\"hook_event_name\":\"SessionStart\",\"source\":\"startup\"}}' | {command}"
        ),
    ]);
    home.apply_env(&mut cmd);
    let start = Instant::now();
    let ran = run(&mut cmd);
    (ran, start.elapsed())
}

fn hook_log(home: &Home) -> String {
    std::fs::read_to_string(home.tool.join("logs/hook.log")).unwrap_or_default()
}

#[test]
fn install_next_to_master_hooks_replaces_ours_and_uninstall_restores() {
    let ctx = TestContext::new(bins!());
    let home = &ctx.follower;
    home.write_codex("hooks.json", MASTER_HOOKS);
    home.write_codex("config.toml", CONFIG);

    let first = output(home.cmd().args(["hook", "install"]), 0);
    assert!(first.stdout.is_empty(), "{}", first.stdout);
    assert!(
        first
            .stderr
            .contains("installed codexport's SessionStart hook"),
        "{}",
        first.stderr
    );
    output(home.cmd().args(["hook", "install", "--budget", "3s"]), 0);

    let status = hook_status(home);
    assert_eq!(status["runs"], true, "{status}");
    assert_eq!(status["budget_ms"], 3000);
    let hooks = status["hooks"].as_array().unwrap();
    assert_eq!(hooks.len(), 3, "master's two and ours once: {status}");
    assert_eq!(hooks.iter().filter(|h| h["ours"] == true).count(), 1);
    let master_start = hooks
        .iter()
        .find(|h| h["command"] == "echo from-master")
        .unwrap();
    assert_eq!(
        master_start["trust"], "untrusted",
        "trust is never invented"
    );

    let hooks_json: Value = serde_json::from_str(&home.read_codex("hooks.json")).unwrap();
    let root_keys: Vec<&String> = hooks_json.as_object().unwrap().keys().collect();
    assert_eq!(
        root_keys,
        ["hooks"],
        "Codex drops files with other root keys"
    );
    assert!(home.read_codex("config.toml").starts_with(CONFIG));

    let table = output(home.cmd().args(["hook", "status"]), 0).stdout;
    assert!(table.contains("installed and trusted"), "{table}");

    output(home.cmd().args(["hook", "uninstall"]), 0);
    let after: Value = serde_json::from_str(&home.read_codex("hooks.json")).unwrap();
    let before: Value = serde_json::from_str(MASTER_HOOKS).unwrap();
    assert_eq!(after, before, "the master's hooks are as they were");
    assert_eq!(home.read_codex("config.toml"), CONFIG);
    assert_eq!(hook_status(home)["installed"], false);
}

#[test]
fn install_refuses_a_broken_hooks_file_and_writes_nothing() {
    let ctx = TestContext::new(bins!());
    let home = &ctx.follower;
    home.write_codex("hooks.json", "{\"hooks\": [");
    home.write_codex("config.toml", CONFIG);
    let out = run(home.cmd().args(["hook", "install"]));
    assert_transcript!("hook_install_with_a_broken_hooks_file", out);
    assert_eq!(home.read_codex("hooks.json"), "{\"hooks\": [");
    assert_eq!(home.read_codex("config.toml"), CONFIG);
}

#[test]
fn the_hook_syncs_silently_and_exits_zero() {
    let mut ctx = TestContext::new(bins!());
    ctx.master.write_codex("AGENTS.md", "v1\n");
    ctx.join(&["--apply"]);
    output(ctx.follower_cmd().args(["hook", "install"]), 0);

    ctx.master.write_codex("AGENTS.md", "v2\n");
    // The running master publishes the change on its own (watch, debounced): run the hook as
    // each new session would until it brings the change.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (ran, _) = run_hook_as_codex(&ctx.follower);
        assert_eq!(ran.code, 0, "{}", ran.stderr);
        assert_eq!(
            ran.stdout, "",
            "stdout becomes model context: it must stay empty"
        );
        assert_eq!(ran.stderr, "");
        if ctx.follower.read_codex("AGENTS.md") == "v2\n" {
            break;
        }
        assert!(Instant::now() < deadline, "{}", hook_log(&ctx.follower));
        std::thread::sleep(Duration::from_millis(100));
    }
    let log = hook_log(&ctx.follower);
    assert!(log.contains(" applied seq "), "{log}");

    let (ran, _) = run_hook_as_codex(&ctx.follower);
    assert_eq!((ran.code, ran.stdout.as_str()), (0, ""));
    assert!(hook_log(&ctx.follower).contains(" up to date at seq "));
}

#[test]
fn the_hook_skips_a_held_lock_and_gives_up_on_a_silent_master() {
    let mut ctx = TestContext::new(bins!());
    ctx.master.write_codex("AGENTS.md", "v1\n");
    ctx.join(&["--apply"]);
    output(
        ctx.follower_cmd()
            .args(["hook", "install", "--budget", "1s"]),
        0,
    );

    // Another session holds the lock: the hook does not wait for it.
    let lock = codexport_core::lock::LockGuard::acquire(
        &ctx.follower.tool.join("lock"),
        codexport_core::lock::Wait::No,
    )
    .unwrap();
    let (ran, took) = run_hook_as_codex(&ctx.follower);
    drop(lock);
    assert_eq!((ran.code, ran.stdout.as_str()), (0, ""));
    assert!(hook_log(&ctx.follower).contains("skipped: another sync or apply holds the lock"));
    // A hang detector, not a speed check: the budget is 1 s.
    assert!(took < Duration::from_secs(20), "took {took:?}");

    // A master that accepts connections and never answers: the budget ends the wait.
    ctx.stop_master();
    let silent = TcpListener::bind(("127.0.0.1", ctx.port)).unwrap();
    let (ran, took) = run_hook_as_codex(&ctx.follower);
    drop(silent);
    assert_eq!((ran.code, ran.stdout.as_str()), (0, ""));
    let log = hook_log(&ctx.follower);
    let last = log.lines().last().unwrap();
    assert!(
        last.contains("gave up") || last.contains("failed: "),
        "{log}"
    );
    assert!(took < Duration::from_secs(20), "took {took:?}");
}

#[test]
fn the_hook_on_a_machine_that_never_joined_logs_and_exits_zero() {
    let ctx = TestContext::new(bins!());
    output(ctx.follower_cmd().args(["hook", "install"]), 0);
    let (ran, _) = run_hook_as_codex(&ctx.follower);
    assert_eq!(
        (ran.code, ran.stdout.as_str(), ran.stderr.as_str()),
        (0, "", "")
    );
    assert!(hook_log(&ctx.follower).contains(" failed: "));
}

#[cfg(target_os = "linux")]
#[test]
fn service_dry_run_prints_the_unit_and_install_refuses_without_systemd() {
    let ctx = TestContext::new(bins!());
    let home = &ctx.master;
    let refused = run(home.cmd().args(["master", "service", "install"]));
    assert_transcript!("service_install_before_init", refused);

    let dry = output(
        home.cmd()
            .args(["master", "service", "install", "--dry-run"]),
        0,
    );
    let unit_path = home
        .user
        .join(".config/systemd/user/codexport-master.service");
    // The service runs the installed copy, never the binary's own (npx cache, target dir)
    // path; a dry run installs nothing.
    let exe = home.tool.join("bin/codexport");
    assert!(
        dry.stdout
            .starts_with(&format!("# would write {}\n", unit_path.display())),
        "{}",
        dry.stdout
    );
    assert!(
        dry.stdout
            .contains(&format!("\nExecStart={} master serve\n", exe.display()))
    );
    assert!(!exe.exists());
    assert!(dry.stdout.contains("\nRestart=on-failure\n"));
    assert!(dry.stdout.ends_with(
        "# would run: systemctl --user daemon-reload\n\
         # would run: systemctl --user enable --now codexport-master.service\n\
         # would run: systemctl --user restart codexport-master.service\n"
    ));

    output(home.cmd().args(["master", "init"]), 0);
    let mut cmd = home.cmd();
    cmd.args(["master", "service", "install"])
        .env_remove("XDG_RUNTIME_DIR");
    let out = run(&mut cmd);
    assert_transcript!("service_install_without_systemd", out);
    assert!(!unit_path.exists(), "nothing written");

    let status = output(
        home.cmd().args(["master", "service", "status", "--json"]),
        0,
    );
    let status: Value = serde_json::from_str(&status.stdout).unwrap();
    assert_eq!(status["installed"], false);
    assert_eq!(status["manager"], "systemd");
}

/// The master's hooks, with its own Codex home in a command, and its trust of two of them.
fn master_with_hooks(ctx: &TestContext) {
    let codex = &ctx.master.codex;
    let hooks = serde_json::json!({"hooks": {
        "SessionStart": [{"matcher": "startup", "hooks": [
            {"type": "command", "command": format!("{}/hooks/greet.sh", codex.display()), "timeout": 5}
        ]}],
        "Stop": [{"hooks": [{"type": "command", "command": "echo bye"}]}],
        "PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "echo never"}]}]
    }});
    ctx.master.write_codex("hooks.json", hooks.to_string());
    ctx.master.write_codex("hooks/greet.sh", "#!/bin/sh\n");
    // What Codex wrote on the master when its user trusted two of the hooks.
    let file = codexport_core::hooks::HooksFile::parse(hooks.to_string().as_bytes(), "h".as_ref())
        .unwrap()
        .file;
    let real = std::fs::canonicalize(codex).unwrap();
    let mut config: toml_edit::DocumentMut = "model = \"o3\"\n".parse().unwrap();
    for event in ["SessionStart", "Stop"] {
        let group = &file.groups(event)[0];
        codexport_core::hooks::set_state(
            &mut config,
            &codexport_core::hooks::trust_key(&real, event, 0, 0),
            &codexport_core::hooks::HookState {
                trusted_hash: codexport_core::hooks::handler_hash(
                    event,
                    group.matcher.as_deref(),
                    &group.hooks[0],
                ),
                enabled: None,
            },
        );
    }
    ctx.master.write_codex("config.toml", config.to_string());
}

/// `hook status --json`'s hooks: (event, command) → trust.
fn trust_by_command(home: &Home) -> std::collections::BTreeMap<(String, String), String> {
    hook_status(home)["hooks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                (
                    h["event"].as_str().unwrap().to_owned(),
                    h["command"].as_str().unwrap().to_owned(),
                ),
                h["trust"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn apply_carries_the_masters_trust_and_keeps_our_hook() {
    let mut ctx = TestContext::new(bins!());
    master_with_hooks(&ctx);
    ctx.join(&["--apply"]);
    let greet = format!("{}/hooks/greet.sh", ctx.follower.codex.display());

    let trust = trust_by_command(&ctx.follower);
    assert_eq!(
        trust[&("SessionStart".into(), greet.clone())],
        "trusted",
        "{trust:?}"
    );
    assert_eq!(trust[&("Stop".into(), "echo bye".into())], "trusted");
    assert_eq!(
        trust[&("PreToolUse".into(), "echo never".into())],
        "untrusted"
    );
    assert_eq!(
        trust.len(),
        3,
        "no codexport hook before `hook install`: {trust:?}"
    );

    output(ctx.follower_cmd().args(["hook", "install"]), 0);
    // The master changes its hooks.json: the apply rewrites the file, and puts ours back.
    let text = ctx
        .master
        .read_codex("hooks.json")
        .replace("echo never", "echo still never");
    ctx.master.write_codex("hooks.json", text);
    output(ctx.master_cmd().args(["master", "rebuild"]), 0);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        output(ctx.follower_cmd().args(["sync", "--apply"]), 0);
        if ctx
            .follower
            .read_codex("hooks.json")
            .contains("echo still never")
        {
            break;
        }
        assert!(Instant::now() < deadline, "the change never arrived");
        std::thread::sleep(Duration::from_millis(100));
    }
    let status = hook_status(&ctx.follower);
    assert_eq!(
        status["runs"], true,
        "ours survived the master's hooks.json: {status}"
    );
    let trust = trust_by_command(&ctx.follower);
    assert_eq!(
        trust[&("SessionStart".into(), greet)],
        "trusted",
        "{trust:?}"
    );
    assert_eq!(
        trust[&("PreToolUse".into(), "echo still never".into())],
        "untrusted"
    );
    assert_eq!(trust.len(), 4, "{trust:?}");
}

/// A `codexport` and its launcher in a directory of their own (a release archive, npm's cache).
fn unpacked_binaries(dir: &std::path::Path, version_marker: Option<&str>) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::copy(bins!().codexport, dir.join("codexport")).unwrap();
    std::fs::copy(bins!().launcher, dir.join("codexport-mcp-run")).unwrap();
    if let Some(marker) = version_marker {
        // Other bytes, as a new version would have (an ELF ignores what follows it).
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(dir.join("codexport"))
            .unwrap();
        std::io::Write::write_all(&mut f, marker.as_bytes()).unwrap();
    }
}

#[test]
fn the_hook_runs_the_installed_copy_after_the_binary_it_came_from_is_gone() {
    let mut ctx = TestContext::new(bins!());
    ctx.master.write_codex("AGENTS.md", "v1\n");
    ctx.join(&["--apply"]);
    let home = &ctx.follower;
    let npx_cache = ctx.dir.path().join("npx-cache/abc123");
    unpacked_binaries(&npx_cache, None);
    let mut install = Command::new(npx_cache.join("codexport"));
    home.apply_env(&mut install);
    output(install.args(["hook", "install"]), 0);

    let installed = home.tool.join("bin/codexport");
    let status = hook_status(home);
    let ours = status["hooks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["ours"] == true)
        .unwrap()
        .clone();
    let command = ours["command"].as_str().unwrap();
    assert!(
        command.contains(&installed.display().to_string()),
        "{command}"
    );
    assert!(!command.contains("npx-cache"), "{command}");
    assert!(home.tool.join("bin/codexport-mcp-run").is_file());

    // npm prunes its cache: the hook still syncs, through the copy.
    std::fs::remove_dir_all(ctx.dir.path().join("npx-cache")).unwrap();
    ctx.master.write_codex("AGENTS.md", "v2\n");
    let deadline = Instant::now() + Duration::from_secs(20);
    while ctx.follower.read_codex("AGENTS.md") != "v2\n" {
        let (ran, _) = run_hook_as_codex(&ctx.follower);
        assert_eq!((ran.code, ran.stdout.as_str()), (0, ""), "{}", ran.stderr);
        assert!(Instant::now() < deadline, "{}", hook_log(&ctx.follower));
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_new_version_replaces_the_installed_copy_and_status_tells_them_apart() {
    let ctx = TestContext::new(bins!());
    let home = &ctx.follower;
    let run_from = |dir: &std::path::Path, args: &[&str]| {
        let mut cmd = Command::new(dir.join("codexport"));
        home.apply_env(&mut cmd);
        cmd.args(args);
        run(&mut cmd)
    };
    let v1 = ctx.dir.path().join("v1");
    unpacked_binaries(&v1, None);
    let ran = run_from(&v1, &["status"]);
    assert_transcript!("status_before_any_install", ran);
    assert_eq!(run_from(&v1, &["hook", "install"]).code, 0);
    let installed = home.tool.join("bin/codexport");
    assert_eq!(
        std::fs::read(&installed).unwrap(),
        std::fs::read(v1.join("codexport")).unwrap()
    );
    let ran = run_from(&home.tool.join("bin"), &["status"]);
    assert_transcript!("status_from_the_installed_copy", ran);

    // Another build (a new version) runs: status warns, its next install replaces the copy.
    let v2 = ctx.dir.path().join("v2");
    unpacked_binaries(&v2, Some("v2"));
    let ran = run_from(&v2, &["status"]);
    assert_transcript!("status_from_a_binary_that_differs", ran);
    assert_eq!(run_from(&v2, &["hook", "install"]).code, 0);
    assert_eq!(
        std::fs::read(&installed).unwrap(),
        std::fs::read(v2.join("codexport")).unwrap()
    );
    let ran = run_from(&v2, &["status"]);
    assert!(!ran.stderr.contains("warning"), "{}", ran.stderr);
    let json: Value = serde_json::from_str(&run_from(&v2, &["status", "--json"]).stdout).unwrap();
    assert_eq!(json["binary"]["differs"], false);
    assert_eq!(json["binary"]["running_installed"], false);
}
