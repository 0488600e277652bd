//! Launcher benchmarks: time to answer `initialize` + `tools/list` (the probe client), median
//! of alternating runs, each against a baseline measured in the same run:
//! - a hydrated server through `codexport-mcp-run` vs the same server exec'd directly
//!   (the launcher's added cost; target ≤ 3 ms), for a shell server from a GitHub release
//!   fixture and a local node source;
//! - npm `@modelcontextprotocol/server-everything` through the launcher vs `npx -y PKG` with a
//!   warm cache (target ≤ 0.4×);
//! - uv `mcp-server-time` through the launcher vs `uvx PKG` with a warm cache (target ≤ 0.6×).
//!
//! Run: `cargo bench --bench launcher` (`BENCH_RUNS=N`, default 21; `BENCH_OFFLINE=1` skips
//! the npm and uv comparisons, which need the registries for their first hydration).

use std::path::Path;
use std::time::Duration;

use codexport_launcher::probe::{ProbeCommand, probe};
use codexport_test_support::github::{FixtureAsset, ReleaseFixture};
use codexport_test_support::mcp::*;
use codexport_test_support::{Home, TestContext, bins, write};
use serde_json::json;

const NPM_PACKAGE: &str = "@modelcontextprotocol/server-everything";
const NPM_VERSION: &str = "2026.8.31";
const UV_PACKAGE: &str = "mcp-server-time";
const UV_VERSION: &str = "2026.10.19";

fn runs() -> usize {
    std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(21)
}

fn median_ms(mut samples: Vec<Duration>) -> f64 {
    samples.sort();
    samples[samples.len() / 2].as_secs_f64() * 1000.0
}

/// Alternates `a` and `b` `runs()` times (after one warm-up each) and returns their medians.
fn alternate(a: &ProbeCommand, b: &ProbeCommand) -> (f64, f64) {
    let time = |cmd: &ProbeCommand| {
        probe(cmd)
            .unwrap_or_else(|e| panic!("{:?} failed: {e}", cmd.program))
            .latency
    };
    time(a);
    time(b);
    let (mut xs, mut ys) = (Vec::new(), Vec::new());
    for _ in 0..runs() {
        xs.push(time(a));
        ys.push(time(b));
    }
    (median_ms(xs), median_ms(ys))
}

/// The launcher's start command for `name`, and the same server exec'd directly from the
/// `.ready` marker the launcher would read.
fn launcher_and_direct(
    home: &Home,
    name: &str,
    env: &[(&str, String)],
    timeout: Duration,
) -> (ProbeCommand, ProbeCommand) {
    let mut launcher = probe_command(home, name).timeout(timeout);
    for (key, value) in env {
        launcher = launcher.env(key, value);
    }
    probe(&launcher).unwrap_or_else(|e| panic!("hydrating `{name}`: {e}"));
    let marker = ready_markers(home)
        .into_iter()
        .find(|m| artifact_of(home, name, m))
        .expect("a ready artifact");
    let dir = marker.parent().unwrap();
    let ready: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&marker).unwrap()).unwrap();
    let expand = |s: &str| s.replace("${artifact}", &dir.to_string_lossy());
    let launch = &ready["launch"];
    let args: Vec<String> = launch["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| expand(a.as_str().unwrap()))
        .collect();
    let direct =
        ProbeCommand::new(expand(launch["program"].as_str().unwrap()), args).timeout(timeout);
    (launcher, direct)
}

/// Whether `marker` belongs to the entry `name` (the last-good record points at it).
fn artifact_of(home: &Home, name: &str, marker: &Path) -> bool {
    let record = home
        .tool
        .join("mcp-artifacts/.last-good")
        .join(format!("{name}.json"));
    std::fs::read_to_string(record).is_ok_and(|t| {
        let dir = marker.parent().unwrap().to_string_lossy().into_owned();
        t.contains(&dir)
    })
}

fn report(title: &str, subject: &str, ours: f64, baseline_name: &str, baseline: f64) {
    println!(
        "{title}: {subject} {ours:.1} ms, {baseline_name} {baseline:.1} ms, added {:+.1} ms, ratio {:.2}x",
        ours - baseline,
        ours / baseline
    );
}

fn main() {
    let cx = TestContext::new(bins!());
    let home = &cx.follower;
    let fixture = ReleaseFixture::start();
    let triple = codexport_resolvers::Platform::detect().triples[0].clone();
    fixture.publish(
        "bench/sh",
        "v1",
        vec![FixtureAsset::new(
            &format!("sh-server-{triple}"),
            SH_SERVER.as_bytes().to_vec(),
        )],
    );
    let node_project = cx.dir.path().join("node-project");
    write(
        &node_project.join("package.json"),
        r#"{"name": "n", "version": "1.0.0"}"#,
    );
    write(&node_project.join("index.js"), NODE_SERVER);
    let object = put_packed_tree(home, &node_project);
    let mut entries = vec![
        entry(
            "sh",
            "github-release",
            json!({"repo": "bench/sh", "tag": "v1", "bin": "sh-server", "args": ["t1", "t2"]}),
        ),
        entry(
            "node",
            "source",
            json!({"kind": "node", "object": object, "root": "/home/master/n", "entry": "index.js"}),
        ),
    ];
    let offline = std::env::var_os("BENCH_OFFLINE").is_some();
    if !offline {
        entries.push(entry(
            "everything",
            "npm",
            json!({"package": NPM_PACKAGE, "version": NPM_VERSION, "bin": "mcp-server-everything"}),
        ));
        entries.push(entry("time", "uv", json!({"package": UV_PACKAGE, "version": UV_VERSION, "from": UV_PACKAGE, "bin": "mcp-server-time"})));
    }
    write_manifest(home, entries);
    let fixture_env = fixture.env();
    println!(
        "median of {} alternating runs each, initialize + tools/list",
        runs()
    );

    let (launcher, direct) = launcher_and_direct(home, "sh", &fixture_env, Duration::from_secs(60));
    let (ours, base) = alternate(&launcher, &direct);
    report(
        "launcher overhead (sh server, github-release)",
        "launcher",
        ours,
        "direct exec",
        base,
    );

    let (launcher, direct) = launcher_and_direct(home, "node", &[], Duration::from_secs(60));
    let (ours, base) = alternate(&launcher, &direct);
    report(
        "launcher overhead (node server, source)",
        "launcher",
        ours,
        "direct exec",
        base,
    );

    if offline {
        return;
    }
    let cold = Duration::from_secs(600);
    let (launcher, _) = launcher_and_direct(home, "everything", &[], cold);
    let npx =
        ProbeCommand::new("npx", ["-y", &format!("{NPM_PACKAGE}@{NPM_VERSION}")]).timeout(cold);
    probe(&npx).expect("npx warms its cache");
    let (ours, base) = alternate(&launcher, &npx);
    report(
        "npm server-everything",
        "launcher",
        ours,
        "npx -y (warm)",
        base,
    );

    let (launcher, _) = launcher_and_direct(home, "time", &[], cold);
    let uvx = ProbeCommand::new(
        "uvx",
        ["--from", &format!("{UV_PACKAGE}=={UV_VERSION}"), UV_PACKAGE],
    )
    .timeout(cold);
    probe(&uvx).expect("uvx warms its cache");
    let (ours, base) = alternate(&launcher, &uvx);
    report("uv mcp-server-time", "launcher", ours, "uvx (warm)", base);
}
