//! Rewrites every path in a TOML document from the master's machine to this follower: string
//! values at any depth and table keys (`[projects."/home/al/x"]`, `[hooks.state."..."]`).

use toml_edit::{Array, DocumentMut, InlineTable, Item, Key, Table, Value};

use crate::error::Error;
use crate::pathmap::PathMap;

/// Which way strings are rewritten.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Master paths and `${NAME}` forms → follower paths (canonical layers).
    MasterToFollower,
    /// Only `${NAME}` forms → follower paths (follower-written layers like `mcps.local.toml`).
    ExpandOnly,
}

fn map_str(map: &PathMap, dir: Direction, s: &str) -> Result<String, Error> {
    match dir {
        Direction::MasterToFollower => map.rewrite(s),
        Direction::ExpandOnly => map.to_follower(s),
    }
}

/// Rewrites `doc` in place; comments and formatting of untouched parts survive.
pub fn rewrite_document(doc: &mut DocumentMut, map: &PathMap, dir: Direction) -> Result<(), Error> {
    rewrite_table(doc.as_table_mut(), map, dir)
}

/// Rewrites one table (keys and values, recursively).
pub fn rewrite_table(table: &mut Table, map: &PathMap, dir: Direction) -> Result<(), Error> {
    let renames = renamed_keys(table.iter().map(|(k, _)| k), map, dir)?;
    if !renames.is_empty() {
        // Re-insert every entry in order so renamed keys keep their place.
        let keys: Vec<String> = table.iter().map(|(k, _)| k.to_owned()).collect();
        for key in keys {
            let (old_key, item) = table.remove_entry(&key).expect("listed key");
            let new_key = match renames.iter().find(|(from, _)| *from == key) {
                Some((_, to)) => renamed(&old_key, to),
                None => old_key,
            };
            table.insert_formatted(&new_key, item);
        }
    }
    for (_, item) in table.iter_mut() {
        rewrite_item(item, map, dir)?;
    }
    Ok(())
}

fn renamed(old: &Key, to: &str) -> Key {
    Key::new(to)
        .with_leaf_decor(old.leaf_decor().clone())
        .with_dotted_decor(old.dotted_decor().clone())
}

/// (old, new) for every key the map changes.
fn renamed_keys<'a>(
    keys: impl Iterator<Item = &'a str>,
    map: &PathMap,
    dir: Direction,
) -> Result<Vec<(String, String)>, Error> {
    let mut out = Vec::new();
    for key in keys {
        let new = map_str(map, dir, key)?;
        if new != key {
            out.push((key.to_owned(), new));
        }
    }
    Ok(out)
}

fn rewrite_item(item: &mut Item, map: &PathMap, dir: Direction) -> Result<(), Error> {
    match item {
        Item::None => Ok(()),
        Item::Value(v) => rewrite_value(v, map, dir),
        Item::Table(t) => rewrite_table(t, map, dir),
        Item::ArrayOfTables(a) => a.iter_mut().try_for_each(|t| rewrite_table(t, map, dir)),
    }
}

/// Rewrites one value (strings, arrays and inline tables, recursively).
pub fn rewrite_value(value: &mut Value, map: &PathMap, dir: Direction) -> Result<(), Error> {
    match value {
        Value::String(s) => {
            let new = map_str(map, dir, s.value())?;
            if &new != s.value() {
                let decor = s.decor().clone();
                *value = Value::from(new);
                *value.decor_mut() = decor;
            }
            Ok(())
        }
        Value::Array(a) => rewrite_array(a, map, dir),
        Value::InlineTable(t) => rewrite_inline(t, map, dir),
        _ => Ok(()),
    }
}

fn rewrite_array(array: &mut Array, map: &PathMap, dir: Direction) -> Result<(), Error> {
    array
        .iter_mut()
        .try_for_each(|v| rewrite_value(v, map, dir))
}

fn rewrite_inline(table: &mut InlineTable, map: &PathMap, dir: Direction) -> Result<(), Error> {
    let renames = renamed_keys(table.iter().map(|(k, _)| k), map, dir)?;
    if !renames.is_empty() {
        let keys: Vec<String> = table.iter().map(|(k, _)| k.to_owned()).collect();
        for key in keys {
            let (old_key, value) = table.remove_entry(&key).expect("listed key");
            let new_key = match renames.iter().find(|(from, _)| *from == key) {
                Some((_, to)) => renamed(&old_key, to),
                None => old_key,
            };
            table.insert_formatted(&new_key, value);
        }
    }
    for (_, value) in table.iter_mut() {
        rewrite_value(value, map, dir)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Homes;
    use crate::mcp::manifest::MasterPaths;
    use std::collections::BTreeMap;

    fn map() -> PathMap {
        let master = MasterPaths {
            os: "linux".into(),
            home: "/home/al".into(),
            codex_home: "/home/al/.codex".into(),
        };
        let follower = Homes::new("/home/bo", "/home/bo/.codex", "/home/bo/.codexport");
        PathMap::for_os(&master, &follower, &BTreeMap::new(), "linux")
    }

    #[test]
    fn values_and_keys_are_rewritten_and_comments_survive() {
        let text = r#"# top comment
model = "gpt-5" # trailing
notify = ["/home/al/bin/n", "--x"]

[projects."/home/al/src/a"]
trust_level = "trusted"

# hooks trust
[hooks.state."/home/al/.codex/hooks.json:session_start:0:0"]
trusted_hash = "sha256:00"

[mcp_servers.x]
command = "/home/al/.local/bin/x"
env = { ROOT = "/home/al/w", "/home/al/k" = "v" }
"#;
        let mut doc: DocumentMut = text.parse().unwrap();
        rewrite_document(&mut doc, &map(), Direction::MasterToFollower).unwrap();
        let out = doc.to_string();
        let expected = r#"# top comment
model = "gpt-5" # trailing
notify = ["/home/bo/bin/n", "--x"]

[projects."/home/bo/src/a"]
trust_level = "trusted"

# hooks trust
[hooks.state."/home/bo/.codex/hooks.json:session_start:0:0"]
trusted_hash = "sha256:00"

[mcp_servers.x]
command = "/home/bo/.local/bin/x"
env = { ROOT = "/home/bo/w", "/home/bo/k" = "v" }
"#;
        assert_eq!(out, expected);
    }

    #[test]
    fn expand_only_leaves_master_looking_paths() {
        let mut doc: DocumentMut = "a = \"/home/al/x\"\nb = \"${home}/y\"\n".parse().unwrap();
        rewrite_document(&mut doc, &map(), Direction::ExpandOnly).unwrap();
        assert_eq!(doc.to_string(), "a = \"/home/al/x\"\nb = \"/home/bo/y\"\n");
    }
}
