//! The follower-side rewrite of the desired set: `config.toml` generated and merged,
//! `rules/default.rules` merged, local and override skills added (see [`crate::layer`]).

use std::collections::BTreeSet;

use crate::Homes;
use crate::apply::{DesiredFile, Source};
use crate::config::LocalConfig;
use crate::error::{Error, Result};
use crate::layer::ConfigTransform;
use crate::layer::build::{Canonical, Layered, build, skill_files};
use crate::layer::rules::DEFAULT_RULES;
use crate::layer::skills::skill_of;
use crate::manifest::MasterPaths;
use crate::revision::Revision;
use crate::selection::{FileClass, Root};
use crate::store::ObjectStore;

/// The canonical `config.toml`, relative to the Codex home.
pub const CONFIG_TOML: &str = "config.toml";

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

/// Rewrites the desired files for this machine. `transforms` run on the generated config
/// after launcher routing (hook trust is one).
pub fn transform(
    homes: &Homes,
    revision: &Revision,
    mut files: Vec<DesiredFile>,
    transforms: &[&dyn ConfigTransform],
) -> Result<Transformed> {
    let store = ObjectStore::new(homes.objects());
    let config = canonical_text(&store, &files, CONFIG_TOML)?;
    let rules = canonical_text(&store, &files, DEFAULT_RULES)?;
    let skill_names: BTreeSet<String> = files
        .iter()
        .filter(|f| f.root == Root::Codex)
        .filter_map(|f| skill_of(&f.path).map(str::to_owned))
        .collect();
    let mut manifest = revision.mcp.clone();
    if manifest.master.home.is_empty() {
        manifest.master = MasterPaths {
            os: revision.master.os.clone(),
            home: revision.master.home.clone(),
            codex_home: revision.master.codex_home.clone(),
        };
    }
    let master_host = LocalConfig::load(homes)?
        .master
        .and_then(|url| url::Url::parse(&url).ok())
        .and_then(|url| url.host_str().map(str::to_owned));
    let layered = build(
        homes,
        Canonical {
            config: config.as_deref(),
            default_rules: rules.as_deref(),
            skill_names: &skill_names,
            manifest: &manifest,
            master_host: master_host.as_deref(),
        },
        transforms,
    )?;

    set_bytes(
        &mut files,
        CONFIG_TOML,
        layered.config.as_deref(),
        FileClass::Config,
    );
    set_bytes(
        &mut files,
        DEFAULT_RULES,
        layered.default_rules.as_deref(),
        FileClass::Regular,
    );
    let overridden: BTreeSet<&str> = layered
        .skills
        .overridden
        .iter()
        .map(String::as_str)
        .collect();
    files.retain(|f| {
        f.root != Root::Codex || skill_of(&f.path).is_none_or(|s| !overridden.contains(s))
    });
    for skill in skill_files(&layered.skills)? {
        files.push(DesiredFile {
            root: Root::Codex,
            path: skill.path,
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
    let Some(file) = files
        .iter()
        .find(|f| f.root == Root::Codex && f.path == path)
    else {
        return Ok(None);
    };
    let Source::Object(hash) = &file.source else {
        return Ok(None);
    };
    let bytes = store
        .read(hash)
        .map_err(|e| Error::io("read", store.root().join(hash), e))?;
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|_| Error::InvalidConfig {
            path: path.into(),
            reason: "the master's file is not UTF-8 text".into(),
        })
}

/// Makes the Codex-home file `path` hold `bytes` (added when the revision lacks it), or
/// drops it when `bytes` is `None`.
fn set_bytes(files: &mut Vec<DesiredFile>, path: &str, bytes: Option<&str>, class: FileClass) {
    let at = files
        .iter()
        .position(|f| f.root == Root::Codex && f.path == path);
    match (at, bytes) {
        (Some(i), Some(text)) => files[i].source = Source::Bytes(text.as_bytes().to_vec()),
        (None, Some(text)) => files.push(DesiredFile {
            root: Root::Codex,
            path: path.to_owned(),
            source: Source::Bytes(text.as_bytes().to_vec()),
            // Codex itself writes config.toml 0600.
            mode: 0o600,
            class,
        }),
        (Some(i), None) => {
            files.remove(i);
        }
        (None, None) => {}
    }
}
