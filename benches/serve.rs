//! Load on the master's revision check, the request every follower's hook makes
//! (`GET /v2/root` with `If-None-Match` of the current revision, answered `304`): `N`
//! follower-like clients against one loopback `master serve` for a fixed time, each mode
//! reported as requests per second and p50/p99 latency, TLS against plain HTTP in the same run:
//! - a new connection per request (the hook's case: one process, one connection, one request);
//! - one kept-alive connection per client.
//!
//! The TLS clients check the master as a follower does (`codexport_core::tls`: the certificate
//! must hold the pinned key, the handshake is signed with it). Clients and server share the
//! machine's cores, so the figures are what one machine can do against itself; the clients are
//! lean (a thread each, a prebuilt request, blocking reads) so that the cores go to the master.
//!
//! Run: `cargo bench --bench serve` (`BENCH_SECS` per mode, default 5; `BENCH_CLIENTS`,
//! default 8, at most the per-peer connection limit; `BENCH_FILES` in the tree, default 200).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use codexport_core::follower::client::VERSION_HEADER;
use codexport_core::link::JoinLink;
use codexport_core::master::server::MAX_CONNECTIONS_PER_PEER;
use codexport_core::tls::{PinnedKey, client_config};
use codexport_test_support::{TestContext, bins, write};
use reqwest::header::ETAG;
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::rustls::{ClientConfig, ClientConnection, StreamOwned};

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// How the clients reach the master.
#[derive(Debug, Clone, Copy)]
struct Mode {
    tls: bool,
    keep_alive: bool,
}

impl Mode {
    fn connection(self) -> &'static str {
        if self.keep_alive {
            "keep-alive"
        } else {
            "new connection per request"
        }
    }

    fn name(self) -> String {
        let transport = if self.tls { "TLS" } else { "plain" };
        format!("{transport}, {}", self.connection())
    }
}

/// One mode's outcome.
struct Measured {
    requests: usize,
    elapsed: Duration,
    p50: Duration,
    p99: Duration,
}

impl Measured {
    fn per_second(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }
}

/// The master and the request a follower's hook sends it.
struct Target {
    addr: SocketAddr,
    /// The follower's TLS configuration: the certificate must hold the pinned key.
    tls: Arc<ClientConfig>,
    /// `GET /v2/root` with the token and `If-None-Match` of the current revision, kept alive.
    request: Vec<u8>,
    /// The same request with `Connection: close`: the master closes after answering.
    request_close: Vec<u8>,
}

/// A client's connection to the master, plain or TLS.
enum Connection {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ClientConnection, TcpStream>>),
}

impl Connection {
    fn open(target: &Target, mode: Mode) -> Self {
        let tcp = TcpStream::connect(target.addr).unwrap();
        tcp.set_nodelay(true).unwrap();
        if !mode.tls {
            return Self::Plain(tcp);
        }
        let server = ServerName::IpAddress(target.addr.ip().into());
        let tls = ClientConnection::new(target.tls.clone(), server).unwrap();
        Self::Tls(Box::new(StreamOwned::new(tls, tcp)))
    }

    fn io(&mut self) -> &mut dyn ReadWrite {
        match self {
            Self::Plain(tcp) => tcp,
            Self::Tls(tls) => tls.as_mut(),
        }
    }
}

trait ReadWrite: Read + Write {}
impl<T: Read + Write> ReadWrite for T {}

/// The load generator's side of one request: write it, read one answer, which must be a `304`
/// (no body: the head is the whole answer). Blocking and allocation-free after the first
/// request, so that on a shared machine the cores go to the master rather than to the clients.
fn check(io: &mut dyn ReadWrite, request: &[u8], buf: &mut Vec<u8>) {
    io.write_all(request).unwrap();
    io.flush().unwrap();
    buf.clear();
    let mut chunk = [0u8; 1024];
    loop {
        let n = io.read(&mut chunk).unwrap();
        assert!(n > 0, "the master closed before answering");
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = std::str::from_utf8(&buf[..end]).unwrap();
            assert!(head.starts_with("HTTP/1.1 304 "), "not a 304:\n{head}");
            assert_eq!(end + 4, buf.len(), "a 304 with a body:\n{head}");
            return;
        }
        assert!(buf.len() < 16 * 1024, "an answer head over 16 KiB");
    }
}

/// `clients` clients, each on its own thread, asking as soon as it has its answer, for `secs`.
fn measure(target: &Target, mode: Mode, clients: usize, secs: u64) -> Measured {
    let request = if mode.keep_alive {
        &target.request
    } else {
        &target.request_close
    };
    // Every client asks once before the clock starts (a kept-alive connection is open).
    let opened: Vec<_> = (0..clients)
        .map(|_| {
            let mut conn = Connection::open(target, mode);
            check(conn.io(), request, &mut Vec::new());
            conn
        })
        .collect();
    let start = Instant::now();
    let end = start + Duration::from_secs(secs);
    let mut samples: Vec<Duration> = std::thread::scope(|scope| {
        let threads: Vec<_> = opened
            .into_iter()
            .map(|mut conn| {
                scope.spawn(move || {
                    let (mut samples, mut buf) = (Vec::new(), Vec::with_capacity(1024));
                    while Instant::now() < end {
                        let t = Instant::now();
                        if !mode.keep_alive {
                            conn = Connection::open(target, mode);
                        }
                        check(conn.io(), request, &mut buf);
                        samples.push(t.elapsed());
                    }
                    samples
                })
            })
            .collect();
        threads
            .into_iter()
            .flat_map(|t| t.join().unwrap())
            .collect()
    });
    let elapsed = start.elapsed();
    assert!(!samples.is_empty(), "{}: no request finished", mode.name());
    samples.sort();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    Measured {
        requests: samples.len(),
        elapsed,
        p50: at(0.50),
        p99: at(0.99),
    }
}

fn main() {
    let secs = env_or("BENCH_SECS", 5).max(1) as u64;
    let clients = env_or("BENCH_CLIENTS", 8).max(1);
    let files = env_or("BENCH_FILES", 200);
    assert!(
        clients <= MAX_CONNECTIONS_PER_PEER,
        "BENCH_CLIENTS={clients}: one peer address may hold at most {MAX_CONNECTIONS_PER_PEER} connections"
    );
    let mut ctx = TestContext::new(bins!());
    for i in 0..files {
        let rel = format!("skills/bench/d{:02}/f{i:04}.md", i % 10);
        write(
            &ctx.master.codex.join(rel),
            format!("file {i}\n").repeat(50),
        );
    }
    ctx.start_master_with(&["--no-watch"]);
    let link = JoinLink::parse(&ctx.link("bench")).unwrap();
    let plain = ctx.master_url();
    let etag = reqwest::blocking::Client::new()
        .get(format!("{plain}/v2/root"))
        .bearer_auth(&link.token)
        .send()
        .unwrap()
        .error_for_status()
        .unwrap()
        .headers()[ETAG]
        .to_str()
        .unwrap()
        .to_owned();
    let addr: SocketAddr = plain.trim_start_matches("http://").parse().unwrap();
    // One port serves both: a v2 link reaches the same address over TLS.
    assert_eq!(
        link.master_url(),
        format!("https://{addr}"),
        "a v2 link is TLS"
    );
    // What the hook sends (codexport_core::follower::client): its token, the ETag it holds, its
    // version.
    let request = |connection: &str| {
        format!(
            "GET /v2/root HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {}\r\n\
             if-none-match: {etag}\r\n{VERSION_HEADER}: {}\r\n{connection}\r\n",
            link.token,
            env!("CARGO_PKG_VERSION"),
        )
        .into_bytes()
    };
    let target = Target {
        addr,
        tls: Arc::new(client_config(PinnedKey::new(&link.fingerprint)).unwrap()),
        request: request(""),
        request_close: request("connection: close\r\n"),
    };
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    println!(
        "tree: {files} files; {clients} clients, {secs} s per mode, each `GET /v2/root` with If-None-Match (304); clients and master share {cores} cores"
    );
    let mut rows = Vec::new();
    for keep_alive in [false, true] {
        let mut pair = Vec::new();
        for tls in [false, true] {
            let mode = Mode { tls, keep_alive };
            let m = measure(&target, mode, clients, secs);
            println!(
                "{:<38} {:9.0} req/s  p50 {:7.3} ms  p99 {:7.3} ms  ({} requests)",
                mode.name(),
                m.per_second(),
                ms(m.p50),
                ms(m.p99),
                m.requests
            );
            pair.push(m);
        }
        rows.push((
            Mode {
                tls: false,
                keep_alive,
            },
            pair,
        ));
    }
    for (mode, pair) in &rows {
        let (plain, tls) = (&pair[0], &pair[1]);
        println!(
            "TLS / plain, {}: {:.3}x req/s, {:.3}x p50, {:.3}x p99",
            mode.connection(),
            tls.per_second() / plain.per_second(),
            ms(tls.p50) / ms(plain.p50),
            ms(tls.p99) / ms(plain.p99),
        );
    }
    let plain = &rows[1].1[0];
    let met = plain.per_second() >= 20_000.0 && plain.p99 <= Duration::from_millis(10);
    println!(
        "goal, plain keep-alive: >= 20000 req/s and p99 <= 10 ms: {}",
        if met { "ok" } else { "MISSED" }
    );
    ctx.stop_master();
}
