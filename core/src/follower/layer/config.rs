//! Generates the follower's `config.toml` and MCP manifest: canonical config (plus a table
//! for each plugin MCP server) → paths mapped → `mcps.local.toml` overlay → command MCPs routed to the launcher → hook trust. The result
//! is what the three-way merge ([`super::merge`]) starts from.

use std::path::Path;

use toml_edit::DocumentMut;

use super::mcp_routing::{Routing, add_plugin_servers, route_mcp_servers};
use super::overlay::apply_overlay;
use super::paths::{Direction, rewrite_document};
use crate::Homes;
use crate::error::Error;
use crate::hooks::HooksLayer;
use crate::mcp::manifest::{Artifact, MANIFEST_VERSION, McpManifest};
use crate::pathmap::PathMap;
use crate::settings::{LocalSettings, MasterMcpServers};

/// Everything generation reads.
pub struct ConfigInputs<'a> {
    /// This follower's homes.
    pub homes: &'a Homes,
    /// `local.toml` layering settings.
    pub settings: &'a LocalSettings,
    /// The canonical manifest of the revision (its `master` paths drive path mapping).
    pub manifest: &'a McpManifest,
    /// The master's host name or address, for loopback URL MCPs.
    pub master_host: Option<&'a str>,
    /// The canonical `config.toml` text, when the revision has one.
    pub canonical: Option<&'a str>,
    /// The text of `mcps.local.toml`, when it exists.
    pub overlay: Option<&'a str>,
    /// The hooks layer, whose `[hooks.state]` trust entries (hashes recomputed for this
    /// follower) go in after routing, before the merge: they become part of the base of the
    /// next merge.
    pub hooks: Option<&'a HooksLayer>,
}

/// The generated config and the follower's manifest.
#[derive(Debug, Clone)]
pub struct Generated {
    /// The generated `config.toml` (before merging local edits). `None` when neither the
    /// revision nor the overlay has a config.
    pub config: Option<String>,
    /// Canonical entries (minus overridden ones) and local entries, sorted by name.
    pub manifest: McpManifest,
    /// Canonical MCPs a local table replaced.
    pub replaced_mcps: Vec<String>,
}

/// The path map for this follower.
pub fn path_map(inputs: &ConfigInputs<'_>) -> PathMap {
    PathMap::new(
        &inputs.manifest.master,
        inputs.homes,
        &inputs.settings.path_variables,
    )
}

/// Runs the config pipeline.
pub fn generate(inputs: &ConfigInputs<'_>) -> Result<Generated, Error> {
    generate_with(inputs, &path_map(inputs))
}

/// [`generate`] with an explicit path map (tests map to another OS).
pub fn generate_with(inputs: &ConfigInputs<'_>, map: &PathMap) -> Result<Generated, Error> {
    let homes = inputs.homes;
    let mut doc = match inputs.canonical {
        Some(text) => crate::settings::parse_document(
            text,
            Path::new("config.toml (master revision)"),
            crate::settings::TomlOwner::Codexport,
        )?,
        None if inputs.overlay.is_some() => DocumentMut::new(),
        None => {
            return Ok(Generated {
                config: None,
                manifest: follower_manifest(inputs.manifest, Vec::new()),
                replaced_mcps: Vec::new(),
            });
        }
    };
    add_plugin_servers(&mut doc, inputs.manifest);
    rewrite_document(&mut doc, map, Direction::MasterToFollower)?;
    let master_servers = server_names(&doc);
    let overlaid = match inputs.overlay {
        Some(text) => apply_overlay(
            &mut doc,
            text,
            &homes.mcps_local_toml(),
            &inputs.settings.allow_mcp_overrides,
            &homes.local_toml(),
            map,
        )?,
        None => Default::default(),
    };
    let mut routing = Routing::new(homes, inputs.master_host);
    // A local table replacing a direct one is routed like every local entry.
    routing.direct = inputs
        .manifest
        .entries
        .iter()
        .filter(|e| e.artifact == Artifact::Direct && !overlaid.replaced.contains(&e.name))
        .map(|e| e.name.clone())
        .collect();
    route_mcp_servers(&mut doc, &routing, None);
    if inputs.settings.master_mcp_servers == MasterMcpServers::Off {
        let off = master_servers
            .iter()
            .filter(|name| !overlaid.replaced.contains(name));
        disable_servers(&mut doc, off);
    }
    if let Some(hooks) = inputs.hooks {
        hooks.write_trust(&mut doc);
    }
    Ok(Generated {
        config: Some(doc.to_string()),
        manifest: follower_manifest(inputs.manifest, overlaid.entries),
        replaced_mcps: overlaid.replaced,
    })
}

/// The names of the `[mcp_servers]` tables of `doc`.
fn server_names(doc: &DocumentMut) -> Vec<String> {
    doc.get("mcp_servers")
        .and_then(|i| i.as_table_like())
        .map(|t| t.iter().map(|(name, _)| name.to_owned()).collect())
        .unwrap_or_default()
}

/// `masterMcpServers = "off"`: writes `enabled = false` into each of `names`.
fn disable_servers<'a>(doc: &mut DocumentMut, names: impl Iterator<Item = &'a String>) {
    let Some(servers) = doc
        .get_mut("mcp_servers")
        .and_then(|i| i.as_table_like_mut())
    else {
        return;
    };
    for name in names {
        if let Some(server) = servers.get_mut(name).and_then(|i| i.as_table_like_mut()) {
            server.insert("enabled", toml_edit::value(false));
        }
    }
}

/// The follower's manifest: canonical entries a local entry does not replace, plus the local
/// entries, sorted by name.
pub fn follower_manifest(
    canonical: &McpManifest,
    local: Vec<crate::mcp::manifest::McpEntry>,
) -> McpManifest {
    let mut entries: Vec<_> = canonical
        .entries
        .iter()
        .filter(|e| !local.iter().any(|l| l.name == e.name))
        .cloned()
        .collect();
    entries.extend(local);
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    McpManifest {
        version: MANIFEST_VERSION,
        master: canonical.master.clone(),
        entries,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mcp::config::read_mcp_servers;
    use crate::mcp::manifest::{MasterPaths, Origin};

    fn master_manifest(config: &str) -> McpManifest {
        let (entries, _) = read_mcp_servers(&config.parse().unwrap(), Origin::Canonical);
        McpManifest {
            version: MANIFEST_VERSION,
            master: MasterPaths {
                os: "linux".into(),
                home: "/home/al".into(),
                codex_home: "/home/al/.codex".into(),
            },
            entries,
        }
    }

    #[test]
    #[cfg_attr(
        windows,
        ignore = "a Linux follower emulated on this host: its paths join with `\\` on Windows"
    )]
    fn the_whole_pipeline() {
        let canonical = r#"# the master's config
model = "gpt-5"

[projects."/home/al/src"]
trust_level = "trusted"

[mcp_servers.fs]
command = "/home/al/.local/bin/fs"
args = ["/home/al/w"]
env = { TOKEN = "s3cret" }
startup_timeout_sec = 30
"#;
        let manifest = master_manifest(canonical);
        let homes = Homes::new("/home/bo", "/home/bo/.codex", "/srv/cx");
        let settings = LocalSettings {
            path_variables: [("tools".to_owned(), "/opt".to_owned())].into(),
            ..Default::default()
        };
        let inputs = ConfigInputs {
            homes: &homes,
            settings: &settings,
            manifest: &manifest,
            master_host: Some("m.tail"),
            canonical: Some(canonical),
            overlay: Some("[mcp_servers.mine]\ncommand = \"${tools}/mine\"\n"),
            hooks: None,
        };
        let map = PathMap::for_os(&manifest.master, &homes, &settings.path_variables, "linux");
        let out = generate_with(&inputs, &map).unwrap();
        let config = out.config.unwrap();
        assert_eq!(
            config,
            r#"# the master's config
model = "gpt-5"

[projects."/home/bo/src"]
trust_level = "trusted"

[mcp_servers.fs]
command = "/srv/cx/bin/codexport-mcp-run"
args = ["mcp", "run", "fs"]
startup_timeout_sec = 30
env = { CODEXPORT_HOME = "/srv/cx" }

[mcp_servers.mine]
command = "/srv/cx/bin/codexport-mcp-run"
args = ["mcp", "run", "mine"]
env = { CODEXPORT_HOME = "/srv/cx" }
"#
        );
        assert_eq!(out.manifest.names(), ["fs", "mine"]);
        let fs = out.manifest.get("fs").unwrap();
        assert_eq!(fs.env["TOKEN"], "s3cret");
        assert_eq!(
            fs.args,
            ["/home/al/w"],
            "the launcher maps manifest paths itself"
        );
        assert_eq!(out.manifest.get("mine").unwrap().origin, Origin::Local);
    }

    #[test]
    fn a_linux_master_config_on_a_windows_follower_and_back() {
        let canonical = "[projects.\"/home/al/src/app\"]\ntrust_level = \"trusted\"\n\n[mcp_servers.u]\nurl = \"http://localhost:1/mcp\"\nhttp_headers = { X-Dir = \"/home/al/.codex/x\" }\n";
        let manifest = master_manifest(canonical);
        let homes = Homes::new(
            r"C:\Users\bo",
            r"C:\Users\bo\.codex",
            r"C:\Users\bo\.codexport",
        );
        let settings = LocalSettings::default();
        let inputs = ConfigInputs {
            homes: &homes,
            settings: &settings,
            manifest: &manifest,
            master_host: None,
            canonical: Some(canonical),
            overlay: None,
            hooks: None,
        };
        let map = PathMap::for_os(
            &manifest.master,
            &homes,
            &settings.path_variables,
            "windows",
        );
        let config = generate_with(&inputs, &map).unwrap().config.unwrap();
        let doc: DocumentMut = config.parse().unwrap();
        let projects = doc["projects"].as_table().unwrap();
        assert!(projects.contains_key(r"C:\Users\bo\src\app"), "{config}");
        assert_eq!(
            doc["mcp_servers"]["u"]["http_headers"]["X-Dir"].as_str(),
            Some(r"C:\Users\bo\.codex\x")
        );

        // And back: that config, as a Windows master's, on a Linux follower.
        let win_manifest = McpManifest {
            master: MasterPaths {
                os: "windows".into(),
                home: r"C:\Users\bo".into(),
                codex_home: r"C:\Users\bo\.codex".into(),
            },
            ..McpManifest::default()
        };
        let linux = Homes::new("/home/al", "/home/al/.codex", "/home/al/.codexport");
        let inputs = ConfigInputs {
            homes: &linux,
            manifest: &win_manifest,
            canonical: Some(&config),
            ..inputs
        };
        let map = PathMap::for_os(
            &win_manifest.master,
            &linux,
            &settings.path_variables,
            "linux",
        );
        let back = generate_with(&inputs, &map).unwrap().config.unwrap();
        assert_eq!(back, canonical);
    }

    #[test]
    fn no_config_anywhere_generates_none() {
        let manifest = McpManifest::default();
        let homes = Homes::new("/h", "/h/.codex", "/h/.codexport");
        let settings = LocalSettings::default();
        let inputs = ConfigInputs {
            homes: &homes,
            settings: &settings,
            manifest: &manifest,
            master_host: None,
            canonical: None,
            overlay: None,
            hooks: None,
        };
        assert!(generate(&inputs).unwrap().config.is_none());
    }

    #[test]
    #[cfg_attr(
        windows,
        ignore = "Unix trust keys (`<realpath>/hooks.json`); the key Codex uses on Windows is issue 12 (hooks on Windows)"
    )]
    fn the_hooks_step_trusts_after_routing() {
        let manifest = master_manifest("[mcp_servers.fs]\ncommand = \"/home/al/fs\"\n");
        let homes = Homes::new("/home/bo", "/home/bo/.codex", "/srv/cx");
        let settings = LocalSettings::default();
        let map = PathMap::for_os(&manifest.master, &homes, &settings.path_variables, "linux");
        let ours = crate::hooks::OurHook::new(Path::new("/usr/bin/codexport"), 2, None);
        let hooks = crate::hooks::layer_hooks(
            crate::hooks::CanonicalHooks {
                config: None,
                hooks_json: None,
                master: &manifest.master,
            },
            &map,
            Path::new("/real/bo/.codex"),
            Some(&ours),
        )
        .unwrap();
        let inputs = ConfigInputs {
            homes: &homes,
            settings: &settings,
            manifest: &manifest,
            master_host: None,
            canonical: Some("[mcp_servers.fs]\ncommand = \"/home/al/fs\"\n"),
            overlay: None,
            hooks: Some(&hooks),
        };
        let config = generate_with(&inputs, &map).unwrap().config.unwrap();
        let doc: DocumentMut = config.parse().unwrap();
        assert!(
            doc["hooks"]["state"]["/real/bo/.codex/hooks.json:session_start:0:0"]["trusted_hash"]
                .is_str(),
            "{config}"
        );
        assert_eq!(
            doc["mcp_servers"]["fs"]["command"].as_str(),
            Some("/srv/cx/bin/codexport-mcp-run"),
            "{config}"
        );
    }
}
