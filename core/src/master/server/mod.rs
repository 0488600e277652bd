//! Protocol server (axum on hyper): v1 meta, signed revision with ETag, objects single and batched; v2's tree root ([`v2`]).
//!
//! Every connection is checked against the allow list when it is accepted, and bounded
//! ([`conn`]); every route but `/v1/meta` needs a follower's bearer token. Objects are served
//! only when the current revision references them, never arbitrary store contents.

mod conn;
mod v2;
mod watch;

use std::collections::BTreeSet;
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
use crate::identity::Identity;
use crate::master::publish::{Published, Publisher};
use crate::master::selection::skipped_links_summary;
use crate::master::tokens::Followers;
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

struct AppState {
    homes: Homes,
    current: Current,
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

/// How `master serve` runs.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Where to listen.
    pub listen: SocketAddr,
    /// Whether to watch the selected paths and publish new revisions.
    pub watch: bool,
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
/// `master.toml`, read once when the command started.
pub fn serve(
    homes: &Homes,
    settings: &MasterSettings,
    export: Arc<dyn McpExport>,
    options: &ServeOptions,
) -> Result<()> {
    let key = Identity::load_master(homes)?;
    let allow = Arc::new(settings.allow_nets());
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
        Some(watch::start(homes, publisher, current)?)
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
        tracing::info!(
            "serving seq {seq} on http://{} (fingerprint {})",
            options.listen,
            state.fingerprint
        );
        conn::serve(
            listener,
            allow,
            router(state),
            conn::Limits::default(),
            shutdown_signal(),
        )
        .await;
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
    // Read per request so `master revoke` takes effect at once, without a restart.
    let known = match (token, Followers::load(&state.homes)) {
        (Some(token), Ok(followers)) => followers.check(token).is_some(),
        (_, Err(e)) => {
            tracing::error!("{e}");
            false
        }
        (None, _) => false,
    };
    if known {
        next.run(request).await
    } else {
        (StatusCode::UNAUTHORIZED, "missing or revoked token\n").into_response()
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
