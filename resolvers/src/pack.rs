//! Packs a local project tree into ONE object of the master's store: a deterministic gzip
//! tar (sorted members, zero mtimes and owners) in the format `SourceSpec` documents.
//!
//! Secret-looking files (`.env`, `*.pem`, `id_rsa`, ... : core's [`looks_secret`]) are left
//! out unless `[mcp.NAME] include_secret_files` names them, and each left-out file is listed
//! in the master's warnings, as are files over the per-file limit.

use std::path::{Path, PathBuf};

use codexport_core::master::selection::{glob_match, looks_secret};
use codexport_core::mcp::manifest::McpEntry;
use flate2::Compression;
use flate2::write::GzEncoder;
use walkdir::WalkDir;

use crate::{Error, InferContext};

/// Directories never packed: dependencies, VCS data, virtualenvs, caches and build output
/// the follower rebuilds (an exception: the directory that holds the entry point).
const SKIP_DIRS: &[&str] = &[
    "node_modules",
    ".git",
    ".hg",
    ".svn",
    ".venv",
    "venv",
    "__pycache__",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    ".tox",
    "target",
    "dist",
];

/// File extensions never packed: media, archives and compiled Python.
const SKIP_EXTENSIONS: &[&str] = &[
    "png", "jpg", "jpeg", "gif", "bmp", "ico", "webp", "tif", "tiff", "heic", "psd", "mp3", "mp4",
    "m4a", "m4v", "wav", "ogg", "flac", "webm", "mov", "avi", "mkv", "zip", "tar", "gz", "tgz",
    "bz2", "xz", "zst", "7z", "rar", "jar", "whl", "dmg", "iso", "pyc", "pyo",
];

/// What was packed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Packed {
    /// Object hash of the gzip tar.
    pub(crate) object: String,
    /// Regular files packed.
    pub(crate) files: usize,
    /// Their total size before compression.
    pub(crate) bytes: u64,
}

fn skipped_dir(name: &str) -> bool {
    SKIP_DIRS.contains(&name) || name.ends_with(".egg-info")
}

fn skipped_file(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower == ".ds_store"
        || lower
            .rsplit_once('.')
            .is_some_and(|(_, ext)| SKIP_EXTENSIONS.contains(&ext))
}

/// Packs `root` into the store. `entry_path` (relative to `root`, `/`-separated) names the
/// entry point: directories on its way are kept even when they are normally skipped (a
/// built `dist/index.js`). Files over the per-file limit are left out with a warning; a
/// tree over the total limit is an error naming the largest files.
pub(crate) fn pack(
    cx: &InferContext<'_>,
    entry: &McpEntry,
    root: &Path,
    entry_path: Option<&str>,
) -> Result<Packed, Error> {
    let limits = cx.source_limits;
    let keep: Vec<&str> = entry_path
        .map(|p| p.split('/').collect::<Vec<_>>())
        .map(|mut parts| {
            parts.pop();
            parts
        })
        .unwrap_or_default();
    let mut members: Vec<(PathBuf, String, std::fs::Metadata)> = Vec::new();
    let mut total = 0u64;
    let included = cx
        .include_secret_files
        .get(&entry.name)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let mut secrets: Vec<String> = Vec::new();
    let mut oversize: Vec<String> = Vec::new();
    let walker = WalkDir::new(root)
        .follow_links(false)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| {
            if e.depth() == 0 || !e.file_type().is_dir() {
                return true;
            }
            let name = e.file_name().to_string_lossy();
            let rel_depth = e.depth() - 1;
            let kept = keep.get(rel_depth).is_some_and(|k| *k == name)
                && e.path()
                    .strip_prefix(root)
                    .is_ok_and(|rel| rel.iter().zip(&keep).all(|(a, b)| a == *b));
            kept || !skipped_dir(&name)
        });
    for item in walker {
        let item = item.map_err(|e| {
            let path = e
                .path()
                .map(Path::to_owned)
                .unwrap_or_else(|| root.to_owned());
            let io = e
                .into_io_error()
                .unwrap_or_else(|| std::io::Error::other("walk failed"));
            Error::io("read", path, io)
        })?;
        if item.depth() == 0 {
            continue;
        }
        let rel =
            crate::ecosystem::relative(root, item.path()).expect("walked paths are under the root");
        let meta = item
            .path()
            .symlink_metadata()
            .map_err(|e| Error::io("read", item.path(), e))?;
        let name = item.file_name().to_string_lossy();
        if !meta.is_dir() && looks_secret(&name) && !included_on_purpose(included, &rel, &name) {
            secrets.push(rel);
            continue;
        }
        if meta.is_file() {
            if skipped_file(&name) {
                continue;
            }
            if meta.len() > limits.max_file {
                oversize.push(format!("`{rel}` ({})", mib(meta.len())));
                continue;
            }
            total += meta.len();
        }
        members.push((item.path().to_owned(), rel, meta));
    }
    if total > limits.max_total {
        return Err(too_big(entry, root, total, limits.max_total, &members));
    }
    let master_toml = cx.homes.master_toml();
    if !secrets.is_empty() {
        cx.notes.push(
            &entry.name,
            format!(
                "left out of the packed source `{}`, as their names look like secrets: {} (to pack them on purpose, list them in `include_secret_files` under `[mcp.{}]` in `{}`)",
                root.display(),
                quoted(&secrets),
                entry.name,
                master_toml.display()
            ),
        );
    }
    if !oversize.is_empty() {
        cx.notes.push(
            &entry.name,
            format!(
                "left out of the packed source `{}`, as they are over the {} per-file limit: {} (raise `max_file_mib` under `[source]` in `{}`)",
                root.display(),
                mib(limits.max_file),
                oversize.join(", "),
                master_toml.display()
            ),
        );
    }
    let bytes = tar_gz(root, &members).map_err(|e| Error::io("pack", root, e))?;
    let object = cx
        .store
        .put(&bytes)
        .map_err(|e| Error::io("write into", cx.store.root(), e))?;
    Ok(Packed {
        object,
        files: members.iter().filter(|(_, _, m)| m.is_file()).count(),
        bytes: total,
    })
}

/// Whether `include_secret_files` names this file: a glob with a `/` matches the path
/// relative to the root, one without matches the file name.
fn included_on_purpose(globs: &[String], rel: &str, name: &str) -> bool {
    globs.iter().any(|glob| {
        if glob.contains('/') {
            glob_match(glob.trim_start_matches("./"), rel)
        } else {
            glob_match(glob, name)
        }
    })
}

fn quoted(items: &[String]) -> String {
    items
        .iter()
        .map(|i| format!("`{i}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn too_big(
    entry: &McpEntry,
    root: &Path,
    total: u64,
    max: u64,
    members: &[(PathBuf, String, std::fs::Metadata)],
) -> Error {
    let mut largest: Vec<_> = members
        .iter()
        .filter(|(_, _, m)| m.is_file())
        .map(|(_, rel, m)| (m.len(), rel.as_str()))
        .collect();
    largest.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
    let listed: Vec<String> = largest
        .iter()
        .take(3)
        .map(|(size, rel)| format!("{rel} ({})", mib(*size)))
        .collect();
    Error::Inference {
        entry: entry.name.clone(),
        reason: format!(
            "source tree `{}` is {}, over the {} limit (largest: {})",
            root.display(),
            mib(total),
            mib(max),
            listed.join(", ")
        ),
        hint: "raise `max_total_mib` under `[source]` in ~/.codexport/master.toml, or move data out of the project".to_owned(),
    }
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

fn tar_gz(
    root: &Path,
    members: &[(PathBuf, String, std::fs::Metadata)],
) -> std::io::Result<Vec<u8>> {
    let gz = GzEncoder::new(Vec::new(), Compression::default());
    let mut tar = tar::Builder::new(gz);
    tar.mode(tar::HeaderMode::Deterministic);
    tar.follow_symlinks(false);
    for (path, rel, meta) in members {
        if meta.is_dir() {
            tar.append_dir(rel, path)?;
        } else if meta.is_file() {
            tar.append_path_with_name(path, rel)?;
        } else if meta.file_type().is_symlink() {
            let Some(target) = link_inside(root, path)? else {
                tracing::warn!(link = %path.display(), "left out of the packed source: points outside the project");
                continue;
            };
            let mut header = tar::Header::new_gnu();
            header.set_entry_type(tar::EntryType::Symlink);
            header.set_size(0);
            header.set_mode(0o777);
            header.set_mtime(0);
            tar.append_link(&mut header, rel, target)?;
        }
    }
    tar.into_inner()?.finish()
}

/// A symlink's target as a path relative to the link's directory, when it stays inside
/// `root`; `None` when it leaves the tree or dangles.
fn link_inside(root: &Path, link: &Path) -> std::io::Result<Option<PathBuf>> {
    let target = std::fs::read_link(link)?;
    let dir = link.parent().unwrap_or(root);
    let (Ok(real_root), Ok(resolved)) = (
        std::fs::canonicalize(root),
        std::fs::canonicalize(dir.join(&target)),
    ) else {
        return Ok(None);
    };
    if !resolved.starts_with(&real_root) {
        return Ok(None);
    }
    if target.is_relative() {
        return Ok(Some(target));
    }
    let real_dir = std::fs::canonicalize(dir)?;
    let up = real_dir
        .strip_prefix(&real_root)
        .map(|r| r.components().count())
        .unwrap_or(0);
    let mut rel: PathBuf = std::iter::repeat_n("..", up).collect();
    rel.push(resolved.strip_prefix(&real_root).unwrap_or(&resolved));
    Ok(Some(rel))
}

/// Writes nothing; lets tests read a packed object back as (path, kind) pairs.
#[cfg(test)]
pub(crate) fn list(bytes: &[u8]) -> Vec<(String, tar::EntryType)> {
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(bytes));
    archive
        .entries()
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.path().unwrap().to_string_lossy().into_owned(),
                e.header().entry_type(),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ecosystem::test_support::{Master, stdio_entry};
    use std::io::Write;

    fn write(path: &Path, bytes: &[u8]) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let mut f = std::fs::File::create(path).unwrap();
        f.write_all(bytes).unwrap();
    }

    #[test]
    fn packs_sources_skipping_dependencies_media_and_outside_links() {
        let tmp = tempfile::tempdir().unwrap();
        let master = Master::new(tmp.path());
        let root = tmp.path().join("proj");
        write(&root.join("package.json"), b"{}");
        write(&root.join("dist/index.js"), b"console.log(1)");
        write(&root.join("src/a.ts"), b"x");
        write(&root.join("node_modules/dep/index.js"), b"x");
        write(&root.join(".git/HEAD"), b"x");
        write(&root.join("pkg.egg-info/PKG-INFO"), b"x");
        write(&root.join("logo.PNG"), b"x");
        write(
            &root.join("build/dist/keep.js"),
            b"nested dist is skipped too",
        );
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink("src/a.ts", root.join("inside")).unwrap();
            std::os::unix::fs::symlink(root.join("src"), root.join("abs-inside")).unwrap();
            std::os::unix::fs::symlink("/etc/hostname", root.join("outside")).unwrap();
        }
        let e = stdio_entry("e", "node", &[]);
        let packed = pack(&master.cx(), &e, &root, Some("dist/index.js")).unwrap();
        assert_eq!(packed.files, 3);
        let names: Vec<String> = list(&master.store.read(&packed.object).unwrap())
            .into_iter()
            .map(|(p, kind)| format!("{p}{}", if kind.is_symlink() { "@" } else { "" }))
            .collect();
        let mut expected = vec![
            "build",
            "dist",
            "dist/index.js",
            "package.json",
            "src",
            "src/a.ts",
        ];
        if cfg!(unix) {
            expected.insert(0, "abs-inside@");
            expected.insert(4, "inside@");
        }
        assert_eq!(names, expected);
        let again = pack(&master.cx(), &e, &root, Some("dist/index.js")).unwrap();
        assert_eq!(again.object, packed.object, "packing is deterministic");
    }

    #[test]
    fn secret_looking_files_are_left_out_unless_included_on_purpose() {
        let tmp = tempfile::tempdir().unwrap();
        let mut master = Master::new(tmp.path());
        let root = tmp.path().join("proj");
        for rel in [
            "server.js",
            ".env",
            ".env.local",
            ".env.example",
            "certs/server.pem",
            "certs/readme.md",
            "deploy/id_ed25519",
            ".npmrc",
        ] {
            write(&root.join(rel), b"x");
        }
        let e = stdio_entry("api", "node", &[]);
        let names = |master: &Master| -> Vec<String> {
            let packed = pack(&master.cx(), &e, &root, None).unwrap();
            list(&master.store.read(&packed.object).unwrap())
                .into_iter()
                .filter(|(_, kind)| !kind.is_dir())
                .map(|(p, _)| p)
                .collect()
        };
        assert_eq!(
            names(&master),
            [".env.example", "certs/readme.md", "server.js"]
        );
        let notes: Vec<String> = master.notes.take().iter().map(|n| n.to_string()).collect();
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(
            notes[0].starts_with("MCP `api`: left out of the packed source `"),
            "{}",
            notes[0]
        );
        assert!(
            notes[0].contains(
                "as their names look like secrets: `.env`, `.env.local`, `.npmrc`, `certs/server.pem`, `deploy/id_ed25519` (to pack them on purpose, list them in `include_secret_files` under `[mcp.api]` in `"
            ),
            "{}",
            notes[0]
        );

        master
            .include_secret_files
            .insert("api".into(), vec![".env".into(), "certs/*.pem".into()]);
        assert_eq!(
            names(&master),
            [
                ".env",
                ".env.example",
                "certs/readme.md",
                "certs/server.pem",
                "server.js"
            ]
        );
        let notes = master.notes.take();
        assert_eq!(notes.len(), 1);
        assert!(
            notes[0]
                .reason
                .contains("secrets: `.env.local`, `.npmrc`, `deploy/id_ed25519` (to pack"),
            "{}",
            notes[0]
        );
    }

    #[test]
    fn oversize_files_are_left_out_and_oversize_trees_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let master = Master::new(tmp.path());
        let root = tmp.path().join("proj");
        write(&root.join("a.py"), &[b'a'; 600]);
        write(&root.join("b.py"), &[b'b'; 500]);
        write(&root.join("huge.bin"), &[0; 5000]);
        let mut cx = master.cx();
        cx.source_limits.max_file = 1000;
        cx.source_limits.max_total = 2000;
        let e = stdio_entry("e", "python", &[]);
        assert_eq!(pack(&cx, &e, &root, None).unwrap().files, 2);
        let notes = master.notes.take();
        assert_eq!(notes.len(), 1);
        assert!(
            notes[0].reason.contains(
                "over the 0.0 MiB per-file limit: `huge.bin` (0.0 MiB) (raise `max_file_mib`"
            ),
            "{}",
            notes[0]
        );
        cx.source_limits.max_total = 1000;
        let err = pack(&cx, &e, &root, None).unwrap_err().to_string();
        assert!(err.starts_with("MCP `e`: source tree `"), "{err}");
        assert!(
            err.contains("over the 0.0 MiB limit (largest: a.py (0.0 MiB), b.py"),
            "{err}"
        );
    }
}
