//! `codexport restore`: puts the files of a backup back, through the journal, after backing
//! up what it replaces (so a restore can itself be undone).

use std::fs;
use std::path::PathBuf;

use super::execute::{Backup, current_hash};
use crate::error::{Error, Result};
use crate::follower::backups;
use crate::follower::journal::Pending;
use crate::master::selection::Root;
use crate::store::sha256_hex;
use crate::{Homes, fsx};

/// What a restore did (or would do).
#[derive(Debug, Clone, Default)]
pub struct RestoreReport {
    /// The backup restored.
    pub backup: String,
    /// `root:path` of every file put back.
    pub restored: Vec<String>,
    /// Files already as in the backup.
    pub unchanged: usize,
    /// Where the replaced files were backed up, when any were.
    pub backup_dir: Option<PathBuf>,
    /// Nothing was written.
    pub dry_run: bool,
}

/// Restores backup `name` (the newest when `None`). The caller holds the lock.
pub fn restore(homes: &Homes, name: Option<&str>, dry_run: bool) -> Result<RestoreReport> {
    super::recover(homes)?;
    let info = backups::find(&homes.backups(), name)?;
    let mut report = RestoreReport {
        backup: info.name.clone(),
        dry_run,
        ..Default::default()
    };
    let mut planned = Vec::new();
    for file in backups::files(&info)? {
        let root = Root::from_name(&file.root).ok_or_else(|| Error::InvalidLayer {
            path: info.path.join(&file.root),
            reason: format!("`{}` is not a root codexport knows", file.root),
        })?;
        let target = root.dir(homes).join(&file.path);
        let bytes = fs::read(&file.source).map_err(|e| Error::io("read", &file.source, e))?;
        let mode = fs::metadata(&file.source)
            .map(|m| fsx::mode_of(&m))
            .map_err(|e| Error::io("read", &file.source, e))?;
        if current_hash(&target)
            .is_some_and(|(h, link, m)| !link && h == sha256_hex(&bytes) && m == mode)
        {
            report.unchanged += 1;
            continue;
        }
        report.restored.push(format!("{}:{}", file.root, file.path));
        planned.push((root, file.path, target, bytes, mode));
    }
    if dry_run || planned.is_empty() {
        return Ok(report);
    }
    let mut backup = Backup {
        root: homes.backups(),
        dir: None,
    };
    for (root, path, target, ..) in &planned {
        if current_hash(target).is_some() {
            backup.save(*root, path, target)?;
        }
    }
    let mut journal = Pending::begin(&homes.journal())?;
    for (.., target, bytes, mode) in &planned {
        journal.write(target, bytes, Some(*mode), false)?;
    }
    journal.commit()?.run()?;
    report.backup_dir = backup.dir;
    Ok(report)
}
