//! Installing, removing and inspecting codexport's hook in a Codex home: `hooks.json` plus the
//! `[hooks.state]` trust entry in `config.toml` that lets it run with no prompt or flag.

use std::path::{Path, PathBuf};

use serde::Serialize;
use toml_edit::DocumentMut;

use super::file::{EVENT_SESSION_START, HooksFile, OurHook};
use super::trust::{HookState, handler_hash, read_states, remove_state, set_state, trust_key};
use crate::error::Error;
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

/// Where codexport's hook stands in a Codex home.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HookStatus {
    /// The Codex home's `hooks.json`.
    pub hooks_json: PathBuf,
    /// Whether our hook is in it.
    pub installed: bool,
    /// Its command, when installed.
    pub command: Option<String>,
    /// Its `[hooks.state]` key, when installed.
    pub trust_key: Option<String>,
    /// Whether `config.toml` trusts exactly this definition (Codex runs it).
    pub trusted: bool,
    /// Whether the user switched it off in Codex (`enabled = false`).
    pub disabled: bool,
    /// Handlers of other hooks in the file (the master's, the user's).
    pub other_handlers: usize,
}

impl HookStatus {
    /// Whether Codex will run the hook at the next session start.
    pub fn runs(&self) -> bool {
        self.installed && self.trusted && !self.disabled
    }
}

fn hooks_json(homes: &Homes) -> PathBuf {
    homes.codex.join("hooks.json")
}

fn config_toml(homes: &Homes) -> PathBuf {
    homes.codex.join("config.toml")
}

/// Puts `ours` into the Codex home's `hooks.json` (other hooks kept, ours never duplicated)
/// and trusts it in `config.toml`. The caller holds the tool home's lock.
pub fn install(homes: &Homes, ours: &OurHook) -> Result<Installed, Error> {
    std::fs::create_dir_all(&homes.codex).map_err(|e| Error::io("create", &homes.codex, e))?;
    let path = hooks_json(homes);
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
    let key = trust_key(&homes.codex_realpath(), EVENT_SESSION_START, g, h);

    // Trust first: a crash in between leaves a trusted entry with no hook (inert), never a
    // hook Codex silently skips.
    edit_config(&config_toml(homes), |doc| {
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
    Ok(Installed {
        hooks_json: path,
        position: (g, h),
        trust_key: key,
        trusted_hash: hash,
        replaced,
        dropped_root_keys: parsed.dropped_root_keys,
    })
}

/// Removes every codexport hook from `hooks.json` and their trust entries from `config.toml`;
/// returns how many hooks were removed. A `hooks.json` left with no hook at all is deleted.
pub fn uninstall(homes: &Homes) -> Result<usize, Error> {
    let path = hooks_json(homes);
    let mut file = HooksFile::read(&path)?.file;
    let removed = file.uninstall();
    if removed.is_empty() {
        return Ok(0);
    }
    if file.is_empty() {
        std::fs::remove_file(&path).map_err(|e| Error::io("remove", &path, e))?;
    } else {
        write_hooks(&path, &file)?;
    }
    let real = homes.codex_realpath();
    edit_config(&config_toml(homes), |doc| {
        for &(g, h) in &removed {
            remove_state(doc, &trust_key(&real, EVENT_SESSION_START, g, h));
        }
    })?;
    Ok(removed.len())
}

/// Reads where codexport's hook stands (nothing is written).
pub fn status(homes: &Homes) -> Result<HookStatus, Error> {
    let path = hooks_json(homes);
    let file = HooksFile::read(&path)?.file;
    let total: usize = file.hooks.values().flatten().map(|g| g.hooks.len()).sum();
    let Some((g, h)) = file.find_ours() else {
        return Ok(HookStatus {
            hooks_json: path,
            installed: false,
            command: None,
            trust_key: None,
            trusted: false,
            disabled: false,
            other_handlers: total,
        });
    };
    let group = &file.groups(EVENT_SESSION_START)[g];
    let handler = &group.hooks[h];
    let hash = handler_hash(EVENT_SESSION_START, group.matcher.as_deref(), handler);
    let key = trust_key(&homes.codex_realpath(), EVENT_SESSION_START, g, h);
    let state = read_config(&config_toml(homes))?
        .and_then(|doc| read_states(&doc).remove(&key))
        .unwrap_or_default();
    Ok(HookStatus {
        hooks_json: path,
        installed: true,
        command: handler.command.clone(),
        trusted: hash.is_some() && state.trusted_hash == hash,
        disabled: state.enabled == Some(false),
        trust_key: Some(key),
        other_handlers: total - 1,
    })
}

fn write_hooks(path: &Path, file: &HooksFile) -> Result<(), Error> {
    fsx::write_atomic(path, file.to_json().as_bytes(), None)
        .map_err(|e| Error::io("write", path, e))
}

fn read_config(path: &Path) -> Result<Option<DocumentMut>, Error> {
    match std::fs::read_to_string(path) {
        Ok(text) => crate::layer::parse_toml(&text, path).map(Some),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io("read", path, e)),
    }
}

/// Edits `config.toml` in place (formatting and comments kept, mode kept; a new file is
/// 0600 like the ones Codex writes). Nothing is written when the edit changes nothing.
fn edit_config(path: &Path, edit: impl FnOnce(&mut DocumentMut)) -> Result<(), Error> {
    let before = read_config(path)?;
    let mode = match std::fs::metadata(path) {
        Ok(meta) => fsx::mode_of(&meta),
        Err(_) => fsx::SECRET_MODE,
    };
    let mut doc = before.clone().unwrap_or_default();
    edit(&mut doc);
    let text = doc.to_string();
    if before.is_some_and(|b| b.to_string() == text) || (text.is_empty() && !path.exists()) {
        return Ok(());
    }
    fsx::write_atomic(path, text.as_bytes(), Some(mode)).map_err(|e| Error::io("write", path, e))
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
        std::fs::write(homes.codex.join("hooks.json"), MASTER_HOOKS).unwrap();
        let config = "# keep me\nmodel = \"o3\"\n";
        std::fs::write(homes.codex.join("config.toml"), config).unwrap();

        let done = install(&homes, &ours()).unwrap();
        assert_eq!(done.position, (1, 0));
        assert!(!done.replaced);
        let real = std::fs::canonicalize(&homes.codex).unwrap();
        assert_eq!(
            done.trust_key,
            format!("{}/hooks.json:session_start:1:0", real.display())
        );
        let written = std::fs::read_to_string(homes.codex.join("config.toml")).unwrap();
        assert!(written.starts_with(config), "{written}");
        assert!(written.contains(&done.trusted_hash));

        let st = status(&homes).unwrap();
        assert!(st.runs(), "{st:?}");
        assert_eq!(st.other_handlers, 1);

        // Again: replaced in place, not duplicated.
        let again = install(&homes, &ours()).unwrap();
        assert!(again.replaced);
        assert_eq!(again.position, (1, 0));
        let file = HooksFile::read(&homes.codex.join("hooks.json"))
            .unwrap()
            .file;
        assert_eq!(file.groups(EVENT_SESSION_START).len(), 2);

        assert_eq!(uninstall(&homes).unwrap(), 1);
        let file = HooksFile::read(&homes.codex.join("hooks.json"))
            .unwrap()
            .file;
        let master = HooksFile::parse(MASTER_HOOKS.as_bytes(), Path::new("m")).unwrap();
        assert_eq!(file, master.file, "the master's hooks are untouched");
        assert_eq!(
            std::fs::read_to_string(homes.codex.join("config.toml")).unwrap(),
            config
        );
        assert!(!status(&homes).unwrap().installed);
        assert_eq!(uninstall(&homes).unwrap(), 0);
    }

    #[test]
    fn a_changed_definition_is_no_longer_trusted() {
        let dir = tempfile::tempdir().unwrap();
        let homes = homes(dir.path());
        install(&homes, &ours()).unwrap();
        let path = homes.codex.join("hooks.json");
        let text = std::fs::read_to_string(&path)
            .unwrap()
            .replace("\"timeout\": 5", "\"timeout\": 9");
        std::fs::write(&path, text).unwrap();
        let st = status(&homes).unwrap();
        assert!(st.installed && !st.trusted && !st.runs());
    }

    #[test]
    fn uninstall_of_the_only_hook_removes_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let homes = homes(dir.path());
        install(&homes, &ours()).unwrap();
        assert_eq!(uninstall(&homes).unwrap(), 1);
        assert!(!homes.codex.join("hooks.json").exists());
        assert_eq!(
            std::fs::read_to_string(homes.codex.join("config.toml")).unwrap(),
            ""
        );
    }

    #[test]
    fn invalid_files_are_refused_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let homes = homes(dir.path());
        std::fs::create_dir_all(&homes.codex).unwrap();
        std::fs::write(homes.codex.join("hooks.json"), "{oops").unwrap();
        assert!(matches!(
            install(&homes, &ours()),
            Err(Error::InvalidJson { .. })
        ));
        std::fs::write(homes.codex.join("hooks.json"), MASTER_HOOKS).unwrap();
        std::fs::write(homes.codex.join("config.toml"), "model = \n").unwrap();
        assert!(matches!(
            install(&homes, &ours()),
            Err(Error::InvalidToml { .. })
        ));
        assert_eq!(
            std::fs::read_to_string(homes.codex.join("hooks.json")).unwrap(),
            MASTER_HOOKS
        );
    }
}
