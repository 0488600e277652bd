//! Watches the selected paths and `master.toml`; publishes a new revision after changes settle.
//!
//! Debounced events only mark the tree dirty (a channel message); one thread rebuilds while
//! messages are pending, so an event that arrives during a rebuild causes another one. A
//! change of `master.toml` is read again there: good settings replace the selection, the MCP
//! hints, `follow_links` and the allow list at once (a bad edit keeps the old ones and logs
//! one line). A root that does not exist yet (`~/.agents/skills` made after the start) is
//! watched for through its nearest existing parent, and watched itself once it appears.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use notify::{EventKind, RecursiveMode};
use notify_debouncer_full::{DebounceEventResult, Debouncer, RecommendedCache, new_debouncer_opt};

use crate::Homes;
use crate::error::{Error, Result};
use crate::master::publish::Publisher;
use crate::master::selection::{Root, Selection};
use crate::settings::MasterSettings;

use super::conn::AllowList;
use super::{Current, ExportFactory};

/// How long changes must settle before a rebuild.
const DEBOUNCE: Duration = Duration::from_millis(250);

type Inner = Debouncer<notify::RecommendedWatcher, RecommendedCache>;

/// A running watcher; dropping it stops the notifications.
pub(super) struct Watcher {
    _debouncer: Arc<Mutex<Inner>>,
}

/// What the rebuild thread is told.
enum Message {
    /// These paths changed.
    Changed(Vec<PathBuf>),
    /// Rebuild everything (the watcher lost events or failed, or a root appeared).
    Everything,
    /// `master.toml` changed.
    Settings,
}

/// Whether an event can change what is published: writes, creations, removals, renames and
/// mode changes. Opens and reads (the rebuild's own, or any process reading a skill) never do.
fn is_change(kind: &EventKind) -> bool {
    matches!(
        kind,
        EventKind::Create(_) | EventKind::Modify(_) | EventKind::Remove(_)
    )
}

/// The directories to watch for `selection`: the roots, the resolvers folder, the
/// `follow_links` directories, and the tool home itself (for `master.toml`), each with its mode.
fn targets(homes: &Homes, selection: &Selection) -> BTreeMap<PathBuf, RecursiveMode> {
    let mut targets = BTreeMap::from([
        (Root::Codex.dir(homes), RecursiveMode::Recursive),
        (
            Root::Agents.dir(homes).join("skills"),
            RecursiveMode::Recursive,
        ),
        (homes.resolvers(), RecursiveMode::NonRecursive),
        (homes.tool.clone(), RecursiveMode::NonRecursive),
    ]);
    for dir in selection.follow_dirs(homes) {
        targets.insert(dir, RecursiveMode::Recursive);
    }
    targets
}

/// What is watched: each target directly, or (while it does not exist) its nearest
/// existing parent, non-recursively.
#[derive(Default)]
struct Watched {
    /// By target: the path actually watched.
    by_target: BTreeMap<PathBuf, (PathBuf, RecursiveMode)>,
}

impl Watched {
    /// Watches `targets`, dropping the watches no longer wanted. Returns whether a target
    /// that was missing is now watched itself (its content is new to the publisher).
    fn arm(&mut self, debouncer: &mut Inner, targets: &BTreeMap<PathBuf, RecursiveMode>) -> bool {
        let mut appeared = false;
        let mut next: BTreeMap<PathBuf, (PathBuf, RecursiveMode)> = BTreeMap::new();
        for (target, mode) in targets {
            let watch = if target.is_dir() {
                (target.clone(), *mode)
            } else {
                match target.ancestors().skip(1).find(|a| a.is_dir()) {
                    Some(parent) => (parent.to_owned(), RecursiveMode::NonRecursive),
                    None => continue,
                }
            };
            if let Some(was) = self.by_target.get(target)
                && was.0 != *target
                && watch.0 == *target
            {
                appeared = true;
            }
            next.insert(target.clone(), watch);
        }
        let wanted: BTreeMap<&PathBuf, RecursiveMode> =
            next.values().map(|(path, mode)| (path, *mode)).collect();
        let had: BTreeMap<&PathBuf, RecursiveMode> = self
            .by_target
            .values()
            .map(|(path, mode)| (path, *mode))
            .collect();
        for (path, mode) in &had {
            if wanted.get(path) != Some(mode) {
                let _ = debouncer.unwatch(path);
            }
        }
        for (path, mode) in &wanted {
            if had.get(path) != Some(mode)
                && let Err(e) = debouncer.watch(path, *mode)
            {
                tracing::warn!("cannot watch `{}`: {e}", path.display());
            }
        }
        self.by_target = next;
        appeared
    }

    /// Whether an event at `path` may mean a missing target appeared.
    fn may_appear(&self, path: &Path) -> bool {
        self.by_target
            .iter()
            .any(|(target, (watched, _))| watched != target && target.starts_with(path))
    }
}

/// Starts watching and the rebuild thread. `export` makes the MCP export for settings read
/// again; `allow` is the server's allow list, replaced when `master.toml` changes it.
///
/// Links are never followed (no watch outside the roots): a link that leaves its root is
/// either skipped or, under `follow_links`, covered by a watch on the listed directory.
pub(super) fn start(
    homes: &Homes,
    settings: MasterSettings,
    publisher: Publisher,
    export: ExportFactory,
    current: Current,
    allow: AllowList,
) -> Result<Watcher> {
    let (tx, rx) = mpsc::channel::<Message>();
    let selection = Arc::new(RwLock::new(publisher.selection().clone()));
    let watched = Arc::new(Mutex::new(Watched::default()));
    let handler = {
        let homes = homes.clone();
        let selection = selection.clone();
        let watched = watched.clone();
        move |result: DebounceEventResult| {
            let events = match result {
                Ok(events) if !events.iter().any(|e| e.need_rescan()) => events,
                _ => {
                    let _ = tx.send(Message::Everything);
                    return;
                }
            };
            let master_toml = homes.master_toml();
            let changed = || events.iter().filter(|e| is_change(&e.kind));
            if changed().any(|e| e.paths.contains(&master_toml)) {
                let _ = tx.send(Message::Settings);
            }
            let watched = watched.lock().unwrap_or_else(|e| e.into_inner());
            if changed()
                .flat_map(|e| e.paths.iter())
                .any(|p| watched.may_appear(p))
            {
                let _ = tx.send(Message::Everything);
                return;
            }
            drop(watched);
            let selection = selection.read().unwrap_or_else(|e| e.into_inner());
            let paths: Vec<PathBuf> = changed()
                .flat_map(|e| e.paths.iter())
                .filter(|p| selection.affects(&homes, p))
                .cloned()
                .collect();
            if !paths.is_empty() {
                let _ = tx.send(Message::Changed(paths));
            }
        }
    };
    let config = notify::Config::default().with_follow_symlinks(false);
    let debouncer = new_debouncer_opt::<_, notify::RecommendedWatcher, RecommendedCache>(
        DEBOUNCE,
        None,
        handler,
        RecommendedCache::new(),
        config,
    )
    .map_err(|e| Error::io("watch", &homes.codex, std::io::Error::other(e)))?;
    let debouncer = Arc::new(Mutex::new(debouncer));
    watched.lock().expect("not poisoned").arm(
        &mut debouncer.lock().expect("not poisoned"),
        &targets(homes, publisher.selection()),
    );

    let mut rebuild = Rebuild {
        homes: homes.clone(),
        settings,
        publisher,
        export,
        current,
        allow,
        selection,
        watched,
        debouncer: debouncer.clone(),
    };
    std::thread::Builder::new()
        .name("rebuild".into())
        .spawn(move || {
            while let Ok(first) = rx.recv() {
                // Everything queued so far is covered by this rebuild; later messages
                // (events during the rebuild) trigger the next loop.
                let mut settings = false;
                let mut everything = false;
                let mut paths = Vec::new();
                for message in std::iter::once(first).chain(rx.try_iter()) {
                    match message {
                        Message::Changed(more) => paths.extend(more),
                        Message::Everything => everything = true,
                        Message::Settings => settings = true,
                    }
                }
                if settings && rebuild.reload() {
                    everything = true;
                }
                if rebuild.rearm() {
                    everything = true;
                }
                if everything {
                    rebuild.run(None);
                } else if !paths.is_empty() {
                    paths.sort();
                    paths.dedup();
                    rebuild.run(Some(&paths));
                }
            }
        })
        .map_err(|e| Error::io("start the rebuild thread for", &homes.codex, e))?;
    Ok(Watcher {
        _debouncer: debouncer,
    })
}

/// The rebuild thread's state.
struct Rebuild {
    homes: Homes,
    settings: MasterSettings,
    publisher: Publisher,
    export: ExportFactory,
    current: Current,
    allow: AllowList,
    selection: Arc<RwLock<Selection>>,
    watched: Arc<Mutex<Watched>>,
    debouncer: Arc<Mutex<Inner>>,
}

impl Rebuild {
    /// Reads `master.toml` again; returns whether the settings changed (and were taken).
    fn reload(&mut self) -> bool {
        let settings = match MasterSettings::load(&self.homes) {
            Ok(settings) => settings,
            Err(e) => {
                tracing::error!("master.toml not reloaded, the previous settings stay: {e}");
                return false;
            }
        };
        if settings == self.settings {
            return false;
        }
        let publisher = (self.export)(&settings)
            .map_err(|e| e.to_string())
            .and_then(|export| {
                Publisher::new(&self.homes, &settings, export).map_err(|e| e.to_string())
            });
        let publisher = match publisher {
            Ok(publisher) => publisher,
            Err(e) => {
                tracing::error!("master.toml not reloaded, the previous settings stay: {e}");
                return false;
            }
        };
        *self.allow.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(settings.allow_nets());
        *self.selection.write().unwrap_or_else(|e| e.into_inner()) = publisher.selection().clone();
        if settings.listen != self.settings.listen {
            tracing::warn!("`listen` changed in master.toml: it takes effect at the next start");
        }
        self.publisher = publisher;
        self.settings = settings;
        tracing::info!("master.toml reloaded");
        true
    }

    /// Watches what the selection needs now; returns whether a missing root appeared.
    fn rearm(&mut self) -> bool {
        let targets = targets(&self.homes, self.publisher.selection());
        let mut debouncer = self.debouncer.lock().unwrap_or_else(|e| e.into_inner());
        self.watched
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .arm(&mut debouncer, &targets)
    }

    /// Rebuilds (only `paths` when given) and publishes what changed.
    fn run(&mut self, paths: Option<&[PathBuf]>) {
        let result = match paths {
            Some(paths) => self.publisher.rebuild_changed(paths),
            None => self.publisher.rebuild(),
        };
        match result {
            Ok(rebuilt) => {
                for w in &rebuilt.warnings {
                    tracing::warn!("{w}");
                }
                if rebuilt.changed {
                    tracing::info!(
                        "published seq {} ({} files re-read)",
                        rebuilt.published.revision.seq,
                        rebuilt.rehashed
                    );
                    *self.current.write().expect("not poisoned") = Arc::clone(&rebuilt.published);
                }
            }
            Err(e) => tracing::error!("rebuild failed, still serving the last revision: {e}"),
        }
    }
}
