//! Sync benchmarks, each reported against a baseline measured in the same run:
//! - rebuild after one changed file in a generated tree, full and as the watcher does it
//!   (only the reported path re-read; baseline: a cold rebuild);
//! - bytes and time of a first join and of a sync after one changed file, protocol v1 and v2
//!   on the same tree (ratios v2/v1), counted by the server (`/v1/stats`), and that a sync
//!   with nothing new is one `304` in both;
//! - the hook path, `codexport sync --apply --hook` (what `hook install` has Codex run) with
//!   nothing new, over plain HTTP (a v1 link) and over TLS (a v2 link) to the same master
//!   (ratio TLS/plain; baseline: `codexport --version`, the cost of starting the process at all).
//!
//! Run: `cargo bench --bench sync` (a 100 MB / 10k-file tree; `BENCH_FILES` and `BENCH_MB`
//! make it smaller; `BENCH_ROUNDS`, default 3, of the joins and deltas).

use std::fs;
use std::time::{Duration, Instant};

use codexport_core::master::publish::Publisher;
use codexport_core::master::server::Stats;
use codexport_core::mcp::export::PlainExport;
use codexport_test_support::{TestContext, bins, output, write};

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Deterministic, incompressible-looking printable bytes.
fn content(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            b' ' + (x % 94) as u8
        })
        .collect()
}

fn rel(i: usize) -> String {
    format!("skills/bench/d{:03}/f{i:05}.md", i % 100)
}

/// One protocol's joins and deltas over the rounds: what the server counted in the last
/// round, and the time of each.
struct Rounds {
    protocol: &'static str,
    stats: Option<(Stats, Stats)>,
    joins: Vec<Duration>,
    deltas: Vec<Duration>,
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Makes the follower speak v1 (the bench compares both).
const PROTOCOL_ENV: &str = codexport_core::env::PROTOCOL;
/// What `hook install` has Codex run at every session start.
const HOOK: [&str; 3] = ["sync", "--apply", "--hook"];

/// The master's URL as a link of either version stores it in `local.toml`: `https://` for a v2
/// (TLS) link, `http://` for a v1 (plain) one.
fn link_url(ctx: &TestContext, tls: bool) -> String {
    codexport_core::link::master_url("127.0.0.1", ctx.port, tls)
}

/// What the server sent so far.
fn stats(ctx: &TestContext, token: &str) -> Stats {
    reqwest::blocking::Client::new()
        .get(format!("{}/v1/stats", ctx.master_url()))
        .bearer_auth(token)
        .send()
        .unwrap()
        .json()
        .unwrap()
}

trait Total {
    fn total(&self) -> u64;
}

impl Total for Stats {
    /// Every body byte: documents and objects (nodes are among the objects).
    fn total(&self) -> u64 {
        self.object_bytes + self.revision_bytes + self.root_bytes
    }
}

fn main() {
    let files = env_or("BENCH_FILES", 10_000);
    let total = env_or("BENCH_MB", 100) * 1_000_000;
    let size = total / files;
    let mut ctx = TestContext::new(bins!());
    for i in 0..files {
        write(&ctx.master.codex.join(rel(i)), content(i as u64, size));
    }
    println!(
        "tree: {files} files of {size} bytes ({:.1} MB)",
        (files * size) as f64 / 1e6
    );
    output(ctx.master_cmd().args(["master", "init"]), 0);

    // Rebuild, in process (what the watcher runs).
    let master = ctx.master.homes();
    let start = Instant::now();
    let mut publisher = Publisher::new(
        &master,
        &codexport_core::settings::MasterSettings::default(),
        std::sync::Arc::new(PlainExport),
    )
    .unwrap();
    publisher.rebuild().unwrap();
    let cold = start.elapsed();
    let unchanged = median(
        (0..5)
            .map(|_| {
                let t = Instant::now();
                assert!(!publisher.rebuild().unwrap().changed);
                t.elapsed()
            })
            .collect(),
    );
    let one = median(
        (0..7)
            .map(|n| {
                ctx.master
                    .write_codex(&rel(n * 7), content(1_000 + n as u64, size));
                let t = Instant::now();
                let rebuilt = publisher.rebuild().unwrap();
                let elapsed = t.elapsed();
                assert!(rebuilt.changed);
                assert_eq!(rebuilt.rehashed, 1);
                elapsed
            })
            .collect(),
    );
    let watched = median(
        (0..7)
            .map(|n| {
                let path = ctx
                    .master
                    .write_codex(&rel(n * 11 + 3), content(2_000 + n as u64, size));
                let t = Instant::now();
                let rebuilt = publisher.rebuild_changed(&[path]).unwrap();
                let elapsed = t.elapsed();
                assert!(rebuilt.changed);
                elapsed
            })
            .collect(),
    );
    assert!(
        !publisher.rebuild().unwrap().changed,
        "the watcher path missed nothing"
    );
    drop(publisher);
    println!("rebuild, cold (baseline):       {:8.1} ms", ms(cold));
    println!(
        "rebuild, nothing changed:       {:8.1} ms  ({:.3}x cold)",
        ms(unchanged),
        ms(unchanged) / ms(cold)
    );
    println!(
        "rebuild, 1 file changed:        {:8.1} ms  ({:.3}x cold; target <= 50 ms)",
        ms(one),
        ms(one) / ms(cold)
    );
    println!(
        "watcher rebuild, 1 file changed: {:7.1} ms  ({:.3}x cold; target <= 50 ms)",
        ms(watched),
        ms(watched) / ms(cold)
    );

    // First join and one changed file, v1 then v2 on the same tree, counted by the server,
    // `BENCH_ROUNDS` rounds alternating (times: medians; a join's time is mostly the disk's
    // fsyncs, which vary run to run). Each step restarts the master, so its counters start at
    // zero.
    let rounds = env_or("BENCH_ROUNDS", 3).max(1);
    let mut results = ["1", "2"].map(|protocol| Rounds {
        protocol,
        stats: None,
        joins: Vec::new(),
        deltas: Vec::new(),
    });
    for (round, index) in (0..rounds).flat_map(|r| [(r, 0), (r, 1)]) {
        let protocol = results[index].protocol;
        let file = files / 2 + 2 * round + index;
        let _ = fs::remove_dir_all(&ctx.follower.tool);
        let _ = fs::remove_dir_all(&ctx.follower.codex);
        fs::create_dir_all(&ctx.follower.codex).unwrap();
        ctx.start_master_with(&["--no-watch"]);
        // Each join starts with nothing left to write back (the one before wrote 100 MB and
        // its follower was just deleted), so the later protocol does not pay for the earlier.
        #[cfg(unix)]
        unsafe {
            libc::sync()
        };
        let link = ctx.link(&format!("bench-v{protocol}"));
        let token = link
            .split("token=")
            .nth(1)
            .unwrap()
            .split('&')
            .next()
            .unwrap()
            .to_owned();
        let t = Instant::now();
        output(
            ctx.follower_cmd()
                .env(PROTOCOL_ENV, protocol)
                .args(["follower", "join", &link, "--apply"]),
            0,
        );
        let join_time = t.elapsed();
        let join = stats(&ctx, &token);
        ctx.stop_master();
        let changed = content(99_000 + file as u64, size);
        ctx.master.write_codex(&rel(file), &changed);
        output(ctx.master_cmd().args(["master", "rebuild"]), 0);
        ctx.start_master_with(&["--no-watch"]);
        let t = Instant::now();
        output(
            ctx.follower_cmd()
                .env(PROTOCOL_ENV, protocol)
                .args(["sync", "--apply"]),
            0,
        );
        let delta_time = t.elapsed();
        assert_eq!(ctx.follower.read_codex(&rel(file)).as_bytes(), &changed[..]);
        let delta = stats(&ctx, &token);
        // A sync with nothing new: one 304, nothing else.
        output(
            ctx.follower_cmd()
                .env(PROTOCOL_ENV, protocol)
                .args(["sync", "--apply", "-q"]),
            0,
        );
        let idle = stats(&ctx, &token);
        assert_eq!(idle.not_modified, delta.not_modified + 1, "v{protocol}");
        assert_eq!(
            idle.total(),
            delta.total(),
            "v{protocol}: a no-change sync sent a body"
        );
        if protocol == "2" && round + 1 == rounds {
            // Left running for the hook path below.
        } else {
            ctx.stop_master();
        }
        let result = &mut results[index];
        result.stats = Some((join, delta));
        result.joins.push(join_time);
        result.deltas.push(delta_time);
    }
    let results = results.map(|r| {
        let (join, delta) = r.stats.expect("every protocol ran");
        (r.protocol, join, median(r.joins), delta, median(r.deltas))
    });
    println!("join and delta times: medians of {rounds} rounds");
    for (protocol, join, join_time, delta, delta_time) in &results {
        println!(
            "v{protocol} first join:                {:8} bytes ({} objects, {} nodes, {} document) {:8.1} ms",
            join.total(),
            join.object_bytes - join.node_bytes,
            join.node_bytes,
            join.revision_bytes + join.root_bytes,
            ms(*join_time)
        );
        let limit = size as u64 + 16 * 1024;
        println!(
            "v{protocol} delta, 1 file of {size} bytes: {:8} bytes ({} objects, {} nodes, {} document) {:8.1} ms; goal <= {limit} (file + 16 KB): {}",
            delta.total(),
            delta.object_bytes - delta.node_bytes,
            delta.node_bytes,
            delta.revision_bytes + delta.root_bytes,
            ms(*delta_time),
            if delta.total() <= limit { "ok" } else { "OVER" }
        );
    }
    let (_, v1_join, v1_join_time, v1_delta, v1_delta_time) = &results[0];
    let (_, v2_join, v2_join_time, v2_delta, v2_delta_time) = &results[1];
    println!(
        "v2 / v1: first join {:.3}x bytes, {:.3}x time; delta {:.4}x bytes, {:.3}x time",
        v2_join.total() as f64 / v1_join.total() as f64,
        ms(*v2_join_time) / ms(*v1_join_time),
        v2_delta.total() as f64 / v1_delta.total() as f64,
        ms(*v2_delta_time) / ms(*v1_delta_time),
    );

    // Hook path: the SessionStart hook's command with nothing new, as a process, against the
    // baseline of starting the process at all; over TLS (the v2 link this follower joined with)
    // and over plain HTTP (what a v1 link stores), runs alternating, the same master and state.
    let runs = 31;
    let spawn = median(
        (0..runs)
            .map(|_| {
                let t = Instant::now();
                output(ctx.follower_cmd().arg("--version"), 0);
                t.elapsed()
            })
            .collect(),
    );
    let local_toml = ctx.follower.tool.join("local.toml");
    let joined = fs::read_to_string(&local_toml).unwrap();
    let tls_url = link_url(&ctx, true);
    let plain_url = link_url(&ctx, false);
    assert!(
        joined.contains(&tls_url),
        "a v2 link stores {tls_url}:\n{joined}"
    );
    let plain_toml = joined.replace(&tls_url, &plain_url);
    let hook_log = ctx.follower.tool.join("logs/hook.log");
    let (mut tls, mut plain) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        for (toml, samples) in [(&plain_toml, &mut plain), (&joined, &mut tls)] {
            fs::write(&local_toml, toml).unwrap();
            let t = Instant::now();
            output(ctx.follower_cmd().args(HOOK), 0);
            samples.push(t.elapsed());
            // The hook always exits 0; its log line says what it did.
            let log = fs::read_to_string(&hook_log).unwrap();
            let last = log.lines().last().unwrap_or_default();
            assert!(last.contains(" up to date at seq "), "{last}");
        }
    }
    fs::write(&local_toml, &joined).unwrap();
    let (tls, plain) = (median(tls), median(plain));
    println!(
        "process start (baseline):       {:8.2} ms  (`codexport --version`, median of {runs})",
        ms(spawn)
    );
    println!(
        "hook path, nothing new, plain:  {:8.2} ms  ({:.2}x process start; v1 link, {plain_url})",
        ms(plain),
        ms(plain) / ms(spawn)
    );
    println!(
        "hook path, nothing new, TLS:    {:8.2} ms  ({:.2}x process start; v2 link; target <= 10 ms)",
        ms(tls),
        ms(tls) / ms(spawn)
    );
    println!(
        "hook path TLS / plain:          {:8.3}x",
        ms(tls) / ms(plain)
    );
    ctx.stop_master();
    let _ = fs::remove_dir_all(ctx.dir.path());
}
