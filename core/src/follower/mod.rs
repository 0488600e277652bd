//! The follower: join a master, pull (verify, fetch what is missing, stage), apply; and what
//! apply needs: layering, the journal, backups, `state.json`, the protocol client.

pub mod apply;
pub mod backups;
#[cfg(feature = "net")]
pub mod client;
pub(crate) mod journal;
pub mod layer;
// Without `net` only apply uses it; what a pull writes goes unused.
#[cfg_attr(not(feature = "net"), allow(dead_code, unreachable_pub))]
pub(crate) mod stage;
// Without `net` only apply uses it; what a pull writes goes unused.
#[cfg_attr(not(feature = "net"), allow(dead_code, unreachable_pub))]
pub(crate) mod state;

use std::time::Duration;

use crate::Homes;
use crate::error::{Error, Result};
use crate::follower::apply::{ApplyOptions, ApplyReport};
use crate::follower::state::State;
use crate::identity::Identity;
use crate::lock::{INTERACTIVE_WAIT, LockGuard, Wait};
use crate::settings::LocalSettings;

// Pulling from a master (join, sync) needs the protocol client and a runtime.
#[cfg(feature = "net")]
use {
    crate::clock::now_rfc3339,
    crate::follower::client::{Client, Fetched, MAX_UNSIZED_OBJECT_BYTES, Wanted},
    crate::follower::state::{Head, LastSync, Staged},
    crate::identity::{Trust, fingerprint},
    crate::revision::{Revision, SignedRevision},
    crate::store::ObjectStore,
    crate::tree,
    std::future::Future,
};

/// How a sync runs.
#[derive(Debug, Clone, Copy)]
pub struct SyncOptions {
    /// Bounds the whole exchange with the master, from the first connect to the last byte
    /// of the last object (`--timeout`); a master that answers slowly or drips its bytes is
    /// cut off when it runs out.
    pub timeout: Duration,
    /// Apply the staged revision afterwards.
    pub apply: bool,
    /// How long to wait for another sync/apply to release the lock.
    pub lock_wait: Wait,
    /// Fetch and verify, then report what an apply would do; stage and write nothing.
    pub dry_run: bool,
    /// Apply even a revision that deletes most managed files (see [`ApplyOptions`]).
    pub allow_mass_delete: bool,
    /// Drop an unfinished apply's journal instead of replaying it.
    pub discard_journal: bool,
}

impl Default for SyncOptions {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(30),
            apply: false,
            lock_wait: INTERACTIVE_WAIT,
            dry_run: false,
            allow_mass_delete: false,
            discard_journal: false,
        }
    }
}

/// What a pull found.
#[derive(Debug, Clone)]
pub struct SyncOutcome {
    /// The master's seq and revision now staged (the old one when unchanged).
    pub staged: Option<(u64, String)>,
    /// Whether a new revision was staged.
    pub new_revision: bool,
    /// File and MCP artifact objects fetched (v2's tree nodes are not counted).
    pub fetched_objects: usize,
    /// Bytes of the object streams (v2's tree nodes included).
    pub fetched_bytes: u64,
    /// What apply did, when it ran and there was something to apply.
    pub applied: Option<ApplyReport>,
    /// What the object store collection after that apply removed.
    pub collected: Option<crate::gc::GcReport>,
}

/// Where and how to join.
#[derive(Debug, Clone)]
pub struct JoinRequest {
    /// The master's base URL.
    pub url: String,
    /// The expected fingerprint.
    pub fingerprint: String,
    /// The bearer token.
    pub token: String,
}

#[cfg(feature = "net")]
fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::io("start the runtime for", ".", e))
}

/// Runs one exchange with the master within the client's budget.
#[cfg(feature = "net")]
fn block_on<T>(client: &Client, fut: impl Future<Output = Result<T>>) -> Result<T> {
    runtime()?.block_on(async {
        tokio::time::timeout(client.timeout(), fut)
            .await
            .unwrap_or_else(|_| Err(client.timed_out()))
    })
}

/// Joins a master: checks its key against the fingerprint, pulls a first revision with it,
/// then pins the key, stores the token and the URL, and optionally applies.
#[cfg(feature = "net")]
pub fn join(homes: &Homes, request: &JoinRequest, options: SyncOptions) -> Result<SyncOutcome> {
    let _lock = LockGuard::acquire(&homes.lock(), options.lock_wait)?;
    apply::recover(homes, options.discard_journal)?;
    // Read under the lock, once: what `hook install|uninstall` recorded last is what applies.
    let mut settings = LocalSettings::load(homes)?;
    match Identity::load(homes)? {
        Some(Identity::Master(_)) => {
            return Err(Error::WrongRole(
                "this machine is a master; a master cannot follow another one".into(),
                "join from another machine, or move `~/.codexport/identity.json` away".into(),
            ));
        }
        Some(Identity::Follower(pinned)) if pinned.fingerprint != request.fingerprint => {
            return Err(Error::KeyChanged {
                pinned: pinned.fingerprint,
                actual: request.fingerprint.clone(),
            });
        }
        _ => {}
    }
    let head = State::load_head(homes)?;
    let client = Client::new(
        &request.url,
        Some(&request.token),
        &request.fingerprint,
        options.timeout,
    )?;
    let (trust, pulled) = block_on(&client, async {
        let meta = client.meta().await?;
        // Only the key counts, and only its locally computed fingerprint is ever shown: the
        // `fingerprint` text beside it is the master's to choose.
        let key_fp = meta_key_fingerprint(&client, &meta)?;
        if key_fp != request.fingerprint {
            return Err(Error::FingerprintMismatch {
                url: request.url.clone(),
                expected: request.fingerprint.clone(),
                actual: key_fp,
            });
        }
        let trust = Trust {
            master_public_key: meta.public_key,
            fingerprint: request.fingerprint.clone(),
            token: request.token.clone(),
            pinned_at: now_rfc3339(),
        };
        // A fresh join always fetches the document: it is what proves the key signs.
        let known = Known {
            etag: None,
            revision: head.known_revision(),
            seq: head.known_seq(),
        };
        let pulled = pull(homes, &client, &trust, known).await?;
        // An invite link's token is exchanged for this follower's own (then the link refuses
        // when it was single-use); a plain link's token is kept.
        let trust = match client.redeem().await? {
            Some(own) => Trust {
                token: own,
                ..trust
            },
            None => trust,
        };
        Ok((trust, pulled))
    })?;
    Identity::Follower(trust.clone()).save(homes)?;
    settings.set_master(homes, &request.url)?;
    finish(homes, &settings, &trust, &head, pulled, options)
}

/// Pulls from the pinned master and stages what is new; applies when asked.
#[cfg(feature = "net")]
pub fn sync(homes: &Homes, options: SyncOptions) -> Result<SyncOutcome> {
    sync_gated(homes, options, &LocalGate::default())
}

/// [`sync`] for a caller that bounds it in time and may stop waiting (the SessionStart
/// hook): the local steps (replaying a journal, staging and applying) run inside `gate`, so
/// once one starts it finishes; after [`LocalGate::abandon`] no local step starts.
#[cfg(feature = "net")]
pub fn sync_gated(homes: &Homes, options: SyncOptions, gate: &LocalGate) -> Result<SyncOutcome> {
    let result = sync_inner(homes, options, gate);
    LastSync::record(homes, result.as_ref().err().map(ToString::to_string));
    result
}

/// Where a time-bounded sync stands: on the network (the caller may give up at any moment)
/// or changing local files (the caller waits for the step to finish).
#[derive(Debug, Default)]
#[cfg(feature = "net")]
pub struct LocalGate {
    state: std::sync::Mutex<GateState>,
    changed: std::sync::Condvar,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
#[cfg(feature = "net")]
enum GateState {
    #[default]
    Network,
    Local,
    Abandoned,
}

#[cfg(feature = "net")]
impl LocalGate {
    /// Starts a local step; `None` when the caller gave up (then no local step starts).
    fn enter(&self) -> Option<GateGuard<'_>> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if *state == GateState::Abandoned {
            return None;
        }
        *state = GateState::Local;
        Some(GateGuard(self))
    }

    /// The caller stops waiting: a local step in progress is waited for (it is local and
    /// journaled, so it ends soon), and none starts after. Returns whether one was waited for.
    pub fn abandon(&self) -> bool {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let mut waited = false;
        while *state == GateState::Local {
            waited = true;
            state = self.changed.wait(state).unwrap_or_else(|e| e.into_inner());
        }
        *state = GateState::Abandoned;
        waited
    }
}

/// A local step in progress; dropping it ends the step.
#[cfg(feature = "net")]
struct GateGuard<'a>(&'a LocalGate);

#[cfg(feature = "net")]
impl Drop for GateGuard<'_> {
    fn drop(&mut self) {
        let mut state = self.0.state.lock().unwrap_or_else(|e| e.into_inner());
        if *state == GateState::Local {
            *state = GateState::Network;
        }
        self.0.changed.notify_all();
    }
}

/// What a sync whose caller gave up before a local step returns (nobody reads it).
#[cfg(feature = "net")]
fn abandoned() -> Result<SyncOutcome> {
    Ok(SyncOutcome {
        staged: None,
        new_revision: false,
        fetched_objects: 0,
        fetched_bytes: 0,
        applied: None,
        collected: None,
    })
}

#[cfg(feature = "net")]
fn sync_inner(homes: &Homes, options: SyncOptions, gate: &LocalGate) -> Result<SyncOutcome> {
    let _lock = LockGuard::acquire(&homes.lock(), options.lock_wait)?;
    {
        let Some(_local) = gate.enter() else {
            return abandoned();
        };
        apply::recover(homes, options.discard_journal)?;
    }
    // A `local.toml` of the original tool (no identity of ours yet) is told as such, not as
    // "not joined".
    let settings = LocalSettings::load(homes)?;
    settings.refuse_original_tool(homes)?;
    let trust = Identity::load_follower(homes)?;
    let url = settings.master_url(homes)?;
    let head = State::load_head(homes)?;
    let client = Client::new(url, Some(&trust.token), &trust.fingerprint, options.timeout)?;
    // An apply still pending may lack objects (one found corrupt is removed): ask for the
    // full document then, so missing objects are fetched even when nothing is new.
    let etag = if options.apply && !head.staged_is_applied() {
        None
    } else {
        head.known_revision()
    };
    let pulled = block_on(
        &client,
        pull(
            homes,
            &client,
            &trust,
            Known {
                etag,
                revision: head.known_revision(),
                seq: head.known_seq(),
            },
        ),
    )?;
    let Some(_local) = gate.enter() else {
        return abandoned();
    };
    finish(homes, &settings, &trust, &head, pulled, options)
}

/// The fingerprint of the key `/v1/meta` presents, computed here.
#[cfg(feature = "net")]
fn meta_key_fingerprint(client: &Client, meta: &crate::master::server::Meta) -> Result<String> {
    crate::identity::decode_public_key(&meta.public_key)
        .map(|k| fingerprint(k.as_bytes()))
        .ok_or_else(|| Error::Protocol {
            url: client.base().to_owned(),
            reason: "`/v1/meta` holds no Ed25519 public key".to_owned(),
        })
}

/// A revision that does not verify with the pinned key is a key change only when the key
/// `/v1/meta` presents now verifies it; anything else is a bad signature. Either way no word
/// of the unverified document is reported.
#[cfg(feature = "net")]
async fn diagnose_bad_signature(client: &Client, signed: &SignedRevision, err: Error) -> Error {
    let Error::BadSignature(pinned) = err else {
        return err;
    };
    let Ok(meta) = client.meta().await else {
        return Error::BadSignature(pinned);
    };
    match crate::identity::decode_public_key(&meta.public_key) {
        Some(key)
            if crate::identity::verify(&key, signed.document.as_bytes(), &signed.signature) =>
        {
            Error::KeyChanged {
                pinned,
                actual: fingerprint(key.as_bytes()),
            }
        }
        _ => Error::BadSignature(pinned),
    }
}

/// A new revision: the verified document, its envelope, and what fetching it cost.
#[cfg(feature = "net")]
struct Pulled {
    new: Option<(Revision, Vec<u8>)>,
    objects: usize,
    bytes: u64,
}

#[cfg(feature = "net")]
const UNCHANGED: Pulled = Pulled {
    new: None,
    objects: 0,
    bytes: 0,
};

/// What the follower already has: the revision to send as `If-None-Match`, the revision
/// and seq it knows.
#[cfg(feature = "net")]
struct Known<'a> {
    etag: Option<&'a str>,
    revision: Option<&'a str>,
    seq: u64,
}

/// Pulls the v2 tree root, or the v1 revision from a master that serves no v2.
#[cfg(feature = "net")]
async fn pull(homes: &Homes, client: &Client, trust: &Trust, known: Known<'_>) -> Result<Pulled> {
    if std::env::var(crate::env::PROTOCOL).is_ok_and(|v| v == "1") {
        return pull_v1(homes, client, trust, known).await;
    }
    match client.tree_root(known.etag).await? {
        Some(Fetched::NotModified) => Ok(UNCHANGED),
        Some(Fetched::Revision(envelope)) => pull_tree(homes, client, trust, known, envelope).await,
        None => pull_v1(homes, client, trust, known).await,
    }
}

/// Refuses a changed revision whose seq is not above the highest one seen.
#[cfg(feature = "net")]
fn check_seq(known: &Known<'_>, revision: &str, seq: u64) -> Result<bool> {
    let unchanged = known.revision == Some(revision);
    if !unchanged && known.seq > 0 && seq <= known.seq {
        return Err(Error::Rollback {
            known: known.seq,
            offered: seq,
        });
    }
    Ok(unchanged)
}

/// The v2 walk: verifies the root, then fetches level by level only the nodes the store
/// lacks (each verified by its hash and bounded, [`crate::tree::Walk`]), rebuilds the v1
/// revision from them and checks it as v1 does, then fetches the files the store lacks.
#[cfg(feature = "net")]
async fn pull_tree(
    homes: &Homes,
    client: &Client,
    trust: &Trust,
    known: Known<'_>,
    envelope: Vec<u8>,
) -> Result<Pulled> {
    let signed = SignedRevision::parse(&envelope).map_err(|reason| Error::Protocol {
        url: client.base().to_owned(),
        reason: format!("the tree root envelope {reason}"),
    })?;
    let root = match tree::TreeRoot::verify(&signed, trust, client.base()) {
        Ok(root) => root,
        Err(e) => return Err(diagnose_bad_signature(client, &signed, e).await),
    };
    let unchanged = check_seq(&known, &root.revision, root.seq)?;
    let store = ObjectStore::new(homes.objects());
    let mut bytes = 0;
    let mut first = Vec::new();
    if !store.contains(&root.mcp) {
        first.push(Wanted {
            hash: root.mcp.clone(),
            limit: tree::MAX_MANIFEST_BYTES,
        });
    }
    let mut walk = tree::Walk::new(root);
    while !walk.done() {
        let mut missing = std::mem::take(&mut first);
        missing.extend(
            walk.wanted(&store)
                .into_iter()
                .filter(|h| !missing.iter().any(|w| w.hash == *h))
                .map(|hash| Wanted {
                    hash,
                    limit: tree::MAX_NODE_BYTES,
                })
                .collect::<Vec<_>>(),
        );
        bytes += client.fetch_objects(2, &missing, &store).await?;
        walk.step(&store)?;
    }
    let mcp = tree::read_manifest(&store, &walk.root().mcp)?;
    let revision = walk.finish(mcp)?;
    let missing: Vec<Wanted> = wanted(&revision)
        .into_iter()
        .filter(|w| !store.contains(&w.hash))
        .collect();
    bytes += client.fetch_objects(2, &missing, &store).await?;
    Ok(Pulled {
        new: (!unchanged).then_some((revision, envelope)),
        objects: missing.len(),
        bytes,
    })
}

#[cfg(feature = "net")]
async fn pull_v1(
    homes: &Homes,
    client: &Client,
    trust: &Trust,
    known: Known<'_>,
) -> Result<Pulled> {
    let envelope = match client.revision(known.etag).await? {
        Fetched::NotModified => return Ok(UNCHANGED),
        Fetched::Revision(bytes) => bytes,
    };
    let signed = SignedRevision::parse(&envelope).map_err(|reason| Error::Protocol {
        url: client.base().to_owned(),
        reason: format!("the revision envelope {reason}"),
    })?;
    let revision = match signed.verify(trust, client.base()) {
        Ok(revision) => revision,
        Err(e) => return Err(diagnose_bad_signature(client, &signed, e).await),
    };
    let unchanged = check_seq(&known, &revision.revision, revision.seq)?;
    let store = ObjectStore::new(homes.objects());
    let missing: Vec<Wanted> = wanted(&revision)
        .into_iter()
        .filter(|w| !store.contains(&w.hash))
        .collect();
    let bytes = client.fetch_objects(1, &missing, &store).await?;
    Ok(Pulled {
        new: (!unchanged).then_some((revision, envelope)),
        objects: missing.len(),
        bytes,
    })
}

/// Every object of a verified revision with the most bytes its frame may carry: a file's
/// signed `size`, the unsized cap for an MCP artifact.
#[cfg(feature = "net")]
fn wanted(revision: &Revision) -> Vec<Wanted> {
    let sizes: std::collections::BTreeMap<&str, u64> = revision
        .files
        .iter()
        .filter(|f| f.link.is_none())
        .map(|f| (f.sha256.as_str(), f.size))
        .collect();
    revision
        .objects()
        .into_iter()
        .map(|hash| Wanted {
            limit: sizes
                .get(hash.as_str())
                .copied()
                .unwrap_or(MAX_UNSIZED_OBJECT_BYTES),
            hash,
        })
        .collect()
}

/// Stages a new revision (and records its seq), then applies when asked and needed.
#[cfg(feature = "net")]
fn finish(
    homes: &Homes,
    settings: &LocalSettings,
    trust: &Trust,
    head: &Head,
    pulled: Pulled,
    options: SyncOptions,
) -> Result<SyncOutcome> {
    if options.dry_run {
        // What applying the newest revision would change; nothing is staged or written.
        let new_revision = pulled.new.is_some();
        let revision = match pulled.new {
            Some((revision, _)) => Some(revision),
            None => stage::load(homes, trust)?,
        };
        let applied = revision
            .as_ref()
            .map(|r| {
                let dry = ApplyOptions {
                    dry_run: true,
                    ..ApplyOptions::default()
                };
                apply::apply_with(homes, settings, r, dry)
            })
            .transpose()?;
        return Ok(SyncOutcome {
            staged: revision.as_ref().map(|r| (r.seq, r.revision.clone())),
            new_revision,
            fetched_objects: pulled.objects,
            fetched_bytes: pulled.bytes,
            applied,
            collected: None,
        });
    }
    let mut outcome = SyncOutcome {
        staged: head.staged.as_ref().map(|s| (s.seq, s.revision.clone())),
        new_revision: pulled.new.is_some(),
        fetched_objects: pulled.objects,
        fetched_bytes: pulled.bytes,
        applied: None,
        collected: None,
    };
    let revision = match pulled.new {
        Some((revision, envelope)) => {
            stage::save(homes, revision.seq, &envelope)?;
            let mut state = State::load(homes)?;
            state.max_seq = state.max_seq.max(revision.seq);
            state.staged = Some(Staged {
                revision: revision.revision.clone(),
                seq: revision.seq,
            });
            state.save(homes)?;
            outcome.staged = Some((revision.seq, revision.revision.clone()));
            Some(revision)
        }
        // Nothing new, and nothing left to apply: the hook's fast path ends here.
        None if !options.apply || head.staged_is_applied() => None,
        None => stage::load(homes, trust)?,
    };
    if options.apply
        && let Some(revision) = revision
    {
        let state = State::load_head(homes)?;
        if state.applied.as_ref().map(|a| &a.revision) != Some(&revision.revision) {
            let options = ApplyOptions {
                allow_mass_delete: options.allow_mass_delete,
                ..ApplyOptions::default()
            };
            outcome.applied = Some(apply::apply_with(homes, settings, &revision, options)?);
            outcome.collected = collect_after_apply(homes);
        }
    }
    Ok(outcome)
}

/// The collection after an apply (the lock held): bounded by
/// [`crate::gc::AFTER_APPLY_BUDGET`]; a failure is logged, never the apply's.
fn collect_after_apply(homes: &Homes) -> Option<crate::gc::GcReport> {
    let options = crate::gc::GcOptions {
        dry_run: false,
        keep: crate::gc::DEFAULT_KEEP,
        budget: Some(crate::gc::AFTER_APPLY_BUDGET),
        lock_wait: Wait::No,
    };
    match crate::gc::collect_follower_locked(homes, options) {
        Ok(report) => Some(report),
        Err(e) => {
            tracing::warn!("collecting the object store after the apply: {e}");
            None
        }
    }
}

/// Applies the staged revision (`codexport apply`), layering this machine's files again
/// even when that revision is already applied (local layers may have changed).
pub fn apply_staged(homes: &Homes, lock_wait: Wait, options: ApplyOptions) -> Result<ApplyReport> {
    let _lock = LockGuard::acquire(&homes.lock(), lock_wait)?;
    apply::recover(homes, options.discard_journal)?;
    let trust = Identity::load_follower(homes)?;
    let revision = stage::load(homes, &trust)?.ok_or_else(|| {
        Error::WrongRole(
            "nothing is staged yet".into(),
            "run `codexport sync` first (or `codexport sync --apply`)".into(),
        )
    })?;
    let settings = LocalSettings::load(homes)?;
    let report = apply::apply_with(homes, &settings, &revision, options)?;
    if !report.dry_run {
        collect_after_apply(homes);
    }
    Ok(report)
}

/// Drops the pinned key, the staged revision and the rollback floor (`follower trust-reset`).
/// Managed files stay managed, so the next apply still cleans up after the old master.
pub fn trust_reset(homes: &Homes) -> Result<bool> {
    let _lock = LockGuard::acquire(&homes.lock(), Wait::For(Duration::from_secs(10)))?;
    let had = match Identity::load(homes) {
        Ok(Some(Identity::Master(_))) => {
            return Err(Error::WrongRole(
                "this machine is a master; trust-reset is for followers".into(),
                "run it on the follower".into(),
            ));
        }
        Ok(Some(Identity::Follower(_))) | Err(Error::Corrupt { .. }) => true,
        Ok(None) => false,
        Err(e) => return Err(e),
    };
    let path = homes.identity();
    if had {
        std::fs::remove_file(&path).map_err(|e| Error::io("delete", &path, e))?;
    }
    stage::clear(homes)?;
    if let Ok(mut state) = State::load(homes) {
        state.max_seq = 0;
        state.staged = None;
        if let Some(applied) = &mut state.applied {
            applied.seq = 0;
        }
        state.save(homes)?;
    }
    Ok(had)
}
