//! The `hooks.json` model, its parser and writer, and placing codexport's own hook in it.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::Error;

/// Codex's name for the event fired when a session starts or resumes.
pub const EVENT_SESSION_START: &str = "SessionStart";

/// Codex's timeout for a handler that sets none, in seconds.
pub(crate) const DEFAULT_TIMEOUT_SECS: u64 = 600;

/// The sub-command line codexport's hook runs, after the program path.
const HOOK_ARGS: &str = "sync --apply --hook";

/// A whole `hooks.json` (only the `hooks` root key exists: Codex drops files with others).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HooksFile {
    /// Event name (`SessionStart`, `PreToolUse`, ...) → matcher groups, in file order.
    #[serde(default)]
    pub hooks: BTreeMap<String, Vec<MatcherGroup>>,
}

/// One `{"matcher": ..., "hooks": [...]}` group of an event.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MatcherGroup {
    /// Which sources or tools the group applies to (`startup|resume`); absent = all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matcher: Option<String>,
    /// The handlers, run in order.
    #[serde(default)]
    pub hooks: Vec<Handler>,
    /// Fields Codex may add that codexport does not model, kept verbatim.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// One handler of a group.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Handler {
    /// `command` (the only type Codex 0.169 runs; others still count for trust indices).
    #[serde(rename = "type")]
    pub kind: String,
    /// The shell command (`$SHELL -lc <command>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// The command on Windows (not part of the trust hash).
    #[serde(
        rename = "commandWindows",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub command_windows: Option<String>,
    /// Seconds before Codex kills it (Codex's default: 600).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<u64>,
    /// Whether Codex runs it in the background.
    #[serde(rename = "async", default, skip_serializing_if = "Option::is_none")]
    pub is_async: Option<bool>,
    /// Shown to the user while it runs.
    #[serde(
        rename = "statusMessage",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub status_message: Option<String>,
    /// Fields codexport does not model, kept verbatim.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// A parsed file and what had to be dropped to keep Codex reading it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Parsed {
    /// The hooks.
    pub file: HooksFile,
    /// Root keys other than `hooks` (Codex ignores the whole file while they are there).
    pub dropped_root_keys: Vec<String>,
}

impl HooksFile {
    /// Parses `bytes` read from `path` (named in errors).
    pub fn parse(bytes: &[u8], path: &Path) -> Result<Parsed, Error> {
        let invalid = |reason: String| Error::InvalidHooks {
            path: path.to_path_buf(),
            reason,
        };
        let value: Value = serde_json::from_slice(bytes).map_err(|source| Error::InvalidJson {
            path: path.to_path_buf(),
            source,
        })?;
        let Value::Object(mut root) = value else {
            return Err(invalid("the top level must be a JSON object".to_owned()));
        };
        let hooks = root
            .remove("hooks")
            .unwrap_or(Value::Object(Default::default()));
        let dropped_root_keys = root.keys().cloned().collect();
        let hooks = serde_json::from_value(hooks).map_err(|e| invalid(format!("`hooks`: {e}")))?;
        Ok(Parsed {
            file: HooksFile { hooks },
            dropped_root_keys,
        })
    }

    /// Reads `path`; a missing file is an empty one.
    pub fn read(path: &Path) -> Result<Parsed, Error> {
        match std::fs::read(path) {
            Ok(bytes) => Self::parse(&bytes, path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Parsed::default()),
            Err(e) => Err(Error::io("read", path, e)),
        }
    }

    /// The file as Codex reads it: pretty JSON with a final newline.
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("hooks serialise to JSON");
        text.push('\n');
        text
    }

    /// Whether no event has a group.
    pub fn is_empty(&self) -> bool {
        self.hooks.values().all(Vec::is_empty)
    }

    /// The groups of `event` (empty when it has none).
    pub fn groups(&self, event: &str) -> &[MatcherGroup] {
        self.hooks.get(event).map_or(&[], Vec::as_slice)
    }

    /// Where codexport's hook is: `(group, handler)` indices under `SessionStart`, first one.
    pub fn find_ours(&self) -> Option<(usize, usize)> {
        self.ours().next()
    }

    fn ours(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        self.groups(EVENT_SESSION_START)
            .iter()
            .enumerate()
            .flat_map(|(g, group)| {
                group
                    .hooks
                    .iter()
                    .enumerate()
                    .filter(|(_, h)| OurHook::is_ours(h))
                    .map(move |(h, _)| (g, h))
            })
    }

    /// Puts codexport's hook in, exactly once, and returns its `(group, handler)` indices.
    ///
    /// An existing one is replaced where it stands (so no other hook's trust index moves) and
    /// any duplicate is removed; otherwise a new group is appended after every other group, so
    /// the indices of the hooks already there stay what Codex trusted.
    pub fn install(&mut self, ours: &OurHook) -> (usize, usize) {
        let found: Vec<(usize, usize)> = self.ours().collect();
        let handler = ours.handler();
        let Some(&(g, h)) = found.first() else {
            let groups = self
                .hooks
                .entry(EVENT_SESSION_START.to_owned())
                .or_default();
            groups.push(ours.group());
            return (groups.len() - 1, 0);
        };
        let groups = self
            .hooks
            .get_mut(EVENT_SESSION_START)
            .expect("found in it");
        // Duplicates go from the back, so earlier indices stay valid while removing.
        for &(dg, dh) in found[1..].iter().rev() {
            groups[dg].hooks.remove(dh);
        }
        groups[g].hooks[h] = handler;
        groups.retain(|group| !group.hooks.is_empty());
        (g, h)
    }

    /// Removes every codexport hook; returns the `(group, handler)` indices they had.
    /// Groups left empty are removed, and so is an event left without groups.
    pub fn uninstall(&mut self) -> Vec<(usize, usize)> {
        let found: Vec<(usize, usize)> = self.ours().collect();
        if let Some(groups) = self.hooks.get_mut(EVENT_SESSION_START) {
            for &(g, h) in found.iter().rev() {
                groups[g].hooks.remove(h);
            }
            groups.retain(|group| !group.hooks.is_empty());
            if groups.is_empty() {
                self.hooks.remove(EVENT_SESSION_START);
            }
        }
        found
    }
}

/// codexport's SessionStart hook: `<codexport> sync --apply --hook`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OurHook {
    /// The command for `$SHELL -lc` (the absolute program path, quoted when needed).
    pub command: String,
    /// The same for Windows (`commandWindows`).
    pub command_windows: String,
    /// Seconds Codex waits before killing it: comfortably above the sync's own budget.
    pub timeout: u64,
}

impl OurHook {
    /// The hook for the codexport binary at `exe`, whose sync gives up after `budget_secs`.
    ///
    /// `tool_home` is set when the tool home is not the default one: Codex runs hooks with the
    /// user's login environment, which need not name it, so the command carries it.
    pub fn new(exe: &Path, budget_secs: u64, tool_home: Option<&Path>) -> Self {
        let exe = exe.to_string_lossy();
        // `\\?\C:\...` is how Windows canonicalises a path, and not one cmd.exe starts:
        // the plain drive path names the same file.
        let exe = match exe.strip_prefix(r"\\?\") {
            Some(plain) if plain.as_bytes().get(1) == Some(&b':') => plain.to_owned(),
            _ => exe.into_owned(),
        };
        let env = tool_home.map_or_else(String::new, |home| {
            format!(
                "{}={} ",
                crate::env::CODEXPORT_HOME,
                sh_quote(&home.to_string_lossy())
            )
        });
        let env_windows = tool_home.map_or_else(String::new, |home| {
            cmd_set(crate::env::CODEXPORT_HOME, &home.to_string_lossy())
        });
        Self {
            command: format!("{env}{} {HOOK_ARGS}", sh_quote(&exe)),
            command_windows: format!("{env_windows}{} {HOOK_ARGS}", cmd_program(&exe)),
            // The budget bounds the sync; the rest covers process start and a slow disk.
            timeout: budget_secs.max(1) + 3,
        }
    }

    /// The hook for `exe` with a sync `budget`, carrying the tool home when it is not the
    /// default one.
    pub fn for_homes(exe: &Path, budget: std::time::Duration, homes: &crate::Homes) -> Self {
        let secs = budget.as_millis().div_ceil(1000) as u64;
        Self::new(
            exe,
            secs,
            (!homes.tool_is_default()).then_some(homes.tool.as_path()),
        )
    }

    /// The hook as a `hooks.json` handler has it (so an apply keeps the binary the user
    /// installed); `None` when `handler` is not a codexport hook.
    pub fn from_handler(handler: &Handler) -> Option<Self> {
        if !Self::is_ours(handler) {
            return None;
        }
        let command = handler.command.clone()?;
        Some(Self {
            command_windows: handler
                .command_windows
                .clone()
                .unwrap_or_else(|| command.clone()),
            command,
            timeout: handler.timeout.unwrap_or(DEFAULT_TIMEOUT_SECS),
        })
    }

    /// Whether `handler` is a codexport hook (any binary path, any version of the flags).
    pub fn is_ours(handler: &Handler) -> bool {
        let Some(command) = handler.command.as_deref() else {
            return false;
        };
        let Some(at) = command.find(HOOK_ARGS) else {
            return false;
        };
        let program = command[..at].trim().trim_matches(['\'', '"']);
        let name = program.rsplit(['/', '\\']).next().unwrap_or(program);
        matches!(name, "codexport" | "codexport.exe")
    }

    /// The handler as written into `hooks.json`.
    pub fn handler(&self) -> Handler {
        Handler {
            kind: "command".to_owned(),
            command: Some(self.command.clone()),
            command_windows: Some(self.command_windows.clone()),
            timeout: Some(self.timeout),
            ..Handler::default()
        }
    }

    /// A group holding only this hook, for new sessions and resumed ones.
    pub fn group(&self) -> MatcherGroup {
        MatcherGroup {
            matcher: Some("startup|resume".to_owned()),
            hooks: vec![self.handler()],
            extra: BTreeMap::new(),
        }
    }
}

/// Quotes `s` for a POSIX shell when it holds anything but plainly safe characters.
fn sh_quote(s: &str) -> String {
    let safe = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+:,@%=".contains(c));
    if safe {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// `exe` as the program of a cmd.exe line that Codex on Windows runs. Codex runs
/// `%COMSPEC% /C <line>` through Rust's argument quoting, which turns every `"` in the line into
/// `\"`, and cmd.exe does not read `\"` as a quote: the line must hold no `"` at all. A path
/// that needs none (no space, no cmd metacharacter) is written bare; one that does is reached
/// with `cd /d <its folder>&& .\<its name>`, since `cd` reads the rest of its command as one
/// path, spaces included (the hook's sync does not depend on its working directory).
fn cmd_program(exe: &str) -> String {
    if !cmd_needs_quotes(exe) {
        return exe.to_owned();
    }
    match exe.rsplit_once('\\') {
        Some((dir, name)) if !dir.is_empty() => {
            // `C:\` stays `C:\`: `cd /d C:` would mean the drive's current folder.
            let dir = if dir.ends_with(':') {
                format!("{dir}\\")
            } else {
                dir.to_owned()
            };
            format!("cd /d {}&& .\\{}", cmd_escape(&dir), cmd_escape(name))
        }
        _ => cmd_escape(exe),
    }
}

/// `set NAME=value&& ` (no space before `&&`: it would end up in the value). `set` takes the
/// rest of its command as the value, spaces included, so it needs no quotes (see
/// [`cmd_program`] for why there must be none).
fn cmd_set(name: &str, value: &str) -> String {
    format!("set {name}={}&& ", cmd_escape(value))
}

/// `s` with cmd.exe's metacharacters `^`-escaped (`%` cannot be escaped on a `/C` line; a
/// `%NAME%` in a path expands only when `NAME` is set).
fn cmd_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "^&|<>()".contains(c) {
            out.push('^');
        }
        out.push(c);
    }
    out
}

fn cmd_needs_quotes(s: &str) -> bool {
    s.is_empty()
        || s.chars()
            .any(|c| c.is_whitespace() || "&|<>^()%!\",;=".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MASTER: &str = r#"{
  "hooks": {
    "SessionStart": [
      {"matcher": "startup", "hooks": [{"type": "command", "command": "echo hi", "timeout": 5}]}
    ],
    "PreToolUse": [
      {"matcher": "Bash", "hooks": [{"type": "command", "command": "/home/al/.codex/hooks/guard.sh", "futureField": [1, 2]}]}
    ]
  }
}"#;

    fn parse(text: &str) -> Parsed {
        HooksFile::parse(text.as_bytes(), Path::new("hooks.json")).unwrap()
    }

    fn ours() -> OurHook {
        OurHook::new(Path::new("/opt/bin/codexport"), 2, None)
    }

    #[test]
    fn round_trip_keeps_unknown_handler_fields() {
        let parsed = parse(MASTER);
        assert!(parsed.dropped_root_keys.is_empty());
        let again = parse(&parsed.file.to_json());
        assert_eq!(again.file, parsed.file);
        let guard = &parsed.file.groups("PreToolUse")[0].hooks[0];
        assert_eq!(guard.extra["futureField"], serde_json::json!([1, 2]));
        assert!(parsed.file.to_json().contains("\"futureField\""));
    }

    #[test]
    fn unknown_root_keys_are_reported_and_never_written() {
        let parsed = parse(r#"{"hooks": {}, "description": "x", "$schema": "y"}"#);
        assert_eq!(parsed.dropped_root_keys, ["$schema", "description"]);
        assert_eq!(parsed.file.to_json(), "{\n  \"hooks\": {}\n}\n");
    }

    #[test]
    fn bad_shapes_are_errors_naming_the_file() {
        for text in [
            "[]",
            r#"{"hooks": []}"#,
            r#"{"hooks": {"SessionStart": [{"hooks": [{}]}]}}"#,
        ] {
            let err = HooksFile::parse(text.as_bytes(), Path::new("/x/hooks.json")).unwrap_err();
            assert!(matches!(err, Error::InvalidHooks { .. }), "{text}: {err}");
            assert!(err.to_string().contains("/x/hooks.json"));
        }
        let err = HooksFile::parse(b"{", Path::new("h.json")).unwrap_err();
        assert!(matches!(err, Error::InvalidJson { .. }));
    }

    #[test]
    fn install_appends_after_the_masters_hooks_and_keeps_them() {
        let mut file = parse(MASTER).file;
        let before = file.clone();
        assert_eq!(file.install(&ours()), (1, 0));
        let groups = file.groups(EVENT_SESSION_START);
        assert_eq!(groups[0], before.groups(EVENT_SESSION_START)[0]);
        assert_eq!(groups[1], ours().group());
        assert_eq!(file.groups("PreToolUse"), before.groups("PreToolUse"));
        assert_eq!(file.find_ours(), Some((1, 0)));
    }

    #[test]
    fn install_twice_replaces_in_place_never_duplicates() {
        let mut file = parse(MASTER).file;
        file.install(&OurHook::new(Path::new("/old/codexport"), 2, None));
        let newer = OurHook::new(Path::new("/new place/codexport"), 5, None);
        assert_eq!(file.install(&newer), (1, 0));
        let groups = file.groups(EVENT_SESSION_START);
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[1].hooks, vec![newer.handler()]);
        assert_eq!(newer.command, "'/new place/codexport' sync --apply --hook");
        assert_eq!(newer.timeout, 8);
    }

    #[test]
    fn budgets_round_up_to_whole_seconds_for_the_codex_timeout() {
        let homes = crate::Homes::new("/h", "/h/.codex", "/h/.codexport");
        let exe = Path::new("/b/codexport");
        let hook = OurHook::for_homes(exe, std::time::Duration::from_millis(1500), &homes);
        assert_eq!(hook.timeout, 5);
        assert_eq!(hook.command, "/b/codexport sync --apply --hook");
        let elsewhere = crate::Homes::new("/h", "/h/.codex", "/t");
        let hook = OurHook::for_homes(exe, std::time::Duration::from_secs(2), &elsewhere);
        assert_eq!(
            hook.command,
            "CODEXPORT_HOME=/t /b/codexport sync --apply --hook"
        );
    }

    #[test]
    fn a_handler_gives_back_the_hook_it_was_made_from() {
        let hook = ours();
        assert_eq!(OurHook::from_handler(&hook.handler()), Some(hook));
        let other = Handler {
            kind: "command".into(),
            command: Some("echo hi".into()),
            ..Handler::default()
        };
        assert_eq!(OurHook::from_handler(&other), None);
    }

    #[test]
    fn the_windows_command_needs_no_quotes_for_plain_paths() {
        let exe = Path::new(r"C:\users\bo\.codexport\bin\codexport.exe");
        let hook = OurHook::new(exe, 2, None);
        assert_eq!(
            hook.command_windows,
            r"C:\users\bo\.codexport\bin\codexport.exe sync --apply --hook"
        );
        let home = Path::new(r"D:\tools\cx");
        let hook = OurHook::new(exe, 2, Some(home));
        assert_eq!(
            hook.command_windows,
            r"set CODEXPORT_HOME=D:\tools\cx&& C:\users\bo\.codexport\bin\codexport.exe sync --apply --hook"
        );
        let canonical = Path::new(r"\\?\C:\users\bo\.codexport\bin\codexport.exe");
        assert_eq!(
            OurHook::new(canonical, 2, None).command_windows,
            r"C:\users\bo\.codexport\bin\codexport.exe sync --apply --hook"
        );
        // No `"` even with spaces: Codex's quoting would turn it into a `\"` cmd.exe cannot read
        // (windows_e2e runs such a hook under wine's cmd.exe as Codex spawns it).
        let spaced = Path::new(r"C:\Users\Bo Li\codexport.exe");
        let hook = OurHook::new(spaced, 2, Some(Path::new(r"C:\Users\Bo Li\cx")));
        assert_eq!(
            hook.command_windows,
            r"set CODEXPORT_HOME=C:\Users\Bo Li\cx&& cd /d C:\Users\Bo Li&& .\codexport.exe sync --apply --hook"
        );
        let odd = Path::new(r"C:\A&B (x)\codexport.exe");
        assert_eq!(
            OurHook::new(odd, 2, Some(Path::new(r"C:\t^1"))).command_windows,
            r"set CODEXPORT_HOME=C:\t^^1&& cd /d C:\A^&B ^(x^)&& .\codexport.exe sync --apply --hook"
        );
        assert_eq!(
            OurHook::new(Path::new(r"C:\codexport(1).exe"), 2, None).command_windows,
            r"cd /d C:\&& .\codexport^(1^).exe sync --apply --hook"
        );
    }

    #[test]
    fn a_non_default_tool_home_travels_in_the_command() {
        let hook = OurHook::new(Path::new("/b/codexport"), 2, Some(Path::new("/t/my home")));
        assert_eq!(
            hook.command,
            "CODEXPORT_HOME='/t/my home' /b/codexport sync --apply --hook"
        );
        assert!(OurHook::is_ours(&hook.handler()));
    }

    #[test]
    fn duplicates_left_by_hand_are_removed() {
        let mut file = parse(MASTER).file;
        let groups = file.hooks.get_mut(EVENT_SESSION_START).unwrap();
        groups[0].hooks.push(ours().handler());
        groups.push(ours().group());
        assert_eq!(file.install(&ours()), (0, 1));
        let groups = file.groups(EVENT_SESSION_START);
        assert_eq!(groups.len(), 1, "the group left empty is gone");
        assert_eq!(groups[0].hooks.len(), 2);
    }

    #[test]
    fn uninstall_removes_only_ours_and_empty_containers() {
        let mut file = parse(MASTER).file;
        let before = file.clone();
        file.install(&ours());
        assert_eq!(file.uninstall(), vec![(1, 0)]);
        assert_eq!(file, before);
        let mut only_ours = HooksFile::default();
        only_ours.install(&ours());
        only_ours.uninstall();
        assert!(only_ours.hooks.is_empty());
        assert_eq!(only_ours.uninstall(), vec![]);
    }

    #[test]
    fn recognises_our_hook_under_any_path() {
        let handler = |c: &str| Handler {
            kind: "command".into(),
            command: Some(c.into()),
            ..Handler::default()
        };
        for yes in [
            "/usr/local/bin/codexport sync --apply --hook",
            "'/home/a b/.cargo/bin/codexport' sync --apply --hook",
            "\"C:\\Tools\\codexport.exe\" sync --apply --hook",
            "codexport sync --apply --hook --budget 3s",
            "CODEXPORT_HOME=/t/x /usr/bin/codexport sync --apply --hook",
        ] {
            assert!(OurHook::is_ours(&handler(yes)), "{yes}");
        }
        for no in [
            "codexport sync --apply",
            "/bin/notcodexport sync --apply --hook",
            "echo codexport sync --apply --hook",
        ] {
            assert!(!OurHook::is_ours(&handler(no)), "{no}");
        }
    }
}
