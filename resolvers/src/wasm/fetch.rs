//! Metadata the host fetches for plugins: GitHub releases (with asset digests) and registry
//! documents, behind a trait so tests and other clients can answer instead.

use std::time::Duration;

use serde::Deserialize;

use crate::GithubConfig;

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
    /// Bytes.
    pub size: u64,
    /// Lowercase hex SHA-256.
    pub sha256: Option<String>,
}

/// Answers the metadata imports.
pub trait Fetcher: Send + Sync {
    /// Release `tag` of `repo`, or its latest release.
    fn github_release(&self, repo: &str, tag: Option<&str>) -> Result<Release, FetchError>;
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

/// Fetches over HTTP with a blocking client (plugins call the host synchronously).
#[derive(Debug)]
pub struct HttpFetcher {
    github: GithubConfig,
    registries: RegistryUrls,
    client: std::sync::OnceLock<Result<reqwest::blocking::Client, String>>,
}

/// Checksum files hold lines `HEX  NAME`; more than this many sibling `.sha256` fetches per
/// release is not worth it.
const MAX_SIBLING_FETCHES: usize = 32;

impl HttpFetcher {
    /// A fetcher for GitHub at `github` and the registries at `registries`.
    pub fn new(github: GithubConfig, registries: RegistryUrls) -> Self {
        Self {
            github,
            registries,
            client: std::sync::OnceLock::new(),
        }
    }

    fn client(&self) -> Result<&reqwest::blocking::Client, FetchError> {
        self.client
            .get_or_init(|| {
                reqwest::blocking::Client::builder()
                    .user_agent(concat!("codexport/", env!("CARGO_PKG_VERSION")))
                    .connect_timeout(Duration::from_secs(10))
                    .timeout(Duration::from_secs(30))
                    .build()
                    .map_err(|e| e.to_string())
            })
            .as_ref()
            .map_err(|e| FetchError::Network(e.clone()))
    }

    fn get(&self, url: &str, github: bool) -> Result<String, FetchError> {
        let mut request = self.client()?.get(url);
        if github {
            request = request
                .header("Accept", "application/vnd.github+json")
                .header("X-GitHub-Api-Version", "2022-11-28");
            if let Some(token) = &self.github.token {
                request = request.bearer_auth(token);
            }
        }
        let response = request
            .send()
            .map_err(|e| FetchError::Network(format!("{url}: {e}")))?;
        let status = response.status();
        if status == reqwest::StatusCode::NOT_FOUND {
            return Err(FetchError::NotFound);
        }
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok())
        };
        let limited = status == reqwest::StatusCode::TOO_MANY_REQUESTS
            || (status == reqwest::StatusCode::FORBIDDEN
                && header("x-ratelimit-remaining") == Some(0));
        if limited {
            let wait = header("retry-after").or_else(|| {
                let reset = header("x-ratelimit-reset")?;
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .ok()?
                    .as_secs();
                Some(reset.saturating_sub(now))
            });
            return Err(FetchError::RateLimited(wait));
        }
        if !status.is_success() {
            return Err(FetchError::Network(format!("{url}: HTTP {status}")));
        }
        response
            .text()
            .map_err(|e| FetchError::Network(format!("{url}: {e}")))
    }

    /// Fills in digests the API did not give from the release's checksum files.
    fn fill_digests(&self, assets: &mut [ReleaseAsset]) {
        let missing = |assets: &[ReleaseAsset]| assets.iter().any(|a| a.sha256.is_none());
        if !missing(assets) {
            return;
        }
        let sums: Vec<String> = assets
            .iter()
            .filter(|a| is_checksum_list(&a.name))
            .filter_map(|a| self.get(&a.url, false).ok())
            .collect();
        for text in &sums {
            for (hex, name) in checksum_lines(text) {
                if let Some(asset) = assets
                    .iter_mut()
                    .find(|a| a.sha256.is_none() && a.name == name)
                {
                    asset.sha256 = Some(hex);
                }
            }
        }
        let siblings: Vec<(usize, String)> = assets
            .iter()
            .enumerate()
            .filter(|(_, a)| a.sha256.is_none())
            .filter_map(|(i, a)| {
                let sibling = format!("{}.sha256", a.name);
                assets
                    .iter()
                    .find(|s| s.name == sibling)
                    .map(|s| (i, s.url.clone()))
            })
            .take(MAX_SIBLING_FETCHES)
            .collect();
        for (i, url) in siblings {
            if let Ok(text) = self.get(&url, false) {
                assets[i].sha256 = text
                    .split_whitespace()
                    .next()
                    .filter(|h| is_sha256(h))
                    .map(str::to_ascii_lowercase);
            }
        }
    }
}

impl Fetcher for HttpFetcher {
    fn github_release(&self, repo: &str, tag: Option<&str>) -> Result<Release, FetchError> {
        #[derive(Deserialize)]
        struct ApiRelease {
            tag_name: String,
            #[serde(default)]
            assets: Vec<ApiAsset>,
        }
        #[derive(Deserialize)]
        struct ApiAsset {
            name: String,
            browser_download_url: String,
            #[serde(default)]
            size: u64,
            #[serde(default)]
            digest: Option<String>,
        }
        if repo.split('/').count() != 2 || repo.contains("..") {
            return Err(FetchError::Network(format!(
                "`{repo}` is not an `owner/name` repository"
            )));
        }
        let base = self.github.api_base.trim_end_matches('/');
        let url = match tag {
            Some(tag) => format!("{base}/repos/{repo}/releases/tags/{tag}"),
            None => format!("{base}/repos/{repo}/releases/latest"),
        };
        let text = self.get(&url, true)?;
        let api: ApiRelease = serde_json::from_str(&text)
            .map_err(|e| FetchError::Network(format!("{url}: unexpected answer: {e}")))?;
        let mut assets: Vec<ReleaseAsset> = api
            .assets
            .into_iter()
            .map(|a| ReleaseAsset {
                sha256: a
                    .digest
                    .as_deref()
                    .and_then(|d| d.strip_prefix("sha256:"))
                    .filter(|h| is_sha256(h))
                    .map(str::to_ascii_lowercase),
                name: a.name,
                url: a.browser_download_url,
                size: a.size,
            })
            .collect();
        self.fill_digests(&mut assets);
        Ok(Release {
            tag: api.tag_name,
            assets,
        })
    }

    fn npm_metadata(&self, pkg: &str) -> Result<String, FetchError> {
        let base = self.registries.npm.trim_end_matches('/');
        self.get(&format!("{base}/{}", pkg.replace('/', "%2f")), false)
    }

    fn pypi_metadata(&self, pkg: &str) -> Result<String, FetchError> {
        let base = self.registries.pypi.trim_end_matches('/');
        self.get(&format!("{base}/pypi/{pkg}/json"), false)
    }

    fn crate_metadata(&self, name: &str) -> Result<String, FetchError> {
        let base = self.registries.crates.trim_end_matches('/');
        self.get(&format!("{base}/api/v1/crates/{name}"), false)
    }
}

fn is_sha256(hex: &str) -> bool {
    hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit())
}

fn is_checksum_list(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.contains("checksums") || lower.contains("sha256sums")
}

/// `HEX  NAME` / `HEX *NAME` lines.
fn checksum_lines(text: &str) -> impl Iterator<Item = (String, &str)> {
    text.lines().filter_map(|line| {
        let (hex, name) = line.trim().split_once(char::is_whitespace)?;
        let name = name.trim().trim_start_matches('*');
        is_sha256(hex).then(|| (hex.to_ascii_lowercase(), name))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_lines_accept_text_and_binary_markers() {
        let a = "a".repeat(64);
        let text = format!("{a}  x.tar.gz\n{a} *y.zip\nnot a line\n");
        let lines: Vec<_> = checksum_lines(&text).map(|(_, n)| n).collect();
        assert_eq!(lines, ["x.tar.gz", "y.zip"]);
    }
}
