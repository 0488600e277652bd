//! The one loopback GitHub: releases and their assets served on 127.0.0.1 as GitHub's REST API
//! and download host would, for the root tests, the resolvers tests and the benchmarks.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use crate::mcp::sha256;

/// One release asset the fixture serves.
#[derive(Clone)]
pub struct FixtureAsset {
    /// File name.
    pub name: String,
    /// Bytes served.
    pub bytes: Vec<u8>,
    /// Whether the API answer carries GitHub's `digest` for it.
    pub digest: bool,
}

impl FixtureAsset {
    /// An asset with GitHub's `digest`.
    pub fn new(name: &str, bytes: Vec<u8>) -> Self {
        Self {
            name: name.to_owned(),
            bytes,
            digest: true,
        }
    }

    /// An asset without `digest` (verified through a sibling or a checksum list).
    pub fn undigested(name: &str, bytes: Vec<u8>) -> Self {
        Self {
            digest: false,
            ..Self::new(name, bytes)
        }
    }
}

#[derive(Default)]
struct FixtureState {
    /// `owner/name@tag` → assets.
    releases: Mutex<BTreeMap<String, Vec<FixtureAsset>>>,
    /// `owner/name` → the tag published last (GitHub's "latest release").
    latest: Mutex<BTreeMap<String, String>>,
    downloads: Mutex<BTreeMap<String, usize>>,
    api_calls: AtomicUsize,
    rate_limited: AtomicBool,
}

/// GitHub's release API on 127.0.0.1: `/repos/{o}/{r}/releases/tags/{tag}` and
/// `/repos/{o}/{r}/releases/latest` answer with `tag_name` and `assets[]` (`name`,
/// `browser_download_url`, `size`, `digest`), and `/download/{o}/{r}/{tag}/{name}` serves the
/// bytes and counts downloads. Point codexport at [`Self::base`] ([`Self::env`] for a process,
/// `GithubConfig::api_base` in process).
pub struct ReleaseFixture {
    /// `http://127.0.0.1:PORT`, the API base to configure.
    pub base: String,
    state: Arc<FixtureState>,
    _runtime: tokio::runtime::Runtime,
}

type Shared = (Arc<FixtureState>, String);

impl ReleaseFixture {
    /// Starts the fixture on a free loopback port, with no releases.
    pub fn start() -> Self {
        use axum::Router;
        use axum::extract::{Path as UrlPath, State};
        use axum::http::{HeaderMap, StatusCode};
        use axum::response::{IntoResponse, Response};
        use axum::routing::get;

        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(FixtureState::default());

        fn answer(
            state: &FixtureState,
            base: &str,
            owner: &str,
            repo: &str,
            tag: &str,
        ) -> Response {
            let key = format!("{owner}/{repo}@{tag}");
            let releases = state.releases.lock().unwrap();
            let Some(assets) = releases.get(&key) else {
                return (StatusCode::NOT_FOUND, "Not Found").into_response();
            };
            let assets: Vec<Value> = assets
                .iter()
                .map(|a| {
                    let mut v = json!({
                        "name": a.name,
                        "browser_download_url": format!("{base}/download/{owner}/{repo}/{tag}/{}", a.name),
                        "size": a.bytes.len(),
                    });
                    if a.digest {
                        v["digest"] = json!(format!("sha256:{}", sha256(&a.bytes)));
                    }
                    v
                })
                .collect();
            axum::Json(json!({"tag_name": tag, "assets": assets})).into_response()
        }

        /// Counts the call; `Some` is the rate-limit answer when that is switched on.
        fn api_call(state: &FixtureState) -> Option<Response> {
            state.api_calls.fetch_add(1, Ordering::SeqCst);
            if !state.rate_limited.load(Ordering::SeqCst) {
                return None;
            }
            let mut headers = HeaderMap::new();
            headers.insert("x-ratelimit-remaining", "0".parse().unwrap());
            headers.insert("x-ratelimit-reset", "9999999999".parse().unwrap());
            Some((StatusCode::FORBIDDEN, headers, "API rate limit exceeded").into_response())
        }

        async fn release(
            State((state, base)): State<Shared>,
            UrlPath((owner, repo, tag)): UrlPath<(String, String, String)>,
        ) -> Response {
            if let Some(limited) = api_call(&state) {
                return limited;
            }
            answer(&state, &base, &owner, &repo, &tag)
        }

        async fn latest(
            State((state, base)): State<Shared>,
            UrlPath((owner, repo)): UrlPath<(String, String)>,
        ) -> Response {
            if let Some(limited) = api_call(&state) {
                return limited;
            }
            let tag = state
                .latest
                .lock()
                .unwrap()
                .get(&format!("{owner}/{repo}"))
                .cloned();
            match tag {
                Some(tag) => answer(&state, &base, &owner, &repo, &tag),
                None => (StatusCode::NOT_FOUND, "Not Found").into_response(),
            }
        }

        async fn download(
            State((state, _)): State<Shared>,
            UrlPath((owner, repo, tag, name)): UrlPath<(String, String, String, String)>,
        ) -> Response {
            let key = format!("{owner}/{repo}@{tag}");
            let releases = state.releases.lock().unwrap();
            let Some(asset) = releases
                .get(&key)
                .and_then(|assets| assets.iter().find(|a| a.name == name))
            else {
                return (StatusCode::NOT_FOUND, "Not Found").into_response();
            };
            *state.downloads.lock().unwrap().entry(name).or_default() += 1;
            asset.bytes.clone().into_response()
        }

        let app = Router::new()
            .route("/repos/{owner}/{repo}/releases/tags/{tag}", get(release))
            .route("/repos/{owner}/{repo}/releases/latest", get(latest))
            .route("/download/{owner}/{repo}/{tag}/{name}", get(download))
            .with_state((state.clone(), base.clone()));
        runtime.spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self {
            base,
            state,
            _runtime: runtime,
        }
    }

    /// Publishes release `tag` of `repo` (`owner/name`) with `assets`; the release published
    /// last is the repository's latest.
    pub fn publish(&self, repo: &str, tag: &str, assets: Vec<FixtureAsset>) {
        self.state
            .releases
            .lock()
            .unwrap()
            .insert(format!("{repo}@{tag}"), assets);
        self.state
            .latest
            .lock()
            .unwrap()
            .insert(repo.to_owned(), tag.to_owned());
    }

    /// Where asset `name` of release `tag` of `repo` is downloaded from.
    pub fn download_url(&self, repo: &str, tag: &str, name: &str) -> String {
        format!("{}/download/{repo}/{tag}/{name}", self.base)
    }

    /// How often asset `name` was downloaded.
    pub fn downloads(&self, name: &str) -> usize {
        self.state
            .downloads
            .lock()
            .unwrap()
            .get(name)
            .copied()
            .unwrap_or(0)
    }

    /// Makes the API answer 403 with an exhausted rate limit (or answer normally again).
    pub fn set_rate_limited(&self, on: bool) {
        self.state.rate_limited.store(on, Ordering::SeqCst);
    }

    /// How many API calls were made.
    pub fn api_calls(&self) -> usize {
        self.state.api_calls.load(Ordering::SeqCst)
    }

    /// The environment that points a codexport process at this fixture.
    pub fn env(&self) -> [(&'static str, String); 1] {
        [(codexport_core::env::GITHUB_API_URL, self.base.clone())]
    }
}
