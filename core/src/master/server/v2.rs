//! Protocol v2 content routes: the signed tree root with its ETag; nodes and files through the v1 object handlers (the same store and stream).

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::HeaderMap;
use axum::response::Response;
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
    super::signed_document(
        &state,
        &headers,
        &published,
        &published.root,
        &state.root_bytes,
    )
}
