//! `master.toml` settings that steer inference: `[mcp.NAME]` hints that replace inference for
//! one entry, and `[source]` limits for packed source trees.
//!
//! ```toml
//! [source]
//! max_file_mib = 10
//! max_total_mib = 75
//!
//! [mcp.fff]
//! resolver = "github-release"
//! repo = "dmtrKovalenko/fff.nvim"
//! tag = "v0.5.0"
//! asset = "fff-mcp-{triple}"
//! bin = "fff-mcp"
//! ```

use std::collections::BTreeMap;

use codexport_core::mcp_config::item_to_json;
use serde::{Deserialize, Serialize};

use crate::SourceLimits;

/// One `[mcp.NAME]` table: the resolver to use and its spec fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct McpHint {
    /// The resolver (`npm`, `uv`, `source`, `cargo`, `github-release`, `url`, `path`, or a
    /// plugin's name).
    pub resolver: String,
    /// The spec fields, as that resolver's spec names them. Built-ins fill what is missing
    /// where they can: `args` from the entry, `url` from the entry, `object` by packing
    /// `root` for `source`.
    #[serde(flatten)]
    pub fields: serde_json::Map<String, serde_json::Value>,
}

/// Everything inference reads from `master.toml`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InferSettings {
    /// `[mcp.NAME]` hints by entry name.
    pub hints: BTreeMap<String, McpHint>,
    /// `[source]` limits.
    pub source_limits: SourceLimits,
}

/// A `master.toml` whose inference settings cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`master.toml`: {0}")]
pub struct SettingsError(pub String);

const MIB: u64 = 1024 * 1024;

impl InferSettings {
    /// Reads `[mcp.*]` and `[source]` from a parsed `master.toml` (other tables belong to
    /// other settings and are ignored here).
    pub fn from_document(doc: &toml_edit::DocumentMut) -> Result<Self, SettingsError> {
        let mut settings = Self::default();
        if let Some(mcp) = doc.get("mcp") {
            let mcp = mcp.as_table_like().ok_or_else(|| {
                SettingsError("`mcp` must be a table of `[mcp.NAME]` tables".into())
            })?;
            for (name, item) in mcp.iter() {
                let hint: McpHint = serde_json::from_value(item_to_json(item)).map_err(|e| {
                    SettingsError(format!(
                        "`[mcp.{name}]`: {e} (a hint needs `resolver = \"...\"` and that resolver's spec fields)"
                    ))
                })?;
                settings.hints.insert(name.to_owned(), hint);
            }
        }
        if let Some(source) = doc.get("source") {
            let source = source
                .as_table_like()
                .ok_or_else(|| SettingsError("`source` must be a table".into()))?;
            let mib = |key: &str, default: u64| -> Result<u64, SettingsError> {
                match source.get(key) {
                    None => Ok(default),
                    Some(item) => item
                        .as_integer()
                        .filter(|n| *n > 0)
                        .map(|n| n as u64 * MIB)
                        .ok_or_else(|| {
                            SettingsError(format!(
                                "`source.{key}` must be a positive integer (MiB)"
                            ))
                        }),
                }
            };
            let defaults = SourceLimits::default();
            settings.source_limits = SourceLimits {
                max_file: mib("max_file_mib", defaults.max_file)?,
                max_total: mib("max_total_mib", defaults.max_total)?,
            };
        }
        Ok(settings)
    }

    /// Reads `master.toml` text.
    pub fn from_toml(text: &str) -> Result<Self, SettingsError> {
        let doc: toml_edit::DocumentMut = text
            .parse()
            .map_err(|e| SettingsError(format!("not valid TOML: {e}")))?;
        Self::from_document(&doc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_and_limits_are_read_and_other_tables_ignored() {
        let settings = InferSettings::from_toml(
            r#"
listen = "127.0.0.1:17342"
[source]
max_total_mib = 5
[mcp.fff]
resolver = "github-release"
repo = "o/fff"
asset = "fff-mcp-{triple}"
bin = "fff-mcp"
"#,
        )
        .unwrap();
        assert_eq!(settings.source_limits.max_total, 5 * MIB);
        assert_eq!(
            settings.source_limits.max_file,
            SourceLimits::default().max_file
        );
        let hint = &settings.hints["fff"];
        assert_eq!(hint.resolver, "github-release");
        assert_eq!(hint.fields["repo"], "o/fff");
    }

    #[test]
    fn bad_hints_and_limits_name_the_table() {
        let err = InferSettings::from_toml("[mcp.x]\nrepo = \"o/r\"\n").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("`master.toml`: `[mcp.x]`: missing field `resolver`"),
            "{err}"
        );
        let err = InferSettings::from_toml("[source]\nmax_file_mib = -1\n").unwrap_err();
        assert!(
            err.to_string()
                .contains("`source.max_file_mib` must be a positive integer"),
            "{err}"
        );
    }
}
