//! The resolvers built into codexport, one folder each: its master side (`infer.rs`), its
//! follower side (`resolve.rs`) and, in its `mod.rs`, the rest it knows as a [`Builtin`].

pub mod cargo;
pub mod github_release;
pub mod npm;
pub mod path;
mod resolve_common;
pub mod source;
pub mod url;
pub mod uv;

pub use cargo::CargoResolver;
pub use github_release::GithubReleaseResolver;
pub use npm::NpmResolver;
pub use path::PathResolver;
pub use source::SourceResolver;
pub use url::UrlResolver;
pub use uv::UvResolver;

use codexport_core::mcp::manifest::{ArtifactSpec, McpEntry};
use serde_json::{Map, Value};

use crate::spec::BuiltinSpec;
use crate::{Error, InferContext, Resolution, ResolveContext, Resolver};

/// A built-in's master side: the spec for an entry, or `None` when it is not its kind.
pub type InferFn = fn(&InferContext<'_>, &McpEntry) -> Result<Option<ArtifactSpec>, Error>;

/// A built-in's follower side: the plan that hydrates a spec.
pub type ResolveFn = fn(&ResolveContext, &McpEntry, &ArtifactSpec) -> Result<Resolution, Error>;

/// What one built-in resolver knows about its kind of artifact. Every `Builtin` is a
/// [`Resolver`] named after its [`Spec`](Builtin::Spec), through the one impl below.
pub trait Builtin: Send + Sync {
    /// The spec it writes on the master and reads on the follower.
    type Spec: BuiltinSpec;

    /// Its master side (`infer.rs`).
    const INFER: InferFn;

    /// Its follower side (`resolve.rs`).
    const RESOLVE: ResolveFn;

    /// Whether its entries run on the follower ([`Resolver::runs_locally`]).
    const RUNS_LOCALLY: bool = true;

    /// Fills in what a `[mcp.NAME]` hint may leave out, before its shape is checked, and
    /// returns the store objects the spec needs. By default the entry's `args`.
    fn complete_hint(
        &self,
        _cx: &InferContext<'_>,
        entry: &McpEntry,
        fields: &mut Map<String, Value>,
    ) -> Result<Vec<String>, Error> {
        args_from_entry(entry, fields);
        Ok(Vec::new())
    }

    /// One line describing `spec` for listings ([`Resolver::summary`]).
    fn summary(spec: Self::Spec) -> String;
}

impl<B: Builtin> Resolver for B {
    fn name(&self) -> &str {
        B::Spec::RESOLVER
    }

    fn infer(
        &self,
        cx: &InferContext<'_>,
        entry: &McpEntry,
    ) -> Result<Option<ArtifactSpec>, Error> {
        B::INFER(cx, entry)
    }

    fn resolve(
        &self,
        cx: &ResolveContext,
        entry: &McpEntry,
        spec: &ArtifactSpec,
    ) -> Result<Resolution, Error> {
        B::RESOLVE(cx, entry, spec)
    }

    fn spec_from_hint(
        &self,
        cx: &InferContext<'_>,
        entry: &McpEntry,
        mut fields: Map<String, Value>,
    ) -> Result<ArtifactSpec, Error> {
        let objects = self.complete_hint(cx, entry, &mut fields)?;
        // The hint's fields are the spec as written; the typed parse only checks its shape.
        let artifact = ArtifactSpec {
            resolver: B::Spec::RESOLVER.to_owned(),
            spec: Value::Object(fields),
            objects,
        };
        B::Spec::from_artifact(&entry.name, &artifact)?;
        Ok(artifact)
    }

    fn summary(&self, artifact: &ArtifactSpec) -> Option<String> {
        serde_json::from_value(artifact.spec.clone())
            .ok()
            .map(B::summary)
    }

    fn runs_locally(&self) -> bool {
        B::RUNS_LOCALLY
    }
}

/// The entry's `args` as the spec's, when the hint leaves them out.
fn args_from_entry(entry: &McpEntry, fields: &mut Map<String, Value>) {
    fields
        .entry("args")
        .or_insert_with(|| serde_json::json!(entry.args));
}

/// [`Error::BadSpec`] of `B` for `entry`.
pub(crate) fn bad_hint<B: Builtin>(entry: &McpEntry, reason: impl Into<String>) -> Error {
    Error::BadSpec {
        entry: entry.name.clone(),
        resolver: B::Spec::RESOLVER.to_owned(),
        reason: reason.into(),
    }
}
