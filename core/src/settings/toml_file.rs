//! TOML files on disk: an optional read whose errors name line and column, and an in-place edit
//! that keeps the file's formatting, comments and mode.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use toml_edit::DocumentMut;

use crate::error::{Error, Result};
use crate::fsx;

/// Whose file a TOML text is; it decides the repair a broken one is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TomlOwner {
    /// codexport's own files (`local.toml`, `master.toml`, `mcps.local.toml`) and the texts it
    /// generates or receives.
    Codexport,
    /// Codex's `config.toml`: Codex refuses a broken one too, and deleting it would lose the
    /// user's settings, so the only repair is to fix it.
    Codex,
}

/// One TOML file: where it is, whose it is, and the mode it gets when an edit creates it.
#[derive(Debug, Clone)]
pub struct TomlFile {
    path: PathBuf,
    owner: TomlOwner,
    new_mode: u32,
}

impl TomlFile {
    /// One of codexport's settings files (created 0644: they hold no secret).
    pub fn codexport(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            owner: TomlOwner::Codexport,
            new_mode: 0o644,
        }
    }

    /// Codex's `config.toml` (created 0600, as Codex writes it: it can hold MCP env values).
    pub fn codex(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            owner: TomlOwner::Codex,
            new_mode: fsx::SECRET_MODE,
        }
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file's text; `None` when it does not exist.
    pub fn read_text(&self) -> Result<Option<String>> {
        let Some(bytes) = fsx::read_optional(&self.path)? else {
            return Ok(None);
        };
        String::from_utf8(bytes).map(Some).map_err(|e| {
            let valid = e.utf8_error().valid_up_to();
            let before = String::from_utf8_lossy(&e.as_bytes()[..valid]);
            invalid_toml(
                &self.path,
                &before,
                Some(valid..valid),
                "not UTF-8 text",
                self.owner,
            )
        })
    }

    /// The file parsed, formatting kept; `None` when it does not exist.
    pub fn read(&self) -> Result<Option<DocumentMut>> {
        self.read_text()?
            .map(|text| parse_document(&text, &self.path, self.owner))
            .transpose()
    }

    /// The file deserialized (unknown keys are the type's business); `T::default()` when it
    /// does not exist.
    pub fn load<T: DeserializeOwned + Default>(&self) -> Result<T> {
        match self.read_text()? {
            Some(text) => deserialize(&text, &self.path, self.owner),
            None => Ok(T::default()),
        }
    }

    /// Edits the file in place: comments, formatting and mode kept; a missing file is created
    /// when the edit leaves something in it. Nothing is written when the edit changes nothing;
    /// returns whether the file was written.
    pub fn edit(&self, edit: impl FnOnce(&mut DocumentMut)) -> Result<bool> {
        let before = self.read_text()?;
        let mut doc = match &before {
            Some(text) => parse_document(text, &self.path, self.owner)?,
            None => DocumentMut::new(),
        };
        edit(&mut doc);
        let text = doc.to_string();
        if before.as_deref().unwrap_or_default() == text {
            return Ok(false);
        }
        let mode = std::fs::metadata(&self.path).map_or(self.new_mode, |m| fsx::mode_of(&m));
        fsx::write_atomic(&self.path, text.as_bytes(), Some(mode))
            .map_err(|e| Error::io("write", &self.path, e))?;
        Ok(true)
    }
}

/// Parses TOML `text` of the file at `path`, formatting kept; errors name line and column.
pub fn parse_document(text: &str, path: &Path, owner: TomlOwner) -> Result<DocumentMut> {
    text.parse::<DocumentMut>()
        .map_err(|e| invalid_toml(path, text, e.span(), e.message(), owner))
}

/// Deserializes TOML `text` of the file at `path`; errors (syntax or a value of the wrong
/// type) name line and column.
pub fn deserialize<T: DeserializeOwned>(text: &str, path: &Path, owner: TomlOwner) -> Result<T> {
    toml_edit::de::from_str(text)
        .map_err(|e| invalid_toml(path, text, e.span(), e.message(), owner))
}

/// An [`Error::InvalidToml`] at the byte span of `text`.
fn invalid_toml(
    path: &Path,
    text: &str,
    span: Option<std::ops::Range<usize>>,
    message: &str,
    owner: TomlOwner,
) -> Error {
    let (line, column) = span.map_or((1, 1), |s| line_column(text, s.start));
    Error::InvalidToml {
        path: path.to_path_buf(),
        line,
        column,
        message: message.trim().to_owned(),
        owner,
    }
}

/// 1-based line and column (in characters) of byte `offset`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Diagnose;

    #[test]
    fn a_syntax_error_is_one_message_with_line_column_and_a_repair() {
        let err = parse_document(
            "a = 1\nb = = 2\n",
            Path::new("/t/local.toml"),
            TomlOwner::Codexport,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "`/t/local.toml:2:5` is not valid TOML: extra `=`, expected nothing"
        );
        assert_eq!(err.hints(), ["fix line 2 of `/t/local.toml`"]);
        assert_eq!(err.exit_status(), crate::ExitStatus::InvalidInput);
    }

    #[test]
    fn codex_config_gets_a_repair_that_keeps_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, "model = \"m\"\n[broken\n").unwrap();
        let err = TomlFile::codex(&path).read().unwrap_err();
        let shown = path.display();
        assert_eq!(
            err.to_string(),
            format!("`{shown}:2:8` is not valid TOML: unclosed table, expected `]`")
        );
        assert_eq!(
            err.hints(),
            [format!(
                "fix line 2 of `{shown}` (Codex refuses it too; deleting it would lose your Codex settings)"
            )]
        );
    }

    #[test]
    fn not_utf8_names_where() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("local.toml");
        std::fs::write(&path, b"a = 1\nb = \"\xff\"\n").unwrap();
        let err = TomlFile::codexport(&path).read_text().unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("`{}:2:6` is not valid TOML: not UTF-8 text", path.display())
        );
    }

    #[test]
    fn missing_is_none_and_default() {
        let dir = tempfile::tempdir().unwrap();
        let file = TomlFile::codexport(dir.path().join("none.toml"));
        assert!(file.read().unwrap().is_none());
        let map: std::collections::BTreeMap<String, i64> = file.load().unwrap();
        assert!(map.is_empty());
    }

    #[cfg(unix)]
    #[test]
    fn edit_keeps_comments_and_mode_and_skips_no_ops() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        let file = TomlFile::codex(&path);
        // An edit that leaves nothing does not create the file.
        assert!(!file.edit(|_| {}).unwrap());
        assert!(!path.exists());
        assert!(
            file.edit(|doc| doc["model"] = toml_edit::value("m"))
                .unwrap()
        );
        assert_eq!(fsx::mode_of(&std::fs::metadata(&path).unwrap()), 0o600);

        std::fs::write(&path, "# mine\nmodel = \"m\" # kept\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        assert!(file.edit(|doc| doc["x"] = toml_edit::value(1)).unwrap());
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "# mine\nmodel = \"m\" # kept\nx = 1\n"
        );
        assert_eq!(fsx::mode_of(&std::fs::metadata(&path).unwrap()), 0o640);
        assert!(
            !file.edit(|_| {}).unwrap(),
            "an edit that changes nothing writes nothing"
        );
    }
}
