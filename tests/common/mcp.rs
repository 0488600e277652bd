//! MCP helpers for end-to-end tests: hand-written manifests and packed sources in a follower's
//! tool home, tiny real MCP servers, a GitHub release fixture on loopback, and the launcher
//! driven through the probe client.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use codexport_launcher::probe::{ProbeCommand, ProbeError, ProbeReport, probe};
use serde_json::{Value, json};

use super::{Home, Ran, launcher_bin, run};

/// A stdio MCP server in POSIX sh: `serverInfo.name` is `$SERVER_NAME` (default `sh`), the
/// tools are its arguments plus `$EXTRA_TOOL` when set. Answers by id, one line each.
pub const SH_SERVER: &str = r#"#!/bin/sh
name="${SERVER_NAME:-sh}"
tools=""
for t in "$@" $EXTRA_TOOL; do tools="$tools{\"name\":\"$t\",\"inputSchema\":{\"type\":\"object\"}},"; done
tools="${tools%,}"
while IFS= read -r line; do
  id=$(printf '%s' "$line" | sed -n 's/.*"id":\([0-9]*\).*/\1/p')
  case "$line" in
    *'"initialize"'*) printf '{"jsonrpc":"2.0","id":%s,"result":{"protocolVersion":"2025-06-18","capabilities":{"tools":{}},"serverInfo":{"name":"%s","version":"1.0.0"}}}\n' "$id" "$name" ;;
    *'"tools/list"'*) printf '{"jsonrpc":"2.0","id":%s,"result":{"tools":[%s]}}\n' "$id" "$tools" ;;
  esac
done
"#;

/// A stdio MCP server in plain Node.js (no dependencies): tools `node_echo` plus its args.
pub const NODE_SERVER: &str = r#"const readline = require('readline');
const rl = readline.createInterface({ input: process.stdin });
const tools = ['node_echo', ...process.argv.slice(2)];
rl.on('line', (line) => {
  if (!line.trim()) return;
  const msg = JSON.parse(line);
  const reply = (result) => process.stdout.write(JSON.stringify({ jsonrpc: '2.0', id: msg.id, result }) + '\n');
  if (msg.method === 'initialize') {
    reply({ protocolVersion: '2025-06-18', capabilities: { tools: {} }, serverInfo: { name: 'local-node', version: '0.1.0' } });
  } else if (msg.method === 'tools/list') {
    reply({ tools: tools.map((name) => ({ name, inputSchema: { type: 'object' } })) });
  }
});
"#;

/// Writes `mcp-manifest.json` (0600) into `home`'s tool home with these entries, as a master
/// at `/home/master` would have exported them.
pub fn write_manifest(home: &Home, entries: Vec<Value>) {
    let doc = json!({
        "version": 1,
        "master": {"os": "linux", "home": "/home/master", "codex_home": "/home/master/.codex"},
        "entries": entries,
    });
    let path = home.tool.join("mcp-manifest.json");
    super::write(&path, serde_json::to_vec_pretty(&doc).unwrap());
}

/// A stdio entry resolved by `resolver` with `spec`.
pub fn entry(name: &str, resolver: &str, spec: Value) -> Value {
    json!({
        "name": name,
        "transport": "stdio",
        "command": "original-command",
        "artifact": {"state": "resolved", "resolver": resolver, "spec": spec},
    })
}

/// Packs `dir` as the `source` resolver expects (gzip tar, paths relative to the root), stores
/// it in `home`'s object store and returns its hash.
pub fn put_packed_tree(home: &Home, dir: &Path) -> String {
    let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::default(),
    ));
    builder.follow_symlinks(false);
    builder.append_dir_all(".", dir).unwrap();
    let bytes = builder.into_inner().unwrap().finish().unwrap();
    put_object(home, &bytes)
}

/// Stores bytes in `home`'s object store.
pub fn put_object(home: &Home, bytes: &[u8]) -> String {
    codexport_core::store::ObjectStore::new(home.tool.join("objects"))
        .put(bytes)
        .unwrap()
}

/// The launcher command for `name` with `home`'s environment (stdin closed).
pub fn launcher(home: &Home, name: &str) -> Command {
    let mut cmd = Command::new(launcher_bin());
    home.apply_env(&mut cmd);
    cmd.args(["mcp", "run", name]);
    cmd
}

/// Runs the launcher for `name` with stdin closed (a server then exits at once).
pub fn run_launcher(home: &Home, name: &str) -> Ran {
    run(&mut launcher(home, name))
}

/// Shakes hands with `name` through the launcher, as Codex would start it.
pub fn probe_launcher(
    home: &Home,
    name: &str,
    timeout: Duration,
) -> Result<ProbeReport, ProbeError> {
    probe(&probe_command(home, name).timeout(timeout))
}

/// The probe command that starts `name` through the launcher in `home`.
pub fn probe_command(home: &Home, name: &str) -> ProbeCommand {
    ProbeCommand::new(launcher_bin(), ["mcp", "run", name])
        .env("HOME", &home.user)
        .env("USERPROFILE", &home.user)
        .env("CODEX_HOME", &home.codex)
        .env("CODEXPORT_HOME", &home.tool)
        .env("NO_COLOR", "1")
}

/// Every `.ready` marker under the tool home's artifacts.
pub fn ready_markers(home: &Home) -> Vec<PathBuf> {
    walk(&home.tool.join("mcp-artifacts"))
        .into_iter()
        .filter(|p| p.file_name().is_some_and(|n| n == ".ready"))
        .collect()
}

/// Every file of the machine (user home, which holds both homes) outside `mcp-artifacts`,
/// with its bytes: equal before and after means nothing else was touched.
pub fn outside_artifacts(home: &Home) -> BTreeMap<PathBuf, Vec<u8>> {
    let artifacts = home.tool.join("mcp-artifacts");
    walk(&home.user)
        .into_iter()
        .filter(|p| !p.starts_with(&artifacts))
        .map(|p| {
            let bytes = fs::read(&p).unwrap_or_default();
            (p, bytes)
        })
        .collect()
}

fn walk(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = fs::read_dir(root) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let kind = entry.file_type().unwrap();
        if kind.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// A gzip tar with `members` (path, mode, bytes).
pub fn tar_gz(members: &[(&str, u32, &[u8])]) -> Vec<u8> {
    let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::default(),
    ));
    for (path, mode, bytes) in members {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(*mode);
        header.set_entry_type(tar::EntryType::Regular);
        builder.append_data(&mut header, path, *bytes).unwrap();
    }
    builder.into_inner().unwrap().finish().unwrap()
}

/// A gzip tar whose only member is named `../escape` (the tar crate refuses to write such a
/// name through its checked setters, so the header is filled in by hand).
pub fn escaping_tar_gz() -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(1);
    header.set_mode(0o644);
    header.set_entry_type(tar::EntryType::Regular);
    let name = b"../escape";
    header.as_gnu_mut().unwrap().name[..name.len()].copy_from_slice(name);
    header.set_cksum();
    builder.append(&header, &b"x"[..]).unwrap();
    let tar = builder.into_inner().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&tar).unwrap();
    gz.finish().unwrap()
}

/// Lowercase hex SHA-256.
pub fn sha256(bytes: &[u8]) -> String {
    codexport_core::store::sha256_hex(bytes)
}

/// One release asset the fixture serves.
#[derive(Clone)]
pub struct FixtureAsset {
    /// File name.
    pub name: String,
    /// Bytes served.
    pub bytes: Vec<u8>,
    /// Whether the API answer carries GitHub's `digest` for it.
    pub digest: bool,
}

impl FixtureAsset {
    /// An asset with GitHub's `digest`.
    pub fn new(name: &str, bytes: Vec<u8>) -> Self {
        Self {
            name: name.to_owned(),
            bytes,
            digest: true,
        }
    }

    /// An asset without `digest` (verified through a sibling or a checksum list).
    pub fn undigested(name: &str, bytes: Vec<u8>) -> Self {
        Self {
            digest: false,
            ..Self::new(name, bytes)
        }
    }
}

#[derive(Default)]
struct FixtureState {
    /// `owner/name@tag` → assets.
    releases: Mutex<BTreeMap<String, Vec<FixtureAsset>>>,
    downloads: Mutex<BTreeMap<String, usize>>,
    api_calls: AtomicUsize,
    rate_limited: AtomicBool,
}

/// GitHub's release API on 127.0.0.1: `/repos/{o}/{r}/releases/tags/{tag}` answers with
/// `tag_name` and `assets[]` (`name`, `browser_download_url`, `digest`), and
/// `/download/{o}/{r}/{tag}/{name}` serves the bytes and counts downloads.
pub struct ReleaseFixture {
    /// `http://127.0.0.1:PORT`, the API base to configure.
    pub base: String,
    state: Arc<FixtureState>,
    _runtime: tokio::runtime::Runtime,
}

impl ReleaseFixture {
    /// Starts the fixture on a free loopback port.
    pub fn start() -> Self {
        use axum::Router;
        use axum::extract::{Path as UrlPath, State};
        use axum::http::{HeaderMap, StatusCode};
        use axum::response::{IntoResponse, Response};
        use axum::routing::get;

        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(FixtureState::default());

        async fn release(
            State((state, base)): State<(Arc<FixtureState>, String)>,
            UrlPath((owner, repo, tag)): UrlPath<(String, String, String)>,
        ) -> Response {
            state.api_calls.fetch_add(1, Ordering::SeqCst);
            if state.rate_limited.load(Ordering::SeqCst) {
                let mut headers = HeaderMap::new();
                headers.insert("x-ratelimit-remaining", "0".parse().unwrap());
                headers.insert("x-ratelimit-reset", "9999999999".parse().unwrap());
                return (StatusCode::FORBIDDEN, headers, "API rate limit exceeded").into_response();
            }
            let key = format!("{owner}/{repo}@{tag}");
            let releases = state.releases.lock().unwrap();
            let Some(assets) = releases.get(&key) else {
                return (StatusCode::NOT_FOUND, "Not Found").into_response();
            };
            let assets: Vec<Value> = assets
                .iter()
                .map(|a| {
                    let mut v = json!({
                        "name": a.name,
                        "browser_download_url": format!("{base}/download/{owner}/{repo}/{tag}/{}", a.name),
                        "size": a.bytes.len(),
                    });
                    if a.digest {
                        v["digest"] = json!(format!("sha256:{}", sha256(&a.bytes)));
                    }
                    v
                })
                .collect();
            axum::Json(json!({"tag_name": tag, "assets": assets})).into_response()
        }

        async fn download(
            State((state, _)): State<(Arc<FixtureState>, String)>,
            UrlPath((owner, repo, tag, name)): UrlPath<(String, String, String, String)>,
        ) -> Response {
            let key = format!("{owner}/{repo}@{tag}");
            let releases = state.releases.lock().unwrap();
            let Some(asset) = releases
                .get(&key)
                .and_then(|assets| assets.iter().find(|a| a.name == name))
            else {
                return (StatusCode::NOT_FOUND, "Not Found").into_response();
            };
            *state.downloads.lock().unwrap().entry(name).or_default() += 1;
            asset.bytes.clone().into_response()
        }

        let app = Router::new()
            .route("/repos/{owner}/{repo}/releases/tags/{tag}", get(release))
            .route("/download/{owner}/{repo}/{tag}/{name}", get(download))
            .with_state((state.clone(), base.clone()));
        runtime.spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self {
            base,
            state,
            _runtime: runtime,
        }
    }

    /// Publishes release `tag` of `repo` with `assets`.
    pub fn publish(&self, repo: &str, tag: &str, assets: Vec<FixtureAsset>) {
        self.state
            .releases
            .lock()
            .unwrap()
            .insert(format!("{repo}@{tag}"), assets);
    }

    /// How often asset `name` was downloaded.
    pub fn downloads(&self, name: &str) -> usize {
        self.state
            .downloads
            .lock()
            .unwrap()
            .get(name)
            .copied()
            .unwrap_or(0)
    }

    /// Makes the API answer 403 with an exhausted rate limit (or answer normally again).
    pub fn set_rate_limited(&self, on: bool) {
        self.state.rate_limited.store(on, Ordering::SeqCst);
    }

    /// How many API calls were made.
    pub fn api_calls(&self) -> usize {
        self.state.api_calls.load(Ordering::SeqCst)
    }

    /// The environment that points codexport at this fixture.
    pub fn env(&self) -> [(&'static str, String); 1] {
        [("CODEXPORT_GITHUB_API_URL", self.base.clone())]
    }
}
