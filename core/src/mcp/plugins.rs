//! MCP servers bundled in the Codex plugins the master has enabled (`[plugins."P@M"]`), read
//! from Codex's own plugin cache (what Codex runs) and exported like the master's own servers.
//! A follower then gets a `[mcp_servers.NAME]` table for each, which replaces the plugin's
//! server in Codex and runs through the launcher.

use std::path::{Path, PathBuf};

use toml_edit::{DocumentMut, Item, Table};

use crate::mcp::config::{EntryError, json_to_value, read_mcp_servers};
use crate::mcp::manifest::{McpEntry, Origin};

/// The largest plugin manifest or `.mcp.json` read (they are a few hundred bytes).
const MAX_JSON: u64 = 1024 * 1024;

/// The MCP servers of every plugin `config` enables, sorted by name, with the problems of
/// those that cannot be read (reported, never fatal). `codex_home` holds `plugins/cache/`.
pub fn plugin_servers(codex_home: &Path, config: &DocumentMut) -> (Vec<McpEntry>, Vec<EntryError>) {
    let mut doc = DocumentMut::new();
    let mut servers = Table::new();
    let mut problems = Vec::new();
    for id in enabled_plugins(config) {
        match servers_of(codex_home, &id) {
            Ok(found) => {
                for (name, table) in found {
                    if servers.contains_key(&name) {
                        problems.push(EntryError {
                            name,
                            reason: format!("plugin `{id}` has it too; the first plugin's is kept"),
                        });
                        continue;
                    }
                    servers.insert(&name, Item::Table(table));
                }
            }
            Err(reason) => problems.push(EntryError {
                name: id.clone(),
                reason: format!("plugin `{id}`: {reason}"),
            }),
        }
    }
    doc.insert("mcp_servers", Item::Table(servers));
    let (entries, errors) = read_mcp_servers(&doc, Origin::Plugin);
    problems.extend(errors);
    (entries, problems)
}

/// `PLUGIN@MARKETPLACE` of every `[plugins]` table not set `enabled = false`.
fn enabled_plugins(config: &DocumentMut) -> Vec<String> {
    let Some(plugins) = config.get("plugins").and_then(Item::as_table_like) else {
        return Vec::new();
    };
    plugins
        .iter()
        .filter(|(_, item)| {
            item.get("enabled")
                .and_then(Item::as_bool)
                .is_none_or(|enabled| enabled)
        })
        .map(|(id, _)| id.to_owned())
        .collect()
}

/// The server tables of plugin `id`, each `cwd` made absolute against the plugin's folder.
fn servers_of(codex_home: &Path, id: &str) -> Result<Vec<(String, Table)>, String> {
    let (plugin, marketplace) = id
        .split_once('@')
        .filter(|(p, m)| is_name(p) && is_name(m))
        .ok_or("not a `PLUGIN@MARKETPLACE` name")?;
    let root = cached_root(
        &codex_home
            .join("plugins/cache")
            .join(marketplace)
            .join(plugin),
    )
    .ok_or_else(|| {
        "Codex has not installed it in this Codex home yet: start Codex (or any app that \
             lists plugins) once, then `codexport master rebuild`"
            .to_owned()
    })?;
    let manifest = read_json(&root.join(".codex-plugin/plugin.json"))?;
    let servers = match manifest.get("mcpServers") {
        None => match read_json(&root.join(".mcp.json")) {
            Ok(json) => json,
            Err(_) => return Ok(Vec::new()),
        },
        Some(serde_json::Value::String(rel)) => read_json(&inside(&root, rel)?)?,
        Some(inline) => inline.clone(),
    };
    let servers = servers.get("mcpServers").unwrap_or(&servers);
    let servers = servers
        .as_object()
        .ok_or("its MCP servers are not a JSON object")?;
    let mut out = Vec::new();
    for (name, server) in servers {
        let mut server = server.clone();
        if let Some(object) = server.as_object_mut() {
            let cwd = match object.get("cwd").and_then(serde_json::Value::as_str) {
                Some(cwd) => inside(&root, cwd)?,
                None => root.clone(),
            };
            object.insert(
                "cwd".to_owned(),
                serde_json::Value::String(cwd.to_string_lossy().into_owned()),
            );
        }
        let Some(toml_edit::Value::InlineTable(inline)) = json_to_value(&server) else {
            return Err(format!("server `{name}` is not a JSON object"));
        };
        out.push((name.clone(), inline.into_table()));
    }
    Ok(out)
}

/// The newest version folder Codex cached under `dir` (`<version>/.codex-plugin/plugin.json`).
fn cached_root(dir: &Path) -> Option<PathBuf> {
    std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .filter(|e| e.path().join(".codex-plugin/plugin.json").is_file())
        .max_by_key(|e| e.metadata().and_then(|m| m.modified()).ok())
        .map(|e| e.path())
}

/// `rel` under `root`, refused when it climbs out.
fn inside(root: &Path, rel: &str) -> Result<PathBuf, String> {
    let path = Path::new(rel);
    let climbs = path.components().any(|c| {
        matches!(
            c,
            std::path::Component::ParentDir
                | std::path::Component::RootDir
                | std::path::Component::Prefix(_)
        )
    });
    if climbs {
        return Err(format!("`{rel}` leaves the plugin's folder"));
    }
    Ok(root.join(path))
}

fn read_json(path: &Path) -> Result<serde_json::Value, String> {
    let size = std::fs::metadata(path)
        .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?
        .len();
    if size > MAX_JSON {
        return Err(format!("`{}` is larger than 1 MiB", path.display()));
    }
    let bytes =
        std::fs::read(path).map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
    serde_json::from_slice(&bytes).map_err(|e| format!("`{}` is not JSON: {e}", path.display()))
}

/// A plugin or marketplace name usable as one folder name.
fn is_name(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains(['/', '\\', '\0'])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plugin(codex: &Path, mcp: &str) {
        let root = codex.join("plugins/cache/mkt/hello/0.1.0");
        std::fs::create_dir_all(root.join(".codex-plugin")).unwrap();
        std::fs::write(
            root.join(".codex-plugin/plugin.json"),
            r#"{"name": "hello", "mcpServers": "./.mcp.json"}"#,
        )
        .unwrap();
        std::fs::write(root.join(".mcp.json"), mcp).unwrap();
    }

    #[test]
    fn enabled_plugins_servers_become_entries_with_absolute_cwd() {
        let dir = tempfile::tempdir().unwrap();
        plugin(
            dir.path(),
            r#"{"mcpServers": {"hello-mcp": {"command": "sh", "args": ["./server.sh"], "cwd": ".", "env": {"K": "v"}, "startup_timeout_sec": 9}}}"#,
        );
        let config: DocumentMut =
            "[plugins.\"hello@mkt\"]\nenabled = true\n[plugins.\"off@mkt\"]\nenabled = false\n"
                .parse()
                .unwrap();
        let (entries, problems) = plugin_servers(dir.path(), &config);
        assert!(problems.is_empty(), "{problems:?}");
        let [entry] = &entries[..] else {
            panic!("{entries:?}")
        };
        assert_eq!(entry.name, "hello-mcp");
        assert_eq!(entry.origin, Origin::Plugin);
        assert_eq!(entry.args, ["./server.sh"]);
        assert_eq!(entry.env["K"], "v");
        let root = dir.path().join("plugins/cache/mkt/hello/0.1.0");
        // As paths: Windows joins with `\`, and a `/` inside a joined part stays.
        assert_eq!(
            entry.cwd.as_deref().map(std::path::Path::new),
            Some(root.join(".").as_path())
        );
        assert_eq!(entry.extra["startup_timeout_sec"], 9);
    }

    #[test]
    fn uncached_escaping_and_malformed_plugins_are_problems_not_failures() {
        let dir = tempfile::tempdir().unwrap();
        let config: DocumentMut = "[plugins.\"hello@mkt\"]\n[plugins.\"../x@mkt\"]\n"
            .parse()
            .unwrap();
        let (entries, problems) = plugin_servers(dir.path(), &config);
        assert!(entries.is_empty());
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(
            problems[0].reason.contains("has not installed it"),
            "{problems:?}"
        );
        assert!(
            problems[1].reason.contains("PLUGIN@MARKETPLACE"),
            "{problems:?}"
        );
        plugin(
            dir.path(),
            r#"{"mcpServers": {"a": {"command": "sh", "cwd": "../../.."}}}"#,
        );
        let (_, problems) = plugin_servers(dir.path(), &config);
        assert!(
            problems[0].reason.contains("leaves the plugin's folder"),
            "{problems:?}"
        );
    }
}
