//! Reads Codex `[mcp_servers.NAME]` tables into manifest entries (master export and follower
//! `mcps.local.toml` alike). Inference of artifacts is not done here.

use std::collections::BTreeMap;

use toml_edit::{DocumentMut, Item, Table, Value};

use crate::mcp::manifest::{Artifact, McpEntry, Origin, Transport};

/// Keys the manifest holds in typed fields; every other key goes to `extra` verbatim.
const TYPED_KEYS: [&str; 5] = ["command", "args", "env", "cwd", "url"];

/// One `[mcp_servers.NAME]` table that cannot become an entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("MCP `{name}`: {reason}")]
pub struct EntryError {
    /// The table's name.
    pub name: String,
    /// What is wrong with it.
    pub reason: String,
}

/// The `[mcp_servers]` table of `doc`, made (implicit, so no empty header is written) when
/// missing; `None` when `mcp_servers` is something other than a table.
pub fn servers_mut(doc: &mut DocumentMut) -> Option<&mut dyn toml_edit::TableLike> {
    doc.entry("mcp_servers")
        .or_insert_with(|| {
            let mut t = Table::new();
            t.set_implicit(true);
            Item::Table(t)
        })
        .as_table_like_mut()
}

/// The artifact every entry starts with before a resolver recognises it.
pub fn not_inferred() -> Artifact {
    Artifact::Unresolved {
        reason: "no resolver recognised the command".to_owned(),
        hint: "add a `[mcp.NAME]` hint to `~/.codexport/master.toml` (see `codexport mcp inspect NAME`)"
            .to_owned(),
    }
}

/// Every well-formed MCP entry of a parsed config, sorted by name, and the errors of the
/// malformed ones (which are skipped, never fatal for the rest).
pub fn read_mcp_servers(doc: &DocumentMut, origin: Origin) -> (Vec<McpEntry>, Vec<EntryError>) {
    let mut entries = Vec::new();
    let mut errors = Vec::new();
    let Some(servers) = doc.get("mcp_servers") else {
        return (entries, errors);
    };
    let Some(servers) = servers.as_table_like() else {
        errors.push(EntryError {
            name: "mcp_servers".to_owned(),
            reason: "`mcp_servers` must be a table".to_owned(),
        });
        return (entries, errors);
    };
    for (name, item) in servers.iter() {
        match read_entry(name, item, origin) {
            Ok(entry) => entries.push(entry),
            Err(reason) => errors.push(EntryError {
                name: name.to_owned(),
                reason,
            }),
        }
    }
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    (entries, errors)
}

fn read_entry(name: &str, item: &Item, origin: Origin) -> Result<McpEntry, String> {
    let table = item.as_table_like().ok_or("must be a table")?;
    let command = opt_string(table.get("command"), "command")?;
    let url = opt_string(table.get("url"), "url")?;
    let transport = match (&command, &url) {
        (Some(_), None) => Transport::Stdio,
        (None, Some(_)) => Transport::Http,
        (Some(_), Some(_)) => {
            return Err(
                "has both `command` and `url`; Codex refuses the whole config: keep one".into(),
            );
        }
        (None, None) => return Err("has neither `command` nor `url`: set one".into()),
    };
    let args = match table.get("args") {
        None => Vec::new(),
        Some(item) => {
            let array = item
                .as_array()
                .ok_or("`args` must be an array of strings")?;
            array
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(str::to_owned)
                        .ok_or("`args` must be an array of strings")
                })
                .collect::<Result<_, _>>()?
        }
    };
    let env = match table.get("env") {
        None => BTreeMap::new(),
        Some(item) => {
            let env = item
                .as_table_like()
                .ok_or("`env` must be a table of strings")?;
            env.iter()
                .map(|(k, v)| {
                    v.as_str()
                        .map(|s| (k.to_owned(), s.to_owned()))
                        .ok_or_else(|| format!("`env.{k}` must be a string"))
                })
                .collect::<Result<_, _>>()?
        }
    };
    let cwd = opt_string(table.get("cwd"), "cwd")?;
    let extra = table
        .iter()
        .filter(|(k, _)| !TYPED_KEYS.contains(k))
        .map(|(k, v)| (k.to_owned(), item_to_json(v)))
        .collect();
    Ok(McpEntry {
        name: name.to_owned(),
        transport,
        command,
        args,
        env,
        cwd,
        url,
        extra,
        artifact: not_inferred(),
        origin,
    })
}

fn opt_string(item: Option<&Item>, key: &str) -> Result<Option<String>, String> {
    match item {
        None => Ok(None),
        Some(item) => item
            .as_str()
            .map(|s| Some(s.to_owned()))
            .ok_or_else(|| format!("`{key}` must be a string")),
    }
}

/// Converts a TOML item to JSON (datetimes become their TOML text).
pub fn item_to_json(item: &Item) -> serde_json::Value {
    match item {
        Item::None => serde_json::Value::Null,
        Item::Value(v) => value_to_json(v),
        Item::Table(t) => table_to_json(t),
        Item::ArrayOfTables(a) => a.iter().map(table_to_json).collect(),
    }
}

fn table_to_json(table: &Table) -> serde_json::Value {
    table
        .iter()
        .map(|(k, v)| (k.to_owned(), item_to_json(v)))
        .collect()
}

fn value_to_json(value: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    match value {
        Value::String(s) => J::String(s.value().clone()),
        Value::Integer(i) => J::from(*i.value()),
        Value::Float(f) => serde_json::Number::from_f64(*f.value()).map_or(J::Null, J::Number),
        Value::Boolean(b) => J::Bool(*b.value()),
        Value::Datetime(d) => J::String(d.value().to_string()),
        Value::Array(a) => a.iter().map(value_to_json).collect(),
        Value::InlineTable(t) => t
            .iter()
            .map(|(k, v)| (k.to_owned(), value_to_json(v)))
            .collect(),
    }
}

/// Converts JSON back to a TOML value (for writing `extra` fields into a generated config).
/// `null` has no TOML form and yields `None`.
pub fn json_to_value(json: &serde_json::Value) -> Option<Value> {
    use serde_json::Value as J;
    Some(match json {
        J::Null => return None,
        J::Bool(b) => Value::from(*b),
        J::Number(n) => match n.as_i64() {
            Some(i) => Value::from(i),
            None => Value::from(n.as_f64()?),
        },
        J::String(s) => Value::from(s.as_str()),
        J::Array(a) => Value::Array(a.iter().filter_map(json_to_value).collect()),
        J::Object(o) => {
            let mut t = toml_edit::InlineTable::new();
            for (k, v) in o {
                if let Some(v) = json_to_value(v) {
                    t.insert(k, v);
                }
            }
            Value::InlineTable(t)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> (Vec<McpEntry>, Vec<EntryError>) {
        read_mcp_servers(&text.parse().unwrap(), Origin::Canonical)
    }

    #[test]
    fn reads_stdio_and_http_entries_with_extra_fields() {
        let (entries, errors) = parse(
            r#"
model = "o3"
[mcp_servers.fs]
command = "/home/a/.local/bin/fs"
args = ["--root", "/home/a/x"]
cwd = "/home/a"
startup_timeout_sec = 20.5
enabled_tools = ["read"]
[mcp_servers.fs.env]
TOKEN = "s3cret"
[mcp_servers.remote]
url = "http://127.0.0.1:9000/mcp"
bearer_token_env_var = "REMOTE_TOKEN"
http_headers = { "X-Team" = "core" }
"#,
        );
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(entries.len(), 2);
        let fs = &entries[0];
        assert_eq!(fs.name, "fs");
        assert_eq!(fs.transport, Transport::Stdio);
        assert_eq!(fs.args, ["--root", "/home/a/x"]);
        assert_eq!(fs.env["TOKEN"], "s3cret");
        assert_eq!(fs.extra["startup_timeout_sec"], serde_json::json!(20.5));
        assert_eq!(fs.extra["enabled_tools"], serde_json::json!(["read"]));
        let remote = &entries[1];
        assert_eq!(remote.transport, Transport::Http);
        assert_eq!(
            remote.extra["http_headers"],
            serde_json::json!({"X-Team": "core"})
        );
    }

    #[test]
    fn malformed_entries_are_reported_and_the_rest_kept() {
        let (entries, errors) = parse(
            r#"
[mcp_servers.both]
command = "x"
url = "http://h"
[mcp_servers.neither]
args = []
[mcp_servers.badargs]
command = "x"
args = [1]
[mcp_servers.ok]
command = "x"
"#,
        );
        assert_eq!(
            entries.iter().map(|e| e.name.as_str()).collect::<Vec<_>>(),
            ["ok"]
        );
        let names: Vec<_> = errors.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["both", "neither", "badargs"]);
        assert!(errors[0].reason.contains("both `command` and `url`"));
    }

    #[test]
    fn json_round_trips_to_toml_values() {
        let json = serde_json::json!({"a": [1, 2.5, "x", true], "b": {"c": "d"}});
        let value = json_to_value(&json).unwrap();
        assert_eq!(value_to_json(&value), json);
    }
}
