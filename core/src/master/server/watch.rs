//! Watches the selected paths and publishes a new revision after changes settle.
//!
//! Debounced events only mark the tree dirty (a channel message); one thread rebuilds while
//! messages are pending, so an event that arrives during a rebuild causes another one.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use notify::{EventKind, RecursiveMode};
use notify_debouncer_full::{DebounceEventResult, Debouncer, RecommendedCache, new_debouncer_opt};

use crate::Homes;
use crate::error::{Error, Result};
use crate::master::publish::Publisher;
use crate::master::selection::Root;

use super::Current;

/// How long changes must settle before a rebuild.
const DEBOUNCE: Duration = Duration::from_millis(250);

/// A running watcher; dropping it stops the notifications.
pub(super) struct Watcher {
    _debouncer: Debouncer<notify::RecommendedWatcher, RecommendedCache>,
}

/// Whether an event can change what is published: writes, creations, removals, renames and
/// mode changes. Opens and reads (the rebuild's own, or any process reading a skill) never do.
fn is_change(kind: &EventKind) -> bool {
    matches!(
        kind,
        EventKind::Create(_) | EventKind::Modify(_) | EventKind::Remove(_)
    )
}

/// Starts watching and the rebuild thread.
///
/// Links are never followed (no watch outside the roots): a link that leaves its root is
/// either skipped or, under `follow_links`, covered by a watch on the listed directory.
pub(super) fn start(homes: &Homes, mut publisher: Publisher, current: Current) -> Result<Watcher> {
    // `None`: rebuild everything (the watcher lost events or failed).
    let (tx, rx) = mpsc::channel::<Option<Vec<PathBuf>>>();
    let filter_homes = homes.clone();
    let selection = publisher.selection().clone();
    let handler = move |result: DebounceEventResult| {
        let message = match result {
            Ok(events) if events.iter().any(|e| e.need_rescan()) => None,
            Ok(events) => {
                let paths: Vec<PathBuf> = events
                    .iter()
                    .filter(|e| is_change(&e.kind))
                    .flat_map(|e| e.paths.iter())
                    .filter(|p| selection.affects(&filter_homes, p))
                    .cloned()
                    .collect();
                if paths.is_empty() {
                    return;
                }
                Some(paths)
            }
            Err(_) => None,
        };
        let _ = tx.send(message);
    };
    let config = notify::Config::default().with_follow_symlinks(false);
    let mut debouncer = new_debouncer_opt::<_, notify::RecommendedWatcher, RecommendedCache>(
        DEBOUNCE,
        None,
        handler,
        RecommendedCache::new(),
        config,
    )
    .map_err(|e| Error::io("watch", &homes.codex, std::io::Error::other(e)))?;

    let follow = publisher
        .selection()
        .follow_dirs(homes)
        .into_iter()
        .map(|dir| (dir, RecursiveMode::Recursive));
    for (dir, mode) in [
        (Root::Codex.dir(homes), RecursiveMode::Recursive),
        (
            Root::Agents.dir(homes).join("skills"),
            RecursiveMode::Recursive,
        ),
        (homes.resolvers(), RecursiveMode::NonRecursive),
    ]
    .into_iter()
    .chain(follow)
    {
        if dir.is_dir() {
            debouncer
                .watch(&dir, mode)
                .map_err(|e| Error::io("watch", &dir, std::io::Error::other(e)))?;
        }
    }

    std::thread::Builder::new()
        .name("rebuild".into())
        .spawn(move || {
            while let Ok(first) = rx.recv() {
                // Everything queued so far is covered by this rebuild; later messages
                // (events during the rebuild) trigger the next loop.
                let mut changed = first;
                while let Ok(more) = rx.try_recv() {
                    changed = match (changed, more) {
                        (Some(mut a), Some(b)) => {
                            a.extend(b);
                            Some(a)
                        }
                        _ => None,
                    };
                }
                let result = match changed {
                    Some(mut paths) => {
                        paths.sort();
                        paths.dedup();
                        publisher.rebuild_changed(&paths)
                    }
                    None => publisher.rebuild(),
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
                            *current.write().expect("not poisoned") =
                                Arc::clone(&rebuilt.published);
                        }
                    }
                    Err(e) => {
                        tracing::error!("rebuild failed, still serving the last revision: {e}")
                    }
                }
            }
        })
        .map_err(|e| Error::io("start the rebuild thread for", &homes.codex, e))?;
    Ok(Watcher {
        _debouncer: debouncer,
    })
}
