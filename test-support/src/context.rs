//! The one test context: temp master and follower homes, a free loopback port, the binaries.

use std::fs;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use codexport_core::env;

/// The programs under test (build it with [`crate::bins!`]).
#[derive(Debug, Clone)]
pub struct Bins {
    /// `codexport`.
    pub codexport: PathBuf,
    /// `codexport-mcp-run`, the launcher (a binary of the root package, so cargo builds it
    /// fresh with the tests).
    pub launcher: PathBuf,
}

/// The three roots of one simulated machine (all inside the test's temp dir).
#[derive(Debug, Clone)]
pub struct Home {
    /// `HOME` (and `USERPROFILE`).
    pub user: PathBuf,
    /// `CODEX_HOME`.
    pub codex: PathBuf,
    /// `CODEXPORT_HOME`.
    pub tool: PathBuf,
    /// The programs this machine runs.
    pub bins: Bins,
}

impl Home {
    fn create(root: &Path, bins: Bins) -> Self {
        let user = root.to_path_buf();
        let home = Self {
            codex: user.join(".codex"),
            tool: user.join(".codexport"),
            user,
            bins,
        };
        fs::create_dir_all(&home.codex).unwrap();
        home
    }

    /// The same roots as codexport's own [`codexport_core::Homes`].
    pub fn homes(&self) -> codexport_core::Homes {
        codexport_core::Homes::new(&self.user, &self.codex, &self.tool)
    }

    /// Writes a file (creating parents) under the Codex home.
    pub fn write_codex(&self, rel: &str, content: impl AsRef<[u8]>) -> PathBuf {
        write(&self.codex.join(rel), content)
    }

    /// Where object `hash` lies in this machine's store (present or not).
    pub fn object_path(&self, hash: &str) -> PathBuf {
        codexport_core::store::ObjectStore::new(self.homes().objects())
            .path(hash)
            .unwrap()
    }

    /// Reads a file under the Codex home as text.
    pub fn read_codex(&self, rel: &str) -> String {
        fs::read_to_string(self.codex.join(rel)).unwrap()
    }

    /// A `codexport` command with this machine's environment.
    pub fn cmd(&self) -> Command {
        let mut cmd = Command::new(&self.bins.codexport);
        self.apply_env(&mut cmd);
        cmd
    }

    /// Sets this machine's environment on any command (the launcher, a script).
    pub fn apply_env(&self, cmd: &mut Command) {
        cmd.env(env::HOME, &self.user)
            .env(env::USERPROFILE, &self.user)
            .env(env::CODEX_HOME, &self.codex)
            .env(env::CODEXPORT_HOME, &self.tool)
            .env(env::NO_COLOR, "1")
            .env_remove(env::CODEXPORT_LOG)
            .env_remove(env::RUST_LOG)
            .stdin(Stdio::null());
    }

    /// Puts the launcher where generated `config.toml` files point (`~/.codexport/bin`), with
    /// the `codexport` it hydrates through beside it (on Unix a link to the built one: it is
    /// large, and only its place matters here).
    pub fn install_launcher(&self) -> PathBuf {
        let bin = self.tool.join("bin");
        let target = bin.join(format!("codexport-mcp-run{}", std::env::consts::EXE_SUFFIX));
        fs::create_dir_all(&bin).unwrap();
        fs::copy(&self.bins.launcher, &target).unwrap();
        let codexport = bin.join(format!("codexport{}", std::env::consts::EXE_SUFFIX));
        #[cfg(unix)]
        std::os::unix::fs::symlink(&self.bins.codexport, &codexport).unwrap();
        #[cfg(not(unix))]
        fs::copy(&self.bins.codexport, &codexport).unwrap();
        target
    }
}

/// Writes `content` to `path`, creating parent directories.
pub fn write(path: &Path, content: impl AsRef<[u8]>) -> PathBuf {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, content).unwrap();
    path.to_path_buf()
}

/// Every file and link under `dir` with its bytes (a link as `-> target`), by relative path;
/// empty when `dir` does not exist. The "every file as it was" check of hostile-input tests.
pub fn tree(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    if !dir.exists() {
        return out;
    }
    let mut stack = vec![dir.to_path_buf()];
    while let Some(at) = stack.pop() {
        for entry in fs::read_dir(&at).unwrap() {
            let path = entry.unwrap().path();
            let meta = fs::symlink_metadata(&path).unwrap();
            if meta.is_dir() {
                stack.push(path);
                continue;
            }
            let bytes = if meta.file_type().is_symlink() {
                format!("-> {}", fs::read_link(&path).unwrap().display()).into_bytes()
            } else {
                fs::read(&path).unwrap()
            };
            let rel = path
                .strip_prefix(dir)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            out.insert(rel, bytes);
        }
    }
    out
}

/// [`tree`] with each file's bytes as (lossy) text, for readable assertions.
pub fn text_tree(dir: &Path) -> std::collections::BTreeMap<String, String> {
    tree(dir)
        .into_iter()
        .map(|(k, v)| (k, String::from_utf8_lossy(&v).into_owned()))
        .collect()
}

/// Temp master and follower homes, a free loopback port, and the master server when started.
pub struct TestContext {
    /// Keeps the temp dir alive for the test.
    pub dir: tempfile::TempDir,
    /// The master machine.
    pub master: Home,
    /// The follower machine.
    pub follower: Home,
    /// A loopback port that was free when the context was made.
    pub port: u16,
    server: Option<Child>,
}

impl TestContext {
    /// Fresh, empty homes (each Codex home exists and is empty) running `bins`
    /// (`TestContext::new(bins!())`).
    pub fn new(bins: Bins) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let master = Home::create(&dir.path().join("master"), bins.clone());
        let follower = Home::create(&dir.path().join("follower"), bins);
        Self {
            port: free_port(),
            dir,
            master,
            follower,
            server: None,
        }
    }

    /// A `codexport` command run as the master machine.
    pub fn master_cmd(&self) -> Command {
        self.master.cmd()
    }

    /// A `codexport` command run as the follower machine.
    pub fn follower_cmd(&self) -> Command {
        self.follower.cmd()
    }

    /// The master's base URL on loopback.
    pub fn master_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The `--listen` address tests use (always loopback).
    pub fn listen_addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// `master init` (idempotent), then `master serve` on loopback; waits for `/v1/meta`.
    pub fn start_master(&mut self) {
        self.start_master_with(&[]);
    }

    /// Like [`Self::start_master`] with extra `master serve` arguments (`--no-watch`).
    pub fn start_master_with(&mut self, extra: &[&str]) {
        assert!(self.server.is_none(), "master already running");
        output(self.master_cmd().args(["master", "init"]), 0);
        let log = fs::File::create(self.dir.path().join("master-serve.log")).unwrap();
        let child = self
            .master_cmd()
            .args(["master", "serve", "--listen", &self.listen_addr()])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.server = Some(child);
        self.wait_for_meta();
    }

    /// Starts `master serve` without waiting for `/v1/meta` to answer 200 (a master whose
    /// allow list refuses loopback answers 403); waits until the port accepts connections.
    pub fn start_master_with_unchecked(&mut self) {
        assert!(self.server.is_none(), "master already running");
        let log = fs::File::create(self.dir.path().join("master-serve.log")).unwrap();
        let child = self
            .master_cmd()
            .args(["master", "serve", "--listen", &self.listen_addr()])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.server = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while !port_open(self.port) {
            assert!(
                Instant::now() < deadline,
                "master never listened:\n{}",
                self.master_log()
            );
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// What `master serve` wrote to stderr so far.
    pub fn master_log(&self) -> String {
        fs::read_to_string(self.dir.path().join("master-serve.log")).unwrap_or_default()
    }

    fn wait_for_meta(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        let url = format!("{}/v1/meta", self.master_url());
        let client = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .unwrap();
        while Instant::now() < deadline {
            if let Some(status) = self.server.as_mut().unwrap().try_wait().unwrap() {
                panic!("master serve exited with {status}:\n{}", self.master_log());
            }
            if client
                .get(&url)
                .send()
                .is_ok_and(|r| r.status().is_success())
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!("master never answered {url}:\n{}", self.master_log());
    }

    /// Stops the master (SIGTERM, so it shuts down cleanly), waits for it, and returns how
    /// it exited (`None` when none was running).
    pub fn stop_master(&mut self) -> Option<std::process::ExitStatus> {
        self.server.take().map(|mut child| terminate(&mut child))
    }

    /// `master link` output's link line for follower `name`.
    pub fn link(&self, name: &str) -> String {
        let out = output(
            self.master_cmd().args([
                "master",
                "link",
                "--host",
                "127.0.0.1",
                "--port",
                &self.port.to_string(),
                "--name",
                name,
            ]),
            0,
        );
        out.stdout
            .lines()
            .find(|l| l.starts_with("codexport://"))
            .unwrap_or_else(|| panic!("no link in:\n{}", out.stdout))
            .to_owned()
    }

    /// Starts the master, makes a link and joins the follower with it (`extra`: `--apply`).
    pub fn join(&mut self, extra: &[&str]) -> Ran {
        if self.server.is_none() {
            self.start_master();
        }
        let link = self.link("follower");
        output(
            self.follower_cmd()
                .args(["follower", "join", &link])
                .args(extra),
            0,
        )
    }
}

impl Drop for TestContext {
    fn drop(&mut self) {
        self.stop_master();
    }
}

fn terminate(child: &mut Child) -> std::process::ExitStatus {
    #[cfg(unix)]
    {
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                return status;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    let _ = child.kill();
    child.wait().unwrap()
}

/// A loopback port nothing listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Whether something accepts connections on `port` (loopback).
pub fn port_open(port: u16) -> bool {
    TcpStream::connect(("127.0.0.1", port)).is_ok()
}

/// A finished process with its output as text.
#[derive(Debug)]
pub struct Ran {
    /// Exit code (`-1` when killed by a signal).
    pub code: i32,
    /// Everything on stdout.
    pub stdout: String,
    /// Everything on stderr.
    pub stderr: String,
}

impl Ran {
    /// Exit code, stdout and stderr as one text: the body of an error snapshot.
    pub fn transcript(&self) -> String {
        format!(
            "exit: {}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Runs `cmd` to completion, asserts its exit code is `expected`, and returns its output.
pub fn output(cmd: &mut Command, expected: i32) -> Ran {
    let ran = run(cmd);
    assert_eq!(
        ran.code, expected,
        "{cmd:?} exited {} (expected {expected})\n--- stdout\n{}\n--- stderr\n{}",
        ran.code, ran.stdout, ran.stderr
    );
    ran
}

/// Runs `cmd` to completion whatever its exit code.
pub fn run(cmd: &mut Command) -> Ran {
    let out: Output = cmd.output().unwrap();
    Ran {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}
