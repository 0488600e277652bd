//! Signed revision documents: the file list and MCP manifest of one master snapshot.
//!
//! The signed bytes are the document's compact JSON as the master serialised it (struct
//! fields in declaration order, maps sorted); the envelope carries those exact bytes as a
//! string, so verification never depends on re-serialising. See `docs/protocol.md`.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::identity::{MasterKey, Trust, verify};
use crate::master::selection::{
    FileClass, Root, check_rel_path, is_runtime_state, link_stays_inside, root_may_hold,
};
use crate::mcp::manifest::McpManifest;
use crate::store::is_object_name;

/// The protocol version of documents and HTTP paths (`/v1/...`).
pub const PROTOCOL: u32 = 1;

/// One synced file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Which root it lives in.
    pub root: Root,
    /// Path relative to the root, `/`-separated.
    pub path: String,
    /// SHA-256 of the content (of the link target text for a link).
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
    /// Permission bits on the master.
    pub mode: u32,
    /// How followers treat it.
    pub class: FileClass,
    /// The relative target, when the file is a symlink inside its root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
}

/// Who made the revision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MasterInfo {
    /// The master's key fingerprint.
    pub fingerprint: String,
    /// `linux`, `macos`, `windows`.
    pub os: String,
    /// The master user's home.
    pub home: String,
    /// The master's Codex home.
    pub codex_home: String,
}

/// The revision document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Revision {
    /// [`PROTOCOL`].
    pub protocol: u32,
    /// Grows by one with every new content; followers refuse a lower one.
    pub seq: u64,
    /// [`content_hash`] of `files` and `mcp`.
    pub revision: String,
    /// When it was made (RFC 3339).
    pub created_at: String,
    /// Who made it.
    pub master: MasterInfo,
    /// Every synced file, sorted by root then path.
    pub files: Vec<FileEntry>,
    /// The MCP manifest.
    pub mcp: McpManifest,
}

/// The wire form: the exact signed bytes and their Ed25519 signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedRevision {
    /// [`PROTOCOL`].
    pub protocol: u32,
    /// The revision document's canonical JSON.
    pub document: String,
    /// base64url Ed25519 signature over `document`'s bytes.
    pub signature: String,
}

/// sha256 (hex) over the canonical JSON of the sorted file list and the MCP manifest.
pub fn content_hash(files: &[FileEntry], mcp: &McpManifest) -> String {
    #[derive(Serialize)]
    struct Content<'a> {
        files: &'a [FileEntry],
        mcp: &'a McpManifest,
    }
    let bytes = serde_json::to_vec(&Content { files, mcp }).expect("serialises");
    hex::encode(Sha256::digest(bytes))
}

impl Revision {
    /// Every object a follower needs: file contents (not links) and MCP artifact objects.
    pub fn objects(&self) -> BTreeSet<String> {
        self.files
            .iter()
            .filter(|f| f.link.is_none())
            .map(|f| f.sha256.clone())
            .chain(self.mcp.objects().map(str::to_owned))
            .collect()
    }

    /// Signs the document's canonical JSON.
    pub fn sign(&self, key: &MasterKey) -> SignedRevision {
        let document = serde_json::to_string(self).expect("serialises");
        SignedRevision {
            protocol: PROTOCOL,
            signature: key.sign(document.as_bytes()),
            document,
        }
    }

    /// Checks what a signature cannot: content hash, paths that stay inside their roots and
    /// hold only what each root may hold (no runtime state), a tree that holds together
    /// ([`check_tree`]), object names that are hashes.
    pub fn check(&self) -> Result<()> {
        if self.protocol != PROTOCOL {
            return Err(Error::Protocol {
                url: "revision".into(),
                reason: format!("protocol {} is not 1", self.protocol),
            });
        }
        for f in &self.files {
            let unsafe_path = |reason: &str| Error::UnsafePath {
                path: f.path.clone(),
                reason: reason.to_owned(),
            };
            check_rel_path(&f.path).map_err(unsafe_path)?;
            if !root_may_hold(f.root, &f.path) {
                return Err(unsafe_path(may_hold(f.root)));
            }
            if is_runtime_state(f.root, &f.path) {
                return Err(unsafe_path(
                    "it is runtime state (logs, sessions, history, caches, SQLite files, bundled system skills), which is never synced",
                ));
            }
            if let Some(target) = &f.link
                && !link_stays_inside(&f.path, target)
            {
                return Err(unsafe_path(&format!(
                    "symlink to `{target}` escapes its root"
                )));
            }
            if !is_object_name(&f.sha256) {
                return Err(Error::InvalidRevision(format!(
                    "`{}` has a malformed hash",
                    f.path
                )));
            }
        }
        check_tree(&self.files, |_, _| None)?;
        if let Some(bad) = self.mcp.objects().find(|o| !is_object_name(o)) {
            return Err(Error::InvalidRevision(format!(
                "MCP object `{bad}` is not a hash"
            )));
        }
        if content_hash(&self.files, &self.mcp) != self.revision {
            return Err(Error::InvalidRevision(
                "`revision` does not match the content".into(),
            ));
        }
        Ok(())
    }
}

/// What root `root` may hold, for the refusal of a path outside it.
fn may_hold(root: Root) -> &'static str {
    match root {
        Root::Codex => "outside the Codex home",
        Root::Agents => "`~/.agents` takes only `skills/**`",
        Root::Tool => "the tool home takes only flat `resolvers/NAME.wasm` files",
    }
}

/// How many links one resolution follows before it gives up (the kernel's own limit).
const MAX_LINKS: usize = 40;

/// A link met while resolving a path: its target, and whether it is on this machine's disk
/// (rather than in the revision).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FoundLink {
    /// The link's target text.
    pub(crate) target: String,
    /// It is on disk, not listed in the revision.
    pub(crate) on_disk: bool,
}

/// Checks that a revision's file list is a tree that can be written as listed: no path twice,
/// no path below another listed path (a file cannot be a folder, and nothing is written
/// through a listed link), and every link resolving inside its root, and to something the
/// root may hold, when followed one link at a time through the revision's links and those
/// `on_disk(root, path)` reports (a follower's existing links; `|_, _| None` for none).
///
/// Resolution is physical, like the kernel's: `skills/b -> a/..` with `skills/a -> ../skills`
/// is the root itself, not `skills`, so a chain of links that each look inside can not lead
/// out.
pub(crate) fn check_tree(
    files: &[FileEntry],
    on_disk: impl Fn(Root, &str) -> Option<String>,
) -> Result<()> {
    let mut listed: BTreeMap<(Root, &str), Option<&str>> = BTreeMap::new();
    for f in files {
        if listed
            .insert((f.root, f.path.as_str()), f.link.as_deref())
            .is_some()
        {
            return Err(Error::InvalidRevision(format!(
                "`{}:{}` is listed twice",
                f.root.name(),
                f.path
            )));
        }
    }
    for f in files {
        for (i, _) in f.path.match_indices('/') {
            let folder = &f.path[..i];
            match listed.get(&(f.root, folder)) {
                None => {}
                Some(Some(_)) => {
                    return Err(Error::UnsafePath {
                        path: f.path.clone(),
                        reason: format!(
                            "it would be written through the symlink `{folder}` the revision also lists"
                        ),
                    });
                }
                Some(None) => {
                    return Err(Error::InvalidRevision(format!(
                        "`{}:{folder}` is listed as a file and as the folder of `{}`",
                        f.root.name(),
                        f.path
                    )));
                }
            }
        }
    }
    for f in files {
        let Some(target) = &f.link else { continue };
        let lookup = |path: &str| match listed.get(&(f.root, path)) {
            Some(link) => link.map(|target| FoundLink {
                target: target.to_owned(),
                on_disk: false,
            }),
            None => on_disk(f.root, path).map(|target| FoundLink {
                target,
                on_disk: true,
            }),
        };
        let parent = f.path.rsplit_once('/').map_or("", |(dir, _)| dir);
        let mut followed = Vec::new();
        let refuse = |why: String, followed: &[(String, bool)]| {
            let via = followed
                .iter()
                .map(|(link, disk)| {
                    if *disk {
                        format!("`{link}` (a link on this machine)")
                    } else {
                        format!("`{link}`")
                    }
                })
                .collect::<Vec<_>>();
            let via = if via.is_empty() {
                String::new()
            } else {
                format!(", following {}", via.join(", "))
            };
            Error::UnsafePath {
                path: f.path.clone(),
                reason: format!("symlink to `{target}` {why}{via}"),
            }
        };
        let mut stack = Vec::new();
        if let Err(why) = resolve(&mut stack, parent, &lookup, &mut followed)
            .and_then(|()| resolve(&mut stack, target, &lookup, &mut followed))
        {
            return Err(refuse(why, &followed));
        }
        let resolved = stack.join("/");
        if resolved.is_empty() {
            return Err(refuse("points at the root itself".into(), &followed));
        }
        if !root_may_hold(f.root, &resolved) {
            return Err(refuse(
                format!("resolves to `{resolved}`: {}", may_hold(f.root)),
                &followed,
            ));
        }
    }
    Ok(())
}

/// Walks `path` from the folder `stack` (root-relative segments) like the kernel does:
/// every segment that `lookup` reports as a link is replaced by its target, resolved from
/// the link's folder, before the walk goes on; `..` above the root is an escape. Links
/// followed are pushed onto `followed` (path, on disk).
fn resolve(
    stack: &mut Vec<String>,
    path: &str,
    lookup: &impl Fn(&str) -> Option<FoundLink>,
    followed: &mut Vec<(String, bool)>,
) -> Result<(), String> {
    if path.starts_with('/') || path.contains('\\') || path.contains('\0') {
        return Err("leaves its root (an absolute or malformed target)".into());
    }
    for seg in path.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                if stack.pop().is_none() {
                    return Err("leads out of its root".into());
                }
            }
            name => {
                stack.push(name.to_owned());
                let here = stack.join("/");
                if let Some(link) = lookup(&here) {
                    followed.push((here, link.on_disk));
                    if followed.len() > MAX_LINKS {
                        return Err(format!("goes through more than {MAX_LINKS} links"));
                    }
                    stack.pop();
                    resolve(stack, &link.target, lookup, followed)?;
                }
            }
        }
    }
    Ok(())
}

impl SignedRevision {
    /// The envelope's JSON bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("serialises")
    }

    /// Parses an envelope (no verification). The error names what is wrong and where, never
    /// the envelope's own text (it is unverified).
    pub fn parse(bytes: &[u8]) -> Result<Self, String> {
        serde_json::from_slice(bytes).map_err(|e| crate::report::json_problem(&e))
    }

    /// Parses the document without verifying it (the master's own copy).
    pub fn document_unverified(&self) -> Result<Revision, String> {
        serde_json::from_str(&self.document).map_err(|e| e.to_string())
    }

    /// Verifies the envelope with the pinned key and returns the checked document.
    ///
    /// The signature is checked first: nothing the document says, its fingerprint included,
    /// is read (or reported) before it verifies.
    pub fn verify(&self, trust: &Trust, url: &str) -> Result<Revision> {
        let key = trust
            .key()
            .ok_or_else(|| Error::BadSignature(trust.fingerprint.clone()))?;
        if !verify(&key, self.document.as_bytes(), &self.signature) {
            return Err(Error::BadSignature(trust.fingerprint.clone()));
        }
        let revision: Revision =
            serde_json::from_str(&self.document).map_err(|e| Error::Protocol {
                url: url.to_owned(),
                reason: format!(
                    "the signed revision document {}",
                    crate::report::json_problem(&e)
                ),
            })?;
        if revision.master.fingerprint != trust.fingerprint {
            return Err(Error::InvalidRevision(format!(
                "it is signed by the pinned key `{}` but names another fingerprint",
                trust.fingerprint
            )));
        }
        revision.check()?;
        Ok(revision)
    }
}

/// The unsigned revision core's unit tests start from (the integration tests' is
/// `codexport_test_support::fake_master::revision`: they cannot see this one).
#[cfg(test)]
pub(crate) fn sample(key: &MasterKey, files: Vec<FileEntry>) -> Revision {
    let mcp = McpManifest::default();
    Revision {
        protocol: PROTOCOL,
        seq: 1,
        revision: content_hash(&files, &mcp),
        created_at: crate::clock::now_rfc3339(),
        master: MasterInfo {
            fingerprint: key.fingerprint.clone(),
            os: "linux".into(),
            home: "/home/m".into(),
            codex_home: "/home/m/.codex".into(),
        },
        files,
        mcp,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::now_rfc3339;

    fn file(path: &str) -> FileEntry {
        FileEntry {
            root: Root::Codex,
            path: path.into(),
            sha256: "a".repeat(64),
            size: 1,
            mode: 0o644,
            class: FileClass::Regular,
            link: None,
        }
    }

    fn trust(key: &MasterKey) -> Trust {
        Trust {
            master_public_key: key.public_key.clone(),
            fingerprint: key.fingerprint.clone(),
            token: "t".into(),
            pinned_at: now_rfc3339(),
        }
    }

    #[test]
    fn signed_revision_verifies_and_tampering_is_caught() {
        let key = MasterKey::generate();
        let rev = sample(&key, vec![file("AGENTS.md")]);
        let signed = rev.sign(&key);
        let back = SignedRevision::parse(&signed.to_bytes()).unwrap();
        assert_eq!(back.verify(&trust(&key), "u").unwrap(), rev);

        let mut tampered = signed.clone();
        tampered.document = tampered.document.replace("AGENTS.md", "AGENTS.mx");
        assert!(matches!(
            tampered.verify(&trust(&key), "u"),
            Err(Error::BadSignature(_))
        ));

        // Signed by another key: refused as a bad signature, whatever it claims to be.
        let other = MasterKey::generate();
        let forged = sample(&other, vec![file("AGENTS.md")]).sign(&other);
        assert!(matches!(
            forged.verify(&trust(&key), "u"),
            Err(Error::BadSignature(_))
        ));
        let mut claims = sample(&other, vec![file("AGENTS.md")]);
        claims.master.fingerprint = "SHA256:x\napplied seq 999\u{1b}[31m".into();
        let err = claims.sign(&other).verify(&trust(&key), "u").unwrap_err();
        assert!(matches!(err, Error::BadSignature(_)), "{err}");
        assert!(!err.to_string().contains("applied"), "{err}");
    }

    #[test]
    fn escaping_paths_and_links_are_refused_even_when_signed() {
        let key = MasterKey::generate();
        for bad in ["../x", "/etc/passwd", "C:/x", "a\\b"] {
            let signed = sample(&key, vec![file(bad)]).sign(&key);
            assert!(
                matches!(
                    signed.verify(&trust(&key), "u"),
                    Err(Error::UnsafePath { .. })
                ),
                "{bad}"
            );
        }
        let mut link = file("skills/x");
        link.link = Some("../../outside".into());
        let signed = sample(&key, vec![link]).sign(&key);
        assert!(matches!(
            signed.verify(&trust(&key), "u"),
            Err(Error::UnsafePath { .. })
        ));
        let mut tool = file("identity.json");
        tool.root = Root::Tool;
        let signed = sample(&key, vec![tool]).sign(&key);
        assert!(matches!(
            signed.verify(&trust(&key), "u"),
            Err(Error::UnsafePath { .. })
        ));
    }

    fn link(root: Root, path: &str, target: &str) -> FileEntry {
        FileEntry {
            root,
            link: Some(target.into()),
            ..file(path)
        }
    }

    #[test]
    fn links_are_followed_one_at_a_time_through_the_revision_and_the_disk() {
        let ok = |files: &[FileEntry]| check_tree(files, |_, _| None);
        let codex = |p: &str, t: &str| link(Root::Codex, p, t);
        ok(&[codex("skills/a", "../skills"), file("skills/x/SKILL.md")]).unwrap();
        ok(&[codex("skills/r", "../rules/x"), file("rules/x")]).unwrap();
        // Each lexically inside; physically `b` is the root and `c` above it.
        let err = ok(&[codex("skills/a", "../skills"), codex("skills/b", "a/..")]).unwrap_err();
        assert!(err.to_string().contains("the root itself"), "{err}");
        let err = ok(&[codex("x/y/a", ".."), codex("x/y/b", "a/../../..")]).unwrap_err();
        assert!(err.to_string().contains("leads out of its root"), "{err}");
        // A cycle ends at the link limit.
        let err = ok(&[codex("p", "q"), codex("q", "p/x")]).unwrap_err();
        assert!(err.to_string().contains("more than 40 links"), "{err}");
        // A link already on disk counts as much as one in the revision.
        let disk = |_: Root, p: &str| (p == "skills/up").then(|| "..".to_owned());
        let err = check_tree(&[codex("skills/esc", "up/../out")], disk).unwrap_err();
        assert!(err.to_string().contains("a link on this machine"), "{err}");
        let disk = |_: Root, p: &str| (p == "skills/abs").then(|| "/etc".to_owned());
        assert!(check_tree(&[codex("skills/e", "abs/x")], disk).is_err());
        // The tool home's links stay among its resolvers.
        let tool = [link(Root::Tool, "resolvers/a.wasm", "../identity.json")];
        let err = ok(&tool).unwrap_err();
        assert!(
            err.to_string().contains("resolves to `identity.json`"),
            "{err}"
        );
        ok(&[
            link(Root::Tool, "resolvers/a.wasm", "b.wasm"),
            FileEntry {
                root: Root::Tool,
                ..file("resolvers/b.wasm")
            },
        ])
        .unwrap();
    }

    #[test]
    fn a_tree_lists_each_path_once_and_nothing_below_a_file_or_link() {
        let ok = |files: &[FileEntry]| check_tree(files, |_, _| None);
        let err = ok(&[file("rules/x"), file("rules/x/y")]).unwrap_err();
        assert!(matches!(err, Error::InvalidRevision(_)), "{err}");
        let err = ok(&[file("a"), file("a")]).unwrap_err();
        assert!(err.to_string().contains("listed twice"), "{err}");
        let err = ok(&[
            link(Root::Codex, "skills/l", "../prompts"),
            file("skills/l/p.md"),
        ])
        .unwrap_err();
        assert!(matches!(err, Error::UnsafePath { .. }), "{err}");
        // The same path in two roots is two paths.
        let agents = FileEntry {
            root: Root::Agents,
            ..file("skills/x/SKILL.md")
        };
        ok(&[file("skills/x/SKILL.md"), agents]).unwrap();
    }

    #[test]
    fn a_signed_revision_naming_a_non_hash_object_is_invalid() {
        let key = MasterKey::generate();
        let mut bad = file("AGENTS.md");
        bad.sha256 = "../../objects".into();
        let signed = sample(&key, vec![bad]).sign(&key);
        let err = signed.verify(&trust(&key), "u").unwrap_err();
        assert!(matches!(err, Error::InvalidRevision(_)), "{err}");
        assert_eq!(
            crate::exit::Diagnose::exit_status(&err),
            crate::ExitStatus::InvalidInput
        );
    }
}
