//! Hostile archives for the end-to-end tests, in tar, tar.gz, tar.xz and zip: bombs built
//! streaming (the unpacked bytes never exist on disk or in memory, only the compressed ones),
//! entry floods, chained links, devices and fifos, setuid members.

use std::io::{self, Read, Write};

/// An archive format a release asset may come in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `.tar`
    Tar,
    /// `.tar.gz`
    TarGz,
    /// `.tar.xz`
    TarXz,
    /// `.zip`
    Zip,
}

impl Format {
    /// Every format.
    pub const ALL: [Format; 4] = [Format::Tar, Format::TarGz, Format::TarXz, Format::Zip];

    /// The file-name extension that makes codexport unpack an asset as this format.
    pub fn ext(self) -> &'static str {
        match self {
            Format::Tar => "tar",
            Format::TarGz => "tar.gz",
            Format::TarXz => "tar.xz",
            Format::Zip => "zip",
        }
    }

    /// A name for this format in entry and snapshot names (`tar_gz`).
    pub fn slug(self) -> &'static str {
        match self {
            Format::Tar => "tar",
            Format::TarGz => "tar_gz",
            Format::TarXz => "tar_xz",
            Format::Zip => "zip",
        }
    }
}

/// One member of a hostile archive.
#[derive(Debug, Clone)]
pub enum Member {
    /// A regular file with `mode` (setuid bits kept as given).
    File {
        /// Member path.
        path: String,
        /// Mode bits, setuid/setgid included.
        mode: u32,
        /// Its bytes.
        body: Vec<u8>,
    },
    /// `size` zero bytes, streamed through the compressor (a bomb).
    Zeros {
        /// Member path.
        path: String,
        /// Bytes before compression.
        size: u64,
    },
    /// A GNU sparse file of `size` bytes holding 4 data bytes (tar only: a bomb with no
    /// compression at all).
    Sparse {
        /// Member path.
        path: String,
        /// Its size once unpacked.
        size: u64,
    },
    /// The same directory `count` times (zip: `count` distinct directories).
    Dirs {
        /// Member path of the directory.
        path: String,
        /// How many entries.
        count: u64,
    },
    /// A symlink.
    Symlink {
        /// Member path.
        path: String,
        /// Its target, as written.
        target: String,
    },
    /// A tar hard link (to another member's path).
    HardLink {
        /// Member path.
        path: String,
        /// The member it links to.
        target: String,
    },
    /// A special file: `mode` carries its type (`0o020000` char device, `0o060000` block
    /// device, `0o010000` fifo).
    Special {
        /// Member path.
        path: String,
        /// File type and permission bits.
        mode: u32,
    },
}

/// Shorthand for [`Member::File`].
pub fn file(path: &str, mode: u32, body: &[u8]) -> Member {
    Member::File {
        path: path.into(),
        mode,
        body: body.to_vec(),
    }
}

/// Shorthand for [`Member::Symlink`].
pub fn symlink(path: &str, target: &str) -> Member {
    Member::Symlink {
        path: path.into(),
        target: target.into(),
    }
}

/// `members` as an archive of `format`, built streaming.
pub fn build(format: Format, members: &[Member]) -> Vec<u8> {
    match format {
        Format::Tar => tar_into(Vec::new(), members),
        Format::TarGz => tar_into(
            flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast()),
            members,
        )
        .finish()
        .unwrap(),
        Format::TarXz => tar_into(xz2::write::XzEncoder::new(Vec::new(), 1), members)
            .finish()
            .unwrap(),
        Format::Zip => zip(members),
    }
}

fn header(kind: tar::EntryType, size: u64, mode: u32) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_size(size);
    h.set_mode(mode);
    h.set_mtime(0);
    h
}

/// Writes a header with `name` as is (the tar crate's checked setters refuse `..`).
fn raw_name(h: &mut tar::Header, name: &str) {
    let field = &mut h.as_gnu_mut().unwrap().name;
    field.fill(0);
    field[..name.len()].copy_from_slice(name.as_bytes());
    h.set_cksum();
}

fn tar_into<W: Write>(out: W, members: &[Member]) -> W {
    let mut b = tar::Builder::new(out);
    for member in members {
        match member {
            Member::File { path, mode, body } => {
                let mut h = header(tar::EntryType::Regular, body.len() as u64, *mode);
                raw_name(&mut h, path);
                b.append(&h, &body[..]).unwrap();
            }
            Member::Zeros { path, size } => {
                let mut h = header(tar::EntryType::Regular, *size, 0o644);
                raw_name(&mut h, path);
                b.append(&h, io::repeat(0).take(*size)).unwrap();
            }
            Member::Sparse { path, size } => {
                let octal =
                    |v: u64| -> [u8; 12] { format!("{v:011o}\0").as_bytes().try_into().unwrap() };
                let mut h = header(tar::EntryType::GNUSparse, 4, 0o644);
                let gnu = h.as_gnu_mut().unwrap();
                gnu.sparse[0].offset = octal(size - 4);
                gnu.sparse[0].numbytes = octal(4);
                gnu.realsize = octal(*size);
                raw_name(&mut h, path);
                b.append(&h, &b"data"[..]).unwrap();
            }
            Member::Dirs { path, count } => {
                let mut h = header(tar::EntryType::Directory, 0, 0o755);
                raw_name(&mut h, path);
                for _ in 0..*count {
                    b.append(&h, io::empty()).unwrap();
                }
            }
            Member::Symlink { path, target } | Member::HardLink { path, target } => {
                let kind = if matches!(member, Member::Symlink { .. }) {
                    tar::EntryType::Symlink
                } else {
                    tar::EntryType::Link
                };
                let mut h = header(kind, 0, 0o777);
                let gnu = h.as_gnu_mut().unwrap();
                gnu.linkname[..target.len()].copy_from_slice(target.as_bytes());
                raw_name(&mut h, path);
                b.append(&h, io::empty()).unwrap();
            }
            Member::Special { path, mode } => {
                let kind = match mode & 0o170000 {
                    0o020000 => tar::EntryType::Char,
                    0o060000 => tar::EntryType::Block,
                    _ => tar::EntryType::Fifo,
                };
                let mut h = header(kind, 0, mode & 0o7777);
                raw_name(&mut h, path);
                b.append(&h, io::empty()).unwrap();
            }
        }
    }
    b.into_inner().unwrap()
}

/// A zip of `members`; a mode the zip writer would mask (setuid, a file type) is written
/// into the member's central-directory entry by hand.
fn zip(members: &[Member]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(io::Cursor::new(Vec::new()));
    let deflated = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    let mut raw_modes: Vec<(String, u32)> = Vec::new();
    for member in members {
        match member {
            Member::File { path, mode, body } => {
                w.start_file(path.as_str(), deflated.unix_permissions(mode & 0o777))
                    .unwrap();
                w.write_all(body).unwrap();
                if mode & 0o7000 != 0 {
                    raw_modes.push((path.clone(), 0o100000 | mode));
                }
            }
            Member::Zeros { path, size } => {
                w.start_file(path.as_str(), deflated.large_file(*size >= u32::MAX as u64))
                    .unwrap();
                io::copy(&mut io::repeat(0).take(*size), &mut w).unwrap();
            }
            Member::Dirs { path, count } => {
                let stored = zip::write::SimpleFileOptions::default();
                for i in 0..*count {
                    w.add_directory(format!("{}/{i}/", path.trim_end_matches('/')), stored)
                        .unwrap();
                }
            }
            Member::Symlink { path, target } => {
                w.add_symlink(path.as_str(), target.as_str(), deflated)
                    .unwrap();
            }
            Member::Special { path, mode } => {
                w.start_file(path.as_str(), deflated.unix_permissions(0o644))
                    .unwrap();
                raw_modes.push((path.clone(), *mode));
            }
            Member::Sparse { .. } | Member::HardLink { .. } => {
                panic!("zip has no sparse files or hard links")
            }
        }
    }
    let mut bytes = w.finish().unwrap().into_inner();
    for (name, mode) in raw_modes {
        set_zip_mode(&mut bytes, &name, mode);
    }
    bytes
}

/// Sets the external attributes (offset 38 of a `PK\x01\x02` header, the file name at 46)
/// of member `name` to the unix `mode`.
fn set_zip_mode(bytes: &mut [u8], name: &str, mode: u32) {
    let mut at = 0;
    while let Some(found) = bytes[at..].windows(4).position(|w| w == b"PK\x01\x02") {
        let start = at + found;
        let len = u16::from_le_bytes([bytes[start + 28], bytes[start + 29]]) as usize;
        if &bytes[start + 46..start + 46 + len] == name.as_bytes() {
            bytes[start + 38..start + 42].copy_from_slice(&(mode << 16).to_le_bytes());
            return;
        }
        at = start + 4;
    }
    panic!("no central-directory entry for `{name}`");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bomb_is_small_and_a_flood_is_many_entries() {
        let bomb = build(
            Format::TarGz,
            &[Member::Zeros {
                path: "zeros".into(),
                size: 8 << 20,
            }],
        );
        assert!(bomb.len() < 64 << 10, "{} bytes", bomb.len());
        let flood = build(
            Format::Tar,
            &[Member::Dirs {
                path: "d/".into(),
                count: 10,
            }],
        );
        let mut archive = tar::Archive::new(&flood[..]);
        assert_eq!(archive.entries().unwrap().count(), 10);
        let zip = build(Format::Zip, &[file("suid", 0o4755, b"x")]);
        let archive = zip::ZipArchive::new(io::Cursor::new(zip)).unwrap();
        assert_eq!(archive.name_for_index(0), Some("suid"));
    }
}
