//! The master's publisher: snapshot, compare, sign and persist a new revision when content changed.

use std::collections::HashSet;
use std::sync::Arc;

use crate::config::MasterConfig;
use crate::error::{Error, Result};
use crate::identity::{Identity, MasterKey, now_rfc3339, read_optional};
use crate::mcp_export::McpExport;
use crate::revision::{MasterInfo, PROTOCOL, Revision, SignedRevision, content_hash};
use crate::selection::Selection;
use crate::snapshot::{HashCache, snapshot};
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
    /// Loads the key, `master.toml`, the hash cache and the last published revision.
    pub fn new(homes: &Homes, export: Arc<dyn McpExport>) -> Result<Self> {
        let key = Identity::load_master(homes)?;
        let config = MasterConfig::load(homes)?;
        Ok(Self {
            selection: Selection::new(&config),
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
        let revision = content_hash(&snap.files, &snap.mcp);
        if let Some(last) = &self.last
            && last.revision.revision == revision
            && last.revision.master.fingerprint == self.key.fingerprint
        {
            return Ok(Rebuilt {
                published: last.clone(),
                changed: false,
                rehashed: snap.rehashed,
                warnings: snap.warnings,
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
            files: snap.files,
            mcp: snap.mcp,
        };
        let signed = doc.sign(&self.key).to_bytes();
        let path = self.homes.published_revision();
        fsx::write_secret(&path, &signed).map_err(|e| Error::io("write", path, e))?;
        let published = Arc::new(Published::new(doc, signed));
        self.last = Some(published.clone());
        Ok(Rebuilt {
            published,
            changed: true,
            rehashed: snap.rehashed,
            warnings: snap.warnings,
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
