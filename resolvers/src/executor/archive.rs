//! Unpacking downloads and packed source trees so that nothing lands outside the destination.
//!
//! Member paths must be plain relative paths (no root, no `..`); after `strip` leading
//! components they are joined to the destination. A member is never written through a symlink
//! the archive created, symlink targets must stay inside lexically, and once everything is
//! unpacked every symlink is resolved and checked again (a chain of links can point higher
//! than each link alone suggests).

use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Component, Path, PathBuf};

use crate::Error;
use crate::plan::ArchiveKind;

/// Unpacks `file` (of `kind`) into `dest`: a directory for archives, a file for `raw`/`gz`.
pub(crate) fn extract(
    kind: ArchiveKind,
    file: &Path,
    dest: &Path,
    strip: u32,
) -> Result<(), Error> {
    let open = || File::open(file).map_err(|e| Error::io("open", file, e));
    match kind {
        ArchiveKind::Raw => copy_to(&mut open()?, dest),
        ArchiveKind::Gz => copy_to(&mut flate2::read::GzDecoder::new(open()?), dest),
        ArchiveKind::Tar => extract_tar(open()?, dest, strip),
        ArchiveKind::TarGz => extract_tar(flate2::read::GzDecoder::new(open()?), dest, strip),
        ArchiveKind::TarXz => extract_tar(xz2::read::XzDecoder::new(open()?), dest, strip),
        ArchiveKind::Zip => extract_zip(open()?, dest, strip),
    }
}

/// Unpacks a gzip tar held in memory (a packed source tree) into `dest`.
pub(crate) fn extract_tar_gz_bytes(bytes: &[u8], dest: &Path) -> Result<(), Error> {
    extract_tar(flate2::read::GzDecoder::new(bytes), dest, 0)
}

fn copy_to(reader: &mut dyn Read, dest: &Path) -> Result<(), Error> {
    if let Some(parent) = dest.parent() {
        fs::create_dir_all(parent).map_err(|e| Error::io("create", parent, e))?;
    }
    let mut out = File::create(dest).map_err(|e| Error::io("create", dest, e))?;
    io::copy(reader, &mut out).map_err(|e| Error::io("write", dest, e))?;
    Ok(())
}

fn corrupt(file: &Path, e: io::Error) -> Error {
    Error::io("unpack", file, e)
}

fn extract_tar(reader: impl Read, dest: &Path, strip: u32) -> Result<(), Error> {
    fs::create_dir_all(dest).map_err(|e| Error::io("create", dest, e))?;
    let mut archive = tar::Archive::new(reader);
    let entries = archive.entries().map_err(|e| corrupt(dest, e))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| corrupt(dest, e))?;
        let raw = entry.path().map_err(|e| corrupt(dest, e))?.into_owned();
        let Some(rel) = member_path(&raw, strip)? else {
            continue;
        };
        let target = dest.join(&rel);
        let kind = entry.header().entry_type();
        if kind.is_dir() {
            prepare(dest, &rel)?;
            fs::create_dir_all(&target).map_err(|e| Error::io("create", &target, e))?;
        } else if kind.is_symlink() {
            let link = entry
                .link_name()
                .map_err(|e| corrupt(dest, e))?
                .ok_or_else(|| corrupt(dest, io::Error::other("symlink without a target")))?
                .into_owned();
            make_symlink(dest, &rel, &link)?;
        } else if kind.is_hard_link() {
            let link = entry
                .link_name()
                .map_err(|e| corrupt(dest, e))?
                .ok_or_else(|| corrupt(dest, io::Error::other("hard link without a target")))?
                .into_owned();
            let Some(source) = member_path(&link, strip)? else {
                return Err(escape(&link));
            };
            prepare(dest, &rel)?;
            // A copy, not a link: the source was checked to be a member inside `dest`.
            fs::copy(dest.join(&source), &target).map_err(|e| Error::io("create", &target, e))?;
        } else if kind.is_file() || kind == tar::EntryType::Continuous {
            prepare(dest, &rel)?;
            entry
                .unpack(&target)
                .map_err(|e| Error::io("create", &target, e))?;
        }
        // Devices, fifos and other special members are skipped.
    }
    verify_links(dest)
}

fn extract_zip(file: File, dest: &Path, strip: u32) -> Result<(), Error> {
    fs::create_dir_all(dest).map_err(|e| Error::io("create", dest, e))?;
    let bad = |e: zip::result::ZipError| corrupt(dest, io::Error::other(e));
    let mut archive = zip::ZipArchive::new(file).map_err(bad)?;
    for i in 0..archive.len() {
        let mut member = archive.by_index(i).map_err(bad)?;
        let raw = PathBuf::from(member.name().replace('\\', "/"));
        let Some(rel) = member_path(&raw, strip)? else {
            continue;
        };
        let target = dest.join(&rel);
        if member.is_dir() {
            prepare(dest, &rel)?;
            fs::create_dir_all(&target).map_err(|e| Error::io("create", &target, e))?;
        } else if member.is_symlink() {
            let mut link = String::new();
            member
                .read_to_string(&mut link)
                .map_err(|e| corrupt(dest, e))?;
            make_symlink(dest, &rel, Path::new(&link))?;
        } else {
            prepare(dest, &rel)?;
            let mut out = File::create(&target).map_err(|e| Error::io("create", &target, e))?;
            io::copy(&mut member, &mut out).map_err(|e| Error::io("write", &target, e))?;
            #[cfg(unix)]
            if let Some(mode) = member.unix_mode() {
                use std::os::unix::fs::PermissionsExt;
                fs::set_permissions(&target, fs::Permissions::from_mode(mode & 0o777))
                    .map_err(|e| Error::io("chmod", &target, e))?;
            }
        }
    }
    verify_links(dest)
}

fn escape(path: &Path) -> Error {
    Error::PathEscape {
        path: path.to_string_lossy().into_owned(),
    }
}

/// The member's path after dropping `strip` components; `None` when nothing is left.
fn member_path(raw: &Path, strip: u32) -> Result<Option<PathBuf>, Error> {
    let mut rel = PathBuf::new();
    let mut skipped = 0;
    for component in raw.components() {
        match component {
            Component::CurDir => {}
            Component::Normal(part) => {
                if skipped < strip {
                    skipped += 1;
                } else {
                    rel.push(part);
                }
            }
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => {
                return Err(escape(raw));
            }
        }
    }
    Ok((!rel.as_os_str().is_empty()).then_some(rel))
}

/// Creates the member's parent directories and refuses to write through a symlink: no
/// ancestor of the member inside `dest`, nor the member itself, may be a link.
fn prepare(dest: &Path, rel: &Path) -> Result<(), Error> {
    let mut at = dest.to_path_buf();
    for part in rel.iter() {
        at.push(part);
        if fs::symlink_metadata(&at).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(escape(rel));
        }
    }
    if let Some(parent) = dest.join(rel).parent() {
        fs::create_dir_all(parent).map_err(|e| Error::io("create", parent, e))?;
    }
    Ok(())
}

fn make_symlink(dest: &Path, rel: &Path, link: &Path) -> Result<(), Error> {
    // The target, read relative to the link's directory, must stay inside `dest`.
    let mut depth: i64 = rel.components().count() as i64 - 1;
    for component in link.components() {
        match component {
            Component::CurDir => {}
            Component::Normal(_) => depth += 1,
            Component::ParentDir => {
                depth -= 1;
                if depth < 0 {
                    return Err(escape(rel));
                }
            }
            Component::RootDir | Component::Prefix(_) => return Err(escape(rel)),
        }
    }
    prepare(dest, rel)?;
    let target = dest.join(rel);
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(link, &target).map_err(|e| Error::io("create", &target, e))
    }
    #[cfg(not(unix))]
    {
        // Windows needs privileges for symlinks: copy what the link points at when it exists.
        let source = target.parent().unwrap_or(dest).join(link);
        fs::copy(&source, &target)
            .map(|_| ())
            .map_err(|e| Error::io("create", &target, e))
    }
}

/// Resolves every symlink under `dest` and refuses any that leads outside it.
fn verify_links(dest: &Path) -> Result<(), Error> {
    let root = fs::canonicalize(dest).map_err(|e| Error::io("read", dest, e))?;
    for entry in walkdir::WalkDir::new(dest).follow_links(false) {
        let entry = entry.map_err(|e| Error::io("read", dest, e.into()))?;
        if !entry.path_is_symlink() {
            continue;
        }
        // A dangling link cannot be followed now; one that leads outside is refused.
        if let Ok(resolved) = fs::canonicalize(entry.path())
            && !resolved.starts_with(&root)
        {
            let rel = entry.path().strip_prefix(dest).unwrap_or(entry.path());
            return Err(escape(rel));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tar_with(build: impl FnOnce(&mut tar::Builder<Vec<u8>>)) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        build(&mut b);
        b.into_inner().unwrap()
    }

    fn file_header(size: u64) -> tar::Header {
        let mut h = tar::Header::new_gnu();
        h.set_size(size);
        h.set_mode(0o755);
        h.set_entry_type(tar::EntryType::Regular);
        h
    }

    /// Writes a raw member name (the tar crate refuses `..` in its safe setters).
    fn raw_member(b: &mut tar::Builder<Vec<u8>>, name: &str, body: &[u8]) {
        let mut h = file_header(body.len() as u64);
        let gnu = h.as_gnu_mut().unwrap();
        gnu.name[..name.len()].copy_from_slice(name.as_bytes());
        h.set_cksum();
        b.append(&h, body).unwrap();
    }

    #[test]
    fn strips_components_and_keeps_modes() {
        let tmp = tempfile::tempdir().unwrap();
        let bytes = tar_with(|b| {
            let mut h = file_header(2);
            b.append_data(&mut h, "tool-1.0/bin/tool", &b"hi"[..])
                .unwrap();
        });
        let file = tmp.path().join("a.tar");
        fs::write(&file, bytes).unwrap();
        let dest = tmp.path().join("out");
        extract(ArchiveKind::Tar, &file, &dest, 1).unwrap();
        assert_eq!(fs::read(dest.join("bin/tool")).unwrap(), b"hi");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(dest.join("bin/tool"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o111, 0o111);
        }
    }

    #[test]
    fn parent_components_are_refused_and_nothing_lands_outside() {
        let tmp = tempfile::tempdir().unwrap();
        let bytes = tar_with(|b| raw_member(b, "../evil", b"x"));
        let file = tmp.path().join("a.tar");
        fs::write(&file, bytes).unwrap();
        let dest = tmp.path().join("out");
        let err = extract(ArchiveKind::Tar, &file, &dest, 0).unwrap_err();
        assert!(matches!(err, Error::PathEscape { .. }), "{err}");
        assert!(!tmp.path().join("evil").exists());
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_out_and_writes_through_links_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let link = |target: &str| {
            tar_with(|b| {
                let mut h = tar::Header::new_gnu();
                h.set_entry_type(tar::EntryType::Symlink);
                h.set_size(0);
                b.append_link(&mut h, "l", target).unwrap();
                let mut f = file_header(1);
                b.append_data(&mut f, "l/x", &b"x"[..]).unwrap();
            })
        };
        for target in ["/etc", "../.."] {
            let file = tmp.path().join("a.tar");
            fs::write(&file, link(target)).unwrap();
            let dest = tmp.path().join(format!("out{}", target.len()));
            let err = extract(ArchiveKind::Tar, &file, &dest, 0).unwrap_err();
            assert!(matches!(err, Error::PathEscape { .. }), "{target}: {err}");
        }
        // An inner link is fine, but writing through it is not.
        let file = tmp.path().join("b.tar");
        fs::write(&file, link("sub")).unwrap();
        let err = extract(ArchiveKind::Tar, &file, &tmp.path().join("o3"), 0).unwrap_err();
        assert!(matches!(err, Error::PathEscape { .. }), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn chained_links_that_climb_out_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let bytes = tar_with(|b| {
            for (name, target) in [("sub/a", ".."), ("e", "sub/a/..")] {
                let mut h = tar::Header::new_gnu();
                h.set_entry_type(tar::EntryType::Symlink);
                h.set_size(0);
                b.append_link(&mut h, name, target).unwrap();
            }
        });
        let file = tmp.path().join("a.tar");
        fs::write(&file, bytes).unwrap();
        let err = extract(ArchiveKind::Tar, &file, &tmp.path().join("out"), 0).unwrap_err();
        assert!(matches!(err, Error::PathEscape { .. }), "{err}");
    }

    #[test]
    fn zip_members_unpack_and_escapes_are_refused() {
        use std::io::Write;
        let tmp = tempfile::tempdir().unwrap();
        let make = |name: &str| {
            let mut w = zip::ZipWriter::new(io::Cursor::new(Vec::new()));
            w.start_file(name, zip::write::SimpleFileOptions::default())
                .unwrap();
            w.write_all(b"z").unwrap();
            w.finish().unwrap().into_inner()
        };
        let file = tmp.path().join("a.zip");
        fs::write(&file, make("pkg/tool.exe")).unwrap();
        extract(ArchiveKind::Zip, &file, &tmp.path().join("ok"), 1).unwrap();
        assert_eq!(fs::read(tmp.path().join("ok/tool.exe")).unwrap(), b"z");
        fs::write(&file, make("../../z")).unwrap();
        let err = extract(ArchiveKind::Zip, &file, &tmp.path().join("bad"), 0).unwrap_err();
        assert!(matches!(err, Error::PathEscape { .. }), "{err}");
    }
}
