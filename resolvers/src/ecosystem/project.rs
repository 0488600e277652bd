//! Local projects: finding the root of a node, python or cargo project around a file, and
//! refusing roots that would pack far more than a project.

use std::path::{Path, PathBuf};

use codexport_core::mcp::manifest::McpEntry;

use crate::spec::SourceKind;
use crate::{Error, InferContext};

/// Files whose presence marks a project root of each kind.
fn markers(kind: SourceKind) -> &'static [&'static str] {
    match kind {
        SourceKind::Node => &["package.json"],
        SourceKind::Python => &[
            "pyproject.toml",
            "setup.py",
            "setup.cfg",
            "requirements.txt",
        ],
        SourceKind::Cargo => &["Cargo.toml"],
    }
}

/// The nearest ancestor of `start` (itself included) holding a marker of `kind`.
pub(crate) fn root_of(start: &Path, kind: SourceKind) -> Option<PathBuf> {
    start
        .ancestors()
        .find(|dir| markers(kind).iter().any(|m| dir.join(m).is_file()))
        .map(Path::to_owned)
}

/// The project root for `file`: the nearest marked ancestor, else the file's own directory.
/// A root that is the user's home or one of its ancestors is refused: packing it would copy
/// far more than a server.
pub(crate) fn root_for_file(
    cx: &InferContext<'_>,
    entry: &McpEntry,
    file: &Path,
    kind: SourceKind,
) -> Result<PathBuf, Error> {
    let dir = file.parent().unwrap_or(file);
    let root = root_of(dir, kind).unwrap_or_else(|| dir.to_owned());
    check_root(cx, entry, &root)?;
    Ok(root)
}

/// Refuses roots at or above the user's home.
pub(crate) fn check_root(
    cx: &InferContext<'_>,
    entry: &McpEntry,
    root: &Path,
) -> Result<(), Error> {
    let home = std::fs::canonicalize(&cx.homes.user).unwrap_or_else(|_| cx.homes.user.clone());
    let real = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_owned());
    if home.starts_with(&real) {
        return Err(Error::Inference {
            entry: entry.name.clone(),
            reason: format!(
                "the server's project root would be `{}`, which holds the whole home directory",
                root.display()
            ),
            hint: format!(
                "move the server into its own project directory, or add a `[mcp.{}]` hint with `resolver = \"source\"` and `root` to master.toml",
                entry.name
            ),
        });
    }
    Ok(())
}

/// A Python virtualenv around `path` (`<root>/.venv/bin/python`): the venv directory.
pub(crate) fn venv_of(path: &Path) -> Option<&Path> {
    path.ancestors()
        .skip(1)
        .find(|dir| dir.join("pyvenv.cfg").is_file())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ecosystem::test_support::{Master, stdio_entry};

    #[test]
    fn roots_are_the_nearest_marked_ancestor_and_never_the_home() {
        let tmp = tempfile::tempdir().unwrap();
        let master = Master::new(tmp.path());
        let cx = master.cx();
        let e = stdio_entry("e", "node", &[]);
        let proj = master.homes.user.join("src/p");
        std::fs::create_dir_all(proj.join("lib")).unwrap();
        std::fs::write(proj.join("package.json"), "{}").unwrap();
        let file = proj.join("lib/main.js");
        assert_eq!(
            root_for_file(&cx, &e, &file, SourceKind::Node).unwrap(),
            proj
        );
        let loose = master.homes.user.join("tools/x.py");
        assert_eq!(
            root_for_file(&cx, &e, &loose, SourceKind::Python).unwrap(),
            master.homes.user.join("tools")
        );
        let err = root_for_file(&cx, &e, &master.homes.user.join("x.js"), SourceKind::Node)
            .unwrap_err()
            .to_string();
        assert!(err.contains("holds the whole home directory"), "{err}");
    }
}
