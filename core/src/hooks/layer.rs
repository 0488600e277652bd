//! The hooks layer of an apply: the follower's `hooks.json` (the master's hooks with paths
//! rewritten, plus codexport's own hook when installed) and the `[hooks.state]` entries that
//! go with it: one step of layering ([`crate::follower::layer::build`]).

use std::path::{Path, PathBuf};

use toml_edit::DocumentMut;

use super::carry::{HookTrust, carry_master_trust, master_hooks_for_follower};
use super::file::{EVENT_SESSION_START, HooksFile, OurHook};
use super::trust::{HookState, handler_hash, remove_state, set_state, trust_home, trust_key};
use crate::Homes;
use crate::error::Error;
use crate::mcp::manifest::MasterPaths;
use crate::pathmap::PathMap;
use crate::settings::{LocalSettings, TomlOwner, parse_document};

/// What the hooks layer decided for one apply.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HooksLayer {
    /// The `hooks.json` to write; `None` when there is no hook at all (nothing to write).
    pub hooks_json: Option<String>,
    /// Root keys of the master's `hooks.json` that were dropped (Codex would ignore the file).
    pub dropped_root_keys: Vec<String>,
    /// The master's trust keys as path rewriting turns them (removed from the config).
    stale_keys: Vec<String>,
    /// Trust carried from the master.
    trust: HookTrust,
    /// codexport's own hook's trust entry.
    ours: Option<(String, HookState)>,
}

/// Inputs of [`layer_hooks`] taken from the revision.
#[derive(Debug, Clone, Copy)]
pub struct CanonicalHooks<'a> {
    /// The revision's `config.toml` text.
    pub config: Option<&'a str>,
    /// The revision's `hooks.json` bytes.
    pub hooks_json: Option<&'a [u8]>,
    /// The master's paths (from the revision's manifest).
    pub master: &'a MasterPaths,
}

/// Builds the follower's hooks: the master's rewritten by `map`, trust carried to
/// `follower_codex_realpath`, and `ours` put in when the hook is installed here.
pub fn layer_hooks(
    canonical: CanonicalHooks<'_>,
    map: &PathMap,
    follower_codex_realpath: &Path,
    ours: Option<&OurHook>,
) -> Result<HooksLayer, Error> {
    let revision_path = PathBuf::from("hooks.json (master revision)");
    let parsed = match canonical.hooks_json {
        Some(bytes) => HooksFile::parse(bytes, &revision_path)?,
        None => Default::default(),
    };
    let master = parsed.file;
    let mut follower = master_hooks_for_follower(&master, map)?;
    let trust = match canonical.config {
        Some(text) => {
            let revision_config = Path::new("config.toml (master revision)");
            let doc = parse_document(text, revision_config, TomlOwner::Codexport)?;
            carry_master_trust(
                &doc,
                &master,
                &canonical.master.codex_home,
                &follower,
                follower_codex_realpath,
            )
        }
        None => HookTrust::default(),
    };
    let stale_keys = trust
        .master_keys
        .iter()
        .map(|key| map.rewrite(key))
        .collect::<Result<_, _>>()?;
    let ours = ours.map(|hook| {
        let (g, h) = follower.install(hook);
        let group = &follower.groups(EVENT_SESSION_START)[g];
        let state = HookState {
            trusted_hash: handler_hash(
                EVENT_SESSION_START,
                group.matcher.as_deref(),
                &group.hooks[h],
            ),
            enabled: None,
        };
        (
            trust_key(follower_codex_realpath, EVENT_SESSION_START, g, h),
            state,
        )
    });
    let hooks_json =
        (canonical.hooks_json.is_some() || !follower.is_empty()).then(|| follower.to_json());
    Ok(HooksLayer {
        hooks_json,
        dropped_root_keys: parsed.dropped_root_keys,
        stale_keys,
        trust,
        ours,
    })
}

/// The hooks layer of an apply on `homes`: paths mapped with `local.toml`'s
/// `[pathVariables]`, trust keyed on the real Codex home, and codexport's hook put in when
/// `[hook] installed` says so (the one in the current `hooks.json` when there is one, so the
/// binary the user installed stays; else this very binary).
pub fn for_apply(
    homes: &Homes,
    settings: &LocalSettings,
    canonical: CanonicalHooks<'_>,
) -> Result<HooksLayer, Error> {
    let map = PathMap::new(canonical.master, homes, &settings.path_variables);
    let ours = if settings.hook.installed {
        Some(installed_hook(homes, settings)?)
    } else {
        None
    };
    let mut layer = layer_hooks(canonical, &map, &trust_home(homes), ours.as_ref())?;
    if !settings.trusts_master_hooks() {
        // `trustMasterHooks = false`: the master's hooks arrive, its trust does not (its keys
        // are still removed, so none is trusted under a rewritten key either).
        layer.trust.entries.clear();
    }
    Ok(layer)
}

/// codexport's hook as it stands in the Codex home, or a fresh one for this binary.
fn installed_hook(homes: &Homes, settings: &LocalSettings) -> Result<OurHook, Error> {
    let current = HooksFile::read(&homes.hooks_json())
        .map(|parsed| parsed.file)
        .unwrap_or_default();
    if let Some((g, h)) = current.find_ours()
        && let Some(hook) = OurHook::from_handler(&current.groups(EVENT_SESSION_START)[g].hooks[h])
    {
        return Ok(hook);
    }
    // The installed copy, not this binary's own path (npm's cache, a cargo target dir).
    let exe = homes.codexport();
    if !exe.is_file() {
        crate::binaries::install(homes).map_err(|e| Error::io("install", &exe, e))?;
    }
    Ok(OurHook::for_homes(&exe, settings.hook.budget(), homes))
}

impl HooksLayer {
    /// Writes this layer's `[hooks.state]` into the generated config: the master's entries
    /// keyed and hashed for this follower (its own keys removed), and codexport's hook's.
    pub fn write_trust(&self, doc: &mut DocumentMut) {
        for key in &self.stale_keys {
            remove_state(doc, key);
        }
        self.trust.write(doc);
        if let Some((key, state)) = &self.ours {
            set_state(doc, key, state);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::follower::layer::paths::{Direction, rewrite_document};
    use crate::hooks::read_states;

    const HOOKS: &str = r#"{"hooks": {"Stop": [{"hooks": [
        {"type": "command", "command": "/home/al/.codex/hooks/stop.sh"}]}]}}"#;

    fn master() -> MasterPaths {
        MasterPaths {
            os: "linux".into(),
            home: "/home/al".into(),
            codex_home: "/home/al/.codex".into(),
        }
    }

    /// The master's config trusting its Stop hook with the master's real hash.
    fn master_config() -> String {
        let hooks = HooksFile::parse(HOOKS.as_bytes(), Path::new("h"))
            .unwrap()
            .file;
        let mut doc: DocumentMut = "model = \"o3\"\n".parse().unwrap();
        set_state(
            &mut doc,
            "/home/al/.codex/hooks.json:stop:0:0",
            &HookState {
                trusted_hash: handler_hash("Stop", None, &hooks.groups("Stop")[0].hooks[0]),
                enabled: None,
            },
        );
        doc.to_string()
    }

    #[test]
    fn the_generated_config_trusts_the_rewritten_master_hook_and_ours() {
        // The follower is this machine: a Windows one when the tests run there (under wine).
        let (bo, real) = if cfg!(windows) {
            (r"C:\Users\bo", r"C:\real\bo\.codex")
        } else {
            ("/home/bo", "/real/bo/.codex")
        };
        let homes = Homes::new(
            bo,
            Path::new(bo).join(".codex"),
            Path::new(bo).join(".codexport"),
        );
        let map = PathMap::new(&master(), &homes, &BTreeMap::new());
        let config = master_config();
        let ours = OurHook::new(Path::new("/usr/bin/codexport"), 2, None);
        let layer = layer_hooks(
            CanonicalHooks {
                config: Some(&config),
                hooks_json: Some(HOOKS.as_bytes()),
                master: &master(),
            },
            &map,
            Path::new(real),
            Some(&ours),
        )
        .unwrap();

        // What the pipeline does: rewrite paths, then run the transform.
        let mut doc: DocumentMut = config.parse().unwrap();
        rewrite_document(&mut doc, &map, Direction::MasterToFollower).unwrap();
        layer.write_trust(&mut doc);
        let states = read_states(&doc);
        let keys: Vec<&str> = states.keys().map(String::as_str).collect();
        let (start_key, stop_key) = if cfg!(windows) {
            (
                r"C:\real\bo\.codex\hooks.json:session_start:0:0",
                r"C:\real\bo\.codex\hooks.json:stop:0:0",
            )
        } else {
            (
                "/real/bo/.codex/hooks.json:session_start:0:0",
                "/real/bo/.codex/hooks.json:stop:0:0",
            )
        };
        assert_eq!(
            keys,
            [start_key, stop_key],
            "the rewritten master key is gone: {doc}"
        );

        let written = HooksFile::parse(
            layer.hooks_json.as_deref().unwrap().as_bytes(),
            Path::new("h"),
        )
        .unwrap()
        .file;
        let stop = &written.groups("Stop")[0].hooks[0];
        let stop_sh = if cfg!(windows) {
            r"C:\Users\bo\.codex\hooks\stop.sh"
        } else {
            "/home/bo/.codex/hooks/stop.sh"
        };
        assert_eq!(stop.command.as_deref(), Some(stop_sh));
        assert_eq!(
            states[stop_key].trusted_hash,
            handler_hash("Stop", None, stop)
        );
        assert_eq!(written.find_ours(), Some((0, 0)));
    }

    #[test]
    fn nothing_to_write_without_hooks_and_only_ours_when_installed() {
        let homes = Homes::new("/home/bo", "/home/bo/.codex", "/home/bo/.codexport");
        let map = PathMap::for_os(&master(), &homes, &BTreeMap::new(), "linux");
        let canonical = CanonicalHooks {
            config: Some("model = \"o3\"\n"),
            hooks_json: None,
            master: &master(),
        };
        let none = layer_hooks(canonical, &map, Path::new("/r"), None).unwrap();
        assert_eq!(none.hooks_json, None);
        let ours = OurHook::new(Path::new("/usr/bin/codexport"), 2, None);
        let only = layer_hooks(canonical, &map, Path::new("/r"), Some(&ours)).unwrap();
        let file = HooksFile::parse(only.hooks_json.unwrap().as_bytes(), Path::new("h"))
            .unwrap()
            .file;
        assert_eq!(file.groups(EVENT_SESSION_START), [ours.group()]);
    }

    #[test]
    fn an_apply_keeps_the_installed_hook_and_adds_it_only_when_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let user = dir.path();
        let homes = Homes::new(user, user.join(".codex"), user.join(".codexport"));
        let config = master_config();
        let canonical = CanonicalHooks {
            config: Some(&config),
            hooks_json: Some(HOOKS.as_bytes()),
            master: &master(),
        };
        let mut settings = LocalSettings::default();
        let without = for_apply(&homes, &settings, canonical).unwrap();
        let file = HooksFile::parse(without.hooks_json.unwrap().as_bytes(), Path::new("h"));
        assert_eq!(file.unwrap().file.find_ours(), None, "not installed here");

        let installed = OurHook::new(Path::new("/opt/codexport"), 4, None);
        crate::hooks::install(&homes, &installed).unwrap();
        settings.hook.installed = true;
        let with = for_apply(&homes, &settings, canonical).unwrap();
        let file = HooksFile::parse(with.hooks_json.unwrap().as_bytes(), Path::new("h"))
            .unwrap()
            .file;
        let (g, h) = file.find_ours().unwrap();
        assert_eq!(
            OurHook::from_handler(&file.groups(EVENT_SESSION_START)[g].hooks[h]),
            Some(installed),
            "the binary the user installed stays"
        );
    }

    #[test]
    fn a_broken_master_hooks_file_fails_the_layer() {
        let homes = Homes::new("/home/bo", "/home/bo/.codex", "/home/bo/.codexport");
        let map = PathMap::for_os(&master(), &homes, &BTreeMap::new(), "linux");
        let err = layer_hooks(
            CanonicalHooks {
                config: None,
                hooks_json: Some(b"[1]"),
                master: &master(),
            },
            &map,
            Path::new("/r"),
            None,
        )
        .unwrap_err();
        assert!(matches!(err, Error::InvalidHooks { .. }), "{err}");
    }
}
