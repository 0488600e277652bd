//! Protocol v2 revisions: a small signed root and content-addressed tree nodes, built by the master and walked (bounded) by a follower.
//!
//! A v2 root names the hash of a top node (one `dir` entry per root: `codex`, `agents`,
//! `tool`) and the hash of the MCP manifest object. A node lists one directory's entries, or,
//! when that list would be large, the parts it is split into. Nodes are objects like files:
//! stored in the same object store, fetched through the same batch stream, verified by their
//! hash. Splits fall at names chosen by the name's own hash, so a change in one part leaves
//! the other parts, and their hashes, as they were. The follower turns the walked tree back
//! into the file list of a v1 document ([`crate::revision::Revision`]), and every check the
//! v1 path makes applies to it unchanged. See `docs/protocol.md`.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::identity::{MasterKey, Trust, verify};
use crate::master::selection::{FileClass, Root};
use crate::mcp::manifest::McpManifest;
use crate::revision::{FileEntry, MasterInfo, PROTOCOL, Revision, SignedRevision};
use crate::store::{ObjectStore, is_object_name, sha256_hex};

/// The protocol version of tree roots and their HTTP paths (`/v2/...`).
pub const PROTOCOL_V2: u32 = 2;

/// The largest node a follower reads (the master makes none above [`SPLIT_AT`] bytes, and
/// parts above [`PART_MAX`] only for a single entry that long).
pub const MAX_NODE_BYTES: u64 = 64 * 1024;

/// The largest MCP manifest object a follower reads.
pub const MAX_MANIFEST_BYTES: u64 = 16 * 1024 * 1024;

/// The deepest a walk goes (folders plus the index levels of split folders).
pub const MAX_TREE_DEPTH: usize = 128;

/// The most nodes one walk visits (a node reached twice counts twice).
pub const MAX_TREE_NODES: usize = 200_000;

/// The most entries one walk visits.
pub const MAX_TREE_ENTRIES: usize = 1_000_000;

/// The most node bytes one walk reads (a node reached twice counts twice): the v1 cap on a
/// whole revision document.
pub const MAX_TREE_BYTES: u64 = 32 * 1024 * 1024;

/// The longest entry name (a file name longer than this cannot be written anyway).
pub const MAX_NAME_BYTES: usize = 255;

/// A folder whose node would be larger than this is split into parts.
pub const SPLIT_AT: usize = 4 * 1024;

/// No part is made larger than this (a cut is forced before an entry that would pass it).
pub const PART_MAX: usize = 15 * 1024;

/// One in this many names ends a part (on average; by the name's hash).
const BOUNDARY_ONE_IN: u8 = 16;

/// The v2 signed document: what v1's document says but the file list, which the tree holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TreeRoot {
    /// [`PROTOCOL_V2`].
    pub protocol: u32,
    /// Grows by one with every new content; followers refuse a lower one.
    pub seq: u64,
    /// The content hash of the v1 document made from the same snapshot
    /// ([`crate::revision::content_hash`] of the files and the manifest): one name for one
    /// content in both protocols, so a follower moving from v1 to v2 sees nothing new.
    pub revision: String,
    /// When it was made (RFC 3339).
    pub created_at: String,
    /// Who made it.
    pub master: MasterInfo,
    /// The hash of the top node.
    pub tree: String,
    /// The hash of the MCP manifest object (its canonical JSON).
    pub mcp: String,
}

/// What an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A file: `hash` is its content.
    File,
    /// A folder: `hash` is its node.
    Dir,
    /// A symlink: `hash` is the hash of its target text.
    Link,
}

/// One entry of a folder node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeEntry {
    /// One path segment.
    pub name: String,
    /// File, folder or link.
    pub kind: Kind,
    /// Content, node or target hash.
    pub hash: String,
    /// Bytes (files and links).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// Permission bits on the master (files and links).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<u32>,
    /// The master's secret class (files and links).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<FileClass>,
    /// The target text (links).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
}

/// One part of a split folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Part {
    /// The first name in the part (parts are listed in name order).
    pub first: String,
    /// The part's node.
    pub hash: String,
}

/// A tree node: a folder's entries, or the parts a large folder is split into.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Node {
    /// The entries, sorted by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub entries: Vec<NodeEntry>,
    /// The parts, sorted by first name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parts: Vec<Part>,
}

impl Node {
    fn bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("serialises")
    }
}

/// A v2 root as made by the master: its signed envelope and every node it references.
#[derive(Debug, Clone)]
pub struct BuiltTree {
    /// The signed root's envelope bytes (what `/v2/root` sends).
    pub signed: Vec<u8>,
    /// The root document.
    pub root: TreeRoot,
    /// Every node object of the tree, the manifest object included.
    pub nodes: Vec<String>,
}

/// Builds the tree of `revision` into `store` (nodes and the manifest object) and signs its
/// root with `key`. Deterministic: the same revision always makes the same bytes.
pub fn build(
    revision: &Revision,
    store: &ObjectStore,
    key: &MasterKey,
) -> std::io::Result<BuiltTree> {
    #[derive(Default)]
    struct Dir<'a> {
        files: BTreeMap<&'a str, &'a FileEntry>,
        dirs: BTreeMap<&'a str, Dir<'a>>,
    }
    let mut roots: BTreeMap<&str, Dir> = BTreeMap::new();
    for f in &revision.files {
        let mut dir = roots.entry(f.root.name()).or_default();
        let mut segments = f.path.split('/').peekable();
        while let Some(seg) = segments.next() {
            if segments.peek().is_none() {
                dir.files.insert(seg, f);
            } else {
                dir = dir.dirs.entry(seg).or_default();
            }
        }
    }
    fn put_dir(dir: &Dir, store: &ObjectStore, nodes: &mut Vec<String>) -> std::io::Result<String> {
        let mut entries: BTreeMap<&str, NodeEntry> = BTreeMap::new();
        for (name, sub) in &dir.dirs {
            let hash = put_dir(sub, store, nodes)?;
            entries.insert(name, dir_entry(name, hash));
        }
        for (name, f) in &dir.files {
            if entries.contains_key(name) {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("`{}` is listed as a file and as a folder", f.path),
                ));
            }
            entries.insert(
                name,
                NodeEntry {
                    name: (*name).to_owned(),
                    kind: if f.link.is_some() {
                        Kind::Link
                    } else {
                        Kind::File
                    },
                    hash: f.sha256.clone(),
                    size: Some(f.size),
                    mode: Some(f.mode),
                    class: Some(f.class),
                    link: f.link.clone(),
                },
            );
        }
        put_entries(entries.into_values().collect(), store, nodes)
    }
    let mut nodes = Vec::new();
    let mut top = Vec::new();
    for (name, dir) in &roots {
        let hash = put_dir(dir, store, &mut nodes)?;
        top.push(dir_entry(name, hash));
    }
    let tree = put_node(
        &Node {
            entries: top,
            parts: Vec::new(),
        },
        store,
        &mut nodes,
    )?;
    let mcp = store.put(&serde_json::to_vec(&revision.mcp).expect("serialises"))?;
    nodes.push(mcp.clone());
    let root = TreeRoot {
        protocol: PROTOCOL_V2,
        seq: revision.seq,
        revision: revision.revision.clone(),
        created_at: revision.created_at.clone(),
        master: revision.master.clone(),
        tree,
        mcp,
    };
    let document = serde_json::to_string(&root).expect("serialises");
    let signed = SignedRevision {
        protocol: PROTOCOL_V2,
        signature: key.sign(document.as_bytes()),
        document,
    }
    .to_bytes();
    nodes.sort();
    nodes.dedup();
    Ok(BuiltTree {
        signed,
        root,
        nodes,
    })
}

fn dir_entry(name: &str, hash: String) -> NodeEntry {
    NodeEntry {
        name: name.to_owned(),
        kind: Kind::Dir,
        hash,
        size: None,
        mode: None,
        class: None,
        link: None,
    }
}

fn put_node(node: &Node, store: &ObjectStore, nodes: &mut Vec<String>) -> std::io::Result<String> {
    let hash = store.put(&node.bytes())?;
    nodes.push(hash.clone());
    Ok(hash)
}

/// Whether `name` ends a part: one name in [`BOUNDARY_ONE_IN`], by its hash, so where a
/// folder splits depends on its names alone.
fn ends_part(name: &str) -> bool {
    let digest = sha256_hex(name.as_bytes());
    u8::from_str_radix(&digest[..2], 16)
        .expect("hex")
        .is_multiple_of(BOUNDARY_ONE_IN)
}

/// Stores a folder's entries as one node, or split into parts (and an index over them, split
/// the same way when it is large) when one node would pass [`SPLIT_AT`].
fn put_entries(
    entries: Vec<NodeEntry>,
    store: &ObjectStore,
    nodes: &mut Vec<String>,
) -> std::io::Result<String> {
    let whole = Node {
        entries,
        parts: Vec::new(),
    };
    if whole.bytes().len() <= SPLIT_AT {
        return put_node(&whole, store, nodes);
    }
    let cut = chunks(whole.entries, |e| &e.name);
    let parts = put_chunks(
        cut,
        |e| &e.name,
        |entries| Node {
            entries,
            parts: Vec::new(),
        },
        store,
        nodes,
    )?;
    put_parts(parts, store, nodes)
}

fn put_parts(
    parts: Vec<Part>,
    store: &ObjectStore,
    nodes: &mut Vec<String>,
) -> std::io::Result<String> {
    let index = Node {
        entries: Vec::new(),
        parts,
    };
    if index.bytes().len() <= SPLIT_AT || index.parts.len() < 2 {
        return put_node(&index, store, nodes);
    }
    let count = index.parts.len();
    let cut = chunks(index.parts, |p| &p.first);
    if cut.len() == count {
        // Every first name ends a part: no index to build over them (never in practice).
        let parts = cut.into_iter().flatten().collect();
        return put_node(
            &Node {
                entries: Vec::new(),
                parts,
            },
            store,
            nodes,
        );
    }
    let upper = put_chunks(
        cut,
        |p| &p.first,
        |parts| Node {
            entries: Vec::new(),
            parts,
        },
        store,
        nodes,
    )?;
    put_parts(upper, store, nodes)
}

/// Cuts `items`, in name order, into parts: after every name that [`ends_part`], and before
/// an item whose JSON would take a part past [`PART_MAX`].
fn chunks<T: Serialize>(items: Vec<T>, name: impl Fn(&T) -> &str) -> Vec<Vec<T>> {
    let mut out = Vec::new();
    let mut current = Vec::new();
    let mut bytes = 0;
    for item in items {
        let len = serde_json::to_vec(&item).expect("serialises").len();
        if !current.is_empty() && bytes + len + 1 > PART_MAX {
            out.push(std::mem::take(&mut current));
            bytes = 0;
        }
        bytes += len + 1;
        let ends = ends_part(name(&item));
        current.push(item);
        if ends {
            out.push(std::mem::take(&mut current));
            bytes = 0;
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// Stores each part of `cut` as the node `node` makes of it, and returns the [`Part`]s that
/// point at them, each named by its first item's `name`.
fn put_chunks<T>(
    cut: Vec<Vec<T>>,
    name: impl Fn(&T) -> &str,
    node: impl Fn(Vec<T>) -> Node,
    store: &ObjectStore,
    nodes: &mut Vec<String>,
) -> std::io::Result<Vec<Part>> {
    cut.into_iter()
        .map(|chunk| {
            let first = name(&chunk[0]).to_owned();
            let hash = put_node(&node(chunk), store, nodes)?;
            Ok(Part { first, hash })
        })
        .collect()
}

impl TreeRoot {
    /// Verifies a v2 envelope with the pinned key and returns the root. As in v1, the
    /// signature is checked before anything the document says is read.
    pub fn verify(signed: &SignedRevision, trust: &Trust, url: &str) -> Result<Self> {
        let key = trust
            .key()
            .ok_or_else(|| Error::BadSignature(trust.fingerprint.clone()))?;
        if !verify(&key, signed.document.as_bytes(), &signed.signature) {
            return Err(Error::BadSignature(trust.fingerprint.clone()));
        }
        let root: TreeRoot =
            serde_json::from_str(&signed.document).map_err(|e| Error::Protocol {
                url: url.to_owned(),
                reason: format!("the signed tree root {}", crate::report::json_problem(&e)),
            })?;
        if root.protocol != PROTOCOL_V2 || signed.protocol != PROTOCOL_V2 {
            return Err(Error::Protocol {
                url: url.to_owned(),
                reason: format!("the tree root says protocol {}, not 2", root.protocol),
            });
        }
        if root.master.fingerprint != trust.fingerprint {
            return Err(Error::InvalidRevision(format!(
                "it is signed by the pinned key `{}` but names another fingerprint",
                trust.fingerprint
            )));
        }
        for (what, hash) in [
            ("tree", &root.tree),
            ("mcp", &root.mcp),
            ("revision", &root.revision),
        ] {
            if !is_object_name(hash) {
                return Err(Error::InvalidRevision(format!(
                    "the root's `{what}` is not a hash"
                )));
            }
        }
        Ok(root)
    }

    /// Parses the document without verifying it (the master's own copy, and `gc`).
    pub fn unverified(signed: &SignedRevision) -> Result<Self, String> {
        serde_json::from_str(&signed.document).map_err(|e| e.to_string())
    }
}

/// A node waiting to be read: where it sits in the tree.
#[derive(Debug, Clone)]
struct Pending {
    hash: String,
    /// `None` for the top node.
    root: Option<Root>,
    /// The folder's path in its root (`""` for the root itself).
    dir: String,
    depth: usize,
}

/// A bounded walk of a tree, level by level: [`Walk::wanted`] names the nodes the next
/// [`Walk::step`] reads that the store lacks (fetch them first), and when
/// [`Walk::done`], [`Walk::finish`] builds the v1 revision of the tree.
#[derive(Debug)]
pub struct Walk {
    root: TreeRoot,
    level: Vec<Pending>,
    files: Vec<FileEntry>,
    parsed: HashMap<String, (Node, u64)>,
    nodes: usize,
    entries: usize,
    bytes: u64,
    path_bytes: u64,
}

impl Walk {
    /// A walk from `root`'s top node.
    pub fn new(root: TreeRoot) -> Self {
        Self {
            level: vec![Pending {
                hash: root.tree.clone(),
                root: None,
                dir: String::new(),
                depth: 0,
            }],
            root,
            files: Vec::new(),
            parsed: HashMap::new(),
            nodes: 0,
            entries: 0,
            bytes: 0,
            path_bytes: 0,
        }
    }

    /// The root walked.
    pub fn root(&self) -> &TreeRoot {
        &self.root
    }

    /// Whether every node was read.
    pub fn done(&self) -> bool {
        self.level.is_empty()
    }

    /// The nodes of the next step the store lacks, once each.
    pub fn wanted(&self, store: &ObjectStore) -> Vec<String> {
        let mut out: Vec<String> = self
            .level
            .iter()
            .filter(|p| !self.parsed.contains_key(&p.hash) && !store.contains(&p.hash))
            .map(|p| p.hash.clone())
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// Reads the current level's nodes from `store` (each verified: size, hash, format) and
    /// queues their folders and parts as the next level. A node the store lacks is an error.
    pub fn step(&mut self, store: &ObjectStore) -> Result<()> {
        let level = std::mem::take(&mut self.level);
        for pending in level {
            self.visit(store, pending)?;
        }
        Ok(())
    }

    fn visit(&mut self, store: &ObjectStore, p: Pending) -> Result<()> {
        let invalid = |why: String| Error::InvalidRevision(format!("its tree {why}"));
        if p.depth > MAX_TREE_DEPTH {
            return Err(invalid(format!("is deeper than {MAX_TREE_DEPTH} levels")));
        }
        self.nodes += 1;
        if self.nodes > MAX_TREE_NODES {
            return Err(invalid(format!("has more than {MAX_TREE_NODES} nodes")));
        }
        if !self.parsed.contains_key(&p.hash) {
            let node = read_node(store, &p.hash)?;
            self.parsed.insert(p.hash.clone(), node);
        }
        let (node, len) = &self.parsed[&p.hash];
        self.bytes += len;
        if self.bytes > MAX_TREE_BYTES {
            return Err(invalid(format!(
                "has more than {MAX_TREE_BYTES} bytes of nodes"
            )));
        }
        if !node.entries.is_empty() && !node.parts.is_empty() {
            return Err(invalid("holds a node with both entries and parts".into()));
        }
        self.entries += node.entries.len() + node.parts.len();
        if self.entries > MAX_TREE_ENTRIES {
            return Err(invalid(format!("has more than {MAX_TREE_ENTRIES} entries")));
        }
        let mut next = Vec::new();
        let mut last: Option<&str> = None;
        for part in &node.parts {
            if last.is_some_and(|l| l >= part.first.as_str()) {
                return Err(invalid("lists parts out of order".into()));
            }
            last = Some(&part.first);
            check_child(&p.hash, &part.hash).map_err(invalid)?;
            next.push(Pending {
                hash: part.hash.clone(),
                root: p.root,
                dir: p.dir.clone(),
                depth: p.depth + 1,
            });
        }
        let mut last: Option<&str> = None;
        for e in &node.entries {
            if last.is_some_and(|l| l >= e.name.as_str()) {
                return Err(invalid(format!(
                    "lists `{}` out of order or twice in one node",
                    e.name
                )));
            }
            last = Some(&e.name);
            check_child(&p.hash, &e.hash).map_err(invalid)?;
            let Some(root) = p.root else {
                let root = Root::from_name(&e.name).filter(|_| e.kind == Kind::Dir).ok_or_else(|| {
                    invalid("has a top node entry that is not a root folder (`codex`, `agents`, `tool`)".into())
                })?;
                next.push(Pending {
                    hash: e.hash.clone(),
                    root: Some(root),
                    dir: String::new(),
                    depth: p.depth + 1,
                });
                continue;
            };
            if e.name.is_empty()
                || e.name.len() > MAX_NAME_BYTES
                || e.name == "."
                || e.name == ".."
                || e.name.contains(['/', '\\', '\0'])
            {
                return Err(Error::UnsafePath {
                    path: format!("{}/{}", p.dir, e.name.escape_debug()),
                    reason: "a tree entry's name is not one path segment".into(),
                });
            }
            let path = if p.dir.is_empty() {
                e.name.clone()
            } else {
                format!("{}/{}", p.dir, e.name)
            };
            self.path_bytes += path.len() as u64;
            if self.path_bytes > MAX_TREE_BYTES {
                return Err(invalid(format!(
                    "has paths that add up to more than {MAX_TREE_BYTES} bytes"
                )));
            }
            match e.kind {
                Kind::Dir => next.push(Pending {
                    hash: e.hash.clone(),
                    root: Some(root),
                    dir: path,
                    depth: p.depth + 1,
                }),
                Kind::File | Kind::Link => {
                    let (Some(size), Some(mode), Some(class)) = (e.size, e.mode, e.class) else {
                        return Err(invalid(format!(
                            "lists `{path}` without its size, mode or class"
                        )));
                    };
                    if (e.kind == Kind::Link) != e.link.is_some() {
                        return Err(invalid(format!(
                            "lists `{path}` as a link without a target, or a target on a file"
                        )));
                    }
                    self.files.push(FileEntry {
                        root,
                        path,
                        sha256: e.hash.clone(),
                        size,
                        mode,
                        class,
                        link: e.link.clone(),
                    });
                }
            }
        }
        self.level.extend(next);
        Ok(())
    }

    /// The v1 revision of the walked tree with `mcp` (the manifest object the root names),
    /// checked as any v1 document is ([`Revision::check`]): the content hash must be the
    /// root's `revision`, so the tree is exactly what the master signed a v1 document for.
    pub fn finish(mut self, mcp: McpManifest) -> Result<Revision> {
        debug_assert!(self.done());
        self.files
            .sort_by(|a, b| (a.root, a.path.as_str()).cmp(&(b.root, b.path.as_str())));
        let revision = Revision {
            protocol: PROTOCOL,
            seq: self.root.seq,
            revision: self.root.revision,
            created_at: self.root.created_at,
            master: self.root.master,
            files: self.files,
            mcp,
        };
        revision.check()?;
        Ok(revision)
    }
}

/// A node may not name itself (content addressing makes a cycle impossible; this and the
/// depth limit make sure).
fn check_child(parent: &str, child: &str) -> Result<(), String> {
    if !is_object_name(child) {
        return Err("names an object that is not a hash".into());
    }
    if child == parent {
        return Err("holds a node that lists itself".into());
    }
    Ok(())
}

/// Reads object `hash` from `store`, at most `cap` bytes, and checks its bytes still hash to
/// its name (a torn object is removed, so the next sync fetches it again).
pub fn read_verified(store: &ObjectStore, hash: &str, cap: u64) -> Result<Vec<u8>> {
    let path = store
        .path(hash)
        .map_err(|e| Error::InvalidRevision(e.to_string()))?;
    let len = std::fs::metadata(&path)
        .map_err(|e| Error::io("read", &path, e))?
        .len();
    if len > cap {
        store.remove(hash);
        return Err(Error::InvalidRevision(format!(
            "its object `{hash}` is {len} bytes; at most {cap} are read"
        )));
    }
    let bytes = std::fs::read(&path).map_err(|e| Error::io("read", &path, e))?;
    let actual = sha256_hex(&bytes);
    if actual != hash {
        store.remove(hash);
        return Err(Error::HashMismatch {
            expected: hash.to_owned(),
            actual,
        });
    }
    Ok(bytes)
}

fn read_node(store: &ObjectStore, hash: &str) -> Result<(Node, u64)> {
    let bytes = read_verified(store, hash, MAX_NODE_BYTES)?;
    let node: Node = serde_json::from_slice(&bytes).map_err(|e| {
        Error::InvalidRevision(format!(
            "its tree node `{hash}` {}",
            crate::report::json_problem(&e)
        ))
    })?;
    Ok((node, bytes.len() as u64))
}

/// Reads and parses the manifest object `hash`.
pub fn read_manifest(store: &ObjectStore, hash: &str) -> Result<McpManifest> {
    let bytes = read_verified(store, hash, MAX_MANIFEST_BYTES)?;
    serde_json::from_slice(&bytes).map_err(|e| {
        Error::InvalidRevision(format!(
            "its MCP manifest object {}",
            crate::report::json_problem(&e)
        ))
    })
}

/// Walks `root` entirely from `store` (every node already there: the staged revision),
/// with every check a fetched one gets. Missing nodes are an error.
pub fn walk_local(store: &ObjectStore, root: TreeRoot) -> Result<Revision> {
    let mcp = read_manifest(store, &root.mcp)?;
    let mut walk = Walk::new(root);
    while !walk.done() {
        walk.step(store)?;
    }
    walk.finish(mcp)
}

/// Adds to `marked` every object `root` reaches from `store`: nodes, files, the manifest
/// and its artifacts (`gc`). A node already marked is not read again: its subtree is marked
/// already, so roots that share most of their tree cost one walk and their differences.
pub fn mark_reachable(
    store: &ObjectStore,
    root: &TreeRoot,
    marked: &mut std::collections::HashSet<String>,
) -> Result<()> {
    if !marked.contains(&root.mcp) {
        let mcp = read_manifest(store, &root.mcp)?;
        marked.extend(mcp.objects().map(str::to_owned));
        marked.insert(root.mcp.clone());
    }
    let mut stack = vec![(root.tree.clone(), 0usize)];
    let mut visited = 0usize;
    while let Some((hash, depth)) = stack.pop() {
        if depth > MAX_TREE_DEPTH {
            return Err(Error::InvalidRevision(format!(
                "its tree is deeper than {MAX_TREE_DEPTH} levels"
            )));
        }
        if marked.contains(&hash) {
            continue;
        }
        visited += 1;
        if visited > MAX_TREE_NODES {
            return Err(Error::InvalidRevision(format!(
                "its tree has more than {MAX_TREE_NODES} nodes"
            )));
        }
        let (node, _) = read_node(store, &hash)?;
        for part in node.parts {
            stack.push((part.hash, depth + 1));
        }
        for e in node.entries {
            match e.kind {
                Kind::Dir => stack.push((e.hash, depth + 1)),
                Kind::File => {
                    marked.insert(e.hash);
                }
                Kind::Link => {}
            }
        }
        marked.insert(hash);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::revision::sample;

    fn file(path: &str, n: usize) -> FileEntry {
        FileEntry {
            root: Root::Codex,
            path: path.into(),
            sha256: sha256_hex(format!("{path}{n}").as_bytes()),
            size: 10_000,
            mode: 0o644,
            class: FileClass::Regular,
            link: None,
        }
    }

    fn big_tree(change: usize) -> Vec<FileEntry> {
        let mut files: Vec<FileEntry> = (0..2_000)
            .map(|i| {
                file(
                    &format!("skills/bench/d{:03}/f{i:05}.md", i % 20),
                    usize::from(i == change),
                )
            })
            .collect();
        files.push(file("AGENTS.md", 0));
        files.push(FileEntry {
            link: Some("bench".into()),
            mode: 0o777,
            ..file("skills/alias", 0)
        });
        files.sort_by(|a, b| (a.root, a.path.as_str()).cmp(&(b.root, b.path.as_str())));
        files
    }

    #[test]
    fn a_walk_rebuilds_the_v1_document_and_a_change_costs_one_path() {
        let dir = tempfile::tempdir().unwrap();
        let store = ObjectStore::new(dir.path());
        let key = MasterKey::generate();
        let rev = sample(&key, big_tree(usize::MAX));
        let built = build(&rev, &store, &key).unwrap();
        for n in &built.nodes {
            let len = store.read(n).unwrap().len();
            assert!(len <= PART_MAX + 512, "{len}");
        }
        assert_eq!(walk_local(&store, built.root.clone()).unwrap(), rev);
        // Deterministic.
        let again = build(&rev, &store, &key).unwrap();
        assert_eq!(again.signed, built.signed);

        let changed = sample(&key, big_tree(1_234));
        let after = build(&changed, &store, &key).unwrap();
        let new: Vec<&String> = after
            .nodes
            .iter()
            .filter(|n| !built.nodes.contains(n))
            .collect();
        let bytes: usize = new.iter().map(|n| store.read(n).unwrap().len()).sum();
        assert!(bytes <= 16 * 1024, "{} new nodes, {bytes} bytes", new.len());
        assert_eq!(walk_local(&store, after.root).unwrap(), changed);
    }

    #[test]
    fn hostile_nodes_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = ObjectStore::new(dir.path());
        let key = MasterKey::generate();
        let rev = sample(&key, vec![file("AGENTS.md", 0)]);
        let built = build(&rev, &store, &key).unwrap();
        let walk = |top: &Node| {
            let tree = store.put(&top.bytes()).unwrap();
            let root = TreeRoot {
                tree,
                ..built.root.clone()
            };
            walk_local(&store, root).unwrap_err().to_string()
        };
        let codex = |entries: Vec<NodeEntry>| {
            let hash = store
                .put(
                    &Node {
                        entries,
                        parts: vec![],
                    }
                    .bytes(),
                )
                .unwrap();
            Node {
                entries: vec![dir_entry("codex", hash)],
                parts: vec![],
            }
        };
        let f = |name: &str| NodeEntry {
            name: name.into(),
            kind: Kind::File,
            hash: "a".repeat(64),
            size: Some(1),
            mode: Some(0o644),
            class: Some(FileClass::Regular),
            link: None,
        };
        assert!(walk(&codex(vec![f("..")])).contains("not one path segment"));
        assert!(walk(&codex(vec![f("a/b")])).contains("not one path segment"));
        assert!(walk(&codex(vec![f("b"), f("a")])).contains("out of order"));
        assert!(walk(&codex(vec![f("a"), f("a")])).contains("twice"));
        assert!(
            walk(&Node {
                entries: vec![f("etc")],
                parts: vec![]
            })
            .contains("not a root folder")
        );
        // A chain deeper than the limit (each level a new node).
        let mut hash = store.put(&Node::default().bytes()).unwrap();
        for i in 0..=MAX_TREE_DEPTH {
            hash = store
                .put(
                    &Node {
                        entries: vec![dir_entry(&format!("d{i}"), hash)],
                        parts: vec![],
                    }
                    .bytes(),
                )
                .unwrap();
        }
        assert!(
            walk(&Node {
                entries: vec![dir_entry("codex", hash)],
                parts: vec![]
            })
            .contains("deeper than")
        );
        // Fan-out through one node reused: counted per visit, so it ends at the limits.
        let mut hash = store
            .put(
                &Node {
                    entries: vec![f("x")],
                    parts: vec![],
                }
                .bytes(),
            )
            .unwrap();
        for i in 0..40 {
            let entries = (0..2)
                .map(|j| dir_entry(&format!("{i}-{j}"), hash.clone()))
                .collect();
            hash = store
                .put(
                    &Node {
                        entries,
                        parts: vec![],
                    }
                    .bytes(),
                )
                .unwrap();
        }
        let err = walk(&Node {
            entries: vec![dir_entry("codex", hash)],
            parts: vec![],
        });
        assert!(err.contains("more than"), "{err}");
        // A node too large is not read; one whose bytes do not match its name is removed.
        let huge = NodeEntry {
            name: "x".repeat(MAX_NODE_BYTES as usize),
            ..f("x")
        };
        assert!(walk(&codex(vec![huge])).contains("at most"));
        let torn = store.put(b"{}").unwrap();
        std::fs::write(store.path(&torn).unwrap(), b"{\"entries\":[]}").unwrap();
        let err = walk(&Node {
            entries: vec![dir_entry("codex", torn.clone())],
            parts: vec![],
        });
        assert!(err.contains("hash"), "{err}");
        assert!(!store.contains(&torn));
    }
}
