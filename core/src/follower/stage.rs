//! `staged.json`: the last verified and fully fetched revision, waiting to be applied.

use crate::error::{Error, Result};
use crate::fsx::read_optional;
use crate::identity::Trust;
use crate::revision::{Revision, SignedRevision};
use crate::{Homes, fsx};

/// The staged revision, re-verified with the pinned key; `None` when nothing is staged.
pub(crate) fn load(homes: &Homes, trust: &Trust) -> Result<Option<Revision>> {
    let path = homes.staged_revision();
    let Some(bytes) = read_optional(&path)? else {
        return Ok(None);
    };
    let signed = SignedRevision::parse(&bytes).map_err(|reason| Error::Corrupt {
        path: path.clone(),
        reason,
        hint: "delete it and run `codexport sync`".into(),
    })?;
    signed.verify(trust, "staged revision").map(Some)
}

/// Stages a verified revision's envelope (0600: it holds MCP env values).
pub(crate) fn save(homes: &Homes, envelope: &[u8]) -> Result<()> {
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
