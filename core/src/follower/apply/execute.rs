//! The last steps of an apply: plan every write and deletion (objects read and verified),
//! back up what the plan replaces, commit through the journal and record the state.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use super::RootPath;
use crate::clock::now_rfc3339;
use crate::error::{Error, Result};
use crate::follower::apply::transform::{CONFIG_TOML, Transformed};
use crate::follower::apply::{DesiredFile, Source};
use crate::follower::backups;
use crate::follower::journal::{Pending, inside_real_dirs};
use crate::follower::layer::build::{config_base, rules_base};
use crate::follower::layer::diff::config_keys;
use crate::follower::layer::rules::DEFAULT_RULES;
use crate::follower::state::{Applied, State};
use crate::master::selection::{FileClass, Root};
use crate::revision::{Revision, check_tree};
use crate::store::{ObjectStore, sha256_hex};
use crate::{Homes, fsx};

/// What an apply did.
#[derive(Debug, Clone, Default)]
pub struct ApplyReport {
    /// Every file written.
    pub written: Vec<RootPath>,
    /// Every managed file deleted.
    pub deleted: Vec<RootPath>,
    /// Files already as desired.
    pub unchanged: usize,
    /// Managed files that were edited on this machine since the last apply (backed up).
    pub locally_edited: Vec<RootPath>,
    /// Where replaced files were backed up, when any were.
    pub backup_dir: Option<PathBuf>,
    /// The written files that did not exist before (a subset of `written`).
    pub added: Vec<RootPath>,
    /// Files never managed that went because the master changed the kind of a path holding
    /// them (a folder replaced by a file or a link): they are in the backup.
    pub local_additions: Vec<RootPath>,
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

/// The bytes a desired file should hold (objects re-verified: the store is a cache).
fn content(store: &ObjectStore, file: &DesiredFile) -> Result<Vec<u8>> {
    match &file.source {
        Source::Object(hash) => {
            // A name that is not a hash is the revision's fault, never a path.
            let path = store.path(hash)?;
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

/// The mode this follower writes `file` with: 0600 for a secret, else the master's bits
/// masked ([`fsx::synced_mode`]: no group/other write, no setuid/setgid/sticky).
fn mode_for(file: &DesiredFile) -> u32 {
    match file.class {
        FileClass::Secret => fsx::SECRET_MODE,
        _ => fsx::synced_mode(file.mode),
    }
}

/// Refuses, before anything is written, a plan that would write through a link on this
/// machine: a folder of a write that is a symlink the plan does not remove first (exit 4: it
/// is this machine's own link, not the revision's fault), or a revision link that leads out
/// of its root once the links on disk that stay are followed too (exit 7, like one whose own
/// links do).
fn check_disk(
    homes: &Homes,
    revision: &Revision,
    writes: &[PlannedWrite],
    removed: &std::collections::BTreeSet<&Path>,
) -> Result<()> {
    for w in writes {
        let root = w.at.root.dir(homes);
        if let Some(link) = fsx::link_in_the_way(&root, Path::new(&w.at.rel))
            && !removed.contains(link.as_path())
        {
            return Err(Error::LinkInTheWay {
                file: w.at.to_string(),
                link,
            });
        }
    }
    check_tree(&revision.files, |root, rel| {
        let path = root.dir(homes).join(rel);
        if removed.contains(path.as_path()) {
            return None;
        }
        let meta = fs::symlink_metadata(&path).ok()?;
        if !meta.file_type().is_symlink() {
            return None;
        }
        // A target that is not UTF-8 cannot be resolved here: take it as leaving the root.
        let target = fs::read_link(&path).ok()?;
        Some(
            target
                .to_str()
                .map_or_else(|| "/".to_owned(), str::to_owned),
        )
    })
}

/// The sha256 of what is at `path` inside `root` now (a link hashes its target text), if
/// anything: nothing when a folder on the way is a link or a file (that is not this path).
pub(crate) fn current_hash(root: &Path, path: &Path) -> Option<(String, bool, u32)> {
    if !inside_real_dirs(root, path) {
        return None;
    }
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

/// What must go before `target` inside `root` can be written: `target` itself when it is a
/// real directory, or the first folder on the way that is a file or a link. `None` when the
/// way is clear (missing folders are created).
pub(crate) fn obstacle(root: &Path, target: &Path) -> Option<PathBuf> {
    let rel = target.strip_prefix(root).ok()?;
    let mut at = root.to_path_buf();
    let parts: Vec<_> = rel.components().collect();
    for (i, part) in parts.iter().enumerate() {
        at.push(part);
        let meta = fs::symlink_metadata(&at).ok()?;
        let last = i + 1 == parts.len();
        if last {
            return meta.is_dir().then_some(at);
        }
        if !meta.is_dir() {
            return Some(at);
        }
    }
    None
}

/// Every file and link under `path` (itself when it is not a directory), links not followed.
pub(crate) fn files_under(path: &Path) -> Vec<PathBuf> {
    walkdir::WalkDir::new(path)
        .follow_root_links(false)
        .sort_by_file_name()
        .into_iter()
        .flatten()
        .filter(|e| !e.file_type().is_dir())
        .map(|e| e.into_path())
        .collect()
}

/// `path` inside `root`, `/`-separated.
pub(crate) fn rel_of(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).expect("inside its root");
    rel.to_string_lossy()
        .replace(std::path::MAIN_SEPARATOR, "/")
}

/// A revision deletes "en masse" when it deletes more than half of the managed files and
/// more than this many.
pub const MASS_DELETE_MIN: usize = 20;

/// Everything an apply will change, decided before any file changes: every object it
/// writes is already read and verified, so a missing or corrupt one stops the apply here.
#[derive(Debug)]
pub struct Plan {
    writes: Vec<PlannedWrite>,
    deletes: Vec<PlannedDelete>,
    /// Paths whose kind changes (a folder where a file goes, a file or link where a folder
    /// goes): removed, after the backup, before the writes.
    clears: Vec<PlannedDelete>,
    /// How many files the last apply managed.
    managed_before: usize,
    /// `state.json` as it stands once the plan is committed.
    state: State,
    /// The follower's `mcp-manifest.json`.
    manifest: Vec<u8>,
    /// The bases of the next config and rules merges (deleted when `None`).
    bases: [(PathBuf, Option<String>); 2],
    /// How many backups to keep after the commit.
    keep_backups: usize,
    report: ApplyReport,
}

/// A write the plan decided on.
#[derive(Debug)]
struct PlannedWrite {
    at: RootPath,
    target: PathBuf,
    /// The content: bytes computed here, or a store object (immutable: the journal
    /// references it instead of keeping a copy).
    content: Content,
    mode: u32,
    link: bool,
    /// Something is at `target` now (it is backed up).
    existed: bool,
}

/// A managed file the plan deletes (it exists: it is backed up).
#[derive(Debug)]
struct PlannedDelete {
    at: RootPath,
    target: PathBuf,
}

/// Where a planned write's bytes come from.
#[derive(Debug)]
enum Content {
    Bytes(Vec<u8>),
    /// The object's file and its sha256 (checked again when a journal replays the copy).
    Object(PathBuf, String),
}

impl Plan {
    /// What committing the plan does (for a dry run: what it would do).
    pub fn report(&self) -> &ApplyReport {
        &self.report
    }

    /// The report of a plan that is not committed (a dry run).
    pub fn into_report(self) -> ApplyReport {
        self.report
    }

    /// Every file the commit replaces or deletes (and every folder it removes), with where it
    /// is now.
    fn replaced(&self) -> impl Iterator<Item = (&RootPath, &Path)> {
        self.writes
            .iter()
            .filter(|w| w.existed)
            .map(|w| (&w.at, w.target.as_path()))
            .chain(self.deletes.iter().map(|d| (&d.at, d.target.as_path())))
            .chain(self.clears.iter().map(|d| (&d.at, d.target.as_path())))
    }

    /// `Some((deleted, managed))` when the plan deletes more than half of the files the last
    /// apply managed, and more than [`MASS_DELETE_MIN`].
    pub fn mass_delete(&self) -> Option<(usize, usize)> {
        let count = self.deletes.len();
        (count > MASS_DELETE_MIN && count * 2 > self.managed_before)
            .then_some((count, self.managed_before))
    }
}

/// Plans writing `transformed.files` into their roots: what is already as desired, what is
/// added or changed, which managed files go, and the state that records it. Reads, never
/// writes.
pub fn plan(homes: &Homes, revision: &Revision, transformed: &Transformed) -> Result<Plan> {
    let layered = &transformed.layered;
    let store = ObjectStore::new(homes.objects());
    let mut state = State::load(homes)?;
    let mut report = ApplyReport {
        merge_notes: layered.notes.iter().map(ToString::to_string).collect(),
        replaced_mcps: layered.replaced_mcps.clone(),
        ..ApplyReport::default()
    };
    let mut managed: BTreeMap<Root, BTreeMap<String, String>> = BTreeMap::new();
    let managed_before = state.managed.values().map(BTreeMap::len).sum();
    let was_managed = |root: Root, rel: &str| {
        state
            .managed
            .get(&root)
            .is_some_and(|m| m.contains_key(rel))
    };
    let desired: std::collections::BTreeSet<PathBuf> = transformed
        .files
        .iter()
        .map(|f| f.at.target(homes))
        .collect();
    let mut clears: Vec<PlannedDelete> = Vec::new();

    // Decide what must be written before reading any object, then read and verify those
    // objects, so a missing or corrupt object stops the apply before any file changes.
    let mut pending = Vec::new();
    for file in &transformed.files {
        let at = file.at.clone();
        let target = at.target(homes);
        let hash = desired_hash(file);
        let is_link = matches!(file.source, Source::Link(_));
        let mode = mode_for(file);
        managed
            .entry(at.root)
            .or_default()
            .insert(at.rel.clone(), hash.clone());
        let root_dir = at.root.dir(homes);
        if let Some(block) = obstacle(&root_dir, &target)
            // A folder where a file goes is replaced with all it holds (backed up). A file or
            // link on the way goes only when an apply made it (the master changed its kind); a
            // file of this machine's own stays, and the write into it is refused below. A
            // desired path on the way is the revision's own contradiction, not a kind change.
            && (block == target || !desired.contains(&block) && was_managed(at.root, &rel_of(&root_dir, &block)))
            && !clears.iter().any(|c| c.target == block)
        {
            for file in files_under(&block) {
                let rel = rel_of(&root_dir, &file);
                if !was_managed(at.root, &rel) {
                    report.local_additions.push(RootPath::new(at.root, rel));
                }
            }
            clears.push(PlannedDelete {
                at: RootPath::new(at.root, rel_of(&root_dir, &block)),
                target: block,
            });
        }
        let existing = current_hash(&root_dir, &target);
        if let Some((h, link, m)) = &existing
            && *h == hash
            && *link == is_link
            && (is_link || *m == mode)
        {
            report.unchanged += 1;
            continue;
        }
        pending.push((
            file,
            at,
            target,
            existing.map(|(h, ..)| h),
            is_link,
            mode,
            hash,
        ));
    }
    let contents = pending
        .iter()
        .map(|(file, ..)| content(&store, file))
        .collect::<Result<Vec<_>>>()?;

    let mut writes = Vec::new();
    for ((file, at, target, existing, is_link, mode, hash), bytes) in
        pending.into_iter().zip(contents)
    {
        if let Some(h) = &existing {
            let before = state.managed.get(&at.root).and_then(|m| m.get(&at.rel));
            // Merged files carry local edits over: they are not drift.
            if before.is_some_and(|b| b != h) && !is_merged(file) {
                report.locally_edited.push(at.clone());
            }
        } else if !clears.iter().any(|c| c.target == target) {
            report.added.push(at.clone());
        }
        report.written.push(at.clone());
        let content = match &file.source {
            // Verified above; the store never changes an object in place.
            Source::Object(_) => match store.path(&hash) {
                Ok(path) => Content::Object(path, hash),
                Err(_) => Content::Bytes(bytes),
            },
            _ => Content::Bytes(bytes),
        };
        writes.push(PlannedWrite {
            at,
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
            let at = RootPath::new(*root, path.clone());
            let target = at.target(homes);
            let Some((h, ..)) = current_hash(&root.dir(homes), &target) else {
                continue;
            };
            if &h != written_hash {
                report.locally_edited.push(at.clone());
            }
            report.deleted.push(at.clone());
            deletes.push(PlannedDelete { at, target });
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

    state.applied = Some(Applied {
        revision: revision.revision.clone(),
        seq: revision.seq,
        applied_at: now_rfc3339(),
    });
    state.max_seq = state.max_seq.max(revision.seq);
    state.managed = managed;
    // A delete of what a clear removes anyway is backed up once, by the delete.
    clears.retain(|c| !deletes.iter().any(|d| d.target == c.target));
    let removed = deletes
        .iter()
        .chain(&clears)
        .map(|d| d.target.as_path())
        .collect();
    check_disk(homes, revision, &writes, &removed)?;
    Ok(Plan {
        writes,
        deletes,
        clears,
        managed_before,
        state,
        manifest: serde_json::to_vec_pretty(&layered.manifest).expect("serialises"),
        bases: [
            (config_base(homes), layered.generated_config.clone()),
            (rules_base(homes), transformed.canonical_rules.clone()),
        ],
        keep_backups: layered.settings.keep_backups(),
        report,
    })
}

/// Backs up what `plan` replaces or deletes, after checking that every folder it writes
/// into takes new files (so a refused write leaves nothing behind, no backup either).
/// Returns the backup folder, when anything was saved.
pub fn back_up(homes: &Homes, plan: &Plan) -> Result<Option<PathBuf>> {
    let removed: std::collections::BTreeSet<&Path> = plan
        .deletes
        .iter()
        .chain(&plan.clears)
        .map(|d| d.target.as_path())
        .collect();
    check_writable(
        plan.writes
            .iter()
            .map(|w| w.target.as_path())
            .chain(plan.deletes.iter().map(|d| d.target.as_path())),
        &removed,
    )?;
    backups::save(homes, plan.replaced())
}

/// Commits `plan` through the journal (see [`crate::follower::journal`]): every new content is in the
/// journal before the first target changes, so a kill at any point leaves the homes as
/// before or, once the next run replays the journal, fully applied. Then prunes old
/// backups. The caller holds the lock and took the backup ([`back_up`]).
pub fn commit(homes: &Homes, plan: Plan, backup: Option<PathBuf>) -> Result<ApplyReport> {
    let mut journal = Pending::begin(&homes.journal())?;
    // Deletes and clears first: a path that changes kind is out of the way before its
    // writes (a delete never reaches through the link a write is about to make).
    for d in &plan.deletes {
        journal.delete(&d.target, &d.at.root.dir(homes));
    }
    for c in &plan.clears {
        journal.clear(&c.target, &c.at.root.dir(homes));
    }
    for w in &plan.writes {
        let root = w.at.root.dir(homes);
        match &w.content {
            // Links come as `Source::Link`, never as objects.
            Content::Object(from, hash) => {
                journal.copy_in(&root, &w.target, from, hash, Some(w.mode));
            }
            Content::Bytes(bytes) => {
                journal.write_in(&root, &w.target, bytes, Some(w.mode), w.link)?;
            }
        }
    }
    journal.write(
        &homes.mcp_manifest(),
        &plan.manifest,
        Some(fsx::SECRET_MODE),
        false,
    )?;
    for (base, text) in &plan.bases {
        match text {
            Some(text) => journal.write(base, text.as_bytes(), None, false)?,
            None => journal.delete(base, &homes.tool),
        }
    }
    let state_bytes = serde_json::to_vec_pretty(&plan.state).expect("serialises");
    // state.json last: a replayed journal ends in the same state as an uninterrupted run.
    journal.write(&homes.state(), &state_bytes, None, false)?;
    journal.commit()?.run()?;

    let mut report = plan.report;
    report.backup_dir = backup;
    report.pruned_backups = backups::prune(&homes.backups(), plan.keep_backups)?;
    Ok(report)
}

/// Files whose local edits the layering merges instead of overwriting.
fn is_merged(file: &DesiredFile) -> bool {
    file.at.is_codex(CONFIG_TOML) || file.at.is_codex(DEFAULT_RULES)
}

/// Fails before anything is written when a target's folder does not take new files
/// (`removed`: what the commit removes first, so folders are created where it was).
fn check_writable<'a>(
    targets: impl Iterator<Item = &'a Path>,
    removed: &std::collections::BTreeSet<&Path>,
) -> Result<()> {
    let mut checked = std::collections::BTreeSet::new();
    for target in targets {
        // The nearest existing folder: missing ones are created inside it.
        let Some(mut dir) = target.parent() else {
            continue;
        };
        while !dir.exists() || removed.contains(dir) {
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
