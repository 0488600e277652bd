//! The master's server (axum on hyper): v1 meta, signed revision with ETag, objects single and
//! batched; v2's tree root ([`v2`]); the join's invite exchange.
//!
//! Every connection is checked against the allow list when it is accepted, and bounded
//! ([`conn`]); one port speaks TLS bound to the identity key ([`crate::tls`], protocol v2) and
//! plain HTTP (protocol v1 followers), told apart by the first byte. Every route but
//! `/v1/meta` needs a follower's bearer token. Objects are served only when the current
//! revision references them, never arbitrary store contents.

mod conn;
mod v2;
mod watch;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};

use crate::Homes;
use crate::error::{Error, Result};
use crate::follower::client::{REFUSED_HEADER, VERSION_HEADER};
use crate::identity::Identity;
use crate::master::publish::{Published, Publisher};
use crate::master::selection::skipped_links_summary;
use crate::master::tokens::{Checked, Followers, Seen, SeenEntry, sent_version};
use crate::mcp::export::McpExport;
use crate::revision::PROTOCOL;
use crate::settings::MasterSettings;
use crate::store::{ObjectStore, is_object_name};

pub use conn::{HEADER_READ_TIMEOUT, IDLE_TIMEOUT, MAX_CONNECTIONS, MAX_CONNECTIONS_PER_PEER};

/// The most objects one `POST /v1/objects` may ask for (the follower asks in batches).
pub const MAX_OBJECTS_PER_REQUEST: usize = 1024;

/// The largest `POST /v1/objects` body read: room for [`MAX_OBJECTS_PER_REQUEST`] names.
pub const MAX_OBJECTS_REQUEST_BYTES: usize = 128 * 1024;

/// Content type of the batch objects stream.
pub const OBJECTS_STREAM_TYPE: &str = "application/x-codexport-objects";

/// `GET /v1/meta`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meta {
    /// [`PROTOCOL`].
    pub protocol: u32,
    /// The master's fingerprint.
    pub fingerprint: String,
    /// The master's public key (base64url).
    pub public_key: String,
    /// The current seq.
    pub seq: u64,
    /// The current revision hash.
    pub revision: String,
}

/// `POST /v1/objects` body.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ObjectsRequest {
    /// Object names to stream, in order.
    pub objects: Vec<String>,
}

/// `GET /v1/stats`: what the server sent so far (diagnostics and benchmarks).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// Body bytes of `/v1/revision` answers.
    pub revision_bytes: u64,
    /// Body bytes of object answers (single and batched, frame headers included).
    pub object_bytes: u64,
    /// Revision and root requests answered `304 Not Modified`.
    pub not_modified: u64,
    /// Body bytes of `/v2/root` answers.
    #[serde(default)]
    pub root_bytes: u64,
    /// The part of `object_bytes` that carried tree nodes and manifest objects.
    #[serde(default)]
    pub node_bytes: u64,
}

/// The current revision, swapped atomically when the watcher publishes a new one.
pub type Current = Arc<RwLock<Arc<Published>>>;

/// Makes the MCP export for a `master.toml` (at the start, and again when it changes); the
/// error is one line for the log.
pub type ExportFactory =
    Arc<dyn Fn(&MasterSettings) -> std::result::Result<Arc<dyn McpExport>, String> + Send + Sync>;

struct AppState {
    homes: Homes,
    current: Current,
    followers: FollowersCache,
    /// Who was answered since the last write of `followers-seen.json`.
    seen: std::sync::Mutex<SeenLog>,
    store: ObjectStore,
    public_key: String,
    fingerprint: String,
    revision_bytes: AtomicU64,
    object_bytes: AtomicU64,
    not_modified: AtomicU64,
    root_bytes: AtomicU64,
    node_bytes: AtomicU64,
}

type Shared = Arc<AppState>;

/// `followers.json` as last read, read again whenever the file changed (a `stat` per
/// request, so `master revoke` and a new link take effect at once).
#[derive(Default)]
struct FollowersCache {
    last: std::sync::Mutex<Option<(FileStamp, Arc<Followers>)>>,
}

/// What tells a rewritten file: `followers.json` is replaced by a rename, so a new inode.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FileStamp {
    modified: Option<std::time::SystemTime>,
    len: u64,
    #[cfg(unix)]
    inode: u64,
}

impl FileStamp {
    fn of(path: &std::path::Path) -> Option<Self> {
        let meta = std::fs::metadata(path).ok()?;
        Some(Self {
            modified: meta.modified().ok(),
            len: meta.len(),
            #[cfg(unix)]
            inode: std::os::unix::fs::MetadataExt::ino(&meta),
        })
    }
}

impl FollowersCache {
    fn get(&self, homes: &Homes) -> Result<Arc<Followers>> {
        let path = homes.followers();
        let Some(stamp) = FileStamp::of(&path) else {
            return Followers::load(homes).map(Arc::new);
        };
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((known, followers)) = last.as_ref()
            && *known == stamp
        {
            return Ok(followers.clone());
        }
        let followers = Arc::new(Followers::load(homes)?);
        *last = Some((stamp, followers.clone()));
        Ok(followers)
    }
}

/// Followers answered since `followers-seen.json` was last written.
#[derive(Default)]
struct SeenLog {
    fresh: BTreeMap<String, SeenEntry>,
}

/// How often `master serve` writes down who it answered.
const SEEN_FLUSH: std::time::Duration = std::time::Duration::from_secs(5);

impl AppState {
    fn saw(&self, name: &str, version: Option<String>) {
        let mut log = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        log.fresh.insert(
            name.to_owned(),
            SeenEntry {
                at: crate::clock::now_rfc3339(),
                version,
            },
        );
    }

    /// Merges who was answered into `followers-seen.json`.
    fn flush_seen(&self) {
        let fresh = std::mem::take(&mut self.seen.lock().unwrap_or_else(|e| e.into_inner()).fresh);
        if fresh.is_empty() {
            return;
        }
        let mut seen = Seen::load(&self.homes);
        for (name, entry) in fresh {
            let version = entry.version.or_else(|| {
                seen.followers
                    .get(&name)
                    .and_then(|old| old.version.clone())
            });
            seen.followers.insert(name, SeenEntry { version, ..entry });
        }
        if let Err(e) = seen.save(&self.homes) {
            tracing::warn!("{e}");
        }
    }
}

/// How `master serve` runs.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Where to listen.
    pub listen: SocketAddr,
    /// Whether to watch the selected paths and publish new revisions.
    pub watch: bool,
    /// Serve plain HTTP only, no TLS (`--plain-http`: a master behind something that
    /// encrypts, such as a tunnel; followers join it with protocol v1 links).
    pub plain_http: bool,
}

/// The listen address: the flag, else `master.toml`, else `0.0.0.0:17342`.
pub fn listen_addr(flag: Option<&str>, config: &MasterSettings) -> Result<SocketAddr> {
    let text = flag
        .map(str::to_owned)
        .or_else(|| config.listen.clone())
        .unwrap_or_else(|| format!("0.0.0.0:{}", crate::settings::DEFAULT_PORT));
    text.parse()
        .map_err(|_| Error::Usage(format!("`{text}` is not an address like `0.0.0.0:17342`")))
}

/// Rebuilds, then serves until SIGTERM or Ctrl-C. Blocks. `settings` is the master's
/// `master.toml` as the command read it and `export` its MCP export; while watching, a
/// changed `master.toml` is read again and `reexport` makes the export for it.
pub fn serve(
    homes: &Homes,
    settings: &MasterSettings,
    export: Arc<dyn McpExport>,
    reexport: ExportFactory,
    options: &ServeOptions,
) -> Result<()> {
    let key = Identity::load_master(homes)?;
    let tls = if options.plain_http {
        None
    } else {
        let cert = crate::tls::master_certificate(homes, &key)?;
        Some(tokio_rustls::TlsAcceptor::from(crate::tls::server_config(
            &key, cert,
        )?))
    };
    let allow: conn::AllowList = Arc::new(RwLock::new(Arc::new(settings.allow_nets())));
    let mut publisher = Publisher::new(homes, settings, export)?;
    let rebuilt = publisher.rebuild()?;
    for w in &rebuilt.warnings {
        tracing::warn!("{w}");
    }
    if !rebuilt.skipped_links.is_empty() {
        tracing::warn!("{}", skipped_links_summary(rebuilt.skipped_links.len()));
    }
    let current: Current = Arc::new(RwLock::new(rebuilt.published));
    let state = Arc::new(AppState {
        homes: homes.clone(),
        current: current.clone(),
        followers: FollowersCache::default(),
        seen: std::sync::Mutex::default(),
        store: ObjectStore::new(homes.objects()),
        public_key: key.public_key.clone(),
        fingerprint: key.fingerprint.clone(),
        revision_bytes: AtomicU64::new(0),
        object_bytes: AtomicU64::new(0),
        not_modified: AtomicU64::new(0),
        root_bytes: AtomicU64::new(0),
        node_bytes: AtomicU64::new(0),
    });
    let _watcher = if options.watch {
        Some(watch::start(
            homes,
            settings.clone(),
            publisher,
            reexport,
            current,
            allow.clone(),
        )?)
    } else {
        None
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::io("start the runtime for", &homes.tool, e))?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(options.listen)
            .await
            .map_err(|e| Error::Usage(format!("cannot listen on `{}`: {e}", options.listen)))?;
        let seq = state.current.read().expect("not poisoned").revision.seq;
        let transports = if tls.is_some() {
            "TLS (v2) and plain HTTP (v1)"
        } else {
            "plain HTTP only"
        };
        tracing::info!(
            "serving seq {seq} on {} over {transports} (fingerprint {})",
            options.listen,
            state.fingerprint
        );
        let flusher = {
            let state = state.clone();
            tokio::spawn(async move {
                let mut every = tokio::time::interval(SEEN_FLUSH);
                loop {
                    every.tick().await;
                    let state = state.clone();
                    let _ = tokio::task::spawn_blocking(move || state.flush_seen()).await;
                }
            })
        };
        conn::serve(
            listener,
            allow,
            tls,
            router(state.clone()),
            conn::Limits::default(),
            shutdown_signal(),
        )
        .await;
        flusher.abort();
        state.flush_seen();
        Ok(())
    })
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
    tracing::info!("shutting down");
}

fn router(state: Shared) -> Router {
    let authed = Router::new()
        .route("/v1/revision", get(revision))
        .route("/v1/objects/{sha256}", get(object))
        .route(
            "/v1/objects",
            post(objects).layer(DefaultBodyLimit::max(MAX_OBJECTS_REQUEST_BYTES)),
        )
        .route("/v1/stats", get(stats))
        .merge(v2::routes())
        .route("/v1/join", post(join))
        .route_layer(middleware::from_fn_with_state(state.clone(), require_token));
    Router::new()
        .route("/v1/meta", get(meta))
        .merge(authed)
        .with_state(state)
}

async fn require_token(State(state): State<Shared>, request: Request, next: Next) -> Response {
    let token = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let followers = match state.followers.get(&state.homes) {
        Ok(followers) => followers,
        Err(e) => {
            tracing::error!("{e}");
            return refused(None);
        }
    };
    let checked = token.map_or(Checked::Unknown, |t| {
        followers.check_at(t, time::OffsetDateTime::now_utc())
    });
    match checked {
        Checked::Follower(name) | Checked::Invite(name) => {
            let version = request
                .headers()
                .get(VERSION_HEADER)
                .and_then(|v| sent_version(v.as_bytes()));
            state.saw(name, version);
            next.run(request).await
        }
        Checked::Expired => refused(Some("expired")),
        Checked::Used => refused(Some("used")),
        Checked::Unknown => refused(None),
    }
}

/// `401`, naming an invite's refusal when it is one.
fn refused(why: Option<&'static str>) -> Response {
    let mut response = (StatusCode::UNAUTHORIZED, "missing or revoked token\n").into_response();
    if let Some(why) = why {
        response
            .headers_mut()
            .insert(REFUSED_HEADER, HeaderValue::from_static(why));
    }
    response
}

/// `POST /v1/join`'s answer when the presented token was an invite.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Joined {
    /// The follower's own token, replacing the invite.
    pub token: String,
}

/// `POST /v1/join`: a follower that joined exchanges an invite for a token of its own
/// (`200` with [`Joined`]); a follower's own token is kept (`204`).
async fn join(State(state): State<Shared>, headers: HeaderMap) -> Response {
    let Some(token) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned)
    else {
        return refused(None);
    };
    let homes = state.homes.clone();
    let redeemed = tokio::task::spawn_blocking(move || {
        Followers::update(&homes, |followers| {
            let redeemed = followers.redeem(&token);
            let changed = matches!(redeemed, Ok(Some(_)));
            Ok((redeemed, changed))
        })
    })
    .await;
    match redeemed {
        Ok(Ok(Ok(Some(own)))) => axum::Json(Joined { token: own }).into_response(),
        Ok(Ok(Ok(None))) => StatusCode::NO_CONTENT.into_response(),
        Ok(Ok(Err(Checked::Expired))) => refused(Some("expired")),
        Ok(Ok(Err(Checked::Used))) => refused(Some("used")),
        Ok(Ok(Err(_))) => refused(None),
        Ok(Err::<_, Error>(e)) => {
            tracing::error!("{e}");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
        Err(e) => {
            tracing::error!("the join exchange failed: {e}");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

fn current(state: &AppState) -> Arc<Published> {
    state.current.read().expect("not poisoned").clone()
}

async fn meta(State(state): State<Shared>) -> Response {
    let published = current(&state);
    axum::Json(Meta {
        protocol: PROTOCOL,
        fingerprint: state.fingerprint.clone(),
        public_key: state.public_key.clone(),
        seq: published.revision.seq,
        revision: published.revision.revision.clone(),
    })
    .into_response()
}

async fn revision(State(state): State<Shared>, headers: HeaderMap) -> Response {
    let published = current(&state);
    signed_document(
        &state,
        &headers,
        &published,
        &published.signed,
        &state.revision_bytes,
    )
}

/// A signed document of the current revision (`/v1/revision`, `/v2/root`): `304` when
/// `If-None-Match` names the revision (one ETag for both: they name one content), else the
/// bytes, counted in `sent`.
fn signed_document(
    state: &AppState,
    headers: &HeaderMap,
    published: &Published,
    body: &[u8],
    sent: &AtomicU64,
) -> Response {
    let etag = format!("\"{}\"", published.revision.revision);
    let etag_value = HeaderValue::from_str(&etag).expect("hex is a valid header");
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag))
    {
        state.not_modified.fetch_add(1, Ordering::Relaxed);
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag_value)]).into_response();
    }
    sent.fetch_add(body.len() as u64, Ordering::Relaxed);
    (
        [
            (header::ETAG, etag_value),
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
        ],
        body.to_vec(),
    )
        .into_response()
}

async fn object(State(state): State<Shared>, Path(sha256): Path<String>) -> Response {
    let published = current(&state);
    if !published.objects.contains(&sha256) {
        return (
            StatusCode::NOT_FOUND,
            "no such object in the current revision\n",
        )
            .into_response();
    }
    let Ok(path) = state.store.path(&sha256) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    match tokio::fs::read(&path).await {
        Ok(bytes) => {
            state
                .object_bytes
                .fetch_add(bytes.len() as u64, Ordering::Relaxed);
            if published.nodes.contains(&sha256) {
                state
                    .node_bytes
                    .fetch_add(bytes.len() as u64, Ordering::Relaxed);
            }
            bytes.into_response()
        }
        Err(e) => {
            tracing::error!("cannot read object `{sha256}`: {e}");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// Why a `POST /v1/objects` body is refused: `413` past the caps, `400` when malformed.
fn bad_objects_request(status: StatusCode, why: &str) -> Box<Response> {
    Box::new((status, format!("{why}\n")).into_response())
}

/// Checks a `POST /v1/objects` body: JSON `{"objects":[...]}`, at most
/// [`MAX_OBJECTS_PER_REQUEST`] SHA-256 names, none twice.
fn objects_request(body: Result<Bytes, BytesRejection>) -> Result<ObjectsRequest, Box<Response>> {
    let too_large = |what: String| bad_objects_request(StatusCode::PAYLOAD_TOO_LARGE, &what);
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            too_large(format!(
                "the request body is larger than {MAX_OBJECTS_REQUEST_BYTES} bytes"
            ))
        } else {
            bad_objects_request(
                StatusCode::BAD_REQUEST,
                "the request body could not be read",
            )
        }
    })?;
    let request: ObjectsRequest = serde_json::from_slice(&body).map_err(|_| {
        bad_objects_request(
            StatusCode::BAD_REQUEST,
            "the body is not `{\"objects\":[\"<sha256>\",...]}`",
        )
    })?;
    if request.objects.len() > MAX_OBJECTS_PER_REQUEST {
        return Err(too_large(format!(
            "{} objects asked for; at most {MAX_OBJECTS_PER_REQUEST} per request",
            request.objects.len()
        )));
    }
    let mut seen = BTreeSet::new();
    for name in &request.objects {
        if !is_object_name(name) {
            return Err(bad_objects_request(
                StatusCode::BAD_REQUEST,
                "`objects` holds a name that is not a SHA-256 (64 lowercase hex digits)",
            ));
        }
        if !seen.insert(name.as_str()) {
            return Err(bad_objects_request(
                StatusCode::BAD_REQUEST,
                &format!("object `{name}` is asked for twice"),
            ));
        }
    }
    Ok(request)
}

/// Streams `<sha256> <length>\n<bytes>` frames, one per requested object, in request order.
async fn objects(State(state): State<Shared>, body: Result<Bytes, BytesRejection>) -> Response {
    let request = match objects_request(body) {
        Ok(request) => request,
        Err(refused) => return *refused,
    };
    let published = current(&state);
    let unknown: Vec<&str> = request
        .objects
        .iter()
        .filter(|o| !published.objects.contains(*o))
        .map(String::as_str)
        .collect();
    if !unknown.is_empty() {
        return (
            StatusCode::NOT_FOUND,
            format!("not in the current revision: {}\n", unknown.join(" ")),
        )
            .into_response();
    }
    let stream = futures_util::stream::iter(request.objects).then(move |hash| {
        let state = state.clone();
        let published = published.clone();
        async move {
            let path = state
                .store
                .path(&hash)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
            let bytes = tokio::fs::read(&path).await?;
            let mut frame = format!("{hash} {}\n", bytes.len()).into_bytes();
            frame.extend_from_slice(&bytes);
            state
                .object_bytes
                .fetch_add(frame.len() as u64, Ordering::Relaxed);
            if published.nodes.contains(&hash) {
                state
                    .node_bytes
                    .fetch_add(frame.len() as u64, Ordering::Relaxed);
            }
            Ok::<_, std::io::Error>(bytes::Bytes::from(frame))
        }
    });
    (
        [(header::CONTENT_TYPE, OBJECTS_STREAM_TYPE)],
        Body::from_stream(stream),
    )
        .into_response()
}

async fn stats(State(state): State<Shared>) -> Response {
    axum::Json(Stats {
        revision_bytes: state.revision_bytes.load(Ordering::Relaxed),
        object_bytes: state.object_bytes.load(Ordering::Relaxed),
        not_modified: state.not_modified.load(Ordering::Relaxed),
        root_bytes: state.root_bytes.load(Ordering::Relaxed),
        node_bytes: state.node_bytes.load(Ordering::Relaxed),
    })
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status_of(body: &str) -> Result<usize, StatusCode> {
        objects_request(Ok(Bytes::from(body.to_owned())))
            .map(|r| r.objects.len())
            .map_err(|r| r.status())
    }

    #[test]
    fn object_requests_are_capped_and_duplicates_refused() {
        let a = "a".repeat(64);
        let b = "b".repeat(64);
        assert_eq!(status_of(&format!(r#"{{"objects":["{a}","{b}"]}}"#)), Ok(2));
        assert_eq!(
            status_of(&format!(r#"{{"objects":["{a}","{b}","{a}"]}}"#)),
            Err(StatusCode::BAD_REQUEST)
        );
        assert_eq!(
            status_of(r#"{"objects":["../x"]}"#),
            Err(StatusCode::BAD_REQUEST)
        );
        assert_eq!(status_of("not json"), Err(StatusCode::BAD_REQUEST));
        let many: Vec<String> = (0..=MAX_OBJECTS_PER_REQUEST)
            .map(|i| format!("{i:064x}"))
            .collect();
        let body = serde_json::to_string(&ObjectsRequest { objects: many }).unwrap();
        assert_eq!(status_of(&body), Err(StatusCode::PAYLOAD_TOO_LARGE));
    }
}
