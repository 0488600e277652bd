//! Load on the master's revision check, the request every follower's hook makes
//! (`GET /v2/root` with `If-None-Match` of the current revision, answered `304`): `N`
//! follower-like clients against one loopback `master serve` for a fixed time, each mode
//! reported as requests per second and p50/p99 latency, TLS against plain HTTP in the same run:
//! - a new connection per request (the hook's case: one process, one connection, one request);
//! - one kept-alive connection per client.
//!
//! The TLS clients check the master as a follower does (`codexport_core::tls`: the certificate
//! must hold the pinned key, the handshake is signed with it). Clients and server share the
//! machine's cores, so the figures are what one machine can do against itself.
//!
//! Run: `cargo bench --bench serve` (`BENCH_SECS` per mode, default 5; `BENCH_CLIENTS`,
//! default 8, at most the per-peer connection limit; `BENCH_FILES` in the tree, default 200).

use std::sync::Arc;
use std::time::{Duration, Instant};

use codexport_core::link::JoinLink;
use codexport_core::master::server::MAX_CONNECTIONS_PER_PEER;
use codexport_core::tls::{PinnedKey, client_config};
use codexport_test_support::{TestContext, bins, write};
use reqwest::StatusCode;
use reqwest::header::{CONNECTION, ETAG, IF_NONE_MATCH};

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

/// The master and what a follower sends it.
struct Target {
    /// `http://127.0.0.1:PORT`.
    plain: String,
    /// `https://127.0.0.1:PORT`, what a v2 link joins.
    tls: String,
    fingerprint: String,
    token: String,
    /// The current revision's ETag, sent as `If-None-Match`.
    etag: String,
}

impl Target {
    /// A follower's client for `mode`: TLS that must prove the pinned key, or plain HTTP.
    fn client(&self, mode: Mode) -> reqwest::Client {
        let mut builder = reqwest::Client::builder()
            .http1_only()
            .no_proxy()
            .timeout(Duration::from_secs(10));
        if !mode.keep_alive {
            builder = builder.pool_max_idle_per_host(0);
        }
        if mode.tls {
            let verifier = PinnedKey::new(&self.fingerprint);
            builder = builder.use_preconfigured_tls(client_config(verifier).unwrap());
        }
        builder.build().unwrap()
    }

    fn url(&self, mode: Mode) -> String {
        let base = if mode.tls { &self.tls } else { &self.plain };
        format!("{base}/v2/root")
    }

    /// The hook's request, once; anything but a `304` ends the bench.
    async fn check(&self, client: &reqwest::Client, url: &str, mode: Mode) {
        let mut request = client
            .get(url)
            .bearer_auth(&self.token)
            .header(IF_NONE_MATCH, &self.etag);
        if !mode.keep_alive {
            // The server closes after answering: each request opens its own connection.
            request = request.header(CONNECTION, "close");
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{}: {url}: {e}", mode.name()));
        assert_eq!(response.status(), StatusCode::NOT_MODIFIED, "{url}");
        response.bytes().await.unwrap();
    }
}

/// `clients` clients, each asking as soon as it has its answer, for `secs`.
fn measure(
    runtime: &tokio::runtime::Runtime,
    target: &Arc<Target>,
    mode: Mode,
    clients: usize,
    secs: u64,
) -> Measured {
    let url = target.url(mode);
    let (mut samples, elapsed) = runtime.block_on(async {
        // Every client asks once before the clock starts (a kept-alive connection is open).
        let mut each = Vec::new();
        for _ in 0..clients {
            let client = target.client(mode);
            target.check(&client, &url, mode).await;
            each.push(client);
        }
        let start = Instant::now();
        let end = start + Duration::from_secs(secs);
        let tasks: Vec<_> = each
            .into_iter()
            .map(|client| {
                let (target, url) = (target.clone(), url.clone());
                tokio::spawn(async move {
                    let mut samples = Vec::new();
                    while Instant::now() < end {
                        let t = Instant::now();
                        target.check(&client, &url, mode).await;
                        samples.push(t.elapsed());
                    }
                    samples
                })
            })
            .collect();
        let mut all = Vec::new();
        for task in tasks {
            all.extend(task.await.unwrap());
        }
        (all, start.elapsed())
    });
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
    let tls = link.master_url();
    assert!(tls.starts_with("https://"), "{tls}: a v2 link is TLS");
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
    let target = Arc::new(Target {
        plain,
        tls,
        fingerprint: link.fingerprint.clone(),
        token: link.token.clone(),
        etag,
    });
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(clients.min(cores))
        .enable_all()
        .build()
        .unwrap();
    println!(
        "tree: {files} files; {clients} clients, {secs} s per mode, each `GET /v2/root` with If-None-Match (304); clients and master share {cores} cores"
    );
    let mut rows = Vec::new();
    for keep_alive in [false, true] {
        let mut pair = Vec::new();
        for tls in [false, true] {
            let mode = Mode { tls, keep_alive };
            let m = measure(&runtime, &target, mode, clients, secs);
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
