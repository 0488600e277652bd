//! MCP helpers: the one manifest writer and entry builder, packed sources in a follower's tool
//! home, tiny real MCP servers, archives, and the launcher driven through the probe client.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
#[cfg(feature = "launcher")]
use std::time::Duration;

use codexport_core::mcp::manifest::{
    Artifact, ArtifactSpec, MANIFEST_VERSION, MasterPaths, McpEntry, McpManifest, Origin, Transport,
};
#[cfg(feature = "launcher")]
use codexport_launcher::probe::{ProbeCommand, ProbeError, ProbeReport, probe};
use serde_json::Value;

use crate::{Home, Ran, run};

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

/// Writes `mcp-manifest.json` into `home`'s tool home with `entries`, mode 0600 as apply
/// writes it, as if a master at `/home/master` had exported them.
pub fn write_manifest(home: &Home, entries: Vec<McpEntry>) {
    let manifest = McpManifest {
        version: MANIFEST_VERSION,
        master: MasterPaths {
            os: std::env::consts::OS.into(),
            home: "/home/master".into(),
            codex_home: "/home/master/.codex".into(),
        },
        entries,
    };
    let path = home.tool.join("mcp-manifest.json");
    codexport_core::fsx::write_secret(&path, &serde_json::to_vec_pretty(&manifest).unwrap())
        .unwrap();
}

/// A stdio MCP entry with `artifact` (what a master's inference would have written); its
/// `command` is never run on a follower.
pub fn mcp_entry(name: &str, artifact: Artifact) -> McpEntry {
    McpEntry {
        name: name.into(),
        transport: Transport::Stdio,
        command: Some("unused-on-followers".into()),
        args: Vec::new(),
        env: BTreeMap::new(),
        cwd: None,
        url: None,
        extra: serde_json::Map::new(),
        artifact,
        origin: Origin::Canonical,
    }
}

/// A resolved artifact of `resolver` with `spec`.
pub fn resolved(resolver: &str, spec: Value) -> Artifact {
    Artifact::Resolved(ArtifactSpec {
        resolver: resolver.into(),
        spec,
        objects: Vec::new(),
    })
}

/// Shorthand: [`mcp_entry`] resolved by `resolver` with `spec`.
pub fn entry(name: &str, resolver: &str, spec: Value) -> McpEntry {
    mcp_entry(name, resolved(resolver, spec))
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
    let mut cmd = Command::new(&home.bins.launcher);
    home.apply_env(&mut cmd);
    cmd.args(["mcp", "run", name]);
    cmd
}

/// Runs the launcher for `name` with stdin closed (a server then exits at once).
pub fn run_launcher(home: &Home, name: &str) -> Ran {
    run(&mut launcher(home, name))
}

/// Shakes hands with `name` through the launcher, as Codex would start it.
#[cfg(feature = "launcher")]
pub fn probe_launcher(
    home: &Home,
    name: &str,
    timeout: Duration,
) -> Result<ProbeReport, ProbeError> {
    probe(&probe_command(home, name).timeout(timeout))
}

/// The probe command that starts `name` through the launcher in `home`.
#[cfg(feature = "launcher")]
pub fn probe_command(home: &Home, name: &str) -> ProbeCommand {
    use codexport_core::env;
    ProbeCommand::new(home.bins.launcher.clone(), ["mcp", "run", name])
        .env(env::HOME, &home.user)
        .env(env::USERPROFILE, &home.user)
        .env(env::CODEX_HOME, &home.codex)
        .env(env::CODEXPORT_HOME, &home.tool)
        .env(env::NO_COLOR, "1")
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

/// The regular files of a gzip tar as (path, bytes), sorted by path.
pub fn tar_gz_files(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(bytes));
    let mut files: Vec<(String, Vec<u8>)> = archive
        .entries()
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.header().entry_type().is_file())
        .map(|mut e| {
            let path = e.path().unwrap().to_string_lossy().into_owned();
            let mut body = Vec::new();
            std::io::Read::read_to_end(&mut e, &mut body).unwrap();
            (path, body)
        })
        .collect();
    files.sort();
    files
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
