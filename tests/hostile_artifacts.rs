//! Hostile release archives end to end: served by the loopback GitHub fixture, hydrated on a
//! follower-like home (its `identity.json` holding a bearer token) by `codexport mcp hydrate
//! NAME` and by the launcher (`codexport-mcp-run mcp run NAME`), in tar, tar.gz, tar.xz and
//! zip where the format has the member: bombs, entry floods, a hard link reached through
//! chained symlinks, a write through an escaping symlink, devices and fifos (each exit 8 with
//! the cap or member named, nothing written outside the artifact dir, nothing left inside it),
//! setuid members (unpacked without the bit), and an archive without its program (exit 8,
//! the hint naming what it holds).
#![cfg(unix)]

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use codexport_core::identity::{Identity, Trust};
use codexport_test_support::archives::{self, Format, Member, file, symlink};
use codexport_test_support::github::{FixtureAsset, ReleaseFixture};
use codexport_test_support::mcp::{
    SH_SERVER, entry, launcher, outside_artifacts, ready_markers, write_manifest,
};
use codexport_test_support::{Home, TestContext, assert_transcript, bins, regex_escape, run};
use serde_json::json;

const TOKEN: &str = "follower-bearer-token-do-not-leak";

fn triple() -> String {
    codexport_resolvers::Platform::detect().triples[0].clone()
}

/// A follower's home: joined (its `identity.json` pins a key and holds the bearer token).
fn follower(cx: &TestContext) -> &Home {
    let home = &cx.follower;
    let trust = Trust {
        master_public_key: "A".repeat(43),
        fingerprint: format!("SHA256:{}", "B".repeat(43)),
        token: TOKEN.to_owned(),
        pinned_at: "2026-01-01T00:00:00Z".to_owned(),
    };
    Identity::Follower(trust).save(&home.homes()).unwrap();
    home
}

/// One hostile case: per format, the members of its archive (`None` where the format has no
/// such member).
struct Case {
    name: &'static str,
    /// A failure past unpacking (not a refused archive) keeps what was unpacked, beside the
    /// `.hydrate.log`, for the user to look at.
    keeps_unpacked: bool,
    members: fn(Format) -> Option<Vec<Member>>,
}

/// Publishes the case's archive for each format as release `acme/CASE-FORMAT@v1` and writes
/// a manifest with one entry per format; returns (entry name, format).
fn publish(fixture: &ReleaseFixture, home: &Home, case: &Case) -> Vec<(String, Format)> {
    let mut entries = Vec::new();
    let mut published = Vec::new();
    for format in Format::ALL {
        let Some(members) = (case.members)(format) else {
            continue;
        };
        let name = format!("{}-{}", case.name, format.slug()).replace('_', "-");
        let asset = format!("{name}-{}.{}", triple(), format.ext());
        fixture.publish(
            &format!("acme/{name}"),
            "v1",
            vec![FixtureAsset::new(&asset, archives::build(format, &members))],
        );
        entries.push(entry(
            &name,
            "github-release",
            json!({"repo": format!("acme/{name}"), "tag": "v1", "bin": "tool"}),
        ));
        published.push((name, format));
    }
    write_manifest(home, entries);
    published
}

/// Every artifact dir (`mcp-artifacts/github-release/<key>`) and what is in it.
fn artifact_listing(home: &Home) -> BTreeMap<PathBuf, Vec<String>> {
    let root = home.tool.join("mcp-artifacts/github-release");
    let mut out = BTreeMap::new();
    let Ok(dirs) = fs::read_dir(&root) else {
        return out;
    };
    let is_key = |name: &str| name.len() == 32 && name.bytes().all(|b| b.is_ascii_hexdigit());
    for dir in dirs
        .flatten()
        .filter(|d| d.path().is_dir() && is_key(&d.file_name().to_string_lossy()))
    {
        let mut names: Vec<String> = walk(&dir.path())
            .iter()
            .map(|p| {
                p.strip_prefix(dir.path())
                    .unwrap()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        names.sort();
        out.insert(dir.path(), names);
    }
    out
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
        out.push(entry.path());
        if entry.file_type().unwrap().is_dir() {
            out.extend(walk(&entry.path()));
        }
    }
    out
}

/// Hydrates `name` with `mcp hydrate` and with the launcher: both exit 8 with the same
/// error (pinned as snapshot `CASE_FORMAT`), nothing outside `mcp-artifacts` changed, the
/// artifact dir holds nothing but its `.hydrate.log`, and `identity.json` is untouched.
fn assert_refused(home: &Home, fixture: &ReleaseFixture, name: &str, snapshot: &str, case: &Case) {
    let identity = fs::read(home.homes().identity()).unwrap();
    let before = outside_artifacts(home);
    let hydrate = run(home
        .cmd()
        .args(["mcp", "hydrate", name])
        .envs(fixture.env()));
    let launched = run(launcher(home, name).envs(fixture.env()));
    for ran in [&hydrate, &launched] {
        assert_eq!(ran.code, 8, "{name}: {}", ran.transcript());
        assert_eq!(ran.stdout, "", "{name}: stdout is the server's");
        assert!(!ran.stderr.contains(TOKEN), "{name}: {}", ran.stderr);
    }
    assert_eq!(
        hydrate.stderr, launched.stderr,
        "{name}: hydrate and the launcher say the same"
    );
    assert_transcript!(
        snapshot,
        hydrate,
        &regex_escape(&triple()) => "[TRIPLE]",
    );
    assert_eq!(
        outside_artifacts(home),
        before,
        "{name}: files outside mcp-artifacts changed"
    );
    assert_eq!(fs::read(home.homes().identity()).unwrap(), identity);
    assert!(
        ready_markers(home).is_empty(),
        "{name}: a `.ready` was left"
    );
    for (dir, names) in artifact_listing(home) {
        assert!(
            names.is_empty() || names == [".hydrate.log"] || case.keeps_unpacked,
            "{name}: `{}` holds {names:?}",
            dir.display()
        );
    }
}

fn run_case(case: &Case) {
    let cx = TestContext::new(bins!());
    let home = follower(&cx);
    let fixture = ReleaseFixture::start();
    let published = publish(&fixture, home, case);
    assert!(!published.is_empty());
    for (name, format) in published {
        assert_refused(
            home,
            &fixture,
            &name,
            &format!("{}_{}", case.name.replace('-', "_"), format.slug()),
            case,
        );
    }
}

/// Unpacked size past 64 MiB (the floor of the ratio cap) from a small download: zeros
/// compressed for tar.gz, tar.xz and zip; a sparse member for a plain tar.
#[test]
fn bombs_are_refused_by_the_expansion_ratio_cap() {
    run_case(&Case {
        name: "bomb",
        keeps_unpacked: false,
        members: |format| {
            Some(vec![match format {
                Format::Tar => Member::Sparse {
                    path: "tool".into(),
                    size: 5 << 30,
                },
                _ => Member::Zeros {
                    path: "tool".into(),
                    size: 80 << 20,
                },
            }])
        },
    });
}

/// 100,001 entries: one past the entry-count cap.
#[test]
fn entry_floods_are_refused_by_the_entry_count_cap() {
    run_case(&Case {
        name: "flood",
        keeps_unpacked: false,
        members: |_| {
            Some(vec![Member::Dirs {
                path: "d/".into(),
                count: 100_001,
            }])
        },
    });
}

/// The reproduced theft: `sub/a -> ..` and `e -> sub/a/../../../..` each look harmless
/// alone, but `e` is the tool home seen from the unpack dir, and `stolen` hard-links
/// `e/identity.json`. Zip has no hard links.
#[test]
fn a_hard_link_through_chained_symlinks_cannot_copy_identity_json() {
    run_case(&Case {
        name: "hardlink",
        keeps_unpacked: false,
        members: |format| {
            (format != Format::Zip).then(|| {
                vec![
                    file("tool", 0o755, SH_SERVER.as_bytes()),
                    symlink("sub/a", ".."),
                    symlink("e", "sub/a/../../../.."),
                    Member::HardLink {
                        path: "stolen".into(),
                        target: "e/identity.json".into(),
                    },
                ]
            })
        },
    });
}

/// A symlink to the tool home, then a member written through it over `identity.json`.
#[test]
fn a_write_through_an_escaping_symlink_is_refused() {
    run_case(&Case {
        name: "symlink",
        keeps_unpacked: false,
        members: |_| {
            Some(vec![
                file("tool", 0o755, SH_SERVER.as_bytes()),
                symlink("home", "../../../.."),
                file("home/identity.json", 0o600, b"{\"role\":\"pwned\"}"),
            ])
        },
    });
}

/// A char device (tar), a fifo (tar.gz, zip), a block device (tar.xz).
#[test]
fn devices_and_fifos_are_refused() {
    run_case(&Case {
        name: "special",
        keeps_unpacked: false,
        members: |format| {
            let mode = match format {
                Format::Tar => 0o020644,
                Format::TarXz => 0o060644,
                Format::TarGz | Format::Zip => 0o010644,
            };
            Some(vec![
                file("tool", 0o755, SH_SERVER.as_bytes()),
                Member::Special {
                    path: "dev".into(),
                    mode,
                },
            ])
        },
    });
}

/// An archive that unpacks cleanly but has no `tool` where `bin` says: a hydration failure
/// (exit 8) whose hint names `bin` and some files the archive does hold, not an I/O error.
#[test]
fn an_archive_without_its_program_names_what_it_holds() {
    run_case(&Case {
        name: "nobin",
        keeps_unpacked: true,
        members: |format| {
            matches!(format, Format::TarGz | Format::Zip).then(|| {
                vec![
                    file("README.md", 0o644, b"# acme\n"),
                    file("acme-1.0/bin/acme-tool", 0o755, SH_SERVER.as_bytes()),
                ]
            })
        },
    });
}

/// A setuid+setgid server and helper unpack without the bits (the helper is not the launch
/// binary, whose mode the make-executable step sets anyway).
#[test]
fn setuid_members_unpack_without_the_bits() {
    let cx = TestContext::new(bins!());
    let home = follower(&cx);
    let fixture = ReleaseFixture::start();
    let published = publish(
        &fixture,
        home,
        &Case {
            name: "setuid",
            keeps_unpacked: false,
            members: |_| {
                Some(vec![
                    file("tool", 0o6755, SH_SERVER.as_bytes()),
                    file("helper", 0o6755, b"#!/bin/sh\n"),
                ])
            },
        },
    );
    assert_eq!(published.len(), 4);
    for (name, _) in published {
        let ran = run(home
            .cmd()
            .args(["mcp", "hydrate", &name])
            .envs(fixture.env()));
        assert_eq!(ran.code, 0, "{name}: {}", ran.transcript());
    }
    let listing = artifact_listing(home);
    let tools: Vec<PathBuf> = listing
        .keys()
        .flat_map(|dir| [dir.join("asset/tool"), dir.join("asset/helper")])
        .collect();
    assert_eq!(tools.len(), 8, "{listing:#?}");
    for tool in tools {
        let mode = fs::metadata(&tool).unwrap().permissions().mode();
        assert_eq!(mode & 0o7777, 0o755, "`{}`", tool.display());
    }
}
