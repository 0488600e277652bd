//! The set of files a revision asks for, before any follower-side transformation.

use super::RootPath;
use crate::master::selection::FileClass;
use crate::revision::Revision;

/// Where a desired file's content comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// An object in the store, by sha256.
    Object(String),
    /// Bytes computed on the follower (a layered `config.toml`).
    Bytes(Vec<u8>),
    /// A symlink with this relative target.
    Link(String),
}

/// One file apply should make exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredFile {
    /// Where it goes (the path already checked to stay inside its root).
    pub at: RootPath,
    /// The content.
    pub source: Source,
    /// Permission bits (secrets are forced to 0600 at write time).
    pub mode: u32,
    /// Its class.
    pub class: FileClass,
}

/// Every file of `revision`, in its order.
pub fn desired_files(revision: &Revision) -> Vec<DesiredFile> {
    revision
        .files
        .iter()
        .map(|f| DesiredFile {
            at: RootPath::new(f.root, f.path.clone()),
            source: match &f.link {
                Some(target) => Source::Link(target.clone()),
                None => Source::Object(f.sha256.clone()),
            },
            mode: f.mode,
            class: f.class,
        })
        .collect()
}
