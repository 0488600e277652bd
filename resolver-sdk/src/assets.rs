//! Picking the release asset that fits a platform: templates, os/arch aliases, versions.

use crate::types::{Platform, Release, ReleaseAsset, ResolveError};

/// Expands an asset template for one target `triple`.
///
/// Placeholders: `{triple}`, `{os}` (`linux`, `macos`, `windows`), `{arch}` (`x86_64`,
/// `aarch64`), `{tag}` (`v1.2.3`), `{version}` (the tag without a leading `v`), `{exe}`
/// (`.exe` on Windows, empty elsewhere).
pub fn expand_template(template: &str, platform: &Platform, triple: &str, tag: &str) -> String {
    let exe = if platform.os == "windows" { ".exe" } else { "" };
    template
        .replace("{triple}", triple)
        .replace("{os}", &platform.os)
        .replace("{arch}", &platform.arch)
        .replace("{tag}", tag)
        .replace("{version}", tag.strip_prefix('v').unwrap_or(tag))
        .replace("{exe}", exe)
}

/// The asset named by `template` for the best of the platform's triples.
///
/// Triples are tried in the platform's order (gnu before musl on glibc hosts). A miss lists
/// the names that were looked for and the release's assets.
pub fn find_templated<'r>(
    release: &'r Release,
    template: &str,
    platform: &Platform,
) -> Result<&'r ReleaseAsset, ResolveError> {
    let mut wanted = Vec::new();
    for triple in &platform.triples {
        let name = expand_template(template, platform, triple, &release.tag);
        if let Some(asset) = release.assets.iter().find(|a| a.name == name) {
            return Ok(asset);
        }
        if !wanted.contains(&name) {
            wanted.push(name);
        }
    }
    wanted.extend(release.assets.iter().map(|a| a.name.clone()));
    Err(ResolveError::NoMatchingAsset(wanted))
}

/// The one asset that fits `platform` when a release has no naming template: checksum,
/// signature and package files are dropped, then a target triple, else os and arch aliases,
/// must match on word boundaries. Refuses to guess between several candidates.
pub fn match_platform<'r>(
    release: &'r Release,
    platform: &Platform,
) -> Result<&'r ReleaseAsset, ResolveError> {
    let binaries: Vec<&ReleaseAsset> = release
        .assets
        .iter()
        .filter(|a| !is_auxiliary(&a.name))
        .collect();
    let none_fit =
        || ResolveError::NoMatchingAsset(binaries.iter().map(|a| a.name.clone()).collect());

    for triple in &platform.triples {
        let hits: Vec<_> = binaries
            .iter()
            .copied()
            .filter(|a| contains_word(&a.name, triple))
            .collect();
        if let Some(best) = preferred(&hits) {
            return Ok(best);
        }
    }

    let os_aliases = os_aliases(&platform.os);
    let arch_aliases = arch_aliases(&platform.arch);
    let on_os: Vec<_> = binaries
        .iter()
        .copied()
        .filter(|a| os_aliases.iter().any(|w| contains_word(&a.name, w)))
        .collect();
    let on_arch: Vec<_> = on_os
        .iter()
        .copied()
        .filter(|a| arch_aliases.iter().any(|w| contains_word(&a.name, w)))
        .collect();
    // Assets that name an arch but not ours are another machine's, never a fallback.
    let arch_free: Vec<_> = on_os
        .iter()
        .copied()
        .filter(|a| !ALL_ARCHES.iter().any(|w| contains_word(&a.name, w)))
        .collect();
    let pool = if on_arch.is_empty() {
        arch_free
    } else {
        on_arch
    };
    let pool = prefer_libc(pool, platform);
    preferred(&pool).ok_or_else(none_fit)
}

/// A tag as a semantic version (`v1.2.3` and `1.2.3` both parse).
pub fn parse_version(tag: &str) -> Option<semver::Version> {
    semver::Version::parse(tag.strip_prefix('v').unwrap_or(tag)).ok()
}

/// The highest of `tags` that satisfies `req` (`^1.2`, `>=0.3, <0.5`).
pub fn latest_matching<'t>(tags: &[&'t str], req: &str) -> Option<&'t str> {
    let req = semver::VersionReq::parse(req).ok()?;
    tags.iter()
        .filter_map(|t| parse_version(t).map(|v| (v, *t)))
        .filter(|(v, _)| req.matches(v))
        .max_by(|a, b| a.0.cmp(&b.0))
        .map(|(_, t)| t)
}

const ALL_ARCHES: &[&str] = &[
    "x86_64", "amd64", "x64", "x86-64", "aarch64", "arm64", "i686", "i386", "armv7", "arm",
    "riscv64", "ppc64le", "s390x",
];

fn os_aliases(os: &str) -> &'static [&'static str] {
    match os {
        "linux" => &["linux"],
        "macos" => &["macos", "darwin", "apple", "osx", "mac"],
        "windows" => &["windows", "win64", "win"],
        _ => &[],
    }
}

fn arch_aliases(arch: &str) -> &'static [&'static str] {
    match arch {
        "x86_64" => &["x86_64", "amd64", "x64", "x86-64"],
        "aarch64" => &["aarch64", "arm64"],
        _ => &[],
    }
}

/// Checksums, signatures, SBOMs and OS packages: never the binary itself.
fn is_auxiliary(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    const SUFFIXES: &[&str] = &[
        ".sha256",
        ".sha512",
        ".sha256sum",
        ".md5",
        ".sig",
        ".asc",
        ".pem",
        ".crt",
        ".sbom",
        ".json",
        ".txt",
        ".deb",
        ".rpm",
        ".apk",
        ".msi",
        ".pkg",
        ".dmg",
        ".intoto.jsonl",
    ];
    SUFFIXES.iter().any(|s| lower.ends_with(s))
        || lower.contains("checksums")
        || lower.contains("sha256sums")
}

/// Whether `word` occurs in `name` with no letter or digit right before or after it.
fn contains_word(name: &str, word: &str) -> bool {
    let name = name.to_ascii_lowercase();
    let word = word.to_ascii_lowercase();
    let bytes = name.as_bytes();
    name.match_indices(&word).any(|(at, _)| {
        let before = at.checked_sub(1).map(|i| bytes[i]);
        let after = bytes.get(at + word.len()).copied();
        !before.is_some_and(|b| b.is_ascii_alphanumeric())
            && !after.is_some_and(|b| b.is_ascii_alphanumeric())
    })
}

fn prefer_libc<'r>(pool: Vec<&'r ReleaseAsset>, platform: &Platform) -> Vec<&'r ReleaseAsset> {
    let Some(libc) = platform.libc else {
        return pool;
    };
    let ours = match libc {
        crate::types::Libc::Gnu => "gnu",
        crate::types::Libc::Musl => "musl",
    };
    let hits: Vec<_> = pool
        .iter()
        .copied()
        .filter(|a| contains_word(&a.name, ours))
        .collect();
    if hits.is_empty() { pool } else { hits }
}

/// One asset out of several packagings of the same build (`.tar.gz` before `.zip` before a
/// raw binary); `None` when empty or when the candidates are different builds.
fn preferred<'r>(hits: &[&'r ReleaseAsset]) -> Option<&'r ReleaseAsset> {
    fn stem(name: &str) -> &str {
        [".tar.gz", ".tgz", ".tar.xz", ".zip", ".gz", ".exe"]
            .iter()
            .find_map(|s| name.strip_suffix(s))
            .unwrap_or(name)
    }
    let first = hits.first()?;
    if hits.iter().any(|a| stem(&a.name) != stem(&first.name)) {
        return None;
    }
    let rank = |a: &&ReleaseAsset| {
        let n = a.name.to_ascii_lowercase();
        [".tar.gz", ".tgz", ".tar.xz", ".zip"]
            .iter()
            .position(|s| n.ends_with(s))
            .unwrap_or(4)
    };
    hits.iter().copied().min_by_key(rank)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Libc;

    fn linux() -> Platform {
        Platform {
            os: "linux".into(),
            arch: "x86_64".into(),
            libc: Some(Libc::Gnu),
            triples: vec![
                "x86_64-unknown-linux-gnu".into(),
                "x86_64-unknown-linux-musl".into(),
            ],
        }
    }

    fn release(names: &[&str]) -> Release {
        Release {
            tag: "v0.4.1".into(),
            assets: names
                .iter()
                .map(|n| ReleaseAsset {
                    name: (*n).into(),
                    url: format!("https://example.invalid/{n}"),
                    sha256: None,
                })
                .collect(),
        }
    }

    #[test]
    fn templates_try_triples_in_order() {
        let r = release(&[
            "fff-mcp-x86_64-unknown-linux-musl",
            "fff-mcp-aarch64-apple-darwin",
        ]);
        let hit = find_templated(&r, "fff-mcp-{triple}", &linux()).unwrap();
        assert_eq!(hit.name, "fff-mcp-x86_64-unknown-linux-musl");
        let Err(ResolveError::NoMatchingAsset(names)) = find_templated(
            &release(&["x-aarch64-apple-darwin"]),
            "x-{triple}",
            &linux(),
        ) else {
            panic!("expected a miss")
        };
        assert_eq!(names[0], "x-x86_64-unknown-linux-gnu");
        assert!(names.contains(&"x-aarch64-apple-darwin".to_owned()));
    }

    #[test]
    fn template_placeholders_expand() {
        let p = linux();
        assert_eq!(
            expand_template("t-{version}-{os}-{arch}{exe}.tar.gz", &p, "", "v1.2.0"),
            "t-1.2.0-linux-x86_64.tar.gz"
        );
    }

    #[test]
    fn platform_matching_uses_aliases_and_refuses_to_guess() {
        let r = release(&[
            "tool_Linux_amd64.tar.gz",
            "tool_Linux_arm64.tar.gz",
            "tool_Darwin_arm64.tar.gz",
            "checksums.txt",
        ]);
        assert_eq!(
            match_platform(&r, &linux()).unwrap().name,
            "tool_Linux_amd64.tar.gz"
        );
        // Two different linux builds and no arch to tell them apart: refuse.
        let r = release(&["tool-linux-a.tar.gz", "tool-linux-b.tar.gz"]);
        assert!(matches!(
            match_platform(&r, &linux()),
            Err(ResolveError::NoMatchingAsset(_))
        ));
        // An arm-only release never falls back to the wrong arch.
        let r = release(&["tool-linux-arm64"]);
        assert!(match_platform(&r, &linux()).is_err());
        // `mac` inside `machine` is not a word.
        assert!(!contains_word("machine-linux", "mac"));
    }

    #[test]
    fn packagings_of_one_build_prefer_tarballs_and_libc() {
        let r = release(&[
            "t-x86_64-unknown-linux-gnu.zip",
            "t-x86_64-unknown-linux-gnu.tar.gz",
        ]);
        assert_eq!(
            match_platform(&r, &linux()).unwrap().name,
            "t-x86_64-unknown-linux-gnu.tar.gz"
        );
        let r = release(&["t-linux-x64-musl.tar.gz", "t-linux-x64-gnu.tar.gz"]);
        assert_eq!(
            match_platform(&r, &linux()).unwrap().name,
            "t-linux-x64-gnu.tar.gz"
        );
    }

    #[test]
    fn versions_parse_with_or_without_v() {
        assert_eq!(
            parse_version("v1.2.3").unwrap(),
            semver::Version::new(1, 2, 3)
        );
        assert_eq!(
            latest_matching(&["v0.3.0", "v0.4.2", "v1.0.0", "nightly"], "^0.4"),
            Some("v0.4.2")
        );
    }
}
