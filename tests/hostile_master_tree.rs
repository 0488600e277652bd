//! A master publishes its selection and nothing else, on every path (full scan and watcher):
//! links out of the Codex home, links to the master's own home, `follow_links`, an idle master
//! that settles, and one `seq` per revision while `master rebuild` and `serve` both publish.
// Unix only: symlinks out of the Codex home, and the idle checks read Linux's /proc.
#![cfg(unix)]

use std::fs;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use codexport_core::master::publish::load_published;
use codexport_core::revision::Revision;
use codexport_test_support::{TestContext, bins, output, run, write};

/// The master's last published revision, as `serve` or `rebuild` wrote it.
fn published(ctx: &TestContext) -> Revision {
    load_published(&ctx.master.homes())
        .unwrap()
        .expect("the master published a revision")
        .revision
}

fn paths(rev: &Revision) -> Vec<String> {
    rev.files.iter().map(|f| f.path.clone()).collect()
}

/// Waits until the published revision satisfies `done` (or panics with the server log).
fn wait_for(ctx: &TestContext, what: &str, done: impl Fn(&Revision) -> bool) -> Revision {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let rev = published(ctx);
        if done(&rev) {
            return rev;
        }
        assert!(
            Instant::now() < deadline,
            "never {what}; last {:?}\n{}",
            paths(&rev),
            ctx.master_log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Every path under `dir`, relative, not following links.
fn tree(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = fs::read_dir(&d) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            out.push(
                path.strip_prefix(dir)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned(),
            );
            if fs::symlink_metadata(&path).unwrap().is_dir() {
                stack.push(path);
            }
        }
    }
    out.sort();
    out
}

/// Busy work that only opens and reads: what any process reading a skill does.
fn read_everything(dir: &Path) {
    for rel in tree(dir) {
        let _ = fs::read(dir.join(rel));
    }
}

#[cfg(unix)]
#[test]
fn a_link_to_etc_or_outside_is_never_published_not_even_by_the_watcher() {
    let mut ctx = TestContext::new(bins!());
    ctx.master.write_codex("AGENTS.md", "be kind\n");
    ctx.master.write_codex("skills/real/SKILL.md", "real\n");
    let outside = ctx.dir.path().join("outside");
    write(&outside.join("planted.txt"), "secret v1\n");
    std::os::unix::fs::symlink("/etc", ctx.master.codex.join("skills/escape-link")).unwrap();
    std::os::unix::fs::symlink(&outside, ctx.master.codex.join("skills/out")).unwrap();
    ctx.join(&["--apply"]);

    // The watcher sees changes behind both links (were it following them) and processes
    // starting (which open `/etc/ld.so.cache`); then a real change it must publish.
    for i in 0..5 {
        write(&outside.join("planted.txt"), format!("secret v{i}\n"));
        write(&outside.join(format!("new-{i}.txt")), "more\n");
        let _ = run(std::process::Command::new("true").stdin(Stdio::null()));
        std::thread::sleep(Duration::from_millis(100));
    }
    ctx.master
        .write_codex("skills/real/SKILL.md", "real, edited\n");
    let rev = wait_for(&ctx, "published the edit", |r| {
        r.files
            .iter()
            .any(|f| f.path == "skills/real/SKILL.md" && f.size == 13)
    });
    std::thread::sleep(Duration::from_millis(800));
    let rev = published(&ctx).max_seq(rev);
    let leaked: Vec<_> = paths(&rev)
        .into_iter()
        .filter(|p| p.starts_with("skills/escape-link") || p.starts_with("skills/out"))
        .collect();
    assert!(
        leaked.is_empty(),
        "published {leaked:?}\n{}",
        ctx.master_log()
    );

    output(ctx.follower_cmd().args(["sync", "--apply"]), 0);
    let got = tree(&ctx.follower.codex.join("skills"));
    assert_eq!(got, ["real", "real/SKILL.md"], "{got:?}");
    assert_eq!(
        ctx.follower.read_codex("skills/real/SKILL.md"),
        "real, edited\n"
    );
}

#[cfg(unix)]
#[test]
fn a_link_to_the_master_home_never_hands_out_its_tool_home() {
    let mut ctx = TestContext::new(bins!());
    ctx.master.write_codex("AGENTS.md", "be kind\n");
    ctx.master.write_codex(
        "config.toml",
        "[mcp_servers.s]\ncommand = \"node\"\nenv = { API_TOKEN = \"sk-raw-secret\" }\n",
    );
    fs::create_dir_all(ctx.master.codex.join("skills")).unwrap();
    std::os::unix::fs::symlink(&ctx.master.user, ctx.master.codex.join("skills/home")).unwrap();
    // Joining writes `followers.json` (and the server its hash cache and revisions): a watcher
    // following the link sees every one of those writes.
    ctx.join(&["--apply"]);
    ctx.link("second");
    ctx.master.write_codex("AGENTS.md", "be kinder\n");
    let rev = wait_for(&ctx, "published the edit", |r| {
        r.files
            .iter()
            .any(|f| f.path == "AGENTS.md" && f.size == 10)
    });
    std::thread::sleep(Duration::from_millis(800));
    let rev = published(&ctx).max_seq(rev);
    let leaked: Vec<_> = paths(&rev)
        .into_iter()
        .filter(|p| p.starts_with("skills/home"))
        .collect();
    assert!(
        leaked.is_empty(),
        "published {leaked:?}\n{}",
        ctx.master_log()
    );

    output(ctx.follower_cmd().args(["sync", "--apply"]), 0);
    let follower = tree(&ctx.follower.codex);
    assert!(
        !follower.iter().any(|p| p.contains("followers.json")),
        "{follower:?}"
    );
    assert!(
        !ctx.follower.codex.join("skills/home").exists(),
        "{follower:?}"
    );
    for rel in &follower {
        let path = ctx.follower.codex.join(rel);
        if path.is_file() {
            let text = fs::read_to_string(&path).unwrap_or_default();
            assert!(
                !text.contains("sk-raw-secret"),
                "`{rel}` carries the secret"
            );
        }
    }
}

#[cfg(unix)]
#[test]
fn follow_links_publishes_a_dotfiles_skill_and_says_what_it_skipped() {
    let mut ctx = TestContext::new(bins!());
    let dotfiles = ctx.master.user.join("dotfiles/skills");
    write(&dotfiles.join("x/SKILL.md"), "from dotfiles\n");
    write(
        &dotfiles.join("x/auth.json"),
        "{\"token\": \"not for a skill\"}\n",
    );
    let elsewhere = ctx.master.user.join("elsewhere/y");
    write(&elsewhere.join("SKILL.md"), "not listed\n");
    ctx.master.write_codex("AGENTS.md", "be kind\n");
    fs::create_dir_all(ctx.master.codex.join("skills")).unwrap();
    std::os::unix::fs::symlink(dotfiles.join("x"), ctx.master.codex.join("skills/x")).unwrap();
    std::os::unix::fs::symlink("../../elsewhere/y", ctx.master.codex.join("skills/y")).unwrap();
    output(ctx.master_cmd().args(["master", "init"]), 0);

    // Without `follow_links`: both skipped, and said so.
    let ran = output(ctx.master_cmd().args(["master", "rebuild"]), 0);
    assert!(
        ran.stderr.contains(
            "warning: skipped 2 links leaving the Codex home; list them in `follow_links`"
        ),
        "{}",
        ran.stderr
    );
    let status = output(ctx.master_cmd().args(["status"]), 0);
    assert!(
        status
            .stdout
            .contains("skipped 2 links leaving the Codex home; list them in `follow_links`"),
        "{}",
        status.stdout
    );

    let toml = ctx.master.tool.join("master.toml");
    let mut settings = fs::read_to_string(&toml).unwrap();
    settings.push_str("\nfollow_links = [\"~/dotfiles/skills\"]\n");
    fs::write(&toml, settings).unwrap();
    let ran = output(ctx.master_cmd().args(["master", "rebuild", "-v"]), 0);
    assert!(
        ran.stderr
            .contains("skipped 1 link leaving the Codex home; list them in `follow_links`"),
        "{}",
        ran.stderr
    );
    assert!(
        ran.stderr.contains(&format!(
            "{} -> ../../elsewhere/y",
            ctx.master.codex.join("skills/y").display()
        )),
        "{}",
        ran.stderr
    );
    let json = output(ctx.master_cmd().args(["status", "--json"]), 0);
    let json: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let skipped = json["skipped_links"].as_array().unwrap();
    assert_eq!(skipped.len(), 1, "{json}");
    assert_eq!(skipped[0]["target"], "../../elsewhere/y");
    let rev = published(&ctx);
    let skill: Vec<_> = rev
        .files
        .iter()
        .filter(|f| f.path.starts_with("skills/"))
        .map(|f| (f.path.as_str(), f.link.is_some()))
        .collect();
    assert_eq!(skill, [("skills/x/SKILL.md", false)], "{:?}", paths(&rev));

    // A follower gets the skill as a regular file, and edits in the dotfiles reach it.
    ctx.join(&["--apply"]);
    let got = ctx.follower.codex.join("skills/x/SKILL.md");
    assert!(
        !fs::symlink_metadata(ctx.follower.codex.join("skills/x"))
            .unwrap()
            .is_symlink()
    );
    assert_eq!(fs::read_to_string(&got).unwrap(), "from dotfiles\n");
    assert!(!ctx.follower.codex.join("skills/x/auth.json").exists());
    assert!(!ctx.follower.codex.join("skills/y").exists());
    let before = published(&ctx).seq;
    fs::write(dotfiles.join("x/SKILL.md"), "from dotfiles, edited\n").unwrap();
    wait_for(&ctx, "published the dotfiles edit", |r| r.seq > before);
    output(ctx.follower_cmd().args(["sync", "--apply"]), 0);
    assert_eq!(fs::read_to_string(&got).unwrap(), "from dotfiles, edited\n");
}

/// `utime + stime` of process `pid`, in clock ticks (`/proc/PID/stat` fields 14 and 15).
#[cfg(target_os = "linux")]
fn cpu_ticks(pid: u32) -> u64 {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // The command name (field 2) may hold spaces; the fields after it are plain.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

/// Starts `master serve` as a child of this test (its pid is what the CPU check reads).
fn serve(ctx: &TestContext) -> Child {
    output(ctx.master_cmd().args(["master", "init"]), 0);
    let log = fs::File::create(ctx.dir.path().join("idle-serve.log")).unwrap();
    let child = ctx
        .master_cmd()
        .args(["master", "serve", "--listen", &ctx.listen_addr()])
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    // The first publish writes every object (fsynced): slow on a loaded disk.
    let deadline = Instant::now() + Duration::from_secs(120);
    while !codexport_test_support::port_open(ctx.port) {
        assert!(Instant::now() < deadline, "serve never listened");
        std::thread::sleep(Duration::from_millis(25));
    }
    child
}

fn stop(mut child: Child) {
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

#[cfg(target_os = "linux")]
#[test]
fn an_idle_master_with_an_escaping_link_and_thousands_of_files_settles() {
    let ctx = TestContext::new(bins!());
    ctx.master.write_codex("AGENTS.md", "be kind\n");
    for s in 0..40 {
        for f in 0..50 {
            ctx.master
                .write_codex(&format!("skills/s{s}/f{f}.md"), format!("{s}/{f}\n"));
        }
    }
    std::os::unix::fs::symlink("/etc", ctx.master.codex.join("skills/escape-link")).unwrap();
    std::os::unix::fs::symlink(&ctx.master.user, ctx.master.codex.join("skills/home")).unwrap();
    let child = serve(&ctx);
    // Let the first publish and the watches settle.
    std::thread::sleep(Duration::from_secs(2));
    let seq = published(&ctx).seq;
    let ticks = cpu_ticks(child.id());
    let start = Instant::now();
    // Nothing edited for several seconds, but everything read: opens and reads (ours, and any
    // process starting, which opens `/etc/ld.so.cache`) are no change.
    while start.elapsed() < Duration::from_secs(5) {
        read_everything(&ctx.master.codex.join("skills/s0"));
        read_everything(&ctx.master.codex);
        let _ = run(std::process::Command::new("true").stdin(Stdio::null()));
        std::thread::sleep(Duration::from_millis(200));
    }
    let used = cpu_ticks(child.id()) - ticks;
    let elapsed = start.elapsed().as_secs_f64();
    let after = published(&ctx).seq;
    stop(child);
    let log = fs::read_to_string(ctx.dir.path().join("idle-serve.log")).unwrap();
    assert_eq!(after, seq, "an idle master published new revisions:\n{log}");
    // Clock ticks are 1/100 s on Linux: a core busy for `elapsed` seconds is 100 * elapsed.
    let share = used as f64 / (100.0 * elapsed);
    assert!(
        share < 0.25,
        "the idle master used {:.0}% of a core:\n{log}",
        share * 100.0
    );
}

#[test]
fn master_rebuild_while_serve_runs_never_reuses_a_seq() {
    let mut ctx = TestContext::new(bins!());
    ctx.master.write_codex("AGENTS.md", "be kind\n");
    ctx.start_master();
    let first = published(&ctx);

    // `rebuild` publishes what `serve` does not watch (a new include in master.toml)...
    ctx.master.write_codex("notes/n.md", "note\n");
    let toml = ctx.master.tool.join("master.toml");
    let mut settings = fs::read_to_string(&toml).unwrap();
    settings.push_str("\ninclude = [\"notes\"]\n");
    fs::write(&toml, settings).unwrap();
    let ran = output(ctx.master_cmd().args(["master", "rebuild"]), 0);
    let rebuilt = published(&ctx);
    assert_eq!(rebuilt.seq, first.seq + 1, "{}", ran.stderr);
    assert_eq!(
        ran.stdout.split(' ').next(),
        Some(&*rebuilt.seq.to_string())
    );

    // ...then `serve` publishes an edit: a new seq, never the one `rebuild` took.
    ctx.master.write_codex("AGENTS.md", "be kinder\n");
    let served = wait_for(&ctx, "published the edit", |r| {
        r.revision != rebuilt.revision
    });
    assert!(
        served.seq > rebuilt.seq,
        "seq {} reused for another revision ({} then {})\n{}",
        served.seq,
        rebuilt.revision,
        served.revision,
        ctx.master_log()
    );
    let meta: serde_json::Value = reqwest::blocking::get(format!("{}/v1/meta", ctx.master_url()))
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(meta["seq"], served.seq, "{meta}");
}

/// The later of two revisions (a publish may land between two reads).
trait MaxSeq {
    fn max_seq(self, other: Revision) -> Revision;
}

impl MaxSeq for Revision {
    fn max_seq(self, other: Revision) -> Revision {
        if self.seq >= other.seq { self } else { other }
    }
}
