//! The demo's sample master Codex home: instructions, a skill, a rule, a trusted hook, and two
//! MCP servers (an npm package installed with real npm, and a local node project).

use std::path::{Path, PathBuf};

use anyhow::Context;
use codexport_core::Homes;
use codexport_core::hooks::{self, HookState, HooksFile};

/// The npm MCP server the demo installs on the master.
pub(crate) const NPM_PACKAGE: &str = "@modelcontextprotocol/server-everything";
/// Its pinned version (a real release; inference records it for followers).
pub(crate) const NPM_VERSION: &str = "2026.8.31";

/// A dependency-free MCP server (stdio, newline-delimited JSON-RPC) with one tool.
const HELLO_MCP_JS: &str = r#"#!/usr/bin/env node
// hello-mcp: a tiny MCP server over stdio with one tool, `hello`.
const readline = require("node:readline");
const send = (message) => process.stdout.write(JSON.stringify(message) + "\n");
readline.createInterface({ input: process.stdin }).on("line", (line) => {
  let msg;
  try { msg = JSON.parse(line); } catch { return; }
  if (msg.id === undefined) return; // notifications need no answer
  const reply = (result) => send({ jsonrpc: "2.0", id: msg.id, result });
  switch (msg.method) {
    case "initialize":
      return reply({
        protocolVersion: (msg.params && msg.params.protocolVersion) || "2025-06-18",
        capabilities: { tools: {} },
        serverInfo: { name: "hello-mcp", version: "1.0.0" },
      });
    case "ping":
      return reply({});
    case "tools/list":
      return reply({ tools: [{
        name: "hello",
        description: "Greets someone by name",
        inputSchema: { type: "object", properties: { name: { type: "string" } } },
      }] });
    case "tools/call": {
      const name = (msg.params && msg.params.arguments && msg.params.arguments.name) || "world";
      return reply({ content: [{ type: "text", text: `Hello, ${name}!` }] });
    }
    default:
      return send({ jsonrpc: "2.0", id: msg.id, error: { code: -32601, message: "method not found" } });
  }
});
"#;

const HELLO_PACKAGE_JSON: &str = r#"{
  "name": "hello-mcp",
  "version": "1.0.0",
  "private": true,
  "description": "A tiny MCP server for the codexport demo",
  "bin": { "hello-mcp": "index.js" }
}
"#;

const STOP_HOOK: &str = "#!/bin/sh\n# Runs when a Codex turn stops: notes the time, prints nothing.\ndate >> \"${TMPDIR:-/tmp}/codexport-demo-stops.log\"\n";

/// Where the sample's MCP servers live on the master.
#[derive(Debug, Clone)]
pub(crate) struct SampleLayout {
    /// npm prefix the npm server is installed into (like a global `npm -g` prefix).
    pub(crate) npm_prefix: PathBuf,
    /// The local node project.
    pub(crate) hello_dir: PathBuf,
}

impl SampleLayout {
    /// The layout under the master's user home.
    pub(crate) fn new(master: &Homes) -> Self {
        Self {
            npm_prefix: master.user.join(".npm-global"),
            hello_dir: master.user.join("projects/hello-mcp"),
        }
    }

    /// The npm server's entry script (what `node` runs).
    pub(crate) fn npm_entry(&self) -> PathBuf {
        self.npm_prefix
            .join("node_modules")
            .join(NPM_PACKAGE)
            .join("dist/index.js")
    }

    /// `npm install` arguments that put the npm server into the prefix.
    pub(crate) fn npm_install_args(&self) -> Vec<String> {
        vec![
            "install".into(),
            "--no-audit".into(),
            "--no-fund".into(),
            "--save-exact".into(),
            "--prefix".into(),
            self.npm_prefix.display().to_string(),
            format!("{NPM_PACKAGE}@{NPM_VERSION}"),
        ]
    }
}

/// Writes the sample master Codex home (everything but the npm install).
pub(crate) fn write_master_home(master: &Homes, layout: &SampleLayout) -> anyhow::Result<()> {
    let codex = &master.codex;
    write(&layout.hello_dir.join("index.js"), HELLO_MCP_JS)?;
    write(&layout.hello_dir.join("package.json"), HELLO_PACKAGE_JSON)?;
    write(
        &codex.join("AGENTS.md"),
        "# House rules\n\nPrefer small commits with clear messages.\n",
    )?;
    write(
        &codex.join("skills/release-notes/SKILL.md"),
        "---\nname: release-notes\ndescription: Drafts release notes from the git log\n---\n\nRead `git log` since the last tag and group changes by area.\n",
    )?;
    write(
        &codex.join("rules/default.rules"),
        "prefix_rule(pattern = [\"git\", \"status\"], decision = \"allow\")\n",
    )?;
    let hook_script = codex.join("hooks/log-stop.sh");
    write(&hook_script, STOP_HOOK)?;
    make_executable(&hook_script)?;

    // Paths go in through the JSON and TOML writers: a Windows `\\` must be escaped there.
    let hooks_json = serde_json::json!({"hooks": {"Stop": [{"hooks": [
        {"type": "command", "command": hook_script.display().to_string(), "timeout": 5}
    ]}]}});
    let hooks = HooksFile::parse(hooks_json.to_string().as_bytes(), &master.hooks_json())?.file;
    write(&master.hooks_json(), &hooks.to_json())?;

    let mut config = format!(
        r#"# The master's Codex config (codexport demo). Comments and order survive on followers.
model = "gpt-5"
approval_policy = "on-request"

[projects.{projects}]
trust_level = "trusted"

# An npm package, installed with `npm install --prefix`: followers get the same version.
[mcp_servers.everything]
command = "node"
args = [{npm_entry}, "stdio"]
startup_timeout_sec = 30

# A local node project: followers get a copy of its source.
[mcp_servers.hello]
command = "node"
args = [{hello}]
"#,
        projects = toml_string(&master.user.join("projects")),
        npm_entry = toml_string(&layout.npm_entry()),
        hello = toml_string(&layout.hello_dir.join("index.js")),
    )
    .parse::<toml_edit::DocumentMut>()
    .context("the sample config.toml")?;
    // The master trusts its Stop hook, as Codex would after the user approved it (under the
    // key Codex computes on this OS).
    let group = &hooks.groups("Stop")[0];
    hooks::set_state(
        &mut config,
        &hooks::trust_key(&hooks::trust_home(master), "Stop", 0, 0),
        &HookState {
            trusted_hash: hooks::handler_hash("Stop", group.matcher.as_deref(), &group.hooks[0]),
            enabled: None,
        },
    );
    write(&master.codex_config(), &config.to_string())
}

/// `path` as a TOML string (a value or a quoted key), escaped as TOML needs.
fn toml_string(path: &Path) -> String {
    toml_edit::Value::from(path.display().to_string()).to_string()
}

fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    codexport_core::fsx::write_atomic(path, text.as_bytes(), None)
        .with_context(|| format!("cannot write `{}`", path.display()))
}

fn make_executable(path: &Path) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
            .with_context(|| format!("cannot chmod `{}`", path.display()))?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sample_home_is_what_codex_reads_and_its_hook_is_trusted() {
        let dir = tempfile::tempdir().unwrap();
        let user = dir.path().join("home");
        let master = Homes::new(&user, user.join(".codex"), user.join(".codexport"));
        std::fs::create_dir_all(&master.codex).unwrap();
        let layout = SampleLayout::new(&master);
        write_master_home(&master, &layout).unwrap();

        let config: toml_edit::DocumentMut = std::fs::read_to_string(master.codex_config())
            .unwrap()
            .parse()
            .unwrap();
        let (entries, errors) = codexport_core::mcp::config::read_mcp_servers(
            &config,
            codexport_core::mcp::manifest::Origin::Canonical,
        );
        assert!(errors.is_empty(), "{errors:?}");
        let names: Vec<_> = entries.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["everything", "hello"]);

        let hooks = HooksFile::read(&master.hooks_json()).unwrap().file;
        let group = &hooks.groups("Stop")[0];
        // Paths arrive whole, `\\` included (Windows).
        let hello = layout.hello_dir.join("index.js").display().to_string();
        assert_eq!(entries[1].args, [hello]);
        let script = master.codex.join("hooks/log-stop.sh").display().to_string();
        assert_eq!(group.hooks[0].command.as_deref(), Some(script.as_str()));
        // Codex keys the default home as is on Windows, by its real path elsewhere.
        let key_home = if cfg!(windows) {
            master.codex.clone()
        } else {
            std::fs::canonicalize(&master.codex).unwrap()
        };
        let states = hooks::read_states(&config);
        assert_eq!(
            states[&hooks::trust_key(&key_home, "Stop", 0, 0)].trusted_hash,
            hooks::handler_hash("Stop", None, &group.hooks[0])
        );
        assert!(layout.hello_dir.join("package.json").is_file());
    }
}
