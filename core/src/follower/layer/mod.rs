//! Follower layering: the files an apply writes are the canonical revision plus this
//! follower's layers (paths, launcher routing, `mcps.local.toml`, local skills), merged with
//! what Codex itself wrote here since the last apply.
//!
//! Everything in this module is a pure function of its inputs (texts, listings, settings), so
//! each layer is unit-tested alone; the apply step reads the inputs and writes the outputs.

pub mod build;
pub mod config;
pub mod diff;
pub mod mcp_routing;
pub mod merge;
pub mod overlay;
pub mod paths;
pub mod rules;
pub mod settings;
pub mod skills;

use std::path::Path;

use toml_edit::DocumentMut;

use crate::error::Error;

pub use config::{ConfigInputs, Generated, follower_manifest, generate};
pub use merge::{MergeNote, Merged, merge};
pub use settings::LayerSettings;

/// Parses TOML text of the layer file at `path`, reporting errors with line and column.
pub fn parse_toml(text: &str, path: &Path) -> Result<DocumentMut, Error> {
    text.parse::<DocumentMut>()
        .map_err(|e| invalid_toml(path, text, e.span(), e.message()))
}

/// An [`Error::InvalidToml`] at the byte span of `text`.
pub(crate) fn invalid_toml(
    path: &Path,
    text: &str,
    span: Option<std::ops::Range<usize>>,
    message: &str,
) -> Error {
    let (line, column) = span.map_or((1, 1), |s| line_column(text, s.start));
    Error::InvalidToml {
        path: path.to_path_buf(),
        line,
        column,
        message: message.trim().to_owned(),
    }
}

/// 1-based line and column (in characters) of byte `offset`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_toml_names_line_and_column() {
        let err = parse_toml("a = 1\nb = = 2\n", Path::new("/t/config.toml")).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("/t/config.toml:2:5"), "{msg}");
    }
}
