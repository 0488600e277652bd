//! A hostile master against the follower's tree: chained links, writes through links, the tool
//! root, modes and classes, a path listed as both file and folder. The master is a small fake
//! server on 127.0.0.1 speaking protocol v1, and v2 (tree roots and nodes built from the same
//! revision) in the second run of every class, that signs with a real master key (made by
//! `codexport master init`), so only the follower's own checks stand between it and the disk.
// Unix only: every class here is a symlink or a mode (Windows' own checks: core's unit tests
// under wine).
#![cfg(unix)]

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use codexport_core::identity::{Identity, MasterKey};
use codexport_core::master::selection::{FileClass, Root};
use codexport_core::revision::FileEntry;
use codexport_core::store::{ObjectStore, sha256_hex};
use codexport_core::tree;
use codexport_test_support::fake_master;
use codexport_test_support::raw_http::{self, answer};
use codexport_test_support::{Ran, TestContext, assert_transcript, bins, output, run};

/// What the fake master serves right now: the signed envelope and the objects it references.
#[derive(Default)]
struct Served {
    envelope: Vec<u8>,
    /// The v2 root, when this fake master speaks v2 (else `/v2/root` is a `404`).
    root: Option<Vec<u8>>,
    objects: HashMap<String, Vec<u8>>,
}

/// One file of a hostile revision, with the bytes its object holds (`None` for a link).
struct Listed {
    entry: FileEntry,
    bytes: Option<Vec<u8>>,
}

fn file(root: Root, path: &str, bytes: &[u8], mode: u32, class: FileClass) -> Listed {
    Listed {
        entry: FileEntry {
            root,
            path: path.into(),
            sha256: sha256_hex(bytes),
            size: bytes.len() as u64,
            mode,
            class,
            link: None,
        },
        bytes: Some(bytes.to_vec()),
    }
}

fn codex(path: &str, bytes: &[u8]) -> Listed {
    file(Root::Codex, path, bytes, 0o644, FileClass::Regular)
}

fn link(root: Root, path: &str, target: &str) -> Listed {
    Listed {
        entry: FileEntry {
            root,
            path: path.into(),
            sha256: sha256_hex(target.as_bytes()),
            size: target.len() as u64,
            mode: 0o777,
            class: FileClass::Regular,
            link: Some(target.into()),
        },
        bytes: None,
    }
}

/// A follower joined to a fake master that holds a real master key.
struct Hostile {
    ctx: TestContext,
    key: MasterKey,
    served: Arc<Mutex<Served>>,
    seq: u64,
    /// Whether it serves v2 tree roots (each class runs on both protocols).
    v2: bool,
    /// Where its tree nodes are built (outside the test's homes).
    store: tempfile::TempDir,
}

impl Hostile {
    /// Joins (and applies) a first, harmless revision: `AGENTS.md` and `prompts/p.md`; a `v2`
    /// master serves tree roots, another only v1.
    fn new(v2: bool) -> Self {
        let ctx = TestContext::new(bins!());
        output(ctx.master_cmd().args(["master", "init"]), 0);
        let key = Identity::load_master(&ctx.master.homes()).unwrap();
        let served = Arc::new(Mutex::new(Served::default()));
        serve(ctx.port, &key, served.clone());
        let mut hostile = Self {
            ctx,
            key,
            served,
            seq: 0,
            v2,
            store: tempfile::tempdir().unwrap(),
        };
        hostile.publish(vec![]);
        let link = codexport_core::link::JoinLink {
            host: "127.0.0.1".into(),
            port: hostile.ctx.port,
            fingerprint: hostile.key.fingerprint.clone(),
            token: "t".into(),
            // A plain-HTTP fake master: a version 1 link.
            version: codexport_core::link::PLAIN_LINK_VERSION,
        }
        .to_link();
        output(
            hostile
                .ctx
                .follower_cmd()
                .args(["follower", "join", &link, "--apply"]),
            0,
        );
        assert_eq!(hostile.ctx.follower.read_codex("prompts/p.md"), "canon\n");
        hostile
    }

    /// Serves the next revision: the harmless files plus `extra`, signed with the real key.
    fn publish(&mut self, extra: Vec<Listed>) {
        self.seq += 1;
        let mut listed = vec![
            codex("AGENTS.md", b"be kind\n"),
            codex("prompts/p.md", b"canon\n"),
        ];
        listed.extend(extra);
        listed.sort_by(|a, b| (a.entry.root, &a.entry.path).cmp(&(b.entry.root, &b.entry.path)));
        let mut objects = HashMap::new();
        for l in &listed {
            if let Some(bytes) = &l.bytes {
                objects.insert(l.entry.sha256.clone(), bytes.clone());
            }
        }
        let files: Vec<FileEntry> = listed.into_iter().map(|l| l.entry).collect();
        let revision = fake_master::revision(&self.key.fingerprint, self.seq, files);
        // A revision with a path below a file or link has no tree (a node would list one name
        // twice): such a class is served as v1 here, and its v2 form is
        // `a_v2_node_listing_a_name_twice_is_invalid`.
        let store = ObjectStore::new(self.store.path());
        let root = match tree::build(&revision, &store, &self.key) {
            Ok(built) if self.v2 => {
                for node in &built.nodes {
                    objects.insert(node.clone(), store.read(node).unwrap());
                }
                Some(built.signed)
            }
            _ => None,
        };
        *self.served.lock().unwrap() = Served {
            envelope: revision.sign(&self.key).to_bytes(),
            root,
            objects,
        };
    }

    /// `sync --apply` against what is served now.
    fn sync(&self) -> Ran {
        run(self.ctx.follower_cmd().args(["sync", "--apply"]))
    }

    fn codex(&self) -> &Path {
        &self.ctx.follower.codex
    }

    /// Every file in the test's temp dir with its bytes and mode (links as `-> target`),
    /// except the follower's own bookkeeping (objects, staged revision, state, logs) and the
    /// master's server log: what a refused revision must leave exactly as it was.
    fn everything(&self) -> BTreeMap<String, String> {
        let top = self.ctx.dir.path();
        let tool = self
            .ctx
            .follower
            .tool
            .strip_prefix(top)
            .unwrap()
            .to_path_buf();
        tree(top)
            .into_iter()
            .filter(|(rel, _)| {
                let rel = Path::new(rel);
                !rel.starts_with(&tool)
                    || rel.starts_with(tool.join("bin"))
                    || rel.starts_with(tool.join("resolvers"))
            })
            .collect()
    }

    /// Serves `extra`, syncs, and checks that the sync is refused with `code` and changes
    /// nothing anywhere; snapshots its output as `snapshot`.
    fn refused(&mut self, extra: Vec<Listed>, code: i32, snapshot: &str) {
        let before = self.everything();
        self.publish(extra);
        let ran = self.sync();
        assert_eq!(ran.code, code, "{snapshot}:\n{}", ran.transcript());
        assert_eq!(self.everything(), before, "{snapshot}: files changed");
        assert_transcript!(snapshot, ran);
    }
}

/// Every entry under `dir` (not following links) with its content and mode.
fn tree(dir: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            let rel = path
                .strip_prefix(dir)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let meta = fs::symlink_metadata(&path).unwrap();
            let what = if meta.file_type().is_symlink() {
                format!("-> {}", fs::read_link(&path).unwrap().display())
            } else if meta.is_dir() {
                todo.push(path.clone());
                format!("dir {:o}", mode(&path))
            } else {
                format!(
                    "{:o} {}",
                    mode(&path),
                    String::from_utf8_lossy(&fs::read(&path).unwrap())
                )
            };
            out.insert(rel, what);
        }
    }
    out
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    fs::symlink_metadata(path).unwrap().permissions().mode() & 0o7777
}

/// The fake master on `port`: `/v1/meta`, `/v1/revision`, `/v2/root` (when it speaks v2),
/// `POST /v1/objects` and `POST /v2/objects` from `served`.
fn serve(port: u16, key: &MasterKey, served: Arc<Mutex<Served>>) {
    let meta = fake_master::meta(key, &key.fingerprint);
    raw_http::serve(port, move |request, stream| {
        let served = served.lock().unwrap();
        if request.is("GET", "/v1/meta") {
            answer(stream, "200 OK", "application/json", &meta);
        } else if request.is("GET", "/v1/revision") {
            answer(stream, "200 OK", "application/json", &served.envelope);
        } else if let Some(root) = served
            .root
            .as_ref()
            .filter(|_| request.is("GET", "/v2/root"))
        {
            answer(stream, "200 OK", "application/json", root);
        } else if request.is("POST", "/v1/objects") || request.is("POST", "/v2/objects") {
            let frames =
                fake_master::object_frames(&request.body, |hash| served.objects[hash].clone());
            answer(stream, "200 OK", "application/x-codexport-objects", &frames);
        } else {
            answer(stream, "404 Not Found", "text/plain", b"");
        }
    });
}

#[cfg(unix)]
fn local_link(target: &str, at: PathBuf) {
    fs::create_dir_all(at.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(target, at).unwrap();
}

#[cfg(unix)]
#[test]
fn chained_links_are_resolved_one_link_at_a_time() {
    for v2 in [false, true] {
        let mut h = Hostile::new(v2);
        // Each target stays inside lexically; followed through the links before it, `d` leaves
        // the Codex home (and `skills/d/pwned` would be written through it).
        let chain = || {
            vec![
                link(Root::Codex, "skills/a", "../skills"),
                link(Root::Codex, "skills/b", "a/.."),
                link(Root::Codex, "skills/c", "b/.."),
                link(Root::Codex, "skills/d", "c/../outside"),
            ]
        };
        let mut with_file = chain();
        with_file.push(codex("skills/d/pwned", b"pwned\n"));
        h.refused(with_file, 7, "chained_links_with_a_file_through_them");
        h.refused(chain(), 7, "chained_links");
        // Deeper, so that no link lands on the root itself: `b` is `skills/p` lexically, and
        // outside the root once `a` is followed.
        h.refused(
            vec![
                link(Root::Codex, "skills/p/q/a", ".."),
                link(Root::Codex, "skills/p/q/b", "a/../../.."),
            ],
            7,
            "chained_links_deeper",
        );
        assert!(!h.ctx.dir.path().join("outside").exists());
        assert!(!h.ctx.follower.user.join("outside").exists());
    }
}

#[cfg(unix)]
#[test]
fn links_already_on_disk_are_followed_too() {
    for v2 in [false, true] {
        let mut h = Hostile::new(v2);
        // The user's own link to the Codex home itself: a revision link through it leaves.
        local_link("..", h.codex().join("skills/up"));
        h.refused(
            vec![link(Root::Codex, "skills/esc", "up/../outside")],
            7,
            "a_link_escaping_through_a_link_on_disk",
        );
        assert!(fs::symlink_metadata(h.codex().join("skills/esc")).is_err());
    }
}

#[cfg(unix)]
#[test]
fn nothing_is_written_through_a_link() {
    for v2 in [false, true] {
        let mut h = Hostile::new(v2);
        h.refused(
            vec![
                link(Root::Codex, "skills/l", "../prompts"),
                codex("skills/l/p.md", b"pwned\n"),
            ],
            7,
            "a_file_under_a_link_of_the_revision",
        );
        h.refused(
            vec![
                link(Root::Tool, "resolvers/x", "../bin"),
                file(
                    Root::Tool,
                    "resolvers/x/planted.sh",
                    b"#!/bin/sh\n",
                    0o755,
                    FileClass::Regular,
                ),
            ],
            7,
            "a_tool_file_under_a_link_of_the_revision",
        );
        assert!(!h.ctx.follower.tool.join("bin/planted.sh").exists());
        assert_eq!(h.ctx.follower.read_codex("prompts/p.md"), "canon\n");

        // A link the user made on this machine is not written through either.
        local_link("../prompts", h.codex().join("skills/l"));
        h.refused(
            vec![codex("skills/l/p.md", b"pwned\n")],
            4,
            "a_file_under_a_link_on_disk",
        );
        assert_eq!(h.ctx.follower.read_codex("prompts/p.md"), "canon\n");
    }
}

#[cfg(unix)]
#[test]
fn the_tool_root_holds_flat_wasm_files_only() {
    for v2 in [false, true] {
        let mut h = Hostile::new(v2);
        for (path, snapshot) in [
            ("resolvers/evil.sh", "tool_root_not_wasm"),
            ("resolvers/sub/deep.wasm", "tool_root_not_flat"),
        ] {
            h.refused(
                vec![file(Root::Tool, path, b"\0asm", 0o755, FileClass::Regular)],
                7,
                snapshot,
            );
        }
        // A link among the resolvers stays among them.
        h.refused(
            vec![link(
                Root::Tool,
                "resolvers/a.wasm",
                "../bin/codexport-mcp-run",
            )],
            7,
            "tool_root_link_out_of_resolvers",
        );
        assert!(!h.ctx.follower.tool.join("resolvers").exists());
    }
}

#[cfg(unix)]
#[test]
fn modes_and_classes_are_the_followers_decision() {
    for v2 in [false, true] {
        let mut h = Hostile::new(v2);
        h.publish(vec![
            file(
                Root::Codex,
                "prompts/run.sh",
                b"#!/bin/sh\n",
                0o777,
                FileClass::Regular,
            ),
            file(
                Root::Codex,
                "hooks/s.sh",
                b"#!/bin/sh\n",
                0o6777,
                FileClass::Regular,
            ),
            file(
                Root::Codex,
                "prompts/ro.md",
                b"ro\n",
                0o1444,
                FileClass::Regular,
            ),
            file(
                Root::Codex,
                "auth.json",
                b"{\"k\":\"sk-x\"}",
                0o644,
                FileClass::Regular,
            ),
            file(
                Root::Codex,
                "multi-auth/a.json",
                b"{}",
                0o666,
                FileClass::Regular,
            ),
            file(
                Root::Agents,
                "skills/s/SKILL.md",
                b"s\n",
                0o666,
                FileClass::Regular,
            ),
        ]);
        let ran = h.sync();
        assert_eq!(ran.code, 0, "{}", ran.transcript());
        let codex = h.codex();
        assert_eq!(mode(&codex.join("prompts/run.sh")), 0o755);
        assert_eq!(mode(&codex.join("hooks/s.sh")), 0o755);
        assert_eq!(mode(&codex.join("prompts/ro.md")), 0o644);
        assert_eq!(mode(&codex.join("auth.json")), 0o600);
        assert_eq!(mode(&codex.join("multi-auth/a.json")), 0o600);
        assert_eq!(
            mode(&h.ctx.follower.user.join(".agents/skills/s/SKILL.md")),
            0o644
        );
        for dir in ["prompts", "hooks", "multi-auth"] {
            assert_eq!(
                mode(&codex.join(dir)) & 0o022,
                0,
                "{dir} is group/other-writable"
            );
        }
    }
}

#[cfg(unix)]
#[test]
fn runtime_state_is_refused_in_the_codex_home() {
    for v2 in [false, true] {
        let mut h = Hostile::new(v2);
        for (path, snapshot) in [
            ("history.jsonl", "runtime_state_history"),
            (
                "sessions/2026/01/01/rollout.jsonl",
                "runtime_state_sessions",
            ),
            ("state_5.sqlite", "runtime_state_sqlite"),
            ("log/codex-tui.log", "runtime_state_log"),
            ("skills/.system/x/SKILL.md", "runtime_state_system_skills"),
        ] {
            h.refused(vec![codex(path, b"{}\n")], 7, snapshot);
        }
    }
}

#[cfg(unix)]
#[test]
fn a_path_listed_as_both_file_and_folder_is_invalid() {
    let mut h = Hostile::new(false);
    h.refused(
        vec![codex("rules/x", b"x\n"), codex("rules/x/y", b"y\n")],
        7,
        "file_and_folder",
    );
    assert!(!h.codex().join("rules").exists());
}

/// v2's form of the class above: a node that lists one name twice (as a file and as a
/// folder) is invalid (exit 7), nothing written.
#[test]
fn a_v2_node_listing_a_name_twice_is_invalid() {
    use codexport_core::revision::SignedRevision;
    use codexport_core::tree::{Kind, Node, NodeEntry, PROTOCOL_V2, TreeRoot};
    let mut h = Hostile::new(true);
    let before = h.everything();
    h.publish(vec![]);
    let mut served = h.served.lock().unwrap();
    let root: TreeRoot = serde_json::from_str(
        &SignedRevision::parse(served.root.as_ref().unwrap())
            .unwrap()
            .document,
    )
    .unwrap();
    served.objects.insert(sha256_hex(b"y\n"), b"y\n".to_vec());
    let mut put = |node: &Node| {
        let bytes = serde_json::to_vec(node).unwrap();
        let hash = sha256_hex(&bytes);
        served.objects.insert(hash.clone(), bytes);
        hash
    };
    let y = NodeEntry {
        name: "y".into(),
        kind: Kind::File,
        hash: sha256_hex(b"y\n"),
        size: Some(2),
        mode: Some(0o644),
        class: Some(FileClass::Regular),
        link: None,
    };
    let folder = put(&Node {
        entries: vec![y.clone()],
        parts: vec![],
    });
    let x_dir = NodeEntry {
        name: "x".into(),
        kind: Kind::Dir,
        hash: folder,
        size: None,
        mode: None,
        class: None,
        link: None,
    };
    let x_file = NodeEntry {
        name: "x".into(),
        ..y.clone()
    };
    let rules = put(&Node {
        entries: vec![x_dir, x_file],
        parts: vec![],
    });
    let codex = put(&Node {
        entries: vec![NodeEntry {
            name: "rules".into(),
            kind: Kind::Dir,
            hash: rules,
            size: None,
            mode: None,
            class: None,
            link: None,
        }],
        parts: vec![],
    });
    let top = put(&Node {
        entries: vec![NodeEntry {
            name: "codex".into(),
            kind: Kind::Dir,
            hash: codex,
            size: None,
            mode: None,
            class: None,
            link: None,
        }],
        parts: vec![],
    });
    let root = TreeRoot {
        seq: root.seq + 1,
        tree: top,
        ..root
    };
    let document = serde_json::to_string(&root).unwrap();
    served.root = Some(
        SignedRevision {
            protocol: PROTOCOL_V2,
            signature: h.key.sign(document.as_bytes()),
            document,
        }
        .to_bytes(),
    );
    drop(served);
    let ran = h.sync();
    assert_eq!(ran.code, 7, "{}", ran.transcript());
    assert!(
        ran.stderr.contains("out of order or twice"),
        "{}",
        ran.stderr
    );
    assert_eq!(h.everything(), before);
    assert!(!h.codex().join("rules").exists());
}
