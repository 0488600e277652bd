//! The MCP manifest: every MCP entry of the master's config, made portable.
//!
//! The master builds it (inference lives in `codexport-resolvers`), it travels inside the
//! signed revision, and followers write it to `~/.codexport/mcp-manifest.json` (0600: it
//! holds env values) for the launcher to read.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Format version of the manifest document.
pub const MANIFEST_VERSION: u32 = 1;

/// The whole manifest.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct McpManifest {
    /// Format version ([`MANIFEST_VERSION`]).
    pub version: u32,
    /// Where the master keeps things, so followers can rewrite master paths.
    pub master: MasterPaths,
    /// One entry per MCP server, sorted by name.
    pub entries: Vec<McpEntry>,
}

/// The master's roots, as the master saw them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MasterPaths {
    /// `linux`, `windows` or `macos` (Rust's `std::env::consts::OS`).
    pub os: String,
    /// The master user's home.
    pub home: String,
    /// The master's Codex home.
    pub codex_home: String,
}

/// How Codex talks to the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    /// A child process speaking JSON-RPC on stdin/stdout (`command`).
    Stdio,
    /// Streamable HTTP (`url`).
    Http,
}

/// Where an entry came from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    /// The master's config.
    #[default]
    Canonical,
    /// The follower's `mcps.local.toml`.
    Local,
    /// A Codex plugin the master enabled (its `.mcp.json`, read from Codex's plugin cache): a
    /// follower adds the `[mcp_servers.NAME]` table the master's config does not have.
    Plugin,
}

/// One MCP server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct McpEntry {
    /// The `[mcp_servers.NAME]` key.
    pub name: String,
    /// stdio or http.
    pub transport: Transport,
    /// The original command (stdio), with the master's paths.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// The original arguments, with the master's paths.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    /// Environment values (secrets: only in the 0600 manifest, never in `config.toml`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// Working directory, with the master's paths.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
    /// The server URL (http).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Every other Codex field of the table (`startup_timeout_sec`, `enabled_tools`,
    /// `http_headers`, ...), as JSON, kept verbatim.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub extra: serde_json::Map<String, serde_json::Value>,
    /// What a follower hydrates to run it.
    pub artifact: Artifact,
    /// Canonical or local.
    #[serde(default)]
    pub origin: Origin,
}

/// The portable description of what to hydrate, or why there is none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "lowercase")]
pub enum Artifact {
    /// A resolver knows how to hydrate it.
    Resolved(ArtifactSpec),
    /// `route = "direct"` in the master's `[mcp.NAME]`: followers keep the master's command
    /// (paths mapped), with no launcher and nothing to hydrate, so an admin's requirements
    /// allowlist that pins that command still matches.
    Direct,
    /// Inference failed; the entry is still exported and fails loudly on followers.
    Unresolved {
        /// Why nothing could be inferred.
        reason: String,
        /// The repair step (usually a `[mcp.NAME]` hint in `master.toml`).
        hint: String,
    },
}

/// A resolver name and its resolver-specific spec.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArtifactSpec {
    /// The resolver that hydrates it (`npm`, `uv`, `source`, `cargo`, `github-release`,
    /// `url`, `path`, or a plugin's name).
    pub resolver: String,
    /// The resolver's own spec, opaque to the core.
    pub spec: serde_json::Value,
    /// Object-store hashes the artifact needs (packed source trees); the sync client fetches
    /// them with the revision's files.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub objects: Vec<String>,
}

impl McpManifest {
    /// The entry called `name`.
    pub fn get(&self, name: &str) -> Option<&McpEntry> {
        self.entries.iter().find(|e| e.name == name)
    }

    /// Every entry name, in manifest order.
    pub fn names(&self) -> Vec<&str> {
        self.entries.iter().map(|e| e.name.as_str()).collect()
    }

    /// Every object hash any entry's artifact needs.
    pub fn objects(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().flat_map(|e| match &e.artifact {
            Artifact::Resolved(spec) => spec.objects.iter().map(String::as_str).collect(),
            Artifact::Direct | Artifact::Unresolved { .. } => Vec::new(),
        })
    }
}

/// What replaces every secret value in [`McpEntry::masked`].
pub const MASK: &str = "****";

/// `extra` fields whose values are secrets (header values may carry tokens).
const SECRET_MAPS: &[&str] = &["http_headers"];

impl McpEntry {
    /// A copy fit to show a person: env values, `http_headers` values, secret-carrying args and
    /// URL user info replaced by [`MASK`]
    /// (the names stay, so the shape of the entry is still visible).
    pub fn masked(&self) -> McpEntry {
        let mut entry = self.clone();
        entry.args = masked_args(&entry.args);
        if let Some(url) = &mut entry.url {
            *url = masked_args(std::slice::from_ref(url)).remove(0);
        }
        for value in entry.env.values_mut() {
            *value = MASK.to_owned();
        }
        for key in SECRET_MAPS {
            if let Some(serde_json::Value::Object(map)) = entry.extra.get_mut(*key) {
                for value in map.values_mut() {
                    *value = MASK.into();
                }
            }
        }
        entry
    }

    /// The resolver name, `direct`, or `unresolved`.
    pub fn resolver_name(&self) -> &str {
        match &self.artifact {
            Artifact::Resolved(spec) => &spec.resolver,
            Artifact::Direct => "direct",
            Artifact::Unresolved { .. } => "unresolved",
        }
    }

    /// Whether Codex runs it through the launcher (a command server not routed `direct`).
    pub fn launched(&self) -> bool {
        self.transport == Transport::Stdio && self.artifact != Artifact::Direct
    }

    /// The command as a path, when it is one.
    pub fn command_path(&self) -> Option<PathBuf> {
        self.command.as_deref().map(PathBuf::from)
    }
}

/// Words that make an option, variable or header name a secret's (`--api-key`, `GITHUB_TOKEN`,
/// `Authorization`).
const SECRET_WORDS: &[&str] = &[
    "secret",
    "token",
    "key",
    "password",
    "passwd",
    "auth",
    "credential",
    "bearer",
    "cookie",
];

fn says_secret(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    SECRET_WORDS.iter().any(|word| name.contains(word))
}

/// `args` fit to show a person: the value of an option named like a secret (`--token X`,
/// `--token=X`, `-api-key X`), of a `NAME=VALUE` whose name says secret, of a header argument
/// (`Authorization: Bearer X`), a `Bearer`/`Basic` credential, and the user info of a URL
/// (`https://user:pass@host`) become [`MASK`]. The names stay, so the command is still readable.
pub fn masked_args(args: &[String]) -> Vec<String> {
    let mut out = Vec::with_capacity(args.len());
    let mut next_is_secret = false;
    for arg in args {
        if std::mem::take(&mut next_is_secret) && !arg.starts_with('-') {
            out.push(MASK.to_owned());
            continue;
        }
        out.push(mask_arg(arg, &mut next_is_secret));
    }
    out
}

fn mask_arg(arg: &str, next_is_secret: &mut bool) -> String {
    if let Some(option) = arg.strip_prefix('-') {
        let option = option.trim_start_matches('-');
        match option.split_once('=') {
            Some((name, _)) if says_secret(name) => {
                return format!("{}={MASK}", &arg[..arg.len() - option.len() + name.len()]);
            }
            Some(_) => {}
            None => {
                *next_is_secret = says_secret(option);
                return mask_urls(arg);
            }
        }
    }
    // `NAME=VALUE` (a variable handed through, `-e GITHUB_TOKEN=X`).
    if let Some((name, _)) = arg.split_once('=')
        && !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && says_secret(name)
    {
        return format!("{name}={MASK}");
    }
    // A header (`Authorization: Bearer X`, `X-Api-Key: X`).
    if let Some((name, _)) = arg.split_once(':')
        && !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && says_secret(name)
    {
        return format!("{name}: {MASK}");
    }
    for scheme in ["Bearer ", "Basic ", "bearer ", "basic "] {
        if arg.starts_with(scheme) {
            return format!("{scheme}{MASK}");
        }
    }
    mask_urls(arg)
}

/// Replaces the user info of every URL in `text` (`scheme://user:pass@host` -> `scheme://****@host`).
fn mask_urls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let (head, tail) = rest.split_at(at + 3);
        out.push_str(head);
        let authority_end = tail.find(['/', '?', '#', ' ']).unwrap_or(tail.len());
        let authority = &tail[..authority_end];
        match authority.rfind('@') {
            Some(user_end) => {
                out.push_str(MASK);
                out.push_str(&authority[user_end..]);
            }
            None => out.push_str(authority),
        }
        rest = &tail[authority_end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_round_trips_through_json() {
        let entry = McpEntry {
            name: "everything".into(),
            transport: Transport::Stdio,
            command: Some("node".into()),
            args: vec!["/x/index.js".into()],
            env: BTreeMap::from([("TOKEN".into(), "s3cret".into())]),
            cwd: None,
            url: None,
            extra: serde_json::Map::new(),
            artifact: Artifact::Resolved(ArtifactSpec {
                resolver: "npm".into(),
                spec: serde_json::json!({"package": "p", "version": "1.0.0", "bin": "p"}),
                objects: vec![],
            }),
            origin: Origin::Canonical,
        };
        let json = serde_json::to_string(&entry).unwrap();
        assert!(json.contains(r#""state":"resolved""#), "{json}");
        let back: McpEntry = serde_json::from_str(&json).unwrap();
        assert_eq!(back, entry);
    }

    #[test]
    fn masked_args_hide_option_header_variable_and_url_secrets() {
        let args: Vec<String> = [
            "--token",
            "t1",
            "--token=t2",
            "--api-key=t3",
            "-password",
            "t4",
            "-t",
            "keep",
            "--header",
            "Authorization: Bearer t5",
            "X-Api-Key:t6",
            "Bearer t7",
            "GITHUB_TOKEN=t8",
            "https://user:t9@example.com/x?y=1",
            "--url=http://a:t10@h:1",
            "--no-auth",
            "--verbose",
            "plain",
            "--name=value",
        ]
        .map(String::from)
        .into();
        let masked = masked_args(&args);
        let shown = masked.join(" ");
        for secret in ["t1", "t2", "t3", "t4", "t5", "t6", "t7", "t8", "t9", "t10"] {
            assert!(
                !masked
                    .iter()
                    .any(|a| a.split(['=', ':', ' ', '@', '/']).any(|p| p == secret)),
                "{secret} shown: {shown}"
            );
        }
        assert_eq!(
            shown,
            "--token **** --token=**** --api-key=**** -password **** -t keep --header \
             Authorization: **** X-Api-Key: **** Bearer **** GITHUB_TOKEN=**** \
             https://****@example.com/x?y=1 --url=http://****@h:1 --no-auth --verbose plain \
             --name=value"
        );
    }

    #[test]
    fn masked_hides_env_and_header_values_only() {
        let mut extra = serde_json::Map::new();
        extra.insert(
            "http_headers".into(),
            serde_json::json!({"Authorization": "Bearer s3cret"}),
        );
        extra.insert("startup_timeout_sec".into(), serde_json::json!(20));
        let entry = McpEntry {
            name: "remote".into(),
            transport: Transport::Stdio,
            command: Some("node".into()),
            args: vec!["--verbose".into()],
            env: BTreeMap::from([("TOKEN".into(), "s3cret".into())]),
            cwd: None,
            url: None,
            extra,
            artifact: Artifact::Unresolved {
                reason: "r".into(),
                hint: "h".into(),
            },
            origin: Origin::Canonical,
        };
        let masked = entry.masked();
        let json = serde_json::to_string(&masked).unwrap();
        assert!(!json.contains("s3cret"), "{json}");
        assert_eq!(masked.env["TOKEN"], MASK);
        assert_eq!(masked.extra["http_headers"]["Authorization"], MASK);
        assert_eq!(masked.extra["startup_timeout_sec"], 20);
        assert_eq!(masked.args, entry.args);
    }
}
