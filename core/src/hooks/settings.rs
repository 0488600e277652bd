//! The `[hook]` section of the follower's `local.toml`: whether codexport's SessionStart hook
//! is installed (so every apply puts it back) and the hook sync's time budget.

use std::path::Path;
use std::time::Duration;

use toml_edit::{DocumentMut, Item, Table};

use crate::error::Error;
use crate::fsx;

/// The hook sync's budget when `local.toml` does not set one.
pub const DEFAULT_BUDGET: Duration = Duration::from_secs(2);

/// `[hook]` in `local.toml`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HookSettings {
    /// `installed = true`: `codexport hook install` ran and no `uninstall` since.
    pub installed: bool,
    /// `budget = "2s"`: how long the hook's sync may take before it gives up.
    pub budget: Option<Duration>,
}

impl HookSettings {
    /// The budget to use.
    pub fn budget(&self) -> Duration {
        self.budget.unwrap_or(DEFAULT_BUDGET)
    }

    /// Reads `[hook]` from `local.toml` at `path` (defaults when either is missing).
    pub fn load(path: &Path) -> Result<Self, Error> {
        let Some(doc) = read(path)? else {
            return Ok(Self::default());
        };
        let Some(hook) = doc.get("hook").and_then(Item::as_table_like) else {
            return Ok(Self::default());
        };
        let invalid = |reason: String| Error::InvalidLayer {
            path: path.to_path_buf(),
            reason,
        };
        let installed = match hook.get("installed") {
            None => false,
            Some(item) => item
                .as_bool()
                .ok_or_else(|| invalid("`hook.installed` must be true or false".to_owned()))?,
        };
        let budget = match hook.get("budget") {
            None => None,
            Some(item) => {
                let text = item.as_str().ok_or_else(|| {
                    invalid("`hook.budget` must be a string like \"2s\"".to_owned())
                })?;
                Some(
                    crate::duration::parse_duration(text)
                        .map_err(|e| invalid(format!("`hook.budget`: {e}")))?,
                )
            }
        };
        Ok(Self { installed, budget })
    }

    /// Writes `[hook]` into `local.toml` at `path`, keeping everything else in the file.
    pub fn save(&self, path: &Path) -> Result<(), Error> {
        let mut doc = read(path)?.unwrap_or_default();
        let hook = doc
            .entry("hook")
            .or_insert_with(|| Item::Table(Table::new()));
        if !hook.is_table() {
            *hook = Item::Table(Table::new());
        }
        let table = hook.as_table_mut().expect("just made a table");
        table.insert("installed", toml_edit::value(self.installed));
        match self.budget {
            Some(budget) => {
                table.insert(
                    "budget",
                    toml_edit::value(format!("{}ms", budget.as_millis())),
                );
            }
            None => {
                table.remove("budget");
            }
        }
        let mode = std::fs::metadata(path).map_or(0o644, |m| fsx::mode_of(&m));
        fsx::write_atomic(path, doc.to_string().as_bytes(), Some(mode))
            .map_err(|e| Error::io("write", path, e))
    }
}

fn read(path: &Path) -> Result<Option<DocumentMut>, Error> {
    match std::fs::read_to_string(path) {
        Ok(text) => crate::follower::layer::parse_toml(&text, path).map(Some),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io("read", path, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_keeps_the_rest_of_local_toml() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("local.toml");
        assert_eq!(HookSettings::load(&path).unwrap(), HookSettings::default());
        let mine = "# mine\nallowMcpOverrides = true\n\n[pathVariables]\nw = \"/w\"\n";
        std::fs::write(&path, mine).unwrap();
        let settings = HookSettings {
            installed: true,
            budget: Some(Duration::from_millis(1500)),
        };
        settings.save(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with(mine), "{text}");
        assert!(
            text.ends_with("[hook]\ninstalled = true\nbudget = \"1500ms\"\n"),
            "{text}"
        );
        assert_eq!(HookSettings::load(&path).unwrap(), settings);
        let off = HookSettings::default();
        off.save(&path).unwrap();
        assert_eq!(HookSettings::load(&path).unwrap(), off);
        assert_eq!(off.budget(), DEFAULT_BUDGET);
    }

    #[test]
    fn bad_values_name_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("local.toml");
        std::fs::write(&path, "[hook]\nbudget = \"soon\"\n").unwrap();
        let err = HookSettings::load(&path).unwrap_err().to_string();
        assert!(err.contains("hook.budget"), "{err}");
    }
}
