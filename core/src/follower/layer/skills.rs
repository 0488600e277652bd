//! Layers skills: canonical skills plus `~/.codexport/skills/<name>` (follower-only), with
//! `~/.codexport/overrides/<name>` replacing a canonical skill when `allowSkillOverrides`
//! allows that name. A local skill named like a canonical one fails unless allowed the same
//! way: silent shadowing loses edits.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::settings::Overrides;

/// The folder of the Codex home that holds skills.
pub const SKILLS_DIR: &str = "skills";

/// Where each layered skill comes from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SkillPlan {
    /// `(name, source dir)` to copy to `skills/<name>` in the Codex home.
    pub local: Vec<(String, PathBuf)>,
    /// Canonical skills replaced by an override (their canonical files are not written).
    pub overridden: Vec<String>,
}

/// The canonical skill of a Codex-home-relative path (`skills/<name>/...`).
pub fn skill_of(rel_path: &str) -> Option<&str> {
    let rest = rel_path.strip_prefix("skills/")?;
    let name = rest.split('/').next()?;
    (!name.is_empty() && rest.len() > name.len()).then_some(name)
}

/// Plans the local skill layer. `local_names` and `override_names` are the folder names in
/// `skills_dir` and `overrides_dir`; `canonical` the canonical skill names.
pub fn plan_skills(
    canonical: &BTreeSet<String>,
    skills_dir: &Path,
    local_names: &BTreeSet<String>,
    overrides_dir: &Path,
    override_names: &BTreeSet<String>,
    allow_overrides: &Overrides,
    local_toml: &Path,
) -> Result<SkillPlan, Error> {
    let mut plan = SkillPlan::default();
    for name in local_names {
        if canonical.contains(name) {
            if allow_overrides.allows(name) {
                plan.overridden.push(name.clone());
                plan.local.push((name.clone(), skills_dir.join(name)));
                continue;
            }
            return Err(Error::OverlayClash {
                kind: "skill",
                name: name.clone(),
                layer: skills_dir.join(name),
                setting: "allowSkillOverrides",
                local_toml: local_toml.to_path_buf(),
            });
        }
        plan.local.push((name.clone(), skills_dir.join(name)));
    }
    for name in override_names {
        if !allow_overrides.allows(name) {
            return Err(Error::OverlayClash {
                kind: "skill",
                name: name.clone(),
                layer: overrides_dir.join(name),
                setting: "allowSkillOverrides",
                local_toml: local_toml.to_path_buf(),
            });
        }
        if local_names.contains(name) {
            return Err(Error::InvalidLayer {
                path: overrides_dir.join(name),
                reason: format!(
                    "skill `{name}` is both in `{}` and an override: keep one",
                    skills_dir.display()
                ),
            });
        }
        if canonical.contains(name) {
            plan.overridden.push(name.clone());
        }
        plan.local.push((name.clone(), overrides_dir.join(name)));
    }
    plan.local.sort();
    Ok(plan)
}

/// The folder names of `dir` (none when it does not exist); hidden ones are skipped.
pub fn folder_names(dir: &Path) -> Result<BTreeSet<String>, Error> {
    let read = match std::fs::read_dir(dir) {
        Ok(r) => r,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeSet::new()),
        Err(e) => return Err(Error::io("read", dir, e)),
    };
    let mut names = BTreeSet::new();
    for entry in read {
        let entry = entry.map_err(|e| Error::io("read", dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with('.') && entry.path().is_dir() {
            names.insert(name);
        }
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn local_skills_add_and_same_names_fail() {
        let (s, o, l) = (
            Path::new("/t/skills"),
            Path::new("/t/overrides"),
            Path::new("/t/local.toml"),
        );
        let plan = plan_skills(
            &set(&["a"]),
            s,
            &set(&["b"]),
            o,
            &set(&[]),
            &Overrides::None,
            l,
        )
        .unwrap();
        assert_eq!(plan.local, [("b".to_owned(), PathBuf::from("/t/skills/b"))]);
        let err = plan_skills(
            &set(&["a"]),
            s,
            &set(&["a"]),
            o,
            &set(&[]),
            &Overrides::None,
            l,
        )
        .unwrap_err();
        assert!(err.to_string().contains("allowSkillOverrides"), "{err}");
        let err = plan_skills(
            &set(&["a"]),
            s,
            &set(&[]),
            o,
            &set(&["a"]),
            &Overrides::None,
            l,
        )
        .unwrap_err();
        assert!(err.to_string().contains("`a`"), "{err}");
        let plan = plan_skills(
            &set(&["a"]),
            s,
            &set(&[]),
            o,
            &set(&["a"]),
            &Overrides::All,
            l,
        )
        .unwrap();
        assert_eq!(plan.overridden, ["a"]);
        assert_eq!(
            plan.local,
            [("a".to_owned(), PathBuf::from("/t/overrides/a"))]
        );
    }

    #[test]
    fn a_list_allows_the_names_in_it_from_either_folder() {
        let (s, o, l) = (
            Path::new("/t/skills"),
            Path::new("/t/overrides"),
            Path::new("/t/local.toml"),
        );
        let only_a = Overrides::Names(set(&["a"]));
        let plan =
            plan_skills(&set(&["a", "b"]), s, &set(&["a"]), o, &set(&[]), &only_a, l).unwrap();
        assert_eq!(plan.overridden, ["a"]);
        assert_eq!(plan.local, [("a".to_owned(), PathBuf::from("/t/skills/a"))]);
        let err =
            plan_skills(&set(&["a", "b"]), s, &set(&["b"]), o, &set(&[]), &only_a, l).unwrap_err();
        assert!(err.to_string().contains("skill `b`"), "{err}");
        let err =
            plan_skills(&set(&["a", "b"]), s, &set(&[]), o, &set(&["b"]), &only_a, l).unwrap_err();
        assert!(err.to_string().contains("skill `b`"), "{err}");
        let plan = plan_skills(&set(&["a"]), s, &set(&[]), o, &set(&["a"]), &only_a, l).unwrap();
        assert_eq!(
            plan.local,
            [("a".to_owned(), PathBuf::from("/t/overrides/a"))]
        );
    }

    #[test]
    fn skill_names_come_from_paths() {
        assert_eq!(skill_of("skills/a/SKILL.md"), Some("a"));
        assert_eq!(skill_of("skills/a"), None);
        assert_eq!(skill_of("rules/x"), None);
    }
}
