//! The master's publisher: snapshot, compare, sign and persist a new revision when content changed.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;

use crate::clock::now_rfc3339;
use crate::error::{Error, Result};
use crate::fsx::read_optional;
use crate::identity::{Identity, MasterKey};
use crate::master::selection::{Root, Selection, check_rel_path, classify};
use crate::master::snapshot::{HashCache, snapshot};
use crate::mcp::export::McpExport;
use crate::mcp::manifest::McpManifest;
use crate::revision::{FileEntry, MasterInfo, PROTOCOL, Revision, SignedRevision, content_hash};
use crate::settings::MasterSettings;
use crate::store::ObjectStore;
use crate::{Homes, fsx};

/// A revision as served: the document, its signed bytes, and the objects it may hand out.
#[derive(Debug, Clone)]
pub struct Published {
    /// The document.
    pub revision: Revision,
    /// The signed envelope's bytes (what `/v1/revision` sends).
    pub signed: Vec<u8>,
    /// Objects the server may serve: exactly the ones this revision references.
    pub objects: HashSet<String>,
}

impl Published {
    fn new(revision: Revision, signed: Vec<u8>) -> Self {
        Self {
            objects: revision.objects().into_iter().collect(),
            revision,
            signed,
        }
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
        Ok(Self {
            selection: Selection::new(settings),
            store: ObjectStore::new(homes.objects()),
            cache: HashCache::load(homes),
            last: load_published(homes)?.map(Arc::new),
            homes: homes.clone(),
            key,
            export,
        })
    }

    /// The selection rules (the watcher filters events with them).
    pub fn selection(&self) -> &Selection {
        &self.selection
    }

    /// Snapshots the homes; signs and persists a new revision when the content changed.
    pub fn rebuild(&mut self) -> Result<Rebuilt> {
        let snap = snapshot(
            &self.homes,
            &self.selection,
            &mut self.cache,
            &self.store,
            self.export.as_ref(),
        )?;
        self.cache.save();
        self.publish(snap.files, snap.mcp, snap.warnings, snap.rehashed)
    }

    /// Rebuilds after the watcher reported `paths`: re-reads only those files and keeps the
    /// last revision's entries for the rest. Anything one path cannot settle (a directory, a
    /// symlink, `config.toml`, a path outside the roots) falls back to [`Self::rebuild`].
    pub fn rebuild_changed(&mut self, paths: &[PathBuf]) -> Result<Rebuilt> {
        let Some(last) = self.last.clone() else {
            return self.rebuild();
        };
        if last.revision.master.fingerprint != self.key.fingerprint {
            return self.rebuild();
        }
        let mut files: BTreeMap<(Root, String), FileEntry> = last
            .revision
            .files
            .iter()
            .map(|f| ((f.root, f.path.clone()), f.clone()))
            .collect();
        let mut rehashed = 0;
        for abs in paths {
            let Some((root, rel)) = locate(&self.homes, abs) else {
                return self.rebuild();
            };
            if root == Root::Codex && rel == "config.toml" {
                return self.rebuild();
            }
            match std::fs::symlink_metadata(abs) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    let prefix = format!("{rel}/");
                    files
                        .retain(|(r, p), _| !(*r == root && (*p == rel || p.starts_with(&prefix))));
                }
                Ok(meta) if meta.is_file() => {
                    if !self.selection.selects(root, &rel) || check_rel_path(&rel).is_err() {
                        files.remove(&(root, rel));
                        continue;
                    }
                    let key = format!("{}:{rel}", root.name());
                    let (sha256, read) = self.cache.hash_one(&self.store, key, abs, &meta)?;
                    rehashed += usize::from(read);
                    files.insert(
                        (root, rel.clone()),
                        FileEntry {
                            root,
                            class: classify(root, &rel),
                            path: rel,
                            sha256,
                            size: meta.len(),
                            mode: fsx::mode_of(&meta),
                            link: None,
                        },
                    );
                }
                Ok(_) => return self.rebuild(),
                Err(e) => return Err(Error::io("read", abs, e)),
            }
        }
        self.cache.save();
        // The map's (root, path) order is the order `Selection::select` sorts by.
        let files = files.into_values().collect();
        self.publish(files, last.revision.mcp.clone(), Vec::new(), rehashed)
    }

    /// Signs and persists a new revision when `files` and `mcp` differ from the last one.
    fn publish(
        &mut self,
        files: Vec<FileEntry>,
        mcp: McpManifest,
        warnings: Vec<String>,
        rehashed: usize,
    ) -> Result<Rebuilt> {
        let revision = content_hash(&files, &mcp);
        if let Some(last) = &self.last
            && last.revision.revision == revision
            && last.revision.master.fingerprint == self.key.fingerprint
        {
            return Ok(Rebuilt {
                published: last.clone(),
                changed: false,
                rehashed,
                warnings,
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
        let path = self.homes.published_revision();
        fsx::write_secret(&path, &signed).map_err(|e| Error::io("write", path, e))?;
        let published = Arc::new(Published::new(doc, signed));
        self.last = Some(published.clone());
        Ok(Rebuilt {
            published,
            changed: true,
            rehashed,
            warnings,
        })
    }
}

/// The root and relative path of an absolute path inside one of the synced roots.
fn locate(homes: &Homes, abs: &std::path::Path) -> Option<(Root, String)> {
    [Root::Codex, Root::Agents, Root::Tool]
        .into_iter()
        .find_map(|root| {
            let rel = abs.strip_prefix(root.dir(homes)).ok()?;
            let rel = rel.to_str()?.replace('\\', "/");
            (!rel.is_empty()).then_some((root, rel))
        })
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
}
