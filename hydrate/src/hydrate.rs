//! Making an entry's artifact ready in-process: hydration under the artifact lock, and the
//! fallback to the last good artifact when the network fails.
//!
//! The hot check (is it ready?) is the launcher's ([`codexport_launcher::spec`]); only this
//! module builds the follower's registry (its plugins), an HTTP client or (with plugins) a
//! wasm engine.

use std::path::PathBuf;

use codexport_core::Homes;
use codexport_core::mcp::artifact::{last_good, remember_last_good};
use codexport_core::mcp::manifest::{ArtifactSpec, McpEntry};
use codexport_core::store::ObjectStore;
use codexport_launcher::spec::{artifact_spec, ready_now};
use codexport_resolvers::executor::{self, Executor, Outcome, Ready, Reporter};
use codexport_resolvers::{
    Error as ResolveError, GithubConfig, Mode, Platform, Resolution, ResolveContext, Resolver,
};

use crate::Error;

/// A hydrated artifact an entry can launch.
#[derive(Debug, Clone)]
pub struct ReadyArtifact {
    /// The artifact directory.
    pub dir: PathBuf,
    /// Its `.ready` marker.
    pub ready: Ready,
    /// Whether this call hydrated it, or found it ready.
    pub outcome: Outcome,
    /// `Some(reason)` when this is an older artifact used because the current one could not
    /// be hydrated.
    pub fallback: Option<String>,
}

/// Everything hydration needs, built once per command.
pub struct Hydrator<'h> {
    homes: &'h Homes,
    platform: Platform,
    reporter: Reporter,
    registry: codexport_resolvers::Registry,
}

impl<'h> Hydrator<'h> {
    /// A hydrator for `homes` on this host.
    pub fn new(homes: &'h Homes, platform: Platform, reporter: Reporter) -> Self {
        Self {
            homes,
            platform,
            reporter,
            // Installed plugins by file name; wasmtime starts only if a spec names one.
            registry: codexport_resolvers::wasm::follower_registry(homes, GithubConfig::from_env()),
        }
    }

    /// The host platform artifacts are resolved for.
    pub fn platform(&self) -> &Platform {
        &self.platform
    }

    fn context(&self, mode: Mode) -> ResolveContext {
        ResolveContext {
            homes: self.homes.clone(),
            platform: self.platform.clone(),
            mode,
            github: GithubConfig::from_env(),
            store: ObjectStore::new(self.homes.objects()),
            artifacts: self.homes.mcp_artifacts(),
        }
    }

    fn resolver(&self, entry: &McpEntry, name: &str) -> Result<&dyn Resolver, Error> {
        Ok(self.registry.require(&entry.name, name)?)
    }

    /// The artifact directory and plan of `entry` on this host, without running anything.
    pub fn plan(&self, entry: &McpEntry) -> Result<(PathBuf, Resolution), Error> {
        let spec = artifact_spec(entry)?;
        let resolver = self.resolver(entry, &spec.resolver)?;
        let resolution = resolver.resolve(&self.context(Mode::Online), entry, spec)?;
        let dir = executor::artifact_dir(&self.homes.mcp_artifacts(), spec, &self.platform);
        Ok((dir, resolution))
    }

    /// Makes `entry` launchable: its ready artifact, a fresh hydration, or (when the network
    /// fails) the last artifact that worked for it, with a warning on stderr.
    pub fn ensure_ready(&self, entry: &McpEntry) -> Result<ReadyArtifact, Error> {
        let spec = artifact_spec(entry)?;
        if let Some((dir, ready)) = ready_now(self.homes, spec, &self.platform) {
            remember_last_good(self.homes, &entry.name, &dir);
            return Ok(ReadyArtifact {
                dir,
                ready,
                outcome: Outcome::AlreadyReady,
                fallback: None,
            });
        }
        match self.hydrate(entry, spec) {
            Ok(artifact) => {
                remember_last_good(self.homes, &entry.name, &artifact.dir);
                Ok(artifact)
            }
            Err(Error::Resolve(
                err @ (ResolveError::Network { .. } | ResolveError::RateLimited { .. }),
            )) => match last_good(self.homes, &entry.name) {
                Some((dir, ready)) => {
                    self.reporter.warn(&format!(
                        "MCP `{}`: {err}; starting the previous artifact ({} {}) instead",
                        entry.name, ready.resolver, ready.version
                    ));
                    Ok(ReadyArtifact {
                        dir,
                        ready,
                        outcome: Outcome::AlreadyReady,
                        fallback: Some(err.to_string()),
                    })
                }
                None => Err(err.into()),
            },
            Err(err) => Err(err),
        }
    }

    fn hydrate(&self, entry: &McpEntry, spec: &ArtifactSpec) -> Result<ReadyArtifact, Error> {
        let dir = executor::artifact_dir(&self.homes.mcp_artifacts(), spec, &self.platform);
        let resolver = self.resolver(entry, &spec.resolver)?;
        self.reporter.status(&format!(
            "hydrating MCP `{}` ({})",
            entry.name, spec.resolver
        ));
        let resolution = resolver.resolve(&self.context(Mode::Online), entry, spec)?;
        let executor = Executor::new(ObjectStore::new(self.homes.objects()), self.reporter);
        let (ready, outcome) = executor.hydrate(&entry.name, &spec.resolver, &resolution, &dir)?;
        Ok(ReadyArtifact {
            dir,
            ready,
            outcome,
            fallback: None,
        })
    }
}
