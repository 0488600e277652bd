//! `master.toml`: the master's settings, read once per command and passed down.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};

use super::toml_file::TomlFile;
use crate::Homes;
use crate::error::Result;

/// The port `master serve` listens on by default.
pub const DEFAULT_PORT: u16 = 17342;

/// Peers the server accepts by default: loopback and Tailscale's IPv4 and IPv6 ranges.
pub const DEFAULT_ALLOW: [&str; 4] = [
    "127.0.0.0/8",
    "::1/128",
    "100.64.0.0/10",
    "fd7a:115c:a1e0::/48",
];

/// `master.toml`. Every key is optional; unknown keys are ignored.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct MasterSettings {
    /// Address `master serve` listens on (`0.0.0.0:17342` when unset).
    pub listen: Option<String>,
    /// CIDRs (or single addresses) whose peers the server answers (the defaults when unset).
    #[serde(deserialize_with = "cidrs")]
    pub allow: Option<Vec<ipnet::IpNet>>,
    /// Extra paths to sync, relative to the Codex home.
    pub include: Vec<String>,
    /// Extra patterns never synced: a path segment or glob (`*.bak`), or a relative path.
    pub exclude: Vec<String>,
    /// Directories (`~/dotfiles/skills`, or absolute) that links in the synced roots may lead
    /// into: such a link is published as the regular files it leads to. Links leaving their
    /// root anywhere else are skipped (and counted by `master rebuild` and `status`).
    pub follow_links: Vec<String>,
    /// `[mcp.NAME]` tables: hints that replace MCP inference for one entry. Kept as raw
    /// tables here; `codexport-resolvers` checks them against the resolver they name.
    pub mcp: BTreeMap<String, serde_json::Map<String, serde_json::Value>>,
    /// `[source]`: limits for local MCP source trees packed into revisions.
    pub source: SourceSettings,
}

/// `[source]` of `master.toml`, in MiB (the resolvers' defaults when unset).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct SourceSettings {
    /// Largest single file packed; larger ones are left out with a warning.
    pub max_file_mib: Option<u64>,
    /// Largest tree packed; a larger one leaves its entry unresolved.
    pub max_total_mib: Option<u64>,
}

/// The default `master.toml` that `master init` writes: every setting, commented.
pub const DEFAULT_MASTER_TOML: &str = r#"# codexport master settings. A running `codexport master serve` reads this file again when it
# changes (a bad edit keeps the previous settings and logs why); `listen` takes effect at the
# next start, and a server started with `--no-watch` reads the file only at its start.

# Address to listen on (default: every interface, port 17342).
# listen = "0.0.0.0:17342"

# Peers allowed to connect, as CIDRs (default: loopback and Tailscale ranges).
# allow = ["127.0.0.0/8", "::1/128", "100.64.0.0/10", "fd7a:115c:a1e0::/48"]

# Extra paths to sync, relative to the Codex home.
# include = ["notes"]

# Extra patterns never synced: a path segment or glob matched against every segment
# (`*.bak`), or a relative path (`skills/private`).
# exclude = ["*.bak"]

# Directories that links in the Codex home may lead into (a skill kept in a dotfiles repo
# and linked in): such a link is published as the files it leads to. Other links leaving
# the Codex home are skipped; `master rebuild` and `status` count them.
# follow_links = ["~/dotfiles/skills"]

# Limits for local MCP source trees packed into revisions (MiB).
# [source]
# max_file_mib = 10
# max_total_mib = 75

# Packed local MCP source trees leave out secret-looking files (`.env`, `*.pem`, `id_rsa`, ...,
# listed in the warnings); pack some on purpose, per MCP (globs on the file name, or on the
# path inside the project when they hold a `/`):
# [mcp.my-server]
# include_secret_files = [".env", "certs/*.pem"]

# Replace MCP inference for one `[mcp_servers.NAME]` (see docs/mcp.md), e.g.:
# [mcp.fff]
# resolver = "github-release"
# repo = "dmtrKovalenko/fff.nvim"
# tag = "v0.5.0"
# asset = "fff-mcp-{triple}"
# bin = "fff-mcp"
"#;

impl MasterSettings {
    /// Reads `master.toml` (defaults when it does not exist).
    pub fn load(homes: &Homes) -> Result<Self> {
        TomlFile::codexport(homes.master_toml()).load()
    }

    /// The allow list (the defaults when `allow` is unset).
    pub fn allow_nets(&self) -> Vec<ipnet::IpNet> {
        match &self.allow {
            Some(nets) => nets.clone(),
            None => DEFAULT_ALLOW
                .iter()
                .map(|cidr| cidr.parse().expect("the defaults are CIDRs"))
                .collect(),
        }
    }
}

/// `allow = [...]`: each entry a CIDR or a single address (a wrong one is reported at its
/// line and column).
fn cidrs<'de, D: Deserializer<'de>>(de: D) -> Result<Option<Vec<ipnet::IpNet>>, D::Error> {
    let Some(entries) = Option::<Vec<String>>::deserialize(de)? else {
        return Ok(None);
    };
    entries
        .iter()
        .map(|cidr| {
            cidr.parse::<ipnet::IpNet>()
                .or_else(|_| cidr.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| {
                    serde::de::Error::custom(format!(
                        "`allow` entry `{cidr}` is not a CIDR (like `100.64.0.0/10`)"
                    ))
                })
        })
        .collect::<Result<_, _>>()
        .map(Some)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::settings::{TomlOwner, deserialize};

    fn parse(text: &str) -> Result<MasterSettings> {
        deserialize(text, Path::new("/t/master.toml"), TomlOwner::Codexport)
    }

    #[test]
    fn unknown_sections_are_kept_for_others_and_defaults_apply() {
        let settings = parse(
            "include = [\"notes\"]\nfollow_links = [\"~/dotfiles/skills\"]\n[mcp.fff]\nresolver = \"x\"\n",
        )
        .unwrap();
        assert_eq!(settings.include, ["notes"]);
        assert_eq!(settings.follow_links, ["~/dotfiles/skills"]);
        assert_eq!(settings.mcp["fff"]["resolver"], "x");
        assert_eq!(settings.allow_nets().len(), 4);
        let default = parse(DEFAULT_MASTER_TOML).unwrap();
        assert_eq!(default, MasterSettings::default());
        let one = parse("allow = [\"10.0.0.1\", \"10.1.0.0/16\"]\n").unwrap();
        assert_eq!(one.allow_nets().len(), 2);
    }

    #[test]
    fn a_bad_allow_entry_is_reported_at_its_line() {
        let err = parse("listen = \"0.0.0.0:1\"\nallow = [\"nope\"]\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "`/t/master.toml:2:9` is not valid TOML: `allow` entry `nope` is not a CIDR (like `100.64.0.0/10`)"
        );
    }
}
