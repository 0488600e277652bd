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
    /// `include_secret_files` of `[mcp.NAME]` by entry name: secret-looking files its packed
    /// source tree keeps on purpose.
    pub include_secret_files: BTreeMap<String, Vec<String>>,
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
        let mut include_secret_files = BTreeMap::new();
        for (name, table) in &config.mcp {
            let mut table = table.clone();
            if let Some(globs) = table.remove("include_secret_files") {
                include_secret_files.insert(name.clone(), secret_globs(name, globs)?);
            }
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
            include_secret_files,
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

    /// The `include_secret_files` globs of entry `name` (none unless `master.toml` lists some).
    pub fn secret_files_of(&self, name: &str) -> &[String] {
        self.include_secret_files
            .get(name)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// Reads `master.toml` text (tests and tools; the CLI loads [`MasterSettings`]).
    pub fn from_toml(text: &str) -> Result<Self, SettingsError> {
        let config: MasterSettings = toml_edit::de::from_str(text)
            .map_err(|e| SettingsError(e.message().trim().to_owned()))?;
        Self::from_config(&config)
    }
}

/// `include_secret_files = [".env", "certs/*.pem"]`: a list of globs.
fn secret_globs(name: &str, value: serde_json::Value) -> Result<Vec<String>, SettingsError> {
    let bad = || {
        SettingsError(format!(
            "`[mcp.{name}]`: `include_secret_files` must be a list of file names or globs, like `[\".env\", \"certs/*.pem\"]`"
        ))
    };
    let serde_json::Value::Array(items) = value else {
        return Err(bad());
    };
    items
        .into_iter()
        .map(|item| match item {
            serde_json::Value::String(glob) if !glob.is_empty() => Ok(glob),
            _ => Err(bad()),
        })
        .collect()
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
    fn include_secret_files_is_no_hint_and_must_be_a_list() {
        let settings = InferSettings::from_toml(
            "[mcp.api]\ninclude_secret_files = [\".env\", \"certs/*.pem\"]\n[mcp.src]\nresolver = \"source\"\nroot = \"/p\"\ninclude_secret_files = [\"*.key\"]\n",
        )
        .unwrap();
        assert_eq!(settings.secret_files_of("api"), [".env", "certs/*.pem"]);
        assert_eq!(settings.secret_files_of("src"), ["*.key"]);
        assert!(settings.secret_files_of("other").is_empty());
        assert_eq!(settings.hints.keys().collect::<Vec<_>>(), ["src"]);
        assert!(
            !settings.hints["src"]
                .fields
                .contains_key("include_secret_files")
        );
        for bad in ["\".env\"", "[1]", "[\"\"]"] {
            let err =
                InferSettings::from_toml(&format!("[mcp.api]\ninclude_secret_files = {bad}\n"))
                    .unwrap_err();
            assert!(
                err.to_string()
                    .contains("`[mcp.api]`: `include_secret_files` must be a list"),
                "{bad}: {err}"
            );
        }
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
