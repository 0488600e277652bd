//! A resolver plugin for MCP servers installed with `cargo install --git` (the way the original
//! codexport hard-coded GitQuarry).
//!
//! On the master it finds the command's install record in cargo's `.crates2.json` (next to
//! `bin/`) and pins the repository and exact revision. On each follower it asks the host to
//! `cargo install --git URL --rev REV --locked` into the artifact directory.

use codexport_resolver_sdk::host::{self, Level};
use codexport_resolver_sdk::{
    Entry, Facts, Launch, Mode, Platform, Resolution, ResolveError, Resolver, Spec, Step,
    export_resolver,
};
use serde::{Deserialize, Serialize};

/// What the master records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GitCrateSpec {
    /// The package name.
    #[serde(rename = "crate")]
    pub crate_name: String,
    /// The repository URL.
    pub git: String,
    /// The exact commit the master built.
    pub rev: String,
    /// The binary to run.
    pub bin: String,
}

#[derive(Default)]
struct CargoGit;

impl Resolver for CargoGit {
    fn infer(&self, entry: &Entry, facts: &Facts) -> Option<Spec> {
        // Windows paths read the same with forward slashes, and the host accepts both.
        let command = facts.command_path.as_deref()?.replace('\\', "/");
        let (bin_dir, file) = command.rsplit_once('/')?;
        let bin = file.strip_suffix(".exe").unwrap_or(file);
        let cargo_home = bin_dir.strip_suffix("/bin")?;
        let record = format!("{cargo_home}/.crates2.json");
        let bytes = match host::read_file(&record) {
            Ok(bytes) => bytes,
            Err(why) => {
                host::log(Level::Debug, &format!("{}: no {record}: {why}", entry.name));
                return None;
            }
        };
        let spec = git_install_of(&bytes, bin)?;
        Some(Spec::new(&spec))
    }

    fn probe(&self, _entry: &Entry, spec: &Spec) -> Option<u32> {
        spec.parse::<GitCrateSpec>().ok().map(|_| 100)
    }

    fn resolve(
        &self,
        entry: &Entry,
        spec: &Spec,
        platform: &Platform,
        _mode: Mode,
    ) -> Result<Resolution, ResolveError> {
        let spec: GitCrateSpec = spec.parse()?;
        let exe = if platform.os == "windows" { ".exe" } else { "" };
        Ok(Resolution {
            version: spec.rev.clone(),
            cache_key: format!("{}#{}/{}", spec.git, spec.rev, spec.crate_name),
            steps: vec![Step::CargoInstall {
                crate_name: spec.crate_name.clone(),
                version: None,
                git: Some(spec.git.clone()),
                rev: Some(spec.rev.clone()),
                bin: spec.bin.clone(),
            }],
            launch: Launch::program(format!("${{artifact}}/bin/{}{exe}", spec.bin))
                .args(entry.args.clone()),
        })
    }
}

/// The git install in `.crates2.json` that provides `bin`.
///
/// Keys look like `name 0.1.0 (git+https://github.com/o/r?branch=main#<rev>)`; registry
/// and path installs are other resolvers' business.
fn git_install_of(crates2: &[u8], bin: &str) -> Option<GitCrateSpec> {
    #[derive(Deserialize)]
    struct Crates2 {
        installs: std::collections::BTreeMap<String, Install>,
    }
    #[derive(Deserialize)]
    struct Install {
        #[serde(default)]
        bins: Vec<String>,
    }
    let doc: Crates2 = serde_json::from_slice(crates2).ok()?;
    doc.installs.iter().find_map(|(key, install)| {
        let provides = install
            .bins
            .iter()
            .any(|b| b.strip_suffix(".exe").unwrap_or(b) == bin);
        if !provides {
            return None;
        }
        let (name, rest) = key.split_once(' ')?;
        let source = rest.split_once('(')?.1.strip_suffix(')')?;
        let (url, rev) = source.strip_prefix("git+")?.split_once('#')?;
        let url = url.split_once('?').map_or(url, |(u, _)| u);
        Some(GitCrateSpec {
            crate_name: name.to_owned(),
            git: url.to_owned(),
            rev: rev.to_owned(),
            bin: bin.to_owned(),
        })
    })
}

export_resolver!(CargoGit);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_git_install_that_provides_the_bin() {
        let doc = br#"{"installs": {
            "ripgrep 14.1.0 (registry+https://github.com/rust-lang/crates.io-index)": {"bins": ["rg"]},
            "gitquarry 0.3.0 (git+https://github.com/o/gitquarry?branch=main#0123abcd)": {"bins": ["gitquarry"]}
        }}"#;
        assert_eq!(
            git_install_of(doc, "gitquarry").unwrap(),
            GitCrateSpec {
                crate_name: "gitquarry".into(),
                git: "https://github.com/o/gitquarry".into(),
                rev: "0123abcd".into(),
                bin: "gitquarry".into(),
            }
        );
        assert_eq!(git_install_of(doc, "rg"), None);
    }
}
