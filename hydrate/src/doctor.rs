//! `mcp doctor`: checks one MCP entry of this follower from its spec to a live handshake, and
//! says how to repair what fails.
//!
//! Order of checks for a command server: the artifact spec (resolved, known resolver), the plan
//! on this host (it resolves, the tools it needs are on PATH), whether it is hydrated, then a
//! real start through the launcher (`codexport-mcp-run mcp run NAME`, exactly what Codex runs)
//! with `initialize` + `tools/list`. A URL server gets a reachability check instead, and a
//! server the master routes `direct` none (Codex starts it without codexport). Codex's managed
//! requirements come last ([`EntryReport::require`]): a server their allowlist disables never
//! starts, whatever else holds.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use codexport_core::mcp::manifest::{Artifact, McpEntry, Transport};
use codexport_core::mcp::requirements::{Identity, McpAllowlist, Verdict};
use codexport_core::{Diagnose, Homes};
use codexport_resolvers::executor;
use serde::Serialize;
use serde_json::Value;

use codexport_launcher::probe::{self, ProbeCommand};
use codexport_launcher::spec::{artifact_spec, ready_now};

use crate::hydrate::Hydrator;

/// How `mcp doctor` runs.
#[derive(Debug, Clone, Copy)]
pub struct DoctorOptions {
    /// Start each command server through the launcher (`false`: `--no-start`).
    pub start: bool,
    /// How long a start (handshake and tool list) or a URL check may take.
    pub timeout: Duration,
}

/// What a live start answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Started {
    /// `protocolVersion` of the `initialize` answer.
    pub protocol_version: String,
    /// `serverInfo.name` and version.
    pub server: String,
    /// How many tools `tools/list` listed.
    pub tools: usize,
    /// From spawning the launcher to the tool list, in milliseconds.
    pub latency_ms: u64,
}

/// What a URL check saw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reached {
    /// The HTTP status of the `initialize` POST.
    pub status: u16,
    /// Round trip in milliseconds.
    pub latency_ms: u64,
}

/// One entry's checks.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EntryReport {
    /// The entry's name.
    pub name: String,
    /// stdio or http.
    pub transport: Transport,
    /// Its resolver (`unresolved` when the master inferred none).
    pub resolver: String,
    /// The resolver's spec, as the manifest has it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spec: Option<Value>,
    /// The version the plan settles on here.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The artifact directory on this host.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub artifact: Option<PathBuf>,
    /// Whether the artifact is hydrated (`None` for URL servers and entries with no plan).
    pub hydrated: Option<bool>,
    /// Programs the plan needs that are not on PATH.
    pub missing_tools: Vec<String>,
    /// The live start, when it ran and answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started: Option<Started>,
    /// The URL check, for URL servers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reached: Option<Reached>,
    /// Something worth knowing that is not a failure (a `direct` route).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Codex's managed requirements disable it here (then `problem` says why).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub blocked_by_requirements: bool,
    /// The first thing that failed, when one did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
    /// How to repair it, one exact step per line.
    pub repair: Vec<String>,
}

impl EntryReport {
    /// Whether every check passed.
    pub fn ok(&self) -> bool {
        self.problem.is_none()
    }

    /// Checks what Codex's managed requirements make of the entry, whose `config.toml` table
    /// here says `command` (stdio) or `url`. A server the allowlist disables never starts, so
    /// that replaces any other problem.
    pub fn require(
        &mut self,
        allowlist: &McpAllowlist,
        command: Option<&str>,
        url: Option<&str>,
        launched: bool,
    ) {
        let path = allowlist.path.display();
        let name = &self.name;
        let (problem, mut repair) = match allowlist.verdict(name, command, url) {
            Verdict::Allowed => return,
            Verdict::NotListed => (
                format!(
                    "Codex's requirements (`{path}`) disable `{name}`: their `mcp_servers` allowlist does not list it"
                ),
                vec![format!(
                    "ask the admin to add `[mcp_servers.{name}.identity]` with its command or url to `{path}`"
                )],
            ),
            Verdict::OtherIdentity(want) => {
                let (want, got) = match want {
                    Identity::Command { command: want } => (
                        format!("command `{want}`"),
                        format!("command `{}`", command.unwrap_or("(none)")),
                    ),
                    Identity::Url { url: want } => (
                        format!("url `{want}`"),
                        format!("url `{}`", url.unwrap_or("(none)")),
                    ),
                };
                (
                    format!(
                        "Codex's requirements (`{path}`) disable `{name}`: they allow it only with {want}, and config.toml runs {got}"
                    ),
                    vec![format!(
                        "or ask the admin to allow {got} for `{name}` in `{path}`"
                    )],
                )
            }
        };
        if launched {
            repair.insert(
                0,
                format!(
                    "set `route = \"direct\"` under `[mcp.{name}]` in the master's `~/.codexport/master.toml` and sync (Codex then runs the master's command itself: no launcher, no hydration)"
                ),
            );
        }
        self.problem = Some(problem);
        self.repair = repair;
        self.blocked_by_requirements = true;
    }

    fn fail(&mut self, problem: impl Into<String>, repair: Vec<String>) {
        if self.problem.is_none() {
            self.problem = Some(problem.into());
            self.repair = repair;
        }
    }
}

/// Runs every check on `entry`.
pub fn check(
    homes: &Homes,
    hydrator: &Hydrator<'_>,
    entry: &McpEntry,
    options: DoctorOptions,
) -> EntryReport {
    let mut report = EntryReport {
        name: entry.name.clone(),
        transport: entry.transport,
        resolver: entry.resolver_name().to_owned(),
        spec: match &entry.artifact {
            Artifact::Resolved(spec) => Some(spec.spec.clone()),
            Artifact::Direct | Artifact::Unresolved { .. } => None,
        },
        version: None,
        artifact: None,
        hydrated: None,
        missing_tools: Vec::new(),
        started: None,
        reached: None,
        note: None,
        blocked_by_requirements: false,
        problem: None,
        repair: Vec::new(),
    };
    if entry.transport == Transport::Http {
        check_url(entry, options, &mut report);
        return report;
    }
    if entry.artifact == Artifact::Direct {
        report.note = Some(
            "routed `direct` by the master: Codex runs its own command, no launcher, no hydration"
                .to_owned(),
        );
        return report;
    }
    let spec = match artifact_spec(entry) {
        Ok(spec) => spec,
        Err(e) => {
            report.fail(e.to_string(), e.hints());
            return report;
        }
    };
    let mut has_steps = false;
    match hydrator.plan(entry) {
        Ok((dir, resolution)) => {
            has_steps = !resolution.plan.steps.is_empty();
            report.version = Some(resolution.version.clone());
            report.artifact = Some(dir);
            let mut repair = Vec::new();
            for tool in resolution.plan.tools() {
                if let Err(e) = executor::find_tool(&entry.name, &tool) {
                    report.missing_tools.push(tool);
                    repair.extend(e.hints());
                }
            }
            if !report.missing_tools.is_empty() {
                let missing = report.missing_tools.join("`, `");
                report.fail(format!("`{missing}` not found on PATH"), repair);
            }
        }
        Err(e) => {
            if let crate::Error::Resolve(codexport_resolvers::Error::ToolMissing { tool, .. }) = &e
            {
                report.missing_tools.push(tool.clone());
            }
            report.fail(format!("no plan on this host: {e}"), e.hints());
        }
    }
    let hydrated = ready_now(homes, spec, hydrator.platform()).is_some();
    report.hydrated = Some(hydrated);
    if !options.start || report.problem.is_some() {
        return report;
    }
    let launcher = homes.launcher();
    if !launcher.is_file() {
        report.fail(
            format!("the launcher `{}` is missing", launcher.display()),
            vec![
                "run `codexport apply` (it installs the launcher that config.toml points at)"
                    .to_owned(),
            ],
        );
        return report;
    }
    let mut command =
        ProbeCommand::new(&launcher, ["mcp", "run", entry.name.as_str()]).timeout(options.timeout);
    // Codex passes no CODEXPORT_HOME; the generated config carries it when it is not the
    // default, and so does this probe.
    command = command.env(codexport_core::env::CODEXPORT_HOME, &homes.tool);
    match probe::probe(&command) {
        Ok(answer) => {
            report.started = Some(Started {
                protocol_version: answer.protocol_version,
                server: match answer.server_version {
                    Some(version) => format!("{} {version}", answer.server_name),
                    None => answer.server_name,
                },
                tools: answer.tools.len(),
                latency_ms: millis(answer.latency),
            });
        }
        Err(e) => {
            let mut repair = vec![format!(
                "run `codexport mcp run {}` and read the server's own errors on stderr",
                entry.name
            )];
            if !hydrated && has_steps {
                repair.insert(0, format!("run `codexport mcp hydrate {}`", entry.name));
            }
            report.fail(format!("the server did not answer: {e}"), repair);
        }
    }
    report
}

/// POSTs an MCP `initialize` to a URL server: any answer below 500 means it is there.
fn check_url(entry: &McpEntry, options: DoctorOptions, report: &mut EntryReport) {
    let Some(url) = entry.url.as_deref() else {
        report.fail("an http entry without a `url`", Vec::new());
        return;
    };
    let repair = vec![format!(
        "check that the server at `{url}` runs and that this machine can reach it"
    )];
    let client = match reqwest::blocking::Client::builder()
        .timeout(options.timeout)
        .build()
    {
        Ok(client) => client,
        Err(e) => {
            report.fail(format!("cannot make an HTTP client: {e}"), Vec::new());
            return;
        }
    };
    let mut request = client
        .post(url)
        .header("accept", "application/json, text/event-stream")
        .json(&serde_json::json!({
            "jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {"protocolVersion": probe::CLIENT_PROTOCOL_VERSION, "capabilities": {},
                       "clientInfo": {"name": "codexport-doctor", "version": env!("CARGO_PKG_VERSION")}}
        }));
    if let Some(token) = entry
        .extra
        .get("bearer_token_env_var")
        .and_then(Value::as_str)
        .and_then(|name| std::env::var(name).ok())
    {
        request = request.bearer_auth(token);
    }
    let start = Instant::now();
    match request.send() {
        Ok(response) if response.status().as_u16() < 500 => {
            report.reached = Some(Reached {
                status: response.status().as_u16(),
                latency_ms: millis(start.elapsed()),
            });
        }
        Ok(response) => report.fail(format!("`{url}` answered {}", response.status()), repair),
        Err(e) => report.fail(format!("`{url}` is unreachable: {}", chain(&e)), repair),
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// An error and its causes on one line.
fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
