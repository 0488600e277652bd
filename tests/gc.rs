//! Object store garbage collection on both sides: the store stops growing over 100 revisions,
//! nothing a kept revision needs goes, and what `codexport gc` reports.

use std::fs;
use std::path::Path;
use std::sync::Arc;

use codexport_core::follower::{self, JoinRequest, SyncOptions};
use codexport_core::gc::{self, GcOptions};
use codexport_core::identity::Identity;
use codexport_core::lock::INTERACTIVE_WAIT;
use codexport_core::master::publish::Publisher;
use codexport_core::mcp::export::PlainExport;
use codexport_core::settings::MasterSettings;
use codexport_core::store::ObjectStore;
use codexport_test_support::fake_master;
use codexport_test_support::raw_http::{self, answer};
use codexport_test_support::{TestContext, bins, output};

/// (objects, bytes) in a store.
fn store_size(objects: &Path) -> (usize, u64) {
    let mut count = 0;
    let mut bytes = 0;
    for dir in fs::read_dir(objects).unwrap() {
        let dir = dir.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        for f in fs::read_dir(&dir).unwrap() {
            let meta = f.unwrap().metadata().unwrap();
            count += 1;
            bytes += meta.len();
        }
    }
    (count, bytes)
}

fn options(keep: usize) -> GcOptions {
    GcOptions {
        dry_run: false,
        keep,
        budget: None,
        lock_wait: INTERACTIVE_WAIT,
    }
}

fn seed(ctx: &TestContext) {
    for i in 0..60 {
        ctx.master.write_codex(
            &format!("skills/s{}/f{i:03}.md", i % 4),
            format!("file {i}\n").repeat(40),
        );
    }
}

#[test]
fn a_master_store_stops_growing_over_100_revisions() {
    let ctx = TestContext::new(bins!());
    seed(&ctx);
    output(ctx.master_cmd().args(["master", "init"]), 0);
    let homes = ctx.master.homes();
    let mut publisher =
        Publisher::new(&homes, &MasterSettings::default(), Arc::new(PlainExport)).unwrap();
    let mut sizes = Vec::new();
    for i in 0..100 {
        ctx.master
            .write_codex("skills/s1/changing.md", format!("revision {i:03}\n"));
        assert!(publisher.rebuild().unwrap().changed);
        let report = gc::collect(&homes, options(3)).unwrap();
        assert_eq!(report.kept_revisions.len(), 3.min(i + 1), "{report:?}");
        assert!(report.unreadable.is_empty(), "{report:?}");
        sizes.push(store_size(&homes.objects()));
    }
    assert!(sizes[0].0 < sizes[3].0, "{sizes:?}");
    assert_eq!(sizes[10], sizes[99], "the store grew after revision 10");
    assert_eq!(
        fs::read_dir(homes.revisions()).unwrap().count(),
        3,
        "revisions past --keep are dropped"
    );

    // What is kept still serves: a follower joins and gets every file.
    ctx.master
        .write_codex("skills/s1/changing.md", "after gc\n");
    drop(publisher);
    let mut ctx = ctx;
    ctx.join(&["--apply"]);
    assert_eq!(
        ctx.follower.read_codex("skills/s1/changing.md"),
        "after gc\n"
    );
    assert_eq!(
        ctx.follower.read_codex("skills/s0/f000.md"),
        "file 0\n".repeat(40)
    );
    ctx.stop_master();

    // An old object no revision needs goes; `--dry-run` only says so.
    let orphan = ctx.master.tool.join("objects/00").join("0".repeat(62));
    fs::create_dir_all(orphan.parent().unwrap()).unwrap();
    fs::write(&orphan, "orphan").unwrap();
    let dry = output(ctx.master_cmd().args(["gc", "--dry-run", "--keep", "3"]), 0);
    assert!(orphan.exists());
    let real = output(ctx.master_cmd().args(["gc", "--keep", "3"]), 0);
    assert!(!orphan.exists());
    let again = output(ctx.master_cmd().args(["gc", "--keep", "3"]), 0);
    codexport_test_support::insta::assert_snapshot!(
        "master_gc",
        format!(
            "$ codexport gc --dry-run --keep 3\n{}$ codexport gc --keep 3\n{}$ codexport gc --keep 3\n{}",
            dry.stdout, real.stdout, again.stdout
        )
    );
}

/// A minimal master on 127.0.0.1:`port` serving v2 straight from the master's files: `/v1/meta`,
/// `/v2/root` (its newest root in `revisions/`), `POST /v2/objects` from its store. The real
/// server publishes only through its watcher; this one serves each revision the test's
/// publisher signs at once, so 100 revisions take seconds.
fn serve_from_files(port: u16, homes: codexport_core::Homes) {
    let key = Identity::load_master(&homes).unwrap();
    let meta = fake_master::meta(&key, &key.fingerprint);
    raw_http::serve(port, move |request, stream| {
        let store = ObjectStore::new(homes.objects());
        if request.is("GET", "/v1/meta") {
            answer(stream, "200 OK", "application/json", &meta);
        } else if request.is("GET", "/v2/root") {
            let newest = fs::read_dir(homes.revisions())
                .unwrap()
                .map(|e| e.unwrap().path())
                .max_by_key(|p| {
                    p.file_stem()
                        .unwrap()
                        .to_str()
                        .unwrap()
                        .parse::<u64>()
                        .unwrap()
                })
                .unwrap();
            answer(
                stream,
                "200 OK",
                "application/json",
                &fs::read(newest).unwrap(),
            );
        } else if request.is("POST", "/v2/objects") {
            let frames =
                fake_master::object_frames(&request.body, |hash| store.read(hash).unwrap());
            answer(stream, "200 OK", "application/x-codexport-objects", &frames);
        } else {
            answer(stream, "404 Not Found", "text/plain", b"");
        }
    });
}

#[test]
fn a_follower_store_stops_growing_over_100_revisions() {
    let ctx = TestContext::new(bins!());
    seed(&ctx);
    output(ctx.master_cmd().args(["master", "init"]), 0);
    let master = ctx.master.homes();
    let mut publisher =
        Publisher::new(&master, &MasterSettings::default(), Arc::new(PlainExport)).unwrap();
    publisher.rebuild().unwrap();
    serve_from_files(ctx.port, master.clone());
    let key = Identity::load_master(&master).unwrap();
    let homes = ctx.follower.homes();
    let apply = SyncOptions {
        apply: true,
        ..SyncOptions::default()
    };
    let request = JoinRequest {
        url: ctx.master_url(),
        fingerprint: key.fingerprint.clone(),
        token: "t".into(),
    };
    follower::join(&homes, &request, apply).unwrap();
    let objects = homes.objects();
    let mut sizes = Vec::new();
    for i in 0..100 {
        let text = format!("revision {i:03}\n");
        ctx.master.write_codex("skills/s1/changing.md", &text);
        assert!(publisher.rebuild().unwrap().changed);
        let outcome = follower::sync(&homes, apply).unwrap();
        assert!(outcome.new_revision, "revision {i}");
        let collected = outcome.collected.expect("an apply collects");
        assert!(collected.unreadable.is_empty(), "{collected:?}");
        assert_eq!(ctx.follower.read_codex("skills/s1/changing.md"), text);
        sizes.push(store_size(&objects));
    }
    // Each apply collects, keeping 10 revisions: after 11 the store holds as much as ever.
    let steady = sizes[20];
    assert!(sizes[5].0 < steady.0, "{sizes:?}");
    assert!(
        sizes[20..].iter().all(|s| s.0 == steady.0),
        "the follower's store kept growing: {sizes:?}"
    );
    let report = output(ctx.follower_cmd().args(["gc", "--json"]), 0);
    let report: serde_json::Value = serde_json::from_str(&report.stdout).unwrap();
    assert_eq!(report["role"], "follower");
    assert_eq!(report["removed_objects"], 0, "{report}");
    assert_eq!(
        report["kept_revisions"].as_array().unwrap().len(),
        10,
        "{report}"
    );
    // Fewer kept revisions: the objects only older ones needed go, and apply still works.
    let fewer = output(ctx.follower_cmd().args(["gc", "--keep", "1"]), 0);
    assert!(fewer.stdout.contains("removed"), "{}", fewer.stdout);
    assert!(store_size(&objects).0 < steady.0);
    output(ctx.follower_cmd().arg("apply"), 0);
}
