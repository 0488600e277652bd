//! The `cargo` resolver: crates installed with `cargo install` (registry version or git rev).

mod infer;
mod resolve;

use super::{Builtin, InferFn, ResolveFn};
use crate::spec::CargoSpec;

/// The `cargo` resolver.
#[derive(Debug, Default, Clone, Copy)]
pub struct CargoResolver;

impl Builtin for CargoResolver {
    type Spec = CargoSpec;
    const INFER: InferFn = infer::infer;
    const RESOLVE: ResolveFn = resolve::resolve;

    fn summary(cargo: CargoSpec) -> String {
        match (cargo.git, cargo.version) {
            (Some(git), _) => format!(
                "{} from {git}@{} ({})",
                cargo.crate_name,
                cargo.rev.as_deref().unwrap_or("HEAD"),
                cargo.bin
            ),
            (None, version) => format!(
                "{}@{} ({})",
                cargo.crate_name,
                version.as_deref().unwrap_or("*"),
                cargo.bin
            ),
        }
    }
}
