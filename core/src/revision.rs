//! Signed revision documents: the file list and MCP manifest of one master snapshot.
//!
//! The signed bytes are the document's compact JSON as the master serialised it (struct
//! fields in declaration order, maps sorted); the envelope carries those exact bytes as a
//! string, so verification never depends on re-serialising. See `docs/protocol.md`.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::identity::{MasterKey, Trust, verify};
use crate::master::selection::{FileClass, Root, check_rel_path, link_stays_inside};
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

    /// Checks what a signature cannot: content hash, paths that stay inside their roots,
    /// object names that are hashes.
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
            let top = f.path.split('/').next().unwrap_or_default();
            match f.root {
                Root::Codex => {}
                Root::Agents if top == "skills" => {}
                Root::Tool if top == "resolvers" => {}
                _ => return Err(unsafe_path("outside what this root may hold")),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::now_rfc3339;

    fn sample(key: &MasterKey, files: Vec<FileEntry>) -> Revision {
        let mcp = McpManifest::default();
        Revision {
            protocol: PROTOCOL,
            seq: 1,
            revision: content_hash(&files, &mcp),
            created_at: now_rfc3339(),
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
