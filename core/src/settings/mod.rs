//! Settings files: the master's `master.toml` and the follower's `local.toml`.
//!
//! Both deserialize with defaults and ignore unknown keys, so other parts of codexport add
//! their own sections (`[mcp.NAME]` hints, `[pathVariables]`, ...) without touching this one.

use std::collections::BTreeMap;
use std::path::Path;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::identity::read_optional;
use crate::{Homes, fsx};

/// The port `master serve` listens on by default.
pub const DEFAULT_PORT: u16 = 17342;

/// Peers the server accepts by default: loopback and Tailscale's IPv4 and IPv6 ranges.
pub const DEFAULT_ALLOW: [&str; 4] = [
    "127.0.0.0/8",
    "::1/128",
    "100.64.0.0/10",
    "fd7a:115c:a1e0::/48",
];

/// `master.toml`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct MasterConfig {
    /// Address `master serve` listens on (`0.0.0.0:17342` when unset).
    pub listen: Option<String>,
    /// CIDRs whose peers the server answers (the defaults when unset).
    pub allow: Option<Vec<String>>,
    /// Extra paths to sync, relative to the Codex home.
    pub include: Vec<String>,
    /// Extra patterns never synced: a path segment or glob (`*.bak`), or a relative path.
    pub exclude: Vec<String>,
    /// `[mcp.NAME]` tables: hints that replace MCP inference for one entry. Kept as raw
    /// tables here; `codexport-resolvers` checks them against the resolver they name.
    pub mcp: BTreeMap<String, serde_json::Map<String, serde_json::Value>>,
    /// `[source]`: limits for local MCP source trees packed into revisions.
    pub source: SourceSettings,
}

/// `[source]` of `master.toml`, in MiB (the resolvers' defaults when unset).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SourceSettings {
    /// Largest single file packed; larger ones are left out with a warning.
    pub max_file_mib: Option<u64>,
    /// Largest tree packed; a larger one leaves its entry unresolved.
    pub max_total_mib: Option<u64>,
}

/// `local.toml`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct LocalConfig {
    /// The master's base URL (`http://host:port`).
    pub master: Option<String>,
}

/// The default `master.toml` that `master init` writes: every setting, commented.
pub const DEFAULT_MASTER_TOML: &str = r#"# codexport master settings. Restart `codexport master serve` after a change.

# Address to listen on (default: every interface, port 17342).
# listen = "0.0.0.0:17342"

# Peers allowed to connect, as CIDRs (default: loopback and Tailscale ranges).
# allow = ["127.0.0.0/8", "::1/128", "100.64.0.0/10", "fd7a:115c:a1e0::/48"]

# Extra paths to sync, relative to the Codex home.
# include = ["notes"]

# Extra patterns never synced: a path segment or glob matched against every segment
# (`*.bak`), or a relative path (`skills/private`).
# exclude = ["*.bak"]

# Limits for local MCP source trees packed into revisions (MiB).
# [source]
# max_file_mib = 10
# max_total_mib = 75

# Replace MCP inference for one `[mcp_servers.NAME]` (see docs/mcp.md), e.g.:
# [mcp.fff]
# resolver = "github-release"
# repo = "dmtrKovalenko/fff.nvim"
# tag = "v0.5.0"
# asset = "fff-mcp-{triple}"
# bin = "fff-mcp"
"#;

fn load<T: DeserializeOwned + Default>(path: &Path) -> Result<T> {
    let Some(bytes) = read_optional(path)? else {
        return Ok(T::default());
    };
    let invalid = |reason: String| Error::InvalidConfig {
        path: path.to_path_buf(),
        reason,
    };
    let text = String::from_utf8(bytes).map_err(|_| invalid("not UTF-8".into()))?;
    // Line and column, so the message points at the mistake.
    toml_edit::de::from_str(&text)
        .map_err(|e| crate::follower::layer::invalid_toml(path, &text, e.span(), e.message()))
}

impl MasterConfig {
    /// Reads `master.toml` (defaults when it does not exist).
    pub fn load(homes: &Homes) -> Result<Self> {
        let config: Self = load(&homes.master_toml())?;
        config.allow_nets()?;
        Ok(config)
    }

    /// The allow list, parsed.
    pub fn allow_nets(&self) -> Result<Vec<ipnet::IpNet>> {
        let default: Vec<String> = DEFAULT_ALLOW.iter().map(|s| s.to_string()).collect();
        self.allow
            .as_ref()
            .unwrap_or(&default)
            .iter()
            .map(|cidr| {
                cidr.parse::<ipnet::IpNet>()
                    .or_else(|_| cidr.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                    .map_err(|_| Error::InvalidConfig {
                        path: "master.toml".into(),
                        reason: format!(
                            "`allow` entry `{cidr}` is not a CIDR (like `100.64.0.0/10`)"
                        ),
                    })
            })
            .collect()
    }
}

impl LocalConfig {
    /// Reads `local.toml` (defaults when it does not exist).
    pub fn load(homes: &Homes) -> Result<Self> {
        load(&homes.local_toml())
    }

    /// Sets `master = URL` in `local.toml`, keeping every other line of the file.
    pub fn set_master(homes: &Homes, url: &str) -> Result<()> {
        let path = homes.local_toml();
        let text = read_optional(&path)?
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        let mut doc: toml_edit::DocumentMut =
            text.parse()
                .map_err(|e: toml_edit::TomlError| Error::InvalidConfig {
                    path: path.clone(),
                    reason: e.message().to_owned(),
                })?;
        doc["master"] = toml_edit::value(url);
        fsx::write_atomic(&path, doc.to_string().as_bytes(), None)
            .map_err(|e| Error::io("write", path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_sections_are_kept_for_others_and_defaults_apply() {
        let config: MasterConfig =
            toml_edit::de::from_str("include = [\"notes\"]\n[mcp.fff]\nresolver = \"x\"\n")
                .unwrap();
        assert_eq!(config.include, ["notes"]);
        assert_eq!(config.mcp["fff"]["resolver"], "x");
        assert_eq!(config.allow_nets().unwrap().len(), 4);
        let default: MasterConfig = toml_edit::de::from_str(DEFAULT_MASTER_TOML).unwrap();
        assert!(default.listen.is_none());
        let bad = MasterConfig {
            allow: Some(vec!["nope".into()]),
            ..Default::default()
        };
        assert!(bad.allow_nets().is_err());
    }
}
