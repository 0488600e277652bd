//! Metadata the host fetches for plugins: GitHub releases (with asset digests) and registry
//! documents, behind a trait so tests and other clients can answer instead.

use std::path::PathBuf;
use std::sync::OnceLock;

use crate::executor::Reporter;
use crate::github::GithubClient;
use crate::{Error, GithubConfig, Mode};

/// Why a fetch failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// No such release, package or crate.
    #[error("not found")]
    NotFound,
    /// The service said to slow down (seconds, when it said).
    #[error("rate limited")]
    RateLimited(Option<u64>),
    /// The request failed.
    #[error("{0}")]
    Network(String),
    /// The host runs offline.
    #[error("offline")]
    Offline,
}

/// A GitHub release as plugins see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    /// Its tag.
    pub tag: String,
    /// Its assets, with digests where the release publishes them.
    pub assets: Vec<ReleaseAsset>,
}

/// One release asset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseAsset {
    /// File name.
    pub name: String,
    /// `browser_download_url`.
    pub url: String,
    /// Lowercase hex SHA-256.
    pub sha256: Option<String>,
}

/// Answers the metadata imports.
pub trait Fetcher: Send + Sync {
    /// Release `tag` of `repo`, or its latest release (offline: from a cache, if any).
    fn github_release(
        &self,
        repo: &str,
        tag: Option<&str>,
        mode: Mode,
    ) -> Result<Release, FetchError>;
    /// The npm registry document of `pkg`.
    fn npm_metadata(&self, pkg: &str) -> Result<String, FetchError>;
    /// The PyPI JSON document of `pkg`.
    fn pypi_metadata(&self, pkg: &str) -> Result<String, FetchError>;
    /// The crates.io document of `name`.
    fn crate_metadata(&self, name: &str) -> Result<String, FetchError>;
}

/// Where the package registries are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryUrls {
    /// npm (`https://registry.npmjs.org`).
    pub npm: String,
    /// PyPI (`https://pypi.org`).
    pub pypi: String,
    /// crates.io API (`https://crates.io`).
    pub crates: String,
}

impl Default for RegistryUrls {
    fn default() -> Self {
        Self {
            npm: "https://registry.npmjs.org".to_owned(),
            pypi: "https://pypi.org".to_owned(),
            crates: "https://crates.io".to_owned(),
        }
    }
}

/// Fetches over HTTP: GitHub through the hydration path's [`GithubClient`] (its answer cache
/// serves offline calls), registries with the same blocking client.
#[derive(Debug)]
pub struct HttpFetcher {
    github: GithubConfig,
    /// Where GitHub answers are cached.
    cache: PathBuf,
    registries: RegistryUrls,
    /// One client per mode, built on first use (a client holds a connection pool and TLS
    /// roots: building one per plugin call would cost more than the call).
    online: OnceLock<Result<GithubClient, String>>,
    offline: OnceLock<Result<GithubClient, String>>,
}

/// Digests are looked up in checksum files for at most this many assets of one release.
const MAX_DIGEST_LOOKUPS: usize = 32;

impl HttpFetcher {
    /// A fetcher for GitHub at `github` (answers cached under `cache`) and the registries at
    /// `registries`.
    pub fn new(github: GithubConfig, cache: PathBuf, registries: RegistryUrls) -> Self {
        Self {
            github,
            cache,
            registries,
            online: OnceLock::new(),
            offline: OnceLock::new(),
        }
    }

    fn github_client(&self, mode: Mode) -> Result<&GithubClient, FetchError> {
        let slot = match mode {
            Mode::Online => &self.online,
            Mode::Offline => &self.offline,
        };
        slot.get_or_init(|| {
            GithubClient::new(&self.github, self.cache.clone(), mode, Reporter::hidden())
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| FetchError::Network(e.clone()))
    }

    fn get(&self, url: &str) -> Result<String, FetchError> {
        let client = crate::http::client().map_err(|e| FetchError::Network(e.to_string()))?;
        let response = client
            .get(url)
            .send()
            .map_err(|e| FetchError::Network(crate::http::network(url, &e).to_string()))?;
        match response.status() {
            reqwest::StatusCode::NOT_FOUND => Err(FetchError::NotFound),
            reqwest::StatusCode::TOO_MANY_REQUESTS => Err(FetchError::RateLimited(
                response
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok()?.trim().parse().ok()),
            )),
            status if !status.is_success() => {
                Err(FetchError::Network(format!("{url}: HTTP {status}")))
            }
            _ => response
                .text()
                .map_err(|e| FetchError::Network(crate::http::network(url, &e).to_string())),
        }
    }
}

impl Fetcher for HttpFetcher {
    fn github_release(
        &self,
        repo: &str,
        tag: Option<&str>,
        mode: Mode,
    ) -> Result<Release, FetchError> {
        if repo.split('/').count() != 2 || repo.contains("..") {
            return Err(FetchError::Network(format!(
                "`{repo}` is not an `owner/name` repository"
            )));
        }
        let client = self.github_client(mode)?;
        let release = client.release(repo, tag).map_err(|e| match e {
            Error::RateLimited { retry_after, .. } => FetchError::RateLimited(retry_after),
            Error::Network { reason, .. } if reason.contains("404") => FetchError::NotFound,
            Error::Network { .. } if mode == Mode::Offline => FetchError::Offline,
            other => FetchError::Network(other.to_string()),
        })?;
        let lookups = release.assets.iter().filter(|a| a.digest.is_none()).count();
        let assets = release
            .assets
            .iter()
            .map(|a| ReleaseAsset {
                name: a.name.clone(),
                url: a.browser_download_url.clone(),
                sha256: (a.digest.is_some() || lookups <= MAX_DIGEST_LOOKUPS)
                    .then(|| client.checksum(&release, a).ok())
                    .flatten(),
            })
            .collect();
        Ok(Release {
            tag: release.tag_name.clone(),
            assets,
        })
    }

    fn npm_metadata(&self, pkg: &str) -> Result<String, FetchError> {
        let base = self.registries.npm.trim_end_matches('/');
        self.get(&format!("{base}/{}", pkg.replace('/', "%2f")))
    }

    fn pypi_metadata(&self, pkg: &str) -> Result<String, FetchError> {
        let base = self.registries.pypi.trim_end_matches('/');
        self.get(&format!("{base}/pypi/{pkg}/json"))
    }

    fn crate_metadata(&self, name: &str) -> Result<String, FetchError> {
        let base = self.registries.crates.trim_end_matches('/');
        self.get(&format!("{base}/api/v1/crates/{name}"))
    }
}
