//! Reads a follower's layers from disk and runs every layer over the canonical files of a
//! revision: the one entry point the apply step calls.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use super::config::{ConfigInputs, generate};
use super::merge::{MergeNote, merge};
use super::rules::{DEFAULT_RULES, merge_rules};
use super::skills::{SkillPlan, folder_names, plan_skills};
use crate::Homes;
use crate::error::Error;
use crate::hooks::CanonicalHooks;
use crate::mcp::manifest::McpManifest;
use crate::settings::{LocalSettings, TomlFile};

/// The canonical inputs taken from the staged revision.
#[derive(Debug, Clone, Copy)]
pub struct Canonical<'a> {
    /// The revision's `config.toml`.
    pub config: Option<&'a str>,
    /// The revision's `rules/default.rules`.
    pub default_rules: Option<&'a str>,
    /// The revision's `hooks.json`.
    pub hooks_json: Option<&'a [u8]>,
    /// The names of the revision's skills (`skills/<name>/...`).
    pub skill_names: &'a BTreeSet<String>,
    /// The revision's MCP manifest.
    pub manifest: &'a McpManifest,
    /// The master's host, for loopback URL MCPs.
    pub master_host: Option<&'a str>,
}

/// Everything layering decided; the apply step writes it.
#[derive(Debug, Clone)]
pub struct Layered {
    /// The `config.toml` to write (generated, merged with local edits).
    pub config: Option<String>,
    /// The generated `config.toml` before the merge: the base of the next merge.
    pub generated_config: Option<String>,
    /// The `rules/default.rules` to write (canonical plus lines Codex appended here).
    pub default_rules: Option<String>,
    /// The `hooks.json` to write (the master's hooks for this machine, codexport's own
    /// hook kept when installed); `None` when there is no hook at all.
    pub hooks_json: Option<String>,
    /// Local and override skills.
    pub skills: SkillPlan,
    /// The follower's MCP manifest (canonical and local entries).
    pub manifest: McpManifest,
    /// What the config merge carried over or kept.
    pub notes: Vec<MergeNote>,
    /// Canonical MCPs that a `mcps.local.toml` table replaced.
    pub replaced_mcps: Vec<String>,
    /// The follower's settings this layering ran with.
    pub settings: LocalSettings,
}

/// Where the base of the config merge is kept.
pub fn config_base(homes: &Homes) -> PathBuf {
    homes.generated().join("config.toml")
}

/// Where the canonical rules of the last apply are kept.
pub fn rules_base(homes: &Homes) -> PathBuf {
    homes.generated().join(DEFAULT_RULES)
}

/// Runs every layer with `settings` (the follower's `local.toml`). Reads `mcps.local.toml`,
/// local skills and overrides, the Codex home's `config.toml`, `hooks.json` and
/// `rules/default.rules`, and the bases; writes nothing.
pub fn build(
    homes: &Homes,
    settings: &LocalSettings,
    canonical: Canonical<'_>,
) -> Result<Layered, Error> {
    // The hooks layer: the master's hooks for this machine, and the `[hooks.state]` trust
    // that goes with them (written into the generated config).
    let hooks = crate::hooks::for_apply(
        homes,
        settings,
        CanonicalHooks {
            config: canonical.config,
            hooks_json: canonical.hooks_json,
            master: &canonical.manifest.master,
        },
    )?;
    let overlay = TomlFile::codexport(homes.mcps_local_toml()).read_text()?;
    let generated = generate(&ConfigInputs {
        homes,
        settings,
        manifest: canonical.manifest,
        master_host: canonical.master_host,
        canonical: canonical.config,
        overlay: overlay.as_deref(),
        hooks: Some(&hooks),
    })?;
    let config_path = homes.codex_config();
    let (config, notes) = match &generated.config {
        Some(text) => {
            let current = TomlFile::codex(&config_path).read_text()?;
            let base = TomlFile::codexport(config_base(homes)).read_text()?;
            let merged = merge(base.as_deref(), text, current.as_deref(), &config_path)?;
            (Some(merged.text), merged.notes)
        }
        None => (None, Vec::new()),
    };
    let default_rules = match canonical.default_rules {
        Some(rules) => {
            let current = read_optional(&homes.codex.join(DEFAULT_RULES))?;
            let base = read_optional(&rules_base(homes))?;
            Some(merge_rules(base.as_deref(), rules, current.as_deref()))
        }
        None => None,
    };
    let skills = plan_skills(
        canonical.skill_names,
        &homes.local_skills(),
        &folder_names(&homes.local_skills())?,
        &homes.overrides(),
        &folder_names(&homes.overrides())?,
        &settings.allow_skill_overrides,
        &homes.local_toml(),
    )?;
    Ok(Layered {
        config,
        generated_config: generated.config,
        default_rules,
        hooks_json: hooks.hooks_json,
        skills,
        manifest: generated.manifest,
        notes,
        replaced_mcps: generated.replaced_mcps,
        settings: settings.clone(),
    })
}

/// One file of a local skill: its path in the Codex home, bytes and mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkillFile {
    /// `skills/<name>/...`, `/`-separated.
    pub path: String,
    /// The content.
    pub bytes: Vec<u8>,
    /// Permission bits.
    pub mode: u32,
}

/// Every regular file of the plan's local skills (symlinks and hidden files are skipped).
pub fn skill_files(plan: &SkillPlan) -> Result<Vec<SkillFile>, Error> {
    let mut out = Vec::new();
    for (name, dir) in &plan.local {
        for entry in walkdir::WalkDir::new(dir).min_depth(1).sort_by_file_name() {
            let entry = entry.map_err(|e| Error::io("read", dir, e.into()))?;
            if !entry.file_type().is_file() {
                continue;
            }
            let rel = entry.path().strip_prefix(dir).expect("inside");
            let parts: Vec<String> = rel
                .iter()
                .map(|p| p.to_string_lossy().into_owned())
                .collect();
            if parts.iter().any(|p| p.starts_with('.')) {
                continue;
            }
            let bytes = fs::read(entry.path()).map_err(|e| Error::io("read", entry.path(), e))?;
            let meta = entry
                .metadata()
                .map_err(|e| Error::io("read", entry.path(), e.into()))?;
            out.push(SkillFile {
                path: format!("{}/{name}/{}", super::skills::SKILLS_DIR, parts.join("/")),
                bytes,
                mode: crate::fsx::mode_of(&meta),
            });
        }
    }
    Ok(out)
}

/// A rules file's text (Starlark, not TOML), `None` when it does not exist.
pub(crate) fn read_optional(path: &Path) -> Result<Option<String>, Error> {
    crate::fsx::read_optional(path)?
        .map(|bytes| {
            String::from_utf8(bytes).map_err(|_| Error::InvalidLayer {
                path: path.to_path_buf(),
                reason: "not UTF-8 text".to_owned(),
            })
        })
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_layers_from_disk() {
        let tmp = tempfile::tempdir().unwrap();
        let homes = Homes::new(
            tmp.path(),
            tmp.path().join(".codex"),
            tmp.path().join(".codexport"),
        );
        fs::create_dir_all(homes.local_skills().join("mine/refs")).unwrap();
        fs::write(
            homes.local_skills().join("mine/SKILL.md"),
            "---\nname: mine\n---\n",
        )
        .unwrap();
        fs::write(homes.local_skills().join("mine/refs/a.md"), "a").unwrap();
        fs::write(
            homes.mcps_local_toml(),
            "[mcp_servers.loc]\ncommand = \"l\"\n",
        )
        .unwrap();
        fs::create_dir_all(homes.codex.join("rules")).unwrap();
        fs::write(
            homes.codex_config(),
            "[projects.\"/p\"]\ntrust_level = \"trusted\"\n",
        )
        .unwrap();
        fs::write(homes.codex.join(DEFAULT_RULES), "local()\n").unwrap();
        let manifest = McpManifest::default();
        let names = BTreeSet::from(["canon".to_owned()]);
        let layered = build(
            &homes,
            &LocalSettings::default(),
            Canonical {
                config: Some("model = \"m\"\n"),
                default_rules: Some("canon()\n"),
                hooks_json: None,
                skill_names: &names,
                manifest: &manifest,
                master_host: None,
            },
        )
        .unwrap();
        let config = layered.config.unwrap();
        assert!(config.contains("model = \"m\""), "{config}");
        assert!(config.contains("[projects.\"/p\"]"), "{config}");
        assert!(config.contains("[mcp_servers.loc]"), "{config}");
        assert!(!layered.generated_config.unwrap().contains("projects"));
        assert_eq!(layered.default_rules.unwrap(), "canon()\nlocal()\n");
        assert_eq!(layered.manifest.names(), ["loc"]);
        let files = skill_files(&layered.skills).unwrap();
        let paths: Vec<_> = files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, ["skills/mine/SKILL.md", "skills/mine/refs/a.md"]);

        fs::write(homes.codex_config(), "model = [\n").unwrap();
        let err = build(
            &homes,
            &LocalSettings::default(),
            Canonical {
                config: Some("model = \"m\"\n"),
                default_rules: None,
                hooks_json: None,
                skill_names: &names,
                manifest: &manifest,
                master_host: None,
            },
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "`{}:1:10` is not valid TOML: unclosed array, expected `]`",
                homes.codex_config().display(),
            )
        );
    }
}
