//! What a fake master answers with: its `/v1/meta`, a revision it signs, the frames of an objects
//! stream.

use codexport_core::identity::MasterKey;
use codexport_core::master::server::{Meta, ObjectsRequest};
use codexport_core::mcp::manifest::McpManifest;
use codexport_core::revision::{FileEntry, MasterInfo, PROTOCOL, Revision, content_hash};

/// A `/v1/meta` body presenting `key` under the fingerprint text `fingerprint` (the key's own,
/// or what a forger writes there), at seq 1 of no revision in particular: a follower reads
/// the revision itself.
pub fn meta(key: &MasterKey, fingerprint: &str) -> Vec<u8> {
    serde_json::to_vec(&Meta {
        protocol: PROTOCOL,
        fingerprint: fingerprint.to_owned(),
        public_key: key.public_key.clone(),
        seq: 1,
        revision: "0".repeat(64),
    })
    .unwrap()
}

/// An unsigned revision of `files` at `seq`, naming the master `fingerprint` (the signer's, or
/// what a forger claims), made at a fixed time by a Linux master at `/home/m`.
pub fn revision(fingerprint: &str, seq: u64, files: Vec<FileEntry>) -> Revision {
    let mcp = McpManifest::default();
    Revision {
        protocol: PROTOCOL,
        seq,
        revision: content_hash(&files, &mcp),
        created_at: "2026-01-01T00:00:00Z".into(),
        master: MasterInfo {
            fingerprint: fingerprint.to_owned(),
            os: "linux".into(),
            home: "/home/m".into(),
            codex_home: "/home/m/.codex".into(),
        },
        files,
        mcp,
    }
}

/// One frame of an objects stream: `<hash> <length>\n`, then the bytes.
pub fn frame(hash: &str, bytes: &[u8]) -> Vec<u8> {
    let mut frame = format!("{hash} {}\n", bytes.len()).into_bytes();
    frame.extend_from_slice(bytes);
    frame
}

/// The objects stream answering a `POST /v1/objects` or `/v2/objects` body: a [`frame`] of
/// each object it asks for, in order, its bytes from `object`.
pub fn object_frames(request_body: &[u8], mut object: impl FnMut(&str) -> Vec<u8>) -> Vec<u8> {
    let asked: ObjectsRequest = serde_json::from_slice(request_body).unwrap();
    asked
        .objects
        .iter()
        .flat_map(|hash| frame(hash, &object(hash)))
        .collect()
}
