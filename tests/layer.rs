//! End-to-end follower layering: overlays, Codex's own edits between syncs, conflicts,
//! dry runs, restore, and applies killed at every point.

use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use codexport_test_support::{Ran, TestContext, assert_transcript, bins, output, run, tree, write};

const MASTER_CONFIG: &str = r#"# master settings
model = "gpt-5"
approval_policy = "on-request"

[projects."MASTER_HOME/src/app"]
trust_level = "trusted"

[mcp_servers.echo]
command = "MASTER_HOME/bin/echo-mcp"
args = ["--data", "MASTER_HOME/.codex/data"]
startup_timeout_sec = 20

[mcp_servers.echo.env]
ECHO_TOKEN = "s3cret"
"#;

fn master_config(ctx: &TestContext, edit: impl Fn(String) -> String) -> String {
    edit(MASTER_CONFIG.replace("MASTER_HOME", &ctx.master.user.to_string_lossy()))
}

/// Runs `sync --dry-run` until its diff shows every line of `expected` (the master's watcher
/// publishes asynchronously), and returns that run.
fn wait_for(ctx: &TestContext, expected: &[&str]) -> Ran {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let ran = output(ctx.follower_cmd().args(["sync", "--dry-run"]), 0);
        if expected.iter().all(|e| ran.stdout.lines().any(|l| l == *e)) {
            return ran;
        }
        assert!(
            Instant::now() < deadline,
            "{expected:?} never showed up; last diff:\n{}\n{}",
            ran.stdout,
            ctx.master_log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn started(ctx: &mut TestContext) {
    ctx.master.write_codex("AGENTS.md", "be kind\n");
    ctx.master.write_codex(
        "rules/default.rules",
        "prefix_rule(pattern = [\"ls\"], decision = \"allow\")\n",
    );
    ctx.master
        .write_codex("skills/greet/SKILL.md", "---\nname: greet\n---\n");
    ctx.master
        .write_codex("config.toml", master_config(ctx, |c| c));
    ctx.join(&["--apply"]);
}

#[test]
fn the_follower_config_is_layered_for_this_machine() {
    let mut ctx = TestContext::new(bins!());
    started(&mut ctx);
    let config = ctx.follower.read_codex("config.toml");
    let follower_home = ctx.follower.user.to_string_lossy().into_owned();
    let launcher = ctx.follower.tool.join("bin/codexport-mcp-run");
    assert!(config.starts_with("# master settings\n"), "{config}");
    assert!(
        config.contains(&format!("[projects.\"{follower_home}/src/app\"]")),
        "{config}"
    );
    assert!(
        config.contains(&format!("command = \"{}\"", launcher.display())),
        "{config}"
    );
    assert!(
        config.contains("args = [\"mcp\", \"run\", \"echo\"]"),
        "{config}"
    );
    assert!(config.contains("startup_timeout_sec = 20"), "{config}");
    assert!(
        !config.contains("s3cret"),
        "env values stay out of config.toml"
    );
    // The manifest keeps the master's command and the env, 0600.
    let manifest_path = ctx.follower.tool.join("mcp-manifest.json");
    let manifest = fs::read_to_string(&manifest_path).unwrap();
    assert!(manifest.contains("s3cret"), "{manifest}");
    // (On Windows an owner-only ACL instead: core's fsx tests.)
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            fs::metadata(&manifest_path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
}

#[test]
fn local_overlays_and_codex_edits_survive_syncs() {
    let mut ctx = TestContext::new(bins!());
    started(&mut ctx);
    let tool = ctx.follower.tool.clone();
    write(
        &tool.join("local.toml"),
        format!(
            "{}\n[pathVariables]\nworkspaceRoot = \"/srv/work\"\n",
            fs::read_to_string(tool.join("local.toml")).unwrap()
        ),
    );
    write(
        &tool.join("mcps.local.toml"),
        "[mcp_servers.scratch]\ncommand = \"${home}/bin/scratch\"\nargs = [\"${workspaceRoot}\"]\n",
    );
    write(&tool.join("skills/mine/SKILL.md"), "---\nname: mine\n---\n");
    output(ctx.follower_cmd().arg("apply"), 0);
    let config = ctx.follower.read_codex("config.toml");
    assert!(config.contains("[mcp_servers.scratch]"), "{config}");
    assert!(
        config.contains("args = [\"mcp\", \"run\", \"scratch\"]"),
        "{config}"
    );
    assert_eq!(
        ctx.follower.read_codex("skills/mine/SKILL.md"),
        "---\nname: mine\n---\n"
    );
    let manifest = fs::read_to_string(tool.join("mcp-manifest.json")).unwrap();
    assert!(manifest.contains("/srv/work"), "{manifest}");
    assert!(manifest.contains("\"origin\": \"local\""), "{manifest}");

    // Codex edits config.toml here: project trust, and a `codex mcp add`-like rewrite of the
    // whole mcp_servers table (comments dropped, integers as floats, a new server).
    let trusted = format!(
        "[projects.\"{}/work\"]\ntrust_level = \"trusted\"\n",
        ctx.follower.user.display()
    );
    let edited = config.replace("startup_timeout_sec = 20", "startup_timeout_sec = 20.0")
        + "\n[mcp_servers.added]\ncommand = \"/usr/bin/added\"\n\n"
        + &trusted;
    ctx.follower.write_codex("config.toml", &edited);
    // Codex appends an "always allow" rule.
    let rules = ctx.follower.read_codex("rules/default.rules");
    ctx.follower.write_codex(
        "rules/default.rules",
        format!("{rules}prefix_rule(pattern = [\"cargo\", \"test\"], decision = \"allow\")\n"),
    );

    // The master changes its model, its rules, and approval_policy; the follower changed
    // approval_policy too: the local value stays and is reported.
    let edited = ctx
        .follower
        .read_codex("config.toml")
        .replace("on-request", "never");
    ctx.follower.write_codex("config.toml", &edited);
    ctx.master.write_codex(
        "config.toml",
        master_config(&ctx, |c| {
            c.replace("gpt-5\"", "gpt-5.1\"")
                .replace("on-request", "untrusted")
        }),
    );
    ctx.master.write_codex(
        "rules/default.rules",
        "prefix_rule(pattern = [\"ls\"], decision = \"allow\")\nprefix_rule(pattern = [\"pwd\"], decision = \"allow\")\n",
    );
    wait_for(
        &ctx,
        &["  config.toml ~ model", "~ codex:rules/default.rules"],
    );
    let ran = output(ctx.follower_cmd().args(["sync", "--apply"]), 0);
    let config = ctx.follower.read_codex("config.toml");
    assert!(config.starts_with("# master settings\n"), "{config}");
    assert!(config.contains(&trusted), "{config}");
    assert!(config.contains("[mcp_servers.added]"), "{config}");
    assert!(config.contains("[mcp_servers.scratch]"), "{config}");
    assert!(config.contains("approval_policy = \"never\""), "{config}");
    assert!(
        ran.stderr
            .contains("`approval_policy` was changed here and on the master"),
        "{}",
        ran.stderr
    );
    assert_eq!(config.matches("[mcp_servers.echo]").count(), 1, "{config}");
    let rules = ctx.follower.read_codex("rules/default.rules");
    assert_eq!(
        rules,
        "prefix_rule(pattern = [\"ls\"], decision = \"allow\")\nprefix_rule(pattern = [\"pwd\"], decision = \"allow\")\nprefix_rule(pattern = [\"cargo\", \"test\"], decision = \"allow\")\n"
    );

    // A second apply changes nothing.
    let again = output(ctx.follower_cmd().arg("apply"), 0);
    assert!(again.stderr.contains("already applied"), "{}", again.stderr);
    assert_eq!(ctx.follower.read_codex("config.toml"), config);
}

#[test]
fn overlay_clashes_and_bad_layers_stop_before_anything_is_written() {
    let mut ctx = TestContext::new(bins!());
    started(&mut ctx);
    let tool = ctx.follower.tool.clone();
    let before = tree(&ctx.follower.codex);
    let check = |args: &[&str], snapshot: &str| {
        let ran = run(ctx.follower_cmd().args(args));
        assert!(ran.stderr.starts_with("error: "), "{}", ran.stderr);
        assert_transcript!(snapshot, ran);
        assert_eq!(tree(&ctx.follower.codex), before, "nothing written");
    };

    write(
        &tool.join("mcps.local.toml"),
        "[mcp_servers.echo]\ncommand = \"mine\"\n",
    );
    check(&["apply"], "local_mcp_clashes_with_the_master");

    write(
        &tool.join("mcps.local.toml"),
        "[mcp_servers.x]\ncommand = \"${nowhere}/x\"\n",
    );
    check(&["apply"], "unknown_path_variable");

    write(
        &tool.join("mcps.local.toml"),
        "[mcp_servers.x]\ncommand = \"x\"\nargs = [\n",
    );
    check(&["apply"], "mcps_local_toml_does_not_parse");
    fs::remove_file(tool.join("mcps.local.toml")).unwrap();

    write(&tool.join("skills/greet/SKILL.md"), "mine\n");
    check(&["apply"], "local_skill_clashes_with_the_master");
    fs::remove_dir_all(tool.join("skills")).unwrap();

    let local = fs::read_to_string(tool.join("local.toml")).unwrap();
    write(
        &tool.join("local.toml"),
        format!("{local}allowMcpOverrides = tru\n"),
    );
    check(&["sync", "--apply"], "local_toml_does_not_parse");
    write(&tool.join("local.toml"), &local);

    // Codex's own config.toml broken here: named with its line and column.
    let config = ctx.follower.read_codex("config.toml");
    ctx.follower
        .write_codex("config.toml", format!("{config}\n[broken\n"));
    let before_broken = tree(&ctx.follower.codex);
    let ran = run(ctx.follower_cmd().arg("apply"));
    assert_transcript!("codex_config_toml_does_not_parse", ran);
    assert_eq!(tree(&ctx.follower.codex), before_broken);
    ctx.follower.write_codex("config.toml", &config);

    // Allowed, the local table replaces the master's: one table of that name.
    write(
        &tool.join("local.toml"),
        format!("{local}allowMcpOverrides = true\n"),
    );
    write(
        &tool.join("mcps.local.toml"),
        "[mcp_servers.echo]\nurl = \"https://example.com/mcp\"\n",
    );
    let ran = output(ctx.follower_cmd().arg("apply"), 0);
    assert!(
        ran.stderr.contains("MCP `echo` comes from mcps.local.toml"),
        "{}",
        ran.stderr
    );
    let config = ctx.follower.read_codex("config.toml");
    assert_eq!(config.matches("[mcp_servers.echo]").count(), 1, "{config}");
    assert!(
        config.contains("url = \"https://example.com/mcp\""),
        "{config}"
    );
    assert!(!config.contains("mcp-run"), "{config}");
}

#[test]
fn override_lists_allow_only_the_names_in_them() {
    let mut ctx = TestContext::new(bins!());
    started(&mut ctx);
    let tool = ctx.follower.tool.clone();
    let local = fs::read_to_string(tool.join("local.toml")).unwrap();
    write(
        &tool.join("mcps.local.toml"),
        "[mcp_servers.echo]\nurl = \"https://example.com/mcp\"\n",
    );
    write(&tool.join("skills/greet/SKILL.md"), "mine\n");
    write(
        &tool.join("local.toml"),
        format!("{local}allowMcpOverrides = [\"other\"]\nallowSkillOverrides = [\"greet\"]\n"),
    );
    let before = tree(&ctx.follower.codex);
    let ran = run(ctx.follower_cmd().arg("apply"));
    assert_transcript!("mcp_override_list_without_the_name", ran);
    assert_eq!(tree(&ctx.follower.codex), before, "nothing written");

    // The original tool's per-name lists: the named MCP and skill replace the master's.
    write(
        &tool.join("local.toml"),
        format!("{local}allowMcpOverrides = [\"echo\"]\nallowSkillOverrides = [\"greet\"]\n"),
    );
    output(ctx.follower_cmd().arg("apply"), 0);
    let config = ctx.follower.read_codex("config.toml");
    assert_eq!(config.matches("[mcp_servers.echo]").count(), 1, "{config}");
    assert!(
        config.contains("url = \"https://example.com/mcp\""),
        "{config}"
    );
    assert_eq!(ctx.follower.read_codex("skills/greet/SKILL.md"), "mine\n");
}

#[test]
fn the_original_tools_local_toml_stops_sync_until_the_follower_joins_again() {
    let mut ctx = TestContext::new(bins!());
    ctx.master.write_codex("AGENTS.md", "be kind\n");
    ctx.master.write_codex(
        "config.toml",
        "[projects.\"${workspaceRoot}/app\"]\ntrust_level = \"trusted\"\n",
    );
    ctx.start_master();
    // What the original Node codexport leaves in `~/.codexport/local.toml` after its join.
    let original = "role = \"follower\"\nmasterUrl = \"http://127.0.0.1:17342\"\n\
                    masterFingerprint = \"3f:9a:0c\"\nlastRevision = \"b2c4\"\nport = 17342\n\
                    allowSkillOverrides = [\"mine\"]\n\n[pathVariables]\nworkspaceRoot = \"/srv/work\"\n";
    let local = ctx.follower.tool.join("local.toml");
    write(&local, original);
    for args in [&["sync"][..], &["sync", "--apply"]] {
        let ran = run(ctx.follower_cmd().args(args));
        assert_transcript!("original_tool_local_toml", ran);
    }
    assert_eq!(fs::read_to_string(&local).unwrap(), original);
    assert!(tree(&ctx.follower.codex).is_empty(), "nothing applied");

    // A new join keeps the settings that still mean the same and drops the original's keys.
    ctx.join(&["--apply"]);
    let joined = fs::read_to_string(&local).unwrap();
    for gone in [
        "role",
        "masterUrl",
        "masterFingerprint",
        "lastRevision",
        "port",
    ] {
        assert!(!joined.contains(&format!("{gone} =")), "{joined}");
    }
    assert!(
        joined.contains("allowSkillOverrides = [\"mine\"]"),
        "{joined}"
    );
    assert!(joined.contains("workspaceRoot = \"/srv/work\""), "{joined}");
    assert!(
        ctx.follower
            .read_codex("config.toml")
            .contains("[projects.\"/srv/work/app\"]"),
        "the original's path variables still apply"
    );
    output(ctx.follower_cmd().arg("sync"), 0);
}

#[test]
fn dry_runs_show_the_diff_and_write_nothing() {
    let mut ctx = TestContext::new(bins!());
    started(&mut ctx);
    ctx.master.write_codex(
        "config.toml",
        master_config(&ctx, |c| c.replace("gpt-5\"", "gpt-5.2\"")),
    );
    ctx.master.write_codex("prompts/new.md", "hi\n");
    fs::remove_file(ctx.master.codex.join("AGENTS.md")).unwrap();
    let snapshot = |ctx: &TestContext| {
        let mut all = tree(&ctx.follower.codex);
        for name in ["state.json", "staged.json", "mcp-manifest.json"] {
            if let Ok(b) = fs::read(ctx.follower.tool.join(name)) {
                all.insert(name.to_owned(), b);
            }
        }
        all
    };
    let before = snapshot(&ctx);
    let ran = wait_for(
        &ctx,
        &[
            "~ codex:config.toml",
            "+ codex:prompts/new.md",
            "- codex:AGENTS.md",
            "  config.toml ~ model",
        ],
    );
    assert!(ran.stderr.contains("nothing written"), "{}", ran.stderr);
    assert_eq!(snapshot(&ctx), before, "sync --dry-run wrote nothing");
    assert!(
        !ctx.follower.tool.join("backups").exists()
            || tree(&ctx.follower.tool.join("backups")).is_empty()
    );

    output(ctx.follower_cmd().arg("sync"), 0);
    let staged = snapshot(&ctx);
    let ran = output(ctx.follower_cmd().args(["apply", "--dry-run"]), 0);
    assert!(ran.stdout.contains("~ codex:config.toml"), "{}", ran.stdout);
    assert_eq!(snapshot(&ctx), staged, "apply --dry-run wrote nothing");
}

#[test]
fn backups_list_and_restore_puts_files_back() {
    let mut ctx = TestContext::new(bins!());
    started(&mut ctx);
    let original = ctx.follower.read_codex("AGENTS.md");
    ctx.master.write_codex("AGENTS.md", "be brief\n");
    wait_for(&ctx, &["~ codex:AGENTS.md"]);
    output(ctx.follower_cmd().args(["sync", "--apply"]), 0);
    assert_eq!(ctx.follower.read_codex("AGENTS.md"), "be brief\n");

    let listed = output(ctx.follower_cmd().args(["backups", "--json"]), 0);
    let list: serde_json::Value = serde_json::from_str(&listed.stdout).unwrap();
    let newest = list.as_array().unwrap().last().unwrap()["name"]
        .as_str()
        .unwrap()
        .to_owned();

    let ran = output(ctx.follower_cmd().args(["restore", "--dry-run"]), 0);
    assert!(ran.stdout.contains("~ codex:AGENTS.md"), "{}", ran.stdout);
    assert_eq!(ctx.follower.read_codex("AGENTS.md"), "be brief\n");

    output(ctx.follower_cmd().args(["restore", &newest]), 0);
    assert_eq!(ctx.follower.read_codex("AGENTS.md"), original);

    let ran = run(ctx.follower_cmd().args(["restore", "nope"]));
    // Backup names are times, `[TIME]` in the snapshot.
    assert!(ran.stderr.contains(&newest), "{}", ran.stderr);
    assert_transcript!("restore_an_unknown_backup", ran);

    // Pruning keeps the configured count.
    let local = fs::read_to_string(ctx.follower.tool.join("local.toml")).unwrap();
    write(
        &ctx.follower.tool.join("local.toml"),
        format!("{local}keepBackups = 1\n"),
    );
    ctx.master.write_codex("AGENTS.md", "be terse\n");
    ctx.master.write_codex("prompts/terse.md", "t\n");
    // AGENTS.md differs from the staged revision since the restore: wait for the new file.
    wait_for(&ctx, &["~ codex:AGENTS.md", "+ codex:prompts/terse.md"]);
    output(ctx.follower_cmd().args(["sync", "--apply"]), 0);
    let listed = output(ctx.follower_cmd().args(["backups", "--json"]), 0);
    let list: serde_json::Value = serde_json::from_str(&listed.stdout).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1, "{list:#}");
}

/// Copies `src` over `dst` exactly (modes, links), replacing it.
fn reset_dir(src: &Path, dst: &Path) {
    let _ = fs::remove_dir_all(dst);
    let status = Command::new("cp")
        .arg("-a")
        .arg(src)
        .arg(dst)
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn an_apply_killed_at_any_point_recovers_to_fully_applied() {
    let mut ctx = TestContext::new(bins!());
    started(&mut ctx);
    // Revision B: changed, added and deleted files, a new config.
    ctx.master.write_codex(
        "config.toml",
        master_config(&ctx, |c| c.replace("gpt-5\"", "gpt-5.3\"")),
    );
    for i in 0..4 {
        ctx.master
            .write_codex(&format!("prompts/p{i}.md"), format!("prompt {i}\n"));
    }
    ctx.master.write_codex("AGENTS.md", "be brave\n");
    fs::remove_dir_all(ctx.master.codex.join("skills/greet")).unwrap();
    wait_for(
        &ctx,
        &[
            "~ codex:config.toml",
            "+ codex:prompts/p3.md",
            "~ codex:AGENTS.md",
            "- codex:skills/greet/SKILL.md",
        ],
    );
    output(ctx.follower_cmd().arg("sync"), 0);

    let saved = ctx.dir.path().join("saved");
    fs::create_dir_all(&saved).unwrap();
    reset_dir(&ctx.follower.codex, &saved.join("codex"));
    reset_dir(&ctx.follower.tool, &saved.join("tool"));
    let before = tree(&ctx.follower.codex);
    output(ctx.follower_cmd().arg("apply"), 0);
    let after = tree(&ctx.follower.codex);
    assert_ne!(before, after);

    let restore = |ctx: &TestContext| {
        reset_dir(&saved.join("codex"), &ctx.follower.codex);
        reset_dir(&saved.join("tool"), &ctx.follower.tool);
    };
    // Deterministic kills after every journal operation.
    let mut crashes = 0;
    for n in 0.. {
        restore(&ctx);
        let ran = run(ctx
            .follower_cmd()
            .arg("apply")
            .env("CODEXPORT_TEST_CRASH_AFTER", n.to_string()));
        if ran.code == 0 {
            assert_eq!(tree(&ctx.follower.codex), after);
            break;
        }
        crashes += 1;
        assert!(ran.code != 0 && ctx.follower.tool.join("journal/journal.json").exists());
        // The next run finishes it (and has nothing left to do itself).
        output(ctx.follower_cmd().arg("apply"), 0);
        assert_eq!(
            tree(&ctx.follower.codex),
            after,
            "killed after {n} operations"
        );
        assert!(!ctx.follower.tool.join("journal").exists());
    }
    assert!(crashes >= 8, "only {crashes} kill points");

    // Real SIGKILLs at spread-out delays: before recovery the home is as before or as after
    // when no journal is pending; after the next run it is fully applied.
    for i in 0..12u64 {
        restore(&ctx);
        let mut child = ctx.follower_cmd().arg("apply").spawn().unwrap();
        std::thread::sleep(Duration::from_micros(i * i * 400));
        let _ = child.kill();
        let _ = child.wait();
        let now = tree(&ctx.follower.codex);
        if !ctx.follower.tool.join("journal/journal.json").exists() {
            assert!(
                now == before || now == after,
                "kill {i}: half-applied without a journal"
            );
        }
        output(ctx.follower_cmd().arg("apply"), 0);
        assert_eq!(tree(&ctx.follower.codex), after, "kill {i}");
    }
}

#[test]
fn drift_is_reported_and_an_unwritable_target_stops_the_apply() {
    let mut ctx = TestContext::new(bins!());
    started(&mut ctx);
    ctx.follower.write_codex("AGENTS.md", "my edit\n");
    ctx.master.write_codex("AGENTS.md", "be bold\n");
    ctx.master.write_codex("prompts/x.md", "x\n");
    // A file where apply needs a folder (permissions do not stop root, this does).
    ctx.follower.write_codex("prompts", "not a folder\n");
    wait_for(&ctx, &["+ codex:prompts/x.md", "~ codex:AGENTS.md"]);
    let before = tree(&ctx.follower.codex);
    let ran = run(ctx.follower_cmd().args(["sync", "--apply"]));
    assert_transcript!("unwritable_target", ran);
    assert_eq!(tree(&ctx.follower.codex), before, "nothing written");

    fs::remove_file(ctx.follower.codex.join("prompts")).unwrap();
    let ran = output(ctx.follower_cmd().arg("apply"), 0);
    assert!(
        ran.stderr
            .contains("warning: `codex:AGENTS.md` was edited on this machine"),
        "{}",
        ran.stderr
    );
    assert_eq!(ctx.follower.read_codex("AGENTS.md"), "be bold\n");
    let backups = tree(&ctx.follower.tool.join("backups"));
    assert!(
        backups
            .iter()
            .any(|(k, v)| k.ends_with("codex/AGENTS.md") && v == b"my edit\n"),
        "{backups:?}"
    );
}

/// codexport's own hook and its trust survive applies of a master `hooks.json` that lacks it.
#[test]
fn our_hook_survives_master_hooks_through_applies() {
    let mut ctx = TestContext::new(bins!());
    ctx.master.write_codex(
        "hooks.json",
        r#"{"hooks": {"Stop": [{"hooks": [{"type": "command", "command": "echo bye"}]}]}}"#,
    );
    started(&mut ctx);
    output(ctx.follower_cmd().args(["hook", "install"]), 0);
    ctx.master.write_codex(
        "hooks.json",
        r#"{"hooks": {"Stop": [{"hooks": [{"type": "command", "command": "echo later"}]}]}}"#,
    );
    ctx.master.write_codex("prompts/h.md", "h\n");
    wait_for(&ctx, &["+ codex:prompts/h.md"]);
    let ran = output(ctx.follower_cmd().args(["sync", "--apply"]), 0);
    assert!(!ran.stderr.contains("warning:"), "{}", ran.stderr);
    let status: serde_json::Value = serde_json::from_str(
        &output(ctx.follower_cmd().args(["hook", "status", "--json"]), 0).stdout,
    )
    .unwrap();
    let hooks = status["hooks"].as_array().unwrap();
    let ours: Vec<_> = hooks.iter().filter(|h| h["ours"] == true).collect();
    assert_eq!(ours.len(), 1, "{status:#}");
    assert_eq!(ours[0]["trust"], "trusted", "{status:#}");
    assert!(
        hooks.iter().any(|h| h["command"] == "echo later"),
        "{status:#}"
    );
    assert!(
        !hooks.iter().any(|h| h["command"] == "echo bye"),
        "{status:#}"
    );
}
