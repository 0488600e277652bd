//! Codex's hook trust: the `[hooks.state."<key>"]` key, the `trusted_hash` recipe, and reading
//! and writing those entries in a `config.toml` document.
//!
//! Recipe (checked against Codex 0.169's own `currentHash`, see REFERENCE.md): key =
//! `<realpath of CODEX_HOME>/hooks.json:<event in snake_case>:<group>:<handler>`; hash =
//! `sha256:` + lowercase hex SHA-256 of the compact, key-sorted JSON of
//! `{"event_name", "matcher"?, "hooks": [{"type", "command", "timeout", "async",
//! "statusMessage"?}]}`, with `timeout` defaulting to 600 and at least 1.
//!
//! On Windows Codex runs (and so hashes) `commandWindows` when a handler has one, and its
//! Codex home is `%USERPROFILE%\.codex` as is, or `CODEX_HOME` canonicalised (the `\\?\`
//! form Windows gives), so keys differ from the Unix ones in more than separators.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use toml_edit::{DocumentMut, Item, Table};

use super::file::{DEFAULT_TIMEOUT_SECS, Handler};
use crate::Homes;
use crate::store::sha256_hex;

/// What a `trusted_hash` value starts with.
pub const TRUSTED_HASH_PREFIX: &str = "sha256:";

/// `SessionStart` → `session_start`: the event's label in trust keys and hashes.
pub fn event_label(event: &str) -> String {
    let mut label = String::with_capacity(event.len() + 4);
    for (i, c) in event.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                label.push('_');
            }
            label.push(c.to_ascii_lowercase());
        } else {
            label.push(c);
        }
    }
    label
}

/// The OS whose Codex reads a `hooks.json`: it decides which command runs and is hashed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookOs {
    /// Linux and macOS: `command`, run by `$SHELL -lc`.
    Unix,
    /// Windows: `commandWindows` when set, else `command`, run by `%COMSPEC% /C`.
    Windows,
}

impl HookOs {
    /// The OS this binary runs on.
    pub const HERE: Self = if cfg!(windows) {
        Self::Windows
    } else {
        Self::Unix
    };

    /// The OS named `os` (Rust's `std::env::consts::OS`, as a revision records the master's).
    pub fn named(os: &str) -> Self {
        if os == "windows" {
            Self::Windows
        } else {
            Self::Unix
        }
    }

    /// The command Codex on this OS runs for `handler`.
    pub fn command(self, handler: &Handler) -> Option<&str> {
        match self {
            Self::Windows => handler
                .command_windows
                .as_deref()
                .or(handler.command.as_deref()),
            Self::Unix => handler.command.as_deref(),
        }
    }
}

/// The Codex home as Codex spells it in this machine's trust keys: on Unix its real path; on
/// Windows `%USERPROFILE%\.codex` unchanged when it is the default home (Codex does not
/// canonicalise that one), else the canonical `\\?\C:\...` form of `CODEX_HOME`.
pub fn trust_home(homes: &Homes) -> PathBuf {
    if cfg!(windows) && homes.codex == homes.user.join(".codex") {
        homes.codex.clone()
    } else {
        homes.codex_realpath()
    }
}

/// The `[hooks.state]` key of handler `handler` of group `group` of `event` in the
/// `hooks.json` of the Codex home whose real path is `codex_realpath`.
pub fn trust_key(codex_realpath: &Path, event: &str, group: usize, handler: usize) -> String {
    format!(
        "{}:{}:{group}:{handler}",
        codex_realpath.join("hooks.json").display(),
        event_label(event)
    )
}

/// The `trusted_hash` (`sha256:<hex>`) Codex on this machine expects for `handler` of a
/// group with `matcher` under `event`; `None` for handlers that are not commands (Codex does
/// not hash them).
pub fn handler_hash(event: &str, matcher: Option<&str>, handler: &Handler) -> Option<String> {
    handler_hash_on(HookOs::HERE, event, matcher, handler)
}

/// [`handler_hash`] as Codex on `os` computes it (a master's trust is checked with the
/// master's recipe).
pub fn handler_hash_on(
    os: HookOs,
    event: &str,
    matcher: Option<&str>,
    handler: &Handler,
) -> Option<String> {
    if handler.kind != "command" {
        return None;
    }
    let mut hook = json!({
        "type": handler.kind,
        "command": os.command(handler).unwrap_or_default(),
        "timeout": handler.timeout.unwrap_or(DEFAULT_TIMEOUT_SECS).max(1),
        "async": handler.is_async.unwrap_or(false),
    });
    if let Some(message) = &handler.status_message {
        hook["statusMessage"] = Value::from(message.as_str());
    }
    let mut identity = json!({ "event_name": event_label(event), "hooks": [hook] });
    if let Some(matcher) = matcher {
        identity["matcher"] = Value::from(matcher);
    }
    // serde_json's map is ordered by key and `to_string` is compact: Codex's canonical form.
    let canonical = serde_json::to_string(&identity).expect("JSON values serialise");
    Some(format!(
        "{TRUSTED_HASH_PREFIX}{}",
        sha256_hex(canonical.as_bytes())
    ))
}

/// One `[hooks.state."<key>"]` entry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HookState {
    /// `sha256:<hex>` of the definition the user trusted.
    pub trusted_hash: Option<String>,
    /// `false` when the user switched the hook off.
    pub enabled: Option<bool>,
}

/// Every `[hooks.state]` entry of `doc`, by key (entries that are not tables are skipped).
pub fn read_states(doc: &DocumentMut) -> BTreeMap<String, HookState> {
    let Some(state) = doc
        .get("hooks")
        .and_then(|h| h.get("state"))
        .and_then(Item::as_table_like)
    else {
        return BTreeMap::new();
    };
    state
        .iter()
        .filter_map(|(key, item)| {
            let table = item.as_table_like()?;
            Some((
                key.to_owned(),
                HookState {
                    trusted_hash: table
                        .get("trusted_hash")
                        .and_then(Item::as_str)
                        .map(str::to_owned),
                    enabled: table.get("enabled").and_then(Item::as_bool),
                },
            ))
        })
        .collect()
}

/// Writes `[hooks.state."<key>"]`, replacing what was there under that key; other keys of
/// `[hooks]` and of the file are untouched.
pub fn set_state(doc: &mut DocumentMut, key: &str, state: &HookState) {
    let hooks = implicit_table(doc.as_table_mut(), "hooks");
    let states = implicit_table(hooks, "state");
    let mut entry = Table::new();
    if let Some(hash) = &state.trusted_hash {
        entry.insert("trusted_hash", toml_edit::value(hash.as_str()));
    }
    if let Some(enabled) = state.enabled {
        entry.insert("enabled", toml_edit::value(enabled));
    }
    states.insert(key, Item::Table(entry));
}

/// Removes `[hooks.state."<key>"]`, and `[hooks.state]` / `[hooks]` when that leaves them
/// empty. Returns whether the entry was there.
pub fn remove_state(doc: &mut DocumentMut, key: &str) -> bool {
    let Some(hooks) = doc.get_mut("hooks").and_then(Item::as_table_like_mut) else {
        return false;
    };
    let Some(states) = hooks.get_mut("state").and_then(Item::as_table_like_mut) else {
        return false;
    };
    let removed = states.remove(key).is_some();
    if states.is_empty() {
        hooks.remove("state");
    }
    if hooks.is_empty() {
        doc.remove("hooks");
    }
    removed
}

/// The table `name` inside `parent`, created implicit (no `[name]` header of its own) when
/// missing; a non-table value there is replaced, since Codex would refuse it anyway.
fn implicit_table<'a>(parent: &'a mut Table, name: &str) -> &'a mut Table {
    let item = parent.entry(name).or_insert_with(|| {
        let mut t = Table::new();
        t.set_implicit(true);
        Item::Table(t)
    });
    if !item.is_table() {
        let mut t = Table::new();
        t.set_implicit(true);
        *item = Item::Table(t);
    }
    item.as_table_mut().expect("just made a table")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn command(cmd: &str) -> Handler {
        Handler {
            kind: "command".into(),
            command: Some(cmd.into()),
            ..Handler::default()
        }
    }

    #[test]
    fn event_labels_are_snake_case() {
        assert_eq!(event_label("SessionStart"), "session_start");
        assert_eq!(event_label("PreToolUse"), "pre_tool_use");
        assert_eq!(event_label("UserPromptSubmit"), "user_prompt_submit");
        assert_eq!(event_label("Stop"), "stop");
    }

    #[test]
    fn keys_name_the_real_codex_home() {
        // The home joined with `hooks.json` as this OS joins paths (Codex does the same).
        let (home, key) = if cfg!(windows) {
            (
                r"C:\Users\bo\.codex",
                r"C:\Users\bo\.codex\hooks.json:session_start:1:0",
            )
        } else {
            (
                "/home/bo/.codex",
                "/home/bo/.codex/hooks.json:session_start:1:0",
            )
        };
        assert_eq!(trust_key(Path::new(home), "SessionStart", 1, 0), key);
    }

    // Golden values computed outside Rust, with Python:
    //   hashlib.sha256(json.dumps(obj, sort_keys=True, separators=(",", ":"),
    //                             ensure_ascii=False).encode()).hexdigest()
    #[test]
    fn hash_of_a_plain_handler_defaults_timeout_and_async() {
        // {"event_name":"session_start","hooks":[{"async":false,"command":"echo hi",
        //  "timeout":600,"type":"command"}]}
        assert_eq!(
            handler_hash("SessionStart", None, &command("echo hi")).unwrap(),
            "sha256:a245b9b8493f2be82aea06c373ef42709b417c1b701a54e5ab76ab728777f4ad"
        );
    }

    #[test]
    fn hash_includes_matcher_timeout_async_and_status_but_not_windows_command() {
        let mut h = command("/opt/bin/codexport sync --apply --hook");
        h.timeout = Some(5);
        h.is_async = Some(true);
        h.status_message = Some("Syncing… ✓".into());
        h.command_windows = Some("ignored.exe".into());
        // {"event_name":"session_start","hooks":[{"async":true,"command":"/opt/bin/codexport
        //  sync --apply --hook","statusMessage":"Syncing… ✓","timeout":5,"type":"command"}],
        //  "matcher":"startup|resume"}
        // The Unix recipe, on every OS (Windows hashes commandWindows: see the next test).
        let unix =
            |h: &Handler| handler_hash_on(HookOs::Unix, "SessionStart", Some("startup|resume"), h);
        let hash = unix(&h).unwrap();
        assert_eq!(
            hash,
            "sha256:d064851a2a7a73cc0eb64748e4d377ae244811265c9f76907d1c765c296996d4"
        );
        h.command_windows = None;
        assert_eq!(unix(&h).unwrap(), hash);
    }

    #[test]
    fn windows_hashes_command_windows_when_set() {
        let mut h = command("/opt/bin/codexport sync --apply --hook");
        h.timeout = Some(5);
        h.command_windows = Some(r"C:\Users\bo\codexport.exe sync --apply --hook".into());
        // {"event_name":"session_start","hooks":[{"async":false,"command":"C:\\Users\\bo\\
        //  codexport.exe sync --apply --hook","timeout":5,"type":"command"}],
        //  "matcher":"startup|resume"}
        let windows = handler_hash_on(HookOs::Windows, "SessionStart", Some("startup|resume"), &h);
        assert_eq!(
            windows.as_deref(),
            Some("sha256:77a8a039d9f01aae04ef19547466098f4b89f51af08e9104ee21f1bb071c3963")
        );
        let unix = handler_hash_on(HookOs::Unix, "SessionStart", Some("startup|resume"), &h);
        assert_ne!(unix, windows);
        h.command_windows = None;
        assert_eq!(
            handler_hash_on(HookOs::Windows, "SessionStart", Some("startup|resume"), &h),
            unix,
            "without commandWindows Windows runs and hashes `command`"
        );
        assert_eq!(HookOs::named("windows"), HookOs::Windows);
        assert_eq!(HookOs::named("linux"), HookOs::Unix);
    }

    #[test]
    fn windows_keys_keep_the_default_home_and_canonicalise_codex_home() {
        let dir = tempfile::tempdir().unwrap();
        let user = dir.path().join("bo");
        std::fs::create_dir_all(user.join(".codex")).unwrap();
        std::fs::create_dir_all(dir.path().join("elsewhere")).unwrap();
        let default = Homes::new(&user, user.join(".codex"), user.join(".codexport"));
        let moved = Homes::new(&user, dir.path().join("elsewhere"), user.join(".codexport"));
        let real = |p: &Path| std::fs::canonicalize(p).unwrap();
        if cfg!(windows) {
            assert_eq!(trust_home(&default), user.join(".codex"));
        } else {
            assert_eq!(trust_home(&default), real(&user.join(".codex")));
        }
        assert_eq!(trust_home(&moved), real(&dir.path().join("elsewhere")));
        if cfg!(windows) {
            assert!(
                trust_home(&moved).to_string_lossy().starts_with(r"\\?\"),
                "{}",
                trust_home(&moved).display()
            );
            assert_eq!(
                trust_key(Path::new(r"C:\Users\bo\.codex"), "SessionStart", 0, 0),
                r"C:\Users\bo\.codex\hooks.json:session_start:0:0"
            );
        }
    }

    #[test]
    fn zero_timeout_counts_as_one_and_other_types_are_not_hashed() {
        let mut h = command("x");
        h.timeout = Some(0);
        let mut one = command("x");
        one.timeout = Some(1);
        assert_eq!(
            handler_hash("Stop", None, &h),
            handler_hash("Stop", None, &one)
        );
        h.kind = "prompt".into();
        assert_eq!(handler_hash("Stop", None, &h), None);
    }

    #[test]
    fn states_are_written_read_and_removed_without_touching_the_rest() {
        let text = "# mine\nmodel = \"o3\"\n\n[hooks]\nfoo = 1\n";
        let mut doc: DocumentMut = text.parse().unwrap();
        let key = "/h/.codex/hooks.json:session_start:0:0";
        let state = HookState {
            trusted_hash: Some("sha256:ab".into()),
            enabled: None,
        };
        set_state(&mut doc, key, &state);
        let written = doc.to_string();
        assert!(written.starts_with(text), "{written}");
        assert!(
            written.contains(
                "[hooks.state.\"/h/.codex/hooks.json:session_start:0:0\"]\ntrusted_hash = \"sha256:ab\"\n"
            ),
            "{written}"
        );
        let reparsed: DocumentMut = written.parse().unwrap();
        assert_eq!(read_states(&reparsed)[key], state);
        assert!(remove_state(&mut doc, key));
        assert!(!remove_state(&mut doc, key));
        assert_eq!(doc.to_string(), text);
    }

    #[test]
    fn removing_the_last_state_drops_the_tables_it_created() {
        let mut doc = DocumentMut::new();
        set_state(&mut doc, "k", &HookState::default());
        assert!(doc.to_string().contains("[hooks.state.k]"));
        remove_state(&mut doc, "k");
        assert_eq!(doc.to_string(), "");
    }
}
