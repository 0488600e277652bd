//! The fuzz targets: each takes one input (bytes), runs the code that meets hostile input of
//! that kind, and panics only on a bug (a panic inside, or a broken invariant checked here).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use codexport_core::Homes;
use codexport_core::follower::client::{Wanted, decode_all};
use codexport_core::follower::layer::diff::config_keys;
use codexport_core::follower::layer::rules::merge_rules;
use codexport_core::follower::layer::{ConfigInputs, generate, merge};
use codexport_core::identity::{MasterKey, Trust, fingerprint};
use codexport_core::link::{JoinLink, explicit_request, parse_host, parse_master_url};
use codexport_core::master::selection::{FileClass, Root};
use codexport_core::mcp::manifest::{
    Artifact, ArtifactSpec, MANIFEST_VERSION, MasterPaths, McpEntry, McpManifest, Origin, Transport,
};
use codexport_core::revision::{
    FileEntry, MasterInfo, PROTOCOL, Revision, SignedRevision, content_hash,
};
use codexport_core::settings::{LocalSettings, MasterSettings, TomlOwner, deserialize};
use codexport_resolvers::executor::{Limits, extract_with};
use codexport_resolvers::plan::ArchiveKind;

/// One fuzz target.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    /// Its name on the command line.
    pub name: &'static str,
    /// What it exercises.
    pub about: &'static str,
    /// Real, valid inputs the mutator starts from.
    pub seeds: fn() -> Vec<Vec<u8>>,
    /// Tokens the mutator inserts.
    pub dict: &'static [&'static [u8]],
    /// Runs one input.
    pub run: fn(&mut Workspace, &[u8]),
}

/// Every target, in the order `all` runs them.
pub const TARGETS: [Target; 8] = [
    Target {
        name: "link",
        about: "join links (JoinLink::parse, to_link round trip) and `--master URL` requests",
        seeds: link_seeds,
        dict: LINK_DICT,
        run: link,
    },
    Target {
        name: "revision",
        about: "signed revision envelopes and documents: parse, check, verify against a pinned key",
        seeds: revision_seeds,
        dict: JSON_DICT,
        run: revision,
    },
    Target {
        name: "frames",
        about: "the `POST /v1/objects` frame stream (FrameDecoder), fed in chunks of 1 to 256 bytes",
        seeds: frame_seeds,
        dict: FRAME_DICT,
        run: frames,
    },
    Target {
        name: "tar",
        about: "tar extraction under small caps (links, hard links, devices, sparse files, strip)",
        seeds: tar_seeds,
        dict: TAR_DICT,
        run: |w, input| archive(w, ArchiveKind::Tar, input),
    },
    Target {
        name: "tar-gz",
        about: "tar.gz extraction: the input tar is gzipped (inputs already gzipped are used as is)",
        seeds: tar_gz_seeds,
        dict: TAR_DICT,
        run: |w, input| archive(w, ArchiveKind::TarGz, input),
    },
    Target {
        name: "tar-xz",
        about: "tar.xz extraction: the input tar is xz-compressed (inputs already xz are used as is)",
        seeds: tar_xz_seeds,
        dict: TAR_DICT,
        run: |w, input| archive(w, ArchiveKind::TarXz, input),
    },
    Target {
        name: "zip",
        about: "zip extraction (stored and deflated members, symlinks, unix modes)",
        seeds: zip_seeds,
        dict: ZIP_DICT,
        run: |w, input| archive(w, ArchiveKind::Zip, input),
    },
    Target {
        name: "layer",
        about: "TOML layering: canonical + overlay generation, three-way merge, rules, settings",
        seeds: layer_seeds,
        dict: TOML_DICT,
        run: layer,
    },
];

/// The target called `name`.
pub fn target(name: &str) -> Option<&'static Target> {
    TARGETS.iter().find(|t| t.name == name)
}

/// Per-run state: a temp dir for archives (with a file outside the artifact dir that must
/// never change), homes for layering, a pinned key for revisions.
#[derive(Debug)]
pub struct Workspace {
    dir: tempfile::TempDir,
    homes: Homes,
    local: LocalSettings,
    manifest: McpManifest,
    trust: Trust,
    used: bool,
}

/// What the file outside the artifact dir holds (it stands for `identity.json`).
const SENTINEL: &[u8] = b"{\"token\":\"do-not-copy\"}";

impl Workspace {
    /// A fresh workspace in a new temp dir.
    pub fn new() -> std::io::Result<Self> {
        // Every archive input is unpacked on disk: in memory when the machine has a tmpfs.
        let shm = Path::new("/dev/shm");
        let tmp = if shm.is_dir() {
            shm.to_path_buf()
        } else {
            std::env::temp_dir()
        };
        let dir = tempfile::Builder::new()
            .prefix("codexport-fuzz-")
            .tempdir_in(tmp)?;
        std::fs::write(dir.path().join("identity.json"), SENTINEL)?;
        std::fs::create_dir_all(dir.path().join("art"))?;
        let user = dir.path().join("home");
        let homes = Homes::new(&user, user.join(".codex"), user.join(".codexport"));
        let key = master_key();
        let trust = Trust {
            master_public_key: key.public_key.clone(),
            fingerprint: key.fingerprint.clone(),
            token: "t".repeat(43),
            pinned_at: "2026-01-01T00:00:00Z".into(),
        };
        Ok(Self {
            dir,
            homes,
            local: LocalSettings::default(),
            manifest: manifest(),
            trust,
            used: false,
        })
    }

    fn art(&self) -> PathBuf {
        self.dir.path().join("art")
    }

    /// Empties the artifact dir after an archive input (nothing else changes between inputs).
    pub fn reset(&mut self) {
        if std::mem::take(&mut self.used) {
            let art = self.art();
            if std::fs::remove_dir_all(&art).is_err() {
                let _ = make_writable(&art);
                let _ = std::fs::remove_dir_all(&art);
            }
            std::fs::create_dir_all(&art).expect("recreate the artifact dir");
        }
    }
}

/// Archives may unpack read-only directories; make them removable.
fn make_writable(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            let kind = entry.file_type()?;
            if kind.is_dir() {
                std::fs::set_permissions(entry.path(), std::fs::Permissions::from_mode(0o755))?;
                make_writable(&entry.path())?;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

// ---- join links ----

const FINGERPRINT: &str = "SHA256:47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU";
const TOKEN: &str = "b3Blbi1zZXNhbWUtdGhpcy1pcy1hLWZ1enotdG9rZW4";

const LINK_DICT: &[&[u8]] = &[
    b"codexport://join?",
    b"&host=",
    b"&port=",
    b"&fingerprint=",
    b"&token=",
    b"&version=1",
    b"%0d%0a",
    b"%00",
    b"%20",
    b"%5B",
    b"%5D",
    b"[",
    b"]",
    b"::1",
    b"@",
    b"/",
    b"#",
    b"?",
    b";",
    b":",
    b"..",
    b"http://",
    b"https://",
    b"xn--",
    b"\r\n",
];

fn link_seeds() -> Vec<Vec<u8>> {
    let link = |host: &str, port: &str| {
        format!(
            "codexport://join?host={host}&port={port}&fingerprint={FINGERPRINT}&token={TOKEN}&version=1"
        )
    };
    [
        link("127.0.0.1", "17342"),
        link("%5B::1%5D", "17342"),
        link("%5Bfd7a:115c:a1e0::1%5D", "443"),
        link("master.tail1234.ts.net", "1"),
        link("100.64.0.7", "65535"),
        format!("http://127.0.0.1:17342\n{FINGERPRINT}\n{TOKEN}"),
        format!("http://[::1]:17342/\n{FINGERPRINT}\n{TOKEN}"),
        format!("https://master.example:8443\n{FINGERPRINT}\n{TOKEN}"),
    ]
    .into_iter()
    .map(String::into_bytes)
    .collect()
}

fn link(_: &mut Workspace, input: &[u8]) {
    let text = String::from_utf8_lossy(input);
    if let Ok(link) = JoinLink::parse(&text) {
        let text = link.to_link();
        let again = JoinLink::parse(&text)
            .unwrap_or_else(|e| panic!("a parsed link's own text `{text}` does not parse: {e}"));
        assert_eq!(again, link, "a link changed through to_link and parse");
        let _ = link.master_url();
    }
    let mut lines = text.splitn(3, '\n');
    if let (Some(master), Some(fingerprint), Some(token)) =
        (lines.next(), lines.next(), lines.next())
    {
        let _ = explicit_request(master, fingerprint, token);
        let _ = parse_master_url(master);
        let _ = parse_host(master, true);
        let _ = parse_host(master, false);
    }
}

// ---- revisions ----

const JSON_DICT: &[&[u8]] = &[
    b"\"protocol\":",
    b"\"document\":",
    b"\"signature\":",
    b"\"path\":",
    b"\"root\":\"tool\"",
    b"\"root\":\"agents\"",
    b"\"link\":\"../../x\"",
    b"\"objects\":[",
    b"\\u0000",
    b"\\\"",
    b"\\n",
    b"null",
    b"true",
    b"[]",
    b"{}",
    b"-0",
    b"1e999",
    b"..",
    b"C:/",
    b"\\\\",
];

/// A fixed key, so one `--seed` gives the same inputs everywhere.
fn master_key() -> MasterKey {
    let signing = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
    let public = signing.verifying_key();
    serde_json::from_value(serde_json::json!({
        "secret_key": URL_SAFE_NO_PAD.encode(signing.to_bytes()),
        "public_key": URL_SAFE_NO_PAD.encode(public.as_bytes()),
        "fingerprint": fingerprint(public.as_bytes()),
        "created_at": "2026-01-01T00:00:00Z",
    }))
    .expect("a master key")
}

fn manifest() -> McpManifest {
    let entry = |name: &str, artifact: Artifact| McpEntry {
        name: name.into(),
        transport: Transport::Stdio,
        command: Some("/home/master/.local/bin/tool".into()),
        args: vec!["--root".into(), "/home/master/work".into()],
        env: BTreeMap::from([("API_TOKEN".to_owned(), "s3cret".to_owned())]),
        cwd: Some("/home/master/work".into()),
        url: None,
        extra: serde_json::Map::new(),
        artifact,
        origin: Origin::Canonical,
    };
    McpManifest {
        version: MANIFEST_VERSION,
        master: MasterPaths {
            os: "linux".into(),
            home: "/home/master".into(),
            codex_home: "/home/master/.codex".into(),
        },
        entries: vec![
            entry(
                "api",
                Artifact::Resolved(ArtifactSpec {
                    resolver: "source".into(),
                    spec: serde_json::json!({"kind": "node", "object": "b".repeat(64), "root": "/home/master/work/api", "entry": "server.js", "args": []}),
                    objects: vec!["b".repeat(64)],
                }),
            ),
            entry("time", Artifact::Direct),
        ],
    }
}

fn revision_seeds() -> Vec<Vec<u8>> {
    let key = master_key();
    let file = |root, path: &str, class, link: Option<&str>| FileEntry {
        root,
        path: path.into(),
        sha256: "a".repeat(64),
        size: 42,
        mode: 0o644,
        class,
        link: link.map(str::to_owned),
    };
    let files = vec![
        file(Root::Codex, "AGENTS.md", FileClass::Regular, None),
        file(Root::Codex, "auth.json", FileClass::Secret, None),
        file(Root::Codex, "config.toml", FileClass::Config, None),
        file(Root::Codex, "skills/a/SKILL.md", FileClass::Regular, None),
        file(
            Root::Codex,
            "skills/b",
            FileClass::Regular,
            Some("../rules/default.rules"),
        ),
        file(Root::Agents, "skills/s/SKILL.md", FileClass::Regular, None),
        file(Root::Tool, "resolvers/r.wasm", FileClass::Regular, None),
    ];
    let mcp = manifest();
    let revision = Revision {
        protocol: PROTOCOL,
        seq: 7,
        revision: content_hash(&files, &mcp),
        created_at: "2026-01-01T00:00:00Z".into(),
        master: MasterInfo {
            fingerprint: key.fingerprint.clone(),
            os: "linux".into(),
            home: "/home/master".into(),
            codex_home: "/home/master/.codex".into(),
        },
        files,
        mcp,
    };
    let empty = Revision {
        files: Vec::new(),
        mcp: McpManifest::default(),
        revision: content_hash(&[], &McpManifest::default()),
        ..revision.clone()
    };
    let signed = revision.sign(&key);
    vec![
        signed.to_bytes(),
        empty.sign(&key).to_bytes(),
        signed.document.clone().into_bytes(),
    ]
}

fn revision(w: &mut Workspace, input: &[u8]) {
    if let Ok(envelope) = SignedRevision::parse(input) {
        if let Ok(document) = envelope.document_unverified() {
            let _ = document.check();
            let _ = document.objects();
        }
        if let Ok(verified) = envelope.verify(&w.trust, "http://127.0.0.1:17342") {
            // Verified means signed by the pinned key: only the seeds get here.
            let _ = verified.objects();
        }
    }
    if let Ok(document) = serde_json::from_slice::<Revision>(input) {
        let _ = document.check();
    }
}

// ---- object frames ----

const FRAME_DICT: &[&[u8]] = &[
    b" ",
    b"\n",
    b" 0\n",
    b" 18446744073709551615\n",
    b" 18446744073709551616\n",
    b" -1\n",
    b";",
];

/// `CHUNK WANTED\nBODY`: the chunk size the network delivers (one byte, 1 to 256), the
/// objects asked for (`<sha256> <limit>` separated by `;`, the limit being the signed size),
/// and the `POST /v1/objects` body.
fn frame_seeds() -> Vec<Vec<u8>> {
    let frame = |body: &[u8]| {
        let mut f = format!(
            "{} {}\n",
            codexport_core::store::sha256_hex(body),
            body.len()
        )
        .into_bytes();
        f.extend_from_slice(body);
        f
    };
    let want = |bodies: &[&[u8]]| {
        bodies
            .iter()
            .map(|b| format!("{} {}", codexport_core::store::sha256_hex(b), b.len()))
            .collect::<Vec<_>>()
            .join(";")
    };
    let seed = |chunk: u8, bodies: &[&[u8]]| {
        let mut s = vec![chunk];
        s.extend_from_slice(want(bodies).as_bytes());
        s.push(b'\n');
        for b in bodies {
            s.extend(frame(b));
        }
        s
    };
    let big = [b'x'; 4096];
    vec![
        seed(7, &[b"hello", b""]),
        seed(0, &[b"{\"key\":\"value\"}\n"]),
        seed(0x40, &[&big, b"tail"]),
    ]
}

fn frames(_: &mut Workspace, input: &[u8]) {
    let Some((chunk, rest)) = input.split_first() else {
        return;
    };
    let chunk = 1 + usize::from(*chunk);
    let (spec, body) = match rest.iter().position(|b| *b == b'\n') {
        Some(nl) => (&rest[..nl], &rest[nl + 1..]),
        None => (rest, &[][..]),
    };
    let wanted: Vec<Wanted> = String::from_utf8_lossy(spec)
        .split(';')
        .filter_map(|w| {
            let (hash, limit) = w.split_once(' ')?;
            Some(Wanted {
                hash: hash.to_owned(),
                limit: limit.parse().ok()?,
            })
        })
        .collect();
    let chunks: Vec<&[u8]> = body.chunks(chunk).collect();
    let chunked = decode_all(&wanted, &chunks);
    let whole = decode_all(&wanted, &[body]);
    assert_eq!(
        chunked.is_ok(),
        whole.is_ok(),
        "chunks of {chunk} bytes and the whole body disagree: {chunked:?} vs {whole:?}"
    );
    if let (Ok(a), Ok(b)) = (chunked, whole) {
        assert_eq!(a, b, "chunking changed the frames");
        for ((hash, bytes), want) in a.iter().zip(&wanted) {
            assert_eq!(hash, &want.hash, "a frame out of order");
            assert!(bytes.len() as u64 <= want.limit, "a frame past its limit");
        }
    }
}

// ---- archives ----

/// Small caps, so a bomb is refused in microseconds.
const LIMITS: Limits = Limits {
    total_bytes: 1 << 20,
    entries: 256,
    ratio: 100,
    ratio_floor: 256 << 10,
};

const TAR_DICT: &[&[u8]] = &[
    b"../",
    b"/etc/passwd",
    b"identity.json",
    b"././@LongLink",
    b"ustar\x0000",
    b"ustar  \x00",
    b"0000644\x00",
    b"0004755\x00",
    b"00000000000\x00",
    b"77777777777\x00",
    b"\x80\x00\x00\x00\x00\x00\x00\x00\x00\x00\x10\x00",
    b"path=../../x\n",
    b"linkpath=/\n",
    b"size=99999999999\n",
];

const ZIP_DICT: &[&[u8]] = &[
    b"PK\x03\x04",
    b"PK\x01\x02",
    b"PK\x05\x06",
    b"PK\x06\x06",
    b"PK\x06\x07",
    b"../",
    b"/etc/passwd",
    b"\xff\xff\xff\xff",
    b"\xff\xff",
    b"\x00\x00\xa0\x81",
    b"\x00\x00\xed\x41",
    b"\x00\x00\xff\xa1",
];

fn header(kind: tar::EntryType, size: u64, mode: u32) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_size(size);
    h.set_mode(mode);
    h
}

/// Real tars: a release layout, links that stay inside, a hard link to an earlier file, a
/// setuid file, a long name, a PAX header, a GNU sparse member.
fn tars() -> Vec<Vec<u8>> {
    let mut release = tar::Builder::new(Vec::new());
    release
        .append_data(
            &mut header(tar::EntryType::Directory, 0, 0o755),
            "tool-1.0/",
            std::io::empty(),
        )
        .unwrap();
    release
        .append_data(
            &mut header(tar::EntryType::Regular, 12, 0o4755),
            "tool-1.0/bin/tool",
            &b"#!/bin/sh\n:\n"[..],
        )
        .unwrap();
    release
        .append_link(
            &mut header(tar::EntryType::Symlink, 0, 0o777),
            "tool-1.0/tool",
            "bin/tool",
        )
        .unwrap();
    release
        .append_link(
            &mut header(tar::EntryType::Link, 0, 0o755),
            "tool-1.0/bin/tool2",
            "tool-1.0/bin/tool",
        )
        .unwrap();
    let long = format!("tool-1.0/{}/README", "d".repeat(120));
    release
        .append_data(
            &mut header(tar::EntryType::Regular, 5, 0o644),
            &long,
            &b"hello"[..],
        )
        .unwrap();
    let release = release.into_inner().unwrap();

    let mut pax = tar::Builder::new(Vec::new());
    pax.append_pax_extensions([("path", &b"pax/name.txt"[..]), ("mtime", b"1")])
        .unwrap();
    pax.append_data(
        &mut header(tar::EntryType::Regular, 3, 0o644),
        "short",
        &b"abc"[..],
    )
    .unwrap();
    let pax = pax.into_inner().unwrap();

    vec![release, pax, sparse_tar()]
}

/// A GNU sparse member: 4 data bytes at offset 8192 of a 16 KiB file.
fn sparse_tar() -> Vec<u8> {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::GNUSparse);
    h.set_mode(0o644);
    h.set_size(4);
    h.set_path("sparse.bin").unwrap();
    let gnu = h.as_gnu_mut().unwrap();
    gnu.sparse[0].offset = octal::<12>(8192);
    gnu.sparse[0].numbytes = octal::<12>(4);
    gnu.realsize = octal::<12>(16 << 10);
    h.set_cksum();
    let mut out = h.as_bytes().to_vec();
    let mut block = [0u8; 512];
    block[..4].copy_from_slice(b"data");
    out.extend_from_slice(&block);
    out.extend_from_slice(&[0; 1024]);
    out
}

fn octal<const N: usize>(value: u64) -> [u8; N] {
    let text = format!("{value:0width$o}\0", width = N - 1);
    text.as_bytes().try_into().expect("fits")
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).expect("in memory");
    e.finish().expect("in memory")
}

fn xz(bytes: &[u8]) -> Vec<u8> {
    let mut e = xz2::write::XzEncoder::new(Vec::new(), 0);
    e.write_all(bytes).expect("in memory");
    e.finish().expect("in memory")
}

fn tar_seeds() -> Vec<Vec<u8>> {
    tars()
}

fn tar_gz_seeds() -> Vec<Vec<u8>> {
    let tars = tars();
    tars.iter().map(|t| gz(t)).chain(tars.clone()).collect()
}

fn tar_xz_seeds() -> Vec<Vec<u8>> {
    let tars = tars();
    tars.iter().map(|t| xz(t)).chain(tars.clone()).collect()
}

fn zip_seeds() -> Vec<Vec<u8>> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let stored =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let deflated = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .unix_permissions(0o4755);
    w.add_directory("pkg/", stored).unwrap();
    w.start_file("pkg/tool", deflated).unwrap();
    w.write_all(b"#!/bin/sh\n:\n").unwrap();
    w.start_file("pkg/README", stored).unwrap();
    w.write_all(b"hello").unwrap();
    w.add_symlink("pkg/link", "tool", stored).unwrap();
    let full = w.finish().unwrap().into_inner();

    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    w.start_file("one", stored).unwrap();
    w.write_all(b"1").unwrap();
    let one = w.finish().unwrap().into_inner();
    vec![full, one]
}

fn archive(w: &mut Workspace, kind: ArchiveKind, input: &[u8]) {
    w.used = true;
    let bytes = match kind {
        ArchiveKind::TarGz if !input.starts_with(&[0x1f, 0x8b]) => gz(input),
        ArchiveKind::TarXz if !input.starts_with(&[0xfd, b'7', b'z', b'X', b'Z']) => xz(input),
        _ => input.to_vec(),
    };
    let download = w.dir.path().join("download");
    std::fs::write(&download, &bytes).expect("write the download");
    let art = w.art();
    let dest = art.join("dest");
    let scratch = art.join(".unpack-1");
    let strip = (input.len() % 2) as u32;
    let unpacked = extract_with(kind, &download, &dest, strip, &scratch, "fuzz", &LIMITS);
    assert!(!scratch.exists(), "the scratch dir is left behind");
    assert_eq!(
        std::fs::read(w.dir.path().join("identity.json"))
            .ok()
            .as_deref(),
        Some(SENTINEL),
        "the file outside the artifact dir changed"
    );
    let mut outside: Vec<String> = std::fs::read_dir(w.dir.path())
        .expect("list the workspace")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    outside.sort();
    assert_eq!(
        outside,
        ["art", "download", "identity.json"],
        "something was written beside the artifact dir"
    );
    match unpacked {
        Err(_) => assert!(!dest.exists(), "a refused archive left `dest`"),
        Ok(()) => check_unpacked(&dest),
    }
}

/// Every symlink of an accepted archive resolves inside it; no file is setuid or setgid, none
/// is a device or fifo, and the total is within the cap.
fn check_unpacked(dest: &Path) {
    let Ok(root) = std::fs::canonicalize(dest) else {
        return;
    };
    let mut total = 0u64;
    for entry in walk(dest) {
        let meta = std::fs::symlink_metadata(&entry).expect("stat an unpacked member");
        if meta.file_type().is_symlink() {
            if let Ok(resolved) = std::fs::canonicalize(&entry) {
                assert!(
                    resolved.starts_with(&root),
                    "`{}` leads outside to `{}`",
                    entry.display(),
                    resolved.display()
                );
            }
        } else if meta.is_file() {
            total += meta.len();
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = meta.permissions().mode();
                assert_eq!(mode & 0o7000, 0, "`{}` kept mode {mode:o}", entry.display());
            }
        } else {
            assert!(meta.is_dir(), "`{}` is a special file", entry.display());
        }
    }
    assert!(
        total <= LIMITS.total_bytes,
        "{total} bytes unpacked, past the {} byte cap",
        LIMITS.total_bytes
    );
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        out.push(path.clone());
        if is_dir {
            out.extend(walk(&path));
        }
    }
    out
}

// ---- TOML layering ----

const TOML_DICT: &[&[u8]] = &[
    b"[mcp_servers.",
    b"[[",
    b"]]",
    b"\"\"\"",
    b"'''",
    b" = ",
    b"${HOME}",
    b"${workspaceRoot}",
    b"/home/master/",
    b"/home/master/.codex/",
    b"{ a = 1 }",
    b"[]",
    b"\\u0000",
    b"\"\\\"",
    b"inf",
    b"nan",
    b"1979-05-27T07:32:00Z",
    b"\x00",
    b"prefix_rule(",
];

const CANONICAL: &str = r#"model = "gpt-5"
approval_policy = "on-request"
notify = ["/home/master/.codex/notify.sh", "--from", "/home/master/work"]

[projects."/home/master/work"]
trust_level = "trusted"

[mcp_servers.api]
command = "/home/master/.local/bin/tool"
args = ["--root", "/home/master/work"]
env = { API_TOKEN = "s3cret" }

[mcp_servers.remote]
url = "http://127.0.0.1:8931/mcp"
http_headers = { Authorization = "Bearer abc" }

[mcp_servers.time]
command = "uvx"
args = ["mcp-server-time"]
"#;

const OVERLAY: &str = r#"[mcp_servers.local]
command = "${HOME}/bin/local-mcp"
args = ["--dir", "${workspaceRoot}"]
"#;

const CURRENT: &str = r#"model = "o3"
approval_policy = "on-request"

[projects."/home/follower/scratch"]
trust_level = "trusted"

[mcp_servers.mine]
command = "my-mcp"
"#;

const RULES: &str = "prefix_rule(pattern=[\"git\", \"status\"], decision=\"allow\")\n";

fn layer_seeds() -> Vec<Vec<u8>> {
    [
        format!("{CANONICAL}\0{OVERLAY}\0{CURRENT}\0{CANONICAL}"),
        format!("{CANONICAL}\0\0{CURRENT}\0"),
        format!("{CANONICAL}\0{OVERLAY}"),
        format!("{RULES}\0\0{RULES}prefix_rule(pattern=[\"ls\"], decision=\"allow\")\n\0{RULES}"),
        "listen = \"0.0.0.0:17342\"\nallow = [\"10.0.0.0/8\"]\ninclude = [\"notes\"]\n[mcp.fff]\nresolver = \"github-release\"\n[source]\nmax_file_mib = 10\n".to_owned(),
        "master = \"http://127.0.0.1:17342\"\n[pathVariables]\nworkspaceRoot = \"/srv/work\"\n".to_owned(),
    ]
    .into_iter()
    .map(String::into_bytes)
    .collect()
}

fn layer(w: &mut Workspace, input: &[u8]) {
    let text = String::from_utf8_lossy(input);
    let mut parts = text.split('\0');
    let canonical = parts.next().unwrap_or_default();
    let overlay = parts.next().filter(|s| !s.is_empty());
    let current = parts.next();
    let base = parts.next();
    let inputs = ConfigInputs {
        homes: &w.homes,
        settings: &w.local,
        manifest: &w.manifest,
        master_host: Some("100.64.0.7"),
        canonical: Some(canonical),
        overlay,
        hooks: None,
    };
    if let Ok(generated) = generate(&inputs)
        && let Some(config) = generated.config
    {
        let path = w.homes.codex.join("config.toml");
        let _ = merge(base, &config, current, &path);
        let _ = config_keys(base, Some(&config));
    }
    let _ = merge_rules(base, canonical, current);
    let path = Path::new("/fuzz/settings.toml");
    let _ = deserialize::<MasterSettings>(canonical, path, TomlOwner::Codexport);
    let _ = deserialize::<LocalSettings>(canonical, path, TomlOwner::Codexport);
}
