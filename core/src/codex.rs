//! Asks the real Codex CLI, when this machine has one, what it makes of a Codex home: its
//! `codex app-server` JSON-RPC answers `hooks/list` (each hook's key, `currentHash` and
//! `trustStatus`), which is the truth our own hash recipe only predicts.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::{Homes, env};

/// How long Codex may take to start and answer one request.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// The `codex` to ask: `CODEXPORT_CODEX` when set (empty: ask none), else `codex` on `PATH`.
pub fn find_codex() -> Option<PathBuf> {
    match std::env::var_os(env::CODEXPORT_CODEX) {
        Some(path) if path.is_empty() => None,
        Some(path) => Some(PathBuf::from(path)),
        None => which::which("codex").ok(),
    }
}

/// One hook as Codex's `hooks/list` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CodexHook {
    /// Its `[hooks.state]` key (`<realpath>/hooks.json:session_start:0:0`, or
    /// `<plugin>@<marketplace>:<file>:<event>:<group>:<handler>` for a plugin's hook).
    pub key: String,
    /// `sessionStart`, `stop`, ...
    pub event_name: String,
    /// The command (after Codex's own `${PLUGIN_ROOT}` substitution).
    #[serde(default)]
    pub command: Option<String>,
    /// The hash Codex would trust (for a plugin's hook, `<definition>/<plugin bundle>`).
    pub current_hash: String,
    /// `trusted`, `untrusted`, `modified` or `managed`.
    pub trust_status: String,
    /// `user`, `plugin`, `project`, `system`, ...
    #[serde(default)]
    pub source: Option<String>,
    /// The plugin that bundles it.
    #[serde(default)]
    pub plugin_id: Option<String>,
    /// Whether the user switched it off.
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn yes() -> bool {
    true
}

impl CodexHook {
    /// Whether Codex will run it.
    pub fn runs(&self) -> bool {
        self.enabled && matches!(self.trust_status.as_str(), "trusted" | "managed")
    }

    /// The part of `currentHash` that goes into `trusted_hash` (Codex 0.169 and 0.171 append
    /// `/<plugin bundle fingerprint>` for plugin hooks and keep that half in `.hook-trust/`).
    pub fn definition_hash(&self) -> &str {
        self.current_hash
            .split_once('/')
            .map_or(self.current_hash.as_str(), |(definition, _)| definition)
    }
}

/// Codex's `hooks/list` for `homes` (run with its `HOME` and `CODEX_HOME`), or why Codex could
/// not be asked (not started, no answer in time, an answer of another shape).
pub fn hooks_list(
    codex: &Path,
    homes: &Homes,
    timeout: Duration,
) -> Result<Vec<CodexHook>, String> {
    let cwd = homes.user.display().to_string();
    let answer = app_server(
        codex,
        homes,
        "hooks/list",
        json!({ "cwds": [cwd] }),
        timeout,
    )?;
    let data = &answer["data"][0];
    if let Some(errors) = data["errors"].as_array()
        && let Some(first) = errors.first()
    {
        return Err(format!("Codex reports a hooks error: {first}"));
    }
    serde_json::from_value(data["hooks"].clone())
        .map_err(|e| format!("unexpected `hooks/list` answer ({e})"))
}

/// Kills the app server however the request ends.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Sends one request to a fresh `codex app-server` (run as `homes`' machine) after the
/// `initialize` handshake and returns its `result`, or why there is none.
pub fn app_server(
    codex: &Path,
    homes: &Homes,
    method: &str,
    params: Value,
    timeout: Duration,
) -> Result<Value, String> {
    let shown = codex.display();
    let child = Command::new(codex)
        .arg("app-server")
        .env(env::HOME, &homes.user)
        .env(env::CODEX_HOME, &homes.codex)
        .current_dir(&homes.user)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start `{shown} app-server`: {e}"))?;
    let mut server = Server(child);
    let mut stdin = server.0.stdin.take().expect("piped");
    let stdout = server.0.stdout.take().expect("piped");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { return };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let messages = [
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
               "params": {"clientInfo": {"name": "codexport", "version": env!("CARGO_PKG_VERSION")}}}),
        json!({"jsonrpc": "2.0", "method": "initialized"}),
        json!({"jsonrpc": "2.0", "id": 2, "method": method, "params": params}),
    ];
    for message in messages {
        writeln!(stdin, "{message}").map_err(|e| format!("`{shown} app-server` closed: {e}"))?;
    }
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = rx.recv_timeout(left).map_err(|_| {
            format!(
                "`{shown} app-server` gave no `{method}` answer within {}s",
                timeout.as_secs()
            )
        })?;
        let Ok(message) = serde_json::from_str::<Value>(&line) else {
            continue;
        };
        if message["id"] != 2 {
            continue;
        }
        if let Some(error) = message.get("error") {
            return Err(format!("`{method}` failed: {error}"));
        }
        return Ok(message["result"].clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plugin_hash_trusts_its_definition_half() {
        let hook: CodexHook = serde_json::from_value(json!({
            "key": "hello@local:hooks.json:session_start:0:0", "eventName": "sessionStart",
            "command": "echo hi", "currentHash": "sha256:aa/sha256:bb",
            "trustStatus": "trusted", "source": "plugin", "pluginId": "hello@local",
            "enabled": true, "displayOrder": 0
        }))
        .unwrap();
        assert_eq!(hook.definition_hash(), "sha256:aa");
        assert!(hook.runs());
        let user = CodexHook {
            current_hash: "sha256:cc".into(),
            trust_status: "modified".into(),
            ..hook
        };
        assert_eq!(user.definition_hash(), "sha256:cc");
        assert!(!user.runs());
    }

    #[test]
    fn a_missing_codex_is_a_reason_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let homes = Homes::new(
            dir.path(),
            dir.path().join(".codex"),
            dir.path().join(".cx"),
        );
        let err =
            hooks_list(&dir.path().join("no-codex"), &homes, Duration::from_secs(1)).unwrap_err();
        assert!(err.contains("cannot start"), "{err}");
    }
}
