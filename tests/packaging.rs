//! What the published crates and release assets promise: the host's WIT copy equals the SDK's,
//! the npm packages carry the workspace version, and `cargo binstall`'s metadata names the
//! archives scripts/dist.sh writes.

use std::path::Path;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(repo().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

#[test]
fn the_hosts_wit_is_the_sdks() {
    let sdk = repo().join("resolver-sdk/wit");
    let host = repo().join("resolvers/wit");
    let list = |dir: &Path| -> Vec<String> {
        let mut files: Vec<String> = walk(dir)
            .into_iter()
            .map(|p| p.strip_prefix(dir).unwrap().display().to_string())
            .collect();
        files.sort();
        files
    };
    assert_eq!(list(&sdk), list(&host), "resolvers/wit lists other files");
    for rel in list(&sdk) {
        assert_eq!(
            std::fs::read(sdk.join(&rel)).unwrap(),
            std::fs::read(host.join(&rel)).unwrap(),
            "resolvers/wit/{rel} differs from resolver-sdk/wit/{rel}: copy it over"
        );
    }
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
fn the_npm_packages_carry_the_workspace_version() {
    let version = env!("CARGO_PKG_VERSION");
    for package in ["codexport", "linux-x64", "linux-arm64", "win32-x64"] {
        let json: serde_json::Value =
            serde_json::from_str(&read(&format!("npm/{package}/package.json"))).unwrap();
        assert_eq!(json["version"], version, "npm/{package}/package.json");
        if package == "codexport" {
            let deps = json["optionalDependencies"].as_object().unwrap();
            assert_eq!(deps.len(), 3);
            for (name, wanted) in deps {
                assert_eq!(wanted, version, "npm/codexport's {name}");
            }
        } else {
            assert_eq!(json["name"], format!("@codexport/{package}"));
            assert!(
                deps_of(&json).is_empty(),
                "a platform package depends on nothing"
            );
        }
    }
}

fn deps_of(json: &serde_json::Value) -> Vec<String> {
    ["dependencies", "optionalDependencies", "scripts"]
        .iter()
        .filter(|k| json.get(**k).is_some())
        .map(|k| (*k).to_owned())
        .collect()
}

#[test]
fn binstall_names_the_archives_dist_writes() {
    let manifest: toml_edit::DocumentMut = read("Cargo.toml").parse().unwrap();
    let binstall = &manifest["package"]["metadata"]["binstall"];
    let render = |template: &str, target: &str, bin: &str| {
        template
            .replace("{ repo }", "REPO")
            .replace("{ name }", "codexport")
            .replace("{ version }", env!("CARGO_PKG_VERSION"))
            .replace("{ target }", target)
            .replace("{ bin }", bin)
            .replace(
                "{ binary-ext }",
                if target.contains("windows") {
                    ".exe"
                } else {
                    ""
                },
            )
    };
    assert_eq!(binstall["pkg-fmt"].as_str(), Some("tgz"));
    let dist = read("scripts/dist.sh");
    for target in [
        "x86_64-unknown-linux-musl",
        "aarch64-unknown-linux-musl",
        "x86_64-pc-windows-gnu",
    ] {
        assert!(dist.contains(target), "scripts/dist.sh builds {target}");
        let version = env!("CARGO_PKG_VERSION");
        assert_eq!(
            render(binstall["pkg-url"].as_str().unwrap(), target, ""),
            format!("REPO/releases/download/v{version}/codexport-{version}-{target}.tar.gz")
        );
        let ext = if target.contains("windows") {
            ".exe"
        } else {
            ""
        };
        assert_eq!(
            render(binstall["bin-dir"].as_str().unwrap(), target, "codexport"),
            format!("codexport-{version}-{target}/codexport{ext}")
        );
    }
    // dist.sh's own statement of the layout, which the two templates above mirror.
    assert!(dist.contains("codexport-<version>-<target>.tar.gz"));
    assert!(dist.contains("codexport-<version>-<target>/codexport[.exe]"));
}
