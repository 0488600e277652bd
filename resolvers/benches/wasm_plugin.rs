//! Wasm plugin costs, each against a baseline measured in the same run:
//!
//! - cached plugin, fresh instance + `resolve` (the follower's cost per hydration decision),
//!   against the built-in `github-release` resolver answering the same spec natively (both ask
//!   the same loopback GitHub fixture);
//! - the same for a plugin whose `resolve` calls no host import (pure instantiate + call);
//! - first load (compile + write the `.cwasm`) against a load from the `.cwasm` cache.
//!
//! Run: `cargo bench -p codexport-resolvers --bench wasm_plugin` (builds the example plugins
//! for wasm32-wasip2 first). `BENCH_ITERS=N` changes the number of resolve calls (default 200).

use std::sync::Arc;
use std::time::{Duration, Instant};

use codexport_core::Homes;
use codexport_core::mcp::manifest::{Artifact, ArtifactSpec, McpEntry};
use codexport_core::store::ObjectStore;
use codexport_resolvers::builtin::GithubReleaseResolver;
use codexport_resolvers::platform::Libc;
use codexport_resolvers::wasm::{HostConfig, PluginHost};
use codexport_resolvers::{GithubConfig, Mode, Platform, ResolveContext, Resolver};
use codexport_test_support::example_plugins_dir;
use codexport_test_support::github::{FixtureAsset, ReleaseFixture};
use codexport_test_support::mcp::mcp_entry;

fn main() {
    let iters: usize = std::env::var("BENCH_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let plugins = example_plugins_dir();
    let fixture = ReleaseFixture::start();
    fixture.publish(
        "o/fff",
        "v1.0.0",
        vec![
            FixtureAsset::new("fff-mcp-x86_64-unknown-linux-gnu", b"a".to_vec()),
            FixtureAsset::new("fff-mcp-aarch64-apple-darwin", b"b".to_vec()),
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let homes = Homes::new(
        dir.path(),
        dir.path().join(".codex"),
        dir.path().join(".codexport"),
    );
    std::fs::create_dir_all(homes.resolvers()).unwrap();
    for name in ["github_binaries", "cargo_git"] {
        std::fs::copy(
            plugins.join(format!("{name}.wasm")),
            homes.resolvers().join(format!("{name}.wasm")),
        )
        .unwrap();
    }
    let github = GithubConfig {
        api_base: fixture.base.clone(),
        token: None,
    };
    let cx = ResolveContext {
        homes: homes.clone(),
        platform: Platform {
            os: "linux".into(),
            arch: "x86_64".into(),
            libc: Some(Libc::Gnu),
            triples: vec!["x86_64-unknown-linux-gnu".into()],
        },
        mode: Mode::Online,
        github: github.clone(),
        store: ObjectStore::new(homes.objects()),
        artifacts: homes.mcp_artifacts(),
    };
    let entry = McpEntry {
        command: Some("/opt/fff-mcp".into()),
        ..mcp_entry(
            "fff",
            Artifact::Unresolved {
                reason: String::new(),
                hint: String::new(),
            },
        )
    };
    let release = serde_json::json!({"repo": "o/fff", "tag": "v1.0.0", "asset": "fff-mcp-{triple}", "bin": "fff-mcp"});
    let spec = |resolver: &str, spec: serde_json::Value| ArtifactSpec {
        resolver: resolver.into(),
        spec,
        objects: Vec::new(),
    };
    let plugin_spec = spec("github_binaries", release.clone());
    let builtin_spec = spec("github-release", release);
    let git_spec = spec(
        "cargo_git",
        serde_json::json!({"crate": "gq", "git": "https://example.invalid/gq", "rev": "abc", "bin": "gq"}),
    );

    // First load (compile) against a load from the cache, each in a fresh host.
    let file = homes.resolvers().join("github_binaries.wasm");
    let mut compile = Vec::new();
    let mut cached = Vec::new();
    for round in 0..5 {
        let mut config = HostConfig::new(&homes, github.clone());
        config.cache = dir.path().join(format!("cache-{round}"));
        let start = Instant::now();
        PluginHost::new(config.clone()).load(&file).unwrap();
        compile.push(start.elapsed());
        let start = Instant::now();
        PluginHost::new(config).load(&file).unwrap();
        cached.push(start.elapsed());
    }

    let host = Arc::new(PluginHost::new(HostConfig::new(&homes, github)));
    let plugin = host.find("github_binaries").unwrap();
    let git = host.find("cargo_git").unwrap();
    plugin.resolve(&cx, &entry, &plugin_spec).unwrap();
    git.resolve(&cx, &entry, &git_spec).unwrap();
    GithubReleaseResolver
        .resolve(&cx, &entry, &builtin_spec)
        .unwrap();

    // Alternate the two so drift on a shared machine hits both alike.
    let (mut wasm, mut native, mut pure) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..iters {
        let start = Instant::now();
        plugin.resolve(&cx, &entry, &plugin_spec).unwrap();
        wasm.push(start.elapsed());
        let start = Instant::now();
        GithubReleaseResolver
            .resolve(&cx, &entry, &builtin_spec)
            .unwrap();
        native.push(start.elapsed());
        let start = Instant::now();
        git.resolve(&cx, &entry, &git_spec).unwrap();
        pure.push(start.elapsed());
    }

    let (wasm, native, pure) = (median(wasm), median(native), median(pure));
    let (compile, cached) = (median(compile), median(cached));
    println!("wasm plugin benchmark ({iters} resolves, medians)");
    println!(
        "  github_binaries: instantiate + resolve (cached plugin, loopback GitHub)  {:>9.3} ms",
        ms(wasm)
    );
    println!(
        "  built-in github-release resolve, same spec and fixture (baseline)       {:>9.3} ms   plugin/built-in = {:.2}x",
        ms(native),
        ratio(wasm, native)
    );
    println!(
        "  cargo_git: instantiate + resolve, no host calls                         {:>9.3} ms",
        ms(pure)
    );
    println!(
        "  first load: compile github_binaries.wasm + write .cwasm                 {:>9.3} ms",
        ms(compile)
    );
    println!(
        "  load from the .cwasm cache (baseline)                                   {:>9.3} ms   compile/cached = {:.1}x",
        ms(cached),
        ratio(compile, cached)
    );
    let budget = Duration::from_millis(5);
    println!(
        "  target: cached instantiate + resolve <= 5 ms: {}",
        if wasm <= budget { "met" } else { "MISSED" }
    );
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64().max(1e-9)
}
