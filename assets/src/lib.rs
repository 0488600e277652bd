//! Picking the GitHub release asset that fits a platform, the one rule set codexport's host
//! (the built-in `github-release` resolver, `[mcp.NAME]` hints) and its wasm plugins (through
//! `codexport-resolver-sdk`) share, so a hint and a plugin choose the same file.
//!
//! It owns the os/arch alias tables ([`os_aliases`], [`arch_aliases`]), word-boundary matching
//! ([`contains_word`]), the auxiliary-file rule ([`is_auxiliary`]: checksums, signatures,
//! metadata, OS packages), the archive kind a name implies ([`ArchiveKind`]), platform matching
//! with libc and format preference ([`match_asset`]) and the placeholder grammar
//! `{triple} {os} {arch} {libc} {tag} {version} {exe}` ([`expand_template`], [`match_template`],
//! [`Bindings::expand`]). It knows nothing of HTTP, GitHub's API or digests: callers fetch the
//! release, this crate names the asset.
//!
//! Everything works on borrowed views ([`Target`], [`AssetName`]) so the host's and the
//! plugin's own types plug in without conversion. [`vectors`] is a table of cases both sides
//! run in their tests.

mod archive;
mod names;
mod pick;
mod template;
pub mod vectors;

pub use archive::ArchiveKind;
pub use names::{
    KNOWN_ARCHES, KNOWN_OSES, arch_aliases, contains_word, is_auxiliary, is_checksum_list,
    os_aliases,
};
pub use pick::{AssetName, Choice, NoMatch, match_asset, match_template};
pub use template::{Bindings, Placeholder, expand_template};

/// The C library of a Linux host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "lowercase")
)]
pub enum Libc {
    /// GNU libc.
    Gnu,
    /// musl.
    Musl,
}

impl Libc {
    /// `gnu` or `musl`, as asset names spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Gnu => "gnu",
            Self::Musl => "musl",
        }
    }
}

/// The platform an asset is chosen for, borrowed from the caller's own platform type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target<'a> {
    /// `linux`, `macos`, `windows` (Rust's names).
    pub os: &'a str,
    /// `x86_64`, `aarch64` (Rust's names).
    pub arch: &'a str,
    /// Linux only.
    pub libc: Option<Libc>,
    /// Rust target triples this host runs, best first (gnu before musl on glibc hosts).
    pub triples: &'a [String],
}
