//! `local.toml`: the follower's settings, read once per command and passed to everything that
//! needs them (layering, the hooks layer, the launcher, sync).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Deserializer};
use toml_edit::{Item, Table};

use super::toml_file::{TomlFile, TomlOwner, deserialize};
use crate::Homes;
use crate::error::{Error, Result};

/// How many backups are kept when `local.toml` does not say.
pub const DEFAULT_KEEP_BACKUPS: usize = 20;

/// The hook sync's budget when `local.toml` does not set one.
pub const DEFAULT_BUDGET: Duration = Duration::from_secs(2);

/// `local.toml`. Every key is optional; unknown keys are ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct LocalSettings {
    /// The master's base URL, written by `follower join`: `https://host:port` (TLS bound to the
    /// pinned key) or `http://host:port` (a v1 link, plain HTTP).
    pub master: Option<String>,
    /// `${NAME}` values for this follower (`workspaceRoot = "/srv/work"`).
    pub path_variables: BTreeMap<String, String>,
    /// Which `mcps.local.toml` tables may replace a canonical MCP of the same name.
    pub allow_mcp_overrides: Overrides,
    /// Which local skills (`~/.codexport/overrides/<name>`, `~/.codexport/skills/<name>`) may
    /// replace a canonical skill of the same name.
    pub allow_skill_overrides: Overrides,
    /// How many backups to keep (oldest pruned first).
    pub keep_backups: Option<usize>,
    /// `trustMasterHooks = false`: the master's hooks arrive untrusted (Codex asks before it
    /// runs them); unset or `true`, a hook the master trusts is trusted here too.
    pub trust_master_hooks: Option<bool>,
    /// `masterMcpServers = "off"`: the master's MCP servers are written with
    /// `enabled = false` (Codex starts none of them until enabled here).
    pub master_mcp_servers: MasterMcpServers,
    /// `[hook]`: codexport's SessionStart hook.
    pub hook: HookSettings,
    /// `role`, written by the original Node codexport (with `masterUrl`, `masterFingerprint`).
    pub role: Option<Present>,
    /// `masterUrl` of the original Node codexport.
    pub master_url: Option<Present>,
    /// `masterFingerprint` of the original Node codexport.
    pub master_fingerprint: Option<Present>,
}

/// A key that is there, whatever its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Present;

impl<'de> Deserialize<'de> for Present {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        serde::de::IgnoredAny::deserialize(de).map(|_| Present)
    }
}

/// The keys only the original Node codexport wrote into `local.toml`; `follower join` drops
/// them (every other line is kept).
pub const ORIGINAL_TOOL_KEYS: [&str; 6] = [
    "role",
    "masterUrl",
    "masterFingerprint",
    "lastRevision",
    "codexDir",
    "port",
];

/// `allowMcpOverrides` / `allowSkillOverrides`: `true` allows every name, a list (the original
/// tool's form, `["local-name"]`) the names in it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Overrides {
    /// Unset or `false`: a same-name local layer stops the apply.
    #[default]
    None,
    /// `true`.
    All,
    /// `["a", "b"]`.
    Names(std::collections::BTreeSet<String>),
}

impl Overrides {
    /// Whether a local layer called `name` may replace the master's.
    pub fn allows(&self, name: &str) -> bool {
        match self {
            Self::None => false,
            Self::All => true,
            Self::Names(names) => names.contains(name),
        }
    }
}

impl<'de> Deserialize<'de> for Overrides {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Overrides;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("`true`, `false` or a list of names like [\"local-name\"]")
            }
            fn visit_bool<E>(self, all: bool) -> Result<Overrides, E> {
                Ok(if all { Overrides::All } else { Overrides::None })
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Overrides, A::Error> {
                let mut names = std::collections::BTreeSet::new();
                while let Some(name) = seq.next_element::<String>()? {
                    names.insert(name);
                }
                Ok(Overrides::Names(names))
            }
        }
        de.deserialize_any(Visitor)
    }
}

/// `masterMcpServers` of `local.toml`: whether the master's MCP servers start on this machine.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MasterMcpServers {
    /// As the master has them (the default).
    #[default]
    On,
    /// Written with `enabled = false`; a `mcps.local.toml` table stays as written.
    Off,
}

/// `[hook]` of `local.toml`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct HookSettings {
    /// `installed = true`: `codexport hook install` ran and no `uninstall` since, so every
    /// apply puts the hook back.
    pub installed: bool,
    /// `budget = "2s"`: how long the hook's sync may take before it gives up.
    #[serde(deserialize_with = "budget")]
    pub budget: Option<Duration>,
}

impl LocalSettings {
    /// Reads `local.toml` (defaults when it does not exist).
    pub fn load(homes: &Homes) -> Result<Self> {
        file(homes).load()
    }

    /// Parses the text of `local.toml` at `path`.
    pub fn parse(text: &str, path: &Path) -> Result<Self> {
        deserialize(text, path, TomlOwner::Codexport)
    }

    /// Whether a hook the master trusts is trusted here (`trustMasterHooks`, default yes).
    pub fn trusts_master_hooks(&self) -> bool {
        self.trust_master_hooks.unwrap_or(true)
    }

    /// The number of backups to keep.
    pub fn keep_backups(&self) -> usize {
        self.keep_backups.unwrap_or(DEFAULT_KEEP_BACKUPS)
    }

    /// Whether this `local.toml` was written by the original Node codexport (and not joined
    /// since): its fingerprint cannot verify an Ed25519 master key.
    pub fn from_original_tool(&self) -> bool {
        self.role.is_some() || self.master_url.is_some() || self.master_fingerprint.is_some()
    }

    /// [`Error::OriginalToolSettings`] when [`Self::from_original_tool`].
    pub fn refuse_original_tool(&self, homes: &Homes) -> Result<()> {
        if self.from_original_tool() {
            return Err(Error::OriginalToolSettings {
                path: homes.local_toml(),
            });
        }
        Ok(())
    }

    /// The master's URL, or the error that says how to name one (also when `local.toml` is the
    /// original tool's: it must join again).
    pub fn master_url(&self, homes: &Homes) -> Result<&str> {
        self.refuse_original_tool(homes)?;
        self.master.as_deref().ok_or_else(|| {
            Error::WrongRole(
                format!("`{}` names no master", homes.local_toml().display()),
                "run `codexport follower join LINK`, or set `master = \"https://HOST:17342\"` there (`http://` for a `--plain-http` master)"
                    .into(),
            )
        })
    }

    /// The master's host name, for MCP URLs that point at the master's loopback.
    pub fn master_host(&self) -> Option<String> {
        let url = url::Url::parse(self.master.as_deref()?).ok()?;
        url.host_str().map(str::to_owned)
    }

    /// Sets `master = URL` in `local.toml` and here; the original tool's keys
    /// ([`ORIGINAL_TOOL_KEYS`]) go, every other line is kept.
    pub fn set_master(&mut self, homes: &Homes, url: &str) -> Result<()> {
        file(homes).edit(|doc| {
            for key in ORIGINAL_TOOL_KEYS {
                doc.remove(key);
            }
            doc["master"] = toml_edit::value(url);
        })?;
        self.master = Some(url.to_owned());
        (self.role, self.master_url, self.master_fingerprint) = (None, None, None);
        Ok(())
    }

    /// Writes `[hook]` as [`Self::hook`] holds it into `local.toml`, keeping everything else.
    pub fn save_hook(&self, homes: &Homes) -> Result<()> {
        let hook = &self.hook;
        file(homes).edit(|doc| {
            let item = doc
                .entry("hook")
                .or_insert_with(|| Item::Table(Table::new()));
            if !item.is_table() {
                *item = Item::Table(Table::new());
            }
            let table = item.as_table_mut().expect("just made a table");
            table.insert("installed", toml_edit::value(hook.installed));
            match hook.budget {
                Some(budget) => {
                    let text = format!("{}ms", budget.as_millis());
                    table.insert("budget", toml_edit::value(text));
                }
                None => {
                    table.remove("budget");
                }
            }
        })?;
        Ok(())
    }
}

impl HookSettings {
    /// The budget to use.
    pub fn budget(&self) -> Duration {
        self.budget.unwrap_or(DEFAULT_BUDGET)
    }
}

fn file(homes: &Homes) -> TomlFile {
    TomlFile::codexport(homes.local_toml())
}

/// `budget = "2s"`: a duration string (a wrong one is reported at its line and column).
fn budget<'de, D: Deserializer<'de>>(de: D) -> Result<Option<Duration>, D::Error> {
    let text = String::deserialize(de)
        .map_err(|_| serde::de::Error::custom("`hook.budget` must be a string like \"2s\""))?;
    crate::duration::parse_duration(&text)
        .map(Some)
        .map_err(|e| serde::de::Error::custom(format!("`hook.budget`: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Diagnose;

    fn homes(dir: &Path) -> Homes {
        Homes::new(dir, dir.join(".codex"), dir.join(".codexport"))
    }

    #[test]
    fn reads_every_key_and_ignores_unknown_ones() {
        let s = LocalSettings::parse(
            "master = \"http://h:1\"\nallowMcpOverrides = true\nkeepBackups = 3\nsomeday = 1\n\
             [pathVariables]\nworkspaceRoot = \"/w\"\n[hook]\ninstalled = true\nbudget = \"1500ms\"\n",
            Path::new("local.toml"),
        )
        .unwrap();
        assert_eq!(s.allow_mcp_overrides, Overrides::All);
        assert_eq!(s.allow_skill_overrides, Overrides::None);
        assert!(!s.from_original_tool());
        assert_eq!(s.keep_backups(), 3);
        assert_eq!(s.path_variables["workspaceRoot"], "/w");
        assert_eq!(s.master_host().as_deref(), Some("h"));
        assert!(s.hook.installed);
        assert_eq!(s.hook.budget(), Duration::from_millis(1500));
        assert!(s.trusts_master_hooks());
        assert_eq!(s.master_mcp_servers, MasterMcpServers::On);
        let s = LocalSettings::parse(
            "trustMasterHooks = false\nmasterMcpServers = \"off\"\n",
            Path::new("local.toml"),
        )
        .unwrap();
        assert!(!s.trusts_master_hooks());
        assert_eq!(s.master_mcp_servers, MasterMcpServers::Off);
        let err =
            LocalSettings::parse("masterMcpServers = \"maybe\"\n", Path::new("/t/local.toml"))
                .unwrap_err()
                .to_string();
        assert!(
            err.starts_with("`/t/local.toml:1:20` is not valid TOML: unknown variant `maybe`"),
            "{err}"
        );
        let default = LocalSettings::default();
        assert_eq!(default.keep_backups(), DEFAULT_KEEP_BACKUPS);
        assert_eq!(default.hook.budget(), DEFAULT_BUDGET);
    }

    #[test]
    fn a_wrong_value_is_one_message_at_its_line_and_column() {
        let err = LocalSettings::parse("allowMcpOverrides = \"yes\"\n", Path::new("/t/local.toml"))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "`/t/local.toml:1:21` is not valid TOML: invalid type: string \"yes\", expected `true`, `false` or a list of names like [\"local-name\"]"
        );
        assert_eq!(err.hints(), ["fix line 1 of `/t/local.toml`"]);
        let err = LocalSettings::parse("[hook]\nbudget = \"soon\"\n", Path::new("/t/local.toml"))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "`/t/local.toml:2:10` is not valid TOML: `hook.budget`: `soon` is not a duration like `500ms`, `5s`, `2m`, `24h` or `7d`"
        );
        let err =
            LocalSettings::parse("[hook]\nbudget = 2\n", Path::new("/t/local.toml")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "`/t/local.toml:2:10` is not valid TOML: `hook.budget` must be a string like \"2s\""
        );
    }

    #[test]
    fn override_lists_allow_the_names_in_them() {
        let s = LocalSettings::parse(
            "allowMcpOverrides = [\"local-name\"]\nallowSkillOverrides = false\n",
            Path::new("local.toml"),
        )
        .unwrap();
        assert!(s.allow_mcp_overrides.allows("local-name"));
        assert!(!s.allow_mcp_overrides.allows("other"));
        assert!(!s.allow_skill_overrides.allows("local-name"));
        let err = LocalSettings::parse("allowSkillOverrides = [1]\n", Path::new("/t/local.toml"))
            .unwrap_err();
        assert!(err.to_string().starts_with("`/t/local.toml:1:"), "{err}");
    }

    #[test]
    fn the_original_tools_file_is_recognised_and_join_keeps_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let homes = homes(dir.path());
        std::fs::create_dir_all(&homes.tool).unwrap();
        let original = "role = \"follower\"\nmasterUrl = \"http://m:17342\"\n\
                        masterFingerprint = \"sha256:ab\"\nlastRevision = \"r1\"\nport = 17342\n\
                        codexDir = \"/h/.codex\"\nallowSkillOverrides = [\"mine\"]\n\
                        [pathVariables]\nworkspaceRoot = \"/w\"\n";
        std::fs::write(homes.local_toml(), original).unwrap();
        let mut settings = LocalSettings::load(&homes).unwrap();
        assert!(settings.from_original_tool());
        let err = settings.master_url(&homes).unwrap_err();
        assert_eq!(err.exit_status(), crate::ExitStatus::Usage);
        assert!(err.to_string().contains("original codexport"), "{err}");
        settings.set_master(&homes, "http://m:17342").unwrap();
        assert_eq!(
            std::fs::read_to_string(homes.local_toml()).unwrap(),
            "allowSkillOverrides = [\"mine\"]\nmaster = \"http://m:17342\"\n\
             [pathVariables]\nworkspaceRoot = \"/w\"\n"
        );
        let joined = LocalSettings::load(&homes).unwrap();
        assert!(!joined.from_original_tool());
        assert_eq!(joined.master_url(&homes).unwrap(), "http://m:17342");
        assert!(joined.allow_skill_overrides.allows("mine"));
        assert_eq!(joined.path_variables["workspaceRoot"], "/w");
    }

    #[test]
    fn edits_keep_the_rest_of_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let homes = homes(dir.path());
        let mut settings = LocalSettings::load(&homes).unwrap();
        assert_eq!(settings, LocalSettings::default());
        let mine = "# mine\nallowMcpOverrides = true\n\n[pathVariables]\nw = \"/w\"\n";
        std::fs::create_dir_all(&homes.tool).unwrap();
        std::fs::write(homes.local_toml(), mine).unwrap();
        settings.hook = HookSettings {
            installed: true,
            budget: Some(Duration::from_millis(1500)),
        };
        settings.save_hook(&homes).unwrap();
        settings.set_master(&homes, "http://m:17342").unwrap();
        let text = std::fs::read_to_string(homes.local_toml()).unwrap();
        assert_eq!(
            text,
            "# mine\nallowMcpOverrides = true\nmaster = \"http://m:17342\"\n\n[pathVariables]\nw = \"/w\"\n\n\
             [hook]\ninstalled = true\nbudget = \"1500ms\"\n",
        );
        let loaded = LocalSettings::load(&homes).unwrap();
        assert_eq!(loaded.hook, settings.hook);
        assert_eq!(loaded.master.as_deref(), Some("http://m:17342"));
        settings.hook = HookSettings::default();
        settings.save_hook(&homes).unwrap();
        assert_eq!(
            LocalSettings::load(&homes).unwrap().hook,
            HookSettings::default()
        );
    }

    #[test]
    fn a_broken_file_is_not_rewritten() {
        let dir = tempfile::tempdir().unwrap();
        let homes = homes(dir.path());
        std::fs::create_dir_all(&homes.tool).unwrap();
        std::fs::write(homes.local_toml(), "master = \n").unwrap();
        let mut settings = LocalSettings::default();
        let err = settings.set_master(&homes, "http://m:1").unwrap_err();
        assert!(
            err.to_string()
                .starts_with(&format!("`{}:1:", homes.local_toml().display())),
            "{err}"
        );
        assert_eq!(
            std::fs::read_to_string(homes.local_toml()).unwrap(),
            "master = \n"
        );
    }
}
