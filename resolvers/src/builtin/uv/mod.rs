//! The `uv` resolver: uv tools from PyPI or a URL: exact version, run from the tool's own `bin/`.

mod infer;
mod resolve;

use super::{Builtin, InferFn, ResolveFn};
use crate::spec::UvSpec;

/// The `uv` resolver.
#[derive(Debug, Default, Clone, Copy)]
pub struct UvResolver;

impl Builtin for UvResolver {
    type Spec = UvSpec;
    const INFER: InferFn = infer::infer;
    const RESOLVE: ResolveFn = resolve::resolve;

    fn summary(uv: UvSpec) -> String {
        format!("{} ({})", uv.from, uv.bin)
    }
}
