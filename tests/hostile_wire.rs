//! Hostile wire: a master that lies (a fake one on 127.0.0.1 speaking the protocol), links and
//! `--master` URLs that are not what they seem, and peers that hold connections open (raw
//! sockets on loopback). Each class ends in a clear error and bounded resources.

use std::fs;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
#[cfg(unix)]
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use codexport_core::identity::MasterKey;
use codexport_core::link::JoinLink;
use codexport_core::master::selection::{FileClass, Root};
use codexport_core::revision::{FileEntry, Revision};
use codexport_core::store::sha256_hex;
#[cfg(unix)]
use codexport_test_support::Ran;
use codexport_test_support::fake_master::{self, meta};
use codexport_test_support::raw_http::{self, Request, answer};
use codexport_test_support::{TestContext, assert_transcript, bins, output, run};

// ---- a hand-made master ----

/// `handler` as a master of the previous release: `404` for every `/v2/` path, so the
/// follower reads v1.
fn v1_only(
    handler: impl Fn(&Request, &mut TcpStream) + Send + Sync + 'static,
) -> impl Fn(&Request, &mut TcpStream) + Send + Sync + 'static {
    move |request, stream| {
        if request.method == "GET" && request.path.starts_with("/v2/") {
            answer(stream, "404 Not Found", "text/plain", b"");
        } else {
            handler(request, stream);
        }
    }
}

/// Serves `handler` as a v1-only master (`v2` false) or as it is, answering `/v2/root` too.
fn fake_master_of(
    port: u16,
    v2: bool,
    handler: impl Fn(&Request, &mut TcpStream) + Send + Sync + 'static,
) -> Arc<AtomicUsize> {
    if v2 {
        raw_http::serve(port, handler)
    } else {
        raw_http::serve(port, v1_only(handler))
    }
}

/// The 4-byte file every fake revision holds.
const CONTENT: &[u8] = b"abcd";

fn revision(seq: u64, claimed_fingerprint: &str) -> Revision {
    let files = vec![FileEntry {
        root: Root::Codex,
        path: "AGENTS.md".into(),
        sha256: sha256_hex(CONTENT),
        size: CONTENT.len() as u64,
        mode: 0o644,
        class: FileClass::Regular,
        link: None,
    }];
    fake_master::revision(claimed_fingerprint, seq, files)
}

fn link_to(port: u16, key: &MasterKey) -> String {
    JoinLink {
        host: "127.0.0.1".into(),
        port,
        fingerprint: key.fingerprint.clone(),
        token: "t".into(),
        // A plain-HTTP fake master: a version 1 link.
        version: codexport_core::link::PLAIN_LINK_VERSION,
    }
    .to_link()
}

/// A fake master whose meta and revision are honest; `objects` answers `POST /v1/objects`.
fn honest_but_for_objects(
    ctx: &TestContext,
    key: &MasterKey,
    objects: impl Fn(&mut TcpStream) + Send + Sync + 'static,
) -> String {
    let meta = meta(key, &key.fingerprint);
    let signed = revision(1, &key.fingerprint).sign(key).to_bytes();
    raw_http::serve(ctx.port, move |request, stream| {
        if request.is("GET", "/v1/meta") {
            answer(stream, "200 OK", "application/json", &meta);
        } else if request.is("GET", "/v1/revision") {
            answer(stream, "200 OK", "application/json", &signed);
        } else if request.is("POST", "/v1/objects") {
            objects(stream);
        } else {
            answer(stream, "404 Not Found", "text/plain", b"");
        }
    });
    link_to(ctx.port, key)
}

/// A fake master (v1 only, or answering `/v2/root` too) whose meta is honest; `document`
/// answers the rest: the revision, or the tree root.
fn honest_but_for_documents(
    ctx: &TestContext,
    key: &MasterKey,
    v2: bool,
    document: impl Fn(&mut TcpStream) + Send + Sync + 'static,
) -> String {
    let meta = meta(key, &key.fingerprint);
    fake_master_of(ctx.port, v2, move |request, stream| {
        if request.is("GET", "/v1/meta") {
            answer(stream, "200 OK", "application/json", &meta);
        } else {
            document(stream);
        }
    });
    link_to(ctx.port, key)
}

/// Runs `cmd` to completion and returns its output and peak resident memory (bytes), as the
/// kernel counted it for that one child (`wait4`: Unix only, so are the tests that use it).
#[cfg(unix)]
#[expect(
    clippy::zombie_processes,
    reason = "the child is reaped by wait4, which also reports its peak memory"
)]
fn run_measured(cmd: &mut Command) -> (Ran, u64) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let mut status = 0;
    // SAFETY: a zeroed rusage is a valid value for wait4 to fill in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: the pid is our own child, not yet reaped; the pointers live across the call.
    let reaped = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    assert_eq!(reaped, child.id() as i32);
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    let ran = Ran {
        code,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    };
    // Linux counts `ru_maxrss` in KiB.
    (ran, usage.ru_maxrss as u64 * 1024)
}

#[cfg(unix)]
const MIB: u64 = 1024 * 1024;

// ---- the follower client, whatever the master sends ----

#[cfg(unix)]
#[test]
fn a_frame_longer_than_its_object_is_refused_before_its_bytes() {
    let ctx = TestContext::new(bins!());
    let key = MasterKey::generate();
    let hash = sha256_hex(CONTENT);
    let link = honest_but_for_objects(&ctx, &key, move |stream| {
        let _ = write!(
            stream,
            "HTTP/1.1 200 OK\r\ncontent-type: application/x-codexport-objects\r\nconnection: close\r\n\r\n{hash} 1099511627776\n"
        );
        // Then as much as the follower will take, up to 256 MiB.
        let chunk = vec![b'x'; 1024 * 1024];
        for _ in 0..256 {
            if stream.write_all(&chunk).is_err() {
                break;
            }
        }
    });
    let (ran, peak) = run_measured(ctx.follower_cmd().args(["follower", "join", &link]));
    assert_eq!(ran.code, 7, "{}", ran.stderr);
    assert!(
        ran.stderr
            .contains("claims 1099511627776 bytes; the revision allows at most 4"),
        "{}",
        ran.stderr
    );
    assert!(peak < 64 * MIB, "peak RSS {} MiB", peak / MIB);
    assert!(!ctx.follower.tool.join("identity.json").exists());
    assert_transcript!("frame_longer_than_its_object", ran);
}

#[test]
fn a_frame_length_of_u64_max_is_invalid_input_not_a_panic() {
    let ctx = TestContext::new(bins!());
    let key = MasterKey::generate();
    let hash = sha256_hex(CONTENT);
    let link = honest_but_for_objects(&ctx, &key, move |stream| {
        let _ = write!(
            stream,
            "HTTP/1.1 200 OK\r\ncontent-type: application/x-codexport-objects\r\nconnection: close\r\n\r\n{hash} 18446744073709551615\nabcd"
        );
    });
    let ran = run(ctx.follower_cmd().args(["follower", "join", &link]));
    assert_eq!(ran.code, 7, "{}", ran.stderr);
    assert!(!ran.stderr.contains("panicked"), "{}", ran.stderr);
}

#[cfg(unix)]
#[test]
fn a_huge_revision_body_is_cut_at_its_cap() {
    for v2 in [false, true] {
        huge_document(v2);
    }
}

#[cfg(unix)]
fn huge_document(v2: bool) {
    let ctx = TestContext::new(bins!());
    let key = MasterKey::generate();
    let link = honest_but_for_documents(&ctx, &key, v2, |stream| {
        // 256 MiB without a length: only reading tells how long it is.
        let _ = write!(
            stream,
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n{{\"protocol\":1,\"document\":\""
        );
        let chunk = vec![b'a'; 1024 * 1024];
        for _ in 0..256 {
            if stream.write_all(&chunk).is_err() {
                break;
            }
        }
    });
    let (ran, peak) = run_measured(ctx.follower_cmd().args(["follower", "join", &link]));
    assert_eq!(ran.code, 7, "{}", ran.stderr);
    let (cap, snapshot) = if v2 {
        (
            "the tree root is larger than the 64 KiB cap",
            "root_past_its_cap",
        )
    } else {
        (
            "the revision is larger than the 32 MiB cap",
            "revision_past_its_cap",
        )
    };
    assert!(ran.stderr.contains(cap), "{}", ran.stderr);
    assert!(peak < 128 * MIB, "peak RSS {} MiB", peak / MIB);
    assert_transcript!(snapshot, ran);
}

#[test]
fn a_dripping_master_is_cut_off_at_the_timeout() {
    for v2 in [false, true] {
        dripping(v2);
    }
}

fn dripping(v2: bool) {
    let ctx = TestContext::new(bins!());
    let key = MasterKey::generate();
    let link = honest_but_for_documents(&ctx, &key, v2, |stream| {
        let _ = write!(
            stream,
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 60000\r\n\r\n"
        );
        for _ in 0..120 {
            if stream.write_all(b"{").is_err() {
                break;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    });
    let start = Instant::now();
    let ran = run(ctx
        .follower_cmd()
        .args(["follower", "join", &link, "--timeout", "2s"]));
    let took = start.elapsed();
    assert_eq!(ran.code, 5, "{}", ran.stderr);
    assert!(
        ran.stderr.contains("did not answer within"),
        "{}",
        ran.stderr
    );
    assert!(took < Duration::from_secs(10), "{took:?}");
}

#[test]
fn refused_object_requests_get_a_clear_error() {
    for (status, want) in [
        ("413 Payload Too Large", "too large (HTTP 413"),
        ("400 Bad Request", "malformed (HTTP 400)"),
    ] {
        let ctx = TestContext::new(bins!());
        let key = MasterKey::generate();
        let link = honest_but_for_objects(&ctx, &key, move |stream| {
            answer(
                stream,
                status,
                "text/plain",
                b"\x1b[31mforged\nhint: run rm -rf\n",
            );
        });
        let ran = run(ctx.follower_cmd().args(["follower", "join", &link]));
        assert_eq!(ran.code, 7, "{}", ran.stderr);
        assert!(ran.stderr.contains(want), "{}", ran.stderr);
        assert!(!ran.stderr.contains("forged"), "{}", ran.stderr);
    }
}

// ---- nothing unsigned reaches a log or the terminal ----

/// What a forger writes where a fingerprint goes: a second log line and a colour escape.
const FORGED: &str = "SHA256:x\napplied seq 999 \u{1b}[31mred";

#[test]
fn unverified_text_reaches_neither_the_log_nor_the_terminal() {
    for v2 in [false, true] {
        unverified_text(v2);
    }
}

/// The join reads v1; in the phases after it, a v2 master serves its forged document as a
/// tree root (signed by another key, so nothing of its tree is ever fetched).
fn unverified_text(v2: bool) {
    let ctx = TestContext::new(bins!());
    let key = MasterKey::generate();
    let other = MasterKey::generate();
    let phase = Arc::new(AtomicUsize::new(0));
    let honest_meta = meta(&key, &key.fingerprint);
    let honest = revision(1, &key.fingerprint).sign(&key).to_bytes();
    // Phase 1: signed by another key, claiming anything. Phase 2: also signed by another key,
    // and `/v1/meta` presents that key (under a forged fingerprint text).
    let forged = revision(2, FORGED).sign(&other).to_bytes();
    let scratch = tempfile::tempdir().unwrap();
    let forged_root = codexport_core::tree::build(
        &revision(2, FORGED),
        &codexport_core::store::ObjectStore::new(scratch.path()),
        &other,
    )
    .unwrap()
    .signed;
    let other_meta = meta(&other, FORGED);
    let hash = sha256_hex(CONTENT);
    let current = phase.clone();
    raw_http::serve(ctx.port, move |request, stream| {
        let phase = current.load(Ordering::SeqCst);
        if request.is("GET", "/v2/root") {
            if v2 && phase > 0 {
                answer(stream, "200 OK", "application/json", &forged_root);
            } else {
                answer(stream, "404 Not Found", "text/plain", b"");
            }
        } else if request.is("GET", "/v1/meta") {
            let body = if phase == 2 {
                &other_meta
            } else {
                &honest_meta
            };
            answer(stream, "200 OK", "application/json", body);
        } else if request.is("GET", "/v1/revision") {
            let body = if phase == 0 { &honest } else { &forged };
            answer(stream, "200 OK", "application/json", body);
        } else {
            let frame = fake_master::frame(&hash, CONTENT);
            answer(stream, "200 OK", "application/x-codexport-objects", &frame);
        }
    });
    output(
        ctx.follower_cmd()
            .args(["follower", "join", &link_to(ctx.port, &key), "--apply"]),
        0,
    );

    phase.store(1, Ordering::SeqCst);
    let ran = run(ctx.follower_cmd().args(["sync", "--apply"]));
    assert_eq!(ran.code, 3, "{}", ran.stderr);
    assert!(ran.stderr.contains("does not verify"), "{}", ran.stderr);
    assert!(!ran.stderr.contains("trust-reset"), "{}", ran.stderr);
    assert_transcript!("unverified_revision", ran);
    output(ctx.follower_cmd().args(["sync", "--apply", "--hook"]), 0);

    phase.store(2, Ordering::SeqCst);
    let ran = run(ctx.follower_cmd().args(["sync", "--apply"]));
    assert_eq!(ran.code, 3, "{}", ran.stderr);
    assert!(
        ran.stderr
            .contains(&format!("presents `{}`", other.fingerprint)),
        "{}",
        ran.stderr
    );
    output(ctx.follower_cmd().args(["sync", "--apply", "--hook"]), 0);

    for text in [
        &ran.stderr,
        &fs::read_to_string(ctx.follower.tool.join("logs/hook.log")).unwrap(),
    ] {
        assert!(!text.contains("applied seq 999"), "{text}");
        assert!(!text.contains('\u{1b}'), "{text}");
    }
    let log = fs::read_to_string(ctx.follower.tool.join("logs/hook.log")).unwrap();
    assert_eq!(log.lines().count(), 2, "{log}");
    assert!(log.lines().all(|l| l.contains(" failed: ")), "{log}");
}

#[test]
fn a_meta_without_a_key_is_reported_without_its_text() {
    let ctx = TestContext::new(bins!());
    let key = MasterKey::generate();
    let body = serde_json::json!({
        "protocol": 1,
        "fingerprint": FORGED,
        "public_key": FORGED,
        "seq": 1,
        "revision": FORGED,
    })
    .to_string()
    .into_bytes();
    raw_http::serve(ctx.port, move |_, stream| {
        answer(stream, "200 OK", "application/json", &body);
    });
    let ran = run(ctx
        .follower_cmd()
        .args(["follower", "join", &link_to(ctx.port, &key)]));
    assert_eq!(ran.code, 7, "{}", ran.stderr);
    assert!(!ran.stderr.contains("999"), "{}", ran.stderr);
    assert!(!ran.stderr.contains('\u{1b}'), "{}", ran.stderr);
    assert_transcript!("meta_without_a_key", ran);
}

// ---- join links and `--master` ----

#[test]
fn malformed_links_and_master_urls_are_refused_before_any_connection() {
    let ctx = TestContext::new(bins!());
    let key = MasterKey::generate();
    let connections = raw_http::serve(ctx.port, |_, stream| {
        answer(stream, "404 Not Found", "text/plain", b"");
    });
    let port = ctx.port;
    let good = link_to(port, &key);
    let with_host = |host: &str| good.replace("host=127.0.0.1", &format!("host={host}"));
    let long_host = "a".repeat(60 * 1024);
    let links = [
        with_host("127.0.0.1/"),
        with_host("127.0.0.1#"),
        with_host("127.0.0.1?"),
        with_host("user@127.0.0.1"),
        with_host(&format!("127.0.0.1:{port}")),
        with_host(&format!("127.0.0.1%3A{port}")),
        with_host("127.0.0.1\r\n"),
        with_host("127.0.0.1%0D%0A"),
        with_host("127.0.0.1%00"),
        with_host("127.0.0.1%20"),
        with_host("127.0.0.1;"),
        with_host(&long_host),
        good.replace("token=t", "token=t%0D%0AX-Forged:%201"),
    ];
    for link in &links {
        let ran = run(ctx.follower_cmd().args(["follower", "join", link]));
        assert_eq!(ran.code, 7, "{link:?}: {}", ran.stderr);
        assert!(
            ran.stderr.starts_with("error: malformed join link: "),
            "{link:?}: {}",
            ran.stderr
        );
        assert!(ran.stderr.len() < 1000, "{}", ran.stderr);
    }
    let base = format!("http://127.0.0.1:{port}");
    let masters = [
        format!("{base}/x"),
        format!("{base}#"),
        format!("{base}?"),
        format!("http://user@127.0.0.1:{port}"),
        format!("{base}:{port}"),
        format!("{base}\r\n"),
        format!("{base};"),
        format!("http://{long_host}:{port}"),
        format!("127.0.0.1:{port}"),
    ];
    for master in &masters {
        let ran = run(ctx.follower_cmd().args([
            "follower",
            "join",
            "--master",
            master,
            "--fingerprint",
            &key.fingerprint,
            "--token",
            "t",
        ]));
        assert_eq!(ran.code, 7, "{master:?}: {}", ran.stderr);
        assert!(
            ran.stderr
                .starts_with("error: malformed join link: `--master`"),
            "{master:?}: {}",
            ran.stderr
        );
    }
    let ran = run(ctx.follower_cmd().args([
        "follower",
        "join",
        "--master",
        &base,
        "--fingerprint",
        &key.fingerprint,
        "--token",
        "t\r\nX-Forged: 1",
    ]));
    assert_eq!(ran.code, 7, "{}", ran.stderr);
    assert_transcript!(
        "link_host_with_a_port",
        run(ctx.follower_cmd().args(["follower", "join", &links[4]]))
    );
    assert_eq!(
        connections.load(Ordering::SeqCst),
        0,
        "a connection was made"
    );
}

// ---- the master, under hostile peers ----

/// Opens `n` connections to `port` from `from` (a loopback address) that send half a request
/// head and stop there.
fn half_open(port: u16, from: &str, n: usize) -> Vec<TcpStream> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let to: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let from: SocketAddr = format!("{from}:0").parse().unwrap();
    (0..n)
        .map(|_| {
            runtime.block_on(async {
                let socket = tokio::net::TcpSocket::new_v4().unwrap();
                socket.bind(from).unwrap();
                let stream = socket.connect(to).await.unwrap();
                let mut stream = stream.into_std().unwrap();
                stream.set_nonblocking(false).unwrap();
                // A peer the server already closed cannot take the bytes; that is the point.
                let _ = stream.write_all(b"GET /v1/meta HTTP/1.1\r\nHost: x\r\n");
                stream
            })
        })
        .collect()
}

fn token_of(link: &str) -> String {
    let start = link.find("token=").unwrap() + "token=".len();
    let end = start + link[start..].find('&').unwrap();
    link[start..end].to_owned()
}

#[test]
fn half_open_connections_from_an_allowed_peer_do_not_starve_a_follower() {
    let mut ctx = TestContext::new(bins!());
    ctx.master.write_codex("AGENTS.md", "be kind\n");
    ctx.start_master_with(&["--no-watch"]);
    let link = ctx.link("f");
    let held = half_open(ctx.port, "127.0.0.1", 150);
    // The follower joins (meta, revision, objects) within a one-second budget.
    output(
        ctx.follower_cmd()
            .args(["follower", "join", &link, "--timeout", "1s", "--apply"]),
        0,
    );
    assert_eq!(ctx.follower.read_codex("AGENTS.md"), "be kind\n");
    drop(held);

    // `POST /v1/objects`: one object twice, or past the cap, is refused with a clear body.
    let client = reqwest::blocking::Client::new();
    let url = format!("{}/v1/objects", ctx.master_url());
    let hash = sha256_hex(b"be kind\n");
    let post = |objects: Vec<String>| {
        client
            .post(&url)
            .bearer_auth(token_of(&link))
            .json(&serde_json::json!({ "objects": objects }))
            .send()
            .unwrap()
    };
    // The request of the issue: one object 2000 times (136 KB).
    let flood = post(vec![hash.clone(); 2000]);
    assert_eq!(flood.status(), 413);
    assert_eq!(
        flood.text().unwrap(),
        "the request body is larger than 131072 bytes\n"
    );
    let twice = post(vec![hash.clone(); 2]);
    assert_eq!(twice.status(), 400);
    assert_eq!(
        twice.text().unwrap(),
        format!("object `{hash}` is asked for twice\n")
    );
    let many = post((0..1025).map(|i| format!("{i:064x}")).collect());
    assert_eq!(many.status(), 413);
    assert_eq!(
        many.text().unwrap(),
        "1025 objects asked for; at most 1024 per request\n"
    );
}

#[test]
fn a_refused_peer_is_closed_at_once_and_does_not_starve_a_follower() {
    let mut ctx = TestContext::new(bins!());
    ctx.master.write_codex("AGENTS.md", "be kind\n");
    output(ctx.master_cmd().args(["master", "init"]), 0);
    fs::write(
        ctx.master.tool.join("master.toml"),
        "allow = [\"127.0.0.1/32\"]\n",
    )
    .unwrap();
    ctx.start_master_with(&["--no-watch"]);
    let link = ctx.link("f");
    let start = Instant::now();
    let mut held = half_open(ctx.port, "127.0.0.2", 150);
    let mut answered = 0;
    for stream in &mut held {
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        // Until the server closes: end of stream, or a reset (it closed with our half
        // request unread).
        let mut bytes = Vec::new();
        let mut buf = [0u8; 512];
        loop {
            match stream.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => bytes.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
                Err(e) => panic!("the refused connection stayed open: {e}"),
            }
        }
        // The fixed 403, or nothing when too many refusals were pending at once.
        let answer = String::from_utf8(bytes).unwrap();
        assert!(
            answer.is_empty()
                || answer.starts_with("HTTP/1.1 403 Forbidden\r\n")
                    && answer.ends_with("\r\n\r\npeer address not in the allow list\n"),
            "{answer}"
        );
        answered += usize::from(!answer.is_empty());
    }
    assert!(answered > 0, "no refused peer was told why");
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    output(
        ctx.follower_cmd()
            .args(["follower", "join", &link, "--timeout", "1s"]),
        0,
    );
    for stream in &held {
        let _ = stream.shutdown(Shutdown::Both);
    }
}
