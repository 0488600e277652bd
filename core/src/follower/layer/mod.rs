//! Follower layering: the files an apply writes are the canonical revision plus this
//! follower's layers (paths, launcher routing, `mcps.local.toml`, local skills), merged with
//! what Codex itself wrote here since the last apply.
//!
//! Everything in this module is a pure function of its inputs (texts, listings, settings), so
//! each layer is unit-tested alone; the apply step reads the inputs and writes the outputs.

pub mod build;
pub mod config;
pub mod diff;
pub mod mcp_routing;
pub mod merge;
pub mod overlay;
pub mod paths;
pub mod rules;
pub mod skills;

pub use config::{ConfigInputs, Generated, follower_manifest, generate};
pub use merge::{MergeNote, Merged, merge};
