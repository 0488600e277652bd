//! uv tool facts: the tool directory around a shim, `uv-receipt.toml`, and the installed
//! distribution's version and `direct_url.json`.

use std::path::{Path, PathBuf};

use codexport_core::mcp::manifest::McpEntry;
use serde::Deserialize;

use super::{bad_file, read_text};
use crate::Error;

/// One requirement of a receipt, as uv wrote it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct Requirement {
    /// Package name.
    pub(crate) name: String,
    /// Version specifier (`==1.2.3`, `>=1`).
    #[serde(default)]
    pub(crate) specifier: Option<String>,
    /// Extras (`[cli]`).
    #[serde(default)]
    pub(crate) extras: Vec<String>,
    /// Editable local path.
    #[serde(default)]
    pub(crate) editable: Option<String>,
    /// Local directory.
    #[serde(default)]
    pub(crate) directory: Option<String>,
    /// Git URL.
    #[serde(default)]
    pub(crate) git: Option<String>,
    /// Archive URL.
    #[serde(default)]
    pub(crate) url: Option<String>,
}

impl Requirement {
    /// The requirement as `uv tool install --with` takes it.
    pub(crate) fn render(&self) -> String {
        let extras = if self.extras.is_empty() {
            String::new()
        } else {
            format!("[{}]", self.extras.join(","))
        };
        let name = format!("{}{extras}", self.name);
        if let Some(url) = self.git.as_ref().or(self.url.as_ref()) {
            return format!("{name} @ {url}");
        }
        format!("{name}{}", self.specifier.as_deref().unwrap_or(""))
    }
}

#[derive(Deserialize)]
struct RawReceipt {
    tool: RawTool,
}

#[derive(Deserialize)]
struct RawTool {
    #[serde(default)]
    requirements: Vec<Requirement>,
    #[serde(default)]
    entrypoints: Vec<RawEntrypoint>,
}

#[derive(Deserialize)]
struct RawEntrypoint {
    #[serde(default)]
    from: Option<String>,
}

/// A uv tool environment and what its receipt says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Tool {
    /// `<UV_TOOL_DIR>/<tool>`.
    pub(crate) dir: PathBuf,
    /// The tool's own package (the requirement its entry points come from).
    pub(crate) main: Requirement,
    /// The other requirements (`--with`).
    pub(crate) with: Vec<Requirement>,
}

/// The tool directory holding `path`: the nearest ancestor with a `uv-receipt.toml`.
pub(crate) fn tool_dir(path: &Path) -> Option<&Path> {
    path.ancestors()
        .skip(1)
        .find(|dir| dir.join("uv-receipt.toml").is_file())
}

impl Tool {
    /// Reads `dir/uv-receipt.toml`.
    pub(crate) fn read(entry: &McpEntry, dir: &Path) -> Result<Self, Error> {
        let path = dir.join("uv-receipt.toml");
        let text = read_text(entry, &path)?;
        let raw: RawReceipt = toml_edit::de::from_str(&text)
            .map_err(|e| bad_file(entry, &path, format!("not a uv receipt: {e}")))?;
        let dir_name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let main_name = raw
            .tool
            .entrypoints
            .iter()
            .find_map(|e| e.from.clone())
            .unwrap_or(dir_name);
        let mut requirements = raw.tool.requirements;
        let main_at = requirements
            .iter()
            .position(|r| normalize(&r.name) == normalize(&main_name))
            .or((!requirements.is_empty()).then_some(0))
            .ok_or_else(|| bad_file(entry, &path, "lists no requirements"))?;
        let main = requirements.remove(main_at);
        Ok(Self {
            dir: dir.to_owned(),
            main,
            with: requirements,
        })
    }

    /// The installed distribution of the tool's package: its `.dist-info` directory.
    pub(crate) fn dist_info(&self) -> Option<PathBuf> {
        let wanted = normalize(&self.main.name);
        site_packages(&self.dir).into_iter().find_map(|site| {
            std::fs::read_dir(site)
                .ok()?
                .filter_map(Result::ok)
                .find_map(|d| {
                    let name = d.file_name().to_string_lossy().into_owned();
                    let stem = name.strip_suffix(".dist-info")?;
                    let (dist, _) = stem.rsplit_once('-')?;
                    (normalize(dist) == wanted).then(|| d.path())
                })
        })
    }
}

fn site_packages(tool: &Path) -> Vec<PathBuf> {
    let mut found = vec![tool.join("Lib").join("site-packages")];
    if let Ok(lib) = std::fs::read_dir(tool.join("lib")) {
        let mut pythons: Vec<_> = lib
            .filter_map(Result::ok)
            .map(|d| d.path().join("site-packages"))
            .collect();
        pythons.sort();
        found.extend(pythons);
    }
    found.retain(|p| p.is_dir());
    found
}

/// PEP 503 normalisation (`Mcp_Server.Time` -> `mcp-server-time`), also used for dist-info.
pub(crate) fn normalize(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !out.ends_with('-') {
                out.push('-');
            }
        } else {
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

/// The version from a dist-info's `METADATA` (`Version:` header).
pub(crate) fn dist_version(entry: &McpEntry, dist_info: &Path) -> Result<String, Error> {
    let path = dist_info.join("METADATA");
    let text = read_text(entry, &path)?;
    text.lines()
        .take_while(|l| !l.is_empty())
        .find_map(|l| l.strip_prefix("Version:"))
        .map(|v| v.trim().to_owned())
        .ok_or_else(|| bad_file(entry, &path, "has no `Version:`"))
}

/// Where an installed distribution came from (PEP 610 `direct_url.json`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Origin {
    /// An index: no `direct_url.json`.
    Index,
    /// A local directory (editable or not).
    Directory(PathBuf),
    /// A VCS checkout at an exact commit: `git+URL@REV`.
    Vcs(String),
    /// An archive URL.
    Archive(String),
}

#[derive(Deserialize)]
struct RawDirectUrl {
    url: String,
    #[serde(default)]
    vcs_info: Option<RawVcs>,
    #[serde(default)]
    dir_info: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct RawVcs {
    vcs: String,
    commit_id: String,
}

/// Reads the dist-info's `direct_url.json`, if any.
pub(crate) fn origin(entry: &McpEntry, dist_info: &Path) -> Result<Origin, Error> {
    let path = dist_info.join("direct_url.json");
    if !path.is_file() {
        return Ok(Origin::Index);
    }
    let raw: RawDirectUrl = serde_json::from_str(&read_text(entry, &path)?)
        .map_err(|e| bad_file(entry, &path, format!("not PEP 610 JSON: {e}")))?;
    if let Some(vcs) = raw.vcs_info {
        return Ok(Origin::Vcs(format!(
            "{}+{}@{}",
            vcs.vcs, raw.url, vcs.commit_id
        )));
    }
    if raw.dir_info.is_some() {
        let url = url_to_path(&raw.url)
            .ok_or_else(|| bad_file(entry, &path, format!("`{}` is not a file URL", raw.url)))?;
        return Ok(Origin::Directory(url));
    }
    match url_to_path(&raw.url) {
        Some(path) if path.is_dir() => Ok(Origin::Directory(path)),
        _ => Ok(Origin::Archive(raw.url)),
    }
}

fn url_to_path(url: &str) -> Option<PathBuf> {
    url::Url::parse(url).ok()?.to_file_path().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ecosystem::test_support::stdio_entry;

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    fn tool(receipt: &str) -> (tempfile::TempDir, Tool) {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("my-tool");
        write(&dir.join("uv-receipt.toml"), receipt);
        let tool = Tool::read(&stdio_entry("e", "x", &[]), &dir).unwrap();
        (tmp, tool)
    }

    #[test]
    fn receipts_name_the_main_package_and_its_extras() {
        let (_tmp, tool) = tool(
            r#"[tool]
requirements = [{ name = "httpx" }, { name = "My_Tool", extras = ["cli"], specifier = ">=1" }]
entrypoints = [{ name = "my-tool", install-path = "/b/my-tool", from = "my-tool" }]
"#,
        );
        assert_eq!(tool.main.name, "My_Tool");
        assert_eq!(tool.main.render(), "My_Tool[cli]>=1");
        assert_eq!(tool.with.len(), 1);
        assert_eq!(tool.with[0].render(), "httpx");
    }

    #[test]
    fn old_receipts_fall_back_to_the_tool_directory_name() {
        let (_tmp, tool) =
            tool("[tool]\nrequirements = [{ name = \"other\" }, { name = \"my-tool\" }]\n");
        assert_eq!(tool.main.name, "my-tool");
    }

    #[test]
    fn dist_info_gives_version_and_direct_url_origin() {
        let (tmp, tool) = tool("[tool]\nrequirements = [{ name = \"my-tool\" }]\n");
        let dist = tool
            .dir
            .join("lib/python3.12/site-packages/my_tool-1.4.0.dist-info");
        write(
            &dist.join("METADATA"),
            "Metadata-Version: 2.1\nName: my-tool\nVersion: 1.4.0\n\nbody Version: no\n",
        );
        assert_eq!(tool.dist_info().as_deref(), Some(dist.as_path()));
        let e = stdio_entry("e", "x", &[]);
        assert_eq!(dist_version(&e, &dist).unwrap(), "1.4.0");
        assert_eq!(origin(&e, &dist).unwrap(), Origin::Index);
        write(
            &dist.join("direct_url.json"),
            r#"{"url":"https://example.com/r.git","vcs_info":{"vcs":"git","commit_id":"abc123"}}"#,
        );
        assert_eq!(
            origin(&e, &dist).unwrap(),
            Origin::Vcs("git+https://example.com/r.git@abc123".into())
        );
        let project = tmp.path().join("proj");
        std::fs::create_dir_all(&project).unwrap();
        let url = url::Url::from_directory_path(&project).unwrap();
        write(
            &dist.join("direct_url.json"),
            &format!(r#"{{"url":"{url}","dir_info":{{"editable":true}}}}"#),
        );
        assert_eq!(origin(&e, &dist).unwrap(), Origin::Directory(project));
    }

    #[test]
    fn names_normalise_like_pep_503() {
        assert_eq!(normalize("Mcp_Server.Time"), "mcp-server-time");
        assert_eq!(normalize("a--_b"), "a-b");
    }
}
