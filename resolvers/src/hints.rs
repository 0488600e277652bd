//! `master.toml` settings that steer inference: `[mcp.NAME]` hints that replace inference for
//! one entry (or `route = "direct"`, which exports it with no artifact at all), and `[source]`
//! limits for packed source trees.
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
//!
//! [mcp.time]
//! route = "direct"   # followers run the master's own command: no launcher, no hydration
//! ```

use std::collections::{BTreeMap, BTreeSet};

use codexport_core::settings::MasterSettings;
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
    /// Entries with `route = "direct"`: exported without an artifact, never routed through
    /// the launcher on followers (an admin's requirements allowlist pins their command).
    pub direct: BTreeSet<String>,
    /// `[source]` limits.
    pub source_limits: SourceLimits,
}

/// A `master.toml` whose inference settings cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`master.toml`: {0}")]
pub struct SettingsError(pub String);

const MIB: u64 = 1024 * 1024;

impl InferSettings {
    /// The inference settings of a loaded `master.toml`: every `[mcp.NAME]` table must name
    /// its `resolver`; `[source]` limits must be positive.
    pub fn from_config(config: &MasterSettings) -> Result<Self, SettingsError> {
        let mut hints = BTreeMap::new();
        let mut direct = BTreeSet::new();
        for (name, table) in &config.mcp {
            let mut table = table.clone();
            match table.remove("route") {
                None => {}
                Some(serde_json::Value::String(route)) if route == "direct" => {
                    if !table.is_empty() {
                        return Err(SettingsError(format!(
                            "`[mcp.{name}]`: `route = \"direct\"` takes no resolver or spec fields (the master's command runs as is)"
                        )));
                    }
                    direct.insert(name.clone());
                    continue;
                }
                Some(serde_json::Value::String(route)) if route == "launcher" => {}
                Some(other) => {
                    return Err(SettingsError(format!(
                        "`[mcp.{name}]`: `route` must be \"direct\" or \"launcher\", not {other}"
                    )));
                }
            }
            if table.is_empty() {
                continue;
            }
            let hint = serde_json::from_value(serde_json::Value::Object(table)).map_err(|e| {
                SettingsError(format!(
                    "`[mcp.{name}]`: {e} (a hint needs `resolver = \"...\"` and that resolver's spec fields)"
                ))
            })?;
            hints.insert(name.clone(), hint);
        }
        let defaults = SourceLimits::default();
        let mib = |key: &str, value: Option<u64>, default: u64| match value {
            None => Ok(default),
            Some(0) => Err(SettingsError(format!(
                "`source.{key}` must be a positive number of MiB"
            ))),
            Some(n) => Ok(n.saturating_mul(MIB)),
        };
        Ok(Self {
            hints,
            direct,
            source_limits: SourceLimits {
                max_file: mib(
                    "max_file_mib",
                    config.source.max_file_mib,
                    defaults.max_file,
                )?,
                max_total: mib(
                    "max_total_mib",
                    config.source.max_total_mib,
                    defaults.max_total,
                )?,
            },
        })
    }

    /// Reads `master.toml` text (tests and tools; the CLI loads [`MasterSettings`]).
    pub fn from_toml(text: &str) -> Result<Self, SettingsError> {
        let config: MasterSettings = toml_edit::de::from_str(text)
            .map_err(|e| SettingsError(e.message().trim().to_owned()))?;
        Self::from_config(&config)
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
    fn route_direct_is_no_hint() {
        let settings = InferSettings::from_toml(
            "[mcp.time]\nroute = \"direct\"\n[mcp.fs]\nroute = \"launcher\"\nresolver = \"npm\"\npackage = \"p\"\n",
        )
        .unwrap();
        assert_eq!(settings.direct, BTreeSet::from(["time".to_owned()]));
        assert_eq!(settings.hints.keys().collect::<Vec<_>>(), ["fs"]);
        assert!(!settings.hints["fs"].fields.contains_key("route"));
    }

    #[test]
    fn bad_hints_and_limits_name_the_table() {
        let err = InferSettings::from_toml("[mcp.x]\nrepo = \"o/r\"\n").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("`master.toml`: `[mcp.x]`: missing field `resolver`"),
            "{err}"
        );
        let err = InferSettings::from_toml("[mcp.x]\nroute = \"direct\"\nresolver = \"npm\"\n")
            .unwrap_err();
        assert!(err.to_string().contains("takes no resolver"), "{err}");
        let err = InferSettings::from_toml("[mcp.x]\nroute = \"sideways\"\n").unwrap_err();
        assert!(
            err.to_string()
                .contains("`route` must be \"direct\" or \"launcher\", not \"sideways\""),
            "{err}"
        );
        let err = InferSettings::from_toml("[source]\nmax_file_mib = 0\n").unwrap_err();
        assert!(
            err.to_string()
                .contains("`source.max_file_mib` must be a positive number of MiB"),
            "{err}"
        );
    }
}
