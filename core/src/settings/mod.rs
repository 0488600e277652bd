//! Settings: the master's `master.toml`, the follower's `local.toml`, each read once per
//! command and passed down, and the one way codexport reads and edits a TOML file (Codex's
//! `config.toml` included).
//!
//! Both settings files deserialize with defaults and ignore unknown keys, so a setting added
//! later does not break an older codexport.

mod local;
mod master;
mod toml_file;

pub use local::{
    DEFAULT_BUDGET, DEFAULT_KEEP_BACKUPS, HookSettings, LocalSettings, MasterMcpServers,
    ORIGINAL_TOOL_KEYS, Overrides,
};
pub use master::{
    DEFAULT_ALLOW, DEFAULT_MASTER_TOML, DEFAULT_PORT, MasterSettings, SourceSettings,
};
pub use toml_file::{TomlFile, TomlOwner, deserialize, parse_document};
