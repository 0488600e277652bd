//! The follower's layering settings in `~/.codexport/local.toml` (other sections belong to
//! others and are ignored here).

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::error::Error;

/// How many backups are kept when `local.toml` does not say.
pub const DEFAULT_KEEP_BACKUPS: usize = 20;

/// `local.toml` keys that shape layering.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct LayerSettings {
    /// `${NAME}` values for this follower (`workspaceRoot = "/srv/work"`).
    pub path_variables: BTreeMap<String, String>,
    /// Lets a `mcps.local.toml` table replace a canonical MCP of the same name.
    pub allow_mcp_overrides: bool,
    /// Lets `~/.codexport/overrides/<name>` replace a canonical skill.
    pub allow_skill_overrides: bool,
    /// How many backups to keep (oldest pruned first).
    pub keep_backups: Option<usize>,
}

impl LayerSettings {
    /// Parses the text of `local.toml` at `path` (unknown keys are ignored).
    pub fn parse(text: &str, path: &Path) -> Result<Self, Error> {
        toml_edit::de::from_str(text)
            .map_err(|e| super::invalid_toml(path, text, e.span(), e.message()))
    }

    /// Reads `local.toml`; defaults when it does not exist.
    pub fn load(path: &Path) -> Result<Self, Error> {
        match super::build::read_optional(path)? {
            Some(text) => Self::parse(&text, path),
            None => Ok(Self::default()),
        }
    }

    /// The number of backups to keep.
    pub fn keep_backups(&self) -> usize {
        self.keep_backups.unwrap_or(DEFAULT_KEEP_BACKUPS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_its_keys_and_ignores_others() {
        let s = LayerSettings::parse(
            "master = \"http://h:1\"\nallowMcpOverrides = true\nkeepBackups = 3\n[pathVariables]\nworkspaceRoot = \"/w\"\n",
            Path::new("local.toml"),
        )
        .unwrap();
        assert!(s.allow_mcp_overrides && !s.allow_skill_overrides);
        assert_eq!(s.keep_backups(), 3);
        assert_eq!(s.path_variables["workspaceRoot"], "/w");
        let err = LayerSettings::parse("allowMcpOverrides = \"yes\"\n", Path::new("local.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("local.toml:1:"), "{err}");
    }
}
