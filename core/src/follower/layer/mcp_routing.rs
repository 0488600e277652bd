//! Routes command MCPs through the launcher (`codexport-mcp-run mcp run NAME`), except those
//! the master routes `direct`, and points loopback URL MCPs at the master's host.
//!
//! The launcher replaces `command`, `args`, `env` and `cwd` from the manifest; every other
//! Codex field (`startup_timeout_sec`, `enabled_tools`, `env_vars`, approval modes, ...) stays
//! in `config.toml` for Codex to honour.

use toml_edit::{Array, DocumentMut, InlineTable, Item, Table, TableLike, Value};

use crate::Homes;
use crate::env;
use crate::mcp::config::{json_to_value, servers_mut};
use crate::mcp::manifest::{McpManifest, Origin};

/// What routing needs to know about this follower.
#[derive(Debug, Clone)]
pub struct Routing {
    /// The absolute launcher path generated entries run.
    pub launcher: String,
    /// `CODEXPORT_HOME` to hand the launcher when the tool home is not the default (Codex
    /// passes MCP servers neither it nor `CODEX_HOME`).
    pub tool_home: Option<String>,
    /// The master's host, for URL MCPs the master reaches on loopback.
    pub master_host: Option<String>,
    /// Command MCPs that keep their own command (`route = "direct"` on the master): Codex
    /// starts them itself, so a requirements allowlist pinning that command still matches.
    pub direct: Vec<String>,
}

impl Routing {
    /// Routing for `homes`, with the master's host when known.
    pub fn new(homes: &Homes, master_host: Option<&str>) -> Self {
        Self {
            launcher: homes.launcher().to_string_lossy().into_owned(),
            tool_home: (!homes.tool_is_default())
                .then(|| homes.tool.to_string_lossy().into_owned()),
            master_host: master_host.map(str::to_owned),
            direct: Vec::new(),
        }
    }
}

/// Adds a `[mcp_servers.NAME]` table for each plugin server of `manifest` that `doc` lacks
/// (the master's config has none: Codex reads them from the plugin). The table replaces the
/// plugin's server in Codex; routing then points it at the launcher like any other.
pub fn add_plugin_servers(doc: &mut DocumentMut, manifest: &McpManifest) {
    let plugin = manifest
        .entries
        .iter()
        .filter(|e| e.origin == Origin::Plugin);
    for entry in plugin {
        let Some(servers) = servers_mut(doc) else {
            return;
        };
        if servers.contains_key(&entry.name) {
            continue;
        }
        let mut table = Table::new();
        let text = |t: &str| Item::Value(Value::from(t));
        if let Some(command) = &entry.command {
            table.insert("command", text(command));
        }
        if !entry.args.is_empty() {
            let args: Array = entry.args.iter().map(String::as_str).collect();
            table.insert("args", Item::Value(Value::Array(args)));
        }
        if let Some(cwd) = &entry.cwd {
            table.insert("cwd", text(cwd));
        }
        if let Some(url) = &entry.url {
            table.insert("url", text(url));
        }
        if !entry.env.is_empty() {
            let env: InlineTable = entry
                .env
                .iter()
                .map(|(k, v)| (k.as_str(), Value::from(v.as_str())))
                .collect();
            table.insert("env", Item::Value(Value::InlineTable(env)));
        }
        for (key, value) in &entry.extra {
            if let Some(value) = json_to_value(value) {
                table.insert(key, Item::Value(value));
            }
        }
        servers.insert(&entry.name, super::overlay::spaced(Item::Table(table)));
    }
}

/// Rewrites every `[mcp_servers.NAME]` of `doc` whose name is in `names` (or all when `None`).
pub fn route_mcp_servers(doc: &mut DocumentMut, routing: &Routing, names: Option<&[String]>) {
    let Some(servers) = doc.get_mut("mcp_servers").and_then(Item::as_table_like_mut) else {
        return;
    };
    for (name, item) in servers.iter_mut() {
        if names.is_some_and(|n| !n.iter().any(|x| x == name.get())) {
            continue;
        }
        let name = name.get().to_owned();
        if let Some(table) = item.as_table_like_mut() {
            route_one(&name, table, routing);
        }
    }
}

fn route_one(name: &str, table: &mut dyn TableLike, routing: &Routing) {
    if table.contains_key("command") {
        if routing.direct.iter().any(|d| d == name) {
            return;
        }
        set_value(table, "command", Value::from(routing.launcher.as_str()));
        let args: Array = ["mcp", "run", name].into_iter().collect();
        set_value(table, "args", Value::Array(args));
        table.remove("cwd");
        table.remove("env");
        if let Some(tool_home) = &routing.tool_home {
            let mut env_table = InlineTable::new();
            env_table.insert(env::CODEXPORT_HOME, Value::from(tool_home.as_str()));
            table.insert("env", Item::Value(Value::InlineTable(env_table)));
        }
    } else if let (Some(url), Some(host)) = (
        table.get("url").and_then(Item::as_str),
        routing.master_host.as_deref(),
    ) && let Some(new) = loopback_to(url, host)
    {
        set_value(table, "url", Value::from(new));
    }
}

/// Replaces a value keeping the old value's comments and spacing.
fn set_value(table: &mut dyn TableLike, key: &str, mut value: Value) {
    if let Some(old) = table.get(key).and_then(Item::as_value) {
        *value.decor_mut() = old.decor().clone();
    }
    table.insert(key, Item::Value(value));
}

/// `url` with its loopback host replaced by `host`, or `None` when it is not loopback.
pub fn loopback_to(url: &str, host: &str) -> Option<String> {
    let mut parsed = url::Url::parse(url).ok()?;
    let is_loopback = match parsed.host()? {
        url::Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
    };
    if !is_loopback || is_loopback_name(host) {
        return None;
    }
    parsed.set_host(Some(host)).ok()?;
    Some(parsed.to_string())
}

fn is_loopback_name(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn routing(tool_home: Option<&str>) -> Routing {
        Routing {
            launcher: "/home/bo/.codexport/bin/codexport-mcp-run".into(),
            tool_home: tool_home.map(str::to_owned),
            master_host: Some("100.64.0.7".into()),
            direct: Vec::new(),
        }
    }

    #[test]
    fn command_mcps_run_the_launcher_and_keep_codex_fields() {
        let text = r#"[mcp_servers.fs]
command = "npx" # how it ran on the master
args = ["-y", "@modelcontextprotocol/server-filesystem", "/w"]
cwd = "/w"
startup_timeout_sec = 20.0
enabled_tools = ["read_file"]
env_vars = ["GITHUB_TOKEN"]

[mcp_servers.fs.env]
TOKEN = "s3cret"

[mcp_servers.fs.tools.read_file]
approval_mode = "approve"
"#;
        let mut doc: DocumentMut = text.parse().unwrap();
        route_mcp_servers(&mut doc, &routing(None), None);
        let out = doc.to_string();
        assert_eq!(
            out,
            r#"[mcp_servers.fs]
command = "/home/bo/.codexport/bin/codexport-mcp-run" # how it ran on the master
args = ["mcp", "run", "fs"]
startup_timeout_sec = 20.0
enabled_tools = ["read_file"]
env_vars = ["GITHUB_TOKEN"]

[mcp_servers.fs.tools.read_file]
approval_mode = "approve"
"#
        );
        assert!(!out.contains("s3cret"));
    }

    #[test]
    fn direct_mcps_keep_their_command() {
        let text = "[mcp_servers.time]\ncommand = \"uvx\"\nargs = [\"mcp-server-time\"]\nenv = { TZ = \"UTC\" }\n\n[mcp_servers.fs]\ncommand = \"npx\"\n";
        let mut doc: DocumentMut = text.parse().unwrap();
        let mut routing = routing(None);
        routing.direct = vec!["time".into()];
        route_mcp_servers(&mut doc, &routing, None);
        let out = doc.to_string();
        assert!(
            out.starts_with("[mcp_servers.time]\ncommand = \"uvx\"\nargs = [\"mcp-server-time\"]\nenv = { TZ = \"UTC\" }\n"),
            "{out}"
        );
        assert_eq!(
            doc["mcp_servers"]["fs"]["command"].as_str(),
            Some("/home/bo/.codexport/bin/codexport-mcp-run")
        );
    }

    #[test]
    fn a_custom_tool_home_travels_in_env() {
        let mut doc: DocumentMut = "[mcp_servers.x]\ncommand = \"x\"\nenv = { A = \"1\" }\n"
            .parse()
            .unwrap();
        route_mcp_servers(&mut doc, &routing(Some("/t/cx")), None);
        let env = doc["mcp_servers"]["x"]["env"].as_inline_table().unwrap();
        assert_eq!(env.len(), 1);
        assert_eq!(env.get("CODEXPORT_HOME").unwrap().as_str(), Some("/t/cx"));
    }

    #[test]
    fn loopback_urls_point_at_the_master() {
        let mut doc: DocumentMut = "[mcp_servers.a]\nurl = \"http://127.0.0.1:8080/mcp\"\n\
             [mcp_servers.b]\nurl = \"https://example.com/mcp\"\n\
             [mcp_servers.c]\nurl = \"http://localhost:9/x?y=1\"\n"
            .parse()
            .unwrap();
        route_mcp_servers(&mut doc, &routing(None), None);
        assert_eq!(
            doc["mcp_servers"]["a"]["url"].as_str(),
            Some("http://100.64.0.7:8080/mcp")
        );
        assert_eq!(
            doc["mcp_servers"]["b"]["url"].as_str(),
            Some("https://example.com/mcp")
        );
        assert_eq!(
            doc["mcp_servers"]["c"]["url"].as_str(),
            Some("http://100.64.0.7:9/x?y=1")
        );
        assert_eq!(loopback_to("http://[::1]:1/", "localhost"), None);
    }
}
