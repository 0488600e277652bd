//! Windows end to end, under wine: a Linux master with a Windows follower (join, apply with
//! paths in Windows form, an MCP server started through `codexport-mcp-run.exe` as Codex starts
//! it, the hook installed and run as Codex on Windows runs it, also from a path with spaces), and
//! a Windows master serving a Linux follower.
//!
//! The Windows programs are built for `x86_64-pc-windows-gnu` before this test runs
//! (`.ci/run` does it) and found in `$CODEXPORT_WINDOWS_BIN_DIR`: `codexport.exe`,
//! `codexport-mcp-run.exe` and `codexport-fixture-mcp.exe` (a tiny MCP server). Without that
//! variable the tests fail, so CI cannot pass them by accident; `CODEXPORT_SKIP_WINDOWS_E2E=1`
//! skips them on purpose. Every Windows program runs through `scripts/wine-run.sh` (the
//! prefix made once, the bcryptprimitives shim in it).
//!
//! Wine starts slowly: each direction keeps one persistent prefix under the target dir, and a
//! wineserver that stays up between its commands. The Windows machine's home is the prefix's
//! profile folder, `C:\users\<user>` (wine sets `USERPROFILE` itself), cleaned at the start of
//! each run; the two directions use two prefixes so neither sees the other's home.

use std::collections::BTreeMap;
use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use codexport_core::env;
use codexport_core::hooks::{self, HookOs, HooksFile};
use codexport_test_support::{Ran, TestContext, bins, output, run, write};

/// Where `.ci/run` puts the Windows build.
const BIN_DIR: &str = "CODEXPORT_WINDOWS_BIN_DIR";
/// Set to `1` to skip these tests on purpose (a machine without wine).
const SKIP: &str = "CODEXPORT_SKIP_WINDOWS_E2E";

/// A skill name with a space and non-ASCII letters, as the realistic master has.
const SKILL: &str = "日本語 skill";

/// One wine prefix: a Windows machine.
struct Wine {
    prefix: PathBuf,
    bins: PathBuf,
    /// The profile folder, `C:\users\<user>`.
    profile_win: String,
    /// The same folder seen from Linux.
    profile: PathBuf,
}

impl Wine {
    /// The prefix `name` (booted on first use) with a clean profile folder; `None` when the
    /// tests are skipped on purpose.
    fn open(name: &str) -> Option<Self> {
        let Some(bins) = std::env::var_os(BIN_DIR).map(PathBuf::from) else {
            if std::env::var(SKIP).is_ok_and(|v| v == "1") {
                eprintln!("skipped: {SKIP}=1");
                return None;
            }
            panic!(
                "`{BIN_DIR}` is not set: build the Windows binaries (`cargo build --workspace \
                 --target x86_64-pc-windows-gnu --bins`), point it at their folder, or set \
                 `{SKIP}=1` to skip these tests on purpose"
            );
        };
        for exe in [
            "codexport.exe",
            "codexport-mcp-run.exe",
            "codexport-fixture-mcp.exe",
        ] {
            assert!(
                bins.join(exe).is_file(),
                "no `{exe}` in `{}`",
                bins.display()
            );
        }
        let target = Path::new(env!("CARGO_TARGET_TMPDIR")).parent().unwrap();
        let mut wine = Self {
            prefix: target.join(format!("wine-prefix-e2e-{name}")),
            bins,
            profile_win: String::new(),
            profile: PathBuf::new(),
        };
        wine.boot();
        Some(wine)
    }

    fn boot(&mut self) {
        let started = Instant::now();
        // The first command makes the prefix (once) and starts its wineserver.
        output(self.cmd("cmd.exe").args(["/c", "exit"]), 0);
        // Keep that server up between this test's commands (each `wine` would start one).
        for server in ["wineserver", "/usr/lib/wine/wineserver64"] {
            let kept = Command::new(server)
                .arg("-p15")
                .env("WINEPREFIX", &self.prefix)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
            if kept.is_ok_and(|s| s.success()) {
                break;
            }
        }
        eprintln!(
            "wine prefix {} ready in {:?}",
            self.prefix.display(),
            started.elapsed()
        );
        let users = self.prefix.join("drive_c/users");
        let user = fs::read_dir(&users)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .find(|n| n != "Public")
            .expect("the prefix has a user profile");
        self.profile = users.join(&user);
        self.profile_win = format!(r"C:\users\{user}");
        for dir in [".codex", ".codexport", ".agents", "work", "e2e"] {
            let _ = fs::remove_dir_all(self.profile.join(dir));
        }
    }

    fn env<'a>(&self, cmd: &'a mut Command) -> &'a mut Command {
        cmd.env("WINEPREFIX", &self.prefix)
            .env(env::NO_COLOR, "1")
            .env(env::NO_BACKGROUND_HYDRATE, "1")
            .env_remove(env::CODEX_HOME)
            .env_remove(env::CODEXPORT_HOME)
            .env_remove(env::CODEXPORT_LOG)
            .env_remove(env::RUST_LOG)
            .stdin(Stdio::null())
    }

    /// `wine <program>`: a Windows path, or a Linux path to a `.exe`.
    fn cmd(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd =
            Command::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/wine-run.sh"));
        self.env(&mut cmd).arg(program);
        cmd
    }

    /// `codexport.exe` of the build.
    fn codexport(&self) -> Command {
        self.cmd(self.bins.join("codexport.exe"))
    }

    /// The Linux path of `C:\users\<user>\<rel>` (`rel` with `/`).
    fn in_profile(&self, rel: &str) -> PathBuf {
        self.profile.join(rel)
    }

    /// The Linux path of a `C:\...` path.
    fn unix(&self, windows: &str) -> PathBuf {
        let rest = windows
            .strip_prefix(r"C:\")
            .unwrap_or_else(|| panic!("not on C: `{windows}`"));
        let mut path = self.prefix.join("drive_c");
        path.extend(rest.split('\\'));
        path
    }
}

/// Direction 1: a native Linux master, a Windows follower under wine.
#[test]
fn a_windows_follower_joins_a_linux_master_applies_and_runs_its_hook() {
    let Some(wine) = Wine::open("follower") else {
        return;
    };
    let mut ctx = TestContext::new(bins!());
    let m = ctx.master.user.display().to_string();
    ctx.master.write_codex(
        "config.toml",
        format!(
            "model = \"gpt-5\"\n\
             model_instructions_file = \"{m}/.codex/instructions.md\"\n\n\
             [projects.\"{m}/work/proj\"]\n\
             trust_level = \"trusted\"\n\n\
             [mcp_servers.win]\n\
             command = \"win-fixture\"\n\
             args = [\"alpha\", \"beta\"]\n\n\
             [mcp_servers.win.env]\n\
             FIXTURE_NAME = \"win\"\n\
             FIXTURE_EXIT_CODE = \"7\"\n\
             DATA_DIR = \"{m}/work/data\"\n"
        ),
    );
    ctx.master.write_codex("instructions.md", "be brief\n");
    ctx.master.write_codex("AGENTS.md", "# agents\n");
    write(
        &ctx.master
            .user
            .join(format!(".agents/skills/{SKILL}/SKILL.md")),
        "---\nname: 日本語 skill\ndescription: にほんご\n---\n本文\n",
    );
    // `win-fixture` is a program each machine has on its PATH (the follower's is a Windows
    // build of the fixture server).
    write(
        &ctx.master.tool.join("master.toml"),
        "[mcp.win]\nresolver = \"path\"\nprogram = \"win-fixture\"\n",
    );
    let tools = wine.in_profile("e2e/tools");
    fs::create_dir_all(&tools).unwrap();
    fs::copy(
        wine.bins.join("codexport-fixture-mcp.exe"),
        tools.join("win-fixture.exe"),
    )
    .unwrap();
    let tools_win = format!(r"{}\e2e\tools", wine.profile_win);

    ctx.start_master();
    let link = ctx.link("windows");
    let joined = output(
        wine.codexport()
            .env("WINEPATH", &tools_win)
            .args(["follower", "join", &link, "--apply"]),
        0,
    );
    eprintln!("join:\n{}", joined.stderr);

    // Paths in Windows form, table keys included.
    let home = &wine.profile_win;
    let config = fs::read_to_string(wine.in_profile(".codex/config.toml")).unwrap();
    let doc: toml_edit::DocumentMut = config.parse().unwrap();
    assert_eq!(
        doc["model_instructions_file"].as_str(),
        Some(format!(r"{home}\.codex\instructions.md").as_str()),
        "{config}"
    );
    let projects = doc["projects"].as_table().expect("projects");
    let keys: Vec<&str> = projects.iter().map(|(k, _)| k).collect();
    assert_eq!(keys, [format!(r"{home}\work\proj")], "{config}");
    let launcher_win = format!(r"{home}\.codexport\bin\codexport-mcp-run.exe");
    let win = &doc["mcp_servers"]["win"];
    assert_eq!(
        win["command"].as_str(),
        Some(launcher_win.as_str()),
        "{config}"
    );
    let args: Vec<&str> = win["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(args, ["mcp", "run", "win"], "{config}");
    assert!(wine.unix(&launcher_win).is_file(), "launcher installed");
    assert_eq!(
        fs::read_to_string(wine.in_profile(".codex/AGENTS.md")).unwrap(),
        "# agents\n"
    );
    assert_eq!(
        fs::read_to_string(wine.in_profile(&format!(".agents/skills/{SKILL}/SKILL.md"))).unwrap(),
        "---\nname: 日本語 skill\ndescription: にほんご\n---\n本文\n"
    );

    // The MCP server, started as Codex on Windows starts it: the launcher from config.toml,
    // talked to over pipes.
    let data_win = format!(r"{home}\work\data");
    let mut mcp = Mcp::start(&wine, &launcher_win, &tools_win);
    let init = mcp.request(
        "initialize",
        r#"{"protocolVersion":"2025-06-18","capabilities":{}}"#,
    );
    assert_eq!(init["serverInfo"]["name"], "win", "{init}");
    mcp.send(b"{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n");
    let listed = mcp.request("tools/list", "{}");
    let names: Vec<&str> = listed["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["alpha", "beta"], "{listed}");
    // Bytes pass untouched both ways: a `\r\n` line arrives as sent, answers end in `\n` alone.
    let line = b"{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"fixture/echo\",\"params\":{\"text\":\"\xe6\x97\xa5\",\"var\":\"DATA_DIR\"}}\r\n";
    mcp.send(line);
    let echo = mcp.answer(9);
    let hex: String = line.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(echo["result"]["hex"], hex.as_str(), "{echo}");
    assert_eq!(echo["result"]["text"], "日", "{echo}");
    assert_eq!(
        echo["result"]["env"],
        data_win.as_str(),
        "the entry's env, its path in Windows form: {echo}"
    );
    let (code, raw, stderr) = mcp.finish();
    assert_eq!(
        code, 7,
        "the server's exit code is the launcher's\n{stderr}"
    );
    assert!(!raw.contains(&b'\r'), "no CRLF translation: {raw:?}");

    // The server dies with the launcher (its kill-on-close job): once the launcher is killed,
    // nothing holds the write end of the server's stdout any more.
    let mut mcp = Mcp::start(&wine, &launcher_win, &tools_win);
    let init = mcp.request("initialize", "{}");
    assert_eq!(init["serverInfo"]["name"], "win", "{init}");
    mcp.child.kill().unwrap();
    mcp.child.wait().unwrap();
    mcp.expect_eof(Duration::from_secs(20));

    // The hook: commandWindows set, trusted under the key Codex on Windows computes.
    output(wine.codexport().args(["hook", "install"]), 0);
    let hooks_json = wine.in_profile(".codex/hooks.json");
    let file = HooksFile::read(&hooks_json).unwrap().file;
    let group = &file.groups(hooks::EVENT_SESSION_START)[0];
    let handler = &group.hooks[0];
    let windows_command = handler.command_windows.clone().expect("commandWindows");
    assert!(
        windows_command.ends_with(r"\codexport.exe sync --apply --hook"),
        "{windows_command}"
    );
    assert!(
        !windows_command.contains('"') && !windows_command.starts_with(r"\\?\"),
        "cmd.exe gets it without quotes: {windows_command}"
    );
    let config = fs::read_to_string(wine.in_profile(".codex/config.toml")).unwrap();
    let doc: toml_edit::DocumentMut = config.parse().unwrap();
    let states = hooks::read_states(&doc);
    let key = format!(r"{home}\.codex\hooks.json:session_start:0:0");
    let state = states
        .get(&key)
        .unwrap_or_else(|| panic!("no trust entry `{key}` in:\n{config}"));
    let windows_hash = hooks::handler_hash_on(
        HookOs::Windows,
        hooks::EVENT_SESSION_START,
        group.matcher.as_deref(),
        handler,
    );
    assert_eq!(state.trusted_hash, windows_hash, "{config}");
    assert_ne!(
        windows_hash,
        hooks::handler_hash_on(
            HookOs::Unix,
            hooks::EVENT_SESSION_START,
            group.matcher.as_deref(),
            handler
        ),
        "Windows hashes commandWindows"
    );
    // The hook runs as Codex runs it on Windows: `%COMSPEC% /C <commandWindows>`, spawned
    // with Rust's argument quoting (the fixture's `--codex-hook` does exactly that).
    let hooked = run(wine
        .cmd(wine.bins.join("codexport-fixture-mcp.exe"))
        .args(["--codex-hook", &windows_command]));
    assert_eq!(hooked.code, 0, "{}", hooked.transcript());
    assert_eq!(hooked.stdout, "", "a SessionStart hook prints nothing");
    let log = fs::read_to_string(wine.in_profile(".codexport/logs/hook.log")).unwrap();
    assert!(!log.is_empty(), "the hook ran and logged");

    // A tool home with a space, so the hook's codexport and its CODEXPORT_HOME have one: the
    // line must still start that codexport with that home through cmd.exe.
    let spaced = format!(r"{home}\e2e\x y");
    let installed = output(
        wine.codexport()
            .env(env::CODEXPORT_HOME, &spaced)
            .args(["hook", "install"]),
        0,
    );
    let file = HooksFile::read(&hooks_json).unwrap().file;
    let handler = &file.groups(hooks::EVENT_SESSION_START)[0].hooks[0];
    let windows_command = handler.command_windows.clone().expect("commandWindows");
    assert!(
        windows_command.contains(r"\x y") && !windows_command.contains('"'),
        "{windows_command}\n{}",
        installed.stderr
    );
    let hooked = run(wine
        .cmd(wine.bins.join("codexport-fixture-mcp.exe"))
        .args(["--codex-hook", &windows_command]));
    assert_eq!(hooked.code, 0, "{windows_command}\n{}", hooked.transcript());
    assert_eq!(hooked.stdout, "", "a SessionStart hook prints nothing");
    let log =
        fs::read_to_string(wine.unix(&format!(r"{spaced}\logs\hook.log"))).unwrap_or_else(|e| {
            panic!("the spaced codexport ran with its home: {e}\n{windows_command}")
        });
    assert!(!log.is_empty(), "the hook ran and logged");
}

/// A launcher started as Codex on Windows starts an MCP server, with a reader thread that
/// keeps every byte of its stdout.
struct Mcp {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<Vec<u8>>,
    raw: Vec<u8>,
    /// Everything on stderr so far (a thread appends it: the server may outlive a failure).
    stderr: Arc<Mutex<Vec<u8>>>,
    next_id: u64,
}

impl Mcp {
    /// How long one answer may take (wine starts the launcher, then the server).
    const ANSWER: Duration = Duration::from_secs(60);

    fn start(wine: &Wine, launcher: &str, path: &str) -> Self {
        let mut child = wine
            .cmd(launcher)
            .args(["mcp", "run", "win"])
            .env("WINEPATH", path)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            loop {
                let mut line = Vec::new();
                match reader.read_until(b'\n', &mut line) {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {
                        if tx.send(line).is_err() {
                            return;
                        }
                    }
                }
            }
        });
        let mut err = child.stderr.take().unwrap();
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&stderr);
        std::thread::spawn(move || {
            let mut chunk = [0; 4096];
            while let Ok(n @ 1..) = err.read(&mut chunk) {
                sink.lock().unwrap().extend_from_slice(&chunk[..n]);
            }
        });
        Self {
            stdin: child.stdin.take(),
            child,
            lines,
            raw: Vec::new(),
            stderr,
            next_id: 1,
        }
    }

    fn send(&mut self, line: &[u8]) {
        let stdin = self.stdin.as_mut().unwrap();
        stdin.write_all(line).and_then(|()| stdin.flush()).unwrap();
    }

    /// Sends request `method` and returns its answer's `result`.
    fn request(&mut self, method: &str, params: &str) -> serde_json::Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(
            format!(
                "{{\"jsonrpc\":\"2.0\",\"id\":{id},\"method\":\"{method}\",\"params\":{params}}}\n"
            )
            .as_bytes(),
        );
        self.answer(id)["result"].clone()
    }

    /// The next line, which must answer `id`.
    fn answer(&mut self, id: u64) -> serde_json::Value {
        let line = match self.lines.recv_timeout(Self::ANSWER) {
            Ok(line) => line,
            Err(e) => {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!(
                    "no answer to request {id} ({e}); stderr:\n{}",
                    self.stderr()
                );
            }
        };
        self.raw.extend_from_slice(&line);
        let answer: serde_json::Value = serde_json::from_slice(&line)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", String::from_utf8_lossy(&line)));
        assert_eq!(answer["id"], id, "{answer}");
        answer
    }

    /// Closes stdin and waits: the exit code, every byte of stdout, stderr.
    fn finish(mut self) -> (i32, Vec<u8>, String) {
        drop(self.stdin.take());
        let status = self.child.wait().unwrap();
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.raw.extend_from_slice(&line);
        }
        let stderr = self.stderr();
        (status.code().unwrap_or(-1), self.raw, stderr)
    }

    /// Waits for the end of stdout (every process holding it is gone).
    fn expect_eof(self, within: Duration) {
        match self.lines.recv_timeout(within) {
            Err(mpsc::RecvTimeoutError::Disconnected) => {}
            other => panic!("the server outlived its launcher: {other:?}"),
        }
    }

    /// What the launcher and the server said on stderr so far.
    fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr.lock().unwrap()).into_owned()
    }
}

/// Direction 2: a Windows master under wine, a native Linux follower.
#[test]
fn a_linux_follower_joins_a_windows_master() {
    let Some(wine) = Wine::open("master") else {
        return;
    };
    let home = wine.profile_win.clone();
    let codex = wine.in_profile(".codex");
    write(
        &codex.join("config.toml"),
        format!(
            "model = \"gpt-5\"\n\
             model_instructions_file = '{home}\\.codex\\instructions.md'\n\n\
             [projects.'{home}\\work\\proj']\n\
             trust_level = \"trusted\"\n"
        ),
    );
    write(&codex.join("AGENTS.md"), "# agents\r\nbe brief\r\n");
    write(
        &wine.in_profile(&format!(".agents/skills/{SKILL}/SKILL.md")),
        "---\nname: 日本語 skill\ndescription: にほんご\n---\n本文\n",
    );
    output(wine.codexport().args(["master", "init"]), 0);

    let ctx = TestContext::new(bins!());
    let port = ctx.port.to_string();
    let listen = ctx.listen_addr();
    let mut serve = wine
        .codexport()
        .args(["master", "serve", "--listen", &listen])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let url = format!("{}/v1/meta", ctx.master_url());
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        if let Some(status) = serve.try_wait().unwrap() {
            let mut err = String::new();
            serve
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            panic!("master serve exited {status}:\n{err}");
        }
        if client
            .get(&url)
            .send()
            .is_ok_and(|r| r.status().is_success())
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the Windows master never answered {url}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let linked = output(
        wine.codexport().args([
            "master",
            "link",
            "--host",
            "127.0.0.1",
            "--port",
            &port,
            "--name",
            "linux",
        ]),
        0,
    );
    let link = linked
        .stdout
        .lines()
        .find(|l| l.starts_with("codexport://"))
        .unwrap_or_else(|| panic!("no link in:\n{}", linked.stdout))
        .to_owned();
    let joined: Ran = output(
        ctx.follower_cmd()
            .args(["follower", "join", &link, "--apply"]),
        0,
    );
    let _ = serve.kill();
    let _ = serve.wait();

    let f = &ctx.follower;
    let fhome = f.user.display().to_string();
    let config = f.read_codex("config.toml");
    let doc: toml_edit::DocumentMut = config.parse().unwrap();
    assert_eq!(
        doc["model_instructions_file"].as_str(),
        Some(format!("{fhome}/.codex/instructions.md").as_str()),
        "{config}\n{}",
        joined.stderr
    );
    let keys: BTreeMap<&str, &str> = doc["projects"]
        .as_table()
        .unwrap()
        .iter()
        .map(|(k, v)| (k, v["trust_level"].as_str().unwrap()))
        .collect();
    assert_eq!(
        keys,
        BTreeMap::from([(format!("{fhome}/work/proj").as_str(), "trusted")]),
        "{config}"
    );
    assert_eq!(
        fs::read(f.codex.join("AGENTS.md")).unwrap(),
        b"# agents\r\nbe brief\r\n",
        "file bytes travel unchanged"
    );
    assert_eq!(
        fs::read_to_string(f.user.join(format!(".agents/skills/{SKILL}/SKILL.md"))).unwrap(),
        "---\nname: 日本語 skill\ndescription: にほんご\n---\n本文\n"
    );
}
