//! The master's hooks on a follower: `hooks.json` with the master's paths rewritten, and the
//! master's trust carried over, so a hook the master trusts runs on the follower too.
//!
//! Trust never travels as is: its key holds the Codex home's absolute path and its hash covers
//! the command, both of which differ on the follower. A hook is trusted here only when the
//! master trusts it (its `trusted_hash` matches its definition on the master); then the
//! follower gets an entry under its own key with the hash of the rewritten definition.

use std::collections::BTreeMap;
use std::path::Path;

use toml_edit::DocumentMut;

use super::file::HooksFile;
use super::trust::{
    HookOs, HookState, event_label, handler_hash, handler_hash_on, read_states, remove_state,
    set_state,
};
use crate::error::Error;
use crate::pathmap::PathMap;

/// The master's `hooks.json` for this follower: `command` and `commandWindows` rewritten from
/// the master's paths to the follower's. Group and handler order is kept, so trust indices
/// stay the master's.
pub fn master_hooks_for_follower(master: &HooksFile, map: &PathMap) -> Result<HooksFile, Error> {
    let mut out = master.clone();
    for handler in out
        .hooks
        .values_mut()
        .flatten()
        .flat_map(|group| group.hooks.iter_mut())
    {
        for command in [&mut handler.command, &mut handler.command_windows]
            .into_iter()
            .flatten()
        {
            *command = map.rewrite(command)?;
        }
    }
    Ok(out)
}

/// What the follower's `config.toml` needs for the master's hooks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HookTrust {
    /// Keys of the master's `[hooks.state]` that name the master's own `hooks.json`; they mean
    /// nothing on the follower and must not be copied (even rewritten: the hash may be stale).
    pub master_keys: Vec<String>,
    /// The follower's entries: its own key → state (trusted hash recomputed, `enabled` kept).
    pub entries: BTreeMap<String, HookState>,
}

impl HookTrust {
    /// Removes the master's keys from a document (the canonical config, before its paths are
    /// rewritten).
    pub fn strip_master_keys(&self, doc: &mut DocumentMut) {
        for key in &self.master_keys {
            remove_state(doc, key);
        }
    }

    /// Writes the follower's entries into a document (the generated config).
    pub fn write(&self, doc: &mut DocumentMut) {
        for (key, state) in &self.entries {
            set_state(doc, key, state);
        }
    }
}

/// Carries the trust of the master's hooks (`canonical`: the master's `config.toml`; `master`:
/// its `hooks.json`, in `master_codex_home`) to `follower` (the same hooks as written here, see
/// [`master_hooks_for_follower`]) in the Codex home whose real path is `follower_codex_realpath`.
///
/// A hook the master did not trust (no entry, or a hash that no longer matches) gets no
/// `trusted_hash`, so it stays untrusted; its `enabled` setting is still carried.
pub fn carry_master_trust(
    canonical: &DocumentMut,
    master: &HooksFile,
    master_codex_home: &str,
    follower: &HooksFile,
    follower_codex_realpath: &Path,
) -> HookTrust {
    let mut trust = HookTrust::default();
    // The master's trust is checked with its own Codex's recipe (Windows hashes commandWindows).
    let master_os = if is_windows_path(master_codex_home) {
        HookOs::Windows
    } else {
        HookOs::Unix
    };
    for (key, state) in read_states(canonical) {
        let Some((dir, label, group, handler)) = split_key(&key) else {
            continue;
        };
        if !same_dir(dir, master_codex_home) {
            continue;
        }
        trust.master_keys.push(key.clone());
        let Some(event) = master.hooks.keys().find(|e| event_label(e) == label) else {
            continue;
        };
        let handler_of = |file: &HooksFile| {
            let g = file.groups(event).get(group)?;
            Some((g.matcher.clone(), g.hooks.get(handler)?.clone()))
        };
        let trusted_on_master = handler_of(master)
            .and_then(|(m, h)| handler_hash_on(master_os, event, m.as_deref(), &h))
            .is_some_and(|h| Some(h) == state.trusted_hash);
        let carried = HookState {
            trusted_hash: handler_of(follower)
                .and_then(|(m, h)| handler_hash(event, m.as_deref(), &h))
                .filter(|_| trusted_on_master),
            enabled: state.enabled,
        };
        if carried != HookState::default() {
            trust.entries.insert(
                super::trust::trust_key(follower_codex_realpath, event, group, handler),
                carried,
            );
        }
    }
    trust
}

/// `<dir>/hooks.json:<label>:<group>:<handler>` → its parts (the directory may hold `:`, as
/// Windows drive letters do, so the key is split from the right).
fn split_key(key: &str) -> Option<(&str, &str, usize, usize)> {
    let mut parts = key.rsplitn(4, ':');
    let handler = parts.next()?.parse().ok()?;
    let group = parts.next()?.parse().ok()?;
    let label = parts.next()?;
    let file = parts.next()?;
    let dir = file.strip_suffix("hooks.json")?.strip_suffix(['/', '\\'])?;
    Some((dir, label, group, handler))
}

/// Whether two spellings name the same directory (trailing separators and, for Windows
/// paths, case and separator style aside).
fn same_dir(a: &str, b: &str) -> bool {
    // `\\?\C:\x` is how Windows canonicalises `C:\x` (Codex keys a CODEX_HOME so).
    let trim = |s: &str| {
        s.strip_prefix(r"\\?\")
            .unwrap_or(s)
            .trim_end_matches(['/', '\\'])
            .to_owned()
    };
    let (a, b) = (trim(a), trim(b));
    if is_windows_path(&a) && is_windows_path(&b) {
        a.replace('\\', "/")
            .eq_ignore_ascii_case(&b.replace('\\', "/"))
    } else {
        a == b
    }
}

/// Whether `path` is spelled as a Windows path (`C:...`, or `\\?\C:...`).
fn is_windows_path(path: &str) -> bool {
    let path = path.strip_prefix(r"\\?\").unwrap_or(path);
    path.as_bytes().get(1) == Some(&b':')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Homes;
    use crate::hooks::{EVENT_SESSION_START, OurHook};
    use crate::mcp::manifest::MasterPaths;

    const MASTER_HOOKS: &str = r#"{"hooks": {
      "SessionStart": [
        {"matcher": "startup", "hooks": [
          {"type": "command", "command": "/home/al/.codex/hooks/greet.sh", "timeout": 5},
          {"type": "command", "command": "echo untrusted"}
        ]}
      ],
      "Stop": [{"hooks": [{"type": "command", "command": "echo bye"}]}]
    }}"#;

    fn master_paths() -> MasterPaths {
        MasterPaths {
            os: "linux".into(),
            home: "/home/al".into(),
            codex_home: "/home/al/.codex".into(),
        }
    }

    /// The follower is this machine: a Windows one when the tests run there (under wine), so
    /// these cover a Linux master's hooks on a Windows follower too.
    const BO: &str = if cfg!(windows) {
        r"C:\Users\bo"
    } else {
        "/home/bo"
    };
    /// The follower's Codex home, by its real path.
    const REAL: &str = if cfg!(windows) {
        r"C:\data\bo-codex"
    } else {
        "/data/bo-codex"
    };

    fn follower_homes() -> Homes {
        let bo = Path::new(BO);
        Homes::new(bo, bo.join(".codex"), bo.join(".codexport"))
    }

    /// A trust key of the follower's `hooks.json`: its home joined as this OS joins paths.
    fn follower_key(rest: &str) -> String {
        format!("{REAL}{}hooks.json:{rest}", std::path::MAIN_SEPARATOR)
    }

    fn master_hooks() -> HooksFile {
        HooksFile::parse(MASTER_HOOKS.as_bytes(), Path::new("hooks.json"))
            .unwrap()
            .file
    }

    /// The master's config.toml, trusting what `trust` names with the master's real hashes
    /// (keys and hashes as its Codex, on Linux, computes them).
    fn canonical(master: &HooksFile, trusted: &[(&str, usize, usize)], extra: &str) -> DocumentMut {
        let mut doc: DocumentMut = format!("model = \"o3\"\n{extra}").parse().unwrap();
        for &(event, g, h) in trusted {
            let group = &master.groups(event)[g];
            let hash = handler_hash_on(
                HookOs::Unix,
                event,
                group.matcher.as_deref(),
                &group.hooks[h],
            );
            set_state(
                &mut doc,
                &format!("/home/al/.codex/hooks.json:{}:{g}:{h}", event_label(event)),
                &HookState {
                    trusted_hash: hash,
                    enabled: None,
                },
            );
        }
        doc
    }

    #[test]
    fn commands_are_rewritten_and_order_kept() {
        let map = PathMap::new(&master_paths(), &follower_homes(), &BTreeMap::new());
        let follower = master_hooks_for_follower(&master_hooks(), &map).unwrap();
        let start = follower.groups(EVENT_SESSION_START);
        let greet = if cfg!(windows) {
            r"C:\Users\bo\.codex\hooks\greet.sh"
        } else {
            "/home/bo/.codex/hooks/greet.sh"
        };
        assert_eq!(start[0].hooks[0].command.as_deref(), Some(greet));
        assert_eq!(start[0].hooks[1].command.as_deref(), Some("echo untrusted"));
        assert_eq!(follower.groups("Stop"), master_hooks().groups("Stop"));
    }

    #[test]
    fn trusted_hooks_are_trusted_under_the_followers_key_with_the_rewritten_hash() {
        let master = master_hooks();
        let map = PathMap::new(&master_paths(), &follower_homes(), &BTreeMap::new());
        let mut follower = master_hooks_for_follower(&master, &map).unwrap();
        let canon = canonical(&master, &[("SessionStart", 0, 0), ("Stop", 0, 0)], "");
        let real = Path::new(REAL);
        let trust = carry_master_trust(&canon, &master, "/home/al/.codex", &follower, real);

        assert_eq!(
            trust.master_keys,
            [
                "/home/al/.codex/hooks.json:session_start:0:0",
                "/home/al/.codex/hooks.json:stop:0:0"
            ]
        );
        let greet = &follower.groups(EVENT_SESSION_START)[0];
        let expect_greet = handler_hash("SessionStart", Some("startup"), &greet.hooks[0]);
        let master_greet = read_states(&canon)["/home/al/.codex/hooks.json:session_start:0:0"]
            .trusted_hash
            .clone();
        assert_ne!(
            expect_greet, master_greet,
            "the rewritten command hashes differently"
        );
        assert_eq!(
            trust.entries[&follower_key("session_start:0:0")].trusted_hash,
            expect_greet
        );
        // `echo bye` was not rewritten: same hash, new key.
        assert_eq!(
            trust.entries[&follower_key("stop:0:0")].trusted_hash,
            read_states(&canon)["/home/al/.codex/hooks.json:stop:0:0"].trusted_hash
        );
        assert_eq!(trust.entries.len(), 2, "the untrusted handler gets nothing");

        // Our hook appended afterwards moves no master index.
        follower.install(&OurHook::new(Path::new("/usr/bin/codexport"), 2, None));
        let again = carry_master_trust(&canon, &master, "/home/al/.codex", &follower, real);
        assert_eq!(again, trust);
    }

    #[test]
    fn a_stale_master_hash_stays_untrusted_but_enabled_is_kept() {
        let master = master_hooks();
        let mut canon = canonical(&master, &[], "");
        set_state(
            &mut canon,
            "/home/al/.codex/hooks.json:session_start:0:1",
            &HookState {
                trusted_hash: Some("sha256:0123".into()),
                enabled: Some(false),
            },
        );
        let trust = carry_master_trust(
            &canon,
            &master,
            "/home/al/.codex/",
            &master,
            Path::new(REAL),
        );
        assert_eq!(
            trust.entries[&follower_key("session_start:0:1")],
            HookState {
                trusted_hash: None,
                enabled: Some(false)
            }
        );
    }

    #[test]
    fn other_keys_are_left_to_path_rewriting() {
        let master = master_hooks();
        let extra = "[hooks.state.\"/home/al/proj/.codex/hooks.json:stop:0:0\"]\ntrusted_hash = \"sha256:1\"\n\
                     [hooks.state.\"not a key\"]\nenabled = true\n";
        let mut canon = canonical(&master, &[("Stop", 0, 0)], extra);
        let trust =
            carry_master_trust(&canon, &master, "/home/al/.codex", &master, Path::new(REAL));
        assert_eq!(trust.master_keys, ["/home/al/.codex/hooks.json:stop:0:0"]);
        trust.strip_master_keys(&mut canon);
        let left: Vec<String> = read_states(&canon).into_keys().collect();
        assert_eq!(
            left,
            ["/home/al/proj/.codex/hooks.json:stop:0:0", "not a key"]
        );
        let mut generated = DocumentMut::new();
        trust.write(&mut generated);
        assert!(read_states(&generated).contains_key(&follower_key("stop:0:0")));
    }

    #[test]
    fn windows_master_keys_are_recognised() {
        assert_eq!(
            split_key(r"C:\Users\Al\.codex\hooks.json:session_start:2:1"),
            Some((r"C:\Users\Al\.codex", "session_start", 2, 1))
        );
        assert!(same_dir(r"C:\Users\Al\.codex", "c:/users/al/.codex/"));
        assert!(same_dir(r"\\?\C:\Users\Al\.codex", r"C:\Users\al\.codex"));
        assert!(!same_dir("/home/Al", "/home/al"));
        assert_eq!(split_key("/x/other.json:stop:0:0"), None);
        assert_eq!(split_key("/x/hooks.json:stop:a:0"), None);
    }
}
