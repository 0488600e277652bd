//! The follower's platform as resolvers see it: os, arch, libc and ordered target triples.

use serde::{Deserialize, Serialize};

/// The C library a Linux host runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Libc {
    /// GNU libc.
    Gnu,
    /// musl.
    Musl,
}

/// Where an artifact will run.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Platform {
    /// `linux`, `windows` or `macos`.
    pub os: String,
    /// `x86_64` or `aarch64` (Rust's names).
    pub arch: String,
    /// Linux only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub libc: Option<Libc>,
    /// Rust target triples this host runs, best first (gnu before musl on glibc hosts).
    pub triples: Vec<String>,
}
