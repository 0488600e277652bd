//! `npx codexport` end to end against a real npm registry on loopback: the packages that
//! scripts/npm-pack.sh makes from a static x86_64 build are published to verdaccio (installed by
//! scripts/setup.sh into `.tools/verdaccio`, started here on 127.0.0.1 with no uplink), then a
//! fresh follower home whose PATH has node and npm but no cargo or rustc runs
//! `npx -y codexport@VERSION --version`, `follower join LINK --apply` (from a cold npm cache,
//! timed: the `figure:` line) and `hook install` against a loopback master; the apply installed
//! the very binaries npx ran into `~/.codexport/bin`, and the hook runs that copy and still syncs
//! after the npx cache is deleted.
//!
//! The binaries: `CODEXPORT_NPM_DIST` names a dist/ directory from scripts/dist.sh holding the
//! x86_64-unknown-linux-musl build (.ci/run builds one); without it this test builds one itself
//! (dev profile, into `<target>/npm-dist`: 19 minutes cold on 2 busy cores, a few once its
//! dependencies are built). Needs the npm registry once,
//! for setup's verdaccio install.

#![cfg(all(target_os = "linux", target_arch = "x86_64"))]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use codexport_core::env;
use codexport_test_support::{Home, TestContext, bins, free_port, output};

/// A dist/ directory (scripts/dist.sh's layout) with the x86_64-unknown-linux-musl binaries.
const CODEXPORT_NPM_DIST: &str = "CODEXPORT_NPM_DIST";
const TARGET: &str = "x86_64-unknown-linux-musl";
const VERSION: &str = env!("CARGO_PKG_VERSION");
/// node, npm, npx and a shell, without rustup's cargo and rustc (they live in ~/.cargo/bin).
const FOLLOWER_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The dist/ directory to pack: `CODEXPORT_NPM_DIST`, or a dev build of our own.
fn dist_dir() -> PathBuf {
    if let Some(dist) = std::env::var_os(CODEXPORT_NPM_DIST) {
        return PathBuf::from(dist);
    }
    // <target>/<profile>/deps/<test>-HASH; built beside the test's target dir, never inside
    // it (cargo may hold that one's lock).
    let exe = std::env::current_exe().unwrap();
    let root = exe.ancestors().nth(3).unwrap().join("npm-dist");
    let dist = root.join("dist");
    let out = Command::new("bash")
        .arg(repo().join("scripts/dist.sh"))
        .args(["--profile", "dev", "--target", TARGET, "--out"])
        .arg(&dist)
        .env("CARGO_TARGET_DIR", root.join("target"))
        .env("CARGO_INCREMENTAL", "0")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .output()
        .expect("bash runs");
    assert!(
        out.status.success(),
        "scripts/dist.sh --profile dev --target {TARGET} failed (is the target installed? \
         `bash scripts/setup.sh`):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    dist
}

/// verdaccio on a loopback port, storage in `dir`, stopped on drop.
struct Registry {
    url: String,
    child: Child,
    log: PathBuf,
}

impl Registry {
    fn start(dir: &Path) -> Self {
        let main = repo().join(".tools/verdaccio/node_modules/verdaccio/bin/verdaccio");
        assert!(
            main.is_file(),
            "verdaccio is not installed at {} (run `bash scripts/setup.sh`)",
            main.display()
        );
        std::fs::create_dir_all(dir).unwrap();
        let config = dir.join("config.yaml");
        std::fs::write(
            &config,
            format!(
                "storage: {storage}\n\
                 auth:\n  htpasswd:\n    file: {htpasswd}\n\
                 uplinks: {{}}\n\
                 packages:\n  '**':\n    access: $all\n    publish: $authenticated\n\
                 max_body_size: 1gb\n\
                 web:\n  enable: false\n\
                 log: {{ type: stdout, format: pretty, level: warn }}\n",
                storage = dir.join("storage").display(),
                htpasswd = dir.join("htpasswd").display(),
            ),
        )
        .unwrap();
        let port = free_port();
        let log = dir.join("verdaccio.log");
        let child = Command::new("node")
            .arg(main)
            .arg("--config")
            .arg(&config)
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(Stdio::from(
                std::fs::File::options().append(true).open(&log).unwrap(),
            ))
            .spawn()
            .unwrap();
        let mut registry = Self {
            url: format!("http://127.0.0.1:{port}"),
            child,
            log,
        };
        registry.wait_ready();
        registry
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn wait_ready(&mut self) {
        let client = reqwest::blocking::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("verdaccio exited with {status}:\n{}", self.log());
            }
            let ping = client
                .get(format!("{}/-/ping", self.url))
                .timeout(Duration::from_secs(2))
                .send();
            if ping.is_ok_and(|r| r.status().is_success()) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "verdaccio never answered:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Registers a user (what `npm adduser` does) and returns an npmrc line with its token.
    fn npmrc_with_token(&self) -> String {
        let name = "codexport-test";
        let answer: serde_json::Value = reqwest::blocking::Client::new()
            .put(format!("{}/-/user/org.couchdb.user:{name}", self.url))
            .json(&serde_json::json!({
                "_id": format!("org.couchdb.user:{name}"),
                "name": name,
                "password": "codexport-test-password",
                "type": "user",
                "roles": [],
            }))
            .send()
            .unwrap()
            .error_for_status()
            .unwrap()
            .json()
            .unwrap();
        let token = answer["token"].as_str().expect("a token");
        let host = self.url.trim_start_matches("http:");
        format!("registry={}/\n{host}/:_authToken={token}\n", self.url)
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `npx -y --registry URL codexport@VERSION ARGS...` as `home`, with nothing but node and npm
/// on PATH and a clean environment.
fn npx(home: &Home, registry: &Registry, args: &[&str]) -> Command {
    let mut cmd = Command::new("npx");
    cmd.env_clear();
    home.apply_env(&mut cmd);
    cmd.env(env::PATH, FOLLOWER_PATH)
        .env(env::NO_BACKGROUND_HYDRATE, "1")
        .env("npm_config_update_notifier", "false")
        .env("npm_config_fund", "false")
        .env("npm_config_audit", "false")
        .current_dir(&home.user)
        .args(["-y", "--registry", &registry.url])
        .arg(format!("codexport@{VERSION}"))
        .args(args);
    cmd
}

#[test]
fn npx_codexport_joins_and_its_hook_outlives_the_npx_cache() {
    for tool in ["cargo", "rustc"] {
        let found = FOLLOWER_PATH
            .split(':')
            .map(|dir| Path::new(dir).join(tool))
            .find(|p| p.exists());
        assert!(
            found.is_none(),
            "{found:?}: the follower's PATH must not hold {tool}"
        );
    }
    let dist = dist_dir();
    let mut ctx = TestContext::new(bins!());
    let work = ctx.dir.path().join("npm");

    // Pack and publish: the platform package first, then `codexport` that depends on it.
    let packed = output(
        Command::new("bash")
            .arg(repo().join("scripts/npm-pack.sh"))
            .arg("--dist")
            .arg(&dist)
            .arg("--out")
            .arg(work.join("packages"))
            .args(["--platform", "linux-x64"]),
        0,
    );
    let tarballs: Vec<&str> = packed.stdout.lines().collect();
    assert_eq!(tarballs.len(), 2, "{}", packed.stdout);
    assert!(tarballs[0].ends_with(&format!("codexport-linux-x64-{VERSION}.tgz")));
    assert!(tarballs[1].ends_with(&format!("codexport-{VERSION}.tgz")));
    let registry = Registry::start(&work.join("registry"));
    let publisher = work.join("publisher");
    std::fs::create_dir_all(&publisher).unwrap();
    std::fs::write(publisher.join(".npmrc"), registry.npmrc_with_token()).unwrap();
    for tarball in &tarballs {
        output(
            Command::new("npm")
                .args(["publish", tarball, "--access", "public"])
                .env("HOME", &publisher)
                .env("npm_config_userconfig", publisher.join(".npmrc"))
                .env("npm_config_cache", publisher.join(".npm"))
                .current_dir(&publisher),
            0,
        );
    }

    // The master: something to sync, served on loopback.
    ctx.master.write_codex("AGENTS.md", "# from the master\n");
    ctx.start_master();
    let link = ctx.link("npx");
    let follower = ctx.follower.clone();
    let npm_home = follower.user.join(".npm");

    let version = output(&mut npx(&follower, &registry, &["--version"]), 0);
    assert_eq!(version.stdout, format!("codexport {VERSION}\n"));

    // The first join from a cold npm cache, as a new follower runs it.
    std::fs::remove_dir_all(&npm_home).unwrap();
    let started = Instant::now();
    output(
        &mut npx(
            &follower,
            &registry,
            &["follower", "join", &link, "--apply"],
        ),
        0,
    );
    let wall = started.elapsed();
    // The README's figure (Install); nextest shows it (.config/nextest.toml).
    eprintln!(
        "figure: npx first join wall time (cold npm cache, loopback registry and master): {} ms",
        wall.as_millis()
    );
    assert_eq!(follower.read_codex("AGENTS.md"), "# from the master\n");
    // The apply installed the binaries npx ran (the static build, from npx's cache) into
    // ~/.codexport/bin.
    let shipped = dist.join(format!("codexport-{VERSION}-{TARGET}"));
    for bin in ["codexport", "codexport-mcp-run"] {
        assert!(
            std::fs::read(follower.tool.join("bin").join(bin)).ok()
                == Some(std::fs::read(shipped.join(bin)).unwrap()),
            "~/.codexport/bin/{bin} is not the {TARGET} build npx ran"
        );
    }
    let record: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(follower.tool.join("bin/installed.json")).unwrap(),
    )
    .unwrap();
    let source = record["source"].as_str().unwrap_or_default();
    assert!(
        Path::new(source).starts_with(npm_home.join("_npx")),
        "the installed copies came from `{source}`, not npx's cache"
    );
    output(&mut npx(&follower, &registry, &["hook", "install"]), 0);

    // The hook runs a stable copy, not the npx cache's binary.
    let hooks: serde_json::Value =
        serde_json::from_str(&follower.read_codex("hooks.json")).unwrap();
    let command = hooks["hooks"]["SessionStart"][0]["hooks"][0]["command"]
        .as_str()
        .unwrap_or_else(|| panic!("no SessionStart hook command in {hooks}"))
        .to_owned();
    assert!(
        command.contains(&follower.tool.join("bin").display().to_string()),
        "the hook must run the copy in ~/.codexport/bin: {command}"
    );
    assert!(!command.contains(".npm"), "{command}");

    // npm prunes its npx cache: the hook must not care.
    std::fs::remove_dir_all(&npm_home).unwrap();
    let hook_log = follower.tool.join("logs/hook.log");
    let before = std::fs::read_to_string(&hook_log).unwrap_or_default();
    let mut hook = Command::new("sh");
    hook.env_clear();
    follower.apply_env(&mut hook);
    output(
        hook.env(env::PATH, FOLLOWER_PATH)
            .args(["-c", &command])
            .current_dir(&follower.user),
        0,
    );
    let log = std::fs::read_to_string(&hook_log).unwrap();
    let line = log[before.len()..].trim_end();
    assert!(
        line.contains("up to date at seq"),
        "the hook after the npx cache was deleted logged `{line}`"
    );
}
