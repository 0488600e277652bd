//! The machinery of `codexport demo`: temporary homes for a master and a follower, numbered
//! steps narrated on stderr, child processes of this very binary, and cleanup that also runs
//! on failure and Ctrl-C.

pub(crate) mod sample;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::Context;
use codexport_core::{ExitStatus, Homes, env};

use crate::report::CliError;

/// Set by the Ctrl-C handler before it stops the children, so a step that fails because its
/// command was stopped is not reported as a failure of its own.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Whether the demo was interrupted (it then exits 130 once cleaned up).
pub(crate) fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Which machine a command runs as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// The master's homes.
    Master,
    /// The follower's homes.
    Follower,
}

impl Role {
    fn label(self) -> &'static str {
        match self {
            Role::Master => "master",
            Role::Follower => "follower",
        }
    }
}

/// What must go when the demo ends, however it ends.
#[derive(Debug, Default)]
struct Leftovers {
    /// Background children (`master serve`).
    children: Vec<Child>,
    /// The command the demo is waiting for, by pid.
    foreground: Option<u32>,
    root: Option<PathBuf>,
    /// Set once cleanup began: no command may start after it.
    closed: bool,
}

impl Leftovers {
    fn clean(&mut self) {
        self.closed = true;
        if let Some(pid) = self.foreground.take() {
            kill_pid(pid);
        }
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        self.children.clear();
        if let Some(root) = self.root.take() {
            // A stopped command may still be writing for a moment (its `Child` is waited on
            // elsewhere): remove until the root stays gone, for a bounded time.
            for _ in 0..100 {
                let _ = std::fs::remove_dir_all(&root);
                if !root.exists() {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
        }
    }

    /// Refuses to start anything once cleanup began (Ctrl-C may arrive between two steps).
    fn check_open(&self) -> std::io::Result<()> {
        if self.closed {
            return Err(std::io::Error::other("the demo is stopping"));
        }
        Ok(())
    }
}

/// A running demo: its homes, its step counter, and what to clean up.
pub(crate) struct Demo {
    exe: PathBuf,
    root: PathBuf,
    master: Homes,
    follower: Homes,
    keep: bool,
    step: usize,
    steps: usize,
    leftovers: Arc<Mutex<Leftovers>>,
}

impl Demo {
    /// Creates the temporary root and both roles' homes; `steps` is how many steps will run.
    pub(crate) fn start(steps: usize, keep: bool) -> anyhow::Result<Self> {
        let exe =
            codexport_core::binaries::running_exe().context("cannot find the codexport binary")?;
        let root = tempfile::Builder::new()
            .prefix("codexport-demo-")
            .tempdir()
            .context("cannot create a temporary directory")?
            .keep();
        let homes = |name: &str| {
            let user = root.join(name);
            Homes::new(&user, user.join(".codex"), user.join(".codexport"))
        };
        let (master, follower) = (homes("master"), homes("follower"));
        for h in [&master, &follower] {
            std::fs::create_dir_all(&h.codex)
                .with_context(|| format!("cannot create `{}`", h.codex.display()))?;
        }
        let leftovers = Arc::new(Mutex::new(Leftovers {
            root: (!keep).then(|| root.clone()),
            ..Leftovers::default()
        }));
        on_ctrl_c(Arc::clone(&leftovers));
        eprintln!("codexport demo: a master and a follower in temporary homes on 127.0.0.1");
        eprintln!("  master home:   {}", master.user.display());
        eprintln!("  follower home: {}", follower.user.display());
        Ok(Self {
            exe,
            root,
            master,
            follower,
            keep,
            step: 0,
            steps,
            leftovers,
        })
    }

    /// The homes of `role`.
    pub(crate) fn homes(&self, role: Role) -> &Homes {
        match role {
            Role::Master => &self.master,
            Role::Follower => &self.follower,
        }
    }

    /// The temporary root.
    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    /// Runs one numbered step: a title line, then `body`, then how long it took or why it
    /// failed (the failure ends the demo with the step's status).
    pub(crate) fn step<T>(
        &mut self,
        title: &str,
        body: impl FnOnce(&mut Self) -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        self.step += 1;
        eprintln!("\n[{}/{}] {title}", self.step, self.steps);
        let start = Instant::now();
        let result = body(self);
        match &result {
            Ok(_) => eprintln!("      ok ({:.1} s)", start.elapsed().as_secs_f64()),
            Err(_) => eprintln!("      failed after {:.1} s", start.elapsed().as_secs_f64()),
        }
        result.with_context(|| format!("demo step {}/{} failed: {title}", self.step, self.steps))
    }

    /// One narration line inside a step.
    pub(crate) fn say(&self, text: impl AsRef<str>) {
        for line in text.as_ref().lines() {
            eprintln!("      {line}");
        }
    }

    /// `codexport ARGS` as `role`, its stderr shown indented; fails with the command's own
    /// exit status. Returns its stdout.
    pub(crate) fn codexport<I, S>(&self, role: Role, args: I) -> anyhow::Result<String>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let (args, shown) = owned_and_shown(args);
        self.say(format!(
            "$ codexport {}    # as the {}",
            redact_token(&shown),
            role.label()
        ));
        let mut cmd = self.command(role, &self.exe);
        cmd.args(&args);
        let out = self
            .wait_for(&mut cmd)
            .with_context(|| format!("cannot run `{}`", self.exe.display()))?;
        self.show_stderr(&out);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        if !out.status.success() {
            // What the command printed for the user (a doctor table) explains the failure.
            self.say(&stdout);
        }
        check(&format!("codexport {shown}"), &out)?;
        Ok(stdout)
    }

    /// Runs a prepared command (outside both homes), narrated, its stderr shown.
    pub(crate) fn run_captured(&self, cmd: &mut Command, what: &str) -> anyhow::Result<()> {
        let out = self
            .wait_for(cmd)
            .with_context(|| format!("cannot run `{what}`"))?;
        self.show_stderr(&out);
        check(what, &out)
    }

    /// Any program as `role` (npm, node), narrated like [`Demo::codexport`].
    pub(crate) fn program(&self, role: Role, program: &str, args: &[String]) -> anyhow::Result<()> {
        self.say(format!("$ {program} {}", args.join(" ")));
        let mut cmd = self.command(role, Path::new(program));
        cmd.args(args);
        self.run_captured(&mut cmd, program)
    }

    /// Starts `codexport ARGS` as `role` in the background; it is killed at cleanup.
    pub(crate) fn spawn<I, S>(&self, role: Role, args: I, log: &Path) -> anyhow::Result<()>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let (args, shown) = owned_and_shown(args);
        self.say(format!(
            "$ codexport {shown} &    # as the {}, log: {}",
            role.label(),
            log.display()
        ));
        let log_file = std::fs::File::create(log)
            .with_context(|| format!("cannot create `{}`", log.display()))?;
        let mut leftovers = self.leftovers.lock().expect("cleanup lock");
        leftovers.check_open()?;
        let child = self
            .command(role, &self.exe)
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log_file)
            .spawn()
            .with_context(|| format!("cannot start `codexport {shown}`"))?;
        leftovers.children.push(child);
        Ok(())
    }

    /// A command with `role`'s homes in its environment. Package caches stay the user's own
    /// (so the demo does not download what this machine already has).
    fn command(&self, role: Role, program: &Path) -> Command {
        let homes = self.homes(role);
        let mut cmd = Command::new(program);
        cmd.env(env::HOME, &homes.user)
            .env(env::CODEX_HOME, &homes.codex)
            .env(env::CODEXPORT_HOME, &homes.tool)
            .env(env::NO_COLOR, "1")
            // The demo hydrates in a step of its own, where it can be seen and stopped.
            .env(env::NO_BACKGROUND_HYDRATE, "1")
            .env("npm_config_update_notifier", "false");
        if let Some(home) = std::env::var_os(env::HOME) {
            let home = PathBuf::from(home);
            if std::env::var_os("npm_config_cache").is_none() {
                cmd.env("npm_config_cache", home.join(".npm"));
            }
            if std::env::var_os("UV_CACHE_DIR").is_none() {
                cmd.env("UV_CACHE_DIR", home.join(".cache/uv"));
            }
        }
        cmd
    }

    /// Runs `cmd` to its end with its output captured; Ctrl-C meanwhile stops it too.
    fn wait_for(&self, cmd: &mut Command) -> std::io::Result<Output> {
        let child = {
            // Spawned under the lock, so cleanup either sees it or has already closed.
            let mut leftovers = self.leftovers.lock().expect("cleanup lock");
            leftovers.check_open()?;
            let child = cmd
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()?;
            leftovers.foreground = Some(child.id());
            child
        };
        let out = child.wait_with_output();
        self.leftovers.lock().expect("cleanup lock").foreground = None;
        out
    }

    fn show_stderr(&self, out: &Output) {
        let text = String::from_utf8_lossy(&out.stderr);
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            eprintln!("        {line}");
        }
    }

    /// Stops children and removes the temporary homes (unless `--keep`).
    pub(crate) fn finish(self) {
        self.leftovers.lock().expect("cleanup lock").clean();
        if self.keep {
            eprintln!("\nkept the demo homes in {}", self.root.display());
        }
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        if let Ok(mut leftovers) = self.leftovers.lock() {
            leftovers.clean();
        }
    }
}

/// Fails with the child's exit status (or 1) when `out` is not a success.
fn check(what: &str, out: &Output) -> anyhow::Result<()> {
    if out.status.success() {
        return Ok(());
    }
    let status = match out.status.code() {
        Some(0) | None => ExitStatus::Unexpected,
        Some(code) => ExitStatus::TABLE
            .iter()
            .map(|(s, _)| *s)
            .find(|s| i32::from(s.code()) == code)
            .unwrap_or(ExitStatus::Unexpected),
    };
    Err(CliError::new(status, format!("`{what}` failed ({})", out.status)).into())
}

/// `text` with a link's bearer token hidden (secrets are never printed).
pub(crate) fn redact_token(link: &str) -> String {
    match link.find("token=") {
        Some(at) => {
            let end = link[at..]
                .find(|c: char| c == '&' || c.is_whitespace())
                .map_or(link.len(), |e| at + e);
            format!("{}token=***{}", &link[..at], &link[end..])
        }
        None => link.to_owned(),
    }
}

/// The arguments as owned strings, and as one line to show (lossy, space-separated).
fn owned_and_shown<I, S>(args: I) -> (Vec<std::ffi::OsString>, String)
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let args: Vec<_> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
    let shown = args
        .iter()
        .map(|a| a.to_string_lossy())
        .collect::<Vec<_>>()
        .join(" ");
    (args, shown)
}

/// Stops a process the demo only knows by pid (its `Child` is being waited on).
fn kill_pid(pid: u32) {
    let pid = pid.to_string();
    let _ = if cfg!(windows) {
        Command::new("taskkill")
            .args(["/F", "/T", "/PID", &pid])
            .output()
    } else {
        Command::new("kill").args(["-TERM", &pid]).output()
    };
}

/// On Ctrl-C: stop the children, remove the homes, exit 130 (the shell's code for SIGINT).
fn on_ctrl_c(leftovers: Arc<Mutex<Leftovers>>) {
    std::thread::spawn(move || {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        if rt.block_on(tokio::signal::ctrl_c()).is_ok() {
            INTERRUPTED.store(true, Ordering::SeqCst);
            eprintln!("\ninterrupted: cleaning up");
            if let Ok(mut leftovers) = leftovers.lock() {
                leftovers.clean();
            }
            std::process::exit(130);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_redacted() {
        assert_eq!(
            redact_token("codexport://join?host=h&port=1&fingerprint=F&token=s3cret&version=1"),
            "codexport://join?host=h&port=1&fingerprint=F&token=***&version=1"
        );
        assert_eq!(
            redact_token("join x?token=abc --apply"),
            "join x?token=*** --apply"
        );
    }
}
