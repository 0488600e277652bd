//! The key-level difference between two `config.toml` texts, for `--dry-run` reports.

use std::fmt;

use toml_edit::{DocumentMut, Item, Table};

/// How a key differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Only in the new file.
    Added,
    /// In both, with different meanings.
    Changed,
    /// Only in the old file.
    Removed,
}

/// One key that differs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyChange {
    /// The dotted key.
    pub key: String,
    /// How.
    pub change: Change,
}

impl fmt::Display for KeyChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = match self.change {
            Change::Added => '+',
            Change::Changed => '~',
            Change::Removed => '-',
        };
        write!(f, "{sign} {}", self.key)
    }
}

/// Keys that differ between `old` and `new` (leaves and whole tables added or removed).
/// Unparsable texts count as empty: the caller reports parse errors itself.
pub fn config_keys(old: Option<&str>, new: Option<&str>) -> Vec<KeyChange> {
    let parse = |t: Option<&str>| {
        t.and_then(|t| t.parse::<DocumentMut>().ok())
            .unwrap_or_default()
    };
    let (old, new) = (parse(old), parse(new));
    let mut out = Vec::new();
    walk(old.as_table(), new.as_table(), &mut Vec::new(), &mut out);
    out
}

fn walk(old: &Table, new: &Table, path: &mut Vec<String>, out: &mut Vec<KeyChange>) {
    for (key, n) in new.iter() {
        path.push(key.to_owned());
        match (old.get(key), n) {
            (None, _) => push(out, path, Change::Added),
            (Some(Item::Table(o)), Item::Table(n)) => walk(o, n, path, out),
            (Some(o), n) if !super::merge::same(Some(o), Some(n)) => {
                push(out, path, Change::Changed)
            }
            _ => {}
        }
        path.pop();
    }
    for (key, _) in old.iter().filter(|(k, _)| !new.contains_key(k)) {
        path.push(key.to_owned());
        push(out, path, Change::Removed);
        path.pop();
    }
}

fn push(out: &mut Vec<KeyChange>, path: &[String], change: Change) {
    out.push(KeyChange {
        key: super::merge::dotted(path),
        change,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_added_changed_removed_keys() {
        let old = "model = \"a\"\nx = 1\n[mcp_servers.fs]\ncommand = \"c\"\n";
        let new = "model = \"b\"\nx = 1.0\n[mcp_servers.fs]\ncommand = \"c\"\n[mcp_servers.t]\nurl = \"u\"\n[projects.\"/p\"]\ntrust_level = \"trusted\"\n";
        let keys: Vec<String> = config_keys(Some(old), Some(new))
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(keys, ["~ model", "+ mcp_servers.t", "+ projects"]);
        let keys: Vec<String> = config_keys(Some(new), None)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(keys, ["- model", "- x", "- mcp_servers", "- projects"]);
    }
}
