//! Apply: turn a staged revision into files in the Codex home and the other roots.
//!
//! An apply runs in steps, each its own module: [`desired`] lists the files the revision
//! asks for, [`transform`] layers that set for this machine (config, rules, hooks, skills),
//! [`execute::plan`] decides every write and deletion and verifies every object (a dry run
//! stops here), [`execute::back_up`] saves what the plan replaces (see [`crate::follower::backups`]),
//! and [`execute::commit`] writes through the journal and records `state.json` and
//! `mcp-manifest.json`.

pub mod desired;
pub mod execute;
pub mod transform;

use std::fmt;

use crate::Homes;
use crate::error::Result;
use crate::master::selection::Root;
use crate::revision::Revision;
use crate::settings::LocalSettings;

pub use desired::{DesiredFile, Source, desired_files};
pub use execute::{ApplyReport, MASS_DELETE_MIN, Plan, back_up, commit, plan};
pub use transform::Transformed;

/// A file inside one of the roots: its root and its `/`-separated path there. Shown as
/// `root:path` (`codex:AGENTS.md`), the name reports and backups use.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RootPath {
    /// The root.
    pub root: Root,
    /// Path relative to the root, `/`-separated.
    pub rel: String,
}

impl RootPath {
    /// `rel` inside `root`.
    pub fn new(root: Root, rel: impl Into<String>) -> Self {
        Self {
            root,
            rel: rel.into(),
        }
    }

    /// Whether this is `rel` in the Codex home.
    pub fn is_codex(&self, rel: &str) -> bool {
        self.root == Root::Codex && self.rel == rel
    }

    /// Where the file is on the machine of `homes`.
    pub fn target(&self, homes: &Homes) -> std::path::PathBuf {
        self.root.dir(homes).join(&self.rel)
    }
}

impl fmt::Display for RootPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.root.name(), self.rel)
    }
}

impl PartialEq<&str> for RootPath {
    fn eq(&self, other: &&str) -> bool {
        other
            .split_once(':')
            .is_some_and(|(root, rel)| root == self.root.name() && rel == self.rel)
    }
}

/// How an apply runs.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApplyOptions {
    /// Plan and report, write nothing (no backup, no journal, no state).
    pub dry_run: bool,
    /// `--allow-mass-delete`: apply a revision that deletes more than half of the managed
    /// files (and more than [`MASS_DELETE_MIN`]); without it such a revision stays staged.
    pub allow_mass_delete: bool,
    /// `--discard-journal`: drop an unfinished apply's journal instead of replaying it.
    pub discard_journal: bool,
}

/// Applies `revision` (already verified and fetched) to the homes, layered with `settings`
/// (this follower's `local.toml`). The caller holds the lock.
pub fn apply(homes: &Homes, settings: &LocalSettings, revision: &Revision) -> Result<ApplyReport> {
    apply_with(homes, settings, revision, ApplyOptions::default())
}

/// [`apply`] with options: a dry run stops after the plan. A journal left by a killed apply
/// is replayed first (or discarded, when asked). A mass deletion stops here unless allowed.
pub fn apply_with(
    homes: &Homes,
    settings: &LocalSettings,
    revision: &Revision,
    options: ApplyOptions,
) -> Result<ApplyReport> {
    recover(homes, options.discard_journal)?;
    let transformed = transform::transform(homes, settings, revision, desired_files(revision))?;
    let plan = plan(homes, revision, &transformed)?;
    if options.dry_run {
        let mut report = plan.into_report();
        report.dry_run = true;
        return Ok(report);
    }
    if let Some((count, managed)) = plan.mass_delete()
        && !options.allow_mass_delete
    {
        return Err(crate::Error::MassDelete { count, managed });
    }
    let backup = back_up(homes, &plan)?;
    commit(homes, plan, backup)
}

/// Finishes an apply that a kill interrupted (replays its journal), if any; with `discard`
/// drops it instead (the apply that follows plans from what is on disk). The caller holds
/// the lock. Returns whether there was one.
pub fn recover(homes: &Homes, discard: bool) -> Result<bool> {
    if discard {
        let had = crate::follower::journal::discard(&homes.journal())?;
        if had {
            tracing::warn!("discarded the journal of an unfinished apply");
        }
        return Ok(had);
    }
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

    /// A regular file of the Codex home.
    fn codex(store: &ObjectStore, path: &str, bytes: &[u8]) -> FileEntry {
        file(store, Root::Codex, path, bytes, FileClass::Regular)
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
                codex(&store, "AGENTS.md", b"canon"),
                file(&store, Root::Codex, "auth.json", b"{}", FileClass::Secret),
                codex(&store, "rules/a.rules", b"a"),
                file(
                    &store,
                    Root::Tool,
                    "resolvers/p.wasm",
                    b"wasm",
                    FileClass::Regular,
                ),
            ],
        );
        let report = apply(&h, &LocalSettings::default(), &first).unwrap();
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
        let report = apply(&h, &LocalSettings::default(), &second).unwrap();
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
        let good = codex(&store, "AGENTS.md", b"good");
        let bad = codex(&store, "RTK.md", b"bad");
        fs::write(store.path(&bad.sha256).unwrap(), b"tampered").unwrap();
        let err = apply(&h, &LocalSettings::default(), &revision(1, vec![good, bad])).unwrap_err();
        assert!(matches!(err, crate::Error::HashMismatch { .. }), "{err}");
        assert!(!h.codex.join("AGENTS.md").exists());
        assert!(!h.state().exists());
    }

    #[test]
    fn a_dry_run_stops_after_the_plan() {
        let dir = tempfile::tempdir().unwrap();
        let h = homes(dir.path());
        let store = ObjectStore::new(h.objects());
        fs::create_dir_all(&h.codex).unwrap();
        fs::write(h.codex.join("AGENTS.md"), "local").unwrap();
        let rev = revision(
            1,
            vec![
                codex(&store, "AGENTS.md", b"canon"),
                codex(&store, "RTK.md", b"new"),
            ],
        );
        let report = apply_with(
            &h,
            &LocalSettings::default(),
            &rev,
            ApplyOptions {
                dry_run: true,
                ..ApplyOptions::default()
            },
        )
        .unwrap();
        assert!(report.dry_run);
        assert_eq!(report.written, ["codex:AGENTS.md", "codex:RTK.md"]);
        assert_eq!(report.added, ["codex:RTK.md"]);
        assert_eq!(report.backup_dir, None);
        assert_eq!(
            fs::read_to_string(h.codex.join("AGENTS.md")).unwrap(),
            "local"
        );
        assert!(!h.codex.join("RTK.md").exists());
        assert!(!h.backups().exists() && !h.journal().exists() && !h.state().exists());
    }

    #[test]
    fn a_bad_object_name_is_an_invalid_revision() {
        use crate::exit::{Diagnose, ExitStatus};
        let dir = tempfile::tempdir().unwrap();
        let h = homes(dir.path());
        let store = ObjectStore::new(h.objects());
        // Past `Revision::check` (a revision staged by an older build, say): the apply still
        // refuses the name before it becomes a path.
        for path in ["AGENTS.md", "config.toml"] {
            let mut bad = codex(&store, path, b"x");
            bad.sha256 = "../../../etc/passwd".into();
            let err = apply(&h, &LocalSettings::default(), &revision(1, vec![bad])).unwrap_err();
            assert!(matches!(err, crate::Error::InvalidRevision(_)), "{err}");
            assert_eq!(err.exit_status(), ExitStatus::InvalidInput);
            assert!(err.to_string().contains("`../../../etc/passwd`"), "{err}");
            assert!(!h.codex.join(path).exists() && !h.state().exists());
        }
    }
}
