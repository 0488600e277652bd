//! The ordered resolver registry: its order is the priority (wasm plugins first, then the
//! built-ins), the first resolver that recognises an entry wins, and hints from
//! `master.toml` replace inference for one entry.

use codexport_core::mcp::manifest::{Artifact, ArtifactSpec, McpEntry};
use codexport_core::suggest::known_list;

use crate::builtin::{
    CargoResolver, GithubReleaseResolver, NpmResolver, PathResolver, SourceResolver, UrlResolver,
    UvResolver,
};
use crate::hints::McpHint;
use crate::{Error, InferContext, Resolver};

/// Resolvers in priority order.
pub struct Registry {
    resolvers: Vec<Box<dyn Resolver>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.names()).finish()
    }
}

impl Default for Registry {
    fn default() -> Self {
        Self::builtin()
    }
}

impl Registry {
    /// The built-ins, most specific first: `url`, `npm`, `uv`, `cargo`, `source`,
    /// `github-release` (hints only), and `path` last (it accepts any system program).
    pub fn builtin() -> Self {
        Self {
            resolvers: vec![
                Box::new(UrlResolver),
                Box::new(NpmResolver),
                Box::new(UvResolver),
                Box::new(CargoResolver),
                Box::new(SourceResolver),
                Box::new(GithubReleaseResolver),
                Box::new(PathResolver),
            ],
        }
    }

    /// `plugins` (highest priority first) ahead of the built-ins.
    pub fn with_plugins(plugins: Vec<Box<dyn Resolver>>) -> Self {
        let mut registry = Self::builtin();
        for plugin in plugins.into_iter().rev() {
            registry.push_front(plugin);
        }
        registry
    }

    /// Puts `resolver` ahead of every registered one. A resolver with a name already
    /// registered replaces it (a plugin may shadow a built-in).
    pub fn push_front(&mut self, resolver: Box<dyn Resolver>) {
        self.resolvers.retain(|r| r.name() != resolver.name());
        self.resolvers.insert(0, resolver);
    }

    /// Names in priority order.
    pub fn names(&self) -> Vec<&str> {
        self.resolvers.iter().map(|r| r.name()).collect()
    }

    /// The resolver called `name`.
    pub fn get(&self, name: &str) -> Option<&dyn Resolver> {
        self.resolvers
            .iter()
            .find(|r| r.name() == name)
            .map(|r| &**r)
    }

    /// The resolver called `name`, or [`Error::UnknownResolver`] listing the known ones
    /// (closest first).
    pub fn require(&self, entry: &str, name: &str) -> Result<&dyn Resolver, Error> {
        self.get(name).ok_or_else(|| Error::UnknownResolver {
            entry: entry.to_owned(),
            resolver: name.to_owned(),
            known: known_list(name, self.names()),
        })
    }

    /// Master side: the artifact of `entry`. The first resolver that answers wins; one that
    /// fails is logged by name and the next is asked. When none answers, the entry is
    /// [`Artifact::Unresolved`] with every failure in the reason and a `[mcp.NAME]` hint.
    pub fn infer(&self, cx: &InferContext<'_>, entry: &McpEntry) -> Artifact {
        let mut failures: Vec<(String, Error)> = Vec::new();
        for resolver in &self.resolvers {
            match resolver.infer(cx, entry) {
                Ok(Some(spec)) => {
                    tracing::debug!(entry = %entry.name, resolver = resolver.name(), "inferred");
                    return Artifact::Resolved(spec);
                }
                Ok(None) => {}
                Err(err) => {
                    tracing::warn!(entry = %entry.name, resolver = resolver.name(), error = %err, "inference failed; trying the next resolver");
                    failures.push((resolver.name().to_owned(), err));
                }
            }
        }
        unresolved(cx, entry, &failures)
    }

    /// Master side: the artifact a `[mcp.NAME]` hint describes, as its resolver completes
    /// and checks it ([`Resolver::spec_from_hint`]); a spec of the wrong shape names the hint.
    pub fn apply_hint(
        &self,
        cx: &InferContext<'_>,
        entry: &McpEntry,
        hint: &McpHint,
    ) -> Result<ArtifactSpec, Error> {
        let resolver = self.require(&entry.name, &hint.resolver)?;
        resolver
            .spec_from_hint(cx, entry, hint.fields.clone())
            .map_err(|err| match err {
                Error::BadSpec {
                    entry: name,
                    resolver,
                    reason,
                } => Error::BadSpec {
                    reason: format!("{reason} (from `[mcp.{name}]` in master.toml)"),
                    entry: name,
                    resolver,
                },
                other => other,
            })
    }

    /// One line describing `artifact` for listings (`@scope/p@1.2.3 (p)`, `node dist/index.js
    /// from /src/p`); a spec that does not parse, or one no resolver here describes, shows as
    /// compact JSON.
    pub fn summary(&self, artifact: &ArtifactSpec) -> String {
        self.get(&artifact.resolver)
            .and_then(|r| r.summary(artifact))
            .unwrap_or_else(|| artifact.spec.to_string())
    }

    /// Whether `artifact` runs on this machine ([`Resolver::runs_locally`]); one of a resolver
    /// not registered here counts as local (resolving it names the missing resolver).
    pub fn runs_locally(&self, artifact: &ArtifactSpec) -> bool {
        self.get(&artifact.resolver)
            .is_none_or(|r| r.runs_locally())
    }
}

fn unresolved(cx: &InferContext<'_>, entry: &McpEntry, failures: &[(String, Error)]) -> Artifact {
    let what = match (&entry.command, &entry.url) {
        (Some(command), _) => format!("command `{command}`"),
        (None, Some(url)) => format!("url `{url}`"),
        (None, None) => "entry".to_owned(),
    };
    let reason = if failures.is_empty() {
        match missing(cx, entry) {
            Some(missing) => format!("no resolver recognised the {what}: {missing}"),
            None => format!("no resolver recognised the {what}"),
        }
    } else {
        failures
            .iter()
            .map(|(name, err)| format!("{name}: {err}"))
            .collect::<Vec<_>>()
            .join("; ")
    };
    let specific = failures.iter().find_map(|(_, err)| match err {
        Error::Inference { hint, .. } => Some(hint.clone()),
        _ => None,
    });
    let hint = specific.unwrap_or_else(|| {
        format!(
            "add `[mcp.{name}]` to `{}` naming a resolver and its spec, e.g. `resolver = \"github-release\"`, `repo = \"OWNER/REPO\"`, `tag = \"v1.0.0\"`, `asset = \"NAME-{{triple}}.tar.gz\"`, `bin = \"NAME\"` (or `resolver = \"path\"`, `program = \"NAME\"` for a program every follower has)",
            cx.homes.master_toml().display(),
            name = entry.name
        )
    });
    Artifact::Unresolved { reason, hint }
}

/// What the master itself lacks for `entry`: a program that is not there, or an absolute
/// path argument that does not exist (the usual reason nothing recognises a command).
fn missing(cx: &InferContext<'_>, entry: &McpEntry) -> Option<String> {
    let command = entry.command.as_deref()?;
    if crate::ecosystem::locate(cx, entry, command).is_none() {
        return Some(if command.contains(['/', '\\']) {
            format!("`{command}` does not exist on the master")
        } else {
            format!("`{command}` is not on the master's PATH")
        });
    }
    entry
        .args
        .iter()
        .find(|arg| std::path::Path::new(arg).is_absolute() && !std::path::Path::new(arg).exists())
        .map(|arg| format!("`{arg}` does not exist on the master"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ecosystem::test_support::{Master, stdio_entry};
    use crate::pack;
    use crate::spec::{BuiltinSpec, GithubReleaseSpec, SourceSpec};
    use crate::{Resolution, ResolveContext};

    #[test]
    fn the_launchers_remote_list_is_the_builtins_that_run_nowhere() {
        // The launcher decides "nothing to run here" by this list, without the resolvers.
        let builtins = Registry::builtin();
        let remote: Vec<&str> = builtins
            .names()
            .into_iter()
            .filter(|name| !builtins.get(name).unwrap().runs_locally())
            .collect();
        assert_eq!(remote, codexport_core::mcp::artifact::REMOTE_RESOLVERS);
    }

    struct Fixed(&'static str, Result<Option<()>, ()>);

    impl Resolver for Fixed {
        fn name(&self) -> &str {
            self.0
        }
        fn infer(
            &self,
            _: &InferContext<'_>,
            entry: &McpEntry,
        ) -> Result<Option<ArtifactSpec>, Error> {
            match self.1 {
                Ok(Some(())) => Ok(Some(ArtifactSpec {
                    resolver: self.0.into(),
                    spec: serde_json::json!({}),
                    objects: vec![],
                })),
                Ok(None) => Ok(None),
                Err(()) => Err(Error::Inference {
                    entry: entry.name.clone(),
                    reason: "broken receipt".into(),
                    hint: "reinstall it".into(),
                }),
            }
        }
        fn resolve(
            &self,
            _: &ResolveContext,
            _: &McpEntry,
            _: &ArtifactSpec,
        ) -> Result<Resolution, Error> {
            unreachable!("inference tests never resolve")
        }
    }

    #[test]
    fn plugins_come_first_and_shadow_builtins_of_the_same_name() {
        let registry = Registry::with_plugins(vec![
            Box::new(Fixed("fff", Ok(None))),
            Box::new(Fixed("path", Ok(None))),
        ]);
        assert_eq!(
            registry.names(),
            [
                "fff",
                "path",
                "url",
                "npm",
                "uv",
                "cargo",
                "source",
                "github-release"
            ]
        );
    }

    #[test]
    fn a_failing_resolver_is_skipped_and_its_failure_kept_when_nothing_answers() {
        let tmp = tempfile::tempdir().unwrap();
        let master = Master::new(tmp.path());
        let entry = stdio_entry("srv", "/nowhere/srv", &[]);
        let mut registry = Registry::builtin();
        registry.push_front(Box::new(Fixed("late", Ok(Some(())))));
        registry.push_front(Box::new(Fixed("broken", Err(()))));
        assert!(
            matches!(registry.infer(&master.cx(), &entry), Artifact::Resolved(s) if s.resolver == "late")
        );
        let mut registry = Registry::builtin();
        registry.push_front(Box::new(Fixed("broken", Err(()))));
        let Artifact::Unresolved { reason, hint } = registry.infer(&master.cx(), &entry) else {
            panic!("nothing should resolve /nowhere/srv");
        };
        assert_eq!(reason, "broken: MCP `srv`: broken receipt");
        assert_eq!(hint, "reinstall it");
        let Artifact::Unresolved { reason, hint } = Registry::builtin().infer(&master.cx(), &entry)
        else {
            panic!();
        };
        assert_eq!(
            reason,
            "no resolver recognised the command `/nowhere/srv`: `/nowhere/srv` does not exist on the master"
        );
        assert!(hint.starts_with("add `[mcp.srv]` to `"), "{hint}");
        assert!(hint.contains("master.toml` naming a resolver"), "{hint}");
    }

    #[test]
    fn unknown_resolvers_list_the_closest_first() {
        let err = Registry::builtin()
            .require("e", "github")
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("(known: github-release, "), "{err}");
    }

    #[test]
    #[cfg_attr(
        windows,
        ignore = "the test writes a Windows path into a TOML basic string, where `\\` escapes (resolvers on Windows are issue 12)"
    )]
    fn hints_are_completed_and_checked() {
        let tmp = tempfile::tempdir().unwrap();
        let master = Master::new(tmp.path());
        let registry = Registry::builtin();
        let entry = stdio_entry("fff", "/home/a/.local/bin/fff-mcp", &["--stdio"]);
        let hint =
            |toml: &str| crate::hints::InferSettings::from_toml(toml).unwrap().hints["fff"].clone();
        let spec = registry
            .apply_hint(
                &master.cx(),
                &entry,
                &hint("[mcp.fff]\nresolver = \"github-release\"\nrepo = \"o/fff\"\ntag = \"v1\"\nasset = \"fff-mcp-{triple}\"\nbin = \"fff-mcp\"\n"),
            )
            .unwrap();
        assert_eq!(
            GithubReleaseSpec::from_artifact("fff", &spec).unwrap(),
            GithubReleaseSpec {
                repo: "o/fff".into(),
                tag: Some("v1".into()),
                asset: Some("fff-mcp-{triple}".into()),
                bin: "fff-mcp".into(),
                args: vec!["--stdio".into()],
            }
        );
        let err = registry
            .apply_hint(
                &master.cx(),
                &entry,
                &hint("[mcp.fff]\nresolver = \"github-release\"\nrepo = \"o/fff\"\n"),
            )
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "MCP `fff`: invalid `github-release` spec: missing field `bin` (from `[mcp.fff]` in master.toml)"
        );
        let proj = tmp.path().join("proj");
        std::fs::create_dir_all(proj.join("dist")).unwrap();
        std::fs::write(proj.join("dist/main.js"), "").unwrap();
        let source = registry
            .apply_hint(
                &master.cx(),
                &entry,
                &hint(&format!(
                    "[mcp.fff]\nresolver = \"source\"\nkind = \"node\"\nroot = \"{}\"\nentry = \"dist/main.js\"\n",
                    proj.display()
                )),
            )
            .unwrap();
        let spec = SourceSpec::from_artifact("fff", &source).unwrap();
        assert_eq!(source.objects, [spec.object.as_str()]);
        assert!(
            pack::list(&master.store.read(&spec.object).unwrap())
                .iter()
                .any(|(p, _)| p == "dist/main.js")
        );
    }
}
