//! The `npm` resolver: npm packages: exact version, run from `node_modules/.bin`.

mod infer;
mod resolve;

use super::{Builtin, InferFn, ResolveFn};
use crate::spec::NpmSpec;

/// The `npm` resolver.
#[derive(Debug, Default, Clone, Copy)]
pub struct NpmResolver;

impl Builtin for NpmResolver {
    type Spec = NpmSpec;
    const INFER: InferFn = infer::infer;
    const RESOLVE: ResolveFn = resolve::resolve;

    fn summary(npm: NpmSpec) -> String {
        let run = npm.script.unwrap_or(npm.bin);
        format!("{}@{} ({run})", npm.package, npm.version)
    }
}
