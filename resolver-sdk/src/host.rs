//! The capabilities codexport grants a plugin, as plain Rust functions.
//!
//! Nothing else is reachable from inside a plugin: no files beyond [`read_file`], no network
//! beyond the metadata fetches, no processes. Calling these in a host-target build (unit tests
//! of a plugin's own logic) panics.

use crate::types::{FetchError, Platform, Release};
use crate::wit::codexport::resolver::{host as w, types as t};

/// A log line's severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Level {
    /// Something failed.
    Error,
    /// Something looks wrong.
    Warn,
    /// Progress worth a line under `-v`.
    Info,
    /// Detail under `-vv`.
    Debug,
}

/// Writes a line to codexport's log, prefixed with the plugin's name.
pub fn log(level: Level, message: &str) {
    let level = match level {
        Level::Error => t::LogLevel::Error,
        Level::Warn => t::LogLevel::Warn,
        Level::Info => t::LogLevel::Info,
        Level::Debug => t::LogLevel::Debug,
    };
    w::log(level, message);
}

/// The platform of the machine the plugin runs on.
pub fn platform() -> Platform {
    w::current_platform().into()
}

/// A release of `repo` (`owner/name`): `tag`, or the latest when `None`. Asset digests are
/// filled in from GitHub's `digest`, a `.sha256` sibling or the release's checksums file.
pub fn github_release(repo: &str, tag: Option<&str>) -> Result<Release, FetchError> {
    w::github_release(repo, tag)
        .map(Into::into)
        .map_err(Into::into)
}

/// The npm registry's document for `package`, parsed.
pub fn npm_metadata(package: &str) -> Result<serde_json::Value, FetchError> {
    json(w::npm_metadata(package))
}

/// PyPI's JSON API document for `package`, parsed.
pub fn pypi_metadata(package: &str) -> Result<serde_json::Value, FetchError> {
    json(w::pypi_metadata(package))
}

/// crates.io's document for crate `name`, parsed.
pub fn crate_metadata(name: &str) -> Result<serde_json::Value, FetchError> {
    json(w::crate_metadata(name))
}

/// `name` looked up on the host's PATH.
pub fn which(name: &str) -> Option<String> {
    w::which(name)
}

/// Reads a file the entry names, or one next to such a file or its directory (at most
/// 1 MiB). The host refuses anything else with a reason.
pub fn read_file(path: &str) -> Result<Vec<u8>, String> {
    w::read_file(path)
}

/// Lists a directory the entry names, or the one above it.
pub fn list_dir(path: &str) -> Result<Vec<String>, String> {
    w::list_dir(path)
}

fn json(raw: Result<String, t::FetchError>) -> Result<serde_json::Value, FetchError> {
    let text = raw.map_err(FetchError::from)?;
    serde_json::from_str(&text).map_err(|e| FetchError::Network(format!("not JSON: {e}")))
}
