//! The `path` resolver: programs the follower is expected to have on PATH (`docker`, `git`).

mod infer;
mod resolve;

use super::{Builtin, InferFn, ResolveFn};
use crate::spec::PathSpec;

/// The `path` resolver.
#[derive(Debug, Default, Clone, Copy)]
pub struct PathResolver;

impl Builtin for PathResolver {
    type Spec = PathSpec;
    const INFER: InferFn = infer::infer;
    const RESOLVE: ResolveFn = resolve::resolve;

    fn summary(path: PathSpec) -> String {
        path.program
    }
}
