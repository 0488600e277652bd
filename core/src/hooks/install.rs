//! Installing, removing and inspecting codexport's hook in a Codex home: `hooks.json` plus the
//! `[hooks.state]` trust entry in `config.toml` that lets it run with no prompt or flag.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::file::{EVENT_SESSION_START, HooksFile, OurHook};
use super::trust::{
    HookState, handler_hash, read_states, remove_state, set_state, trust_home, trust_key,
};
use crate::error::Error;
use crate::follower::apply::transform::HOOKS_JSON as HOOKS_FILE;
use crate::follower::state::State;
use crate::master::selection::Root;
use crate::settings::TomlFile;
use crate::{Homes, fsx};

/// What [`install`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Installed {
    /// The `hooks.json` written.
    pub hooks_json: PathBuf,
    /// Group and handler index of our hook under `SessionStart`.
    pub position: (usize, usize),
    /// Its `[hooks.state]` key.
    pub trust_key: String,
    /// Its `trusted_hash`.
    pub trusted_hash: String,
    /// Whether a codexport hook was there before (and was replaced in place).
    pub replaced: bool,
    /// Root keys dropped from `hooks.json` (Codex ignored the file while they were there).
    pub dropped_root_keys: Vec<String>,
}

/// How Codex treats a hook, in the words of its `hooks/list` (`trustStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Trust {
    /// `config.toml` trusts exactly this definition: Codex runs it.
    Trusted,
    /// No trusted hash: Codex silently skips it.
    Untrusted,
    /// Trusted once, changed since: Codex skips it until trusted again.
    Modified,
}

/// One handler of the Codex home's `hooks.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListedHook {
    /// Codex's event name (`SessionStart`, `Stop`, ...).
    pub event: String,
    /// Its `[hooks.state]` key.
    pub key: String,
    /// The group's matcher.
    pub matcher: Option<String>,
    /// The command (`None` for handlers that are not commands).
    pub command: Option<String>,
    /// Whether Codex runs it.
    pub trust: Trust,
    /// Whether the user switched it off (`enabled = false`).
    pub disabled: bool,
    /// Whether it is codexport's own hook.
    pub ours: bool,
}

/// Where codexport's hook stands in a Codex home, and every other hook next to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HookStatus {
    /// The Codex home's `hooks.json`.
    pub hooks_json: PathBuf,
    /// Every handler, in Codex's order (events by name, then groups and handlers).
    pub hooks: Vec<ListedHook>,
}

impl HookStatus {
    /// codexport's hook, when installed.
    pub fn ours(&self) -> Option<&ListedHook> {
        self.hooks.iter().find(|h| h.ours)
    }

    /// Whether Codex will run codexport's hook at the next session start.
    pub fn runs(&self) -> bool {
        self.ours()
            .is_some_and(|h| h.trust == Trust::Trusted && !h.disabled)
    }
}

/// Puts `ours` into the Codex home's `hooks.json` (other hooks kept, ours never duplicated)
/// and trusts it in `config.toml`. The caller holds the tool home's lock.
pub fn install(homes: &Homes, ours: &OurHook) -> Result<Installed, Error> {
    std::fs::create_dir_all(&homes.codex).map_err(|e| Error::io("create", &homes.codex, e))?;
    let path = homes.hooks_json();
    let parsed = HooksFile::read(&path)?;
    let mut file = parsed.file;
    let replaced = file.find_ours().is_some();
    let (g, h) = file.install(ours);
    let group = &file.groups(EVENT_SESSION_START)[g];
    let hash = handler_hash(
        EVENT_SESSION_START,
        group.matcher.as_deref(),
        &group.hooks[h],
    )
    .expect("our hook is a command");
    let key = trust_key(&trust_home(homes), EVENT_SESSION_START, g, h);

    // Trust first: a crash in between leaves a trusted entry with no hook (inert), never a
    // hook Codex silently skips.
    TomlFile::codex(homes.codex_config()).edit(|doc| {
        set_state(
            doc,
            &key,
            &HookState {
                trusted_hash: Some(hash.clone()),
                enabled: None,
            },
        );
    })?;
    write_hooks(&path, &file)?;
    State::rewrote_managed(homes, Root::Codex, HOOKS_FILE)?;
    Ok(Installed {
        hooks_json: path,
        position: (g, h),
        trust_key: key,
        trusted_hash: hash,
        replaced,
        dropped_root_keys: parsed.dropped_root_keys,
    })
}

/// Sets the `trusted_hash` of the `[hooks.state]` entry `key` to `hash` (its `enabled` kept):
/// for when Codex's own `currentHash` disagrees with codexport's recipe (a newer Codex). The
/// caller holds the tool home's lock.
pub fn retrust(homes: &Homes, key: &str, hash: &str) -> Result<(), Error> {
    TomlFile::codex(homes.codex_config()).edit(|doc| {
        let enabled = read_states(doc).get(key).and_then(|s| s.enabled);
        set_state(
            doc,
            key,
            &HookState {
                trusted_hash: Some(hash.to_owned()),
                enabled,
            },
        );
    })?;
    Ok(())
}

/// Removes every codexport hook from `hooks.json` and their trust entries from `config.toml`;
/// returns how many hooks were removed. A `hooks.json` left with no hook at all is deleted.
pub fn uninstall(homes: &Homes) -> Result<usize, Error> {
    let path = homes.hooks_json();
    let mut file = HooksFile::read(&path)?.file;
    let removed = file.uninstall();
    if removed.is_empty() {
        return Ok(0);
    }
    if file.is_empty() {
        std::fs::remove_file(&path).map_err(|e| Error::io("remove", &path, e))?;
    } else {
        write_hooks(&path, &file)?;
        State::rewrote_managed(homes, Root::Codex, HOOKS_FILE)?;
    }
    let real = trust_home(homes);
    TomlFile::codex(homes.codex_config()).edit(|doc| {
        for &(g, h) in &removed {
            remove_state(doc, &trust_key(&real, EVENT_SESSION_START, g, h));
        }
    })?;
    Ok(removed.len())
}

/// Reads every hook of the Codex home and how Codex treats it (nothing is written).
pub fn status(homes: &Homes) -> Result<HookStatus, Error> {
    let path = homes.hooks_json();
    let file = HooksFile::read(&path)?.file;
    let states = TomlFile::codex(homes.codex_config())
        .read()?
        .map(|doc| read_states(&doc))
        .unwrap_or_default();
    let real = trust_home(homes);
    let mut hooks = Vec::new();
    for (event, groups) in &file.hooks {
        for (g, group) in groups.iter().enumerate() {
            for (h, handler) in group.hooks.iter().enumerate() {
                let key = trust_key(&real, event, g, h);
                let state = states.get(&key).cloned().unwrap_or_default();
                let hash = handler_hash(event, group.matcher.as_deref(), handler);
                let trust = match (&state.trusted_hash, &hash) {
                    (Some(t), Some(h)) if t == h => Trust::Trusted,
                    (Some(_), _) => Trust::Modified,
                    (None, _) => Trust::Untrusted,
                };
                hooks.push(ListedHook {
                    event: event.clone(),
                    key,
                    matcher: group.matcher.clone(),
                    command: handler.command.clone(),
                    trust,
                    disabled: state.enabled == Some(false),
                    ours: event == EVENT_SESSION_START && OurHook::is_ours(handler),
                });
            }
        }
    }
    Ok(HookStatus {
        hooks_json: path,
        hooks,
    })
}

fn write_hooks(path: &Path, file: &HooksFile) -> Result<(), Error> {
    // 0644, as apply writes it: otherwise `verify` sees the mode differ from a fresh apply.
    fsx::write_atomic(path, file.to_json().as_bytes(), Some(0o644))
        .map_err(|e| Error::io("write", path, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hooks::HooksFile;

    const MASTER_HOOKS: &str = r#"{"hooks": {"SessionStart": [{"matcher": "startup",
      "hooks": [{"type": "command", "command": "echo master"}]}]}}"#;

    fn homes(dir: &Path) -> Homes {
        Homes::new(dir, dir.join(".codex"), dir.join(".codexport"))
    }

    fn ours() -> OurHook {
        OurHook::new(Path::new("/usr/local/bin/codexport"), 2, None)
    }

    #[test]
    fn install_into_a_home_with_master_hooks_then_uninstall() {
        let dir = tempfile::tempdir().unwrap();
        let homes = homes(dir.path());
        std::fs::create_dir_all(&homes.codex).unwrap();
        std::fs::write(homes.hooks_json(), MASTER_HOOKS).unwrap();
        let config = "# keep me\nmodel = \"o3\"\n";
        std::fs::write(homes.codex_config(), config).unwrap();

        let done = install(&homes, &ours()).unwrap();
        assert_eq!(done.position, (1, 0));
        assert!(!done.replaced);
        // Codex keys the default home as is on Windows, by its real path elsewhere.
        let key = if cfg!(windows) {
            format!(r"{}\hooks.json:session_start:1:0", homes.codex.display())
        } else {
            let real = std::fs::canonicalize(&homes.codex).unwrap();
            format!("{}/hooks.json:session_start:1:0", real.display())
        };
        assert_eq!(done.trust_key, key);
        let written = std::fs::read_to_string(homes.codex_config()).unwrap();
        assert!(written.starts_with(config), "{written}");
        assert!(written.contains(&done.trusted_hash));

        let st = status(&homes).unwrap();
        assert!(st.runs(), "{st:?}");
        assert_eq!(st.hooks.len(), 2);
        assert_eq!(
            st.hooks[0].trust,
            Trust::Untrusted,
            "nobody trusted the master's here"
        );
        assert_eq!(st.ours().unwrap().key, done.trust_key);

        // Again: replaced in place, not duplicated.
        let again = install(&homes, &ours()).unwrap();
        assert!(again.replaced);
        assert_eq!(again.position, (1, 0));
        let file = HooksFile::read(&homes.hooks_json()).unwrap().file;
        assert_eq!(file.groups(EVENT_SESSION_START).len(), 2);

        assert_eq!(uninstall(&homes).unwrap(), 1);
        let file = HooksFile::read(&homes.hooks_json()).unwrap().file;
        let master = HooksFile::parse(MASTER_HOOKS.as_bytes(), Path::new("m")).unwrap();
        assert_eq!(file, master.file, "the master's hooks are untouched");
        assert_eq!(
            std::fs::read_to_string(homes.codex_config()).unwrap(),
            config
        );
        assert!(status(&homes).unwrap().ours().is_none());
        assert_eq!(uninstall(&homes).unwrap(), 0);
    }

    #[test]
    fn a_changed_definition_is_no_longer_trusted() {
        let dir = tempfile::tempdir().unwrap();
        let homes = homes(dir.path());
        install(&homes, &ours()).unwrap();
        let path = homes.hooks_json();
        let text = std::fs::read_to_string(&path)
            .unwrap()
            .replace("\"timeout\": 5", "\"timeout\": 9");
        std::fs::write(&path, text).unwrap();
        let st = status(&homes).unwrap();
        assert_eq!(st.ours().unwrap().trust, Trust::Modified);
        assert!(!st.runs());
    }

    #[test]
    fn uninstall_of_the_only_hook_removes_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let homes = homes(dir.path());
        install(&homes, &ours()).unwrap();
        assert_eq!(uninstall(&homes).unwrap(), 1);
        assert!(!homes.hooks_json().exists());
        assert_eq!(std::fs::read_to_string(homes.codex_config()).unwrap(), "");
    }

    #[test]
    fn invalid_files_are_refused_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let homes = homes(dir.path());
        std::fs::create_dir_all(&homes.codex).unwrap();
        std::fs::write(homes.hooks_json(), "{oops").unwrap();
        assert!(matches!(
            install(&homes, &ours()),
            Err(Error::InvalidJson { .. })
        ));
        std::fs::write(homes.hooks_json(), MASTER_HOOKS).unwrap();
        std::fs::write(homes.codex_config(), "model = \n").unwrap();
        assert!(matches!(
            install(&homes, &ours()),
            Err(Error::InvalidToml { .. })
        ));
        assert_eq!(
            std::fs::read_to_string(homes.hooks_json()).unwrap(),
            MASTER_HOOKS
        );
    }
}
