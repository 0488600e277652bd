//! Adds `~/.codexport/mcps.local.toml` tables to the generated config: a name the canonical
//! config also has fails unless `allowMcpOverrides`, and an allowed one replaces the canonical
//! table whole (never two tables of one name).

use std::path::Path;

use toml_edit::{DocumentMut, Item, Table};

use super::paths::{Direction, rewrite_document};
use crate::error::Error;
use crate::mcp::config::{read_mcp_servers, servers_mut};
use crate::mcp::manifest::{McpEntry, Origin};
use crate::pathmap::PathMap;
use crate::settings::{Overrides, TomlOwner};

/// What the overlay contributed.
#[derive(Debug, Clone, Default)]
pub struct Overlaid {
    /// The local entries (their `${NAME}` forms expanded), for the manifest.
    pub entries: Vec<McpEntry>,
    /// Canonical MCPs replaced by a local table.
    pub replaced: Vec<String>,
}

/// Merges the overlay `text` (the file at `path`) into `doc`.
pub fn apply_overlay(
    doc: &mut DocumentMut,
    text: &str,
    path: &Path,
    allow_overrides: &Overrides,
    local_toml: &Path,
    map: &PathMap,
) -> Result<Overlaid, Error> {
    let mut overlay = crate::settings::parse_document(text, path, TomlOwner::Codexport)?;
    if let Some((key, _)) = overlay.iter().find(|(k, _)| *k != "mcp_servers") {
        return Err(Error::InvalidLayer {
            path: path.to_path_buf(),
            reason: format!("only `[mcp_servers.NAME]` tables belong here, not `{key}`"),
        });
    }
    rewrite_document(&mut overlay, map, Direction::ExpandOnly)?;
    let (entries, errors) = read_mcp_servers(&overlay, Origin::Local);
    if let Some(e) = errors.first() {
        return Err(Error::InvalidLayer {
            path: path.to_path_buf(),
            reason: e.to_string(),
        });
    }
    let mut replaced = Vec::new();
    if entries.is_empty() {
        return Ok(Overlaid { entries, replaced });
    }
    let servers = servers_mut(doc).ok_or_else(|| Error::InvalidLayer {
        path: path.to_path_buf(),
        reason: "the canonical `mcp_servers` is not a table".to_owned(),
    })?;
    let local = overlay["mcp_servers"]
        .as_table_like()
        .expect("entries were read from it");
    // Every clash is checked before the first insert, so a refused overlay changes nothing.
    for (name, _) in local.iter() {
        if servers.contains_key(name) {
            if !allow_overrides.allows(name) {
                return Err(Error::OverlayClash {
                    kind: "MCP",
                    name: name.to_owned(),
                    layer: path.to_path_buf(),
                    setting: "allowMcpOverrides",
                    local_toml: local_toml.to_path_buf(),
                });
            }
            replaced.push(name.to_owned());
        }
    }
    for (name, item) in local.iter() {
        servers.insert(name, spaced(detached(item.clone())));
    }
    Ok(Overlaid { entries, replaced })
}

/// A table item with a blank line before its header, as a person would write it.
pub(crate) fn spaced(mut item: Item) -> Item {
    if let Item::Table(t) = &mut item
        && t.decor()
            .prefix()
            .and_then(|p| p.as_str())
            .is_none_or(str::is_empty)
    {
        t.decor_mut().set_prefix("\n");
    }
    item
}

/// An item from another document, with its document positions dropped so it is printed next
/// to its new parent instead of at its old place.
pub(crate) fn detached(mut item: Item) -> Item {
    fn clear(table: &mut Table) {
        table.set_position(None);
        for (_, item) in table.iter_mut() {
            match item {
                Item::Table(t) => clear(t),
                Item::ArrayOfTables(a) => a.iter_mut().for_each(clear),
                _ => {}
            }
        }
    }
    match &mut item {
        Item::Table(t) => clear(t),
        Item::ArrayOfTables(a) => a.iter_mut().for_each(clear),
        _ => {}
    }
    item
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Homes;
    use crate::mcp::manifest::MasterPaths;
    use std::collections::BTreeMap;

    fn map() -> PathMap {
        let follower = Homes::new("/home/bo", "/home/bo/.codex", "/home/bo/.codexport");
        PathMap::for_os(
            &MasterPaths::default(),
            &follower,
            &BTreeMap::from([("tools".to_owned(), "/opt/t".to_owned())]),
            "linux",
        )
    }

    const CANONICAL: &str = "[mcp_servers.a]\ncommand = \"a\"\n\n[mcp_servers.b]\ncommand = \"b\"\n\n[projects.\"/x\"]\ntrust_level = \"trusted\"\n";

    #[test]
    fn local_tables_are_added_with_variables_expanded() {
        let mut doc: DocumentMut = CANONICAL.parse().unwrap();
        let out = apply_overlay(
            &mut doc,
            "[mcp_servers.mine]\ncommand = \"${tools}/mine\"\n",
            Path::new("mcps.local.toml"),
            &Overrides::None,
            Path::new("local.toml"),
            &map(),
        )
        .unwrap();
        assert_eq!(out.entries.len(), 1);
        assert_eq!(out.entries[0].command.as_deref(), Some("/opt/t/mine"));
        assert_eq!(out.entries[0].origin, Origin::Local);
        let text = doc.to_string();
        assert!(
            text.contains(
                "[mcp_servers.b]\ncommand = \"b\"\n\n[mcp_servers.mine]\ncommand = \"/opt/t/mine\"\n"
            ),
            "{text}"
        );
        text.parse::<DocumentMut>().unwrap();
    }

    #[test]
    fn a_same_name_table_fails_unless_allowed_and_then_replaces() {
        let overlay = "[mcp_servers.a]\nurl = \"http://127.0.0.1:1/mcp\"\n";
        let mut doc: DocumentMut = CANONICAL.parse().unwrap();
        let err = apply_overlay(
            &mut doc,
            overlay,
            Path::new("m.toml"),
            &Overrides::None,
            Path::new("l.toml"),
            &map(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("`a`"), "{err}");
        assert!(err.to_string().contains("allowMcpOverrides"), "{err}");
        assert_eq!(doc.to_string(), CANONICAL, "nothing changed on failure");

        let out = apply_overlay(
            &mut doc,
            overlay,
            Path::new("m.toml"),
            &Overrides::All,
            Path::new("l.toml"),
            &map(),
        )
        .unwrap();
        assert_eq!(out.replaced, ["a"]);
        let text = doc.to_string();
        assert_eq!(text.matches("[mcp_servers.a]").count(), 1, "{text}");
        assert!(!text.contains("command = \"a\""), "{text}");
        text.parse::<DocumentMut>().unwrap();
    }

    #[test]
    fn other_tables_and_bad_toml_are_refused() {
        let mut doc: DocumentMut = CANONICAL.parse().unwrap();
        let err = apply_overlay(
            &mut doc,
            "model = \"x\"\n",
            Path::new("m.toml"),
            &Overrides::None,
            Path::new("l"),
            &map(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("`model`"), "{err}");
        let err = apply_overlay(
            &mut doc,
            "[mcp_servers.x\n",
            Path::new("m.toml"),
            &Overrides::None,
            Path::new("l"),
            &map(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("m.toml:1:"), "{err}");
    }
}
