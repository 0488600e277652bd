//! A tiny stdio MCP server for tests that need a native program (the Windows end-to-end test
//! builds it for `x86_64-pc-windows-gnu` and runs it under wine through the launcher).
//!
//! One JSON-RPC request per line on stdin, one answer per line on stdout, `\n` only:
//! - `initialize`: `serverInfo.name` is `$FIXTURE_NAME` (default `fixture-mcp`);
//! - `tools/list`: one tool per command-line argument;
//! - `fixture/echo`: `result.hex` is the hex of the request line's raw bytes as received,
//!   newline included (so a test sees every byte the launcher passed, `\r` or not),
//!   `result.text` is `params.text`, `result.env` the value of the variable `params.var`, and
//!   `result.pid` the server's process id;
//! - `fixture/exit`: exits at once with `params.code`.
//!
//! At the end of stdin it exits with `$FIXTURE_EXIT_CODE` (default 0).
//!
//! `codexport-fixture-mcp --codex-hook COMMAND` instead runs a hook command the way Codex on
//! Windows does (`%COMSPEC% /C COMMAND` through Rust's argument quoting, a SessionStart payload
//! on stdin) and exits with its code. Only std and serde_json: it must build for every target
//! the tests cross-build for.

use std::io::{BufRead, Write};

use serde_json::{Value, json};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [flag, command] = args.as_slice()
        && flag == "--codex-hook"
    {
        std::process::exit(run_hook(command));
    }
    let tools: Vec<Value> = std::env::args()
        .skip(1)
        .map(|name| json!({"name": name, "inputSchema": {"type": "object"}}))
        .collect();
    let name = std::env::var("FIXTURE_NAME").unwrap_or_else(|_| "fixture-mcp".to_owned());
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let mut stdout = std::io::stdout().lock();
    let mut line = Vec::new();
    loop {
        line.clear();
        match input.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        let Ok(request) = serde_json::from_slice::<Value>(&line) else {
            continue;
        };
        let id = request.get("id").cloned().unwrap_or(Value::Null);
        let result = match request.get("method").and_then(Value::as_str) {
            Some("initialize") => json!({
                "protocolVersion": "2025-06-18",
                "capabilities": {"tools": {}},
                "serverInfo": {"name": name, "version": "1.0.0"},
            }),
            Some("tools/list") => json!({"tools": tools}),
            Some("fixture/echo") => {
                let params = &request["params"];
                let var = params["var"].as_str().and_then(|v| std::env::var(v).ok());
                json!({
                    "hex": line.iter().map(|b| format!("{b:02x}")).collect::<String>(),
                    "text": params["text"],
                    "env": var,
                    "pid": std::process::id(),
                })
            }
            Some("fixture/exit") => {
                let code = request["params"]["code"].as_i64().unwrap_or(0);
                std::process::exit(i32::try_from(code).unwrap_or(1));
            }
            _ => continue,
        };
        let answer = json!({"jsonrpc": "2.0", "id": id, "result": result});
        let mut bytes = serde_json::to_vec(&answer).expect("JSON values serialise");
        bytes.push(b'\n');
        if stdout
            .write_all(&bytes)
            .and_then(|()| stdout.flush())
            .is_err()
        {
            break;
        }
    }
    let code = std::env::var("FIXTURE_EXIT_CODE")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    std::process::exit(code);
}

/// Runs `command` as Codex runs a hook (codex-rs/hooks `command_runner.rs`: the default shell
/// with one argument, stdin the event as JSON); passes its stdout and stderr through.
fn run_hook(command: &str) -> i32 {
    let (shell, flag) = if cfg!(windows) {
        (
            std::env::var("COMSPEC").unwrap_or_else(|_| "cmd.exe".to_owned()),
            "/C",
        )
    } else {
        (
            std::env::var("SHELL").unwrap_or_else(|_| "/bin/sh".to_owned()),
            "-lc",
        )
    };
    let mut child = match std::process::Command::new(shell)
        .arg(flag)
        .arg(command)
        .stdin(std::process::Stdio::piped())
        .spawn()
    {
        Ok(child) => child,
        Err(e) => {
            eprintln!("cannot start the hook: {e}");
            return 127;
        }
    };
    let payload = json!({
        "session_id": "fixture", "transcript_path": null, "cwd": ".",
        "hook_event_name": "SessionStart", "model": "gpt-5", "permission_mode": "default",
        "source": "startup",
    });
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(payload.to_string().as_bytes());
    }
    match child.wait() {
        Ok(status) => status.code().unwrap_or(1),
        Err(e) => {
            eprintln!("cannot wait for the hook: {e}");
            1
        }
    }
}
