//! Sync benchmarks, each reported against a baseline measured in the same run:
//! - rebuild after one changed file in a generated tree, full and as the watcher does it
//!   (only the reported path re-read; baseline: a cold rebuild);
//! - bytes a follower receives after one changed file (baseline: the first full transfer),
//!   counted by the server (`/v1/stats`);
//! - the hook path, `codexport sync --apply` with nothing new (baseline: `codexport --version`,
//!   the cost of starting the process at all).
//!
//! Run: `cargo bench --bench sync` (a 100 MB / 10k-file tree; `BENCH_FILES` and `BENCH_MB`
//! make it smaller).

use std::fs;
use std::time::{Duration, Instant};

use codexport_core::master::publish::Publisher;
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

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn stats(ctx: &TestContext, token: &str) -> (u64, u64) {
    let v: serde_json::Value = reqwest::blocking::Client::new()
        .get(format!("{}/v1/stats", ctx.master_url()))
        .bearer_auth(token)
        .send()
        .unwrap()
        .json()
        .unwrap();
    (
        v["object_bytes"].as_u64().unwrap(),
        v["revision_bytes"].as_u64().unwrap(),
    )
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

    // Delta bytes, counted by the server.
    ctx.start_master_with(&["--no-watch"]);
    let link = ctx.link("bench");
    let token = link
        .split("token=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .to_owned();
    output(
        ctx.follower_cmd()
            .args(["follower", "join", &link, "--apply"]),
        0,
    );
    let (full_objects, full_revision) = stats(&ctx, &token);
    ctx.stop_master();
    let changed = content(99_999, size);
    ctx.master.write_codex(&rel(files / 2), &changed);
    output(ctx.master_cmd().args(["master", "rebuild"]), 0);
    ctx.start_master_with(&["--no-watch"]);
    output(ctx.follower_cmd().args(["sync", "--apply"]), 0);
    assert_eq!(
        ctx.follower.read_codex(&rel(files / 2)).as_bytes(),
        &changed[..]
    );
    let (objects, revision) = stats(&ctx, &token);
    let limit = changed.len() as f64 * 1.05 + revision as f64;
    println!(
        "first join (baseline):          {:8} bytes ({full_objects} objects + {full_revision} revision)",
        full_objects + full_revision
    );
    println!(
        "delta, 1 file of {size} bytes:  {:8} bytes ({objects} objects + {revision} revision; {:.4}x first join; limit {:.0}: {})",
        objects + revision,
        (objects + revision) as f64 / (full_objects + full_revision) as f64,
        limit,
        if (objects + revision) as f64 <= limit {
            "ok"
        } else {
            "OVER"
        }
    );

    // Hook path: a no-change `sync --apply`, as a process, against the baseline of
    // starting the process at all.
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
    let hook = median(
        (0..runs)
            .map(|_| {
                let t = Instant::now();
                output(ctx.follower_cmd().args(["sync", "--apply", "-q"]), 0);
                t.elapsed()
            })
            .collect(),
    );
    println!(
        "process start (baseline):       {:8.2} ms  (`codexport --version`, median of {runs})",
        ms(spawn)
    );
    println!(
        "hook path, nothing new:         {:8.2} ms  ({:.2}x process start; target <= 10 ms)",
        ms(hook),
        ms(hook) / ms(spawn)
    );
    ctx.stop_master();
    let _ = fs::remove_dir_all(ctx.dir.path());
}
