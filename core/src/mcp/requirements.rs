//! Codex's managed requirements (`/etc/codex/requirements.toml`): never synced, only read, so
//! `mcp doctor` can say which MCP server an admin's `mcp_servers` allowlist would disable here.
//!
//! Facts (Codex 0.169.0 and 0.171.0, docs/mcp.md): `[mcp_servers.NAME.identity]` holds
//! `command = "..."` (stdio) or `url = "..."` (HTTP); a server is enabled only when its name is
//! listed and that identity equals its `command`/`url` string exactly (`node` is not
//! `/usr/bin/node`; args do not count). An unlisted name is disabled; an empty table disables
//! every server. Without `mcp_servers` nothing is constrained.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::Error;
use crate::settings::TomlOwner;

/// Where Codex reads managed requirements on this OS.
pub fn requirements_path() -> PathBuf {
    if cfg!(windows) {
        let data = std::env::var_os("ProgramData").unwrap_or_else(|| "C:\\ProgramData".into());
        PathBuf::from(data)
            .join("OpenAI")
            .join("Codex")
            .join("requirements.toml")
    } else {
        PathBuf::from("/etc/codex/requirements.toml")
    }
}

/// The identity a requirement pins.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum Identity {
    /// A stdio server's `command`.
    Command {
        /// The exact command string.
        command: String,
    },
    /// An HTTP server's `url`.
    Url {
        /// The exact URL.
        url: String,
    },
}

#[derive(Debug, Clone, Deserialize)]
struct Requirement {
    identity: Identity,
}

#[derive(Debug, Clone, Default, Deserialize)]
struct RequirementsFile {
    #[serde(default)]
    mcp_servers: Option<BTreeMap<String, Requirement>>,
}

/// The `mcp_servers` allowlist in effect, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct McpAllowlist {
    /// The file it came from.
    pub path: PathBuf,
    /// Allowed name → identity.
    pub servers: BTreeMap<String, Identity>,
}

/// What the allowlist makes of one server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Listed with this identity: Codex enables it.
    Allowed,
    /// Not listed: Codex disables it.
    NotListed,
    /// Listed with another identity: Codex disables it.
    OtherIdentity(Identity),
}

impl McpAllowlist {
    /// Reads the allowlist from `path`: `None` when the file is missing or has no
    /// `mcp_servers` (nothing constrained).
    pub fn load(path: &Path) -> Result<Option<Self>, Error> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io("read", path, e)),
        };
        Self::parse(&text, path)
    }

    /// Parses requirements text (other sections are Codex's business and ignored).
    pub fn parse(text: &str, path: &Path) -> Result<Option<Self>, Error> {
        let file: RequirementsFile = crate::settings::deserialize(text, path, TomlOwner::Codex)?;
        Ok(file.mcp_servers.map(|servers| Self {
            path: path.to_path_buf(),
            servers: servers
                .into_iter()
                .map(|(name, r)| (name, r.identity))
                .collect(),
        }))
    }

    /// The verdict for server `name` whose `config.toml` says `command` (stdio) or `url`.
    pub fn verdict(&self, name: &str, command: Option<&str>, url: Option<&str>) -> Verdict {
        match self.servers.get(name) {
            None => Verdict::NotListed,
            Some(Identity::Command { command: want }) if Some(want.as_str()) == command => {
                Verdict::Allowed
            }
            Some(Identity::Url { url: want }) if Some(want.as_str()) == url => Verdict::Allowed,
            Some(other) => Verdict::OtherIdentity(other.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REQUIREMENTS: &str = r#"
allowed_approval_policies = ["never"]

[mcp_servers.time.identity]
command = "uvx"

[mcp_servers.docs.identity]
url = "https://docs.example/mcp"
"#;

    #[test]
    fn name_and_exact_identity_decide() {
        let list = McpAllowlist::parse(REQUIREMENTS, Path::new("/etc/codex/requirements.toml"))
            .unwrap()
            .unwrap();
        assert_eq!(list.verdict("time", Some("uvx"), None), Verdict::Allowed);
        assert_eq!(
            list.verdict(
                "time",
                Some("/home/bo/.codexport/bin/codexport-mcp-run"),
                None
            ),
            Verdict::OtherIdentity(Identity::Command {
                command: "uvx".into()
            })
        );
        assert_eq!(list.verdict("time", Some("/usr/bin/uvx"), None).clone(), {
            Verdict::OtherIdentity(Identity::Command {
                command: "uvx".into(),
            })
        });
        assert_eq!(
            list.verdict("docs", None, Some("https://docs.example/mcp")),
            Verdict::Allowed
        );
        assert_eq!(list.verdict("other", Some("uvx"), None), Verdict::NotListed);
    }

    #[test]
    fn no_list_constrains_nothing_and_bad_toml_names_the_line() {
        let path = Path::new("/etc/codex/requirements.toml");
        assert_eq!(
            McpAllowlist::parse("allowed_approval_policies = []\n", path).unwrap(),
            None
        );
        let empty = McpAllowlist::parse("mcp_servers = {}\n", path)
            .unwrap()
            .unwrap();
        assert_eq!(empty.verdict("any", Some("x"), None), Verdict::NotListed);
        let err = McpAllowlist::parse("[mcp_servers.x\n", path)
            .unwrap_err()
            .to_string();
        assert!(err.contains("requirements.toml:1:"), "{err}");
        assert_eq!(
            McpAllowlist::load(Path::new("/nonexistent/req.toml")).unwrap(),
            None
        );
    }
}
