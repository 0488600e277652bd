//! `codexport resolver list` and `codexport resolver test` as the built binary in temp homes,
//! with broken plugin files (the example plugins themselves are driven in
//! `resolvers/tests/wasm_plugins.rs`). No package registry needed.

use codexport_test_support::mcp::{mcp_entry, resolved, write_manifest};
use codexport_test_support::{
    TestContext, assert_transcript, bins, example_plugin, output, run, write,
};

/// A component exporting an empty resolver instance at contract `version`.
fn component(version: &str) -> Vec<u8> {
    wat::parse_str(format!(
        r#"(component (instance $i) (export "codexport:resolver/resolver@{version}" (instance $i)))"#
    ))
    .unwrap()
}

#[test]
fn list_reports_each_plugin_and_its_problem() {
    let cx = TestContext::new(bins!());
    let none = output(cx.master_cmd().args(["resolver", "list"]), 0);
    assert_eq!(none.stdout, "");
    assert!(
        none.stderr.contains("no resolver plugins in"),
        "{}",
        none.stderr
    );

    let dir = cx.master.tool.join("resolvers");
    write(&dir.join("junk.wasm"), b"not wasm");
    write(&dir.join("future.wasm"), component("9.0.0"));
    write(&dir.join("README.md"), b"ignored");
    let ran = output(cx.master_cmd().args(["resolver", "list", "--json"]), 0);
    let rows: serde_json::Value = serde_json::from_str(&ran.stdout).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[0]["name"], "future");
    let future = rows[0]["error"].as_str().unwrap();
    assert!(
        future.starts_with("resolver plugin `future.wasm`: is built against contract version 9.0.0, which this codexport does not run (it runs 0.1.x)"),
        "{future}"
    );
    assert_eq!(
        rows[1]["error"],
        "resolver plugin `junk.wasm`: is not a WebAssembly file"
    );

    let table = output(cx.master_cmd().args(["resolver", "list"]), 0);
    assert!(table.stdout.starts_with("NAME"), "{}", table.stdout);
    assert!(table.stdout.contains("junk"), "{}", table.stdout);
}

#[test]
fn test_names_what_is_missing_or_broken() {
    let cx = TestContext::new(bins!());
    cx.master.write_codex(
        "config.toml",
        "[mcp_servers.fff]\ncommand = \"/opt/fff-mcp\"\n",
    );
    let ran = run(cx
        .master_cmd()
        .args(["resolver", "test", "nope", "--entry", "fff"]));
    assert_transcript!("test_an_unknown_plugin", ran);

    // A component not yet installed, tried by path.
    let outside = write(&cx.dir.path().join("build/future.wasm"), component("9.0.0"));
    let ran = run(cx
        .master_cmd()
        .args(["resolver", "test"])
        .arg(&outside)
        .args(["--entry", "fff"]));
    assert_transcript!("test_a_plugin_of_a_future_contract_by_path", ran);

    let good = write(
        &cx.master.tool.join("resolvers/future.wasm"),
        component("9.0.0"),
    );
    assert!(good.is_file());
    let ran = run(cx
        .master_cmd()
        .args(["resolver", "test", "future", "--entry", "nope"]));
    assert_transcript!("test_an_installed_plugin_of_a_future_contract", ran);
}

/// The master infers with an installed plugin ahead of the built-ins; a follower that has the
/// plugin plans the entry with it.
#[test]
fn a_plugin_infers_on_the_master_and_plans_on_the_follower() {
    let cx = TestContext::new(bins!());
    let plugin = example_plugin("cargo_git");
    let cargo = cx.master.user.join(".cargo");
    let bin = write(&cargo.join("bin/gitquarry"), "#!/bin/sh\n");
    write(
        &cargo.join(".crates2.json"),
        r#"{"installs": {"gitquarry 0.3.0 (git+https://github.com/o/gitquarry#0123abcd)": {"bins": ["gitquarry"]}}}"#,
    );
    cx.master.write_codex(
        "config.toml",
        format!(
            "[mcp_servers.gq]\ncommand = \"{}\"\nargs = [\"serve\"]\n",
            bin.display()
        ),
    );
    std::fs::create_dir_all(cx.master.tool.join("resolvers")).unwrap();
    std::fs::copy(&plugin, cx.master.tool.join("resolvers/cargo_git.wasm")).unwrap();

    let listed = output(cx.master_cmd().args(["mcp", "list", "--json"]), 0);
    let entries: serde_json::Value = serde_json::from_str(&listed.stdout).unwrap();
    let gq = entries
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "gq")
        .unwrap_or_else(|| panic!("{}", listed.stdout));
    assert_eq!(gq["resolver"], "cargo_git", "{gq}");

    let spec = serde_json::json!({"crate": "gitquarry", "git": "https://github.com/o/gitquarry", "rev": "0123abcd", "bin": "gitquarry"});
    let mut entry = mcp_entry("gq", resolved("cargo_git", spec));
    entry.args = vec!["serve".into()];
    write_manifest(&cx.follower, vec![entry]);
    let missing = run(cx.follower_cmd().args(["mcp", "plan", "gq", "--json"]));
    assert_transcript!("plan_with_a_plugin_not_installed", missing);
    std::fs::create_dir_all(cx.follower.tool.join("resolvers")).unwrap();
    std::fs::copy(&plugin, cx.follower.tool.join("resolvers/cargo_git.wasm")).unwrap();
    let plan = output(cx.follower_cmd().args(["mcp", "plan", "gq", "--json"]), 0);
    let plan: serde_json::Value = serde_json::from_str(&plan.stdout).unwrap();
    assert_eq!(plan["resolver"], "cargo_git");
    assert_eq!(
        plan["steps"],
        serde_json::json!([{"step": "cargo-install", "crate": "gitquarry", "git": "https://github.com/o/gitquarry", "rev": "0123abcd", "bin": "gitquarry"}])
    );
    assert_eq!(plan["launch"]["program"], "${artifact}/bin/gitquarry");
    assert_eq!(plan["launch"]["args"], serde_json::json!(["serve"]));
}
