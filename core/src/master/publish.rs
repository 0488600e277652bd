//! The master's publisher: snapshot, compare, sign and persist a new revision when content changed.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;

use crate::clock::now_rfc3339;
use crate::error::{Error, Result};
use crate::fsx::read_optional;
use crate::identity::{Identity, MasterKey};
use crate::lock::{INTERACTIVE_WAIT, LockGuard};
use crate::master::selection::{Root, Selection, SkippedLink, locate};
use crate::master::snapshot::{HashCache, snapshot};
use crate::mcp::export::McpExport;
use crate::mcp::manifest::McpManifest;
use crate::revision::{FileEntry, MasterInfo, PROTOCOL, Revision, SignedRevision, content_hash};
use crate::settings::MasterSettings;
use crate::store::ObjectStore;
use crate::{Homes, fsx, tree};

/// A revision as served: the document, its signed bytes, and the objects it may hand out.
#[derive(Debug, Clone)]
pub struct Published {
    /// The document.
    pub revision: Revision,
    /// The signed envelope's bytes (what `/v1/revision` sends).
    pub signed: Vec<u8>,
    /// The signed v2 root made from the same document (what `/v2/root` sends); empty when
    /// read by [`load_published`] alone (the publisher adds it).
    pub root: Vec<u8>,
    /// Objects the server may serve: exactly the ones this revision references, its tree
    /// nodes and manifest object included.
    pub objects: HashSet<String>,
    /// The tree nodes (and manifest object) among `objects`.
    pub nodes: HashSet<String>,
}

impl Published {
    fn new(revision: Revision, signed: Vec<u8>) -> Self {
        Self {
            objects: revision.objects().into_iter().collect(),
            revision,
            signed,
            root: Vec::new(),
            nodes: HashSet::new(),
        }
    }

    /// Adds the v2 tree of the document: its nodes written to `store`, its root signed with
    /// `key` and kept in `revisions/` (what `gc` keeps the objects of).
    fn rooted(mut self, homes: &Homes, store: &ObjectStore, key: &MasterKey) -> Result<Self> {
        let built = tree::build(&self.revision, store, key)
            .map_err(|e| Error::io("write", store.root(), e))?;
        let path = homes
            .revisions()
            .join(format!("{}.json", self.revision.seq));
        if read_optional(&path)?.as_deref() != Some(&built.signed[..]) {
            fsx::write_secret(&path, &built.signed).map_err(|e| Error::io("write", path, e))?;
        }
        self.objects.extend(built.nodes.iter().cloned());
        self.nodes = built.nodes.into_iter().collect();
        self.root = built.signed;
        Ok(self)
    }
}

/// What a rebuild did.
#[derive(Debug, Clone)]
pub struct Rebuilt {
    /// The current revision (new or unchanged).
    pub published: Arc<Published>,
    /// Whether a new revision was signed.
    pub changed: bool,
    /// Files read this time (the rest came from the hash cache).
    pub rehashed: usize,
    /// Selection and export warnings.
    pub warnings: Vec<String>,
    /// Links leaving their root that were not published (see `follow_links`).
    pub skipped_links: Vec<SkippedLink>,
}

/// Builds and signs the master's revisions.
pub struct Publisher {
    homes: Homes,
    key: MasterKey,
    selection: Selection,
    store: ObjectStore,
    cache: HashCache,
    export: Arc<dyn McpExport>,
    last: Option<Arc<Published>>,
    /// Whether the files of `last` include links followed under `follow_links` (or that is
    /// not known yet): then every change rebuilds in full.
    followed: bool,
}

impl Publisher {
    /// Loads the key, the hash cache and the last published revision; `settings` (the
    /// master's `master.toml`) decides the selection.
    pub fn new(
        homes: &Homes,
        settings: &MasterSettings,
        export: Arc<dyn McpExport>,
    ) -> Result<Self> {
        let key = Identity::load_master(homes)?;
        let store = ObjectStore::new(homes.objects());
        let last = match load_published(homes)? {
            Some(p) if p.revision.master.fingerprint == key.fingerprint => {
                Some(Arc::new(p.rooted(homes, &store, &key)?))
            }
            other => other.map(Arc::new),
        };
        Ok(Self {
            selection: Selection::new(settings),
            store,
            cache: HashCache::load(homes),
            last,
            homes: homes.clone(),
            key,
            export,
            followed: true,
        })
    }

    /// The selection rules (the watcher filters events with them).
    pub fn selection(&self) -> &Selection {
        &self.selection
    }

    /// Snapshots the homes; signs and persists a new revision when the content changed.
    pub fn rebuild(&mut self) -> Result<Rebuilt> {
        let lock = LockGuard::acquire(&self.homes.publish_lock(), INTERACTIVE_WAIT)?;
        let snap = snapshot(
            &self.homes,
            &self.selection,
            &mut self.cache,
            &self.store,
            self.export.as_ref(),
        )?;
        self.cache.save();
        self.followed = snap.followed;
        self.publish(
            &lock,
            snap.files,
            snap.mcp,
            snap.warnings,
            snap.skipped_links,
            snap.rehashed,
        )
    }

    /// Rebuilds after the watcher reported `paths`: rescans only those paths (with the same
    /// walk as [`Self::rebuild`], so both find the same files) and keeps the last revision's
    /// entries for the rest. `config.toml` (the MCP manifest), a root itself, a path outside
    /// the roots (a `follow_links` directory) or a tree with followed links falls back to
    /// [`Self::rebuild`].
    pub fn rebuild_changed(&mut self, paths: &[PathBuf]) -> Result<Rebuilt> {
        let Some(last) = self.last.clone() else {
            return self.rebuild();
        };
        if last.revision.master.fingerprint != self.key.fingerprint || self.followed {
            return self.rebuild();
        }
        let mut files: BTreeMap<(Root, String), FileEntry> = last
            .revision
            .files
            .iter()
            .map(|f| ((f.root, f.path.clone()), f.clone()))
            .collect();
        let mut rehashed = 0;
        let mut warnings = Vec::new();
        let mut skipped_links = Vec::new();
        if paths.iter().any(|abs| match locate(&self.homes, abs) {
            None => true,
            Some((root, rel)) => rel.is_empty() || (root == Root::Codex && rel == "config.toml"),
        }) {
            return self.rebuild();
        }
        let lock = LockGuard::acquire(&self.homes.publish_lock(), INTERACTIVE_WAIT)?;
        for abs in paths {
            let (root, rel) = locate(&self.homes, abs).expect("checked above");
            let (covered, scan) = self.selection.rescan(&self.homes, root, &rel);
            self.followed |= scan.followed;
            let prefix = format!("{covered}/");
            files.retain(|(r, p), _| !(*r == root && (*p == covered || p.starts_with(&prefix))));
            warnings.extend(scan.warnings);
            skipped_links.extend(scan.skipped_links);
            for sel in scan.files {
                if let Some((entry, read)) = self.cache.entry(&self.store, sel)? {
                    rehashed += usize::from(read);
                    files.insert((entry.root, entry.path.clone()), entry);
                }
            }
        }
        self.cache.save();
        // The map's (root, path) order is the order `Selection::select` sorts by.
        let files = files.into_values().collect();
        self.publish(
            &lock,
            files,
            last.revision.mcp.clone(),
            warnings,
            skipped_links,
            rehashed,
        )
    }

    /// Signs and persists a new revision when `files` and `mcp` differ from the last one.
    ///
    /// Under the publisher lock (held from the snapshot on, so `gc` never removes an object
    /// a snapshot just stored), and against `revision.json` as it is on disk: a `master
    /// rebuild` run while `serve` publishes never reuses a `seq`, and `seq` grows only when
    /// `revision` changes.
    fn publish(
        &mut self,
        _lock: &LockGuard,
        files: Vec<FileEntry>,
        mcp: McpManifest,
        warnings: Vec<String>,
        skipped_links: Vec<SkippedLink>,
        rehashed: usize,
    ) -> Result<Rebuilt> {
        let before = self.last.as_ref().map(|l| l.revision.seq);
        if let Some(on_disk) = load_published(&self.homes)?
            && before.is_none_or(|seq| on_disk.revision.seq > seq)
        {
            let on_disk = if on_disk.revision.master.fingerprint == self.key.fingerprint {
                on_disk.rooted(&self.homes, &self.store, &self.key)?
            } else {
                on_disk
            };
            self.last = Some(Arc::new(on_disk));
        }
        let revision = content_hash(&files, &mcp);
        if let Some(last) = &self.last
            && last.revision.revision == revision
            && last.revision.master.fingerprint == self.key.fingerprint
        {
            return Ok(Rebuilt {
                published: last.clone(),
                changed: Some(last.revision.seq) != before,
                rehashed,
                warnings,
                skipped_links,
            });
        }
        let seq = self.last.as_ref().map_or(0, |l| l.revision.seq) + 1;
        let doc = Revision {
            protocol: PROTOCOL,
            seq,
            revision,
            created_at: now_rfc3339(),
            master: MasterInfo {
                fingerprint: self.key.fingerprint.clone(),
                os: std::env::consts::OS.to_owned(),
                home: self.homes.user.to_string_lossy().into_owned(),
                codex_home: self.homes.codex.to_string_lossy().into_owned(),
            },
            files,
            mcp,
        };
        let signed = doc.sign(&self.key).to_bytes();
        // The tree first: `revision.json` never names a revision without its v2 root.
        let published = Published::new(doc, signed).rooted(&self.homes, &self.store, &self.key)?;
        let path = self.homes.published_revision();
        fsx::write_secret(&path, &published.signed).map_err(|e| Error::io("write", path, e))?;
        let published = Arc::new(published);
        self.last = Some(published.clone());
        Ok(Rebuilt {
            published,
            changed: true,
            rehashed,
            warnings,
            skipped_links,
        })
    }
}

/// The master's last published revision (`revision.json`), if any.
pub fn load_published(homes: &Homes) -> Result<Option<Published>> {
    let path = homes.published_revision();
    let Some(bytes) = read_optional(&path)? else {
        return Ok(None);
    };
    let corrupt = |reason: String| Error::Corrupt {
        path: path.clone(),
        reason,
        hint: "delete it and run `codexport master rebuild`".into(),
    };
    let signed = SignedRevision::parse(&bytes).map_err(corrupt)?;
    let revision = signed.document_unverified().map_err(corrupt)?;
    Ok(Some(Published::new(revision, bytes)))
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;
    use crate::mcp::export::PlainExport;

    #[test]
    fn incremental_rebuild_matches_a_full_one() {
        let dir = tempfile::tempdir().unwrap();
        let homes = Homes::new(
            dir.path(),
            dir.path().join(".codex"),
            dir.path().join(".codexport"),
        );
        fs::create_dir_all(homes.codex.join("rules/sub")).unwrap();
        fs::write(homes.codex.join("AGENTS.md"), "a").unwrap();
        fs::write(homes.codex.join("rules/sub/x.rules"), "x").unwrap();
        Identity::Master(MasterKey::generate())
            .save(&homes)
            .unwrap();
        let mut publisher =
            Publisher::new(&homes, &MasterSettings::default(), Arc::new(PlainExport)).unwrap();
        publisher.rebuild().unwrap();

        fs::write(homes.codex.join("AGENTS.md"), "changed").unwrap();
        fs::write(homes.codex.join("rules/new.rules"), "n").unwrap();
        fs::write(homes.codex.join("rules/new.bak.sqlite"), "excluded").unwrap();
        fs::remove_dir_all(homes.codex.join("rules/sub")).unwrap();
        let changed = [
            homes.codex.join("AGENTS.md"),
            homes.codex.join("rules/new.rules"),
            homes.codex.join("rules/new.bak.sqlite"),
            homes.codex.join("rules/sub"),
        ];
        let incremental = publisher.rebuild_changed(&changed).unwrap();
        assert!(incremental.changed);
        assert_eq!(incremental.rehashed, 2);
        let full = publisher.rebuild().unwrap();
        assert!(
            !full.changed,
            "a full rebuild finds nothing the incremental one missed"
        );
        let paths: Vec<&str> = full
            .published
            .revision
            .files
            .iter()
            .map(|f| f.path.as_str())
            .collect();
        assert_eq!(paths, ["AGENTS.md", "rules/new.rules"]);
    }

    /// Random trees (files, links in and out of the roots, into `follow_links`, nested, cycles)
    /// changed by random operations: after each batch, the watcher's incremental rebuild (fed
    /// the paths a watcher reports) publishes exactly what a full rescan finds.
    #[cfg(unix)]
    mod incremental_equals_full {
        use std::path::Path;

        use proptest::prelude::*;

        use super::*;

        const PREFIXES: [&str; 6] = [
            ".codex/skills",
            ".codex/rules",
            ".codex/prompts",
            ".agents/skills",
            "dotfiles/skills",
            "outside",
        ];
        const SUFFIXES: [&str; 7] = ["", "a", "a/SKILL.md", "a/b", "a/b/c.md", "cache/x", "l"];
        /// `@` stands for the temp dir (the user's home).
        const TARGETS: [&str; 11] = [
            "../rules",
            "a",
            "l",
            ".",
            "..",
            "../..",
            "@/outside",
            "@",
            "@/.codexport",
            "@/dotfiles/skills/a",
            "@/.codex/skills",
        ];

        #[derive(Debug, Clone)]
        enum Op {
            Write(usize, u8),
            Mkdir(usize),
            Link(usize, usize),
            Remove(usize),
            Rename(usize, usize),
        }

        fn path(i: usize) -> String {
            let (p, s) = (PREFIXES[i / SUFFIXES.len()], SUFFIXES[i % SUFFIXES.len()]);
            if s.is_empty() {
                p.to_owned()
            } else {
                format!("{p}/{s}")
            }
        }

        fn op() -> impl Strategy<Value = Op> {
            let n = PREFIXES.len() * SUFFIXES.len();
            prop_oneof![
                3 => (0..n, any::<u8>()).prop_map(|(p, b)| Op::Write(p, b)),
                1 => (0..n).prop_map(Op::Mkdir),
                3 => (0..n, 0..TARGETS.len()).prop_map(|(p, t)| Op::Link(p, t)),
                1 => (0..n).prop_map(Op::Remove),
                1 => (0..n, 0..n).prop_map(|(a, b)| Op::Rename(a, b)),
            ]
        }

        /// Where `path` really is: its parent with every link resolved (what inotify, which
        /// watches real directories, reports), or `path` when the parent is gone.
        fn real(path: &Path) -> PathBuf {
            match (path.parent().map(fs::canonicalize), path.file_name()) {
                (Some(Ok(parent)), Some(name)) => parent.join(name),
                _ => path.to_path_buf(),
            }
        }

        /// Applies `op` under `dir` (failures are part of the game) and returns the paths a
        /// watcher reports for it: where the change really happened (and, harmlessly, the
        /// path it was made through).
        fn apply(dir: &Path, op: &Op) -> Vec<PathBuf> {
            let at = |i: usize| dir.join(path(i));
            let both = |p: PathBuf| vec![real(&p), p];
            match op {
                Op::Write(i, byte) => {
                    let p = at(*i);
                    if let Some(parent) = p.parent() {
                        let _ = fs::create_dir_all(parent);
                    }
                    let _ = fs::write(&p, [*byte]);
                    // A write through a link lands on (and may create) its target.
                    let mut reported = both(p.clone());
                    reported.extend(fs::canonicalize(&p));
                    reported
                }
                Op::Mkdir(i) => {
                    let _ = fs::create_dir_all(at(*i));
                    both(at(*i))
                }
                Op::Link(i, t) => {
                    let p = at(*i);
                    let target = TARGETS[*t].replace('@', &dir.to_string_lossy());
                    if let Some(parent) = p.parent() {
                        let _ = fs::create_dir_all(parent);
                    }
                    let _ = std::os::unix::fs::symlink(target, &p);
                    both(p)
                }
                Op::Remove(i) => {
                    let p = at(*i);
                    let reported = both(p.clone());
                    match fs::symlink_metadata(&p) {
                        Ok(m) if m.is_dir() => {
                            let _ = fs::remove_dir_all(&p);
                        }
                        Ok(_) => {
                            let _ = fs::remove_file(&p);
                        }
                        Err(_) => {}
                    }
                    reported
                }
                Op::Rename(a, b) => {
                    let mut reported = both(at(*a));
                    let _ = fs::rename(at(*a), at(*b));
                    reported.extend(both(at(*b)));
                    reported
                }
            }
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]
            #[test]
            fn after_every_batch(
                setup in proptest::collection::vec(op(), 0..12),
                batches in proptest::collection::vec(proptest::collection::vec(op(), 1..5), 1..5),
            ) {
                let dir = tempfile::tempdir().unwrap();
                let dir_path = fs::canonicalize(dir.path()).unwrap();
                let homes = Homes::new(
                    &dir_path,
                    dir_path.join(".codex"),
                    dir_path.join(".codexport"),
                );
                fs::create_dir_all(homes.codex.join("skills")).unwrap();
                fs::create_dir_all(dir_path.join("dotfiles/skills")).unwrap();
                fs::write(homes.codex.join("AGENTS.md"), "a").unwrap();
                Identity::Master(MasterKey::generate()).save(&homes).unwrap();
                fs::write(homes.followers(), "{}").unwrap();
                for op in &setup {
                    apply(&dir_path, op);
                }
                let settings = MasterSettings {
                    follow_links: vec!["~/dotfiles/skills".into()],
                    ..Default::default()
                };
                let mut publisher =
                    Publisher::new(&homes, &settings, Arc::new(PlainExport)).unwrap();
                publisher.rebuild().unwrap();
                let selection = publisher.selection().clone();
                for batch in &batches {
                    let mut reported: Vec<PathBuf> = batch
                        .iter()
                        .flat_map(|op| apply(&dir_path, op))
                        .filter(|p| selection.affects(&homes, p))
                        .collect();
                    reported.sort();
                    reported.dedup();
                    let incremental = publisher.rebuild_changed(&reported).unwrap();
                    let incremental = incremental.published.revision.files.clone();
                    let full = publisher.rebuild().unwrap();
                    prop_assert!(
                        !full.changed,
                        "the full rescan differs:\nincremental {:#?}\nfull {:#?}",
                        incremental,
                        full.published.revision.files
                    );
                    for f in &full.published.revision.files {
                        prop_assert!(!f.path.contains("followers.json"), "{f:?}");
                    }
                }
            }
        }
    }
}
