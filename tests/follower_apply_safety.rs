//! A follower's apply against what a master may do to it: paths that change kind, journals
//! that cannot replay or whose objects rotted, backed-up links, the hook's budget, mass
//! deletions, and the `local.toml` settings that keep the master's hooks and MCP servers off.
// Unix only: paths change kind to and from symlinks throughout.
#![cfg(unix)]

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use codexport_test_support::{TestContext, assert_transcript, bins, output, run, text_tree};

/// The Codex home without the files layering writes (config, rules): what the master sent.
fn sent(ctx: &TestContext) -> BTreeMap<String, String> {
    let mut all = text_tree(&ctx.follower.codex);
    all.retain(|k, _| k != "config.toml");
    all
}

/// Republishes the master after `edit` (a fresh `serve --no-watch` rebuilds at start).
fn republish(ctx: &mut TestContext, edit: impl FnOnce(&Path)) {
    ctx.stop_master();
    edit(&ctx.master.codex);
    ctx.start_master_with(&["--no-watch"]);
}

fn symlink(target: &str, at: &Path) {
    if let Some(dir) = at.parent() {
        fs::create_dir_all(dir).unwrap();
    }
    std::os::unix::fs::symlink(target, at).unwrap();
}

fn backups(ctx: &TestContext) -> BTreeMap<String, String> {
    text_tree(&ctx.follower.tool.join("backups"))
}

/// One kind change: the master's tree before and after, a local file the follower adds,
/// what the follower's Codex home must hold after, and whether the local file goes to a
/// backup (it sat in a folder the master replaced).
struct Transition {
    name: &'static str,
    before: fn(&Path),
    after: fn(&Path),
    local: Option<&'static str>,
    expect: &'static [(&'static str, &'static str)],
}

fn write(codex: &Path, rel: &str, text: &str) {
    codexport_test_support::write(&codex.join(rel), text);
}

const TRANSITIONS: &[Transition] = &[
    Transition {
        name: "directory -> link",
        before: |c| {
            write(c, "skills/x/SKILL.md", "x\n");
            write(c, "skills/shared/SKILL.md", "shared\n");
        },
        after: |c| {
            fs::remove_dir_all(c.join("skills/x")).unwrap();
            symlink("shared", &c.join("skills/x"));
        },
        local: Some("skills/x/notes.md"),
        expect: &[
            ("skills/shared/SKILL.md", "shared\n"),
            ("skills/x", "-> shared"),
        ],
    },
    Transition {
        name: "link -> directory",
        before: |c| {
            write(c, "skills/shared/SKILL.md", "shared\n");
            symlink("shared", &c.join("skills/x"));
        },
        after: |c| {
            fs::remove_file(c.join("skills/x")).unwrap();
            write(c, "skills/x/SKILL.md", "own\n");
        },
        local: None,
        expect: &[
            ("skills/shared/SKILL.md", "shared\n"),
            ("skills/x/SKILL.md", "own\n"),
        ],
    },
    Transition {
        name: "file -> directory",
        before: |c| write(c, "prompts/p", "a file\n"),
        after: |c| {
            fs::remove_file(c.join("prompts/p")).unwrap();
            write(c, "prompts/p/q.md", "inside\n");
        },
        local: None,
        expect: &[("prompts/p/q.md", "inside\n")],
    },
    Transition {
        name: "directory -> file",
        before: |c| write(c, "prompts/p/q.md", "inside\n"),
        after: |c| {
            fs::remove_dir_all(c.join("prompts/p")).unwrap();
            write(c, "prompts/p", "a file\n");
        },
        local: Some("prompts/p/mine.md"),
        expect: &[("prompts/p", "a file\n")],
    },
];

#[test]
fn every_kind_change_on_the_master_applies_and_later_syncs_too() {
    for t in TRANSITIONS {
        let mut ctx = TestContext::new(bins!());
        (t.before)(&ctx.master.codex);
        ctx.start_master_with(&["--no-watch"]);
        ctx.join(&["--apply"]);
        if let Some(local) = t.local {
            ctx.follower.write_codex(local, "only here\n");
        }
        republish(&mut ctx, t.after);

        let first = run(ctx.follower_cmd().args(["sync", "--apply"]));
        assert_eq!(first.code, 0, "{}: {}", t.name, first.transcript());
        let expect: BTreeMap<String, String> = t
            .expect
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        assert_eq!(sent(&ctx), expect, "{}", t.name);
        let again = run(ctx.follower_cmd().args(["sync", "--apply"]));
        assert_eq!(again.code, 0, "{}: {}", t.name, again.transcript());
        let applied = run(ctx.follower_cmd().arg("apply"));
        assert_eq!(applied.code, 0, "{}: {}", t.name, applied.transcript());
        assert!(
            applied.stderr.contains("already applied"),
            "{}: {}",
            t.name,
            applied.stderr
        );
        assert_eq!(sent(&ctx), expect, "{}", t.name);
        assert!(!ctx.follower.tool.join("journal").exists(), "{}", t.name);

        if let Some(local) = t.local {
            // The local file went with its folder: reported, and in the backup.
            assert!(
                first.stderr.contains(&format!(
                    "warning: `codex:{local}` was added on this machine in a folder the master turned into a file or link"
                )),
                "{}: {}",
                t.name,
                first.stderr
            );
            assert!(
                backups(&ctx)
                    .iter()
                    .any(|(k, v)| k.ends_with(&format!("codex/{local}")) && v == "only here\n"),
                "{}: {:?}",
                t.name,
                backups(&ctx)
            );
        }
    }
}

#[test]
fn a_journal_that_cannot_replay_names_the_command_that_discards_it() {
    let mut ctx = TestContext::new(bins!());
    write(&ctx.master.codex, "AGENTS.md", "one\n");
    ctx.start_master_with(&["--no-watch"]);
    ctx.join(&["--apply"]);
    republish(&mut ctx, |c| write(c, "AGENTS.md", "two\n"));
    let journal = ctx.follower.tool.join("journal");
    fs::create_dir_all(&journal).unwrap();
    fs::write(journal.join("journal.json"), "{ torn").unwrap();

    for args in [&["sync", "--apply"][..], &["apply"], &["restore"]] {
        let ran = run(ctx.follower_cmd().args(args));
        assert_eq!(ran.code, 1, "{args:?}: {}", ran.transcript());
        assert!(
            ran.stderr
                .contains("hint: run `codexport apply --discard-journal`"),
            "{args:?}: {}",
            ran.stderr
        );
    }
    let ran = run(ctx.follower_cmd().args(["sync", "--apply"]));
    assert_transcript!("unreadable_journal", ran);
    assert_eq!(ctx.follower.read_codex("AGENTS.md"), "one\n");

    // The hook logs the same repair and leaves the home alone.
    output(ctx.follower_cmd().args(["sync", "--apply", "--hook"]), 0);
    let log = fs::read_to_string(ctx.follower.tool.join("logs/hook.log")).unwrap();
    assert!(
        log.lines()
            .last()
            .unwrap()
            .contains("hint: run `codexport apply --discard-journal`"),
        "{log}"
    );

    // Dropped, the staged revision (still the first: no sync got past the journal) applies
    // afresh; then syncs go on.
    output(ctx.follower_cmd().args(["apply", "--discard-journal"]), 0);
    assert!(!journal.exists());
    assert_eq!(ctx.follower.read_codex("AGENTS.md"), "one\n");
    output(ctx.follower_cmd().args(["sync", "--apply"]), 0);
    assert_eq!(ctx.follower.read_codex("AGENTS.md"), "two\n");
}

#[test]
fn a_replayed_journal_checks_every_object_before_it_reaches_the_home() {
    let mut ctx = TestContext::new(bins!());
    write(&ctx.master.codex, "AGENTS.md", "one\n");
    ctx.start_master_with(&["--no-watch"]);
    ctx.join(&["--apply"]);
    republish(&mut ctx, |c| write(c, "AGENTS.md", "two\n"));
    output(ctx.follower_cmd().arg("sync"), 0);
    // Killed right after the journal is committed: every operation is left to the replay.
    let killed = run(ctx
        .follower_cmd()
        .arg("apply")
        .env("CODEXPORT_TEST_CRASH_AFTER", "0"));
    assert_ne!(killed.code, 0);
    assert!(ctx.follower.tool.join("journal/journal.json").exists());
    // The object rots before the replay (objects are not fsynced).
    let hash = codexport_test_support::mcp::sha256(b"two\n");
    let object = ctx.follower.object_path(&hash);
    fs::write(&object, "rm -rf ~\n").unwrap();

    let ran = run(ctx.follower_cmd().arg("apply"));
    assert_eq!(ran.code, 1, "{}", ran.transcript());
    assert!(
        ran.stderr.contains("hash mismatch") || ran.stderr.contains(&hash),
        "{}",
        ran.stderr
    );
    assert_eq!(ctx.follower.read_codex("AGENTS.md"), "one\n");
    assert!(!object.exists(), "the rotten object is dropped");

    output(
        ctx.follower_cmd()
            .args(["sync", "--apply", "--discard-journal"]),
        0,
    );
    assert_eq!(ctx.follower.read_codex("AGENTS.md"), "two\n");
}

#[test]
fn restore_puts_a_backed_up_symlink_back_as_a_symlink() {
    let mut ctx = TestContext::new(bins!());
    write(&ctx.master.codex, "prompts/a.md", "a\n");
    symlink("a.md", &ctx.master.codex.join("prompts/l.md"));
    ctx.start_master_with(&["--no-watch"]);
    ctx.join(&["--apply"]);
    let link = ctx.follower.codex.join("prompts/l.md");
    assert_eq!(fs::read_link(&link).unwrap(), Path::new("a.md"));
    republish(&mut ctx, |c| {
        fs::remove_file(c.join("prompts/l.md")).unwrap();
        write(c, "prompts/l.md", "plain\n");
    });
    output(ctx.follower_cmd().args(["sync", "--apply"]), 0);
    assert_eq!(ctx.follower.read_codex("prompts/l.md"), "plain\n");

    output(ctx.follower_cmd().arg("restore"), 0);
    assert!(
        fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink(),
        "restored as a plain file"
    );
    assert_eq!(fs::read_link(&link).unwrap(), Path::new("a.md"));
    assert_eq!(ctx.follower.read_codex("prompts/l.md"), "a\n");
}

/// Files `prompts/fN.md`, each holding `text`.
fn many(codex: &Path, n: usize, text: &str) {
    for i in 0..n {
        write(codex, &format!("prompts/f{i}.md"), text);
    }
}

/// Runs the hook ten times with a 300 ms budget; after each run every managed file holds the
/// same text (a whole revision). Returns the texts seen, in order.
fn ten_hook_runs(ctx: &TestContext, files: usize) -> Vec<String> {
    let mut seen = Vec::new();
    for run_no in 0..10 {
        output(
            ctx.follower_cmd()
                .args(["sync", "--apply", "--hook", "--budget", "300ms"]),
            0,
        );
        let contents: std::collections::BTreeSet<String> = sent(ctx).into_values().collect();
        let log = fs::read_to_string(ctx.follower.tool.join("logs/hook.log")).unwrap();
        assert_eq!(
            contents.len(),
            1,
            "run {run_no} left a half-applied home:\n{log}"
        );
        assert_eq!(sent(ctx).len(), files, "run {run_no}");
        seen.push(contents.into_iter().next().unwrap());
    }
    seen
}

#[test]
fn the_hook_never_leaves_a_half_applied_home() {
    const FILES: usize = 1000;
    let mut ctx = TestContext::new(bins!());
    many(&ctx.master.codex, FILES, "A\n");
    ctx.start_master_with(&["--no-watch"]);
    ctx.join(&["--apply"]);

    // An apply killed half way: its journal is committed, the home half B.
    republish(&mut ctx, |c| many(c, FILES, "B\n"));
    output(ctx.follower_cmd().arg("sync"), 0);
    let killed = run(ctx
        .follower_cmd()
        .arg("apply")
        .env("CODEXPORT_TEST_CRASH_AFTER", (FILES / 2).to_string()));
    assert_ne!(killed.code, 0);
    let contents: std::collections::BTreeSet<String> = sent(&ctx).into_values().collect();
    assert_eq!(contents.len(), 2, "half applied before the hook runs");
    // The first hook run finishes the replay, however long it takes past the budget.
    let seen = ten_hook_runs(&ctx, FILES);
    assert!(seen.iter().all(|s| s == "B\n"), "{seen:?}");
    assert!(!ctx.follower.tool.join("journal").exists());

    // A new revision from the network: each run applies all of it or none of it.
    republish(&mut ctx, |c| many(c, FILES, "C\n"));
    let seen = ten_hook_runs(&ctx, FILES);
    assert!(seen.windows(2).all(|w| w[0] <= w[1]), "{seen:?}");
    output(ctx.follower_cmd().args(["sync", "--apply"]), 0);
    assert!(sent(&ctx).values().all(|v| v == "C\n"));
}

#[test]
fn a_mass_deletion_is_staged_but_not_applied_without_the_flag() {
    let mut ctx = TestContext::new(bins!());
    many(&ctx.master.codex, 30, "kept?\n");
    ctx.start_master_with(&["--no-watch"]);
    ctx.join(&["--apply"]);
    let before = sent(&ctx);
    republish(&mut ctx, |c| {
        for i in 5..30 {
            fs::remove_file(c.join(format!("prompts/f{i}.md"))).unwrap();
        }
    });

    let ran = run(ctx.follower_cmd().args(["sync", "--apply"]));
    assert_transcript!("mass_deletion", ran);
    assert_eq!(sent(&ctx), before, "nothing applied");
    let ran = run(ctx.follower_cmd().arg("apply"));
    assert_eq!(ran.code, 4, "{}", ran.transcript());
    assert!(ran.stderr.contains("--allow-mass-delete"), "{}", ran.stderr);
    let status = output(ctx.follower_cmd().args(["status", "--json"]), 0);
    let status: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
    assert_ne!(status["applied"], status["staged"], "staged, not applied");

    // The hook logs it and applies nothing.
    output(ctx.follower_cmd().args(["sync", "--apply", "--hook"]), 0);
    let log = fs::read_to_string(ctx.follower.tool.join("logs/hook.log")).unwrap();
    let last = log.lines().last().unwrap();
    assert!(
        last.contains("would delete 25 of the 30 files") && last.contains("--allow-mass-delete"),
        "{log}"
    );
    assert_eq!(sent(&ctx), before);

    output(
        ctx.follower_cmd()
            .args(["sync", "--apply", "--allow-mass-delete"]),
        0,
    );
    assert_eq!(sent(&ctx).len(), 5);
    // A small deletion needs no flag.
    republish(&mut ctx, |c| {
        fs::remove_file(c.join("prompts/f0.md")).unwrap();
    });
    output(ctx.follower_cmd().args(["sync", "--apply"]), 0);
    assert_eq!(sent(&ctx).len(), 4);
}

/// The master's `hooks.json` with a `Stop` hook, trusted in its `config.toml`, and an MCP.
fn master_with_a_trusted_hook_and_an_mcp(ctx: &TestContext) {
    let hooks = serde_json::json!({"hooks": {
        "Stop": [{"hooks": [{"type": "command", "command": "echo bye"}]}]
    }});
    ctx.master.write_codex("hooks.json", hooks.to_string());
    let file = codexport_core::hooks::HooksFile::parse(hooks.to_string().as_bytes(), "h".as_ref())
        .unwrap()
        .file;
    let real = fs::canonicalize(&ctx.master.codex).unwrap();
    let mut config: toml_edit::DocumentMut =
        "model = \"o3\"\n\n[mcp_servers.remote]\nurl = \"http://127.0.0.1:9/mcp\"\n"
            .parse()
            .unwrap();
    codexport_core::hooks::set_state(
        &mut config,
        &codexport_core::hooks::trust_key(&real, "Stop", 0, 0),
        &codexport_core::hooks::HookState {
            trusted_hash: codexport_core::hooks::handler_hash(
                "Stop",
                None,
                &file.groups("Stop")[0].hooks[0],
            ),
            enabled: None,
        },
    );
    ctx.master.write_codex("config.toml", config.to_string());
}

#[test]
fn local_settings_keep_the_masters_hooks_untrusted_and_its_mcp_servers_off() {
    let mut ctx = TestContext::new(bins!());
    master_with_a_trusted_hook_and_an_mcp(&ctx);
    ctx.start_master_with(&["--no-watch"]);
    ctx.join(&["--apply"]);
    let key = codexport_core::hooks::trust_key(
        &fs::canonicalize(&ctx.follower.codex).unwrap(),
        "Stop",
        0,
        0,
    );
    let config = |ctx: &TestContext| -> toml_edit::DocumentMut {
        ctx.follower.read_codex("config.toml").parse().unwrap()
    };
    // By default joining trusts what the master trusts and starts its servers.
    let doc = config(&ctx);
    assert!(
        doc["hooks"]["state"][&key]["trusted_hash"].is_str(),
        "{doc}"
    );
    assert!(
        doc["mcp_servers"]["remote"].get("enabled").is_none(),
        "{doc}"
    );

    let local = ctx.follower.tool.join("local.toml");
    let mut text = fs::read_to_string(&local).unwrap();
    text.insert_str(0, "trustMasterHooks = false\nmasterMcpServers = \"off\"\n");
    fs::write(&local, text).unwrap();
    ctx.follower.write_codex(
        "../.codexport/mcps.local.toml",
        "[mcp_servers.mine]\nurl = \"http://127.0.0.1:8/mcp\"\n",
    );
    output(ctx.follower_cmd().arg("apply"), 0);
    let doc = config(&ctx);
    let trusted = doc
        .get("hooks")
        .and_then(|h| h.get("state"))
        .and_then(|s| s.get(&key))
        .and_then(|e| e.get("trusted_hash"));
    assert!(
        trusted.is_none(),
        "the master's hook is still trusted:\n{doc}"
    );
    assert!(
        ctx.follower.read_codex("hooks.json").contains("echo bye"),
        "the hook itself arrives"
    );
    assert_eq!(
        doc["mcp_servers"]["remote"]["enabled"].as_bool(),
        Some(false),
        "{doc}"
    );
    assert!(
        doc["mcp_servers"]["mine"].get("enabled").is_none(),
        "this machine's own server stays on:\n{doc}"
    );
    let status = hook_trust(&ctx);
    assert_eq!(status, "untrusted");
}

/// `hook status --json`'s trust of the master's `Stop` hook on the follower.
fn hook_trust(ctx: &TestContext) -> String {
    let ran = output(ctx.follower_cmd().args(["hook", "status", "--json"]), 0);
    let status: serde_json::Value = serde_json::from_str(&ran.stdout).unwrap();
    status["hooks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["event"] == "Stop")
        .map(|h| h["trust"].as_str().unwrap().to_owned())
        .unwrap()
}
