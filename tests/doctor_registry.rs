//! `codexport mcp doctor` against real MCP servers from the registries: npm's
//! `@modelcontextprotocol/server-everything` and PyPI's `mcp-server-time` (through uv), plus
//! one that cannot be hydrated (a version PyPI does not have). Needs npm and PyPI (or caches).

use codexport_test_support::mcp::{mcp_entry, resolved, write_manifest};
use codexport_test_support::{TestContext, bins, output};
use serde_json::{Value, json};

const EVERYTHING_VERSION: &str = "2026.8.31";
const TIME_VERSION: &str = "2026.10.19";

#[test]
fn npm_and_uv_servers_pass_and_an_unhydratable_one_fails_with_its_repair() {
    let ctx = TestContext::new(bins!());
    let home = &ctx.follower;
    home.install_launcher();
    write_manifest(
        home,
        vec![
            mcp_entry(
                "everything",
                resolved(
                    "npm",
                    json!({"package": "@modelcontextprotocol/server-everything",
                       "version": EVERYTHING_VERSION, "bin": "mcp-server-everything",
                       "args": ["stdio"]}),
                ),
            ),
            mcp_entry(
                "time",
                resolved(
                    "uv",
                    json!({"package": "mcp-server-time", "version": TIME_VERSION,
                       "from": format!("mcp-server-time=={TIME_VERSION}"),
                       "bin": "mcp-server-time"}),
                ),
            ),
            mcp_entry(
                "nope",
                resolved(
                    "uv",
                    json!({"package": "mcp-server-time", "version": "0.0.1",
                       "from": "mcp-server-time==0.0.1", "bin": "mcp-server-time"}),
                ),
            ),
        ],
    );
    output(home.cmd().args(["mcp", "hydrate", "everything", "time"]), 0);

    let before = output(
        home.cmd().args(["mcp", "doctor", "--no-start", "--json"]),
        0,
    );
    let before: Value = serde_json::from_str(&before.stdout).unwrap();
    let hydrated: Vec<&Value> = before["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["hydrated"])
        .collect();
    assert_eq!(hydrated, [&json!(true), &json!(true), &json!(false)]);

    let out = output(
        home.cmd()
            .args(["mcp", "doctor", "--json", "--timeout", "120s"]),
        8,
    );
    let report: Value = serde_json::from_str(&out.stdout).unwrap();
    let entries = report["entries"].as_array().unwrap();
    for (entry, version) in entries[..2].iter().zip([EVERYTHING_VERSION, TIME_VERSION]) {
        assert_eq!(entry["ok"], true, "{entry}");
        assert_eq!(entry["version"], version);
        assert!(entry["started"]["tools"].as_u64().unwrap() > 0, "{entry}");
        assert!(
            !entry["started"]["protocol_version"]
                .as_str()
                .unwrap()
                .is_empty()
        );
    }
    let nope = &entries[2];
    assert_eq!(nope["ok"], false, "{nope}");
    assert!(
        nope["problem"]
            .as_str()
            .unwrap()
            .starts_with("the server did not answer"),
        "{nope}"
    );
    assert_eq!(nope["repair"][0], "run `codexport mcp hydrate nope`");
}
