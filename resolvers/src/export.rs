//! The master's MCP export backed by the resolver registry: every `[mcp_servers.*]` entry
//! gets an artifact (a hint's, an inferred one, `direct` when `master.toml` routes it so, or
//! `unresolved` with the reason), and every
//! problem is reported by entry name while the rest of the manifest is still built.

use std::collections::BTreeMap;

use codexport_core::Homes;
use codexport_core::mcp::config::{EntryError, read_mcp_servers};
use codexport_core::mcp::export::{McpExport, McpExportOutcome, master_manifest};
use codexport_core::mcp::manifest::{Artifact, McpManifest, Origin};
use codexport_core::mcp::plugins::plugin_servers;
use codexport_core::store::ObjectStore;
use codexport_core::suggest::by_similarity;
use toml_edit::DocumentMut;

use crate::hints::InferSettings;
use crate::registry::Registry;
use crate::{InferContext, InferNotes};

/// [`McpExport`] through a [`Registry`], the master's environment and its `master.toml`
/// inference settings.
#[derive(Debug)]
pub struct RegistryExport {
    /// Resolvers in priority order.
    pub registry: Registry,
    /// The master's environment (PATH, `UV_TOOL_DIR`, `CARGO_HOME`, npm's cache, ...).
    pub env: BTreeMap<String, String>,
    /// Hints and source limits.
    pub settings: InferSettings,
}

impl RegistryExport {
    /// Built-in resolvers over the current process environment.
    pub fn from_process(settings: InferSettings) -> Self {
        Self {
            registry: Registry::builtin(),
            env: std::env::vars().collect(),
            settings,
        }
    }
}

impl McpExport for RegistryExport {
    fn export(
        &self,
        homes: &Homes,
        config: Option<&DocumentMut>,
        store: &ObjectStore,
    ) -> McpExportOutcome {
        let (mut entries, mut problems) = match config {
            Some(doc) => read_mcp_servers(doc, Origin::Canonical),
            None => (Vec::new(), Vec::new()),
        };
        // The enabled plugins' servers; a `[mcp_servers.NAME]` of the config replaces a
        // plugin's server of the same name, in Codex and here.
        if let Some(doc) = config {
            let (plugin, plugin_problems) = plugin_servers(&homes.codex, doc);
            problems.extend(plugin_problems);
            entries.extend(
                plugin
                    .into_iter()
                    .filter(|p| !entries.iter().any(|e| e.name == p.name))
                    .collect::<Vec<_>>(),
            );
            entries.sort_by(|a, b| a.name.cmp(&b.name));
        }
        let notes = InferNotes::default();
        let cx = InferContext {
            homes,
            env: &self.env,
            store,
            source_limits: self.settings.source_limits,
            include_secret_files: &self.settings.include_secret_files,
            notes: &notes,
        };
        for entry in &mut entries {
            if self.settings.direct.contains(&entry.name) {
                entry.artifact = Artifact::Direct;
                continue;
            }
            entry.artifact = match self.settings.hints.get(&entry.name) {
                Some(hint) => match self.registry.apply_hint(&cx, entry, hint) {
                    Ok(spec) => Artifact::Resolved(spec),
                    Err(err) => Artifact::Unresolved {
                        reason: err.to_string(),
                        hint: format!(
                            "fix `[mcp.{}]` in `{}`",
                            entry.name,
                            homes.master_toml().display()
                        ),
                    },
                },
                None => self.registry.infer(&cx, entry),
            };
            if let Artifact::Unresolved { reason, .. } = &entry.artifact {
                problems.push(EntryError {
                    name: entry.name.clone(),
                    reason: format!("exported without an artifact: {reason}"),
                });
            }
        }
        problems.extend(notes.take());
        let names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
        let named = self
            .settings
            .hints
            .keys()
            .chain(&self.settings.direct)
            .chain(self.settings.include_secret_files.keys().filter(|k| {
                !self.settings.hints.contains_key(*k) && !self.settings.direct.contains(*k)
            }));
        for hinted in named {
            if !names.contains(&hinted.as_str()) {
                let closest = by_similarity(hinted, names.iter().copied());
                let suggestion = closest
                    .first()
                    .map(|c| format!(" (did you mean `[mcp.{c}]`?)"))
                    .unwrap_or_default();
                problems.push(EntryError {
                    name: hinted.clone(),
                    reason: format!(
                        "`[mcp.{hinted}]` in master.toml matches no `[mcp_servers.{hinted}]`{suggestion}"
                    ),
                });
            }
        }
        McpExportOutcome {
            manifest: McpManifest {
                entries,
                ..master_manifest(homes)
            },
            problems,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ecosystem::test_support::Master;

    #[test]
    fn every_entry_is_exported_and_problems_name_their_entry() {
        let tmp = tempfile::tempdir().unwrap();
        let master = Master::new(tmp.path());
        let config: DocumentMut = r#"
[mcp_servers.remote]
url = "http://127.0.0.1:9/mcp"
bearer_token_env_var = "TOKEN"
[mcp_servers.odd]
command = "/nowhere/odd"
[mcp_servers.both]
command = "x"
url = "http://h"
[mcp_servers.hinted]
command = "/nowhere/fff"
args = ["--stdio"]
"#
        .parse()
        .unwrap();
        let settings = InferSettings::from_toml(
            "[mcp.hinted]\nresolver = \"path\"\nprogram = \"fff\"\n[mcp.hintd]\nresolver = \"path\"\nprogram = \"x\"\n",
        )
        .unwrap();
        let export = RegistryExport {
            registry: Registry::builtin(),
            env: master.env.clone(),
            settings,
        };
        let out = export.export(&master.homes, Some(&config), &master.store);
        let got: Vec<(&str, &str)> = out
            .manifest
            .entries
            .iter()
            .map(|e| (e.name.as_str(), e.resolver_name()))
            .collect();
        assert_eq!(
            got,
            [("hinted", "path"), ("odd", "unresolved"), ("remote", "url")]
        );
        assert_eq!(
            out.manifest.get("hinted").map(|e| &e.artifact),
            Some(&Artifact::Resolved(
                codexport_core::mcp::manifest::ArtifactSpec {
                    resolver: "path".into(),
                    spec: serde_json::json!({"program": "fff", "args": ["--stdio"]}),
                    objects: vec![],
                }
            ))
        );
        assert_eq!(
            out.manifest.get("remote").unwrap().extra["bearer_token_env_var"],
            "TOKEN"
        );
        let problems: Vec<String> = out.problems.iter().map(ToString::to_string).collect();
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(
            problems[0].starts_with("MCP `both`: has both `command` and `url`"),
            "{problems:?}"
        );
        assert_eq!(
            problems[1],
            "MCP `odd`: exported without an artifact: no resolver recognised the command `/nowhere/odd`: `/nowhere/odd` does not exist on the master"
        );
        assert_eq!(
            problems[2],
            "MCP `hintd`: `[mcp.hintd]` in master.toml matches no `[mcp_servers.hintd]` (did you mean `[mcp.hinted]`?)"
        );
    }

    #[test]
    fn a_direct_route_exports_no_artifact_and_no_problem() {
        let tmp = tempfile::tempdir().unwrap();
        let master = Master::new(tmp.path());
        let config: DocumentMut = "[mcp_servers.time]\ncommand = \"/nowhere/time\"\n"
            .parse()
            .unwrap();
        let export = RegistryExport {
            registry: Registry::builtin(),
            env: master.env.clone(),
            settings: InferSettings::from_toml("[mcp.time]\nroute = \"direct\"\n").unwrap(),
        };
        let out = export.export(&master.homes, Some(&config), &master.store);
        let entry = out.manifest.get("time").unwrap();
        assert_eq!(entry.artifact, Artifact::Direct);
        assert_eq!(entry.command.as_deref(), Some("/nowhere/time"));
        assert!(out.problems.is_empty(), "{:?}", out.problems);
    }

    #[test]
    fn an_unreadable_package_json_names_the_file_and_keeps_the_entry() {
        let tmp = tempfile::tempdir().unwrap();
        let master = Master::new(tmp.path());
        let pkg = tmp.path().join("prefix/lib/node_modules/srv");
        std::fs::create_dir_all(pkg.join("dist")).unwrap();
        std::fs::write(pkg.join("package.json"), "{\"name\": \"srv\"").unwrap();
        std::fs::write(pkg.join("dist/index.js"), "").unwrap();
        let config: DocumentMut = format!(
            "[mcp_servers.srv]\ncommand = \"node\"\nargs = [{:?}]\n[mcp_servers.remote]\nurl = \"http://127.0.0.1:9/mcp\"\n",
            pkg.join("dist/index.js").to_string_lossy()
        )
        .parse()
        .unwrap();
        let export = RegistryExport {
            registry: Registry::builtin(),
            env: master.env.clone(),
            settings: InferSettings::default(),
        };
        let out = export.export(&master.homes, Some(&config), &master.store);
        assert_eq!(out.manifest.get("remote").unwrap().resolver_name(), "url");
        let Artifact::Unresolved { reason, hint } = &out.manifest.get("srv").unwrap().artifact
        else {
            panic!("srv must be unresolved");
        };
        assert!(reason.starts_with("npm: MCP `srv`: `"), "{reason}");
        assert!(
            reason.contains("package.json`: not valid package.json"),
            "{reason}"
        );
        assert!(
            hint.starts_with("repair or reinstall what owns `"),
            "{hint}"
        );
        assert_eq!(out.problems.len(), 1);
    }
}
