//! The follower-side rewrite of the desired set (config layering, overlays: a later step).

use crate::Homes;
use crate::apply::DesiredFile;
use crate::error::Result;
use crate::revision::Revision;

/// Rewrites the desired files for this machine. For now every file, `config.toml`
/// included, is taken as the master has it.
pub fn transform(
    _homes: &Homes,
    _revision: &Revision,
    files: Vec<DesiredFile>,
) -> Result<Vec<DesiredFile>> {
    Ok(files)
}
