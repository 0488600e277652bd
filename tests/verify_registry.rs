//! `codexport verify`: read-only, exit 0 when the follower is what the last apply made it, 4
//! with a list otherwise; hooks checked by the real Codex CLI 0.169.0 and 0.171.0 (npm,
//! installed once into the repo's `.tools/`; needs the npm registry or its cache the first
//! time) through `CODEXPORT_CODEX`, or by codexport's own recipe when no Codex is asked.

use std::collections::BTreeMap;
use std::path::Path;

use codexport_test_support::{CODEX_VERSIONS, TestContext, bins, codex_bin_of, output};
use serde_json::Value;

/// Every file and its bytes under `dir` (what "writes nothing" is checked against).
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else if path.is_file() {
                let rel = path.strip_prefix(root).unwrap().display().to_string();
                out.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// `text` with every `trusted_hash` replaced by one Codex never computes.
fn break_trust(text: &str) -> String {
    let marker = "trusted_hash = \"sha256:";
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find(marker) {
        let start = at + marker.len();
        out.push_str(&rest[..start]);
        out.push_str(&"0".repeat(64));
        rest = &rest[start + 64..];
    }
    out.push_str(rest);
    out
}

fn verify(ctx: &TestContext, codex: &str, code: i32) -> Value {
    let ran = output(
        ctx.follower_cmd()
            .env("CODEXPORT_CODEX", codex)
            .args(["verify", "--json"]),
        code,
    );
    serde_json::from_str(&ran.stdout).unwrap()
}

fn items(doc: &Value) -> Vec<String> {
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{}: {}",
                f["check"].as_str().unwrap(),
                f["item"].as_str().unwrap()
            )
        })
        .collect()
}

fn verify_reports_what_differs(version: &str) {
    let codex = codex_bin_of(version).display().to_string();
    let mut ctx = TestContext::new(bins!());
    ctx.master.write_codex("AGENTS.md", "be kind\n");
    ctx.master.write_codex("config.toml", "model = \"gpt-5\"\n");
    ctx.start_master_with(&["--no-watch"]);
    ctx.join(&["--apply"]);
    output(ctx.follower_cmd().args(["hook", "install"]), 0);

    // As applied: nothing to report, and Codex itself was asked.
    let before = (snapshot(&ctx.follower.codex), snapshot(&ctx.follower.tool));
    let doc = verify(&ctx, &codex, 0);
    assert_eq!(doc["ok"], true, "{doc}");
    assert!(
        doc["hooks_checked_by"]
            .as_str()
            .unwrap()
            .contains("app-server"),
        "{doc}"
    );
    // Read-only (Codex's own runtime files aside: the app server may create them).
    let after = snapshot(&ctx.follower.codex);
    for (path, bytes) in &before.0 {
        assert_eq!(after.get(path), Some(bytes), "verify changed `{path}`");
    }
    assert_eq!(
        before.1,
        snapshot(&ctx.follower.tool),
        "verify changed the tool home"
    );

    // A managed file edited here, and codexport's hook trust broken behind Codex's back.
    ctx.follower.write_codex("AGENTS.md", "be unkind\n");
    let config = ctx.follower.read_codex("config.toml");
    let tampered = break_trust(&config);
    assert_ne!(tampered, config);
    ctx.follower.write_codex("config.toml", &tampered);
    let doc = verify(&ctx, &codex, 4);
    let found = items(&doc);
    assert!(
        found.contains(&"files: codex:AGENTS.md".to_owned()),
        "{found:?}"
    );
    let hook = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check"] == "hooks")
        .unwrap_or_else(|| panic!("{doc}"));
    assert!(
        hook["problem"]
            .as_str()
            .unwrap()
            .contains("Codex reports it modified"),
        "{hook}"
    );
    assert_eq!(hook["repair"], "codexport hook install");

    // Without a Codex to ask, the recipe sees the same and says it was the one asked.
    let doc = verify(&ctx, "", 4);
    assert!(
        doc["hooks_checked_by"].as_str().unwrap().contains("recipe"),
        "{doc}"
    );
    assert!(
        items(&doc).iter().any(|i| i.starts_with("hooks: ")),
        "{doc}"
    );

    // The text form lists the same, with the repair under each.
    let ran = output(
        ctx.follower_cmd()
            .env("CODEXPORT_CODEX", &codex)
            .arg("verify"),
        4,
    );
    assert!(
        ran.stdout
            .contains("files: codex:AGENTS.md: edited on this machine"),
        "{}",
        ran.stdout
    );
    assert!(
        ran.stdout.contains("  repair: codexport hook install"),
        "{}",
        ran.stdout
    );

    // Repaired: verified again.
    output(ctx.follower_cmd().args(["hook", "install"]), 0);
    output(ctx.follower_cmd().args(["apply"]), 0);
    let doc = verify(&ctx, &codex, 0);
    assert_eq!(doc["findings"], serde_json::json!([]), "{doc}");
}

#[test]
fn verify_reports_what_differs_0_169() {
    verify_reports_what_differs(CODEX_VERSIONS[0]);
}

#[test]
fn verify_reports_what_differs_0_171() {
    verify_reports_what_differs(CODEX_VERSIONS[1]);
}

#[test]
fn verify_before_any_apply_says_what_to_run() {
    let ctx = TestContext::new(bins!());
    let ran = output(
        ctx.follower_cmd().env("CODEXPORT_CODEX", "").arg("verify"),
        4,
    );
    assert!(
        ran.stdout
            .contains("revision: state.json: nothing was applied on this machine yet"),
        "{}",
        ran.stdout
    );
    assert!(
        ran.stdout.contains("  repair: codexport sync --apply"),
        "{}",
        ran.stdout
    );
}
