//! `codexport demo`: the whole product in temporary homes on 127.0.0.1, narrated.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::Context;
use codexport_core::ExitStatus;

use crate::cli::DemoArgs;
use crate::demo::sample::{self, SampleLayout};
use crate::demo::{Demo, Role};
use crate::report::CliError;

/// How many steps [`run`] narrates.
const STEPS: usize = 10;

/// Builds a sample master, serves it, joins a follower, applies, hydrates and checks every MCP
/// with `mcp doctor`; cleans up however it ends. Exits with the failing step's status.
pub(crate) fn run(args: &DemoArgs) -> anyhow::Result<ExitStatus> {
    let mut demo = Demo::start(STEPS, args.keep)?;
    let result = steps(&mut demo);
    demo.finish();
    if crate::demo::interrupted() {
        // The Ctrl-C handler exits 130 after its cleanup; so does this path if it gets here first.
        std::process::exit(130);
    }
    result?;
    eprintln!(
        "\ndemo complete: the follower runs the master's MCP servers through codexport-mcp-run"
    );
    Ok(ExitStatus::Success)
}

fn steps(demo: &mut Demo) -> anyhow::Result<()> {
    demo.step(
        "Check what the demo needs (node, npm, codexport-mcp-run)",
        |d| {
            for tool in ["node", "npm"] {
                let version = Command::new(tool).arg("--version").output();
                match version {
                    Ok(out) if out.status.success() => d.say(format!(
                        "{tool} {}",
                        String::from_utf8_lossy(&out.stdout).trim()
                    )),
                    _ => {
                        return Err(CliError::new(
                            ExitStatus::Hydration,
                            format!("`{tool}` is not installed or not on PATH"),
                        )
                        .hint("run `bash scripts/setup.sh` (it installs Node.js and npm)")
                        .into());
                    }
                }
            }
            let launcher = ensure_launcher()?;
            d.say(format!("launcher: {}", launcher.display()));
            Ok(())
        },
    )?;

    let layout = SampleLayout::new(demo.homes(Role::Master));
    demo.step("Build a sample master Codex home", |d| {
        sample::write_master_home(d.homes(Role::Master), &layout)?;
        d.say(format!(
            "{}: AGENTS.md, a skill, a rule, a trusted Stop hook, and config.toml with 2 MCP servers:",
            d.homes(Role::Master).codex.display()
        ));
        d.say(format!(
            "  everything: npm {} (installed next), hello: a local node project in {}",
            sample::NPM_PACKAGE,
            layout.hello_dir.display()
        ));
        d.program(Role::Master, "npm", &layout.npm_install_args())
    })?;

    demo.step("Create the master's identity", |d| {
        d.codexport(Role::Master, ["master", "init"]).map(drop)
    })?;

    let port = demo.step("Serve the master on 127.0.0.1", |d| {
        let port = free_port()?;
        let log = d.root().join("master-serve.log");
        d.spawn(
            Role::Master,
            ["master", "serve", "--listen", &format!("127.0.0.1:{port}")],
            &log,
        )?;
        wait_for_port(port, Duration::from_secs(30))
            .with_context(|| format!("the master did not listen; see `{}`", log.display()))?;
        d.say(format!("listening on 127.0.0.1:{port}"));
        Ok(port)
    })?;

    let link = demo.step("Make a join link for the follower", |d| {
        let out = d.codexport(
            Role::Master,
            [
                "master",
                "link",
                "--host",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                "--name",
                "demo-follower",
            ],
        )?;
        let link = out
            .split_whitespace()
            .find(|w| w.starts_with("codexport://"))
            .map(str::to_owned)
            .ok_or_else(|| {
                CliError::new(ExitStatus::Unexpected, "`master link` printed no link")
            })?;
        d.say(format!("link: {}", crate::demo::redact_token(&link)));
        Ok(link)
    })?;

    demo.step("Join the follower and apply the master's revision", |d| {
        d.codexport(Role::Follower, ["follower", "join", &link, "--apply"])?;
        let config = d.homes(Role::Follower).codex_config();
        d.say(format!(
            "{} now starts its MCP servers with:",
            config.display()
        ));
        for line in mcp_commands(&config)? {
            d.say(format!("  {line}"));
        }
        Ok(())
    })?;

    demo.step("Install the follower's SessionStart hook", |d| {
        d.codexport(Role::Follower, ["hook", "install"])?;
        let status = d.codexport(Role::Follower, ["hook", "status"])?;
        d.say(status);
        Ok(())
    })?;

    demo.step(
        "Sync again the way the hook does (nothing changed: fast)",
        |d| {
            let start = Instant::now();
            d.codexport(Role::Follower, ["sync", "--apply", "--hook"])?;
            d.say(format!(
                "hook sync took {} ms and printed nothing on stdout",
                start.elapsed().as_millis()
            ));
            Ok(())
        },
    )?;

    demo.step(
        "Hydrate every MCP server (the apply started it in the background: wait for it)",
        |d| {
            let done = d.codexport(Role::Follower, ["mcp", "hydrate", "--all"])?;
            d.say(done);
            Ok(())
        },
    )?;

    demo.step("Check every MCP server with `mcp doctor`", |d| {
        let table = d.codexport(Role::Follower, ["mcp", "doctor"])?;
        d.say(table);
        Ok(())
    })?;
    Ok(())
}

/// `codexport-mcp-run` next to this binary, where an apply installs it from.
fn ensure_launcher() -> anyhow::Result<PathBuf> {
    let exe =
        codexport_core::binaries::running_exe().context("cannot find the codexport binary")?;
    let dir = exe
        .parent()
        .context("the codexport binary has no directory")?;
    let launcher = dir.join(codexport_core::homes::launcher_file_name());
    if launcher.is_file() {
        return Ok(launcher);
    }
    Err(CliError::new(
        ExitStatus::Hydration,
        format!("`{}` is missing", launcher.display()),
    )
    .hint("build both programs: `cargo build --release` (then run `target/release/codexport demo`), or install them: `cargo install --path .`")
    .into())
}

/// `NAME: command args...` for each `[mcp_servers.NAME]` of a config file.
fn mcp_commands(config: &std::path::Path) -> anyhow::Result<Vec<String>> {
    let text = std::fs::read_to_string(config)
        .with_context(|| format!("cannot read `{}`", config.display()))?;
    let doc: toml_edit::DocumentMut = text
        .parse()
        .with_context(|| format!("`{}` is not valid TOML", config.display()))?;
    let Some(servers) = doc.get("mcp_servers").and_then(|s| s.as_table_like()) else {
        return Ok(Vec::new());
    };
    Ok(servers
        .iter()
        .map(|(name, table)| {
            let mut line = format!("{name}: ");
            if let Some(command) = table.get("command").and_then(|c| c.as_str()) {
                line.push_str(command);
            }
            if let Some(args) = table.get("args").and_then(|a| a.as_array()) {
                for arg in args.iter().filter_map(|a| a.as_str()) {
                    line.push(' ');
                    line.push_str(arg);
                }
            }
            if let Some(url) = table.get("url").and_then(|u| u.as_str()) {
                line.push_str(url);
            }
            line
        })
        .collect())
}

/// A port nobody listens on right now (the kernel picks it).
fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("cannot bind 127.0.0.1")?;
    Ok(listener.local_addr()?.port())
}

/// Waits until something accepts connections on 127.0.0.1:`port`.
fn wait_for_port(port: u16, limit: Duration) -> anyhow::Result<()> {
    let start = Instant::now();
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    while start.elapsed() < limit {
        if std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(CliError::new(
        ExitStatus::Unreachable,
        format!(
            "nothing listens on 127.0.0.1:{port} after {} s",
            limit.as_secs()
        ),
    )
    .into())
}
