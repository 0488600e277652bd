//! The GitHub release client of the hydration path: release lookup, asset matching for this
//! platform, and the published checksum of the chosen asset.
//!
//! The API base and token come from [`GithubConfig`] (tests point it at a loopback fixture).
//! Answers are cached per repo and tag; when GitHub rate-limits (after one short back-off) or
//! cannot be reached, the cached answer is used and a warning says so.

use std::path::PathBuf;
use std::time::Duration;

use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::executor::Reporter;
use crate::plan::ArchiveKind;
use crate::platform::{Libc, Platform};
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

fn is_checksum_list(name: &str) -> bool {
    let lower = name.to_lowercase();
    lower.contains("checksum") || lower.contains("sha256sum") || lower == "sha256.txt"
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

/// Files that accompany binaries: checksums, signatures, metadata and OS packages.
fn is_auxiliary(name: &str) -> bool {
    const SUFFIXES: [&str; 24] = [
        ".sha256",
        ".sha256sum",
        ".sha512",
        ".sha1",
        ".md5",
        ".sig",
        ".asc",
        ".pem",
        ".crt",
        ".cert",
        ".minisig",
        ".sbom",
        ".spdx",
        ".json",
        ".txt",
        ".jsonl",
        ".deb",
        ".rpm",
        ".apk",
        ".msi",
        ".pkg",
        ".dmg",
        ".snap",
        ".appimage",
    ];
    let lower = name.to_lowercase();
    SUFFIXES.iter().any(|s| lower.ends_with(s)) || is_checksum_list(&lower)
}

/// How an asset is unpacked, from its name.
pub fn archive_kind(name: &str) -> ArchiveKind {
    let lower = name.to_lowercase();
    if lower.ends_with(".tar.gz") || lower.ends_with(".tgz") {
        ArchiveKind::TarGz
    } else if lower.ends_with(".tar.xz") || lower.ends_with(".txz") {
        ArchiveKind::TarXz
    } else if lower.ends_with(".tar") {
        ArchiveKind::Tar
    } else if lower.ends_with(".zip") {
        ArchiveKind::Zip
    } else if lower.ends_with(".gz") {
        ArchiveKind::Gz
    } else {
        ArchiveKind::Raw
    }
}

fn os_aliases(os: &str) -> &'static [&'static str] {
    match os {
        "linux" => &["linux"],
        "macos" => &["darwin", "macos", "apple", "osx", "mac"],
        "windows" => &["windows", "win64", "win", "msvc"],
        _ => &[],
    }
}

fn arch_aliases(arch: &str) -> &'static [&'static str] {
    match arch {
        "x86_64" => &["x86_64", "x86-64", "amd64", "x64"],
        "aarch64" => &["aarch64", "arm64"],
        "x86" => &["i686", "i386", "x86"],
        "arm" => &["armv7", "armhf", "arm"],
        _ => &[],
    }
}

const KNOWN_OSES: [&str; 3] = ["linux", "macos", "windows"];
const KNOWN_ARCHES: [&str; 4] = ["x86_64", "aarch64", "x86", "arm"];

fn word(alias: &str) -> Regex {
    Regex::new(&format!(
        "(?:^|[^a-z0-9]){}(?:[^a-z0-9]|$)",
        regex::escape(alias)
    ))
    .expect("alias patterns are valid")
}

/// The arches an asset name mentions (`x86_64` spellings are removed before looking for
/// `x86`, so `x86_64` does not also count as 32-bit).
fn arches_in(name: &str) -> Vec<&'static str> {
    let mut rest = name.to_lowercase();
    let mut found = Vec::new();
    for arch in KNOWN_ARCHES {
        let mut hit = false;
        for alias in arch_aliases(arch) {
            let re = word(alias);
            if re.is_match(&rest) {
                hit = true;
                rest = re.replace_all(&rest, "-").into_owned();
            }
        }
        if hit {
            found.push(arch);
        }
    }
    found
}

fn oses_in(name: &str) -> Vec<&'static str> {
    let lower = name.to_lowercase();
    KNOWN_OSES
        .into_iter()
        .filter(|os| os_aliases(os).iter().any(|a| word(a).is_match(&lower)))
        .collect()
}

fn libc_in(name: &str) -> Option<Libc> {
    let lower = name.to_lowercase();
    if word("musl").is_match(&lower) {
        Some(Libc::Musl)
    } else if word("gnu").is_match(&lower) || word("glibc").is_match(&lower) {
        Some(Libc::Gnu)
    } else {
        None
    }
}

/// Lower is better: the archive formats this OS handles most naturally first.
fn format_rank(name: &str, platform: &Platform) -> u8 {
    let windows = platform.os == "windows";
    match archive_kind(name) {
        ArchiveKind::Zip if windows => 0,
        ArchiveKind::TarGz => 1,
        ArchiveKind::TarXz => 2,
        ArchiveKind::Raw => 3,
        ArchiveKind::Zip => 4,
        ArchiveKind::Tar => 5,
        ArchiveKind::Gz => 6,
    }
}

/// Why no single asset was chosen: the names worth showing the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoMatch {
    /// The assets considered.
    pub candidates: Vec<String>,
}

/// The asset for `platform`, by platform matching over all assets.
pub fn match_asset<'a>(assets: &'a [Asset], platform: &Platform) -> Result<&'a Asset, NoMatch> {
    let binaries: Vec<&Asset> = assets.iter().filter(|a| !is_auxiliary(&a.name)).collect();
    let all = || NoMatch {
        candidates: binaries.iter().map(|a| a.name.clone()).collect(),
    };
    // An exact target triple is the strongest signal, in the platform's order.
    for triple in &platform.triples {
        let hits: Vec<&Asset> = binaries
            .iter()
            .copied()
            .filter(|a| a.name.to_lowercase().contains(triple.as_str()))
            .collect();
        if !hits.is_empty() {
            return best_of(hits, platform);
        }
    }
    let for_os: Vec<&Asset> = binaries
        .iter()
        .copied()
        .filter(|a| {
            let oses = oses_in(&a.name);
            oses.contains(&platform.os.as_str())
                || (oses.is_empty()
                    && platform.os == "windows"
                    && a.name.to_lowercase().ends_with(".exe"))
        })
        .collect();
    let universal =
        |a: &Asset| platform.os == "macos" && a.name.to_lowercase().contains("universal");
    let ours: Vec<&Asset> = for_os
        .iter()
        .copied()
        .filter(|a| arches_in(&a.name) == [platform.arch.as_str()] || universal(a))
        .collect();
    let unknown: Vec<&Asset> = for_os
        .iter()
        .copied()
        .filter(|a| arches_in(&a.name).is_empty() && !universal(a))
        .collect();
    let others = for_os.len() - ours.len() - unknown.len();
    let chosen = if !ours.is_empty() {
        ours
    } else if !unknown.is_empty() && others == 0 {
        unknown
    } else {
        // Either nothing fits, or an asset without an arch sits next to assets for other
        // arches: guessing could run the wrong binary.
        return Err(NoMatch {
            candidates: if for_os.is_empty() {
                all().candidates
            } else {
                for_os.iter().map(|a| a.name.clone()).collect()
            },
        });
    };
    best_of(chosen, platform)
}

/// The single best asset by libc and format; a tie between different assets is refused.
fn best_of<'a>(assets: Vec<&'a Asset>, platform: &Platform) -> Result<&'a Asset, NoMatch> {
    let libc_rank = |a: &Asset| -> Option<u8> {
        match (platform.libc, libc_in(&a.name)) {
            (Some(Libc::Musl), Some(Libc::Gnu)) => None,
            (Some(Libc::Musl), Some(Libc::Musl)) | (Some(Libc::Gnu), Some(Libc::Gnu)) => Some(0),
            (_, None) => Some(1),
            (_, Some(_)) => Some(2),
        }
    };
    let mut ranked: Vec<((u8, u8), &Asset)> = assets
        .iter()
        .filter_map(|a| Some(((libc_rank(a)?, format_rank(&a.name, platform)), *a)))
        .collect();
    ranked.sort_by_key(|(rank, a)| (*rank, a.name.clone()));
    match ranked.as_slice() {
        [] => Err(NoMatch {
            candidates: assets.iter().map(|a| a.name.clone()).collect(),
        }),
        [(rank, _), (next, _), ..] if rank == next => Err(NoMatch {
            candidates: ranked
                .iter()
                .filter(|(r, _)| r == rank)
                .map(|(_, a)| a.name.clone())
                .collect(),
        }),
        [(_, first), ..] => Ok(first),
    }
}

/// Values a template's placeholders take on this platform, best first.
fn placeholder_values(key: &str, platform: &Platform, tag: &str) -> Vec<String> {
    let own = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect();
    match key {
        "triple" => platform.triples.clone(),
        "os" => own(os_aliases(&platform.os)),
        "arch" => own(arch_aliases(&platform.arch)),
        "tag" => vec![tag.to_owned()],
        "version" => vec![tag.strip_prefix('v').unwrap_or(tag).to_owned()],
        "libc" => match platform.libc {
            Some(Libc::Musl) => vec!["musl".to_owned()],
            Some(Libc::Gnu) => vec!["gnu".to_owned(), "musl".to_owned()],
            None => vec![String::new()],
        },
        _ => Vec::new(),
    }
}

/// Every concrete name `template` stands for on this platform, best first (`{triple}`,
/// `{os}`, `{arch}`, `{libc}`, `{tag}`, `{version}`; unknown placeholders stay as written).
pub fn expand_template(template: &str, platform: &Platform, tag: &str) -> Vec<String> {
    let mut names = vec![String::new()];
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}').map(|c| open + c) else {
            break;
        };
        let key = &rest[open + 1..close];
        let values = placeholder_values(key, platform, tag);
        let literal = &rest[..open];
        let values = if values.is_empty() {
            vec![rest[open..=close].to_owned()]
        } else {
            values
        };
        names = names
            .iter()
            .flat_map(|n| values.iter().map(move |v| format!("{n}{literal}{v}")))
            .collect();
        rest = &rest[close + 1..];
    }
    names.into_iter().map(|n| n + rest).collect()
}

/// The asset a template names: the first expansion (in preference order) that an asset
/// matches, exactly or followed by an archive extension; `*` matches anything.
pub fn match_template<'a>(
    assets: &'a [Asset],
    template: &str,
    platform: &Platform,
    tag: &str,
) -> Result<&'a Asset, NoMatch> {
    for name in expand_template(template, platform, tag) {
        let pattern = regex::escape(&name).replace(r"\*", ".*");
        let re = Regex::new(&format!(
            r"(?i)^{pattern}(\.tar\.gz|\.tgz|\.tar\.xz|\.txz|\.tar|\.zip|\.gz|\.exe)?$"
        ))
        .expect("escaped templates are valid");
        let hits: Vec<&Asset> = assets
            .iter()
            .filter(|a| !is_auxiliary(&a.name) && re.is_match(&a.name))
            .collect();
        if !hits.is_empty() {
            return best_of(hits, platform);
        }
    }
    Err(NoMatch {
        candidates: assets
            .iter()
            .filter(|a| !is_auxiliary(&a.name))
            .map(|a| a.name.clone())
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assets(names: &[&str]) -> Vec<Asset> {
        names
            .iter()
            .map(|n| Asset {
                name: (*n).to_owned(),
                browser_download_url: format!("http://x/{n}"),
                digest: None,
            })
            .collect()
    }

    fn linux_gnu() -> Platform {
        Platform::new("linux", "x86_64", Some(Libc::Gnu))
    }

    #[test]
    fn triples_win_in_platform_order_and_checksums_are_dropped() {
        let list = assets(&[
            "fff-mcp-x86_64-unknown-linux-musl",
            "fff-mcp-x86_64-unknown-linux-gnu",
            "fff-mcp-x86_64-unknown-linux-gnu.sha256",
            "fff-mcp-aarch64-unknown-linux-gnu",
        ]);
        assert_eq!(
            match_asset(&list, &linux_gnu()).unwrap().name,
            "fff-mcp-x86_64-unknown-linux-gnu"
        );
        let musl = Platform::new("linux", "x86_64", Some(Libc::Musl));
        assert_eq!(
            match_asset(&list, &musl).unwrap().name,
            "fff-mcp-x86_64-unknown-linux-musl"
        );
    }

    #[test]
    fn aliases_match_on_word_boundaries() {
        let list = assets(&[
            "tool_1.0_Linux_amd64.tar.gz",
            "tool_1.0_Linux_arm64.tar.gz",
            "tool_1.0_Darwin_arm64.tar.gz",
            "tool_1.0_Windows_amd64.zip",
            "checksums.txt",
        ]);
        assert_eq!(
            match_asset(&list, &linux_gnu()).unwrap().name,
            "tool_1.0_Linux_amd64.tar.gz"
        );
        let mac = Platform::new("macos", "aarch64", None);
        assert_eq!(
            match_asset(&list, &mac).unwrap().name,
            "tool_1.0_Darwin_arm64.tar.gz"
        );
        // `x86_64` is not also 32-bit `x86`, and `linux` inside another word is no match.
        assert_eq!(arches_in("t-x86_64-linux"), ["x86_64"]);
        assert!(oses_in("mylinuxtool").is_empty());
    }

    #[test]
    fn an_archless_asset_next_to_other_arches_is_not_guessed() {
        let list = assets(&["tool-linux.tar.gz", "tool-linux-arm64.tar.gz"]);
        let err = match_asset(&list, &linux_gnu()).unwrap_err();
        assert_eq!(
            err.candidates,
            ["tool-linux.tar.gz", "tool-linux-arm64.tar.gz"]
        );
        // Alone, it is the Linux build.
        let alone = assets(&["tool-linux.tar.gz", "tool-darwin.tar.gz"]);
        assert_eq!(
            match_asset(&alone, &linux_gnu()).unwrap().name,
            "tool-linux.tar.gz"
        );
    }

    #[test]
    fn ties_between_formats_prefer_tarballs_and_real_ties_are_refused() {
        let list = assets(&["t-linux-x64.zip", "t-linux-x64.tar.gz"]);
        assert_eq!(
            match_asset(&list, &linux_gnu()).unwrap().name,
            "t-linux-x64.tar.gz"
        );
        let tie = assets(&["a-linux-x64.tar.gz", "b-linux-x64.tar.gz"]);
        assert_eq!(
            match_asset(&tie, &linux_gnu())
                .unwrap_err()
                .candidates
                .len(),
            2
        );
    }

    #[test]
    fn templates_expand_in_preference_order() {
        let p = linux_gnu();
        assert_eq!(
            expand_template("fff-mcp-{triple}", &p, "v1"),
            [
                "fff-mcp-x86_64-unknown-linux-gnu",
                "fff-mcp-x86_64-unknown-linux-musl"
            ]
        );
        let list = assets(&[
            "tool-1.2.0-linux-amd64.tar.gz",
            "tool-1.2.0-linux-arm64.tar.gz",
        ]);
        let hit = match_template(&list, "tool-{version}-{os}-{arch}", &p, "v1.2.0").unwrap();
        assert_eq!(hit.name, "tool-1.2.0-linux-amd64.tar.gz");
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
