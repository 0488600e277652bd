//! The GitHub release client of the hydration path: release lookup, the asset for this
//! platform (by the rules of `codexport-assets`), and the published checksum of that asset.
//!
//! The API base and token come from [`GithubConfig`] (tests point it at a loopback fixture).
//! Answers are cached per repo and tag; when GitHub rate-limits (after one short back-off) or
//! cannot be reached, the cached answer is used and a warning says so.

use std::path::PathBuf;
use std::time::Duration;

use codexport_assets::{AssetName, Choice, NoMatch, Target, is_checksum_list};
use serde::{Deserialize, Serialize};

use crate::executor::Reporter;
use crate::platform::Platform;
use crate::{Error, GithubConfig, Mode};

/// The longest `Retry-After` worth waiting for inside a launch.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// One release, as far as resolution needs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Release {
    /// The tag (`v1.2.3`).
    pub tag_name: String,
    /// Its files.
    #[serde(default)]
    pub assets: Vec<Asset>,
}

/// One release file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Asset {
    /// File name.
    pub name: String,
    /// Where to download it.
    pub browser_download_url: String,
    /// `sha256:<hex>`, which GitHub computes for every upload.
    #[serde(default)]
    pub digest: Option<String>,
}

/// A blocking client for one API base.
#[derive(Debug)]
pub struct GithubClient {
    config: GithubConfig,
    http: reqwest::blocking::Client,
    cache: PathBuf,
    mode: Mode,
    reporter: Reporter,
}

impl GithubClient {
    /// A client caching release answers under `cache`.
    pub fn new(
        config: &GithubConfig,
        cache: PathBuf,
        mode: Mode,
        reporter: Reporter,
    ) -> Result<Self, Error> {
        Ok(Self {
            config: config.clone(),
            http: crate::http::client()?,
            cache,
            mode,
            reporter,
        })
    }

    /// The release `tag` of `repo` (`owner/name`), or the latest one.
    pub fn release(&self, repo: &str, tag: Option<&str>) -> Result<Release, Error> {
        let cache_file = self.cache.join(format!(
            "{}@{}.json",
            repo.replace('/', "__"),
            tag.unwrap_or("latest")
        ));
        let cached = || -> Option<Release> {
            serde_json::from_slice(&std::fs::read(&cache_file).ok()?).ok()
        };
        let url = match tag {
            Some(tag) => format!("{}/repos/{repo}/releases/tags/{tag}", self.base()),
            None => format!("{}/repos/{repo}/releases/latest", self.base()),
        };
        if self.mode == Mode::Offline {
            return cached().ok_or(Error::Network {
                url,
                reason: "offline, and no cached answer".to_owned(),
            });
        }
        match self.get_api(&url) {
            Ok(body) => {
                let release: Release = serde_json::from_str(&body).map_err(|e| Error::Network {
                    url: url.clone(),
                    reason: format!("unexpected answer: {e}"),
                })?;
                let bytes = serde_json::to_vec(&release).expect("Release serialises");
                // The cache only saves a later call; failing to write it changes nothing now.
                // An unchanged answer (the common case) is not rewritten: no fsync per lookup.
                if std::fs::read(&cache_file).ok().as_deref() != Some(bytes.as_slice()) {
                    let _ = codexport_core::fsx::write_atomic(&cache_file, &bytes, None);
                }
                Ok(release)
            }
            Err(err @ (Error::RateLimited { .. } | Error::Network { .. })) => match cached() {
                Some(release) => {
                    self.reporter.warn(&format!(
                        "{err}; using the cached release information for `{repo}`"
                    ));
                    Ok(release)
                }
                None => Err(err),
            },
            Err(err) => Err(err),
        }
    }

    fn base(&self) -> &str {
        self.config.api_base.trim_end_matches('/')
    }

    /// GETs an API URL with the token, backing off once when told to retry soon.
    fn get_api(&self, url: &str) -> Result<String, Error> {
        for attempt in 0..2 {
            let mut request = self
                .http
                .get(url)
                .header("Accept", "application/vnd.github+json")
                .header("X-GitHub-Api-Version", "2022-11-28");
            if let Some(token) = &self.config.token {
                request = request.bearer_auth(token);
            }
            let response = request.send().map_err(|e| crate::http::network(url, &e))?;
            let status = response.status();
            if let Some(retry_after) = rate_limit(&response) {
                match retry_after {
                    Some(wait) if attempt == 0 && wait <= MAX_BACKOFF.as_secs() => {
                        std::thread::sleep(Duration::from_secs(wait.max(1)));
                        continue;
                    }
                    _ => {
                        return Err(Error::RateLimited {
                            url: url.to_owned(),
                            retry_after,
                        });
                    }
                }
            }
            if !status.is_success() {
                return Err(Error::Network {
                    url: url.to_owned(),
                    reason: format!("HTTP {status}"),
                });
            }
            return response.text().map_err(|e| crate::http::network(url, &e));
        }
        unreachable!("the loop returns on its second attempt")
    }

    /// A small text file (a checksum list) from a download URL.
    pub fn fetch_text(&self, url: &str) -> Result<String, Error> {
        let response = self
            .http
            .get(url)
            .send()
            .map_err(|e| crate::http::network(url, &e))?;
        if !response.status().is_success() {
            return Err(Error::Network {
                url: url.to_owned(),
                reason: format!("HTTP {}", response.status()),
            });
        }
        response.text().map_err(|e| crate::http::network(url, &e))
    }

    /// The published SHA-256 of `asset`: GitHub's `digest`, a sibling `.sha256`, or a
    /// checksum list of the release.
    pub fn checksum(&self, release: &Release, asset: &Asset) -> Result<String, Error> {
        if let Some(hex) = asset
            .digest
            .as_deref()
            .and_then(|d| d.strip_prefix("sha256:"))
            .filter(|h| is_sha256(h))
        {
            return Ok(hex.to_lowercase());
        }
        let sibling = [".sha256", ".sha256sum"].iter().find_map(|ext| {
            release
                .assets
                .iter()
                .find(|a| a.name == format!("{}{ext}", asset.name))
        });
        if let Some(sibling) = sibling {
            let text = self.fetch_text(&sibling.browser_download_url)?;
            return text
                .split_whitespace()
                .find(|t| is_sha256(t))
                .map(str::to_lowercase)
                .ok_or_else(|| Error::Unverifiable {
                    what: format!("{} (`{}` holds no SHA-256)", asset.name, sibling.name),
                });
        }
        for list in release.assets.iter().filter(|a| is_checksum_list(&a.name)) {
            let text = self.fetch_text(&list.browser_download_url)?;
            if let Some(hex) = find_in_checksum_list(&text, &asset.name) {
                return Ok(hex);
            }
        }
        Err(Error::Unverifiable {
            what: asset.name.clone(),
        })
    }
}

/// `Some(retry_after)` when the response is a rate limit.
fn rate_limit(response: &reqwest::blocking::Response) -> Option<Option<u64>> {
    let status = response.status().as_u16();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
    };
    let exhausted = header("x-ratelimit-remaining") == Some(0);
    let retry_after = header("retry-after");
    if status == 429 || (status == 403 && (exhausted || retry_after.is_some())) {
        let until_reset = header("x-ratelimit-reset").map(|reset| {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            reset.saturating_sub(now)
        });
        return Some(retry_after.or(until_reset));
    }
    None
}

fn is_sha256(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The hash on the line that names `asset` (`HEX  name` or `HEX *name`, paths allowed).
fn find_in_checksum_list(text: &str, asset: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let mut parts = line.split_whitespace();
        let hex = parts.next()?;
        let name = parts.next()?.trim_start_matches('*');
        let base = name.rsplit('/').next().unwrap_or(name);
        (is_sha256(hex) && base == asset).then(|| hex.to_lowercase())
    })
}

impl AssetName for Asset {
    fn asset_name(&self) -> &str {
        &self.name
    }
}

/// `platform` as the asset rules see it.
pub fn target(platform: &Platform) -> Target<'_> {
    Target {
        os: &platform.os,
        arch: &platform.arch,
        libc: platform.libc,
        triples: &platform.triples,
    }
}

/// The asset of `release` for `platform`: the one `template` names when the spec has one,
/// else by platform matching (the rules of `codexport-assets`).
pub fn choose<'a>(
    release: &'a Release,
    template: Option<&str>,
    platform: &Platform,
) -> Result<Choice<'a, Asset>, NoMatch> {
    let target = target(platform);
    match template {
        Some(template) => {
            codexport_assets::match_template(&release.assets, template, &target, &release.tag_name)
        }
        None => codexport_assets::match_asset(&release.assets, &target, &release.tag_name),
    }
}

#[cfg(test)]
mod tests {
    use codexport_assets::vectors::{Expect, VECTORS};

    use super::*;

    /// The shared vectors, through the host's own release and platform types.
    #[test]
    fn the_shared_asset_vectors_hold_for_the_host() {
        for v in VECTORS {
            let release = Release {
                tag_name: v.tag.to_owned(),
                assets: v
                    .assets
                    .iter()
                    .map(|n| Asset {
                        name: (*n).to_owned(),
                        browser_download_url: format!("http://127.0.0.1/{n}"),
                        digest: None,
                    })
                    .collect(),
            };
            let platform = Platform {
                os: v.platform.os.to_owned(),
                arch: v.platform.arch.to_owned(),
                libc: v.platform.libc,
                triples: v.platform.triples(),
            };
            match (choose(&release, v.template, &platform), v.expect) {
                (Ok(choice), Expect::Pick(name)) => {
                    assert_eq!(choice.asset.name, name, "{}", v.about)
                }
                (Err(none), Expect::Refuse(names)) => {
                    assert_eq!(none.candidates, names, "{}", v.about);
                }
                (got, want) => panic!("{}: got {got:?}, want {want:?}", v.about),
            }
        }
    }

    #[test]
    fn detected_platforms_have_the_vectors_triples() {
        use codexport_assets::vectors::{LINUX_GNU, LINUX_MUSL, MACOS_ARM64, WINDOWS_X64};
        for v in [LINUX_GNU, LINUX_MUSL, MACOS_ARM64, WINDOWS_X64] {
            assert_eq!(Platform::new(v.os, v.arch, v.libc).triples, v.triples);
        }
    }

    /// A Windows follower takes the msvc build, else the gnu one, else a bare `.exe`; this
    /// host's detection (run under wine too) says what it is.
    #[test]
    fn windows_hosts_pick_msvc_then_gnu_then_a_bare_exe() {
        use codexport_assets::vectors::WINDOWS_X64;
        let windows = Platform::new("windows", "x86_64", None);
        if cfg!(all(windows, target_arch = "x86_64")) {
            assert_eq!(Platform::detect(), windows);
        }
        let release = |names: &[&str]| Release {
            tag_name: "v1.0.0".to_owned(),
            assets: names
                .iter()
                .map(|n| Asset {
                    name: (*n).to_owned(),
                    browser_download_url: format!("http://127.0.0.1/{n}"),
                    digest: None,
                })
                .collect(),
        };
        let pick = |names: &[&str]| {
            choose(&release(names), None, &windows)
                .map(|c| c.asset.name.clone())
                .map_err(|e| e.candidates)
        };
        assert_eq!(windows.triples, WINDOWS_X64.triples);
        let all = [
            "tool-x86_64-unknown-linux-gnu.tar.gz",
            "tool-x86_64-pc-windows-gnu.zip",
            "tool-x86_64-pc-windows-msvc.zip",
            "tool-aarch64-pc-windows-msvc.zip",
        ];
        assert_eq!(pick(&all).unwrap(), "tool-x86_64-pc-windows-msvc.zip");
        assert_eq!(
            pick(&all[..2]).unwrap(),
            "tool-x86_64-pc-windows-gnu.zip",
            "gnu when there is no msvc build"
        );
        assert_eq!(
            pick(&["tool-linux.tar.gz", "tool.exe"]).unwrap(),
            "tool.exe",
            "a bare NAME.exe counts as Windows"
        );
    }

    #[test]
    fn checksum_lists_are_parsed() {
        let text = "abc  other\n".to_owned() + &"a".repeat(64) + " *dist/tool-linux.tar.gz\n";
        assert_eq!(
            find_in_checksum_list(&text, "tool-linux.tar.gz"),
            Some("a".repeat(64))
        );
        assert_eq!(find_in_checksum_list(&text, "tool"), None);
    }
}
