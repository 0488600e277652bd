//! The wasm plugin host driven with the real example plugins (built here for wasm32-wasip2),
//! a loopback GitHub fixture, and hostile plugins that must be stopped and named.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use codexport_core::Homes;
use codexport_core::mcp::manifest::{Artifact, ArtifactSpec, McpEntry};
use codexport_core::store::ObjectStore;
use codexport_resolvers::plan::{ArchiveKind, Step};
use codexport_resolvers::platform::Libc;
use codexport_resolvers::wasm::{HostConfig, Limits, PluginHost, WasmResolver};
use codexport_resolvers::{
    Error, GithubConfig, InferContext, Mode, Platform, ResolveContext, Resolver, SourceLimits,
};
use codexport_test_support::example_plugin;
use codexport_test_support::github::{FixtureAsset, ReleaseFixture};
use codexport_test_support::mcp::{mcp_entry, sha256};

/// What every `fff-mcp` asset of the fixture holds.
const FFF: &[u8] = b"fff";
const SIBLING: &str = "0000000000000000000000000000000000000000000000000000000000000abc";
const FFF_REPO: &str = "dmtrKovalenko/fff.nvim";

/// A loopback GitHub: releases of `dmtrKovalenko/fff.nvim` with an API digest (v0.4.2,
/// latest), a `.sha256` sibling (v0.4.0), and no digest at all (v0.3.0).
fn github() -> ReleaseFixture {
    let github = ReleaseFixture::start();
    let linux = "fff-mcp-x86_64-unknown-linux-gnu";
    github.publish(
        FFF_REPO,
        "v0.4.0",
        vec![
            FixtureAsset::undigested(linux, FFF.to_vec()),
            FixtureAsset::undigested(
                &format!("{linux}.sha256"),
                format!("{SIBLING}  {linux}\n").into_bytes(),
            ),
        ],
    );
    github.publish(
        FFF_REPO,
        "v0.3.0",
        vec![FixtureAsset::undigested(linux, FFF.to_vec())],
    );
    github.publish(
        FFF_REPO,
        "v0.4.2",
        vec![
            FixtureAsset::new(linux, FFF.to_vec()),
            FixtureAsset::new("fff-mcp-aarch64-apple-darwin", FFF.to_vec()),
        ],
    );
    github
}

/// Temp homes with the given plugins installed under the names given.
struct Setup {
    _dir: tempfile::TempDir,
    homes: Homes,
    host: Arc<PluginHost>,
    github: ReleaseFixture,
}

fn setup(plugins: &[(&Path, &str)], limits: Limits) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let homes = Homes::new(
        dir.path().join("home"),
        dir.path().join("home/.codex"),
        dir.path().join("home/.codexport"),
    );
    std::fs::create_dir_all(homes.resolvers()).unwrap();
    for (file, name) in plugins {
        std::fs::copy(file, homes.resolvers().join(format!("{name}.wasm"))).unwrap();
    }
    let github = github();
    let mut config = HostConfig::new(
        &homes,
        GithubConfig {
            api_base: github.base.clone(),
            token: None,
        },
    );
    config.limits = limits;
    Setup {
        host: Arc::new(PluginHost::new(config)),
        homes,
        _dir: dir,
        github,
    }
}

fn quick() -> Limits {
    Limits {
        memory: 64 * 1024 * 1024,
        guest_time: Duration::from_millis(300),
    }
}

/// An entry no resolver has claimed yet, as a master's inference sees it.
fn entry(name: &str, command: &str) -> McpEntry {
    McpEntry {
        command: Some(command.to_owned()),
        args: vec!["--stdio".to_owned()],
        env: BTreeMap::from([("SECRET".to_owned(), "never shown".to_owned())]),
        ..mcp_entry(
            name,
            Artifact::Unresolved {
                reason: String::new(),
                hint: String::new(),
            },
        )
    }
}

fn linux() -> Platform {
    Platform {
        os: "linux".into(),
        arch: "x86_64".into(),
        libc: Some(Libc::Gnu),
        triples: vec![
            "x86_64-unknown-linux-gnu".into(),
            "x86_64-unknown-linux-musl".into(),
        ],
    }
}

impl Setup {
    fn infer(
        &self,
        resolver: &WasmResolver,
        entry: &McpEntry,
    ) -> Result<Option<ArtifactSpec>, Error> {
        let env = BTreeMap::from([("PATH".to_owned(), String::new())]);
        let store = ObjectStore::new(self.homes.objects());
        let cx = InferContext {
            homes: &self.homes,
            env: &env,
            store: &store,
            source_limits: SourceLimits::default(),
            include_secret_files: &BTreeMap::new(),
            notes: &Default::default(),
        };
        resolver.infer(&cx, entry)
    }

    fn resolve(
        &self,
        resolver: &WasmResolver,
        entry: &McpEntry,
        spec: &ArtifactSpec,
        platform: Platform,
    ) -> Result<codexport_resolvers::Resolution, Error> {
        let cx = ResolveContext {
            homes: self.homes.clone(),
            platform,
            mode: Mode::Online,
            github: GithubConfig {
                api_base: self.github.base.clone(),
                token: None,
            },
            store: ObjectStore::new(self.homes.objects()),
            artifacts: self.homes.mcp_artifacts(),
        };
        resolver.resolve(&cx, entry, spec)
    }

    fn find(&self, name: &str) -> WasmResolver {
        let resolver = self.host.find(name).expect("installed");
        resolver.info().expect("loads");
        resolver
    }
}

fn spec(resolver: &str, spec: serde_json::Value) -> ArtifactSpec {
    ArtifactSpec {
        resolver: resolver.to_owned(),
        spec,
        objects: Vec::new(),
    }
}

#[test]
fn github_binaries_pins_the_latest_release_and_plans_a_verified_download() {
    let s = setup(
        &[(&example_plugin("github_binaries"), "github_binaries")],
        Limits::default(),
    );
    let resolver = s.find("github_binaries");
    assert_eq!(resolver.name(), "github_binaries");
    assert_eq!(resolver.info().unwrap().api, "0.1.0");

    let fff = entry("fff", "/opt/fff/bin/fff-mcp");
    let inferred = s.infer(&resolver, &fff).unwrap().expect("fff-mcp is known");
    assert_eq!(inferred.resolver, "github_binaries");
    assert_eq!(
        inferred.spec,
        serde_json::json!({
            "repo": "dmtrKovalenko/fff.nvim",
            "tag": "v0.4.2",
            "asset": "fff-mcp-{triple}{exe}",
            "bin": "fff-mcp",
        })
    );
    assert_eq!(
        s.infer(&resolver, &entry("other", "/usr/bin/node"))
            .unwrap(),
        None
    );

    let r = s.resolve(&resolver, &fff, &inferred, linux()).unwrap();
    assert_eq!(r.version, "v0.4.2");
    assert_eq!(
        r.plan.steps,
        vec![
            Step::Download {
                url: s
                    .github
                    .download_url(FFF_REPO, "v0.4.2", "fff-mcp-x86_64-unknown-linux-gnu"),
                sha256: Some(sha256(FFF)),
                archive: ArchiveKind::Raw,
                strip: 0,
                dest: "bin/fff-mcp".to_owned(),
            },
            Step::MakeExecutable {
                path: "bin/fff-mcp".to_owned()
            },
        ]
    );
    assert_eq!(r.plan.launch.program, "${artifact}/bin/fff-mcp");
    assert_eq!(r.plan.launch.args, ["--stdio"]);
}

#[test]
fn release_digests_come_from_sha256_siblings_and_are_required() {
    let s = setup(
        &[(&example_plugin("github_binaries"), "github_binaries")],
        Limits::default(),
    );
    let resolver = s.find("github_binaries");
    let fff = entry("fff", "/opt/fff-mcp");
    let pinned = |tag: &str| {
        spec(
            "github_binaries",
            serde_json::json!({"repo": "dmtrKovalenko/fff.nvim", "tag": tag, "asset": "fff-mcp-{triple}", "bin": "fff-mcp"}),
        )
    };
    let r = s
        .resolve(&resolver, &fff, &pinned("v0.4.0"), linux())
        .unwrap();
    let Step::Download { sha256, .. } = &r.plan.steps[0] else {
        panic!("download first")
    };
    assert_eq!(sha256.as_deref(), Some(SIBLING));

    let err = s
        .resolve(&resolver, &fff, &pinned("v0.3.0"), linux())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("github_binaries") && err.contains("no digest"),
        "{err}"
    );

    let windows_arm = Platform {
        os: "windows".into(),
        arch: "aarch64".into(),
        libc: None,
        triples: vec!["aarch64-pc-windows-msvc".into()],
    };
    let err = s
        .resolve(&resolver, &fff, &pinned("v0.4.2"), windows_arm)
        .unwrap_err();
    assert!(matches!(err, Error::NoMatchingAsset { .. }), "{err}");
    assert!(
        err.to_string().contains("fff-mcp-aarch64-apple-darwin"),
        "candidates listed: {err}"
    );
}

#[test]
fn cargo_git_reads_the_install_record_next_to_the_binary() {
    let s = setup(
        &[(&example_plugin("cargo_git"), "cargo_git")],
        Limits::default(),
    );
    let resolver = s.find("cargo_git");
    let cargo_home = s.homes.user.join(".cargo");
    std::fs::create_dir_all(cargo_home.join("bin")).unwrap();
    std::fs::write(cargo_home.join("bin/gitquarry"), "#!/bin/sh\n").unwrap();
    std::fs::write(
        cargo_home.join(".crates2.json"),
        r#"{"installs": {"gitquarry 0.3.0 (git+https://github.com/o/gitquarry?branch=main#0123abcd)": {"bins": ["gitquarry"]}}}"#,
    )
    .unwrap();
    let command = cargo_home.join("bin/gitquarry").display().to_string();
    let gq = entry("gitquarry", &command);
    let inferred = s.infer(&resolver, &gq).unwrap().expect("a git install");
    assert_eq!(
        inferred.spec,
        serde_json::json!({"crate": "gitquarry", "git": "https://github.com/o/gitquarry", "rev": "0123abcd", "bin": "gitquarry"})
    );
    let r = s.resolve(&resolver, &gq, &inferred, linux()).unwrap();
    assert_eq!(
        r.plan.steps,
        vec![Step::CargoInstall {
            crate_name: "gitquarry".into(),
            version: None,
            git: Some("https://github.com/o/gitquarry".into()),
            rev: Some("0123abcd".into()),
            bin: "gitquarry".into(),
        }]
    );
    assert_eq!(r.plan.launch.program, "${artifact}/bin/gitquarry");

    // A binary straight in the home: the home itself is never readable, so no record is found.
    std::fs::create_dir_all(s.homes.user.join("bin")).unwrap();
    std::fs::write(s.homes.user.join("bin/gitquarry"), "").unwrap();
    std::fs::copy(
        cargo_home.join(".crates2.json"),
        s.homes.user.join(".crates2.json"),
    )
    .unwrap();
    let in_home = entry(
        "gq",
        &s.homes.user.join("bin/gitquarry").display().to_string(),
    );
    assert_eq!(s.infer(&resolver, &in_home).unwrap(), None);
}

#[test]
fn hostile_plugins_are_stopped_within_their_limits_and_named() {
    let s = setup(&[(&example_plugin("misbehave"), "misbehave")], quick());
    let resolver = s.find("misbehave");
    assert_eq!(resolver.info().unwrap().priority, 100);

    let err = s
        .infer(&resolver, &entry("trap", "x"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("`misbehave`") && err.contains("trapped") && err.contains("asked to trap"),
        "{err}"
    );

    let started = Instant::now();
    let err = s
        .infer(&resolver, &entry("loop", "x"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("`misbehave`") && err.contains("ran longer than its 300 ms limit"),
        "{err}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "stopped promptly"
    );

    // The memory limit must be what stops `alloc`: with the 300 ms deadline a loaded machine
    // could end it by time first, so this case gets time to spare.
    let roomy = setup(
        &[(&example_plugin("misbehave"), "misbehave")],
        Limits {
            guest_time: Duration::from_secs(60),
            ..quick()
        },
    );
    let err = roomy
        .infer(&roomy.find("misbehave"), &entry("alloc", "x"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("`misbehave`") && err.contains("64 MiB"),
        "{err}"
    );

    for (name, what) in [
        ("escape", "bin/../../../outside"),
        ("launch-escape", "${artifact}/../other/x"),
        ("absolute", "/tmp/x"),
    ] {
        let e = entry(name, "x");
        let spec = s.infer(&resolver, &e).unwrap().expect("claims it");
        let err = s
            .resolve(&resolver, &e, &spec, linux())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`misbehave`") && err.contains("refuses") && err.contains(what),
            "{name}: {err}"
        );
    }

    // The plugin still works for the next call: every call gets a fresh store.
    assert_eq!(s.infer(&resolver, &entry("fine", "x")).unwrap(), None);
}

/// A component exporting only an empty resolver instance at contract `version`.
fn empty_component(version: &str) -> Vec<u8> {
    wat::parse_str(format!(
        r#"(component
             (instance $i)
             (export "codexport:resolver/resolver@{version}" (instance $i)))"#
    ))
    .unwrap()
}

#[test]
fn broken_plugin_files_are_refused_with_their_name_and_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, bytes: &[u8]| {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    };
    let garbage = write("garbage.wasm", b"hello");
    let core = write("core.wasm", &wat::parse_str("(module)").unwrap());
    let future = write("future.wasm", &empty_component("9.0.0"));
    let mismatched = write("mismatched.wasm", &empty_component("0.1.0"));
    let s = setup(
        &[
            (&garbage, "garbage"),
            (&core, "core"),
            (&future, "future"),
            (&mismatched, "mismatched"),
            (&example_plugin("github_binaries"), "github-binaries"),
            (&example_plugin("cargo_git"), "cargo_git"),
        ],
        quick(),
    );
    let err = |name: &str| s.host.find(name).unwrap().info().unwrap_err().to_string();
    let garbage = err("garbage");
    assert!(
        garbage.contains("`garbage.wasm`") && garbage.contains("not a WebAssembly file"),
        "{garbage}"
    );
    let core = err("core");
    assert!(
        core.contains("not a component") && core.contains("wasm32-wasip2"),
        "{core}"
    );
    let future = err("future");
    assert!(
        future.contains("contract version 9.0.0") && future.contains("0.1.x"),
        "{future}"
    );
    let mismatched = err("mismatched");
    assert!(
        mismatched.contains("does not match the `codexport:resolver@0.1.0` contract"),
        "{mismatched}"
    );
    let renamed = err("github-binaries");
    assert!(
        renamed.contains("calls itself `github_binaries`")
            && renamed.contains("rename the file to `github_binaries.wasm`"),
        "{renamed}"
    );

    let names: Vec<String> = s
        .host
        .loaded_resolvers()
        .iter()
        .map(|r| r.name().to_owned())
        .collect();
    assert_eq!(names, ["cargo_git"]);
}

#[test]
fn compiled_plugins_are_cached_and_a_corrupt_cache_is_recompiled() {
    let s = setup(
        &[(&example_plugin("github_binaries"), "github_binaries")],
        quick(),
    );
    let file = s.homes.resolvers().join("github_binaries.wasm");
    s.host.load(&file).unwrap();
    let cache = s.homes.tool.join("cache/resolvers");
    let cached: Vec<PathBuf> = std::fs::read_dir(&cache)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(cached.len(), 1, "{cached:?}");
    let sha = codexport_core::store::sha256_hex(&std::fs::read(&file).unwrap());
    let name = cached[0].file_name().unwrap().to_str().unwrap().to_owned();
    assert!(name.starts_with(&sha) && name.ends_with(".cwasm"), "{name}");

    std::fs::write(&cached[0], b"not compiled code").unwrap();
    let fresh = PluginHost::new(HostConfig::new(&s.homes, GithubConfig::default()));
    assert_eq!(fresh.load(&file).unwrap().name, "github_binaries");
}
