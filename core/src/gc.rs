//! Garbage collection of the object store, on either side: what no kept revision references goes.
//!
//! Kept: on a master, the current revision (`revision.json`) and the last `keep` roots in
//! `revisions/`; on a follower, the staged and the applied revision and the last `keep`
//! envelopes in `revisions/`. Everything those reference stays: files, MCP artifacts, tree
//! nodes and manifest objects. Backups are whole copies outside the store, so they need
//! nothing from it. Runs under the lock a publish (master) or an apply (follower) holds, and
//! stops removing when its time is up (the rest goes next time).

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use serde::Serialize;

use crate::Homes;
use crate::error::{Error, Result};
use crate::follower::state::State;
use crate::fsx::read_optional;
use crate::identity::Identity;
use crate::lock::{LockGuard, Wait};
use crate::revision::{PROTOCOL, SignedRevision};
use crate::store::{ObjectStore, is_object_name};
use crate::tree::{PROTOCOL_V2, TreeRoot, mark_reachable};

/// Revisions kept by default besides the current (master) or staged and applied (follower).
pub const DEFAULT_KEEP: usize = 10;

/// How long the collection after an apply may take.
pub const AFTER_APPLY_BUDGET: Duration = Duration::from_secs(2);

/// A temp file of an interrupted write is removed once it is this old.
const STALE_TEMP: Duration = Duration::from_secs(3600);

/// How a collection runs.
#[derive(Debug, Clone, Copy)]
pub struct GcOptions {
    /// Report what would go; remove nothing.
    pub dry_run: bool,
    /// Revisions kept in `revisions/` (the newest `keep`).
    pub keep: usize,
    /// Stop removing after this long.
    pub budget: Option<Duration>,
    /// How long to wait for the lock.
    pub lock_wait: Wait,
}

/// What a collection did (or would do).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct GcReport {
    /// `master` or `follower`.
    pub role: &'static str,
    /// The seqs whose objects were kept.
    pub kept_revisions: Vec<u64>,
    /// Objects referenced by them (and kept).
    pub kept_objects: usize,
    /// Objects removed (or that would be).
    pub removed_objects: usize,
    /// Their bytes.
    pub removed_bytes: u64,
    /// Temp files of interrupted writes removed.
    pub removed_temps: usize,
    /// Revisions past `keep` dropped from `revisions/`.
    pub dropped_revisions: Vec<u64>,
    /// Whether the budget ran out before every unreferenced object was removed.
    pub stopped_early: bool,
    /// Whether nothing was removed because it was a dry run.
    pub dry_run: bool,
    /// Kept revisions that could not be read (their objects are not counted as kept).
    pub unreadable: Vec<String>,
}

/// Collects the store of this machine's role (`codexport gc`), under its lock.
pub fn collect(homes: &Homes, options: GcOptions) -> Result<GcReport> {
    match Identity::load(homes)? {
        Some(Identity::Master(_)) => {
            let _lock = LockGuard::acquire(&homes.publish_lock(), options.lock_wait)?;
            collect_master(homes, options)
        }
        Some(Identity::Follower(_)) => {
            let _lock = LockGuard::acquire(&homes.lock(), options.lock_wait)?;
            collect_follower(homes, options)
        }
        None => Err(Error::WrongRole(
            "this machine is neither a master nor a follower yet".into(),
            "run `codexport master init` or `codexport follower join` first".into(),
        )),
    }
}

/// Envelopes of `revisions/`: `(seq, path)`.
type Kept = Vec<(u64, PathBuf)>;

/// The kept envelopes of `revisions/`, newest first; the rest (past `keep`) second.
fn kept_files(homes: &Homes, keep: usize) -> Result<(Kept, Kept)> {
    let dir = homes.revisions();
    let mut all = Vec::new();
    match fs::read_dir(&dir) {
        Ok(entries) => {
            for entry in entries {
                let entry = entry.map_err(|e| Error::io("read", &dir, e))?;
                let name = entry.file_name();
                let Some(seq) = name
                    .to_str()
                    .and_then(|n| n.strip_suffix(".json"))
                    .and_then(|n| n.parse::<u64>().ok())
                else {
                    continue;
                };
                all.push((seq, entry.path()));
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io("read", &dir, e)),
    }
    all.sort_by_key(|(seq, _)| std::cmp::Reverse(*seq));
    let rest = all.split_off(keep.min(all.len()));
    Ok((all, rest))
}

/// Marks what one envelope references (unverified: it was verified when it was made or
/// staged): a v2 root's nodes, manifest and files, a v1 document's files and artifacts.
fn mark(
    store: &ObjectStore,
    bytes: &[u8],
    marked: &mut HashSet<String>,
) -> Result<(u64, String), String> {
    let signed = SignedRevision::parse(bytes)?;
    match signed.protocol {
        PROTOCOL_V2 => {
            let root = TreeRoot::unverified(&signed)?;
            mark_reachable(store, &root, marked).map_err(|e| e.to_string())?;
            Ok((root.seq, root.revision))
        }
        PROTOCOL => {
            let revision = signed.document_unverified()?;
            marked.extend(revision.objects());
            Ok((revision.seq, revision.revision))
        }
        other => Err(format!("protocol {other} is neither 1 nor 2")),
    }
}

fn collect_master(homes: &Homes, options: GcOptions) -> Result<GcReport> {
    let store = ObjectStore::new(homes.objects());
    let mut report = GcReport {
        role: "master",
        dry_run: options.dry_run,
        ..GcReport::default()
    };
    let mut marked = HashSet::new();
    let mut kept = Vec::new();
    // Nothing published yet: nothing is referenced, but nothing is removed either (a first
    // snapshot's objects are stored before their revision is).
    let Some(current) = read_optional(&homes.published_revision())? else {
        return Ok(report);
    };
    match mark(&store, &current, &mut marked) {
        Ok((seq, _)) => kept.push(seq),
        Err(why) => {
            return Err(Error::Corrupt {
                path: homes.published_revision(),
                reason: why,
                hint: "run `codexport master rebuild` before `gc`".into(),
            });
        }
    }
    let (keep, drop) = kept_files(homes, options.keep.max(1))?;
    mark_files(&store, &keep, &mut marked, &mut kept, &mut report);
    finish(&store, options, marked, kept, &drop, report)
}

fn mark_files(
    store: &ObjectStore,
    files: &[(u64, PathBuf)],
    marked: &mut HashSet<String>,
    kept: &mut Vec<u64>,
    report: &mut GcReport,
) {
    for (seq, path) in files {
        let result = fs::read(path)
            .map_err(|e| e.to_string())
            .and_then(|bytes| mark(store, &bytes, marked));
        match result {
            Ok(_) => kept.push(*seq),
            Err(why) => report.unreadable.push(format!("{}: {why}", path.display())),
        }
    }
}

fn collect_follower(homes: &Homes, options: GcOptions) -> Result<GcReport> {
    if homes.journal().exists() {
        return Err(Error::WrongRole(
            "an apply was interrupted; its journal may still need objects".into(),
            "run `codexport apply` (or `codexport sync --apply`) first, then `codexport gc`".into(),
        ));
    }
    collect_follower_locked(homes, options)
}

/// The follower's collection, the lock already held (after an apply).
pub(crate) fn collect_follower_locked(homes: &Homes, options: GcOptions) -> Result<GcReport> {
    let store = ObjectStore::new(homes.objects());
    let mut report = GcReport {
        role: "follower",
        dry_run: options.dry_run,
        ..GcReport::default()
    };
    let mut marked = HashSet::new();
    let mut kept = Vec::new();
    if let Some(staged) = read_optional(&homes.staged_revision())? {
        match mark(&store, &staged, &mut marked) {
            Ok((seq, _)) => kept.push(seq),
            // A staged revision whose objects are not all here yet keeps everything.
            Err(why) => {
                return Err(Error::Corrupt {
                    path: homes.staged_revision(),
                    reason: why,
                    hint: "run `codexport sync` before `gc`".into(),
                });
            }
        }
    }
    let (mut keep, drop) = kept_files(homes, options.keep.max(1))?;
    // The applied revision is kept however old it is.
    let applied = State::load_head(homes)?.applied.map(|a| a.seq);
    let (drop, applied_file): (Vec<_>, Vec<_>) =
        drop.into_iter().partition(|(seq, _)| Some(*seq) != applied);
    keep.extend(applied_file);
    mark_files(&store, &keep, &mut marked, &mut kept, &mut report);
    finish(&store, options, marked, kept, &drop, report)
}

/// Removes what is not `marked` (within the budget), drops the revisions past `keep`.
fn finish(
    store: &ObjectStore,
    options: GcOptions,
    marked: HashSet<String>,
    mut kept: Vec<u64>,
    drop: &[(u64, PathBuf)],
    mut report: GcReport,
) -> Result<GcReport> {
    let started = Instant::now();
    kept.sort_unstable();
    kept.dedup();
    report.kept_revisions = kept;
    report.kept_objects = marked.len();
    let out_of_time = || options.budget.is_some_and(|b| started.elapsed() > b);
    let remove = |path: &Path| -> Result<()> {
        if options.dry_run {
            return Ok(());
        }
        match fs::remove_file(path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io("delete", path, e)),
        }
    };
    let root = store.root();
    let mut dirs = vec![(root.to_path_buf(), String::new())];
    match fs::read_dir(root) {
        Ok(entries) => {
            for entry in entries {
                let entry = entry.map_err(|e| Error::io("read", root, e))?;
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.len() == 2 && entry.path().is_dir() {
                    dirs.push((entry.path(), name));
                }
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(report),
        Err(e) => return Err(Error::io("read", root, e)),
    }
    dirs.sort();
    'dirs: for (dir, prefix) in dirs {
        let entries = fs::read_dir(&dir).map_err(|e| Error::io("read", &dir, e))?;
        for entry in entries {
            if out_of_time() {
                report.stopped_early = true;
                break 'dirs;
            }
            let entry = entry.map_err(|e| Error::io("read", &dir, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let Ok(meta) = entry.metadata() else { continue };
            if !meta.is_file() {
                continue;
            }
            if name.starts_with(".incoming-") || name.starts_with(crate::fsx::TEMP_PREFIX) {
                let age = meta
                    .modified()
                    .ok()
                    .and_then(|m| SystemTime::now().duration_since(m).ok());
                if age.is_some_and(|a| a > STALE_TEMP) {
                    remove(&entry.path())?;
                    report.removed_temps += 1;
                }
                continue;
            }
            let hash = format!("{prefix}{name}");
            if prefix.is_empty() || !is_object_name(&hash) || marked.contains(&hash) {
                continue;
            }
            remove(&entry.path())?;
            report.removed_objects += 1;
            report.removed_bytes += meta.len();
        }
    }
    for (seq, path) in drop {
        remove(path)?;
        report.dropped_revisions.push(*seq);
    }
    report.dropped_revisions.sort_unstable();
    Ok(report)
}
