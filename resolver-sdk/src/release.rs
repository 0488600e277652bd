//! Picking a release's asset for a platform (the rules of `codexport-assets`, the ones the
//! host's `github-release` resolver uses) and reading tags as versions.

use codexport_assets::Choice;

use crate::types::{Platform, Release, ReleaseAsset, ResolveError};

/// The asset of `release` for `platform`, and the placeholder values it was chosen with:
/// the one `template` names when given, else by platform matching. The same choice the
/// host's `github-release` resolver makes for the same spec; `choice.bindings.expand(bin)`
/// expands a path inside the asset with the same values.
pub fn choose_asset<'r>(
    release: &'r Release,
    template: Option<&str>,
    platform: &Platform,
) -> Result<Choice<'r, ReleaseAsset>, ResolveError> {
    let target = platform.target();
    let choice = match template {
        Some(template) => {
            codexport_assets::match_template(&release.assets, template, &target, &release.tag)
        }
        None => codexport_assets::match_asset(&release.assets, &target, &release.tag),
    };
    Ok(choice?)
}

/// The asset named by `template` (`fff-mcp-{triple}{exe}`), its expansions tried best first.
///
/// A miss lists the names that were looked for, then the release's binaries.
pub fn find_templated<'r>(
    release: &'r Release,
    template: &str,
    platform: &Platform,
) -> Result<&'r ReleaseAsset, ResolveError> {
    choose_asset(release, Some(template), platform).map(|c| c.asset)
}

/// The one asset that fits `platform` when a release has no naming template: auxiliary
/// files are dropped, then a target triple, else os and arch aliases, must match on word
/// boundaries. Refuses to guess between several candidates.
pub fn match_platform<'r>(
    release: &'r Release,
    platform: &Platform,
) -> Result<&'r ReleaseAsset, ResolveError> {
    choose_asset(release, None, platform).map(|c| c.asset)
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

#[cfg(test)]
mod tests {
    use codexport_assets::vectors::{Expect, VECTORS};

    use super::*;

    /// The shared vectors, through the plugin-facing types and error.
    #[test]
    fn the_shared_asset_vectors_hold_for_plugins() {
        for v in VECTORS {
            let release = Release {
                tag: v.tag.into(),
                assets: v
                    .assets
                    .iter()
                    .map(|n| ReleaseAsset {
                        name: (*n).into(),
                        url: format!("https://example.invalid/{n}"),
                        sha256: None,
                    })
                    .collect(),
            };
            let platform = Platform {
                os: v.platform.os.into(),
                arch: v.platform.arch.into(),
                libc: v.platform.libc,
                triples: v.platform.triples(),
            };
            let got = match v.template {
                Some(t) => find_templated(&release, t, &platform),
                None => match_platform(&release, &platform),
            };
            match (got, v.expect) {
                (Ok(asset), Expect::Pick(name)) => assert_eq!(asset.name, name, "{}", v.about),
                (Err(ResolveError::NoMatchingAsset(names)), Expect::Refuse(candidates)) => {
                    let tail = &names[names.len().saturating_sub(candidates.len())..];
                    assert_eq!(tail, candidates, "{}: {names:?}", v.about);
                }
                (got, want) => panic!("{}: got {got:?}, want {want:?}", v.about),
            }
        }
    }

    #[test]
    fn a_template_miss_lists_the_names_looked_for_first() {
        let release = Release {
            tag: "v1".into(),
            assets: vec![ReleaseAsset {
                name: "x-aarch64-apple-darwin".into(),
                url: "https://example.invalid/x".into(),
                sha256: None,
            }],
        };
        let platform = Platform {
            os: "linux".into(),
            arch: "x86_64".into(),
            libc: Some(crate::Libc::Gnu),
            triples: vec![
                "x86_64-unknown-linux-gnu".into(),
                "x86_64-unknown-linux-musl".into(),
            ],
        };
        let Err(ResolveError::NoMatchingAsset(names)) =
            find_templated(&release, "x-{triple}", &platform)
        else {
            panic!("expected a miss")
        };
        assert_eq!(
            names,
            [
                "x-x86_64-unknown-linux-gnu",
                "x-x86_64-unknown-linux-musl",
                "x-aarch64-apple-darwin"
            ]
        );
        let choice = choose_asset(&release, None, &platform);
        assert!(choice.is_err());
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
