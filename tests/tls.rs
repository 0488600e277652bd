//! Protocol v2's transport end to end: TLS bound to the master's key (an impostor in the
//! middle, a changed key, a plain answer on the TLS port), v1 links over plain HTTP, invites
//! that expire or are single-use, `master followers`, and `master.toml` read again live.
//! Real sockets on 127.0.0.1 only.

use std::collections::BTreeMap;
use std::fs;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use codexport_core::identity::{Identity, MasterKey};
use codexport_test_support::{
    Home, Ran, TestContext, assert_transcript, bins, output, run, tree, write,
};

/// Everything in the follower's home (Codex home, tool home, `~/.agents`), but the lock file
/// every command takes (empty) and the record of the last sync's outcome.
fn follower_home(ctx: &TestContext) -> BTreeMap<String, Vec<u8>> {
    home_tree(&ctx.follower)
}

fn home_tree(home: &Home) -> BTreeMap<String, Vec<u8>> {
    let mut all = tree(&home.user);
    all.remove(".codexport/lock");
    all.remove(".codexport/last-sync.json");
    all
}

/// The paths whose bytes differ between two trees (a readable failure).
fn changed(a: &BTreeMap<String, Vec<u8>>, b: &BTreeMap<String, Vec<u8>>) -> Vec<String> {
    a.keys()
        .chain(b.keys())
        .filter(|k| a.get(*k) != b.get(*k))
        .cloned()
        .collect()
}

/// Runs a follower command that must be refused with the trust error; snapshots it and checks
/// that nothing in the follower's home changed.
fn refused(ctx: &TestContext, args: &[&str], snapshot: &str) -> Ran {
    let before = follower_home(ctx);
    let ran = run(ctx.follower_cmd().args(args));
    assert_eq!(ran.code, 3, "{}", ran.stderr);
    assert!(ran.stderr.contains("\nhint: "), "no hint:\n{}", ran.stderr);
    assert_transcript!(snapshot, ran, r"127\.0\.0\.1:\d+" => "127.0.0.1:[PORT]");
    assert_eq!(
        changed(&follower_home(ctx), &before),
        Vec::<String>::new(),
        "files changed after {args:?}"
    );
    ran
}

/// A link to `port` for the master's key, of `version`.
fn link_to(port: u16, fingerprint: &str, token: &str, version: u8) -> String {
    codexport_core::link::JoinLink {
        host: "127.0.0.1".into(),
        port,
        fingerprint: fingerprint.to_owned(),
        token: token.to_owned(),
        version,
    }
    .to_link()
}

fn token_of(link: &str) -> String {
    link.split("token=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .to_owned()
}

/// A loopback TLS proxy that terminates TLS with `key`'s certificate and forwards the bytes
/// to `upstream` in plain HTTP (the master's one port takes both). Stops when dropped.
struct Proxy {
    port: u16,
    stop: Arc<AtomicBool>,
    accepted: Arc<AtomicUsize>,
}

impl Proxy {
    fn start(key: &MasterKey, upstream: u16) -> Self {
        let now = time::OffsetDateTime::now_utc();
        let cert =
            codexport_core::tls::make_certificate(key, now, now + time::Duration::days(1)).unwrap();
        let config = codexport_core::tls::server_config(key, cert).unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let accepted = Arc::new(AtomicUsize::new(0));
        let (stop2, accepted2) = (stop.clone(), accepted.clone());
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                let acceptor = tokio_rustls::TlsAcceptor::from(config);
                // Bounded: at most a minute, whatever the test does.
                let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
                while !stop2.load(Ordering::SeqCst) && tokio::time::Instant::now() < deadline {
                    let Ok(Ok((stream, _))) =
                        tokio::time::timeout(Duration::from_millis(100), listener.accept()).await
                    else {
                        continue;
                    };
                    accepted2.fetch_add(1, Ordering::SeqCst);
                    let acceptor = acceptor.clone();
                    tokio::spawn(async move {
                        let Ok(mut tls) = acceptor.accept(stream).await else {
                            return;
                        };
                        let Ok(mut up) =
                            tokio::net::TcpStream::connect(("127.0.0.1", upstream)).await
                        else {
                            return;
                        };
                        let _ = tokio::io::copy_bidirectional(&mut tls, &mut up).await;
                    });
                }
            });
        });
        Self {
            port,
            stop,
            accepted,
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

#[test]
fn a_man_in_the_middle_with_its_own_certificate_is_refused() {
    let mut ctx = TestContext::new(bins!());
    ctx.master.write_codex("AGENTS.md", "master rules\n");
    ctx.start_master();
    let key = Identity::load_master(&ctx.master.homes()).unwrap();
    let token = token_of(&ctx.link("laptop"));

    // The impostor terminates TLS with a key of its own, for the link that names the real one.
    let impostor = Proxy::start(&MasterKey::generate(), ctx.port);
    let through = link_to(impostor.port, &key.fingerprint, &token, 2);
    let ran = refused(
        &ctx,
        &["follower", "join", &through],
        "impostor_in_the_middle",
    );
    assert!(ran.stderr.contains("not the pinned"), "{}", ran.stderr);
    assert!(
        impostor.accepted.load(Ordering::SeqCst) >= 1,
        "never reached"
    );

    // The same proxy holding the master's own key is the master: the join goes through it.
    let relay = Proxy::start(&key, ctx.port);
    let ran = output(
        ctx.follower_cmd()
            .args([
                "follower",
                "join",
                &link_to(relay.port, &key.fingerprint, &token, 2),
            ])
            .arg("--apply"),
        0,
    );
    assert!(ran.stderr.contains("joined"), "{}", ran.stderr);
    assert_eq!(ctx.follower.read_codex("AGENTS.md"), "master rules\n");
}

#[test]
fn a_master_whose_key_changed_is_refused() {
    let mut ctx = TestContext::new(bins!());
    ctx.master.write_codex("AGENTS.md", "v1\n");
    ctx.join(&["--apply"]);
    let local = fs::read_to_string(ctx.follower.tool.join("local.toml")).unwrap();
    assert!(local.contains("master = \"https://127.0.0.1:"), "{local}");

    // The master is set up again with a new key, on the same address.
    ctx.stop_master();
    fs::rename(
        ctx.master.tool.join("identity.json"),
        ctx.master.tool.join("identity.old"),
    )
    .unwrap();
    ctx.start_master();
    ctx.master.write_codex("AGENTS.md", "v2 from the new key\n");
    let ran = refused(&ctx, &["sync", "--apply"], "master_key_changed");
    assert!(ran.stderr.contains("trust-reset"), "{}", ran.stderr);
    assert_eq!(ctx.follower.read_codex("AGENTS.md"), "v1\n");
}

/// A loopback server that answers every connection in plain HTTP, whatever it was sent.
fn plain_answerer() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        // Bounded: a few connections, each answered once.
        for stream in listener.incoming().take(8) {
            let Ok(mut stream) = stream else { continue };
            let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
            let _ = stream.read(&mut [0u8; 4096]);
            let _ = stream.write_all(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}",
            );
        }
    });
    port
}

#[test]
fn a_plain_http_answer_on_the_tls_port_is_refused() {
    let ctx = TestContext::new(bins!());
    let key = MasterKey::generate();
    let port = plain_answerer();
    let ran = refused(
        &ctx,
        &["follower", "join", &link_to(port, &key.fingerprint, "t", 2)],
        "plain_answer_on_the_tls_port",
    );
    assert!(
        ran.stderr.contains("did not answer in TLS"),
        "{}",
        ran.stderr
    );
}

#[test]
fn a_plain_http_master_takes_v1_links_and_refuses_v2_ones() {
    let mut ctx = TestContext::new(bins!());
    ctx.master.write_codex("AGENTS.md", "plain\n");
    ctx.start_master_with(&["--plain-http"]);
    let v2 = ctx.link("laptop");
    let ran = refused(
        &ctx,
        &["follower", "join", &v2],
        "v2_link_to_a_plain_http_master",
    );
    assert!(ran.stderr.contains("--plain-http"), "{}", ran.stderr);

    let out = output(
        ctx.master_cmd().args([
            "master",
            "link",
            "--plain-http",
            "--host",
            "127.0.0.1",
            "--port",
            &ctx.port.to_string(),
            "--name",
            "laptop",
        ]),
        0,
    );
    let v1 = out.stdout.lines().next().unwrap().to_owned();
    assert!(v1.ends_with("&version=1"), "{v1}");
    assert!(
        out.stdout.contains("--master http://127.0.0.1:"),
        "{}",
        out.stdout
    );
    output(
        ctx.follower_cmd()
            .args(["follower", "join", &v1, "--apply"]),
        0,
    );
    assert_eq!(ctx.follower.read_codex("AGENTS.md"), "plain\n");
    let local = fs::read_to_string(ctx.follower.tool.join("local.toml")).unwrap();
    assert!(local.contains("master = \"http://127.0.0.1:"), "{local}");
}

/// A v1 link (plain HTTP) still joins a default master, which serves both on one port; the
/// follower keeps using what it joined with.
#[test]
fn v1_links_join_a_default_master_over_plain_http() {
    let mut ctx = TestContext::new(bins!());
    ctx.master.write_codex("AGENTS.md", "one\n");
    ctx.start_master();
    let v1 = ctx.link("old").replace("&version=2", "&version=1");
    output(
        ctx.follower_cmd()
            .args(["follower", "join", &v1, "--apply"]),
        0,
    );
    let local = fs::read_to_string(ctx.follower.tool.join("local.toml")).unwrap();
    assert!(local.contains("master = \"http://127.0.0.1:"), "{local}");
    ctx.master.write_codex("AGENTS.md", "two\n");
    wait_for(|| {
        run(ctx.follower_cmd().args(["sync", "--apply"]));
        ctx.follower.read_codex("AGENTS.md") == "two\n"
    });
}

/// Polls `done` for up to 20 s.
fn wait_for(mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "timed out");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A second follower machine in the same test dir.
fn another_follower(ctx: &TestContext, name: &str) -> Home {
    let user = ctx.follower.user.parent().unwrap().join(name);
    let home = Home {
        codex: user.join(".codex"),
        tool: user.join(".codexport"),
        user,
        bins: ctx.follower.bins.clone(),
    };
    fs::create_dir_all(&home.codex).unwrap();
    home
}

fn link_with(ctx: &TestContext, name: &str, extra: &[&str]) -> Ran {
    output(
        ctx.master_cmd()
            .args(["master", "link", "--host", "127.0.0.1", "--port"])
            .arg(ctx.port.to_string())
            .args(["--name", name])
            .args(extra),
        0,
    )
}

#[test]
fn single_use_and_expiring_links() {
    let mut ctx = TestContext::new(bins!());
    ctx.master.write_codex("AGENTS.md", "rules\n");
    ctx.start_master();

    let made = link_with(&ctx, "laptop", &["--single-use"]);
    assert_transcript!(
        "single_use_link",
        made,
        r"token=[A-Za-z0-9_-]+" => "token=[TOKEN]",
        r"--token [A-Za-z0-9_-]+" => "--token [TOKEN]",
        r"port=\d+" => "port=[PORT]",
        r"SHA256%3A[A-Za-z0-9_-]{43}" => "SHA256%3A[FINGERPRINT]",
    );
    let once = made.stdout.lines().next().unwrap().to_owned();
    output(
        ctx.follower_cmd()
            .args(["follower", "join", &once, "--apply"]),
        0,
    );
    // The follower now holds a token of its own: it syncs, the link does not join again.
    let own = Identity::load(&ctx.follower.homes()).unwrap();
    let Some(Identity::Follower(trust)) = own else {
        panic!("not a follower")
    };
    assert_ne!(trust.token, token_of(&once), "the invite was exchanged");
    output(ctx.follower_cmd().args(["sync", "--apply"]), 0);
    let second = another_follower(&ctx, "desk");
    let before = home_tree(&second);
    let ran = run(second.cmd().args(["follower", "join", &once]));
    assert_eq!(ran.code, 3, "{}", ran.stderr);
    assert_transcript!("single_use_link_used_again", ran);
    assert_eq!(changed(&home_tree(&second), &before), Vec::<String>::new());

    // An expiring invite joins until it expires, then is refused.
    let soon = link_with(&ctx, "desk", &["--expires", "2s"]);
    let soon = soon.stdout.lines().next().unwrap().to_owned();
    let third = another_follower(&ctx, "spare");
    std::thread::sleep(Duration::from_millis(2500));
    let before = home_tree(&third);
    let ran = run(third.cmd().args(["follower", "join", &soon]));
    assert_eq!(ran.code, 3, "{}", ran.stderr);
    assert_transcript!("expired_link", ran);
    assert_eq!(changed(&home_tree(&third), &before), Vec::<String>::new());
    let fresh = link_with(&ctx, "desk", &["--expires", "24h"]);
    let fresh = fresh.stdout.lines().next().unwrap().to_owned();
    output(second.cmd().args(["follower", "join", &fresh]), 0);
    output(second.cmd().args(["sync"]), 0);
}

#[test]
fn followers_shows_last_seen_and_version() {
    let mut ctx = TestContext::new(bins!());
    ctx.join(&[]);
    link_with(&ctx, "never", &["--single-use"]);
    // The server writes who it saw every few seconds, and when it stops.
    ctx.stop_master();
    let listed = output(ctx.master_cmd().args(["master", "followers"]), 0);
    assert_transcript!("followers_listing", listed);
    let json = output(ctx.master_cmd().args(["master", "followers", "--json"]), 0);
    let list: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(list[0]["name"], "follower");
    assert_eq!(list[0]["version"], env!("CARGO_PKG_VERSION"));
    assert!(list[0]["last_seen"].is_string());
    assert!(list[1]["last_seen"].is_null());
    assert_eq!(list[1]["invite"]["single_use"], true);
}

/// `followers.json` is read, changed and written whole: links made at the same time must not
/// lose each other's token (a join the server redeems takes the same lock).
#[test]
fn links_made_at_the_same_time_all_keep_their_token() {
    let ctx = TestContext::new(bins!());
    output(ctx.master_cmd().args(["master", "init"]), 0);
    let names: Vec<String> = (0..12).map(|i| format!("f{i}")).collect();
    let children: Vec<_> = names
        .iter()
        .map(|name| {
            ctx.master_cmd()
                .args(["master", "link", "--host", "127.0.0.1", "--name", name])
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut child in children {
        assert!(child.wait().unwrap().success());
    }
    let json = output(ctx.master_cmd().args(["master", "followers", "--json"]), 0);
    let list: Vec<serde_json::Value> = serde_json::from_str(&json.stdout).unwrap();
    let mut listed: Vec<String> = list
        .iter()
        .map(|f| f["name"].as_str().unwrap().to_owned())
        .collect();
    listed.sort();
    let mut expected = names;
    expected.sort();
    assert_eq!(listed, expected);
}

fn master_toml(ctx: &TestContext) -> std::path::PathBuf {
    ctx.master.tool.join("master.toml")
}

/// Replaces `master.toml` the way editors save: a new file renamed over the old one.
fn save_master_toml(ctx: &TestContext, text: &str) {
    let tmp = ctx.master.tool.join("master.toml.tmp");
    fs::write(&tmp, text).unwrap();
    fs::rename(&tmp, master_toml(ctx)).unwrap();
}

#[test]
fn master_toml_is_read_again_while_serving() {
    let mut ctx = TestContext::new(bins!());
    ctx.master.write_codex("AGENTS.md", "rules\n");
    ctx.master.write_codex("rules/keep.rules", "keep\n");
    ctx.master.write_codex("rules/drop.rules", "drop\n");
    ctx.join(&["--apply"]);
    assert!(ctx.follower.codex.join("rules/drop.rules").is_file());
    let original = fs::read_to_string(master_toml(&ctx)).unwrap();

    // An exclude takes effect without a restart.
    save_master_toml(&ctx, &format!("{original}\nexclude = [\"drop.rules\"]\n"));
    wait_for(|| {
        run(ctx.follower_cmd().args(["sync", "--apply"]));
        !ctx.follower.codex.join("rules/drop.rules").exists()
    });
    assert!(ctx.follower.codex.join("rules/keep.rules").is_file());

    // An allow list without loopback refuses this follower at once.
    save_master_toml(
        &ctx,
        &format!("{original}\nexclude = [\"drop.rules\"]\nallow = [\"10.9.8.0/24\"]\n"),
    );
    wait_for(|| run(ctx.follower_cmd().args(["sync"])).code == 3);

    // A bad edit keeps the last good settings (still refused) and says so once in the log.
    save_master_toml(&ctx, &format!("{original}\nallow = [\"not a network\"]\n"));
    wait_for(|| ctx.master_log().contains("master.toml not reloaded"));
    let log = ctx.master_log();
    let line = log
        .lines()
        .find(|l| l.contains("master.toml not reloaded"))
        .unwrap();
    assert!(line.contains("not a CIDR"), "{line}");
    assert_eq!(
        log.matches("master.toml not reloaded").count(),
        1,
        "one line per bad edit:\n{log}"
    );
    assert_eq!(run(ctx.follower_cmd().args(["sync"])).code, 3);

    // Fixed: loopback is allowed again, the exclude is gone.
    save_master_toml(&ctx, &original);
    wait_for(|| {
        run(ctx.follower_cmd().args(["sync", "--apply"]));
        ctx.follower.codex.join("rules/drop.rules").is_file()
    });
}

#[test]
fn a_root_created_after_the_start_is_watched() {
    let mut ctx = TestContext::new(bins!());
    ctx.master.write_codex("AGENTS.md", "rules\n");
    assert!(!ctx.master.user.join(".agents").exists());
    ctx.join(&["--apply"]);
    write(
        &ctx.master.user.join(".agents/skills/late/SKILL.md"),
        "---\nname: late\ndescription: made after the start\n---\n",
    );
    let skill = ctx.follower.user.join(".agents/skills/late/SKILL.md");
    wait_for(|| {
        run(ctx.follower_cmd().args(["sync", "--apply"]));
        skill.is_file()
    });
    // And it stays watched: a change inside it is published too.
    write(
        &ctx.master.user.join(".agents/skills/late/notes.md"),
        "more\n",
    );
    let notes = ctx.follower.user.join(".agents/skills/late/notes.md");
    wait_for(|| {
        run(ctx.follower_cmd().args(["sync", "--apply"]));
        notes.is_file()
    });
}

#[test]
fn the_certificate_is_made_for_the_identity_key_and_kept() {
    let mut ctx = TestContext::new(bins!());
    ctx.start_master();
    let key = Identity::load_master(&ctx.master.homes()).unwrap();
    let stored: serde_json::Value =
        serde_json::from_slice(&fs::read(ctx.master.tool.join("tls.json")).unwrap()).unwrap();
    assert_eq!(stored["fingerprint"], key.fingerprint.as_str());
    ctx.stop_master();
    let before = fs::read(ctx.master.tool.join("tls.json")).unwrap();
    ctx.start_master();
    assert_eq!(
        fs::read(ctx.master.tool.join("tls.json")).unwrap(),
        before,
        "kept across restarts"
    );
}
