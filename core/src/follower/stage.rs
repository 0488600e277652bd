//! `staged.json`: the last verified and fully fetched revision (a v1 document or a v2 tree root), waiting to be applied.

use crate::error::{Error, Result};
use crate::fsx::read_optional;
use crate::identity::Trust;
use crate::revision::{PROTOCOL, Revision, SignedRevision};
use crate::store::ObjectStore;
use crate::tree::{PROTOCOL_V2, TreeRoot, walk_local};
use crate::{Homes, fsx};

/// The staged revision, re-verified with the pinned key (a v2 root walked again from the
/// store, every node verified); `None` when nothing is staged.
pub(crate) fn load(homes: &Homes, trust: &Trust) -> Result<Option<Revision>> {
    let path = homes.staged_revision();
    let Some(bytes) = read_optional(&path)? else {
        return Ok(None);
    };
    let corrupt = |reason: String| Error::Corrupt {
        path: path.clone(),
        reason,
        hint: "delete it and run `codexport sync`".into(),
    };
    let signed = SignedRevision::parse(&bytes).map_err(corrupt)?;
    open(homes, &signed, trust, "staged revision").map(Some)
}

/// Verifies an envelope of either protocol and returns its revision; a v2 root is walked
/// from the local store (its nodes were fetched before it was staged).
pub(crate) fn open(
    homes: &Homes,
    signed: &SignedRevision,
    trust: &Trust,
    url: &str,
) -> Result<Revision> {
    match signed.protocol {
        PROTOCOL_V2 => {
            let root = TreeRoot::verify(signed, trust, url)?;
            walk_local(&ObjectStore::new(homes.objects()), root)
        }
        PROTOCOL => signed.verify(trust, url),
        other => Err(Error::Protocol {
            url: url.to_owned(),
            reason: format!("protocol {other} is neither 1 nor 2"),
        }),
    }
}

/// Stages a verified revision's envelope (0600: a v1 document holds MCP env values), and
/// keeps it in `revisions/<seq>.json`, whose objects `gc` keeps.
pub(crate) fn save(homes: &Homes, seq: u64, envelope: &[u8]) -> Result<()> {
    let kept = homes.revisions().join(format!("{seq}.json"));
    fsx::write_secret(&kept, envelope).map_err(|e| Error::io("write", kept, e))?;
    let path = homes.staged_revision();
    fsx::write_secret(&path, envelope).map_err(|e| Error::io("write", path, e))
}

/// Drops the staged revision (trust reset).
pub(crate) fn clear(homes: &Homes) -> Result<()> {
    let path = homes.staged_revision();
    match std::fs::remove_file(&path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io("delete", path, e)),
    }
}
