//! The follower-side rewrite of the desired set: `config.toml` generated and merged,
//! `rules/default.rules` merged, `hooks.json` and its trust layered, local and override
//! skills added (see [`crate::follower::layer`] and [`crate::hooks`]).

use std::collections::BTreeSet;

use crate::Homes;
use crate::error::{Error, Result};
use crate::follower::apply::{DesiredFile, RootPath, Source};
use crate::follower::layer::build::{Canonical, Layered, build, skill_files};
use crate::follower::layer::rules::DEFAULT_RULES;
use crate::follower::layer::skills::skill_of;
use crate::master::selection::{FileClass, Root};
use crate::mcp::manifest::MasterPaths;
use crate::revision::Revision;
use crate::settings::LocalSettings;
use crate::store::ObjectStore;

/// The canonical `config.toml`, relative to the Codex home.
pub const CONFIG_TOML: &str = "config.toml";
/// Codex's hooks file, relative to the Codex home.
pub const HOOKS_JSON: &str = "hooks.json";

/// The desired files for this machine and what layering decided.
#[derive(Debug, Clone)]
pub struct Transformed {
    /// Every file apply should make exist.
    pub files: Vec<DesiredFile>,
    /// The layering outcome (manifest, merge notes, bases to keep).
    pub layered: Layered,
    /// The canonical `rules/default.rules`, kept as the base of the next rules merge.
    pub canonical_rules: Option<String>,
}

/// Rewrites the desired files for this machine, layered with `settings` (its `local.toml`).
pub fn transform(
    homes: &Homes,
    settings: &LocalSettings,
    revision: &Revision,
    mut files: Vec<DesiredFile>,
) -> Result<Transformed> {
    let store = ObjectStore::new(homes.objects());
    let config = canonical_text(&store, &files, CONFIG_TOML)?;
    let rules = canonical_text(&store, &files, DEFAULT_RULES)?;
    let hooks_json = canonical_text(&store, &files, HOOKS_JSON)?;
    let skill_names: BTreeSet<String> = files
        .iter()
        .filter(|f| f.at.root == Root::Codex)
        .filter_map(|f| skill_of(&f.at.rel).map(str::to_owned))
        .collect();
    let mut manifest = revision.mcp.clone();
    if manifest.master.home.is_empty() {
        manifest.master = MasterPaths {
            os: revision.master.os.clone(),
            home: revision.master.home.clone(),
            codex_home: revision.master.codex_home.clone(),
        };
    }
    let master_host = settings.master_host();
    let layered = build(
        homes,
        settings,
        Canonical {
            config: config.as_deref(),
            default_rules: rules.as_deref(),
            hooks_json: hooks_json.as_deref().map(str::as_bytes),
            skill_names: &skill_names,
            manifest: &manifest,
            master_host: master_host.as_deref(),
        },
    )?;

    // Codex itself writes config.toml 0600.
    let config_toml = layered.config.as_deref();
    set_bytes(
        &mut files,
        CONFIG_TOML,
        config_toml,
        FileClass::Config,
        0o600,
    );
    let rules_text = layered.default_rules.as_deref();
    set_bytes(
        &mut files,
        DEFAULT_RULES,
        rules_text,
        FileClass::Regular,
        0o644,
    );
    let hooks_text = layered.hooks_json.as_deref();
    set_bytes(
        &mut files,
        HOOKS_JSON,
        hooks_text,
        FileClass::Regular,
        0o644,
    );
    let overridden: BTreeSet<&str> = layered
        .skills
        .overridden
        .iter()
        .map(String::as_str)
        .collect();
    files.retain(|f| {
        f.at.root != Root::Codex || skill_of(&f.at.rel).is_none_or(|s| !overridden.contains(s))
    });
    for skill in skill_files(&layered.skills)? {
        files.push(DesiredFile {
            at: RootPath::new(Root::Codex, skill.path),
            source: Source::Bytes(skill.bytes),
            mode: skill.mode,
            class: FileClass::Regular,
        });
    }
    Ok(Transformed {
        files,
        layered,
        canonical_rules: rules,
    })
}

/// The text of the Codex-home file `path` of the revision, when it has one.
fn canonical_text(
    store: &ObjectStore,
    files: &[DesiredFile],
    path: &str,
) -> Result<Option<String>> {
    let Some(file) = files.iter().find(|f| f.at.is_codex(path)) else {
        return Ok(None);
    };
    let Source::Object(hash) = &file.source else {
        return Ok(None);
    };
    let object = store.path(hash)?;
    let bytes = std::fs::read(&object).map_err(|e| Error::io("read", &object, e))?;
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|_| Error::InvalidRevision(format!("the master's `{path}` is not UTF-8 text")))
}

/// Makes the Codex-home file `path` hold `bytes` (added with `mode` when the revision lacks
/// it), or drops it when `bytes` is `None`.
fn set_bytes(
    files: &mut Vec<DesiredFile>,
    path: &str,
    bytes: Option<&str>,
    class: FileClass,
    mode: u32,
) {
    let at = files.iter().position(|f| f.at.is_codex(path));
    match (at, bytes) {
        (Some(i), Some(text)) => files[i].source = Source::Bytes(text.as_bytes().to_vec()),
        (None, Some(text)) => files.push(DesiredFile {
            at: RootPath::new(Root::Codex, path),
            source: Source::Bytes(text.as_bytes().to_vec()),
            mode,
            class,
        }),
        (Some(i), None) => {
            files.remove(i);
        }
        (None, None) => {}
    }
}
