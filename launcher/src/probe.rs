//! A minimal MCP stdio client: start a server, shake hands, list its tools, report timings.
//!
//! Used by `mcp doctor`, the end-to-end tests and the launcher benchmark. It speaks
//! newline-delimited JSON-RPC 2.0 on the child's stdin/stdout (the MCP stdio transport), sends
//! `initialize`, `notifications/initialized` and `tools/list`, and kills the child afterwards.
//! Plain threads and a channel give the timeout; no async runtime.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The protocol version this client offers in `initialize`.
pub const CLIENT_PROTOCOL_VERSION: &str = "2025-06-18";

/// What to start and how long to wait.
#[derive(Debug, Clone)]
pub struct ProbeCommand {
    /// Program to run.
    pub program: OsString,
    /// Its arguments.
    pub args: Vec<OsString>,
    /// Variables set over the inherited environment.
    pub env: BTreeMap<OsString, OsString>,
    /// Working directory (inherited when `None`).
    pub cwd: Option<PathBuf>,
    /// Whole-handshake deadline.
    pub timeout: Duration,
    /// Where the server's stderr goes: `true` inherits ours, `false` discards it.
    pub show_stderr: bool,
}

impl ProbeCommand {
    /// `program args...` with a 30 s deadline and the server's stderr discarded.
    pub fn new<I, S>(program: impl Into<OsString>, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        Self {
            program: program.into(),
            args: args.into_iter().map(Into::into).collect(),
            env: BTreeMap::new(),
            cwd: None,
            timeout: Duration::from_secs(30),
            show_stderr: false,
        }
    }

    /// Sets one environment variable for the server.
    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.env.insert(key.into(), value.into());
        self
    }

    /// Sets the deadline.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

/// What a server answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeReport {
    /// `protocolVersion` from the `initialize` result.
    pub protocol_version: String,
    /// `serverInfo.name`.
    pub server_name: String,
    /// `serverInfo.version`, when given.
    pub server_version: Option<String>,
    /// Tool names from `tools/list` (every page), in the server's order.
    pub tools: Vec<String>,
    /// From spawn to the `tools/list` answer.
    pub latency: Duration,
}

/// Why a probe failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProbeError {
    /// The program could not be started.
    #[error("cannot start `{program}`")]
    Spawn {
        /// The program.
        program: String,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// No complete answer before the deadline.
    #[error("no answer to `{method}` within {timeout:?}")]
    Timeout {
        /// The request that went unanswered.
        method: &'static str,
        /// The deadline.
        timeout: Duration,
    },
    /// The server closed stdout (usually: it exited).
    #[error("the server closed its stdout before answering `{method}`{status}")]
    Closed {
        /// The request that went unanswered.
        method: &'static str,
        /// `: exit status N`, when known.
        status: String,
    },
    /// A line on stdout that is not JSON-RPC (a server printing logs to stdout).
    #[error("the server wrote a non-JSON line to stdout: `{line}`")]
    NotJson {
        /// The line (truncated).
        line: String,
    },
    /// A JSON-RPC error answer.
    #[error("`{method}` failed: {message}")]
    Rpc {
        /// The request.
        method: &'static str,
        /// The error object, as text.
        message: String,
    },
    /// An answer without the fields MCP requires.
    #[error("malformed `{method}` result: {reason}")]
    Malformed {
        /// The request.
        method: &'static str,
        /// What is missing.
        reason: String,
    },
    /// Writing to the server failed.
    #[error("cannot write to the server's stdin")]
    Write(#[source] std::io::Error),
}

/// Starts `cmd`, performs the MCP handshake and `tools/list`, then stops the server.
pub fn probe(cmd: &ProbeCommand) -> Result<ProbeReport, ProbeError> {
    let start = Instant::now();
    let mut command = Command::new(&cmd.program);
    command
        .args(&cmd.args)
        .envs(&cmd.env)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(if cmd.show_stderr {
            Stdio::inherit()
        } else {
            Stdio::null()
        });
    if let Some(cwd) = &cmd.cwd {
        command.current_dir(cwd);
    }
    let mut child = command.spawn().map_err(|source| ProbeError::Spawn {
        program: cmd.program.to_string_lossy().into_owned(),
        source,
    })?;
    let result = handshake(&mut child, cmd.timeout, start);
    let _ = child.kill();
    let _ = child.wait();
    result
}

/// One line read from the server, or the end of its stdout.
enum Line {
    Text(String),
    Eof,
}

struct Session {
    stdin: ChildStdin,
    lines: mpsc::Receiver<Line>,
    deadline: Instant,
    timeout: Duration,
    next_id: u64,
}

fn handshake(
    child: &mut Child,
    timeout: Duration,
    start: Instant,
) -> Result<ProbeReport, ProbeError> {
    let stdin = child.stdin.take().expect("stdin is piped");
    let stdout = child.stdout.take().expect("stdout is piped");
    let (tx, rx) = mpsc::channel();
    // A reader thread turns blocking reads into a channel we can wait on with a deadline.
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        loop {
            let mut line = String::new();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => {
                    let _ = tx.send(Line::Eof);
                    return;
                }
                Ok(_) => {
                    if tx.send(Line::Text(line)).is_err() {
                        return;
                    }
                }
            }
        }
    });
    let mut session = Session {
        stdin,
        lines: rx,
        deadline: start + timeout,
        timeout,
        next_id: 1,
    };
    let init = session.request(
        child,
        "initialize",
        json!({
            "protocolVersion": CLIENT_PROTOCOL_VERSION,
            "capabilities": {},
            "clientInfo": {"name": "codexport-probe", "version": env!("CARGO_PKG_VERSION")},
        }),
    )?;
    let protocol_version = init
        .get("protocolVersion")
        .and_then(Value::as_str)
        .ok_or_else(|| ProbeError::Malformed {
            method: "initialize",
            reason: "no `protocolVersion`".to_owned(),
        })?
        .to_owned();
    let info = init.get("serverInfo");
    let server_name = info
        .and_then(|i| i.get("name"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let server_version = info
        .and_then(|i| i.get("version"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    session.notify("notifications/initialized")?;

    let mut tools = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let params = match &cursor {
            Some(c) => json!({"cursor": c}),
            None => json!({}),
        };
        let page = session.request(child, "tools/list", params)?;
        let list =
            page.get("tools")
                .and_then(Value::as_array)
                .ok_or_else(|| ProbeError::Malformed {
                    method: "tools/list",
                    reason: "no `tools` array".to_owned(),
                })?;
        tools.extend(
            list.iter()
                .filter_map(|t| t.get("name").and_then(Value::as_str))
                .map(str::to_owned),
        );
        cursor = page
            .get("nextCursor")
            .and_then(Value::as_str)
            .map(str::to_owned);
        if cursor.is_none() {
            break;
        }
    }
    Ok(ProbeReport {
        protocol_version,
        server_name,
        server_version,
        tools,
        latency: start.elapsed(),
    })
}

impl Session {
    fn send(&mut self, message: &Value) -> Result<(), ProbeError> {
        let mut line = serde_json::to_vec(message).expect("JSON values serialise");
        line.push(b'\n');
        self.stdin
            .write_all(&line)
            .and_then(|()| self.stdin.flush())
            .map_err(ProbeError::Write)
    }

    fn notify(&mut self, method: &str) -> Result<(), ProbeError> {
        self.send(&json!({"jsonrpc": "2.0", "method": method}))
    }

    /// Sends a request and waits for the answer with its id, skipping notifications and
    /// answering server-to-client requests (`ping`, ...) with an empty result or an error.
    fn request(
        &mut self,
        child: &mut Child,
        method: &'static str,
        params: Value,
    ) -> Result<Value, ProbeError> {
        let id = self.next_id;
        self.next_id += 1;
        let sent =
            self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        if let Err(ProbeError::Write(e)) = &sent
            && e.kind() == std::io::ErrorKind::BrokenPipe
        {
            return Err(closed(child, method));
        }
        sent?;
        loop {
            let remaining = self.deadline.saturating_duration_since(Instant::now());
            let line = match self.lines.recv_timeout(remaining) {
                Ok(Line::Text(line)) => line,
                Ok(Line::Eof) | Err(mpsc::RecvTimeoutError::Disconnected) => {
                    return Err(closed(child, method));
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    return Err(ProbeError::Timeout {
                        method,
                        timeout: self.timeout,
                    });
                }
            };
            let trimmed = line.trim();
            if trimmed.is_empty() {
                continue;
            }
            let message: Value =
                serde_json::from_str(trimmed).map_err(|_| ProbeError::NotJson {
                    line: trimmed.chars().take(200).collect(),
                })?;
            let is_request = message.get("method").is_some();
            match message.get("id") {
                Some(reply_id) if !is_request && reply_id.as_u64() == Some(id) => {
                    if let Some(error) = message.get("error") {
                        return Err(ProbeError::Rpc {
                            method,
                            message: error.to_string(),
                        });
                    }
                    return message
                        .get("result")
                        .cloned()
                        .ok_or_else(|| ProbeError::Malformed {
                            method,
                            reason: "neither `result` nor `error`".to_owned(),
                        });
                }
                Some(request_id) if is_request => {
                    let reply = if message["method"] == "ping" {
                        json!({"jsonrpc": "2.0", "id": request_id, "result": {}})
                    } else {
                        json!({"jsonrpc": "2.0", "id": request_id,
                               "error": {"code": -32601, "message": "not supported by the probe"}})
                    };
                    self.send(&reply)?;
                }
                _ => {} // notifications (logging, progress) and stray answers
            }
        }
    }
}

/// The server went away while `method` was pending.
fn closed(child: &mut Child, method: &'static str) -> ProbeError {
    let status = wait_briefly(child)
        .map(|s| format!(": {s}"))
        .unwrap_or_default();
    ProbeError::Closed { method, status }
}

/// The child's exit status if it ends within a moment (it usually just did).
fn wait_briefly(child: &mut Child) -> Option<std::process::ExitStatus> {
    for _ in 0..20 {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    None
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    /// A tiny MCP server in shell: answers by id, prints one log notification first.
    const SH_SERVER: &str = r#"
while IFS= read -r line; do
  id=$(printf '%s' "$line" | sed -n 's/.*"id":\([0-9]*\).*/\1/p')
  case "$line" in
    *'"initialize"'*) printf '{"jsonrpc":"2.0","method":"notifications/message","params":{}}\n'
      printf '{"jsonrpc":"2.0","id":%s,"result":{"protocolVersion":"2025-06-18","capabilities":{},"serverInfo":{"name":"sh","version":"1"}}}\n' "$id" ;;
    *'"tools/list"'*) printf '{"jsonrpc":"2.0","id":%s,"result":{"tools":[{"name":"a"},{"name":"b"}]}}\n' "$id" ;;
  esac
done
"#;

    #[test]
    fn handshake_reports_name_version_and_tools() {
        let report = probe(&ProbeCommand::new("sh", ["-c", SH_SERVER])).unwrap();
        assert_eq!(report.protocol_version, "2025-06-18");
        assert_eq!(report.server_name, "sh");
        assert_eq!(report.server_version.as_deref(), Some("1"));
        assert_eq!(report.tools, ["a", "b"]);
    }

    #[test]
    fn a_server_that_exits_is_reported_closed() {
        let err = probe(&ProbeCommand::new("sh", ["-c", "exit 3"])).unwrap_err();
        assert!(matches!(err, ProbeError::Closed { .. }), "{err}");
    }

    #[test]
    fn stdout_noise_is_reported() {
        let err = probe(&ProbeCommand::new("sh", ["-c", "echo hello; sleep 5"])).unwrap_err();
        assert!(matches!(err, ProbeError::NotJson { .. }), "{err}");
    }

    #[test]
    fn silence_times_out() {
        let cmd = ProbeCommand::new("sh", ["-c", "sleep 5"]).timeout(Duration::from_millis(200));
        assert!(matches!(probe(&cmd), Err(ProbeError::Timeout { .. })));
    }
}
