//! Cases every user of the engine runs in its tests: the host through its GitHub client's
//! types, the SDK through its plugin types, so both pick what this table says.

use crate::Libc;

/// The platform of a case.
#[derive(Debug, Clone, Copy)]
pub struct VectorPlatform {
    /// `linux`, `macos`, `windows`.
    pub os: &'static str,
    /// `x86_64`, `aarch64`.
    pub arch: &'static str,
    /// Linux only.
    pub libc: Option<Libc>,
    /// Best first, as the host detects them.
    pub triples: &'static [&'static str],
}

impl VectorPlatform {
    /// The triples as owned strings, the way platforms hold them.
    pub fn triples(&self) -> Vec<String> {
        self.triples.iter().map(|t| (*t).to_owned()).collect()
    }
}

/// What a case expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// This asset is chosen.
    Pick(&'static str),
    /// Nothing is chosen; these are the candidates shown.
    Refuse(&'static [&'static str]),
}

/// One case: a release's asset names, a platform, an optional template, the outcome.
#[derive(Debug, Clone, Copy)]
pub struct Vector {
    /// What the case is about.
    pub about: &'static str,
    /// Where the asset will run.
    pub platform: VectorPlatform,
    /// The release tag.
    pub tag: &'static str,
    /// The spec's asset template; `None` is platform matching.
    pub template: Option<&'static str>,
    /// The release's assets.
    pub assets: &'static [&'static str],
    /// The outcome.
    pub expect: Expect,
}

/// x86_64 Linux with glibc.
pub const LINUX_GNU: VectorPlatform = VectorPlatform {
    os: "linux",
    arch: "x86_64",
    libc: Some(Libc::Gnu),
    triples: &["x86_64-unknown-linux-gnu", "x86_64-unknown-linux-musl"],
};

/// x86_64 Linux with musl.
pub const LINUX_MUSL: VectorPlatform = VectorPlatform {
    os: "linux",
    arch: "x86_64",
    libc: Some(Libc::Musl),
    triples: &["x86_64-unknown-linux-musl"],
};

/// aarch64 Linux with glibc.
pub const LINUX_ARM64: VectorPlatform = VectorPlatform {
    os: "linux",
    arch: "aarch64",
    libc: Some(Libc::Gnu),
    triples: &["aarch64-unknown-linux-gnu", "aarch64-unknown-linux-musl"],
};

/// Apple silicon.
pub const MACOS_ARM64: VectorPlatform = VectorPlatform {
    os: "macos",
    arch: "aarch64",
    libc: None,
    triples: &["aarch64-apple-darwin"],
};

/// x86_64 Windows.
pub const WINDOWS_X64: VectorPlatform = VectorPlatform {
    os: "windows",
    arch: "x86_64",
    libc: None,
    triples: &["x86_64-pc-windows-msvc", "x86_64-pc-windows-gnu"],
};

const fn case(
    about: &'static str,
    platform: VectorPlatform,
    template: Option<&'static str>,
    assets: &'static [&'static str],
    expect: Expect,
) -> Vector {
    Vector {
        about,
        platform,
        tag: "v1.2.0",
        template,
        assets,
        expect,
    }
}

const TRIPLES: &[&str] = &[
    "fff-mcp-x86_64-unknown-linux-musl",
    "fff-mcp-x86_64-unknown-linux-gnu",
    "fff-mcp-x86_64-unknown-linux-gnu.sha256",
    "fff-mcp-aarch64-unknown-linux-gnu",
    "fff-mcp-aarch64-apple-darwin",
    "fff-mcp-x86_64-pc-windows-msvc.exe",
];

const GORELEASER: &[&str] = &[
    "tool_1.2.0_Linux_x86_64.tar.gz",
    "tool_1.2.0_Linux_arm64.tar.gz",
    "tool_1.2.0_Darwin_arm64.tar.gz",
    "tool_1.2.0_Windows_x86_64.zip",
    "tool_1.2.0_linux_386.tar.gz",
    "checksums.txt",
];

/// The shared cases.
pub const VECTORS: &[Vector] = &[
    case(
        "triples win in the platform's order; checksums are dropped",
        LINUX_GNU,
        None,
        TRIPLES,
        Expect::Pick("fff-mcp-x86_64-unknown-linux-gnu"),
    ),
    case(
        "a musl host takes the musl triple",
        LINUX_MUSL,
        None,
        TRIPLES,
        Expect::Pick("fff-mcp-x86_64-unknown-linux-musl"),
    ),
    case(
        "macOS by triple",
        MACOS_ARM64,
        None,
        TRIPLES,
        Expect::Pick("fff-mcp-aarch64-apple-darwin"),
    ),
    case(
        "a triple matches as a word: `gnux32` is not `gnu`",
        LINUX_GNU,
        None,
        &[
            "tool-x86_64-unknown-linux-gnux32.tar.gz",
            "tool-x86_64-unknown-linux-musl.tar.gz",
        ],
        Expect::Pick("tool-x86_64-unknown-linux-musl.tar.gz"),
    ),
    case(
        "os and arch aliases on word boundaries",
        LINUX_GNU,
        None,
        GORELEASER,
        Expect::Pick("tool_1.2.0_Linux_x86_64.tar.gz"),
    ),
    case(
        "Darwin is macOS, arm64 is aarch64",
        MACOS_ARM64,
        None,
        GORELEASER,
        Expect::Pick("tool_1.2.0_Darwin_arm64.tar.gz"),
    ),
    case(
        "Windows takes its zip",
        WINDOWS_X64,
        None,
        GORELEASER,
        Expect::Pick("tool_1.2.0_Windows_x86_64.zip"),
    ),
    case(
        "an asset without an arch next to other arches is not guessed",
        LINUX_GNU,
        None,
        &["tool-linux.tar.gz", "tool-linux-arm64.tar.gz"],
        Expect::Refuse(&["tool-linux.tar.gz", "tool-linux-arm64.tar.gz"]),
    ),
    case(
        "an asset without an arch, alone for its os, is taken",
        LINUX_GNU,
        None,
        &["tool-linux.tar.gz", "tool-darwin.tar.gz"],
        Expect::Pick("tool-linux.tar.gz"),
    ),
    case(
        "an arch the tables know but this host is not (riscv64) is another machine's",
        LINUX_GNU,
        None,
        &["tool-linux-riscv64.tar.gz"],
        Expect::Refuse(&["tool-linux-riscv64.tar.gz"]),
    ),
    case(
        "Go's `386` is 32-bit x86, not ours",
        LINUX_GNU,
        None,
        &["tool_linux_386.tar.gz"],
        Expect::Refuse(&["tool_linux_386.tar.gz"]),
    ),
    case(
        "tarballs before zips for one build",
        LINUX_GNU,
        None,
        &["t-linux-x64.zip", "t-linux-x64.tar.gz"],
        Expect::Pick("t-linux-x64.tar.gz"),
    ),
    case(
        "a real tie is refused",
        LINUX_GNU,
        None,
        &["a-linux-x64.tar.gz", "b-linux-x64.tar.gz"],
        Expect::Refuse(&["a-linux-x64.tar.gz", "b-linux-x64.tar.gz"]),
    ),
    case(
        "a glibc host prefers the gnu build",
        LINUX_GNU,
        None,
        &["t-linux-x64-musl.tar.gz", "t-linux-x64-gnu.tar.gz"],
        Expect::Pick("t-linux-x64-gnu.tar.gz"),
    ),
    case(
        "a musl host never takes a glibc build",
        LINUX_MUSL,
        None,
        &["t-linux-x64-gnu.tar.gz"],
        Expect::Refuse(&["t-linux-x64-gnu.tar.gz"]),
    ),
    case(
        "signatures, SBOMs, packages and unpackable archives are never the binary",
        LINUX_GNU,
        None,
        &[
            "tool-linux-amd64.tar.gz",
            "tool-linux-amd64.tar.gz.minisig",
            "tool-linux-amd64.tar.gz.sig",
            "tool-linux-amd64.intoto.jsonl",
            "tool-linux-amd64.sbom.json",
            "tool-linux-amd64.deb",
            "tool-linux-amd64.pkg.tar.zst",
            "SHA256SUMS",
        ],
        Expect::Pick("tool-linux-amd64.tar.gz"),
    ),
    case(
        "`mac` inside `machine` does not say macOS",
        MACOS_ARM64,
        None,
        &["machine-linux-arm64.tar.gz"],
        Expect::Refuse(&["machine-linux-arm64.tar.gz"]),
    ),
    case(
        "a universal macOS build fits every arch",
        MACOS_ARM64,
        None,
        &["tool-darwin-universal.tar.gz", "tool-linux-amd64.tar.gz"],
        Expect::Pick("tool-darwin-universal.tar.gz"),
    ),
    case(
        "an Android build is not a Linux one",
        LINUX_ARM64,
        None,
        &[
            "tool-aarch64-linux-android.tar.gz",
            "tool-linux-arm64.tar.gz",
        ],
        Expect::Pick("tool-linux-arm64.tar.gz"),
    ),
    case(
        "a bare .exe is the Windows build",
        WINDOWS_X64,
        None,
        &["tool.exe", "tool-linux"],
        Expect::Pick("tool.exe"),
    ),
    case(
        "{triple} expands to each triple, best first",
        LINUX_GNU,
        Some("fff-mcp-{triple}"),
        &[
            "fff-mcp-x86_64-unknown-linux-musl",
            "fff-mcp-aarch64-apple-darwin",
        ],
        Expect::Pick("fff-mcp-x86_64-unknown-linux-musl"),
    ),
    case(
        "{exe} is .exe on Windows",
        WINDOWS_X64,
        Some("fff-mcp-{triple}{exe}"),
        TRIPLES,
        Expect::Pick("fff-mcp-x86_64-pc-windows-msvc.exe"),
    ),
    case(
        "{exe} is empty elsewhere",
        LINUX_GNU,
        Some("fff-mcp-{triple}{exe}"),
        TRIPLES,
        Expect::Pick("fff-mcp-x86_64-unknown-linux-gnu"),
    ),
    case(
        "{version}, {os} and {arch} aliases; an archive extension may follow",
        LINUX_GNU,
        Some("tool-{version}-{os}-{arch}"),
        &[
            "tool-1.2.0-linux-amd64.tar.gz",
            "tool-1.2.0-linux-arm64.tar.gz",
        ],
        Expect::Pick("tool-1.2.0-linux-amd64.tar.gz"),
    ),
    case(
        "templates ignore case",
        MACOS_ARM64,
        Some("tool_{version}_{os}_{arch}"),
        GORELEASER,
        Expect::Pick("tool_1.2.0_Darwin_arm64.tar.gz"),
    ),
    case(
        "{libc} tries gnu, then musl, on a glibc host",
        LINUX_GNU,
        Some("t-{arch}-linux-{libc}"),
        &["t-x86_64-linux-musl.tar.gz", "t-aarch64-linux-gnu.tar.gz"],
        Expect::Pick("t-x86_64-linux-musl.tar.gz"),
    ),
    case(
        "{tag} is the tag as written; `*` matches anything",
        LINUX_GNU,
        Some("tool-{tag}-*-linux"),
        &[
            "tool-v1.2.0-x86_64-linux.zip",
            "tool-v1.2.0-x86_64-linux.zip.sha256",
        ],
        Expect::Pick("tool-v1.2.0-x86_64-linux.zip"),
    ),
    case(
        "a template that names nothing lists the binaries",
        LINUX_GNU,
        Some("x-{triple}"),
        &["x-aarch64-apple-darwin", "x-aarch64-apple-darwin.sha256"],
        Expect::Refuse(&["x-aarch64-apple-darwin"]),
    ),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Target, match_asset, match_template};

    #[test]
    fn every_vector_holds_for_plain_names() {
        for v in VECTORS {
            let triples = v.platform.triples();
            let target = Target {
                os: v.platform.os,
                arch: v.platform.arch,
                libc: v.platform.libc,
                triples: &triples,
            };
            let got = match v.template {
                Some(t) => match_template(v.assets, t, &target, v.tag),
                None => match_asset(v.assets, &target, v.tag),
            };
            match (got, v.expect) {
                (Ok(choice), Expect::Pick(name)) => assert_eq!(*choice.asset, name, "{}", v.about),
                (Err(none), Expect::Refuse(names)) => {
                    assert_eq!(none.candidates, names, "{}", v.about);
                }
                (got, want) => panic!("{}: got {got:?}, want {want:?}", v.about),
            }
        }
    }
}
