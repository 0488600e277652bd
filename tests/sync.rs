//! End-to-end sync: a master and a follower in temp homes, on loopback, through the binary.

use std::collections::BTreeMap;
use std::fs;
use std::net::TcpListener;
use std::path::Path;
use std::time::{Duration, Instant};

use codexport_core::identity::MasterKey;
use codexport_core::master::selection::{FileClass, Root};
use codexport_core::mcp::manifest::McpManifest;
use codexport_core::revision::FileEntry;
use codexport_test_support::fake_master;
use codexport_test_support::raw_http::{self, answer};
use codexport_test_support::{Ran, TestContext, assert_transcript, bins, output, run, tree, write};

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let meta = fs::symlink_metadata(&path).unwrap();
        if meta.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

/// The follower's Codex home plus the tool-home files a failed command must not touch.
fn follower_snapshot(ctx: &TestContext) -> BTreeMap<String, Vec<u8>> {
    let mut all = tree(&ctx.follower.codex);
    for name in [
        "identity.json",
        "state.json",
        "staged.json",
        "local.toml",
        "mcp-manifest.json",
    ] {
        if let Ok(bytes) = fs::read(ctx.follower.tool.join(name)) {
            all.insert(format!("tool/{name}"), bytes);
        }
    }
    all
}

/// Permission bits (Unix; on Windows secrets get an owner-only ACL instead: core's fsx tests).
#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn seed_master(ctx: &TestContext) {
    ctx.master.write_codex("AGENTS.md", "be kind\n");
    ctx.master.write_codex(
        "auth.json",
        r#"{"auth_mode":"apikey","OPENAI_API_KEY":"sk-test"}"#,
    );
    ctx.master.write_codex(
        "config.toml",
        "model = \"gpt-5\"\n\n[mcp_servers.echo]\ncommand = \"node\"\nargs = [\"/srv/echo.js\"]\n",
    );
    ctx.master
        .write_codex("rules/default.rules", "prefix_rule(pattern=[\"ls\"])\n");
    ctx.master
        .write_codex("rules/old.rules", "prefix_rule(pattern=[\"cat\"])\n");
    ctx.master
        .write_codex("skills/greet/SKILL.md", "---\nname: greet\n---\n");
    ctx.master
        .write_codex("sessions/2026/01/01/rollout.jsonl", "{}");
    ctx.master.write_codex("history.jsonl", "{}");
    write(
        &ctx.master.user.join(".agents/skills/a/SKILL.md"),
        "agents skill\n",
    );
    write(&ctx.master.tool.join("resolvers/p.wasm"), b"\0asm plugin");
}

/// Runs `sync --apply` until `check` holds (the watcher publishes asynchronously).
fn sync_until(ctx: &TestContext, what: &str, check: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        output(ctx.follower_cmd().args(["sync", "--apply"]), 0);
        if check() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what} never arrived:\n{}",
            ctx.master_log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn join_apply_watch_change_and_delete() {
    let mut ctx = TestContext::new(bins!());
    seed_master(&ctx);
    ctx.follower.write_codex("rules/local.rules", "mine\n");
    ctx.follower.write_codex("AGENTS.md", "follower's own\n");
    ctx.join(&["--apply"]);

    let f = &ctx.follower;
    assert_eq!(f.read_codex("AGENTS.md"), "be kind\n");
    #[cfg(unix)]
    assert_eq!(mode(&f.codex.join("auth.json")), 0o600);
    assert!(f.read_codex("config.toml").contains("[mcp_servers.echo]"));
    assert_eq!(
        f.read_codex("skills/greet/SKILL.md"),
        "---\nname: greet\n---\n"
    );
    assert!(!f.codex.join("sessions").exists());
    assert!(!f.codex.join("history.jsonl").exists());
    assert_eq!(
        fs::read_to_string(f.user.join(".agents/skills/a/SKILL.md")).unwrap(),
        "agents skill\n"
    );
    assert_eq!(
        fs::read(f.tool.join("resolvers/p.wasm")).unwrap(),
        b"\0asm plugin"
    );
    let manifest = f.tool.join("mcp-manifest.json");
    #[cfg(unix)]
    assert_eq!(mode(&manifest), 0o600);
    let manifest: McpManifest = serde_json::from_slice(&fs::read(manifest).unwrap()).unwrap();
    assert_eq!(manifest.names(), ["echo"]);
    // The replaced file was backed up.
    let backups: Vec<_> = walk(&f.tool.join("backups"));
    assert!(
        backups
            .iter()
            .any(|p| fs::read_to_string(p).is_ok_and(|s| s == "follower's own\n")),
        "{backups:?}"
    );

    // A change on the master is published by the watcher and pulled.
    ctx.master.write_codex("AGENTS.md", "be very kind\n");
    sync_until(&ctx, "the AGENTS.md change", || {
        ctx.follower.read_codex("AGENTS.md") == "be very kind\n"
    });

    // A file deleted on the master is deleted on the follower; its own files stay.
    fs::remove_file(ctx.master.codex.join("rules/old.rules")).unwrap();
    sync_until(&ctx, "the deletion", || {
        !ctx.follower.codex.join("rules/old.rules").exists()
    });
    assert_eq!(ctx.follower.read_codex("rules/local.rules"), "mine\n");
    assert!(ctx.follower.codex.join("rules/default.rules").exists());

    // Nothing changed: the next sync says so and the status reports it.
    let ran = output(ctx.follower_cmd().args(["sync", "--apply"]), 0);
    assert!(ran.stderr.contains("up to date"), "{}", ran.stderr);
    let status = output(ctx.follower_cmd().args(["status", "--json"]), 0);
    let status: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
    assert_eq!(status["role"], "follower");
    assert_eq!(status["reachable"], true);
    assert_eq!(status["applied"], status["master_revision"]);
    assert_eq!(status["last_sync"]["outcome"], "ok");

    let exit = ctx.stop_master().unwrap();
    assert!(
        exit.success(),
        "SIGTERM is a clean shutdown: {exit:?}\n{}",
        ctx.master_log()
    );
}

#[test]
fn apply_is_separate_from_sync_and_only_missing_objects_travel() {
    let mut ctx = TestContext::new(bins!());
    seed_master(&ctx);
    ctx.start_master_with(&["--no-watch"]);
    ctx.join(&[]);
    assert!(
        !ctx.follower.codex.join("AGENTS.md").exists(),
        "join without --apply"
    );
    output(ctx.follower_cmd().arg("apply"), 0);
    assert_eq!(ctx.follower.read_codex("AGENTS.md"), "be kind\n");
    let again = output(ctx.follower_cmd().arg("apply"), 0);
    assert!(again.stderr.contains("already applied"), "{}", again.stderr);

    // One changed file: only its object travels.
    ctx.stop_master();
    ctx.master.write_codex("AGENTS.md", "v2\n");
    ctx.start_master_with(&["--no-watch"]);
    let ran = output(ctx.follower_cmd().args(["sync", "--apply"]), 0);
    assert!(ran.stderr.contains(": 1 objects"), "{}", ran.stderr);
    assert_eq!(ctx.follower.read_codex("AGENTS.md"), "v2\n");
}

#[test]
fn master_commands() {
    let ctx = TestContext::new(bins!());
    let fp1 = output(ctx.master_cmd().args(["master", "init"]), 0).stdout;
    let fp2 = output(ctx.master_cmd().args(["master", "init"]), 0).stdout;
    assert_eq!(fp1, fp2, "init is idempotent");
    assert!(fp1.starts_with("SHA256:"));
    #[cfg(unix)]
    assert_eq!(mode(&ctx.master.tool.join("identity.json")), 0o600);
    assert!(ctx.master.tool.join("master.toml").is_file());

    let link = ctx.link("laptop");
    assert!(link.contains("version=2"), "{link}");
    let listed = output(ctx.master_cmd().args(["master", "followers"]), 0);
    assert!(listed.stdout.starts_with("laptop\t"), "{}", listed.stdout);
    let token = link
        .split("token=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap();
    let stored = fs::read_to_string(ctx.master.tool.join("followers.json")).unwrap();
    assert!(!stored.contains(token), "tokens are stored hashed");
    #[cfg(unix)]
    assert_eq!(mode(&ctx.master.tool.join("followers.json")), 0o600);

    output(ctx.master_cmd().args(["master", "revoke", "laptop"]), 0);
    let ran = run(ctx.master_cmd().args(["master", "revoke", "laptop"]));
    assert_transcript!("revoke_an_unknown_follower", ran);

    let ran = output(ctx.master_cmd().args(["master", "rebuild"]), 0);
    assert!(ran.stdout.starts_with("1 "), "{}", ran.stdout);
}

#[test]
fn follower_names_outside_letters_digits_and_marks_are_refused() {
    let ctx = TestContext::new(bins!());
    output(ctx.master_cmd().args(["master", "init"]), 0);
    let followers = ctx.master.tool.join("followers.json");
    for name in ["a/b", "two words", "", "x@y"] {
        let ran = output(ctx.master_cmd().args(["master", "link", "--name", name]), 2);
        assert_eq!(ran.stdout, "", "{name:?}");
        assert_eq!(
            ran.stderr,
            format!("error: `{name}` is not a follower name: use letters, digits, `-`, `_`, `.`\n"),
            "{name:?}"
        );
        assert!(!followers.exists(), "{name:?} wrote followers.json");
    }
    let link = ctx.link("work-mac_2.local");
    assert!(link.starts_with("codexport://join?"), "{link}");
}

/// Runs a command with `-q`: it must succeed and print nothing on stderr; returns its stdout.
fn quiet(cmd: &mut std::process::Command, args: &[&str]) -> String {
    let ran = output(cmd.arg("-q").args(args), 0);
    assert_eq!(ran.stderr, "", "`-q {}` printed on stderr", args.join(" "));
    ran.stdout
}

#[test]
fn quiet_commands_print_only_what_was_asked() {
    let mut ctx = TestContext::new(bins!());
    ctx.master.write_codex("AGENTS.md", "be kind\n");
    ctx.follower.write_codex("AGENTS.md", "follower's own\n");
    let fingerprint = quiet(&mut ctx.master_cmd(), &["master", "init"]);
    assert!(fingerprint.starts_with("SHA256:"), "{fingerprint}");
    let rebuilt = quiet(&mut ctx.master_cmd(), &["master", "rebuild"]);
    assert!(rebuilt.starts_with("1 "), "{rebuilt}");
    ctx.start_master_with(&["--no-watch"]);
    let port = ctx.port.to_string();
    let linked = quiet(
        &mut ctx.master_cmd(),
        &[
            "master",
            "link",
            "--host",
            "127.0.0.1",
            "--port",
            &port,
            "--name",
            "f",
        ],
    );
    let link = linked.lines().next().unwrap().to_owned();
    assert!(link.starts_with("codexport://join?"), "{linked}");
    let listed = quiet(&mut ctx.master_cmd(), &["master", "followers"]);
    assert!(listed.starts_with("f\t"), "{listed}");

    let f = || ctx.follower_cmd();
    assert_eq!(quiet(&mut f(), &["follower", "join", &link, "--apply"]), "");
    assert_eq!(ctx.follower.read_codex("AGENTS.md"), "be kind\n");
    assert_eq!(quiet(&mut f(), &["sync", "--apply"]), "");
    assert_eq!(quiet(&mut f(), &["apply"]), "");
    assert_eq!(quiet(&mut f(), &["apply", "--dry-run"]), "");
    let backups = quiet(&mut f(), &["backups"]);
    assert_eq!(backups.lines().count(), 1, "{backups}");
    assert_eq!(quiet(&mut f(), &["restore"]), "");
    assert_eq!(ctx.follower.read_codex("AGENTS.md"), "follower's own\n");
    assert_eq!(quiet(&mut f(), &["mcp", "list"]), "");
    assert_eq!(quiet(&mut f(), &["resolver", "list"]), "");
    assert_eq!(quiet(&mut f(), &["hook", "install"]), "");
    assert_eq!(quiet(&mut f(), &["hook", "uninstall"]), "");
    assert_eq!(quiet(&mut f(), &["follower", "trust-reset", "--yes"]), "");
    assert_eq!(quiet(&mut ctx.master_cmd(), &["master", "revoke", "f"]), "");

    // Without `-q` the same commands do report on stderr, so the checks above can fail.
    let ran = output(f().args(["hook", "install"]), 0);
    assert!(ran.stderr.contains("SessionStart hook"), "{}", ran.stderr);
    let ran = output(ctx.master_cmd().args(["master", "followers"]), 0);
    assert!(ran.stderr.contains("no followers yet"), "{}", ran.stderr);
}

#[test]
fn joining_again_refreshes_the_token_and_a_corrupt_local_object_is_fetched_again() {
    let mut ctx = TestContext::new(bins!());
    seed_master(&ctx);
    ctx.start_master_with(&["--no-watch"]);
    ctx.join(&[]);
    // Same master, new link (the old token is replaced): not a rollback, not a key change.
    ctx.join(&[]);
    let hash = codexport_core::store::sha256_hex(b"be kind\n");
    let object = ctx.follower.object_path(&hash);
    fs::write(&object, b"torn").unwrap();
    let ran = run(ctx.follower_cmd().arg("apply"));
    assert_transcript!("apply_with_a_corrupt_local_object", ran);
    assert!(
        !ctx.follower.codex.join("AGENTS.md").exists(),
        "nothing written"
    );
    output(ctx.follower_cmd().args(["sync", "--apply"]), 0);
    assert_eq!(ctx.follower.read_codex("AGENTS.md"), "be kind\n");
}

// ---- bad input: one error line, the documented exit code, nothing written ----

/// Runs a follower command expected to fail, checks its exit code and error against snapshot
/// `snapshot`, that it gives a hint, and that no file of the follower changed.
fn refused(ctx: &TestContext, args: &[&str], snapshot: &str) -> Ran {
    let before = follower_snapshot(ctx);
    let ran = run(ctx.follower_cmd().args(args));
    assert!(ran.stderr.starts_with("error: "), "{}", ran.stderr);
    assert!(ran.stderr.contains("\nhint: "), "no hint:\n{}", ran.stderr);
    assert_transcript!(snapshot, ran);
    assert_eq!(
        follower_snapshot(ctx),
        before,
        "files changed after {args:?}"
    );
    ran
}

#[test]
fn malformed_truncated_and_future_links() {
    let mut ctx = TestContext::new(bins!());
    ctx.start_master();
    let link = ctx.link("f");
    refused(
        &ctx,
        &["follower", "join", "codexport://nope"],
        "join_link_malformed",
    );
    let truncated = &link[..link.find("&token").unwrap()];
    refused(
        &ctx,
        &["follower", "join", truncated],
        "join_link_truncated",
    );
    let future = link.replace("version=2", "version=3");
    refused(
        &ctx,
        &["follower", "join", &future],
        "join_link_future_version",
    );
    let bad_fp = link.replace("fingerprint=SHA256", "fingerprint=MD5");
    refused(
        &ctx,
        &["follower", "join", &bad_fp],
        "join_link_bad_fingerprint",
    );
}

#[test]
fn wrong_fingerprint_is_refused() {
    let mut ctx = TestContext::new(bins!());
    ctx.start_master();
    let link = ctx.link("f");
    let other = MasterKey::generate().fingerprint.replace(':', "%3A");
    let start = link.find("fingerprint=").unwrap() + "fingerprint=".len();
    let end = start + link[start..].find('&').unwrap();
    let wrong = format!("{}{other}{}", &link[..start], &link[end..]);
    refused(&ctx, &["follower", "join", &wrong], "wrong_fingerprint");
    assert!(!ctx.follower.tool.join("identity.json").exists());
}

#[test]
fn changed_master_key_is_refused_until_trust_reset() {
    let mut ctx = TestContext::new(bins!());
    seed_master(&ctx);
    ctx.join(&["--apply"]);
    ctx.stop_master();
    fs::remove_file(ctx.master.tool.join("identity.json")).unwrap();
    // Same content under a new key answers 304 (nothing to verify); new content is refused.
    ctx.master
        .write_codex("AGENTS.md", "signed by someone else\n");
    ctx.start_master();
    refused(&ctx, &["sync", "--apply"], "master_key_changed");

    let ran = run(ctx.follower_cmd().args(["follower", "trust-reset"]));
    assert_transcript!("trust_reset_without_yes", ran);
    output(
        ctx.follower_cmd()
            .args(["follower", "trust-reset", "--yes"]),
        0,
    );
    // The master still knows the follower's token; a new link gives a new one anyway.
    ctx.join(&["--apply"]);
}

#[test]
fn object_whose_bytes_do_not_match_is_refused() {
    let mut ctx = TestContext::new(bins!());
    seed_master(&ctx);
    ctx.start_master_with(&["--no-watch"]);
    let hash = codexport_core::store::sha256_hex(b"be kind\n");
    let object = ctx.master.object_path(&hash);
    // As long as the original (a longer frame is refused before its bytes are read).
    fs::write(&object, b"evil!!!\n").unwrap();
    let link = ctx.link("f");
    refused(
        &ctx,
        &["follower", "join", &link, "--apply"],
        "object_bytes_do_not_match",
    );
    assert!(!ctx.follower.object_path(&hash).exists());
}

#[test]
fn rollback_to_a_lower_seq_is_refused() {
    let mut ctx = TestContext::new(bins!());
    seed_master(&ctx);
    ctx.start_master_with(&["--no-watch"]);
    ctx.join(&["--apply"]);
    ctx.stop_master();
    ctx.master.write_codex("AGENTS.md", "seq 2\n");
    output(ctx.master_cmd().args(["master", "rebuild"]), 0);
    ctx.start_master_with(&["--no-watch"]);
    output(ctx.follower_cmd().args(["sync", "--apply"]), 0);
    ctx.stop_master();
    // The master forgets its history: its next revision has seq 1 again.
    fs::remove_file(ctx.master.tool.join("revision.json")).unwrap();
    ctx.master.write_codex("AGENTS.md", "old state\n");
    ctx.start_master_with(&["--no-watch"]);
    refused(&ctx, &["sync", "--apply"], "rollback_to_a_lower_seq");
}

#[test]
fn unreachable_masters_are_bounded_by_the_timeout() {
    let mut ctx = TestContext::new(bins!());
    ctx.join(&[]);
    ctx.stop_master();
    // Refused: nothing listens any more.
    refused(&ctx, &["sync", "--timeout", "2s"], "master_unreachable");
    let status = output(ctx.follower_cmd().args(["status", "--json"]), 0);
    let status: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
    assert_eq!(status["reachable"], false);
    assert_eq!(status["last_sync"]["outcome"], "error");

    // A listener that accepts and never answers.
    let listener = TcpListener::bind(("127.0.0.1", ctx.port)).unwrap();
    let hold = std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().take(2) {
            held.push(stream);
        }
        std::thread::sleep(Duration::from_secs(15));
    });
    let start = Instant::now();
    let ran = refused(
        &ctx,
        &["sync", "--timeout", "700ms"],
        "master_does_not_answer",
    );
    // The snapshot shows durations as `[DURATION]`: this one is the `--timeout` given.
    assert!(ran.stderr.contains("within 0.7s"), "{}", ran.stderr);
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "{:?}",
        start.elapsed()
    );
    drop(hold);
}

#[test]
fn peers_outside_the_allow_list_are_refused() {
    let mut ctx = TestContext::new(bins!());
    output(ctx.master_cmd().args(["master", "init"]), 0);
    fs::write(
        ctx.master.tool.join("master.toml"),
        "allow = [\"10.0.0.0/8\"]\n",
    )
    .unwrap();
    ctx.start_master_with_unchecked();
    let link = ctx.link("f");
    refused(&ctx, &["follower", "join", &link], "not_in_the_allow_list");
}

#[test]
fn missing_and_revoked_tokens_are_refused() {
    let mut ctx = TestContext::new(bins!());
    ctx.start_master();
    let link = ctx.link("f");
    let start = link.find("token=").unwrap() + "token=".len();
    let end = start + link[start..].find('&').unwrap();
    let forged = format!("{}forged{}", &link[..start], &link[end..]);
    refused(&ctx, &["follower", "join", &forged], "forged_token");

    output(ctx.follower_cmd().args(["follower", "join", &link]), 0);
    output(ctx.master_cmd().args(["master", "revoke", "f"]), 0);
    refused(&ctx, &["sync"], "revoked_token");
}

#[test]
fn corrupt_identity_and_state_are_reported() {
    let mut ctx = TestContext::new(bins!());
    seed_master(&ctx);
    ctx.join(&["--apply"]);
    let state = ctx.follower.tool.join("state.json");
    fs::write(&state, "{ truncated").unwrap();
    refused(&ctx, &["sync", "--apply"], "corrupt_state");
    let identity = ctx.follower.tool.join("identity.json");
    fs::write(&identity, "not json").unwrap();
    refused(&ctx, &["sync", "--apply"], "corrupt_identity");
    fs::write(ctx.master.tool.join("identity.json"), "[]").unwrap();
    let ran = run(ctx.master_cmd().args(["master", "rebuild"]));
    assert_transcript!("rebuild_with_a_corrupt_master_identity", ran);
}

// ---- a hand-made master for what a real one never sends ----

/// Serves `/v1/meta` and `/v1/revision` with fixed bodies on `port`; everything else is 404.
fn fake_master(port: u16, meta: Vec<u8>, revision: Vec<u8>) {
    raw_http::serve(port, move |request, stream| {
        if request.is("GET", "/v1/meta") {
            answer(stream, "200 OK", "application/json", &meta);
        } else if request.is("GET", "/v1/revision") {
            answer(stream, "200 OK", "application/json", &revision);
        } else {
            answer(stream, "404 Not Found", "application/json", b"");
        }
    });
}

fn entry(path: &str, link: Option<&str>) -> FileEntry {
    FileEntry {
        root: Root::Codex,
        path: path.into(),
        sha256: codexport_core::store::sha256_hex(b"x"),
        size: 1,
        mode: 0o644,
        class: FileClass::Regular,
        link: link.map(str::to_owned),
    }
}

fn join_fake(ctx: &TestContext, key: &MasterKey, signed: Vec<u8>) -> String {
    let meta = fake_master::meta(key, &key.fingerprint);
    fake_master(ctx.port, meta, signed);
    codexport_core::link::JoinLink {
        host: "127.0.0.1".into(),
        port: ctx.port,
        fingerprint: key.fingerprint.clone(),
        token: "t".into(),
        // A plain-HTTP fake master: a version 1 link.
        version: codexport_core::link::PLAIN_LINK_VERSION,
    }
    .to_link()
}

#[test]
fn bad_signature_is_refused() {
    let ctx = TestContext::new(bins!());
    let key = MasterKey::generate();
    let mut signed =
        fake_master::revision(&key.fingerprint, 1, vec![entry("AGENTS.md", None)]).sign(&key);
    signed.document = signed.document.replace("AGENTS.md", "AGENTS.mx");
    let link = join_fake(&ctx, &key, signed.to_bytes());
    refused(
        &ctx,
        &["follower", "join", &link, "--apply"],
        "bad_signature",
    );
}

#[test]
fn paths_and_links_that_escape_are_refused() {
    for (path, link, snapshot) in [
        ("../outside", None, "unsafe_path_dot_dot_segment"),
        ("/etc/passwd", None, "unsafe_path_absolute"),
        ("C:/Windows/x", None, "unsafe_path_drive_letter"),
        ("a\\b", None, "unsafe_path_backslash"),
        ("a\0b", None, "unsafe_path_nul"),
        (
            "skills/x",
            Some("../../../etc"),
            "unsafe_path_link_escaping_its_root",
        ),
    ] {
        let ctx = TestContext::new(bins!());
        let key = MasterKey::generate();
        let signed = fake_master::revision(&key.fingerprint, 1, vec![entry(path, link)]).sign(&key);
        let link = join_fake(&ctx, &key, signed.to_bytes());
        refused(&ctx, &["follower", "join", &link, "--apply"], snapshot);
    }
}

#[test]
fn commands_in_the_wrong_role_name_the_right_one() {
    let ctx = TestContext::new(bins!());
    let ran = run(ctx.follower_cmd().arg("sync"));
    assert_transcript!("sync_before_joining", ran);
    let ran = run(ctx
        .master_cmd()
        .args(["master", "serve", "--listen", "127.0.0.1:1"]));
    assert_transcript!("serve_before_init", ran);
}
