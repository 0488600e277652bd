//! Choosing one asset: by template, or by what the names say about os, arch and libc.

use crate::names::{arches_in, is_universal, libc_in, oses_in};
use crate::template::{expansions, names_match};
use crate::{ArchiveKind, Bindings, Libc, Target, contains_word, is_auxiliary};

/// Anything with an asset's file name: the host's and the plugin's release assets, a `&str`.
pub trait AssetName {
    /// The file name (`fff-mcp-x86_64-unknown-linux-gnu.tar.gz`).
    fn asset_name(&self) -> &str;
}

impl AssetName for str {
    fn asset_name(&self) -> &str {
        self
    }
}

impl AssetName for String {
    fn asset_name(&self) -> &str {
        self
    }
}

impl<T: AssetName + ?Sized> AssetName for &T {
    fn asset_name(&self) -> &str {
        (**self).asset_name()
    }
}

/// The asset chosen, and the placeholder values it was chosen with (for its `bin` path).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice<'a, A> {
    /// The asset.
    pub asset: &'a A,
    /// What each placeholder stood for: the template's values where it had the placeholder,
    /// else what the asset's name spells, else the platform's own.
    pub bindings: Bindings,
}

/// Why no single asset was chosen.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NoMatch {
    /// The names a template stood for, best first (empty without a template).
    pub wanted: Vec<String>,
    /// The assets worth showing: those that fit but tie, else every candidate considered.
    pub candidates: Vec<String>,
}

/// The asset for `target` when no template names it.
///
/// Auxiliary files are dropped; an asset naming one of the target's triples (as a word) wins,
/// in triple order. Otherwise the os must be named (or, on Windows, the name end in `.exe`)
/// and the arch be ours alone (a macOS `universal` build fits every arch); an asset naming no
/// arch is taken only when no asset for another arch sits next to it. Among the fitting
/// assets the build for this libc wins, then one that does not say, then the other (a musl
/// host never takes a glibc build); then the format (zip first on Windows, else `.tar.gz`,
/// `.tar.xz`, a raw binary, `.zip`, `.tar`, `.gz`). A real tie is refused.
pub fn match_asset<'a, A: AssetName>(
    assets: &'a [A],
    target: &Target<'_>,
    tag: &str,
) -> Result<Choice<'a, A>, NoMatch> {
    let binaries = binaries(assets);
    let names =
        |list: &[&A]| -> Vec<String> { list.iter().map(|a| a.asset_name().to_owned()).collect() };
    // An exact target triple is the strongest signal, in the platform's order.
    for triple in target.triples {
        let hits: Vec<&A> = binaries
            .iter()
            .copied()
            .filter(|a| contains_word(a.asset_name(), triple))
            .collect();
        if !hits.is_empty() {
            return best_of(hits, target, tag, None);
        }
    }
    let for_os: Vec<&A> = binaries
        .iter()
        .copied()
        .filter(|a| {
            let name = a.asset_name();
            let oses = oses_in(name);
            oses.contains(&target.os)
                || (oses.is_empty()
                    && target.os == "windows"
                    && name.to_ascii_lowercase().ends_with(".exe"))
        })
        .collect();
    let universal = |a: &A| target.os == "macos" && is_universal(a.asset_name());
    let ours: Vec<&A> = for_os
        .iter()
        .copied()
        .filter(|a| arches_in(a.asset_name()) == [target.arch] || universal(a))
        .collect();
    let unknown: Vec<&A> = for_os
        .iter()
        .copied()
        .filter(|a| arches_in(a.asset_name()).is_empty() && !universal(a))
        .collect();
    let others = for_os.len() - ours.len() - unknown.len();
    if !ours.is_empty() {
        best_of(ours, target, tag, None)
    } else if !unknown.is_empty() && others == 0 {
        best_of(unknown, target, tag, None)
    } else {
        // Either nothing fits, or an asset without an arch sits next to assets for other
        // arches: guessing could run the wrong binary.
        Err(NoMatch {
            wanted: Vec::new(),
            candidates: names(if for_os.is_empty() {
                &binaries
            } else {
                &for_os
            }),
        })
    }
}

/// The asset `template` names on `target`: the first of its expansions (best first) that some
/// non-auxiliary asset matches, ASCII case ignored, exactly or followed by an archive
/// extension or `.exe`; `*` matches any run of characters. Several matches are ranked as in
/// [`match_asset`].
pub fn match_template<'a, A: AssetName>(
    assets: &'a [A],
    template: &str,
    target: &Target<'_>,
    tag: &str,
) -> Result<Choice<'a, A>, NoMatch> {
    let binaries = binaries(assets);
    let mut wanted = Vec::new();
    for (name, bindings) in expansions(template, target, tag) {
        let hits: Vec<&A> = binaries
            .iter()
            .copied()
            .filter(|a| names_match(&name, a.asset_name()))
            .collect();
        wanted.push(name);
        if !hits.is_empty() {
            return best_of(hits, target, tag, Some((template, &bindings))).map_err(|mut e| {
                e.wanted = wanted;
                e
            });
        }
    }
    Err(NoMatch {
        wanted,
        candidates: binaries.iter().map(|a| a.asset_name().to_owned()).collect(),
    })
}

/// Lower is better: the build for this libc, then one that does not say, then the other
/// (a musl host never takes a glibc build).
/// The assets that can be what a spec asks for: checksums, signatures and packages never are.
fn binaries<A: AssetName>(assets: &[A]) -> Vec<&A> {
    assets
        .iter()
        .filter(|a| !is_auxiliary(a.asset_name()))
        .collect()
}

fn libc_rank(name: &str, target: &Target<'_>) -> Option<u8> {
    match (target.libc, libc_in(name)) {
        (Some(Libc::Musl), Some(Libc::Gnu)) => None,
        (Some(ours), Some(theirs)) if ours == theirs => Some(0),
        (_, None) => Some(1),
        (_, Some(_)) => Some(2),
    }
}

/// Lower is better: the archive formats this os handles most naturally first.
fn format_rank(name: &str, target: &Target<'_>) -> u8 {
    match ArchiveKind::from_name(name) {
        ArchiveKind::Zip if target.os == "windows" => 0,
        ArchiveKind::TarGz => 1,
        ArchiveKind::TarXz => 2,
        ArchiveKind::Raw => 3,
        ArchiveKind::Zip => 4,
        ArchiveKind::Tar => 5,
        ArchiveKind::Gz => 6,
    }
}

/// The single best asset by libc, then format; a tie between different assets is refused.
fn best_of<'a, A: AssetName>(
    assets: Vec<&'a A>,
    target: &Target<'_>,
    tag: &str,
    template: Option<(&str, &Bindings)>,
) -> Result<Choice<'a, A>, NoMatch> {
    let mut ranked: Vec<((u8, u8), &'a A)> = assets
        .iter()
        .filter_map(|a| {
            let name = a.asset_name();
            Some(((libc_rank(name, target)?, format_rank(name, target)), *a))
        })
        .collect();
    ranked.sort_by(|(r1, a1), (r2, a2)| (r1, a1.asset_name()).cmp(&(r2, a2.asset_name())));
    match ranked.as_slice() {
        [] => Err(NoMatch {
            wanted: Vec::new(),
            candidates: assets.iter().map(|a| a.asset_name().to_owned()).collect(),
        }),
        [(rank, _), (next, _), ..] if rank == next => Err(NoMatch {
            wanted: Vec::new(),
            candidates: ranked
                .iter()
                .filter(|(r, _)| r == rank)
                .map(|(_, a)| a.asset_name().to_owned())
                .collect(),
        }),
        [(_, first), ..] => {
            let mut bindings = Bindings::for_asset(first.asset_name(), target, tag);
            if let Some((template, matched)) = template {
                bindings.take_from(template, matched);
            }
            Ok(Choice {
                asset: first,
                bindings,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chosen_template_values_carry_over_to_bin() {
        let triples = vec![
            "x86_64-unknown-linux-gnu".to_owned(),
            "x86_64-unknown-linux-musl".to_owned(),
        ];
        let t = Target {
            os: "linux",
            arch: "x86_64",
            libc: Some(Libc::Gnu),
            triples: &triples,
        };
        let assets = [
            "tool-1.2.0-linux-amd64.tar.gz",
            "tool-1.2.0-linux-arm64.tar.gz",
        ];
        let hit = match_template(&assets, "tool-{version}-{os}-{arch}", &t, "v1.2.0").unwrap();
        assert_eq!(*hit.asset, "tool-1.2.0-linux-amd64.tar.gz");
        assert_eq!(
            hit.bindings
                .expand("tool-{version}-{os}-{arch}/{triple}/tool{exe}"),
            "tool-1.2.0-linux-amd64/x86_64-unknown-linux-gnu/tool"
        );
        let musl = ["fff-mcp-x86_64-unknown-linux-musl"];
        let hit = match_asset(&musl, &t, "v1").unwrap();
        assert_eq!(hit.bindings.expand("{triple}"), "x86_64-unknown-linux-musl");
        let miss = match_template(&musl, "x-{triple}", &t, "v1").unwrap_err();
        assert_eq!(
            miss.wanted,
            ["x-x86_64-unknown-linux-gnu", "x-x86_64-unknown-linux-musl"]
        );
        assert_eq!(miss.candidates, musl);
    }
}
