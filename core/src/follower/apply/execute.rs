//! Writes the desired files: backup, temp + fsync + rename, managed-only deletion, state.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::follower::apply::transform::{CONFIG_TOML, Transformed};
use crate::follower::apply::{DesiredFile, Source};
use crate::follower::journal::Pending;
use crate::follower::layer::build::{config_base, rules_base};
use crate::follower::layer::diff::config_keys;
use crate::follower::layer::rules::DEFAULT_RULES;
use crate::follower::state::{Applied, State};
use crate::identity::now_rfc3339;
use crate::master::selection::{FileClass, Root};
use crate::revision::Revision;
use crate::store::{ObjectStore, sha256_hex};
use crate::{Homes, fsx};

/// What an apply did.
#[derive(Debug, Clone, Default)]
pub struct ApplyReport {
    /// `root:path` of every file written.
    pub written: Vec<String>,
    /// `root:path` of every managed file deleted.
    pub deleted: Vec<String>,
    /// Files already as desired.
    pub unchanged: usize,
    /// Managed files that were edited on this machine since the last apply (backed up).
    pub locally_edited: Vec<String>,
    /// Where replaced files were backed up, when any were.
    pub backup_dir: Option<PathBuf>,
    /// `root:path` of the written files that did not exist before (a subset of `written`).
    pub added: Vec<String>,
    /// `config.toml` keys that change (`+ key`, `~ key`, `- key`).
    pub config_keys: Vec<String>,
    /// What the `config.toml` merge carried over or kept (keys changed on both sides).
    pub merge_notes: Vec<String>,
    /// Canonical MCPs replaced by `mcps.local.toml` tables.
    pub replaced_mcps: Vec<String>,
    /// Backups pruned after the apply.
    pub pruned_backups: Vec<String>,
    /// Nothing was written: this is what an apply would do.
    pub dry_run: bool,
}

/// Lazily created backup directory `backups/<timestamp>/<root>/<path>`.
pub(crate) struct Backup {
    pub(crate) root: PathBuf,
    pub(crate) dir: Option<PathBuf>,
}

impl Backup {
    pub(crate) fn save(&mut self, root: Root, rel: &str, existing: &Path) -> Result<()> {
        let dir = match &self.dir {
            Some(d) => d.clone(),
            None => {
                let stamp = time::OffsetDateTime::now_utc()
                    .format(time::macros::format_description!(
                        "[year][month][day]T[hour][minute][second].[subsecond digits:6]Z"
                    ))
                    .unwrap_or_else(|_| "backup".into());
                let d = self.root.join(stamp);
                self.dir = Some(d.clone());
                d
            }
        };
        let dest = dir.join(root.name()).join(rel);
        let parent = dest.parent().expect("has a parent");
        fs::create_dir_all(parent).map_err(|e| Error::io("create", parent, e))?;
        let meta = fs::symlink_metadata(existing).map_err(|e| Error::io("read", existing, e))?;
        if meta.file_type().is_symlink() {
            let target = fs::read_link(existing).map_err(|e| Error::io("read", existing, e))?;
            fs::write(&dest, target.to_string_lossy().as_bytes())
                .map_err(|e| Error::io("write", &dest, e))?;
        } else {
            // Keep the mode: a backed-up secret stays 0600.
            fs::copy(existing, &dest).map_err(|e| Error::io("back up", existing, e))?;
        }
        Ok(())
    }
}

/// The bytes a desired file should hold (objects re-verified: the store is a cache).
fn content(store: &ObjectStore, file: &DesiredFile) -> Result<Vec<u8>> {
    match &file.source {
        Source::Object(hash) => {
            let path = store.path(hash).map_err(|e| Error::Protocol {
                url: "store".into(),
                reason: e.to_string(),
            })?;
            let bytes = fs::read(&path).map_err(|e| Error::io("read", &path, e))?;
            let actual = sha256_hex(&bytes);
            if &actual != hash {
                store.remove(hash);
                return Err(Error::HashMismatch {
                    expected: hash.clone(),
                    actual,
                });
            }
            Ok(bytes)
        }
        Source::Bytes(b) => Ok(b.clone()),
        Source::Link(target) => Ok(target.as_bytes().to_vec()),
    }
}

/// The sha256 a desired file's content has, without reading it.
fn desired_hash(file: &DesiredFile) -> String {
    match &file.source {
        Source::Object(hash) => hash.clone(),
        Source::Bytes(b) => sha256_hex(b),
        Source::Link(target) => sha256_hex(target.as_bytes()),
    }
}

fn mode_for(file: &DesiredFile) -> u32 {
    match file.class {
        FileClass::Secret => fsx::SECRET_MODE,
        _ => file.mode & 0o777,
    }
}

/// The sha256 of what is at `path` now (a link hashes its target text), if anything.
pub(crate) fn current_hash(path: &Path) -> Option<(String, bool, u32)> {
    let meta = fs::symlink_metadata(path).ok()?;
    if meta.file_type().is_symlink() {
        let target = fs::read_link(path).ok()?;
        return Some((sha256_hex(target.to_string_lossy().as_bytes()), true, 0o777));
    }
    if !meta.is_file() {
        return None;
    }
    let bytes = fs::read(path).ok()?;
    Some((sha256_hex(&bytes), false, fsx::mode_of(&meta)))
}

/// How an apply runs.
#[derive(Debug, Clone, Copy, Default)]
pub struct ExecuteOptions {
    /// Compute and report, write nothing (no backup, no journal, no state).
    pub dry_run: bool,
}

/// A write the plan decided on.
struct PlannedWrite {
    name: String,
    target: PathBuf,
    /// The content: bytes computed here, or a store object (immutable: the journal
    /// references it instead of keeping a copy).
    content: Content,
    mode: u32,
    link: bool,
    existed: bool,
}

/// Where a planned write's bytes come from.
enum Content {
    Bytes(Vec<u8>),
    Object(PathBuf),
}

/// Writes `transformed.files` into their roots and records the result, through the journal
/// (see [`crate::follower::journal`]): every backup is taken and every new content is in the journal
/// before the first target changes, so a kill at any point leaves the homes as before or,
/// once the next run replays the journal, fully applied. The caller holds the lock.
pub fn execute(
    homes: &Homes,
    revision: &Revision,
    transformed: &Transformed,
    options: ExecuteOptions,
) -> Result<ApplyReport> {
    let files = &transformed.files;
    let layered = &transformed.layered;
    let store = ObjectStore::new(homes.objects());
    let mut state = State::load(homes)?;
    let mut report = ApplyReport {
        dry_run: options.dry_run,
        merge_notes: layered.notes.iter().map(ToString::to_string).collect(),
        replaced_mcps: layered.replaced_mcps.clone(),
        ..ApplyReport::default()
    };
    let mut managed: BTreeMap<Root, BTreeMap<String, String>> = BTreeMap::new();

    // Decide what must be written before reading any object, then read and verify those
    // objects, so a missing or corrupt object stops the apply before any file changes.
    let mut pending = Vec::new();
    let mut writes = Vec::new();
    for file in files {
        let target = file.root.dir(homes).join(&file.path);
        let hash = desired_hash(file);
        let is_link = matches!(file.source, Source::Link(_));
        let mode = mode_for(file);
        managed
            .entry(file.root)
            .or_default()
            .insert(file.path.clone(), hash.clone());
        let existing = current_hash(&target);
        if let Some((h, link, m)) = &existing
            && *h == hash
            && *link == is_link
            && (is_link || *m == mode)
        {
            report.unchanged += 1;
            continue;
        }
        pending.push((file, target, existing.map(|(h, ..)| h), is_link, mode));
    }
    let contents = pending
        .iter()
        .map(|(file, ..)| content(&store, file))
        .collect::<Result<Vec<_>>>()?;

    for ((file, target, existing, is_link, mode), bytes) in pending.into_iter().zip(contents) {
        let name = format!("{}:{}", file.root.name(), file.path);
        if let Some(h) = &existing {
            let before = state
                .managed
                .get(&file.root)
                .and_then(|m| m.get(&file.path));
            // Merged files carry local edits over: they are not drift.
            if before.is_some_and(|b| b != h) && !is_merged(file) {
                report.locally_edited.push(name.clone());
            }
        } else {
            report.added.push(name.clone());
        }
        report.written.push(name.clone());
        let content = match &file.source {
            // Verified above; the store never changes an object in place.
            Source::Object(hash) => match store.path(hash) {
                Ok(path) => Content::Object(path),
                Err(_) => Content::Bytes(bytes),
            },
            _ => Content::Bytes(bytes),
        };
        writes.push(PlannedWrite {
            name,
            target,
            content,
            mode,
            link: is_link,
            existed: existing.is_some(),
        });
    }

    let mut deletes = Vec::new();
    for (root, paths) in &state.managed {
        for (path, written_hash) in paths {
            if managed.get(root).is_some_and(|m| m.contains_key(path)) {
                continue;
            }
            let target = root.dir(homes).join(path);
            let Some((h, ..)) = current_hash(&target) else {
                continue;
            };
            let name = format!("{}:{path}", root.name());
            if &h != written_hash {
                report.locally_edited.push(name.clone());
            }
            report.deleted.push(name);
            deletes.push((*root, path.clone(), target));
        }
    }

    let config_path = homes.codex.join(CONFIG_TOML);
    if writes.iter().any(|w| w.target == config_path) {
        let current = fs::read_to_string(&config_path).ok();
        report.config_keys = config_keys(current.as_deref(), layered.config.as_deref())
            .iter()
            .map(ToString::to_string)
            .collect();
    }

    if options.dry_run {
        return Ok(report);
    }
    check_writable(
        writes
            .iter()
            .map(|w| w.target.as_path())
            .chain(deletes.iter().map(|(.., t)| t.as_path())),
    )?;

    let mut backup = Backup {
        root: homes.backups(),
        dir: None,
    };
    for w in writes.iter().filter(|w| w.existed) {
        let (root, rel) = w.name.split_once(':').expect("root:path");
        let root = Root::from_name(root).expect("our own name");
        backup.save(root, rel, &w.target)?;
    }
    for (root, path, target) in &deletes {
        backup.save(*root, path, target)?;
    }

    let mut journal = Pending::begin(&homes.journal())?;
    for w in &writes {
        match &w.content {
            // Links come as `Source::Link`, never as objects.
            Content::Object(from) => journal.copy(&w.target, from, Some(w.mode)),
            Content::Bytes(bytes) => journal.write(&w.target, bytes, Some(w.mode), w.link)?,
        }
    }
    for (root, _, target) in &deletes {
        journal.delete(target, &root.dir(homes));
    }
    let manifest = serde_json::to_vec_pretty(&layered.manifest).expect("serialises");
    journal.write(
        &homes.mcp_manifest(),
        &manifest,
        Some(fsx::SECRET_MODE),
        false,
    )?;
    for (base, text) in [
        (config_base(homes), layered.generated_config.as_deref()),
        (rules_base(homes), transformed.canonical_rules.as_deref()),
    ] {
        match text {
            Some(text) => journal.write(&base, text.as_bytes(), None, false)?,
            None => journal.delete(&base, &homes.tool),
        }
    }
    state.applied = Some(Applied {
        revision: revision.revision.clone(),
        seq: revision.seq,
        applied_at: now_rfc3339(),
    });
    state.max_seq = state.max_seq.max(revision.seq);
    state.managed = managed;
    let state_bytes = serde_json::to_vec_pretty(&state).expect("serialises");
    // state.json last: a replayed journal ends in the same state as an uninterrupted run.
    journal.write(&homes.state(), &state_bytes, None, false)?;
    journal.commit()?.run()?;

    report.backup_dir = backup.dir;
    let keep = layered.settings.keep_backups();
    report.pruned_backups = crate::follower::backups::prune(&homes.backups(), keep)?;
    Ok(report)
}

/// Files whose local edits the layering merges instead of overwriting.
fn is_merged(file: &DesiredFile) -> bool {
    file.root == Root::Codex && (file.path == CONFIG_TOML || file.path == DEFAULT_RULES)
}

/// Fails before anything is written when a target's folder does not take new files.
fn check_writable<'a>(targets: impl Iterator<Item = &'a Path>) -> Result<()> {
    let mut checked = std::collections::BTreeSet::new();
    for target in targets {
        // The nearest existing folder: missing ones are created inside it.
        let Some(mut dir) = target.parent() else {
            continue;
        };
        while !dir.exists() {
            match dir.parent() {
                Some(p) => dir = p,
                None => break,
            }
        }
        if !checked.insert(dir.to_path_buf()) {
            continue;
        }
        // An unnamed file (O_TMPFILE on Linux): a run killed here leaves nothing behind.
        tempfile::tempfile_in(dir).map_err(|e| Error::NotWritable {
            path: dir.to_path_buf(),
            source: e,
        })?;
    }
    Ok(())
}
