//! The set of files a revision asks for, before any follower-side transformation.

use super::RootPath;
use crate::master::selection::{FileClass, classify};
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
    /// Permission bits as sent (masked, and forced to 0600 for secrets, at write time).
    pub mode: u32,
    /// Its class, decided on this machine ([`follower_class`]).
    pub class: FileClass,
}

/// The class a follower writes a revision's file with: its own rules decide from the path
/// ([`classify`]), whatever the revision says; a master's `secret` label only ever tightens
/// that (a file it calls secret is written 0600 too).
pub fn follower_class(entry: &crate::revision::FileEntry) -> FileClass {
    match classify(entry.root, &entry.path) {
        FileClass::Regular if entry.class == FileClass::Secret => FileClass::Secret,
        class => class,
    }
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
            class: follower_class(f),
        })
        .collect()
}
