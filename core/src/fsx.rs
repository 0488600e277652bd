//! File helpers: crash-safe writes (temp file in the same directory, fsync, rename, fsync the
//! directory; on Windows a replace that waits out other programs' open handles), owner-only
//! files (modes on Unix, an ACL on Windows), writes inside a root that never go through a link,
//! and reads of files that may not exist.

use std::fs;
use std::io::{self, Write};
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

/// Name prefix of the temp files [`write_atomic`] creates beside its target.
pub const TEMP_PREFIX: &str = ".codexport-tmp-";

/// File mode for secrets (`auth.json`, manifests with env values, identities).
pub const SECRET_MODE: u32 = 0o600;

/// How long a replace on Windows keeps retrying while another program holds the target open
/// without delete sharing (Codex or an editor reading `config.toml`, an antivirus scan, the
/// search indexer): such handles are short-lived, a stuck one must not hang a sync.
pub const REPLACE_RETRY_FOR: Duration = Duration::from_secs(3);

/// Whether `mode` keeps a file to its owner (no group or other bits). On Windows, where modes
/// do not apply, such files are created with an ACL that lets only the current user in.
pub fn is_owner_only(mode: u32) -> bool {
    mode & 0o077 == 0
}

/// Writes `bytes` to `path` atomically: readers see the old file or the new one, never a part.
///
/// `mode` is applied to the temp file before any byte is written, so a secret is never
/// readable by others even for an instant; on Windows an owner-only `mode` (see
/// [`is_owner_only`]) creates the temp file with an owner-only ACL instead, and other modes
/// leave the folder's inherited ACL. Missing parent directories are created.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: Option<u32>) -> io::Result<()> {
    let parent = parent_dir(path);
    fs::create_dir_all(parent)?;
    let mut tmp = temp_file_in(parent, TEMP_PREFIX, mode.is_some_and(is_owner_only))?;
    #[cfg(unix)]
    if let Some(mode) = mode {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(fs::Permissions::from_mode(mode))?;
    }
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    persist(tmp, path)?;
    sync_dir(parent)
}

/// A new temp file in `dir` whose name starts with `prefix`, for a write that [`persist`]
/// finishes. Unix: mode 0600 (callers set another before writing). Windows: `owner_only`
/// creates it with an ACL that lets only the current user in, else it inherits the folder's.
pub fn temp_file_in(
    dir: &Path,
    prefix: &str,
    owner_only: bool,
) -> io::Result<tempfile::NamedTempFile> {
    #[cfg(windows)]
    if owner_only {
        let private = windows::OwnerOnly::for_files()?;
        return tempfile::Builder::new()
            .prefix(prefix)
            .make_in(dir, |path| private.create_new(path));
    }
    #[cfg(not(windows))]
    let _ = owner_only;
    tempfile::Builder::new().prefix(prefix).tempfile_in(dir)
}

/// Moves a finished temp file over `path`, which readers then see whole, old or new. Unix: one
/// `rename`. Windows: `MoveFileExW` with `MOVEFILE_REPLACE_EXISTING` (long paths in verbatim
/// form), retried for up to [`REPLACE_RETRY_FOR`] while another program holds `path` open
/// without delete sharing (a sharing or access error); the temp file is removed if it fails.
pub fn persist(tmp: tempfile::NamedTempFile, path: &Path) -> io::Result<()> {
    #[cfg(windows)]
    {
        let (file, mut temp_path) = tmp.into_parts();
        drop(file);
        windows::replace(&temp_path, path)?;
        temp_path.disable_cleanup(true);
        Ok(())
    }
    #[cfg(not(windows))]
    {
        tmp.persist(path).map(drop).map_err(|e| e.error)
    }
}

/// Copies the file `from` to `to` for keeping (backups). Unix: `fs::copy`, which keeps the
/// mode (a backed-up secret stays 0600). Windows: a copy would take its folder's ACL, not its
/// source's, so the bytes go through an owner-only temp file (see [`temp_file_in`]) that is
/// then moved to `to`: every backup is readable by its owner only.
pub fn copy_private(from: &Path, to: &Path) -> io::Result<()> {
    #[cfg(windows)]
    {
        let mut source = fs::File::open(from)?;
        let mut tmp = temp_file_in(parent_dir(to), TEMP_PREFIX, true)?;
        io::copy(&mut source, &mut tmp)?;
        persist(tmp, to)
    }
    #[cfg(not(windows))]
    {
        fs::copy(from, to).map(drop)
    }
}

/// Removes the file `path`; on Windows retried like [`persist`] while another program holds
/// it open without delete sharing.
pub fn remove_file(path: &Path) -> io::Result<()> {
    #[cfg(windows)]
    {
        windows::retry_while_held(path, || fs::remove_file(path))
    }
    #[cfg(not(windows))]
    {
        fs::remove_file(path)
    }
}

/// Writes a secret file (mode 0600) atomically.
pub fn write_secret(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_atomic(path, bytes, Some(SECRET_MODE))
}

/// Flushes a directory's entries so a rename inside it survives a crash (no-op on Windows).
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        fs::File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

/// The permission bits of a file (0o644 on platforms without them).
pub fn mode_of(meta: &fs::Metadata) -> u32 {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        meta.permissions().mode() & 0o7777
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        0o644
    }
}

/// The widest mode a synced file gets: no group or other write, no setuid, setgid or sticky
/// bit, whatever the master sent.
pub const MAX_SYNCED_MODE: u32 = 0o755;

/// The mode a follower writes a synced file with: the master's bits masked to
/// [`MAX_SYNCED_MODE`], always readable and writable by its owner.
pub fn synced_mode(sent: u32) -> u32 {
    (sent & MAX_SYNCED_MODE) | 0o600
}

/// The first folder between `root` and `rel` (both excluded) that exists and is a symlink:
/// a write of `rel` inside `root` would go through it. Missing folders end the search (they
/// are created as real folders).
pub fn link_in_the_way(root: &Path, rel: &Path) -> Option<PathBuf> {
    let mut at = root.to_path_buf();
    let mut parts: Vec<_> = rel.components().collect();
    parts.pop();
    for part in parts {
        at.push(part);
        match fs::symlink_metadata(&at) {
            Ok(meta) if meta.file_type().is_symlink() => return Some(at),
            Ok(meta) if meta.is_dir() => {}
            _ => return None,
        }
    }
    None
}

/// Writes `bytes` to `rel` inside `root` like [`write_atomic`], except that no folder below
/// `root` is ever followed if it is a symlink, so nothing is written outside `root` (or
/// anywhere a link in it points). Missing folders are created (0755 at most). On Unix every
/// step is an `openat` relative to the folder opened before it with `O_NOFOLLOW`, so a link
/// swapped in while the write runs is refused too; `root` itself may be a link.
pub fn write_beneath(root: &Path, rel: &Path, bytes: &[u8], mode: Option<u32>) -> io::Result<()> {
    beneath::write(root, rel, bytes, mode.unwrap_or(SECRET_MODE))
}

/// Makes `rel` inside `root` a symlink to `target` (replacing a file or link there, never a
/// folder), with the same no-follow walk as [`write_beneath`]. On platforms without symlinks
/// the target text is written as a file.
pub fn symlink_beneath(root: &Path, rel: &Path, target: &str) -> io::Result<()> {
    beneath::symlink(root, rel, target)
}

/// The `Normal` components of a root-relative path; anything else is refused.
fn rel_parts(rel: &Path) -> io::Result<Vec<&std::ffi::OsStr>> {
    rel.components()
        .map(|c| match c {
            Component::Normal(s) => Ok(s),
            _ => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("`{}` is not a plain relative path", rel.display()),
            )),
        })
        .collect::<io::Result<Vec<_>>>()
        .and_then(|parts| {
            if parts.is_empty() {
                Err(io::Error::new(io::ErrorKind::InvalidInput, "empty path"))
            } else {
                Ok(parts)
            }
        })
}

/// The refusal of a write through `link`.
fn through_link(link: &Path) -> io::Error {
    io::Error::other(format!(
        "`{}` is a symlink, and codexport never writes through a link",
        link.display()
    ))
}

#[cfg(unix)]
fn temp_name() -> String {
    format!("{TEMP_PREFIX}{:016x}", rand::random::<u64>())
}

#[cfg(unix)]
mod beneath {
    use std::ffi::OsStr;
    use std::io::{self, Write};
    use std::os::fd::OwnedFd;
    use std::path::{Path, PathBuf};

    use rustix::fs::{self as rfs, AtFlags, Mode, OFlags};
    use rustix::io::Errno;

    use super::{rel_parts, temp_name, through_link};

    const DIR: OFlags = OFlags::DIRECTORY
        .union(OFlags::NOFOLLOW)
        .union(OFlags::RDONLY)
        .union(OFlags::CLOEXEC);

    /// The folder `parts` names below `root`, opened without following any link below
    /// `root`; missing folders are created when `create`, else `Ok(None)`.
    fn open_dir(root: &Path, parts: &[&OsStr], create: bool) -> io::Result<Option<OwnedFd>> {
        if create {
            std::fs::create_dir_all(root)?;
        }
        let mut dir = match rfs::open(
            root,
            OFlags::DIRECTORY | OFlags::RDONLY | OFlags::CLOEXEC,
            Mode::empty(),
        ) {
            Ok(fd) => fd,
            Err(Errno::NOENT) if !create => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let mut at = root.to_path_buf();
        for part in parts {
            at.push(part);
            dir = match rfs::openat(&dir, *part, DIR, Mode::empty()) {
                Ok(fd) => fd,
                Err(Errno::NOENT) if create => {
                    match rfs::mkdirat(&dir, *part, Mode::from_raw_mode(0o755)) {
                        Ok(()) | Err(Errno::EXIST) => {}
                        Err(e) => return Err(e.into()),
                    }
                    rfs::openat(&dir, *part, DIR, Mode::empty()).map_err(|e| refusal(&at, e))?
                }
                Err(Errno::NOENT) => return Ok(None),
                Err(e) => return Err(refusal(&at, e)),
            };
        }
        Ok(Some(dir))
    }

    /// What a failed no-follow open of the folder `at` means.
    fn refusal(at: &PathBuf, e: Errno) -> io::Error {
        if std::fs::symlink_metadata(at).is_ok_and(|m| m.file_type().is_symlink()) {
            return through_link(at);
        }
        e.into()
    }

    pub(super) fn write(root: &Path, rel: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
        let mut parts = rel_parts(rel)?;
        let name = parts.pop().expect("not empty");
        let dir = open_dir(root, &parts, true)?.expect("created");
        let tmp = temp_name();
        let fd = rfs::openat(
            &dir,
            tmp.as_str(),
            OFlags::CREATE | OFlags::EXCL | OFlags::WRONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o600),
        )?;
        let written = (|| {
            // Set before any byte is written (the umask never widens it, never narrows it).
            rfs::fchmod(&fd, Mode::from_raw_mode(mode))?;
            let mut file = std::fs::File::from(fd);
            file.write_all(bytes)?;
            file.sync_all()?;
            rfs::renameat(&dir, tmp.as_str(), &dir, name)?;
            Ok::<_, io::Error>(())
        })();
        if let Err(e) = written {
            let _ = rfs::unlinkat(&dir, tmp.as_str(), AtFlags::empty());
            return Err(e);
        }
        rfs::fsync(&dir).map_err(Into::into)
    }

    pub(super) fn symlink(root: &Path, rel: &Path, target: &str) -> io::Result<()> {
        let mut parts = rel_parts(rel)?;
        let name = parts.pop().expect("not empty");
        let dir = open_dir(root, &parts, true)?.expect("created");
        let tmp = temp_name();
        rfs::symlinkat(target, &dir, tmp.as_str())?;
        if let Err(e) = rfs::renameat(&dir, tmp.as_str(), &dir, name) {
            let _ = rfs::unlinkat(&dir, tmp.as_str(), AtFlags::empty());
            return Err(e.into());
        }
        rfs::fsync(&dir).map_err(Into::into)
    }
}

#[cfg(not(unix))]
mod beneath {
    //! Without `openat`: each folder is checked with `symlink_metadata` before the write.
    use std::io;
    use std::path::Path;

    use super::{link_in_the_way, rel_parts, through_link, write_atomic};

    pub(super) fn write(root: &Path, rel: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
        rel_parts(rel)?;
        if let Some(link) = link_in_the_way(root, rel) {
            return Err(through_link(&link));
        }
        write_atomic(&root.join(rel), bytes, Some(mode))
    }

    pub(super) fn symlink(root: &Path, rel: &Path, target: &str) -> io::Result<()> {
        write(root, rel, target.as_bytes(), 0o644)
    }
}

/// The Windows side: verbatim paths, the retried replace, owner-only ACLs.
#[cfg(windows)]
mod windows {
    use std::ffi::c_void;
    use std::fs::File;
    use std::io;
    use std::os::windows::ffi::OsStrExt;
    use std::os::windows::io::FromRawHandle;
    use std::path::Path;
    use std::time::{Duration, Instant};

    use windows_sys::Win32::Foundation::{
        CloseHandle, ERROR_ACCESS_DENIED, ERROR_LOCK_VIOLATION, ERROR_SHARING_VIOLATION, HANDLE,
        INVALID_HANDLE_VALUE,
    };
    use windows_sys::Win32::Security::{
        ACL, ACL_REVISION, AddAccessAllowedAceEx, GetLengthSid, GetTokenInformation, InitializeAcl,
        InitializeSecurityDescriptor, SE_DACL_PROTECTED, SECURITY_ATTRIBUTES, SECURITY_DESCRIPTOR,
        SetSecurityDescriptorControl, SetSecurityDescriptorDacl, TOKEN_QUERY, TOKEN_USER,
        TokenUser,
    };
    use windows_sys::Win32::Storage::FileSystem::{
        CREATE_NEW, CreateFileW, DELETE, FILE_ALL_ACCESS, FILE_ATTRIBUTE_NORMAL, FILE_GENERIC_READ,
        FILE_GENERIC_WRITE, FILE_SHARE_DELETE, FILE_SHARE_READ, FILE_SHARE_WRITE,
        MOVEFILE_REPLACE_EXISTING, MOVEFILE_WRITE_THROUGH, MoveFileExW, SetFileAttributesW,
    };
    use windows_sys::Win32::System::Threading::{GetCurrentProcess, OpenProcessToken};

    use super::REPLACE_RETRY_FOR;

    /// `path` made absolute (separators and `.`/`..` normalised by `GetFullPathNameW`) in
    /// verbatim form (`\\?\C:\...`, `\\?\UNC\server\share\...`), NUL-terminated: calls
    /// that std does not wrap then take paths longer than `MAX_PATH` too.
    pub(super) fn wide_verbatim(path: &Path) -> io::Result<Vec<u16>> {
        let abs = std::path::absolute(path)?;
        let text: Vec<u16> = abs.as_os_str().encode_wide().collect();
        let wide = |s: &str| s.encode_utf16().collect::<Vec<u16>>();
        let mut out = if text.starts_with(&wide(r"\\?\")) || text.starts_with(&wide(r"\\.\")) {
            text
        } else if let Some(rest) = text.strip_prefix(wide(r"\\").as_slice()) {
            [wide(r"\\?\UNC\").as_slice(), rest].concat()
        } else {
            [wide(r"\\?\").as_slice(), &text].concat()
        };
        out.push(0);
        Ok(out)
    }

    /// Whether `e` says another handle is in the way (sharing, a byte-range lock, or the
    /// access error `MoveFileExW` gives for a target open without `FILE_SHARE_DELETE`).
    pub(super) fn is_held(e: &io::Error) -> bool {
        e.raw_os_error().is_some_and(|code| {
            [
                ERROR_SHARING_VIOLATION,
                ERROR_LOCK_VIOLATION,
                ERROR_ACCESS_DENIED,
            ]
            .contains(&(code as u32))
        })
    }

    /// Runs `op` until it succeeds, fails for another reason, or [`REPLACE_RETRY_FOR`] passed;
    /// the last error then names `path` as held open by another program.
    pub(super) fn retry_while_held(
        path: &Path,
        mut op: impl FnMut() -> io::Result<()>,
    ) -> io::Result<()> {
        let start = Instant::now();
        let mut pause = Duration::from_millis(2);
        loop {
            match op() {
                Ok(()) => return Ok(()),
                Err(e) if is_held(&e) && start.elapsed() < REPLACE_RETRY_FOR => {
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(100));
                }
                Err(e) if is_held(&e) => {
                    return Err(io::Error::new(
                        e.kind(),
                        format!(
                            "another program keeps `{}` open ({e}); still so after {} s",
                            path.display(),
                            REPLACE_RETRY_FOR.as_secs()
                        ),
                    ));
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Moves `from` over `to` (see [`super::persist`]).
    pub(super) fn replace(from: &Path, to: &Path) -> io::Result<()> {
        let from_w = wide_verbatim(from)?;
        let to_w = wide_verbatim(to)?;
        // tempfile marks its files temporary (kept in cache, not meant to last): not the target.
        // SAFETY: a NUL-terminated wide string that lives across the call.
        if unsafe { SetFileAttributesW(from_w.as_ptr(), FILE_ATTRIBUTE_NORMAL) } == 0 {
            return Err(io::Error::last_os_error());
        }
        retry_while_held(to, || move_over(&from_w, &to_w))
    }

    /// One `MoveFileExW` of `from` over `to`, no retry (tests show a holder is in the way).
    #[cfg(test)]
    pub(super) fn replace_once(from: &Path, to: &Path) -> io::Result<()> {
        move_over(&wide_verbatim(from)?, &wide_verbatim(to)?)
    }

    fn move_over(from: &[u16], to: &[u16]) -> io::Result<()> {
        // SAFETY: both are NUL-terminated wide strings (wide_verbatim) that outlive the call.
        let moved = unsafe {
            MoveFileExW(
                from.as_ptr(),
                to.as_ptr(),
                MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH,
            )
        };
        if moved == 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(())
        }
    }

    /// A security descriptor whose DACL has one entry, full access for the current user, and
    /// inherits nothing (protected): no other account, group, SYSTEM or Administrators entry.
    pub(super) struct OwnerOnly {
        // The buffers the descriptor points into (u64: aligned for the structures in them).
        _user: Vec<u64>,
        _acl: Vec<u64>,
        descriptor: Box<SECURITY_DESCRIPTOR>,
    }

    impl OwnerOnly {
        pub(super) fn for_files() -> io::Result<Self> {
            let check = |ok: i32| {
                if ok == 0 {
                    Err(io::Error::last_os_error())
                } else {
                    Ok(())
                }
            };
            let user = current_user()?;
            // SAFETY: `user` holds a TOKEN_USER that GetTokenInformation filled in.
            let sid = unsafe { (*user.as_ptr().cast::<TOKEN_USER>()).User.Sid };
            // SAFETY: a valid SID from the token.
            let sid_len = unsafe { GetLengthSid(sid) } as usize;
            let acl_len = (size_of::<ACL>() + size_of::<u32>() * 2 + sid_len + 7) & !7;
            let mut acl = vec![0u64; acl_len / 8];
            let acl_ptr = acl.as_mut_ptr().cast::<ACL>();
            // SAFETY: `acl` is `acl_len` bytes, aligned, and outlives the descriptor.
            check(unsafe { InitializeAcl(acl_ptr, acl_len as u32, ACL_REVISION) })?;
            // SAFETY: as above; `sid` is valid while `user` lives.
            check(unsafe {
                AddAccessAllowedAceEx(acl_ptr, ACL_REVISION, 0, FILE_ALL_ACCESS, sid)
            })?;
            let mut descriptor = Box::new(SECURITY_DESCRIPTOR::default());
            let sd = (&mut *descriptor as *mut SECURITY_DESCRIPTOR).cast::<c_void>();
            // SECURITY_DESCRIPTOR_REVISION (System::SystemServices, not a feature we need).
            const REVISION: u32 = 1;
            // SAFETY: `sd` points at a descriptor we own; the ACL outlives it (moved with it).
            unsafe {
                check(InitializeSecurityDescriptor(sd, REVISION))?;
                check(SetSecurityDescriptorDacl(sd, 1, acl_ptr, 0))?;
                check(SetSecurityDescriptorControl(
                    sd,
                    SE_DACL_PROTECTED,
                    SE_DACL_PROTECTED,
                ))?;
            }
            Ok(Self {
                _user: user,
                _acl: acl,
                descriptor,
            })
        }

        fn attributes(&self) -> SECURITY_ATTRIBUTES {
            SECURITY_ATTRIBUTES {
                nLength: size_of::<SECURITY_ATTRIBUTES>() as u32,
                lpSecurityDescriptor: (&*self.descriptor as *const SECURITY_DESCRIPTOR)
                    .cast_mut()
                    .cast(),
                bInheritHandle: 0,
            }
        }

        /// Creates the new file `path` (an error if it exists) with this descriptor, open for
        /// reading and writing with full sharing, like std's files.
        pub(super) fn create_new(&self, path: &Path) -> io::Result<File> {
            let wide = wide_verbatim(path)?;
            let attributes = self.attributes();
            // SAFETY: NUL-terminated path and attributes that live across the call.
            let handle = unsafe {
                CreateFileW(
                    wide.as_ptr(),
                    FILE_GENERIC_READ | FILE_GENERIC_WRITE | DELETE,
                    FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                    &attributes,
                    CREATE_NEW,
                    FILE_ATTRIBUTE_NORMAL,
                    std::ptr::null_mut(),
                )
            };
            if handle == INVALID_HANDLE_VALUE {
                return Err(io::Error::last_os_error());
            }
            // SAFETY: a handle we just opened and own.
            Ok(unsafe { File::from_raw_handle(handle) })
        }
    }

    /// The current process's TOKEN_USER (in u64s, aligned).
    pub(super) fn current_user() -> io::Result<Vec<u64>> {
        let mut token: HANDLE = std::ptr::null_mut();
        // SAFETY: the pseudo handle of this process and an out pointer.
        if unsafe { OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &mut token) } == 0 {
            return Err(io::Error::last_os_error());
        }
        let mut len = 0u32;
        // SAFETY: a size query (null buffer, length 0); it fails with the size needed.
        unsafe { GetTokenInformation(token, TokenUser, std::ptr::null_mut(), 0, &mut len) };
        let mut buffer = vec![0u64; (len as usize).div_ceil(8).max(1)];
        // SAFETY: `buffer` holds at least `len` bytes.
        let ok = unsafe {
            GetTokenInformation(token, TokenUser, buffer.as_mut_ptr().cast(), len, &mut len)
        };
        let error = io::Error::last_os_error();
        // SAFETY: the token handle we opened.
        unsafe { CloseHandle(token) };
        if ok == 0 {
            return Err(error);
        }
        Ok(buffer)
    }
}

/// Reads a file, mapping "not found" to `None`.
pub fn read_optional(path: &Path) -> crate::Result<Option<Vec<u8>>> {
    match fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(crate::Error::io("read", path, e)),
    }
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn replaces_content_and_creates_parents() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/c.txt");
        write_atomic(&path, b"one", None).unwrap();
        write_atomic(&path, b"two", None).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        let leftovers: Vec<_> = fs::read_dir(path.parent().unwrap()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temp file is left behind");
    }

    #[cfg(unix)]
    #[test]
    fn writes_beneath_a_root_never_go_through_a_link() {
        use std::os::unix::fs::symlink;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        let outside = dir.path().join("outside");
        fs::create_dir_all(root.join("skills")).unwrap();
        fs::create_dir_all(&outside).unwrap();
        symlink(&outside, root.join("skills/l")).unwrap();
        for rel in ["skills/l/p.md", "skills/l/new/p.md"] {
            let err = write_beneath(&root, Path::new(rel), b"x", Some(0o644)).unwrap_err();
            assert!(err.to_string().contains("is a symlink"), "{err}");
            let err = symlink_beneath(&root, Path::new(rel), "t").unwrap_err();
            assert!(err.to_string().contains("is a symlink"), "{err}");
        }
        assert_eq!(fs::read_dir(&outside).unwrap().count(), 0);
        assert_eq!(
            link_in_the_way(&root, Path::new("skills/l/a/b")),
            Some(root.join("skills/l"))
        );
        assert_eq!(link_in_the_way(&root, Path::new("skills/m/a")), None);

        // A link as the target itself is replaced, not written through.
        write_beneath(&root, Path::new("skills/l"), b"file", Some(0o777)).unwrap();
        assert_eq!(fs::read(root.join("skills/l")).unwrap(), b"file");
        assert_eq!(
            mode_of(&fs::metadata(root.join("skills/l")).unwrap()),
            0o777
        );
        symlink_beneath(&root, Path::new("a/b/link"), "../x").unwrap();
        assert_eq!(
            fs::read_link(root.join("a/b/link")).unwrap(),
            Path::new("../x")
        );
        assert_eq!(mode_of(&fs::metadata(root.join("a")).unwrap()) & 0o022, 0);
        let leftovers: Vec<_> = fs::read_dir(root.join("skills")).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temp file is left behind");
        assert_eq!(synced_mode(0o7777), 0o755);
        assert_eq!(synced_mode(0o444), 0o644);
    }

    /// A path longer than Windows' `MAX_PATH` (260) below `dir`, through folders whose names
    /// have spaces and non-ASCII letters, like the realistic master's skill `日本語 skill`.
    pub(crate) fn long_path_below(dir: &Path) -> PathBuf {
        let mut deep = dir.to_path_buf();
        while deep.to_string_lossy().chars().count() < 300 {
            deep.push("日本語 skill – ä ö ü folder");
        }
        deep
    }

    #[test]
    fn long_paths_and_names_with_spaces_and_non_ascii() {
        let dir = tempfile::tempdir().unwrap();
        let deep = long_path_below(dir.path());
        let file = deep.join("SKILL.md");
        write_atomic(&file, b"one", None).unwrap();
        write_atomic(&file, b"two", Some(SECRET_MODE)).unwrap();
        assert_eq!(fs::read(&file).unwrap(), b"two");
        let rel = file.strip_prefix(dir.path()).unwrap();
        write_beneath(dir.path(), rel, b"three", Some(0o644)).unwrap();
        assert_eq!(fs::read(&file).unwrap(), b"three");
        assert_eq!(
            fs::read_dir(&deep).unwrap().count(),
            1,
            "no temp file is left"
        );
        copy_private(&file, &deep.join("backup of SKILL.md")).unwrap();
        assert_eq!(fs::read(deep.join("backup of SKILL.md")).unwrap(), b"three");
        remove_file(&file).unwrap();
        assert_eq!(
            fs::read_dir(&deep).unwrap().count(),
            1,
            "no temp file is left"
        );
    }

    /// Where [`hold_open`] opens its file, and for how many milliseconds.
    #[cfg(windows)]
    const HOLD_PATH: &str = "CODEXPORT_TEST_HOLD_PATH";
    #[cfg(windows)]
    const HOLD_MS: &str = "CODEXPORT_TEST_HOLD_MS";

    /// Not a test: the child process of the replace tests, a program that reads a file the
    /// way many Windows programs do, without delete sharing, and holds it open.
    #[cfg(windows)]
    #[test]
    #[ignore = "the child process of the replace tests below, started by them"]
    fn hold_open() {
        use std::os::windows::fs::OpenOptionsExt;
        use windows_sys::Win32::Storage::FileSystem::FILE_SHARE_READ;
        let path = std::env::var_os(HOLD_PATH).expect("started by its parent test");
        let ms: u64 = std::env::var(HOLD_MS).unwrap().parse().unwrap();
        let file = fs::OpenOptions::new()
            .read(true)
            .share_mode(FILE_SHARE_READ)
            .open(&path)
            .unwrap();
        println!("open");
        std::thread::sleep(std::time::Duration::from_millis(ms));
        drop(file);
    }

    /// `path` held open by another process for `ms` milliseconds from now.
    #[cfg(windows)]
    fn held(path: &Path, ms: u64) -> crate::test_child::TestChild {
        let ms = ms.to_string();
        let mut holder = crate::test_child::spawn(
            "fsx::tests::hold_open",
            &[
                (HOLD_PATH, path.as_os_str()),
                (HOLD_MS, std::ffi::OsStr::new(&ms)),
            ],
        );
        holder.wait_for("open");
        holder
    }

    #[cfg(windows)]
    #[test]
    fn a_file_another_program_holds_open_is_replaced_once_it_lets_go() {
        use std::time::Instant;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        write_atomic(&path, b"old", None).unwrap();
        let _holder = held(&path, 1000);
        // The holder is really in the way: one bare MoveFileExW fails while it holds the file.
        let other = dir.path().join("other");
        fs::write(&other, b"x").unwrap();
        let err = windows::replace_once(&other, &path).unwrap_err();
        assert!(windows::is_held(&err), "{err}");
        let start = Instant::now();
        write_atomic(&path, b"new", None).unwrap();
        assert!(
            start.elapsed() >= std::time::Duration::from_millis(300),
            "the replace waited for the holder ({:?})",
            start.elapsed()
        );
        assert_eq!(fs::read(&path).unwrap(), b"new");
        // A delete waits for a holder the same way.
        let _holder = held(&path, 500);
        remove_file(&path).unwrap();
        assert!(!path.exists());
        let left: Vec<_> = fs::read_dir(dir.path()).unwrap().flatten().collect();
        assert_eq!(left.len(), 1, "only `other` is left: {left:?}");
    }

    #[cfg(windows)]
    #[test]
    fn a_replace_gives_up_on_a_holder_that_never_lets_go_and_keeps_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        write_atomic(&path, b"old", None).unwrap();
        let _holder = held(&path, 60_000);
        let err = write_atomic(&path, b"new", None).unwrap_err();
        assert!(err.to_string().contains("another program keeps"), "{err}");
        assert!(err.to_string().contains("config.toml"), "{err}");
        assert_eq!(fs::read(&path).unwrap(), b"old");
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temp file is left"
        );
    }

    /// The entries of the DACL of `path` (type, access mask, SID as text), and the current
    /// user's SID as text.
    #[cfg(windows)]
    fn dacl_of(path: &Path) -> (Vec<(u8, u32, String)>, String) {
        use windows_sys::Win32::Foundation::LocalFree;
        use windows_sys::Win32::Security::Authorization::{
            ConvertSidToStringSidW, GetNamedSecurityInfoW, SE_FILE_OBJECT,
        };
        use windows_sys::Win32::Security::{
            ACCESS_ALLOWED_ACE, ACE_HEADER, ACL, DACL_SECURITY_INFORMATION, GetAce, PSID,
            TOKEN_USER,
        };
        // SAFETY: a valid SID; the string it returns is read, then freed.
        let text = |sid: PSID| unsafe {
            let mut out: *mut u16 = std::ptr::null_mut();
            assert_ne!(ConvertSidToStringSidW(sid, &mut out), 0);
            let len = (0..).take_while(|&i| *out.add(i) != 0).count();
            let s = String::from_utf16_lossy(std::slice::from_raw_parts(out, len));
            LocalFree(out.cast());
            s
        };
        let wide = windows::wide_verbatim(path).unwrap();
        let user = windows::current_user().unwrap();
        // SAFETY: `user` holds a TOKEN_USER.
        let me = text(unsafe { (*user.as_ptr().cast::<TOKEN_USER>()).User.Sid });
        let mut dacl: *mut ACL = std::ptr::null_mut();
        let mut sd = std::ptr::null_mut();
        // SAFETY: out pointers that live across the calls; `sd` (which `dacl` points into) is
        // freed last.
        unsafe {
            let status = GetNamedSecurityInfoW(
                wide.as_ptr(),
                SE_FILE_OBJECT,
                DACL_SECURITY_INFORMATION,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                &mut dacl,
                std::ptr::null_mut(),
                &mut sd,
            );
            assert_eq!(status, 0, "GetNamedSecurityInfoW");
            let mut aces = Vec::new();
            for i in 0..u32::from((*dacl).AceCount) {
                let mut ace = std::ptr::null_mut();
                assert_ne!(GetAce(dacl, i, &mut ace), 0);
                let header = *ace.cast::<ACE_HEADER>();
                let allowed = ace.cast::<ACCESS_ALLOWED_ACE>();
                let sid = (&raw const (*allowed).SidStart).cast_mut().cast();
                aces.push((header.AceType, (*allowed).Mask, text(sid)));
            }
            LocalFree(sd);
            (aces, me)
        }
    }

    /// Windows writes a protected DACL with the one entry for the user. Wine keeps no DACL: it
    /// turns it into Unix mode bits and reads back an ACL made from them (full access for the
    /// user and SYSTEM, `S-1-5-18`, and read for Everyone, `S-1-1-0`, when others may read), so
    /// what both show is who is left out: every other account and group.
    #[cfg(windows)]
    #[test]
    fn secrets_and_backups_get_an_acl_that_leaves_everyone_else_out() {
        use windows_sys::Win32::Storage::FileSystem::FILE_ALL_ACCESS;
        const SYSTEM: &str = "S-1-5-18";
        let only_mine = |path: &Path| {
            let (aces, me) = dacl_of(path);
            assert!(
                aces.contains(&(0, FILE_ALL_ACCESS, me.clone())),
                "the user has full access to `{}`: {aces:?}",
                path.display()
            );
            assert!(
                aces.iter().all(|(_, _, sid)| *sid == me || sid == SYSTEM),
                "nobody else has an entry on `{}`: {aces:?}",
                path.display()
            );
        };
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("auth.json");
        write_secret(&secret, b"{}").unwrap();
        only_mine(&secret);
        // A replace writes a new file: owner-only too.
        write_secret(&secret, b"{\"k\":1}").unwrap();
        only_mine(&secret);
        // An ordinary file keeps what its folder hands down (others may read it).
        let plain = dir.path().join("AGENTS.md");
        write_atomic(&plain, b"be kind", Some(0o644)).unwrap();
        let (aces, me) = dacl_of(&plain);
        assert!(
            aces.iter().any(|(_, _, sid)| *sid != me && sid != SYSTEM),
            "{aces:?}"
        );
        // A backup of it is owner-only, like every backup.
        let backup = dir.path().join("backups/1/AGENTS.md");
        fs::create_dir_all(backup.parent().unwrap()).unwrap();
        copy_private(&plain, &backup).unwrap();
        assert_eq!(fs::read(&backup).unwrap(), b"be kind");
        only_mine(&backup);
    }

    #[cfg(unix)]
    #[test]
    fn secrets_are_0600() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json");
        write_secret(&path, b"{}").unwrap();
        assert_eq!(mode_of(&fs::metadata(&path).unwrap()), 0o600);
    }
}
