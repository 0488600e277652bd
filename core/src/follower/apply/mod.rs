//! Apply: turn a staged revision into files in the Codex home and the other roots.
//!
//! Three stages, each its own module so later work can hook in:
//! [`desired`] computes the files the revision asks for, [`transform`] rewrites that set
//! (config layering and overlays go there), [`execute`] backs up, writes atomically, deletes
//! only managed files, and records `state.json` and `mcp-manifest.json`.

pub mod desired;
pub mod execute;
pub mod restore;
pub mod transform;

use crate::Homes;
use crate::error::Result;
use crate::revision::Revision;

pub use desired::{DesiredFile, Source, desired_files};
pub use execute::{ApplyReport, ExecuteOptions, execute};
pub use restore::{RestoreReport, restore};
pub use transform::Transformed;

/// Applies `revision` (already verified and fetched) to the homes. The caller holds the lock.
pub fn apply(homes: &Homes, revision: &Revision) -> Result<ApplyReport> {
    apply_with(homes, revision, ExecuteOptions::default())
}

/// [`apply`] with options (`--dry-run`). A journal left by a killed apply is replayed first.
pub fn apply_with(
    homes: &Homes,
    revision: &Revision,
    options: ExecuteOptions,
) -> Result<ApplyReport> {
    recover(homes)?;
    let files = desired_files(revision);
    // Config transforms (hook trust, ...) join here, in order.
    let transformed = transform::transform(homes, revision, files, &[])?;
    execute(homes, revision, &transformed, options)
}

/// Finishes an apply that a kill interrupted (replays its journal), if any. The caller
/// holds the lock. Returns whether there was one.
pub fn recover(homes: &Homes) -> Result<bool> {
    let replayed = crate::follower::journal::Journal::recover(&homes.journal())?;
    if let Some(n) = replayed {
        tracing::warn!("finished an interrupted apply ({n} operations replayed)");
    }
    Ok(replayed.is_some())
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;
    use crate::follower::state::State;
    use crate::master::selection::{FileClass, Root};
    use crate::mcp::manifest::McpManifest;
    use crate::revision::{FileEntry, MasterInfo, PROTOCOL, content_hash};
    use crate::store::ObjectStore;

    fn homes(dir: &std::path::Path) -> Homes {
        Homes::new(dir, dir.join(".codex"), dir.join(".codexport"))
    }

    fn revision(seq: u64, files: Vec<FileEntry>) -> Revision {
        let mcp = McpManifest::default();
        Revision {
            protocol: PROTOCOL,
            seq,
            revision: content_hash(&files, &mcp),
            created_at: String::new(),
            master: MasterInfo {
                fingerprint: String::new(),
                os: "linux".into(),
                home: "/m".into(),
                codex_home: "/m/.codex".into(),
            },
            files,
            mcp,
        }
    }

    fn file(
        store: &ObjectStore,
        root: Root,
        path: &str,
        bytes: &[u8],
        class: FileClass,
    ) -> FileEntry {
        FileEntry {
            root,
            path: path.into(),
            sha256: store.put(bytes).unwrap(),
            size: bytes.len() as u64,
            mode: 0o644,
            class,
            link: None,
        }
    }

    #[test]
    fn writes_backs_up_and_deletes_only_managed_files() {
        let dir = tempfile::tempdir().unwrap();
        let h = homes(dir.path());
        let store = ObjectStore::new(h.objects());
        fs::create_dir_all(&h.codex).unwrap();
        fs::write(h.codex.join("AGENTS.md"), "local").unwrap();
        fs::write(h.codex.join("mine.md"), "never managed").unwrap();
        let first = revision(
            1,
            vec![
                file(
                    &store,
                    Root::Codex,
                    "AGENTS.md",
                    b"canon",
                    FileClass::Regular,
                ),
                file(&store, Root::Codex, "auth.json", b"{}", FileClass::Secret),
                file(
                    &store,
                    Root::Codex,
                    "rules/a.rules",
                    b"a",
                    FileClass::Regular,
                ),
                file(
                    &store,
                    Root::Tool,
                    "resolvers/p.wasm",
                    b"wasm",
                    FileClass::Regular,
                ),
            ],
        );
        let report = apply(&h, &first).unwrap();
        assert_eq!(report.written.len(), 4);
        assert_eq!(
            fs::read_to_string(h.codex.join("AGENTS.md")).unwrap(),
            "canon"
        );
        assert_eq!(fs::read(h.tool.join("resolvers/p.wasm")).unwrap(), b"wasm");
        #[cfg(unix)]
        assert_eq!(
            crate::fsx::mode_of(&fs::metadata(h.codex.join("auth.json")).unwrap()),
            0o600
        );
        let backup = report.backup_dir.unwrap();
        assert_eq!(
            fs::read_to_string(backup.join("codex/AGENTS.md")).unwrap(),
            "local"
        );

        // The master drops rules/a.rules: it goes, mine.md (never managed) stays.
        let second = revision(2, first.files[..2].to_vec());
        let report = apply(&h, &second).unwrap();
        assert_eq!(
            report.deleted,
            ["codex:rules/a.rules", "tool:resolvers/p.wasm"]
        );
        assert!(!h.codex.join("rules").exists(), "empty parents are removed");
        assert_eq!(
            fs::read_to_string(h.codex.join("mine.md")).unwrap(),
            "never managed"
        );
        let state = State::load(&h).unwrap();
        assert_eq!(state.applied.unwrap().seq, 2);
        assert_eq!(state.managed[&Root::Codex].len(), 2);
    }

    #[test]
    fn a_corrupt_object_stops_the_apply_before_any_write() {
        let dir = tempfile::tempdir().unwrap();
        let h = homes(dir.path());
        let store = ObjectStore::new(h.objects());
        let good = file(
            &store,
            Root::Codex,
            "AGENTS.md",
            b"good",
            FileClass::Regular,
        );
        let bad = file(&store, Root::Codex, "RTK.md", b"bad", FileClass::Regular);
        fs::write(store.path(&bad.sha256).unwrap(), b"tampered").unwrap();
        let err = apply(&h, &revision(1, vec![good, bad])).unwrap_err();
        assert!(matches!(err, crate::Error::HashMismatch { .. }), "{err}");
        assert!(!h.codex.join("AGENTS.md").exists());
        assert!(!h.state().exists());
    }
}
