//! The content-addressed object store: `objects/ab/cdef...` named by the SHA-256 of the bytes.

use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::fsx;

/// A store rooted at a directory (`~/.codexport/objects`).
#[derive(Debug, Clone)]
pub struct ObjectStore {
    root: PathBuf,
}

/// A hash that is not 64 lowercase hex digits (never used as a path).
#[derive(Debug, thiserror::Error)]
#[error("`{0}` is not a SHA-256 object name (64 lowercase hex digits)")]
pub struct BadObjectName(pub String);

/// Hashes bytes to lowercase hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Hashes a reader to lowercase hex SHA-256, returning the hash and the byte count.
pub fn sha256_reader(mut reader: impl Read) -> io::Result<(String, u64)> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0u64;
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        total += n as u64;
    }
    Ok((hex::encode(hasher.finalize()), total))
}

/// Whether `name` is a well-formed object name.
pub fn is_object_name(name: &str) -> bool {
    name.len() == 64 && name.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

impl ObjectStore {
    /// A store at `root` (created on first write).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The store's directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where object `hash` lives (whether or not it exists).
    pub fn path(&self, hash: &str) -> Result<PathBuf, BadObjectName> {
        if !is_object_name(hash) {
            return Err(BadObjectName(hash.to_owned()));
        }
        Ok(self.root.join(&hash[..2]).join(&hash[2..]))
    }

    /// Whether object `hash` is present.
    pub fn contains(&self, hash: &str) -> bool {
        self.path(hash).map(|p| p.is_file()).unwrap_or(false)
    }

    /// Stores bytes, returning their hash. Existing objects are not rewritten.
    pub fn put(&self, bytes: &[u8]) -> io::Result<String> {
        let hash = sha256_hex(bytes);
        let path = self.path(&hash).expect("sha256_hex yields a valid name");
        if !path.is_file() {
            fsx::write_atomic(&path, bytes, Some(0o600))?;
        }
        Ok(hash)
    }

    /// Starts receiving object `expected`: its bytes go to a temp file in the store as they
    /// arrive (never all in memory), and [`Incoming::finish`] keeps them only if they hash to
    /// `expected`.
    pub fn incoming(&self, expected: &str) -> io::Result<Incoming> {
        let path = self
            .path(expected)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let parent = path.parent().expect("object paths have a parent");
        fs::create_dir_all(parent)?;
        // Objects may hold secrets: owner-only from the start (0600, or an ACL on Windows).
        let tmp = fsx::temp_file_in(parent, ".incoming-", true)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            tmp.as_file()
                .set_permissions(fs::Permissions::from_mode(0o600))?;
        }
        Ok(Incoming {
            expected: expected.to_owned(),
            path,
            tmp: io::BufWriter::with_capacity(64 * 1024, tmp),
            hasher: Sha256::new(),
        })
    }

    /// Removes an object (one found corrupt, so it is fetched again).
    pub fn remove(&self, hash: &str) {
        if let Ok(path) = self.path(hash) {
            let _ = fs::remove_file(path);
        }
    }

    /// Copies a file into the store, streaming, and returns (hash, size).
    pub fn put_file(&self, source: &Path) -> io::Result<(String, u64)> {
        fs::create_dir_all(&self.root)?;
        let mut tmp = fsx::temp_file_in(&self.root, ".incoming-", true)?;
        let mut hasher = Sha256::new();
        let mut file = fs::File::open(source)?;
        let mut buf = vec![0u8; 64 * 1024];
        let mut size = 0u64;
        loop {
            let n = file.read(&mut buf)?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            tmp.write_all(&buf[..n])?;
            size += n as u64;
        }
        let hash = hex::encode(hasher.finalize());
        let path = self.path(&hash).expect("valid hash");
        if !path.is_file() {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                tmp.as_file()
                    .set_permissions(fs::Permissions::from_mode(0o600))?;
            }
            tmp.as_file().sync_all()?;
            fs::create_dir_all(path.parent().expect("object paths have a parent"))?;
            fsx::persist(tmp, &path)?;
        }
        Ok((hash, size))
    }

    /// Reads an object's bytes.
    pub fn read(&self, hash: &str) -> io::Result<Vec<u8>> {
        let path = self
            .path(hash)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        fs::read(path)
    }
}

/// An object being received (from [`ObjectStore::incoming`]); dropped unfinished, its temp
/// file is removed.
pub struct Incoming {
    expected: String,
    path: PathBuf,
    tmp: io::BufWriter<tempfile::NamedTempFile>,
    hasher: Sha256,
}

impl Incoming {
    /// Appends the next bytes.
    pub fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.hasher.update(bytes);
        self.tmp.write_all(bytes)
    }

    /// Keeps the object if its bytes hash to the expected name; on mismatch nothing is stored.
    ///
    /// Written atomically but not fsynced: a follower fetches thousands of objects at once,
    /// and an object torn by a crash is caught when apply hashes it again before use (apply
    /// then removes it, so the next sync fetches it anew).
    pub fn finish(self) -> Result<(), PutError> {
        let actual = hex::encode(self.hasher.finalize());
        if actual != self.expected {
            return Err(PutError::Mismatch {
                expected: self.expected,
                actual,
            });
        }
        let tmp = self
            .tmp
            .into_inner()
            .map_err(|e| PutError::Io(e.into_error()))?;
        if !self.path.is_file() {
            fsx::persist(tmp, &self.path).map_err(PutError::Io)?;
        }
        Ok(())
    }
}

/// Why a verified put failed.
#[derive(Debug, thiserror::Error)]
pub enum PutError {
    /// The bytes do not hash to the name they were sent under.
    #[error("object `{expected}` arrived with bytes that hash to `{actual}`")]
    Mismatch {
        /// The name it was sent under.
        expected: String,
        /// What the bytes hash to.
        actual: String,
    },
    /// The store could not be written.
    #[error(transparent)]
    Io(io::Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_read_and_verify() {
        let dir = tempfile::tempdir().unwrap();
        let store = ObjectStore::new(dir.path());
        let hash = store.put(b"hello").unwrap();
        assert_eq!(
            hash,
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        );
        assert!(store.contains(&hash));
        assert_eq!(store.read(&hash).unwrap(), b"hello");
        let other = dir.path().join("other");
        let theirs = ObjectStore::new(&other);
        let mut incoming = theirs.incoming(&hash).unwrap();
        incoming.write(b"hel").unwrap();
        incoming.write(b"lo").unwrap();
        incoming.finish().unwrap();
        assert_eq!(theirs.read(&hash).unwrap(), b"hello");
        let mut bad = theirs.incoming(&"0".repeat(64)).unwrap();
        bad.write(b"hello").unwrap();
        assert!(matches!(bad.finish(), Err(PutError::Mismatch { .. })));
        assert!(!theirs.contains(&"0".repeat(64)));
        let file = dir.path().join("f");
        fs::write(&file, b"hello").unwrap();
        assert_eq!(store.put_file(&file).unwrap(), (hash, 5));
    }

    #[test]
    fn a_store_below_a_long_path_with_non_ascii_names_works() {
        let dir = tempfile::tempdir().unwrap();
        let store =
            ObjectStore::new(crate::fsx::tests::long_path_below(dir.path()).join("objects"));
        let hash = store.put(b"hello").unwrap();
        assert_eq!(store.read(&hash).unwrap(), b"hello");
        let bye = sha256_hex(b"bye");
        let mut incoming = store.incoming(&bye).unwrap();
        incoming.write(b"bye").unwrap();
        incoming.finish().unwrap();
        assert!(store.contains(&bye));
        let file = store.root().join("日本語 source.txt");
        fs::write(&file, b"source").unwrap();
        let (put, size) = store.put_file(&file).unwrap();
        assert_eq!((store.read(&put).unwrap(), size), (b"source".to_vec(), 6));
    }

    #[test]
    fn names_that_are_not_hashes_never_become_paths() {
        let store = ObjectStore::new("/tmp/x");
        for bad in ["../etc/passwd", "ABC", &"a".repeat(63), &"g".repeat(64)] {
            assert!(store.path(bad).is_err(), "{bad}");
        }
    }
}
