//! Making an entry's artifact ready: the hot check (no resolver involved), hydration under
//! the artifact lock, and the fallback to the last good artifact when the network fails.
//!
//! Only the functions past [`ready_now`] build the follower's registry (its plugins), an HTTP
//! client or (with plugins) a wasm engine; the launcher's hot path calls [`ready_now`] alone
//! (and [`artifact_spec`], which asks only the built-ins).

use std::path::{Path, PathBuf};

use codexport_core::Homes;
use codexport_core::mcp::manifest::{Artifact, ArtifactSpec, McpEntry, Transport};
use codexport_core::store::ObjectStore;
use codexport_resolvers::executor::{self, Executor, Outcome, Ready, Reporter};
use codexport_resolvers::registry::Registry;
use codexport_resolvers::{
    Error as ResolveError, GithubConfig, Mode, Platform, Resolution, ResolveContext, Resolver,
};
use serde::{Deserialize, Serialize};

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

/// The entry's artifact spec, or why it has nothing to launch.
pub fn artifact_spec(entry: &McpEntry) -> Result<&ArtifactSpec, Error> {
    match &entry.artifact {
        Artifact::Unresolved { reason, hint } => Err(ResolveError::Unresolved {
            entry: entry.name.clone(),
            reason: reason.clone(),
            hint: hint.clone(),
        }
        .into()),
        Artifact::Resolved(spec)
            if entry.transport == Transport::Http || !Registry::builtin().runs_locally(spec) =>
        {
            Err(ResolveError::NothingToRun {
                entry: entry.name.clone(),
                url: entry.url.clone().unwrap_or_default(),
            }
            .into())
        }
        Artifact::Direct => Err(ResolveError::Unresolved {
            entry: entry.name.clone(),
            reason: "the master routes it `direct`: Codex runs its own command, nothing is hydrated"
                .to_owned(),
            hint: format!(
                "nothing to do; to hydrate it, drop `route = \"direct\"` from `[mcp.{}]` in the master's `master.toml`",
                entry.name
            ),
        }
        .into()),
        Artifact::Resolved(spec) => Ok(spec),
    }
}

/// The hot path: the artifact directory and its marker when it is hydrated and its program
/// is still there. Reads two small files; resolves nothing.
pub fn ready_now(
    homes: &Homes,
    spec: &ArtifactSpec,
    platform: &Platform,
) -> Option<(PathBuf, Ready)> {
    let dir = executor::artifact_dir(&homes.mcp_artifacts(), spec, platform);
    executor::read_launchable(&dir).map(|ready| (dir, ready))
}

/// Everything hydration needs, built once per command.
pub struct Hydrator<'h> {
    homes: &'h Homes,
    platform: Platform,
    reporter: Reporter,
    registry: Registry,
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
            self.remember(entry, &dir);
            return Ok(ReadyArtifact {
                dir,
                ready,
                outcome: Outcome::AlreadyReady,
                fallback: None,
            });
        }
        match self.hydrate(entry, spec) {
            Ok(artifact) => {
                self.remember(entry, &artifact.dir);
                Ok(artifact)
            }
            Err(Error::Resolve(
                err @ (ResolveError::Network { .. } | ResolveError::RateLimited { .. }),
            )) => match self.last_good(entry) {
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

    fn last_good_file(&self, entry: &McpEntry) -> PathBuf {
        let safe = entry
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_".contains(c));
        let file = if safe && !entry.name.is_empty() {
            entry.name.clone()
        } else {
            codexport_core::store::sha256_hex(entry.name.as_bytes())[..32].to_owned()
        };
        self.homes
            .mcp_artifacts()
            .join(".last-good")
            .join(format!("{file}.json"))
    }

    /// Records `dir` as the artifact that last worked for `entry`.
    fn remember(&self, entry: &McpEntry, dir: &Path) {
        let record = LastGood {
            dir: dir.to_path_buf(),
        };
        let path = self.last_good_file(entry);
        if std::fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice::<LastGood>(&b).ok())
            .is_some_and(|old| old == record)
        {
            return;
        }
        let bytes = serde_json::to_vec(&record).expect("LastGood serialises");
        // Only the fallback needs it; failing to record it must not fail a launch.
        let _ = codexport_core::fsx::write_atomic(&path, &bytes, None);
    }

    fn last_good(&self, entry: &McpEntry) -> Option<(PathBuf, Ready)> {
        let bytes = std::fs::read(self.last_good_file(entry)).ok()?;
        let record: LastGood = serde_json::from_slice(&bytes).ok()?;
        // Only a directory inside this tool home's artifacts is trusted.
        if !record.dir.starts_with(self.homes.mcp_artifacts()) {
            return None;
        }
        let ready = executor::read_launchable(&record.dir)?;
        Some((record.dir, ready))
    }
}

/// The artifact that last worked for an entry.
#[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
struct LastGood {
    dir: PathBuf,
}
