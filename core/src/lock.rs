//! The lock that serialises sync and apply (and anything else that mutates state): `flock` on
//! Unix, `LockFileEx` on Windows (std's `File::try_lock`/`lock`), both owned by the open file,
//! so a killed holder never leaves a stale lock behind (no PID files, nothing to clean up).

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A held advisory lock; released when dropped (or when the process dies).
#[derive(Debug)]
pub struct LockGuard {
    file: File,
    path: PathBuf,
}

/// How long a command run by hand waits for another sync or apply to finish before it gives up
/// (the SessionStart hook never waits: [`Wait::No`]).
pub const INTERACTIVE_WAIT: Wait = Wait::For(Duration::from_secs(60));

/// How to wait for a lock another process holds.
#[derive(Debug, Clone, Copy)]
pub enum Wait {
    /// Fail at once (the SessionStart hook: never block a session).
    No,
    /// Poll until the deadline passes.
    For(Duration),
    /// Block until it is free.
    Forever,
}

/// Why a lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process holds it.
    #[error("`{}` is held by another codexport process", .0.display())]
    Busy(PathBuf),
    /// The lock file could not be opened.
    #[error("cannot open lock file `{}`", .path.display())]
    Io {
        /// The lock file.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: io::Error,
    },
}

impl LockGuard {
    /// Takes the exclusive lock at `path`, creating the file (and its directory) if needed.
    pub fn acquire(path: &Path, wait: Wait) -> Result<Self, LockError> {
        let io_err = |source| LockError::Io {
            path: path.to_path_buf(),
            source,
        };
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(io_err)?;
        }
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(path)
            .map_err(io_err)?;
        let start = Instant::now();
        loop {
            match file.try_lock() {
                Ok(()) => {
                    return Ok(Self {
                        file,
                        path: path.to_path_buf(),
                    });
                }
                Err(fs::TryLockError::WouldBlock) => {}
                Err(fs::TryLockError::Error(e)) => return Err(io_err(e)),
            }
            match wait {
                Wait::No => return Err(LockError::Busy(path.to_path_buf())),
                Wait::For(limit) if start.elapsed() >= limit => {
                    return Err(LockError::Busy(path.to_path_buf()));
                }
                Wait::Forever => {
                    file.lock().map_err(io_err)?;
                    return Ok(Self {
                        file,
                        path: path.to_path_buf(),
                    });
                }
                Wait::For(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    }

    /// The lock file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        let _ = self.file.unlock();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_holder_is_refused_until_release() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lock");
        let first = LockGuard::acquire(&path, Wait::No).unwrap();
        assert!(matches!(
            LockGuard::acquire(&path, Wait::No),
            Err(LockError::Busy(_))
        ));
        assert!(matches!(
            LockGuard::acquire(&path, Wait::For(Duration::from_millis(60))),
            Err(LockError::Busy(_))
        ));
        drop(first);
        LockGuard::acquire(&path, Wait::No).unwrap();
    }

    /// Where [`hold_until_killed`] takes the lock.
    const HOLDER_LOCK: &str = "CODEXPORT_TEST_LOCK_HOLDER";

    /// Not a test: the child process of `a_lock_held_by_a_killed_process_is_free`.
    #[test]
    #[ignore = "the child process of a_lock_held_by_a_killed_process_is_free, started by it"]
    fn hold_until_killed() {
        let path = std::env::var_os(HOLDER_LOCK).expect("started by its parent test");
        let _guard = LockGuard::acquire(Path::new(&path), Wait::No).unwrap();
        println!("locked");
        std::thread::sleep(Duration::from_secs(120));
    }

    #[test]
    fn a_lock_held_by_a_killed_process_is_free() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lock");
        let mut holder = crate::test_child::spawn(
            "lock::tests::hold_until_killed",
            &[(HOLDER_LOCK, path.as_os_str())],
        );
        holder.wait_for("locked");
        assert!(matches!(
            LockGuard::acquire(&path, Wait::No),
            Err(LockError::Busy(_))
        ));
        // SIGKILL / TerminateProcess: the holder runs no destructor.
        holder.child.kill().unwrap();
        holder.child.wait().unwrap();
        // Windows drops a dead process's locks as its handles close, which may end a moment
        // after the process is reported dead: a short wait, never a stale lock.
        LockGuard::acquire(&path, Wait::For(Duration::from_secs(5))).unwrap();
    }
}
