//! What the master's installed ecosystems say (node/npm, uv, cargo, python): finding programs
//! on its PATH, reading package manifests and install receipts, and project roots.

pub(crate) mod argv;
pub(crate) mod cargo;
pub(crate) mod node;
pub(crate) mod project;
pub(crate) mod uv;

use std::path::{Path, PathBuf};

use codexport_core::env;
use codexport_core::mcp::manifest::McpEntry;

use crate::{Error, InferContext};

/// A program as the master would run it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Program {
    /// The absolute path found (a shim or symlink, as PATH lists it).
    pub(crate) given: PathBuf,
    /// `given` with every symlink resolved.
    pub(crate) real: PathBuf,
}

impl Program {
    /// Both paths, `given` first: layouts are recognised on either (a uv tool's `bin/python`
    /// only lexically, an npm shim only through its link).
    pub(crate) fn paths(&self) -> [&Path; 2] {
        [&self.given, &self.real]
    }
}

/// The command's file stem without a Windows extension (`node`, `python3`, `npx`).
pub(crate) fn stem(command: &str) -> &str {
    let name = command.rsplit(['/', '\\']).next().unwrap_or(command);
    let lower_ext = [".exe", ".cmd", ".bat", ".ps1"];
    lower_ext
        .iter()
        .find_map(|ext| {
            name.len()
                .checked_sub(ext.len())
                .filter(|&cut| name[cut..].eq_ignore_ascii_case(ext))
                .map(|cut| &name[..cut])
        })
        .unwrap_or(name)
}

/// A file name without a Windows executable extension (`rg.exe` -> `rg`).
pub(crate) fn bin_name(path: &Path) -> String {
    stem(&path.file_name().unwrap_or_default().to_string_lossy()).to_owned()
}

/// Whether `command` names the program `name` (`node`, `/usr/bin/node`, `node.exe`).
pub(crate) fn is_program(command: &str, name: &str) -> bool {
    stem(command) == name
}

/// Whether `command` is a Python interpreter (`python`, `python3`, `python3.12`, `py`).
pub(crate) fn is_python(command: &str) -> bool {
    let stem = stem(command);
    stem == "py"
        || stem
            .strip_prefix("python")
            .is_some_and(|v| v.chars().all(|c| c.is_ascii_digit() || c == '.'))
}

/// The directory relative paths of `entry` are taken from: its `cwd`, else the user's home
/// (where Codex starts servers when no `cwd` is set is the session's directory, which the
/// master cannot know; the home is the least surprising guess).
pub(crate) fn base_dir(cx: &InferContext<'_>, entry: &McpEntry) -> PathBuf {
    match &entry.cwd {
        Some(cwd) => absolute(&cx.homes.user, Path::new(cwd)),
        None => cx.homes.user.clone(),
    }
}

fn absolute(base: &Path, path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_owned()
    } else {
        base.join(path)
    }
}

/// A file argument of `entry` (a script), made absolute, when it exists.
pub(crate) fn existing_file(cx: &InferContext<'_>, entry: &McpEntry, arg: &str) -> Option<PathBuf> {
    let path = absolute(&base_dir(cx, entry), Path::new(arg));
    path.is_file().then_some(path)
}

/// Finds `command` the way the master's shell would: a path is taken as is (relative to
/// the entry's `cwd`), a bare name is looked up on the master's PATH from `cx.env`.
pub(crate) fn locate(cx: &InferContext<'_>, entry: &McpEntry, command: &str) -> Option<Program> {
    let base = base_dir(cx, entry);
    let given = if command.contains(['/', '\\']) {
        let path = absolute(&base, Path::new(command));
        path.is_file().then_some(path)?
    } else {
        let path = cx.env.get(env::PATH)?;
        which::which_in(command, Some(path), &base).ok()?
    };
    let real = std::fs::canonicalize(&given).unwrap_or_else(|_| given.clone());
    Some(Program { given, real })
}

/// Whether `path` lies in a package store the npm and uv resolvers own (`node_modules`, a uv
/// tool, `site-packages`).
pub(crate) fn in_store(path: &Path) -> bool {
    node::in_node_modules(path)
        || uv::tool_dir(path).is_some()
        || path.components().any(|c| c.as_os_str() == "site-packages")
}

/// `path` relative to `root`, with `/` separators (the spec format on every OS).
pub(crate) fn relative(root: &Path, path: &Path) -> Option<String> {
    let rel = path.strip_prefix(root).ok()?;
    let parts: Vec<_> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    Some(parts.join("/"))
}

/// Reads a UTF-8 file that inference needs, naming it and the entry on failure.
pub(crate) fn read_text(entry: &McpEntry, path: &Path) -> Result<String, Error> {
    std::fs::read_to_string(path).map_err(|e| Error::Inference {
        entry: entry.name.clone(),
        reason: format!("cannot read `{}`: {e}", path.display()),
        hint: format!(
            "repair or reinstall what owns `{}`, or add a `[mcp.{}]` hint to master.toml",
            path.display(),
            entry.name
        ),
    })
}

/// An [`Error::Inference`] about a file that has the wrong shape.
pub(crate) fn bad_file(entry: &McpEntry, path: &Path, what: impl std::fmt::Display) -> Error {
    Error::Inference {
        entry: entry.name.clone(),
        reason: format!("`{}`: {what}", path.display()),
        hint: format!(
            "repair or reinstall what owns `{}`, or add a `[mcp.{}]` hint to master.toml",
            path.display(),
            entry.name
        ),
    }
}

/// Fixtures shared by the inference unit tests.
#[cfg(test)]
pub(crate) mod test_support {
    use std::collections::BTreeMap;

    use codexport_core::Homes;
    use codexport_core::mcp::config::not_inferred;
    use codexport_core::mcp::manifest::{McpEntry, Origin, Transport};
    use codexport_core::store::ObjectStore;

    use crate::{InferContext, InferNotes, SourceLimits};

    /// A stdio entry running `command args`.
    pub(crate) fn stdio_entry(name: &str, command: &str, args: &[&str]) -> McpEntry {
        McpEntry {
            name: name.to_owned(),
            transport: Transport::Stdio,
            command: Some(command.to_owned()),
            args: args.iter().map(|a| (*a).to_owned()).collect(),
            env: BTreeMap::new(),
            cwd: None,
            url: None,
            extra: serde_json::Map::new(),
            artifact: not_inferred(),
            origin: Origin::Canonical,
        }
    }

    /// A master rooted in a temp dir: homes under `root/home`, store under the tool home.
    pub(crate) struct Master {
        pub(crate) homes: Homes,
        pub(crate) env: BTreeMap<String, String>,
        pub(crate) store: ObjectStore,
        pub(crate) include_secret_files: BTreeMap<String, Vec<String>>,
        pub(crate) notes: InferNotes,
    }

    impl Master {
        pub(crate) fn new(root: &std::path::Path) -> Self {
            let user = root.join("home");
            std::fs::create_dir_all(&user).unwrap();
            let homes = Homes::new(&user, user.join(".codex"), user.join(".codexport"));
            let store = ObjectStore::new(homes.objects());
            Self {
                homes,
                env: BTreeMap::new(),
                store,
                include_secret_files: BTreeMap::new(),
                notes: InferNotes::default(),
            }
        }

        pub(crate) fn cx(&self) -> InferContext<'_> {
            InferContext {
                homes: &self.homes,
                env: &self.env,
                store: &self.store,
                source_limits: SourceLimits::default(),
                include_secret_files: &self.include_secret_files,
                notes: &self.notes,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems_drop_directories_and_windows_extensions() {
        assert_eq!(stem("/usr/bin/node"), "node");
        assert_eq!(stem(r"C:\Program Files\nodejs\npx.CMD"), "npx");
        assert_eq!(stem("uvx"), "uvx");
        assert_eq!(stem("my.tool"), "my.tool");
    }

    #[test]
    fn python_interpreters_are_recognised_by_their_versioned_names() {
        for yes in [
            "python",
            "python3",
            "/usr/bin/python3.12",
            "python.exe",
            "py",
        ] {
            assert!(is_python(yes), "{yes}");
        }
        for no in ["pythonista", "pyright", "mypy"] {
            assert!(!is_python(no), "{no}");
        }
    }

    #[test]
    fn relative_paths_use_forward_slashes() {
        let root = Path::new("/a/b");
        assert_eq!(
            relative(root, Path::new("/a/b/dist/index.js")).as_deref(),
            Some("dist/index.js")
        );
        assert_eq!(relative(root, Path::new("/x")), None);
    }
}
