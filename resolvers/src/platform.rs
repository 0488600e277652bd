//! The follower's platform as resolvers see it: os, arch, libc and ordered target triples
//! (defined with the artifact record in `codexport-core`, which the launcher reads alone).

pub use codexport_core::mcp::artifact::{Libc, Platform};
