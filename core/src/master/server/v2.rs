//! Protocol v2 content routes: the signed tree root with its ETag; nodes and files through the v1 object handlers (the same store and stream).

use std::sync::atomic::Ordering;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use super::{MAX_OBJECTS_REQUEST_BYTES, Shared, current, object, objects};

/// The v2 routes, all behind the token check.
pub(super) fn routes() -> Router<Shared> {
    Router::new()
        .route("/v2/root", get(root))
        .route("/v2/objects/{sha256}", get(object))
        .route(
            "/v2/objects",
            post(objects).layer(DefaultBodyLimit::max(MAX_OBJECTS_REQUEST_BYTES)),
        )
}

/// `GET /v2/root`: the signed root, `304` when `If-None-Match` names the current revision
/// (the same ETag as `/v1/revision`: both name one content).
async fn root(State(state): State<Shared>, headers: HeaderMap) -> Response {
    let published = current(&state);
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
    state
        .root_bytes
        .fetch_add(published.root.len() as u64, Ordering::Relaxed);
    (
        [
            (header::ETAG, etag_value),
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
        ],
        published.root.clone(),
    )
        .into_response()
}
