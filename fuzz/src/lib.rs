//! Fuzzing of codexport's parsers of hostile input without cargo-fuzz (which needs nightly):
//! real valid seeds, a structure-aware mutator, and a loop that catches panics and saves the
//! input that caused each one. It owns the targets ([`targets::TARGETS`]) and the driver;
//! the code under test stays in `codexport-core` and `codexport-resolvers`. See
//! docs/fuzzing.md.

pub mod driver;
pub mod mutate;
pub mod targets;

pub use driver::{Crash, Report, fuzz, replay};
pub use targets::{TARGETS, Target, target};
