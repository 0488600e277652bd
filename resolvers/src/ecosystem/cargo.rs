//! cargo facts: which `cargo install` put a binary into `<root>/bin` (`.crates2.json`, else
//! the older `.crates.toml`), and crate names from `Cargo.toml`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use codexport_core::mcp::manifest::McpEntry;
use serde::Deserialize;

use super::{bad_file, read_text};
use crate::Error;

/// One `cargo install` record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Install {
    /// Crate name.
    pub(crate) name: String,
    /// Installed version.
    pub(crate) version: String,
    /// Where it came from.
    pub(crate) source: Source,
}

/// The package source of an install.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
    /// A registry (crates.io or another).
    Registry,
    /// A git repository at an exact revision.
    Git {
        /// Repository URL (query and fragment removed).
        url: String,
        /// Commit.
        rev: Option<String>,
    },
    /// A local crate.
    Path(PathBuf),
}

#[derive(Deserialize)]
struct Crates2 {
    installs: BTreeMap<String, Crates2Install>,
}

#[derive(Deserialize)]
struct Crates2Install {
    #[serde(default)]
    bins: Vec<String>,
}

#[derive(Deserialize)]
struct Crates1 {
    #[serde(default)]
    v1: BTreeMap<String, Vec<String>>,
}

/// The install that put `bin` into `root/bin`, from `root/.crates2.json` or, failing that,
/// `root/.crates.toml`. `None` when neither file exists or none lists the binary.
pub(crate) fn install_of(
    entry: &McpEntry,
    root: &Path,
    bin: &str,
) -> Result<Option<Install>, Error> {
    let wants = |bins: &[String]| bins.iter().any(|b| super::stem(b) == bin);
    let v2 = root.join(".crates2.json");
    if v2.is_file() {
        let doc: Crates2 = serde_json::from_str(&read_text(entry, &v2)?)
            .map_err(|e| bad_file(entry, &v2, format!("not cargo's install record: {e}")))?;
        let key = doc
            .installs
            .iter()
            .find(|(_, i)| wants(&i.bins))
            .map(|(k, _)| k);
        return key
            .map(|k| {
                parse_key(k)
                    .ok_or_else(|| bad_file(entry, &v2, format!("cannot read install `{k}`")))
            })
            .transpose();
    }
    let v1 = root.join(".crates.toml");
    if v1.is_file() {
        let doc: Crates1 = toml_edit::de::from_str(&read_text(entry, &v1)?)
            .map_err(|e| bad_file(entry, &v1, format!("not cargo's install record: {e}")))?;
        let key = doc.v1.iter().find(|(_, bins)| wants(bins)).map(|(k, _)| k);
        return key
            .map(|k| {
                parse_key(k)
                    .ok_or_else(|| bad_file(entry, &v1, format!("cannot read install `{k}`")))
            })
            .transpose();
    }
    Ok(None)
}

/// Parses `name version (source)`.
fn parse_key(key: &str) -> Option<Install> {
    let (name, rest) = key.split_once(' ')?;
    let (version, source) = rest.split_once(' ')?;
    let source = source.strip_prefix('(')?.strip_suffix(')')?;
    let source = if source.starts_with("registry+") || source.starts_with("sparse+") {
        Source::Registry
    } else if let Some(git) = source.strip_prefix("git+") {
        let (url, rev) = match git.split_once('#') {
            Some((url, rev)) => (url, Some(rev.to_owned())),
            None => (git, None),
        };
        let url = url.split_once('?').map_or(url, |(u, _)| u).to_owned();
        Source::Git { url, rev }
    } else if let Some(path) = source.strip_prefix("path+") {
        Source::Path(url::Url::parse(path).ok()?.to_file_path().ok()?)
    } else {
        return None;
    };
    Some(Install {
        name: name.to_owned(),
        version: version.to_owned(),
        source,
    })
}

/// The package name of the crate at `root` (`[package] name`).
pub(crate) fn package_name(entry: &McpEntry, root: &Path) -> Result<String, Error> {
    let path = root.join("Cargo.toml");
    let doc: toml_edit::DocumentMut = read_text(entry, &path)?
        .parse()
        .map_err(|e| bad_file(entry, &path, format!("not valid TOML: {e}")))?;
    doc.get("package")
        .and_then(|p| p.get("name"))
        .and_then(|n| n.as_str())
        .map(str::to_owned)
        .ok_or_else(|| bad_file(entry, &path, "has no `[package] name` (a workspace root?)"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ecosystem::test_support::stdio_entry;

    #[test]
    #[cfg_attr(
        windows,
        ignore = "a Unix `path+file:///src/t` source is no absolute path on Windows (resolvers on Windows are issue 12)"
    )]
    fn install_keys_parse_registry_git_and_path_sources() {
        let reg =
            parse_key("ripgrep 14.1.0 (registry+https://github.com/rust-lang/crates.io-index)")
                .unwrap();
        assert_eq!(
            (reg.name.as_str(), reg.version.as_str()),
            ("ripgrep", "14.1.0")
        );
        assert_eq!(reg.source, Source::Registry);
        let git = parse_key("gq 0.3.0 (git+https://github.com/o/gq?branch=main#0123abc)").unwrap();
        assert_eq!(
            git.source,
            Source::Git {
                url: "https://github.com/o/gq".into(),
                rev: Some("0123abc".into())
            }
        );
        let path = parse_key("t 0.1.0 (path+file:///src/t)").unwrap();
        assert_eq!(path.source, Source::Path(PathBuf::from("/src/t")));
        assert_eq!(parse_key("garbage"), None);
    }

    #[test]
    fn crates2_json_is_searched_for_the_binary_and_crates_toml_is_the_fallback() {
        let tmp = tempfile::tempdir().unwrap();
        let e = stdio_entry("e", "x", &[]);
        assert_eq!(install_of(&e, tmp.path(), "rg").unwrap(), None);
        std::fs::write(
            tmp.path().join(".crates.toml"),
            "[v1]\n\"ripgrep 14.1.0 (registry+https://github.com/rust-lang/crates.io-index)\" = [\"rg\"]\n",
        )
        .unwrap();
        assert_eq!(
            install_of(&e, tmp.path(), "rg").unwrap().unwrap().name,
            "ripgrep"
        );
        std::fs::write(
            tmp.path().join(".crates2.json"),
            r#"{"installs":{"fd-find 10.2.0 (registry+https://github.com/rust-lang/crates.io-index)":{"version_req":null,"bins":["fd"]}}}"#,
        )
        .unwrap();
        assert_eq!(
            install_of(&e, tmp.path(), "fd").unwrap().unwrap().version,
            "10.2.0"
        );
        assert_eq!(install_of(&e, tmp.path(), "rg").unwrap(), None);
    }
}
