//! Where Codex's home, codexport's tool home and the user's home are, and the files in them.

use std::path::{Path, PathBuf};

use crate::env;

/// The three roots every command works from.
///
/// Resolved once from the environment at start-up and passed down, so no module reads
/// `HOME`, `CODEX_HOME` or `CODEXPORT_HOME` itself (tests set them per process).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Homes {
    /// The user's home directory.
    pub user: PathBuf,
    /// Codex's home: `$CODEX_HOME`, else `~/.codex`.
    pub codex: PathBuf,
    /// codexport's tool home: `$CODEXPORT_HOME`, else `~/.codexport`.
    pub tool: PathBuf,
}

/// The user's home could not be determined.
#[derive(Debug, thiserror::Error)]
#[error(
    "cannot find the home directory: neither `{}` nor `{}` is set",
    env::HOME,
    env::USERPROFILE
)]
pub struct NoHomeDir;

impl crate::Diagnose for NoHomeDir {
    fn exit_status(&self) -> crate::ExitStatus {
        crate::ExitStatus::Usage
    }
    fn hints(&self) -> Vec<String> {
        vec![format!("set `{}` to your home directory", env::HOME)]
    }
}

impl Homes {
    /// Resolves the homes from the process environment.
    pub fn from_env() -> Result<Self, NoHomeDir> {
        Self::from_lookup(|name| std::env::var_os(name))
    }

    /// Resolves the homes from any variable lookup (tests pass a map).
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<std::ffi::OsString>,
    ) -> Result<Self, NoHomeDir> {
        let non_empty = |name: &str| lookup(name).filter(|v| !v.is_empty()).map(PathBuf::from);
        let user = if cfg!(windows) {
            non_empty(env::USERPROFILE).or_else(|| non_empty(env::HOME))
        } else {
            non_empty(env::HOME).or_else(|| non_empty(env::USERPROFILE))
        }
        .ok_or(NoHomeDir)?;
        let codex = non_empty(env::CODEX_HOME).unwrap_or_else(|| user.join(".codex"));
        let tool = non_empty(env::CODEXPORT_HOME).unwrap_or_else(|| user.join(".codexport"));
        Ok(Self { user, codex, tool })
    }

    /// Homes rooted at explicit paths (tests, the demo).
    pub fn new(
        user: impl Into<PathBuf>,
        codex: impl Into<PathBuf>,
        tool: impl Into<PathBuf>,
    ) -> Self {
        Self {
            user: user.into(),
            codex: codex.into(),
            tool: tool.into(),
        }
    }

    /// Whether the tool home is the default one (`~/.codexport`). When it is not, generated MCP
    /// entries must carry `CODEXPORT_HOME`, because Codex passes MCP servers no such variable.
    pub fn tool_is_default(&self) -> bool {
        self.tool == self.user.join(".codexport")
    }

    fn in_tool(&self, name: &str) -> PathBuf {
        self.tool.join(name)
    }

    /// `identity.json`: the master's key, or the follower's pinned master key.
    pub fn identity(&self) -> PathBuf {
        self.in_tool("identity.json")
    }
    /// `master.toml`: master settings.
    pub fn master_toml(&self) -> PathBuf {
        self.in_tool("master.toml")
    }
    /// `local.toml`: follower settings.
    pub fn local_toml(&self) -> PathBuf {
        self.in_tool("local.toml")
    }
    /// `mcps.local.toml`: follower-only MCP tables.
    pub fn mcps_local_toml(&self) -> PathBuf {
        self.in_tool("mcps.local.toml")
    }
    /// `skills/`: follower-only skills.
    pub fn local_skills(&self) -> PathBuf {
        self.in_tool("skills")
    }
    /// `overrides/`: explicit same-name overrides of canonical skills.
    pub fn overrides(&self) -> PathBuf {
        self.in_tool("overrides")
    }
    /// `objects/`: the content-addressed store.
    pub fn objects(&self) -> PathBuf {
        self.in_tool("objects")
    }
    /// `revisions/`: the last signed revisions (`<seq>.json`, 0600), which `gc` keeps the
    /// objects of: v2 roots on the master, the staged envelopes on a follower.
    pub fn revisions(&self) -> PathBuf {
        self.in_tool("revisions")
    }
    /// `state.json`: the follower's applied revision and managed files.
    pub fn state(&self) -> PathBuf {
        self.in_tool("state.json")
    }
    /// `mcp-manifest.json`: every MCP entry with artifact spec and env (0600).
    pub fn mcp_manifest(&self) -> PathBuf {
        self.in_tool("mcp-manifest.json")
    }
    /// `mcp-artifacts/`: hydrated artifacts.
    pub fn mcp_artifacts(&self) -> PathBuf {
        self.in_tool("mcp-artifacts")
    }
    /// `resolvers/`: wasm resolver plugins.
    pub fn resolvers(&self) -> PathBuf {
        self.in_tool("resolvers")
    }
    /// `bin/`: the stable home of `codexport` and `codexport-mcp-run` (see [`crate::binaries`]).
    pub fn bin(&self) -> PathBuf {
        self.in_tool("bin")
    }
    /// The installed `codexport` that hooks and services run.
    pub fn codexport(&self) -> PathBuf {
        self.bin().join(codexport_file_name())
    }
    /// The launcher path that generated `config.toml` entries point at.
    pub fn launcher(&self) -> PathBuf {
        self.bin().join(launcher_file_name())
    }
    /// `backups/`: what applies replaced.
    pub fn backups(&self) -> PathBuf {
        self.in_tool("backups")
    }
    /// `logs/`: hook and launcher logs.
    pub fn logs(&self) -> PathBuf {
        self.in_tool("logs")
    }
    /// `journal/`: the apply journal; present only while an apply runs or after a crash.
    pub fn journal(&self) -> PathBuf {
        self.in_tool("journal")
    }
    /// `generated/`: what the last apply generated for layered files (`config.toml`,
    /// `rules/default.rules`), the base of the next three-way merge.
    pub fn generated(&self) -> PathBuf {
        self.in_tool("generated")
    }
    /// `followers.json`: the master's follower tokens, hashed (0600).
    pub fn followers(&self) -> PathBuf {
        self.in_tool("followers.json")
    }
    /// `followers-seen.json`: when each follower was last seen by `master serve`, and its version.
    pub fn followers_seen(&self) -> PathBuf {
        self.in_tool("followers-seen.json")
    }
    /// `tls.json`: the master's TLS certificate for its identity key.
    pub fn tls_certificate(&self) -> PathBuf {
        self.in_tool("tls.json")
    }
    /// `revision.json`: the master's last signed revision (0600: MCP env values).
    pub fn published_revision(&self) -> PathBuf {
        self.in_tool("revision.json")
    }
    /// `staged.json`: the follower's verified, fetched, not necessarily applied revision.
    pub fn staged_revision(&self) -> PathBuf {
        self.in_tool("staged.json")
    }
    /// `last-sync.json`: when the follower last synced and how it went.
    pub fn last_sync(&self) -> PathBuf {
        self.in_tool("last-sync.json")
    }
    /// `lock`: held by sync and apply.
    pub fn lock(&self) -> PathBuf {
        self.in_tool("lock")
    }

    /// `followers.lock`: held while `followers.json` is read, changed and written
    /// ([`Followers::update`](crate::master::tokens::Followers::update)).
    pub fn followers_lock(&self) -> PathBuf {
        self.in_tool("followers.lock")
    }

    /// `publish.lock`: held by the master while it signs and writes a revision.
    pub fn publish_lock(&self) -> PathBuf {
        self.in_tool("publish.lock")
    }

    /// Codex's `config.toml`.
    pub fn codex_config(&self) -> PathBuf {
        self.codex.join("config.toml")
    }
    /// Codex's `hooks.json`.
    pub fn hooks_json(&self) -> PathBuf {
        self.codex.join("hooks.json")
    }
    /// `logs/hook.log`: one line per SessionStart hook run.
    pub fn hook_log(&self) -> PathBuf {
        self.logs().join("hook.log")
    }

    /// The Codex home with symlinks resolved when it exists (Codex keys hook trust on it).
    pub fn codex_realpath(&self) -> PathBuf {
        std::fs::canonicalize(&self.codex).unwrap_or_else(|_| self.codex.clone())
    }

    /// Whether `path` lies inside the Codex home (lexically).
    pub fn in_codex(&self, path: &Path) -> bool {
        path.starts_with(&self.codex)
    }
}

/// `codexport`, with `.exe` on Windows.
pub fn codexport_file_name() -> &'static str {
    if cfg!(windows) {
        "codexport.exe"
    } else {
        "codexport"
    }
}

/// `codexport-mcp-run`, with `.exe` on Windows.
pub fn launcher_file_name() -> &'static str {
    if cfg!(windows) {
        "codexport-mcp-run.exe"
    } else {
        "codexport-mcp-run"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::ffi::OsString;

    fn homes(vars: &[(&str, &str)]) -> Result<Homes, NoHomeDir> {
        let map: HashMap<String, OsString> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), OsString::from(v)))
            .collect();
        Homes::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_hang_off_the_user_home() {
        let h = homes(&[("HOME", "/home/a"), ("USERPROFILE", "/home/a")]).unwrap();
        assert_eq!(h.codex, Path::new("/home/a").join(".codex"));
        assert_eq!(h.tool, Path::new("/home/a").join(".codexport"));
        assert!(h.tool_is_default());
    }

    #[test]
    fn empty_overrides_are_ignored_and_set_ones_win() {
        let h = homes(&[
            ("HOME", "/h"),
            ("USERPROFILE", "/h"),
            ("CODEX_HOME", ""),
            ("CODEXPORT_HOME", "/t"),
        ])
        .unwrap();
        assert_eq!(h.codex, Path::new("/h").join(".codex"));
        assert_eq!(h.tool, PathBuf::from("/t"));
        assert!(!h.tool_is_default());
    }

    #[cfg(windows)]
    #[test]
    fn windows_homes_hang_off_userprofile_with_spaces_and_non_ascii() {
        // Wine passes the Unix `HOME` through: `USERPROFILE` wins on Windows.
        let h = homes(&[
            ("HOME", "/root"),
            ("USERPROFILE", r"C:\Users\Åsa Öberg 日本"),
        ])
        .unwrap();
        assert_eq!(h.user, Path::new(r"C:\Users\Åsa Öberg 日本"));
        assert_eq!(h.codex, Path::new(r"C:\Users\Åsa Öberg 日本\.codex"));
        assert_eq!(h.tool, Path::new(r"C:\Users\Åsa Öberg 日本\.codexport"));
        assert_eq!(
            h.launcher(),
            Path::new(r"C:\Users\Åsa Öberg 日本\.codexport\bin\codexport-mcp-run.exe")
        );
        assert!(h.tool_is_default());
        let h = homes(&[
            ("USERPROFILE", r"C:\Users\al"),
            ("CODEX_HOME", r"D:\codex home"),
            ("CODEXPORT_HOME", r"\\server\share\cx"),
        ])
        .unwrap();
        assert_eq!(h.codex_config(), Path::new(r"D:\codex home\config.toml"));
        assert_eq!(h.lock(), Path::new(r"\\server\share\cx\lock"));
        assert!(!h.tool_is_default());
        // What wine (and Windows) set for a real process.
        let real = Homes::from_env().unwrap();
        assert_eq!(
            real.user,
            Path::new(&std::env::var_os("USERPROFILE").unwrap())
        );
    }

    #[test]
    fn no_home_is_an_error() {
        assert!(homes(&[]).is_err());
    }
}
