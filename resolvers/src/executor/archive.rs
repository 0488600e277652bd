//! Unpacking downloads and packed source trees: bounded, and nothing lands outside the destination.
//!
//! Every archive unpacks into a scratch directory inside the artifact dir and moves into place
//! only once it was unpacked and checked in full, so a refused archive leaves nothing behind.
//! The decompressed stream is metered (total bytes, expansion ratio) and the entries counted,
//! so a small bomb is refused early; so are the bytes written, since a tar's sparse members
//! and hard links (copies here) write more than the stream holds. Member paths must be plain relative paths (no root, no
//! `..`); after `strip` leading components they are joined to the destination. A member is
//! never written through a symlink; a symlink's target is resolved through the links already
//! unpacked before it is created and must stay inside; a hard link may only name a regular
//! file this archive already unpacked, along a path without links (so it can never copy a
//! file from outside, whatever chain of links the archive built). Devices, fifos and sockets
//! are refused, setuid/setgid/sticky bits dropped. Once everything is unpacked every symlink
//! is resolved on disk and checked again (a later link can change what an earlier one means).

use std::cell::Cell;
use std::collections::HashMap;
use std::ffi::OsString;
use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Component, Path, PathBuf};
use std::rc::Rc;

use crate::Error;
use crate::plan::ArchiveKind;

/// What an archive may unpack to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Decompressed bytes, whatever the archive's size.
    pub total_bytes: u64,
    /// Members (files, directories, links).
    pub entries: u64,
    /// Decompressed bytes per archive byte...
    pub ratio: u64,
    /// ...once past this many decompressed bytes (small archives of text compress well).
    pub ratio_floor: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            total_bytes: 4 << 30,
            entries: 100_000,
            ratio: 100,
            ratio_floor: 64 << 20,
        }
    }
}

impl Limits {
    /// The decompressed bytes an archive of `compressed` bytes may reach, and the cap that
    /// sets it (named in the refusal).
    fn budget(&self, compressed: u64) -> (u64, String) {
        let by_ratio = compressed.saturating_mul(self.ratio).max(self.ratio_floor);
        if by_ratio < self.total_bytes {
            (
                by_ratio,
                format!(
                    "the expansion-ratio cap: at most {}x its {compressed} bytes, {by_ratio} bytes",
                    self.ratio
                ),
            )
        } else {
            (
                self.total_bytes,
                format!("the total-size cap of {} bytes", self.total_bytes),
            )
        }
    }
}

/// Unpacks `file` (of `kind`, named `name` in errors) into `dest`: a directory for archives,
/// a file for `raw`/`gz`. `scratch` is a path inside the artifact dir that does not exist yet;
/// it is gone when this returns.
pub(crate) fn extract(
    kind: ArchiveKind,
    file: &Path,
    dest: &Path,
    strip: u32,
    scratch: &Path,
    name: &str,
) -> Result<(), Error> {
    extract_with(kind, file, dest, strip, scratch, name, &Limits::default())
}

/// [`extract`] under explicit `limits`.
pub fn extract_with(
    kind: ArchiveKind,
    file: &Path,
    dest: &Path,
    strip: u32,
    scratch: &Path,
    name: &str,
    limits: &Limits,
) -> Result<(), Error> {
    let open = || File::open(file).map_err(|e| Error::io("open", file, e));
    let size = fs::metadata(file)
        .map_err(|e| Error::io("read", file, e))?
        .len();
    let unpacked = match kind {
        ArchiveKind::Raw => copy_to(&mut open()?, scratch),
        ArchiveKind::Gz => {
            let mut meter = Meter::new(flate2::read::GzDecoder::new(open()?), size, limits);
            copy_to(&mut meter, scratch).map_err(|e| meter.explain(e, name))
        }
        ArchiveKind::Tar => unpack_tar(open()?, size, scratch, strip, name, limits),
        ArchiveKind::TarGz => unpack_tar(
            flate2::read::GzDecoder::new(open()?),
            size,
            scratch,
            strip,
            name,
            limits,
        ),
        ArchiveKind::TarXz => unpack_tar(
            xz2::read::XzDecoder::new(open()?),
            size,
            scratch,
            strip,
            name,
            limits,
        ),
        ArchiveKind::Zip => unpack_zip(open()?, size, scratch, strip, name, limits),
    };
    finish(unpacked, scratch, dest)
}

/// Unpacks a gzip tar held in memory (a packed source tree) into `dest`, through `scratch`.
pub(crate) fn extract_tar_gz_bytes(
    bytes: &[u8],
    dest: &Path,
    scratch: &Path,
    name: &str,
) -> Result<(), Error> {
    let unpacked = unpack_tar(
        flate2::read::GzDecoder::new(bytes),
        bytes.len() as u64,
        scratch,
        0,
        name,
        &Limits::default(),
    );
    finish(unpacked, scratch, dest)
}

/// Moves a complete unpack into place, or removes what a refused one left.
fn finish(unpacked: Result<(), Error>, scratch: &Path, dest: &Path) -> Result<(), Error> {
    let placed = unpacked
        .and_then(|()| place(scratch, dest).map_err(|e| Error::io("move into place", dest, e)));
    if placed.is_err() {
        let _ = remove(scratch);
    }
    placed
}

fn remove(path: &Path) -> io::Result<()> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => fs::remove_dir_all(path),
        Ok(_) => fs::remove_file(path),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// Renames `from` to `to`, merging into a directory that is already there (an earlier step's).
fn place(from: &Path, to: &Path) -> io::Result<()> {
    let from_dir = fs::symlink_metadata(from)?.is_dir();
    match fs::symlink_metadata(to) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            if let Some(parent) = to.parent() {
                fs::create_dir_all(parent)?;
            }
            fs::rename(from, to)
        }
        Ok(m) if m.is_dir() && from_dir => {
            for entry in fs::read_dir(from)? {
                let entry = entry?;
                place(&entry.path(), &to.join(entry.file_name()))?;
            }
            fs::remove_dir(from)
        }
        Ok(_) => {
            remove(to)?;
            fs::rename(from, to)
        }
        Err(e) => Err(e),
    }
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

fn refused(name: &str, reason: impl Into<String>) -> Error {
    Error::ArchiveRefused {
        archive: name.to_owned(),
        reason: reason.into(),
    }
}

/// Counts the decompressed bytes read through it and fails past the budget.
struct Meter<R> {
    inner: R,
    read: Rc<Cell<u64>>,
    budget: u64,
    cap: String,
}

impl<R> Meter<R> {
    fn new(inner: R, compressed: u64, limits: &Limits) -> Self {
        let (budget, cap) = limits.budget(compressed);
        Self {
            inner,
            read: Rc::new(Cell::new(0)),
            budget,
            cap,
        }
    }

    fn over(read: &Cell<u64>, budget: u64) -> bool {
        read.get() > budget
    }

    /// The refusal when `e` came from the meter, else `e` itself.
    fn explain(&self, e: Error, name: &str) -> Error {
        Self::explain_with(&self.read, self.budget, &self.cap, e, name)
    }

    fn explain_with(read: &Cell<u64>, budget: u64, cap: &str, e: Error, name: &str) -> Error {
        if Self::over(read, budget) {
            refused(name, format!("it unpacks to more than {cap}"))
        } else {
            e
        }
    }
}

impl<R: Read> Read for Meter<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.set(self.read.get().saturating_add(n as u64));
        if Self::over(&self.read, self.budget) {
            return Err(io::Error::other("decompressed size over the cap"));
        }
        Ok(n)
    }
}

/// What the archive already put at a member path.
enum Seen {
    Dir,
    File,
    Link(PathBuf),
}

/// The members unpacked so far, for checking links before they are written.
struct Unpacker<'a> {
    root: &'a Path,
    name: &'a str,
    seen: HashMap<PathBuf, Seen>,
    entries: u64,
    limits: &'a Limits,
    /// Bytes written so far, against the same budget as the stream.
    written: u64,
    budget: u64,
    cap: String,
}

impl<'a> Unpacker<'a> {
    fn new(
        root: &'a Path,
        name: &'a str,
        compressed: u64,
        limits: &'a Limits,
    ) -> Result<Self, Error> {
        fs::create_dir_all(root).map_err(|e| Error::io("create", root, e))?;
        let (budget, cap) = limits.budget(compressed);
        Ok(Self {
            root,
            name,
            seen: HashMap::new(),
            entries: 0,
            limits,
            written: 0,
            budget,
            cap,
        })
    }

    /// Copies `body` into `out` within what is left of the budget.
    fn write(&mut self, body: &mut dyn Read, out: &mut File, target: &Path) -> Result<(), Error> {
        let room = self.budget.saturating_sub(self.written);
        let n = io::copy(&mut body.take(room.saturating_add(1)), out)
            .map_err(|e| corrupt(target, e))?;
        self.written = self.written.saturating_add(n);
        if self.written > self.budget {
            return Err(refused(
                self.name,
                format!("it unpacks to more than {}", self.cap),
            ));
        }
        Ok(())
    }

    fn count(&mut self) -> Result<(), Error> {
        self.entries += 1;
        if self.entries > self.limits.entries {
            return Err(refused(
                self.name,
                format!(
                    "it holds more than {} entries (the entry-count cap)",
                    self.limits.entries
                ),
            ));
        }
        Ok(())
    }

    fn dir(&mut self, rel: &Path) -> Result<(), Error> {
        // Unpacked already, with no link on its way (a tar may list a directory many times).
        if matches!(self.seen.get(rel), Some(Seen::Dir)) {
            return Ok(());
        }
        prepare(self.root, rel)?;
        let target = self.root.join(rel);
        fs::create_dir_all(&target).map_err(|e| Error::io("create", &target, e))?;
        self.seen.insert(rel.to_path_buf(), Seen::Dir);
        Ok(())
    }

    /// Writes a regular file from `body` with `mode`'s permission bits (no setuid/setgid/sticky).
    fn file(&mut self, rel: &Path, body: &mut dyn Read, mode: Option<u32>) -> Result<(), Error> {
        prepare(self.root, rel)?;
        let target = self.root.join(rel);
        if matches!(self.seen.get(rel), Some(Seen::Dir)) {
            return Err(refused(
                self.name,
                format!("member `{}` is both a directory and a file", rel.display()),
            ));
        }
        let mut out = File::create(&target).map_err(|e| Error::io("create", &target, e))?;
        self.write(body, &mut out, &target)?;
        set_mode(&target, mode)?;
        self.seen.insert(rel.to_path_buf(), Seen::File);
        Ok(())
    }

    fn symlink(&mut self, rel: &Path, link: &Path) -> Result<(), Error> {
        // Read relative to the link's own directory, through the links unpacked so far.
        let mut parent: Vec<OsString> = rel.iter().map(|p| p.to_owned()).collect();
        parent.pop();
        let mut hops = 0;
        if self.resolve(parent, link, &mut hops).is_none() {
            return Err(escape(rel));
        }
        prepare(self.root, rel)?;
        let target = self.root.join(rel);
        if self.seen.contains_key(rel) {
            return Err(refused(
                self.name,
                format!("member `{}` appears twice", rel.display()),
            ));
        }
        make_symlink(self.root, &target, link)?;
        self.seen
            .insert(rel.to_path_buf(), Seen::Link(link.to_path_buf()));
        Ok(())
    }

    /// A hard link: a copy of a regular file this archive unpacked already.
    fn hard_link(&mut self, rel: &Path, source: &Path) -> Result<(), Error> {
        if !matches!(self.seen.get(source), Some(Seen::File)) || source == rel {
            return Err(refused(
                self.name,
                format!(
                    "hard link `{}` points at `{}`, which is not a file unpacked earlier from this archive",
                    rel.display(),
                    source.display()
                ),
            ));
        }
        // No link on the way to the source, so the copy reads the archive's own file.
        prepare(self.root, source)?;
        prepare(self.root, rel)?;
        let from = self.root.join(source);
        let target = self.root.join(rel);
        let mut body = File::open(&from).map_err(|e| Error::io("read", &from, e))?;
        let mode = file_mode(&from);
        let mut out = File::create(&target).map_err(|e| Error::io("create", &target, e))?;
        self.write(&mut body, &mut out, &target)?;
        set_mode(&target, mode)?;
        self.seen.insert(rel.to_path_buf(), Seen::File);
        Ok(())
    }

    /// Where `link`, read from the directory `at`, leads through the links unpacked so far;
    /// `None` when it climbs out of the root, is absolute, or loops.
    fn resolve(&self, mut at: Vec<OsString>, link: &Path, hops: &mut u32) -> Option<Vec<OsString>> {
        for component in link.components() {
            match component {
                Component::CurDir => {}
                Component::ParentDir => {
                    at.pop()?;
                }
                Component::Normal(part) => {
                    at.push(part.to_owned());
                    let here: PathBuf = at.iter().collect();
                    if let Some(Seen::Link(next)) = self.seen.get(&here) {
                        *hops += 1;
                        if *hops > 40 {
                            return None;
                        }
                        at.pop();
                        at = self.resolve(at, next, hops)?;
                    }
                }
                Component::RootDir | Component::Prefix(_) => return None,
            }
        }
        Some(at)
    }

    fn special(&self, rel: &Path, what: &str) -> Error {
        refused(
            self.name,
            format!(
                "member `{}` is a {what} (only files, directories and links are unpacked)",
                rel.display()
            ),
        )
    }
}

fn file_mode(path: &Path) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::metadata(path).ok().map(|m| m.permissions().mode())
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

/// Applies the permission bits of `mode` only: setuid, setgid and sticky are dropped.
fn set_mode(target: &Path, mode: Option<u32>) -> Result<(), Error> {
    #[cfg(unix)]
    if let Some(mode) = mode {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(target, fs::Permissions::from_mode(mode & 0o777))
            .map_err(|e| Error::io("chmod", target, e))?;
    }
    #[cfg(not(unix))]
    let _ = (target, mode);
    Ok(())
}

fn unpack_tar(
    reader: impl Read,
    compressed: u64,
    root: &Path,
    strip: u32,
    name: &str,
    limits: &Limits,
) -> Result<(), Error> {
    let meter = Meter::new(reader, compressed, limits);
    let (read, budget, cap) = (meter.read.clone(), meter.budget, meter.cap.clone());
    let explain = |e: Error| Meter::<()>::explain_with(&read, budget, &cap, e, name);
    let mut out = Unpacker::new(root, name, compressed, limits)?;
    let mut archive = tar::Archive::new(meter);
    let entries = archive.entries().map_err(|e| explain(corrupt(root, e)))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| explain(corrupt(root, e)))?;
        out.count()?;
        let raw = entry.path().map_err(|e| corrupt(root, e))?.into_owned();
        let Some(rel) = member_path(&raw, strip)? else {
            continue;
        };
        let kind = entry.header().entry_type();
        let link_name = |entry: &tar::Entry<_>, what: &str| -> Result<PathBuf, Error> {
            entry
                .link_name()
                .map_err(|e| corrupt(root, e))?
                .map(|l| l.into_owned())
                .ok_or_else(|| corrupt(root, io::Error::other(format!("{what} without a target"))))
        };
        match kind {
            tar::EntryType::Directory => out.dir(&rel)?,
            tar::EntryType::Symlink => {
                let link = link_name(&entry, "symlink")?;
                out.symlink(&rel, &link)?;
            }
            tar::EntryType::Link => {
                let link = link_name(&entry, "hard link")?;
                let Some(source) = member_path(&link, strip)? else {
                    return Err(escape(&link));
                };
                out.hard_link(&rel, &source)?;
            }
            tar::EntryType::Regular | tar::EntryType::Continuous | tar::EntryType::GNUSparse => {
                let mode = entry.header().mode().ok();
                out.file(&rel, &mut entry, mode).map_err(explain)?;
            }
            tar::EntryType::Char | tar::EntryType::Block => {
                return Err(out.special(&rel, "device"));
            }
            tar::EntryType::Fifo => return Err(out.special(&rel, "fifo")),
            other => {
                return Err(out.special(
                    &rel,
                    &format!("member of tar type {:?}", other.as_byte() as char),
                ));
            }
        }
    }
    verify_links(root)
}

fn unpack_zip(
    file: File,
    compressed: u64,
    root: &Path,
    strip: u32,
    name: &str,
    limits: &Limits,
) -> Result<(), Error> {
    let bad = |e: zip::result::ZipError| corrupt(root, io::Error::other(e));
    let mut archive = zip::ZipArchive::new(file).map_err(bad)?;
    // The central directory says how many members there are: refuse before unpacking any.
    if archive.len() as u64 > limits.entries {
        return Err(refused(
            name,
            format!(
                "it holds more than {} entries (the entry-count cap)",
                limits.entries
            ),
        ));
    }
    let mut out = Unpacker::new(root, name, compressed, limits)?;
    // One meter for every member: the budget is the whole archive's.
    let (budget, cap) = limits.budget(compressed);
    let read = Rc::new(Cell::new(0));
    let explain = |e: Error| Meter::<()>::explain_with(&read, budget, &cap, e, name);
    for i in 0..archive.len() {
        out.count()?;
        let member = archive.by_index(i).map_err(bad)?;
        let raw = PathBuf::from(member.name().replace('\\', "/"));
        let Some(rel) = member_path(&raw, strip)? else {
            continue;
        };
        let mode = member.unix_mode();
        let mut member = Meter {
            inner: member,
            read: read.clone(),
            budget,
            cap: cap.clone(),
        };
        if member.inner.is_dir() {
            out.dir(&rel)?;
        } else if member.inner.is_symlink() {
            let mut link = String::new();
            (&mut member)
                .take(4096)
                .read_to_string(&mut link)
                .map_err(|e| explain(corrupt(root, e)))?;
            out.symlink(&rel, Path::new(&link))?;
        } else {
            match mode.map(|m| m & 0o170000) {
                Some(0o020000 | 0o060000) => return Err(out.special(&rel, "device")),
                Some(0o010000) => return Err(out.special(&rel, "fifo")),
                Some(0o140000) => return Err(out.special(&rel, "socket")),
                _ => {}
            }
            out.file(&rel, &mut member, mode).map_err(explain)?;
        }
    }
    verify_links(root)
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

fn make_symlink(root: &Path, target: &Path, link: &Path) -> Result<(), Error> {
    #[cfg(unix)]
    {
        let _ = root;
        std::os::unix::fs::symlink(link, target).map_err(|e| Error::io("create", target, e))
    }
    #[cfg(not(unix))]
    {
        // Windows needs privileges for symlinks: copy what the link points at when it exists.
        let source = target.parent().unwrap_or(root).join(link);
        fs::copy(&source, target)
            .map(|_| ())
            .map_err(|e| Error::io("create", target, e))
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
    use std::io::Write;

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

    fn link(b: &mut tar::Builder<Vec<u8>>, kind: tar::EntryType, name: &str, target: &str) {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_size(0);
        h.set_mode(0o644);
        b.append_link(&mut h, name, target).unwrap();
    }

    fn gz(bytes: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    fn xz(bytes: &[u8]) -> Vec<u8> {
        let mut e = xz2::write::XzEncoder::new(Vec::new(), 6);
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    /// A temp home with an artifact dir and a file outside it standing for `identity.json`.
    struct Home {
        tmp: tempfile::TempDir,
    }

    impl Home {
        fn new() -> Self {
            let tmp = tempfile::tempdir().unwrap();
            fs::create_dir_all(tmp.path().join("art")).unwrap();
            fs::write(tmp.path().join("identity.json"), b"{\"token\":\"secret\"}").unwrap();
            Self { tmp }
        }

        fn unpack(&self, kind: ArchiveKind, bytes: &[u8], limits: &Limits) -> Result<(), Error> {
            let file = self.tmp.path().join("download");
            fs::write(&file, bytes).unwrap();
            let art = self.tmp.path().join("art");
            extract_with(
                kind,
                &file,
                &art.join("dest"),
                0,
                &art.join(".unpack-1"),
                "the-archive",
                limits,
            )
        }

        /// Every path under the artifact dir.
        fn listing(&self) -> Vec<String> {
            let art = self.tmp.path().join("art");
            let mut all: Vec<String> = walkdir::WalkDir::new(&art)
                .min_depth(1)
                .into_iter()
                .map(|e| {
                    let e = e.unwrap();
                    e.path().strip_prefix(&art).unwrap().display().to_string()
                })
                .collect();
            all.sort();
            all
        }

        /// Nothing but the temp download and the untouched identity beside the artifact dir.
        fn assert_outside_untouched(&self) {
            let mut top: Vec<_> = fs::read_dir(self.tmp.path())
                .unwrap()
                .map(|e| e.unwrap().file_name().into_string().unwrap())
                .collect();
            top.sort();
            assert_eq!(top, ["art", "download", "identity.json"]);
            assert_eq!(
                fs::read(self.tmp.path().join("identity.json")).unwrap(),
                b"{\"token\":\"secret\"}"
            );
        }
    }

    fn refusal(err: &Error) -> &str {
        match err {
            Error::ArchiveRefused { reason, .. } => reason,
            other => panic!("expected ArchiveRefused, got {other:?}"),
        }
    }

    #[test]
    fn strips_components_and_keeps_modes_without_setuid() {
        let home = Home::new();
        let bytes = tar_with(|b| {
            let mut h = file_header(2);
            h.set_mode(0o6755);
            b.append_data(&mut h, "tool-1.0/bin/tool", &b"hi"[..])
                .unwrap();
        });
        let file = home.tmp.path().join("download");
        fs::write(&file, bytes).unwrap();
        let art = home.tmp.path().join("art");
        let dest = art.join("out");
        extract(ArchiveKind::Tar, &file, &dest, 1, &art.join(".u"), "a").unwrap();
        assert_eq!(fs::read(dest.join("bin/tool")).unwrap(), b"hi");
        assert!(!art.join(".u").exists(), "the scratch dir is gone");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(dest.join("bin/tool"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o7777, 0o755, "setuid/setgid dropped, exec kept");
        }
    }

    #[test]
    #[cfg_attr(windows, ignore = "expects `/`-joined paths; Windows joins with `\\`")]
    fn a_second_archive_merges_into_the_same_dest() {
        let home = Home::new();
        let one = tar_with(|b| {
            b.append_data(&mut file_header(1), "bin/a", &b"a"[..])
                .unwrap();
        });
        let two = tar_with(|b| {
            b.append_data(&mut file_header(1), "bin/b", &b"b"[..])
                .unwrap();
        });
        home.unpack(ArchiveKind::Tar, &one, &Limits::default())
            .unwrap();
        home.unpack(ArchiveKind::Tar, &two, &Limits::default())
            .unwrap();
        assert_eq!(
            home.listing(),
            ["dest", "dest/bin", "dest/bin/a", "dest/bin/b"]
        );
    }

    #[test]
    fn parent_components_are_refused_and_nothing_lands_anywhere() {
        let home = Home::new();
        let bytes = tar_with(|b| {
            b.append_data(&mut file_header(1), "ok", &b"x"[..]).unwrap();
            raw_member(b, "../evil", b"x");
        });
        let err = home
            .unpack(ArchiveKind::Tar, &bytes, &Limits::default())
            .unwrap_err();
        assert!(matches!(err, Error::PathEscape { .. }), "{err}");
        assert_eq!(
            home.listing(),
            Vec::<String>::new(),
            "no half-extracted member"
        );
        home.assert_outside_untouched();
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_out_and_writes_through_links_are_refused() {
        let with_link = |target: &str| {
            tar_with(|b| {
                link(b, tar::EntryType::Symlink, "l", target);
                b.append_data(&mut file_header(1), "l/x", &b"x"[..])
                    .unwrap();
            })
        };
        for target in ["/etc", "../..", "sub"] {
            let home = Home::new();
            let err = home
                .unpack(ArchiveKind::Tar, &with_link(target), &Limits::default())
                .unwrap_err();
            assert!(matches!(err, Error::PathEscape { .. }), "{target}: {err}");
            assert_eq!(home.listing(), Vec::<String>::new());
        }
    }

    /// The reproduced attack: `sub/a -> ..` and `e -> sub/a/..` each look inside alone, but
    /// `e` is the artifact dir's parent; a hard link `stolen -> e/identity.json` then copied
    /// the follower's token into the artifact before the final check.
    #[cfg(unix)]
    #[test]
    fn chained_links_cannot_reach_a_file_outside() {
        let home = Home::new();
        let bytes = tar_with(|b| {
            link(b, tar::EntryType::Symlink, "sub/a", "..");
            link(b, tar::EntryType::Symlink, "e", "sub/a/../..");
            link(b, tar::EntryType::Link, "stolen", "e/identity.json");
        });
        let err = home
            .unpack(ArchiveKind::Tar, &bytes, &Limits::default())
            .unwrap_err();
        assert!(matches!(err, Error::PathEscape { .. }), "{err}");
        assert_eq!(home.listing(), Vec::<String>::new());
        home.assert_outside_untouched();

        // Without the climbing link, a hard link to anything but an unpacked file is refused.
        for source in ["e/identity.json", "l/f", "nothing"] {
            let home = Home::new();
            let bytes = tar_with(|b| {
                link(b, tar::EntryType::Symlink, "l", "d");
                b.append_data(&mut file_header(1), "d/f", &b"f"[..])
                    .unwrap();
                link(b, tar::EntryType::Link, "stolen", source);
            });
            let err = home
                .unpack(ArchiveKind::Tar, &bytes, &Limits::default())
                .unwrap_err();
            assert!(
                refusal(&err).contains("hard link `stolen`"),
                "{source}: {err}"
            );
            assert_eq!(home.listing(), Vec::<String>::new());
            home.assert_outside_untouched();
        }
    }

    #[test]
    fn hard_links_to_earlier_files_are_copies() {
        let home = Home::new();
        let bytes = tar_with(|b| {
            b.append_data(&mut file_header(1), "d/f", &b"f"[..])
                .unwrap();
            link(b, tar::EntryType::Link, "g", "d/f");
        });
        home.unpack(ArchiveKind::Tar, &bytes, &Limits::default())
            .unwrap();
        let dest = home.tmp.path().join("art/dest");
        assert_eq!(fs::read(dest.join("g")).unwrap(), b"f");
    }

    #[cfg(unix)]
    #[test]
    fn chained_links_that_climb_out_are_refused() {
        let home = Home::new();
        let bytes = tar_with(|b| {
            link(b, tar::EntryType::Symlink, "sub/a", "..");
            link(b, tar::EntryType::Symlink, "e", "sub/a/..");
        });
        let err = home
            .unpack(ArchiveKind::Tar, &bytes, &Limits::default())
            .unwrap_err();
        assert!(matches!(err, Error::PathEscape { .. }), "{err}");
    }

    #[test]
    #[cfg_attr(
        windows,
        ignore = "expects the member named `dev/x`; Windows joins with `\\`"
    )]
    fn devices_and_fifos_are_refused() {
        for (kind, what) in [
            (tar::EntryType::Char, "device"),
            (tar::EntryType::Block, "device"),
            (tar::EntryType::Fifo, "fifo"),
        ] {
            let home = Home::new();
            let bytes = tar_with(|b| {
                b.append_data(&mut file_header(1), "ok", &b"x"[..]).unwrap();
                let mut h = tar::Header::new_gnu();
                h.set_entry_type(kind);
                h.set_size(0);
                b.append_data(&mut h, "dev/x", io::empty()).unwrap();
            });
            let err = home
                .unpack(ArchiveKind::Tar, &bytes, &Limits::default())
                .unwrap_err();
            assert!(
                refusal(&err).contains(&format!("`dev/x` is a {what}")),
                "{err}"
            );
            assert_eq!(home.listing(), Vec::<String>::new());
        }
    }

    fn small() -> Limits {
        Limits {
            total_bytes: 1 << 20,
            entries: 10,
            ratio: 10,
            ratio_floor: 64 << 10,
        }
    }

    #[test]
    fn bombs_are_refused_by_ratio_total_and_count_in_every_format() {
        // 512 KiB of zeros compress to a few hundred bytes: far past 10x.
        let zeros = tar_with(|b| {
            b.append_data(
                &mut file_header(512 << 10),
                "zeros",
                io::repeat(0).take(512 << 10),
            )
            .unwrap();
        });
        for (kind, bytes) in [
            (ArchiveKind::TarGz, gz(&zeros)),
            (ArchiveKind::TarXz, xz(&zeros)),
            (ArchiveKind::Gz, gz(&vec![0; 512 << 10])),
        ] {
            let home = Home::new();
            let err = home.unpack(kind, &bytes, &small()).unwrap_err();
            assert!(
                refusal(&err).contains("expansion-ratio cap"),
                "{kind:?}: {err}"
            );
            assert_eq!(home.listing(), Vec::<String>::new(), "{kind:?}");
        }
        // An uncompressed tar is past the total cap.
        let big = tar_with(|b| {
            b.append_data(
                &mut file_header(2 << 20),
                "big",
                io::repeat(1).take(2 << 20),
            )
            .unwrap();
        });
        let home = Home::new();
        let err = home.unpack(ArchiveKind::Tar, &big, &small()).unwrap_err();
        assert!(
            refusal(&err).contains("total-size cap of 1048576 bytes"),
            "{err}"
        );
        assert_eq!(home.listing(), Vec::<String>::new());
        // Eleven empty files are one past the entry cap.
        let many = tar_with(|b| {
            for i in 0..11 {
                b.append_data(&mut file_header(0), format!("f{i}"), io::empty())
                    .unwrap();
            }
        });
        let home = Home::new();
        let err = home.unpack(ArchiveKind::Tar, &many, &small()).unwrap_err();
        assert!(
            refusal(&err).contains("more than 10 entries (the entry-count cap)"),
            "{err}"
        );
        assert_eq!(home.listing(), Vec::<String>::new());
        // Within the caps, the same kinds unpack.
        let home = Home::new();
        home.unpack(ArchiveKind::TarXz, &xz(&many[..]), &Limits::default())
            .unwrap();
    }

    /// A GNU sparse member of `real` bytes holding 4 data bytes: the stream is tiny, the file
    /// is not (the tar crate fills the holes with zeros as it reads).
    fn sparse(real: u64) -> Vec<u8> {
        let octal = |v: u64| -> [u8; 12] { format!("{v:011o}\0").as_bytes().try_into().unwrap() };
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::GNUSparse);
        h.set_mode(0o644);
        h.set_size(4);
        h.set_path("sparse").unwrap();
        let gnu = h.as_gnu_mut().unwrap();
        gnu.sparse[0].offset = octal(real - 4);
        gnu.sparse[0].numbytes = octal(4);
        gnu.realsize = octal(real);
        h.set_cksum();
        let mut out = h.as_bytes().to_vec();
        out.extend_from_slice(b"data");
        out.extend_from_slice(&[0; 508 + 1024]);
        out
    }

    #[test]
    fn sparse_members_and_hard_link_copies_count_against_the_caps() {
        let home = Home::new();
        home.unpack(ArchiveKind::Tar, &sparse(16 << 10), &small())
            .unwrap();
        let unpacked = fs::read(home.tmp.path().join("art/dest/sparse")).unwrap();
        assert_eq!(unpacked.len(), 16 << 10);
        assert!(unpacked.ends_with(b"data"));

        // 2 MiB of holes in a 2.5 KiB tar: past the ratio cap, though the stream is not.
        let home = Home::new();
        let err = home
            .unpack(ArchiveKind::Tar, &sparse(2 << 20), &small())
            .unwrap_err();
        assert!(
            refusal(&err).contains("it unpacks to more than the expansion-ratio cap"),
            "{err}"
        );
        assert_eq!(home.listing(), Vec::<String>::new());

        // Each hard link is a copy: 9 copies of 200 KiB from a 200 KiB stream.
        let body = vec![7u8; 200 << 10];
        let bytes = tar_with(|b| {
            b.append_data(&mut file_header(body.len() as u64), "f", &body[..])
                .unwrap();
            for i in 0..8 {
                link(b, tar::EntryType::Link, &format!("l{i}"), "f");
            }
        });
        let home = Home::new();
        let err = home.unpack(ArchiveKind::Tar, &bytes, &small()).unwrap_err();
        assert!(
            refusal(&err).contains("total-size cap of 1048576 bytes"),
            "{err}"
        );
        assert_eq!(home.listing(), Vec::<String>::new());
        home.assert_outside_untouched();
    }

    #[test]
    fn zip_entry_count_is_refused_from_the_central_directory() {
        let names: Vec<String> = (0..11).map(|i| format!("f{i}")).collect();
        let members: Vec<(&str, &[u8], Option<u32>)> =
            names.iter().map(|n| (n.as_str(), &b""[..], None)).collect();
        let home = Home::new();
        let err = home
            .unpack(ArchiveKind::Zip, &zip_of(&members), &small())
            .unwrap_err();
        assert!(
            refusal(&err).contains("more than 10 entries (the entry-count cap)"),
            "{err}"
        );
        assert_eq!(home.listing(), Vec::<String>::new());
    }

    fn zip_of(members: &[(&str, &[u8], Option<u32>)]) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(io::Cursor::new(Vec::new()));
        for (name, body, mode) in members {
            let mut options = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated);
            if let Some(mode) = mode {
                options = options.unix_permissions(*mode);
            }
            w.start_file(*name, options).unwrap();
            w.write_all(body).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    #[test]
    fn zip_members_unpack_and_escapes_bombs_and_specials_are_refused() {
        let home = Home::new();
        let file = home.tmp.path().join("download");
        fs::write(&file, zip_of(&[("pkg/tool.exe", b"z", None)])).unwrap();
        let art = home.tmp.path().join("art");
        extract(
            ArchiveKind::Zip,
            &file,
            &art.join("ok"),
            1,
            &art.join(".u"),
            "z",
        )
        .unwrap();
        assert_eq!(fs::read(art.join("ok/tool.exe")).unwrap(), b"z");

        let home = Home::new();
        let err = home
            .unpack(
                ArchiveKind::Zip,
                &zip_of(&[("a", b"a", None), ("../../z", b"z", None)]),
                &Limits::default(),
            )
            .unwrap_err();
        assert!(matches!(err, Error::PathEscape { .. }), "{err}");
        assert_eq!(home.listing(), Vec::<String>::new());
        home.assert_outside_untouched();

        let zeros = vec![0u8; 512 << 10];
        let home = Home::new();
        let err = home
            .unpack(
                ArchiveKind::Zip,
                &zip_of(&[("zeros", &zeros, None)]),
                &small(),
            )
            .unwrap_err();
        assert!(refusal(&err).contains("expansion-ratio cap"), "{err}");
        assert_eq!(home.listing(), Vec::<String>::new());

        // The zip writer keeps only permission bits: set the fifo type in the central
        // directory's external attributes (offset 38 of the `PK\x01\x02` header) by hand.
        let mut fifo = zip_of(&[("p", b"", Some(0o644))]);
        let at = fifo.windows(4).position(|w| w == b"PK\x01\x02").unwrap() + 38;
        fifo[at..at + 4].copy_from_slice(&(0o010644u32 << 16).to_le_bytes());
        let home = Home::new();
        let err = home
            .unpack(ArchiveKind::Zip, &fifo, &Limits::default())
            .unwrap_err();
        assert!(refusal(&err).contains("`p` is a fifo"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn zip_symlinks_out_are_refused() {
        let mut w = zip::ZipWriter::new(io::Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default();
        w.add_symlink("sub/a", "..", options).unwrap();
        w.add_symlink("e", "sub/a/..", options).unwrap();
        let bytes = w.finish().unwrap().into_inner();
        let home = Home::new();
        let err = home
            .unpack(ArchiveKind::Zip, &bytes, &Limits::default())
            .unwrap_err();
        assert!(matches!(err, Error::PathEscape { .. }), "{err}");
        assert_eq!(home.listing(), Vec::<String>::new());
    }
}
