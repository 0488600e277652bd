//! A hydrated MCP artifact on disk: the platform it is for, where it lives, its `.ready` record
//! and launch command, and the artifact that last worked for an entry.
//!
//! These are what `codexport-mcp-run` reads on every start, so they live here, free of the
//! resolvers (which plan and hydrate artifacts) and of anything networked.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::Homes;
use crate::mcp::manifest::ArtifactSpec;
use crate::store::sha256_hex;

/// The C library a Linux host runs on (one type with the asset rules).
pub use codexport_assets::Libc;

/// Placeholder for the artifact directory in launch programs, args, env and cwd.
pub const ARTIFACT_PLACEHOLDER: &str = "${artifact}";
/// The marker file inside a hydrated artifact directory.
pub const READY_FILE: &str = ".ready";
/// The hydration log inside an artifact directory.
pub const LOG_FILE: &str = ".hydrate.log";

/// Built-in resolvers whose artifacts run nowhere on the follower (Codex connects to a URL
/// itself). Equal to the resolvers whose `RUNS_LOCALLY` is false (a test in
/// `codexport-resolvers` keeps them so); the launcher decides by it without the resolvers.
pub const REMOTE_RESOLVERS: &[&str] = &["url"];

/// Where an artifact will run.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Platform {
    /// `linux`, `windows` or `macos`.
    pub os: String,
    /// `x86_64` or `aarch64` (Rust's names).
    pub arch: String,
    /// Linux only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub libc: Option<Libc>,
    /// Rust target triples this host runs, best first (gnu before musl on glibc hosts).
    pub triples: Vec<String>,
}

impl Platform {
    /// This host: os and arch from the build, libc by probing for the dynamic loaders, and
    /// the target triples it can run, best first.
    pub fn detect() -> Self {
        // Rust's names are already `linux`, `macos` and `windows`.
        let os = std::env::consts::OS;
        let libc = (os == "linux").then(probe_libc);
        Self::new(os, std::env::consts::ARCH, libc)
    }

    /// A platform with its triples derived from `os`, `arch` and `libc`.
    pub fn new(os: &str, arch: &str, libc: Option<Libc>) -> Self {
        let triples = match (os, libc) {
            // A glibc host also runs static musl binaries; a musl host runs no glibc ones.
            ("linux", Some(Libc::Musl)) => vec![format!("{arch}-unknown-linux-musl")],
            ("linux", _) => vec![
                format!("{arch}-unknown-linux-gnu"),
                format!("{arch}-unknown-linux-musl"),
            ],
            ("macos", _) => vec![format!("{arch}-apple-darwin")],
            ("windows", _) => vec![
                format!("{arch}-pc-windows-msvc"),
                format!("{arch}-pc-windows-gnu"),
            ],
            (other, _) => vec![format!("{arch}-unknown-{other}")],
        };
        Self {
            os: os.to_owned(),
            arch: arch.to_owned(),
            libc,
            triples,
        }
    }

    /// `os/arch` or `os/arch/libc`, for messages.
    pub fn label(&self) -> String {
        match self.libc {
            Some(Libc::Gnu) => format!("{}/{}/gnu", self.os, self.arch),
            Some(Libc::Musl) => format!("{}/{}/musl", self.os, self.arch),
            None => format!("{}/{}", self.os, self.arch),
        }
    }
}

/// glibc when a glibc dynamic loader exists, musl when only a musl one does.
///
/// Probing the loaders (a few `stat`s) is what binaries actually need, and costs far less
/// than running `ldd --version`.
fn probe_libc() -> Libc {
    const GLIBC_LOADERS: [&str; 6] = [
        "/lib64/ld-linux-x86-64.so.2",
        "/lib/ld-linux-aarch64.so.1",
        "/lib/ld-linux-x86-64.so.2",
        "/lib64/ld-linux-aarch64.so.1",
        "/lib/ld-linux-armhf.so.3",
        "/lib/ld-linux.so.2",
    ];
    if GLIBC_LOADERS.iter().any(|p| Path::new(p).exists()) {
        return Libc::Gnu;
    }
    let has_musl_loader = fs::read_dir("/lib").is_ok_and(|dir| {
        dir.flatten()
            .any(|e| e.file_name().to_string_lossy().starts_with("ld-musl-"))
    });
    if has_musl_loader || cfg!(target_env = "musl") {
        Libc::Musl
    } else {
        Libc::Gnu
    }
}

/// The server command.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Launch {
    /// Program: `${artifact}/...`, an absolute path, or a name looked up on PATH.
    pub program: String,
    /// Arguments.
    #[serde(default)]
    pub args: Vec<String>,
    /// Extra environment (over the entry's own env).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// Working directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
}

/// The content of `.ready`: what was hydrated and how to launch it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ready {
    /// The resolver that planned it.
    pub resolver: String,
    /// The exact version hydrated.
    pub version: String,
    /// The resolver's own cache key.
    pub cache_key: String,
    /// The launch command, with `${artifact}` placeholders.
    pub launch: Launch,
    /// When hydration finished (seconds since the Unix epoch).
    pub hydrated_at: u64,
}

impl Ready {
    /// The launch command with `${artifact}` expanded to `dir`.
    pub fn launch_in(&self, dir: &Path) -> Launch {
        let x = |s: &str| expand(s, dir);
        Launch {
            program: x(&self.launch.program),
            args: self.launch.args.iter().map(|a| x(a)).collect(),
            env: self
                .launch
                .env
                .iter()
                .map(|(k, v)| (k.clone(), x(v)))
                .collect(),
            cwd: self.launch.cwd.as_deref().map(x),
        }
    }
}

/// Replaces `${artifact}` in `text` with `dir`.
pub fn expand(text: &str, dir: &Path) -> String {
    text.replace(ARTIFACT_PLACEHOLDER, &dir.to_string_lossy())
}

/// The artifact key: a hash of the resolver, its spec and the platform (32 hex digits).
pub fn artifact_key(spec: &ArtifactSpec, platform: &Platform) -> String {
    // serde_json maps keep keys sorted, so equal specs hash equally.
    let doc = serde_json::json!({
        "resolver": spec.resolver,
        "spec": spec.spec,
        "objects": spec.objects,
        "platform": platform,
    });
    let hash = sha256_hex(doc.to_string().as_bytes());
    hash[..32].to_owned()
}

/// `root/<resolver>/<key>`: where `spec` hydrates on `platform`.
pub fn artifact_dir(root: &Path, spec: &ArtifactSpec, platform: &Platform) -> PathBuf {
    root.join(safe_component(&spec.resolver))
        .join(artifact_key(spec, platform))
}

/// A resolver name as one safe path component (plugin names are not trusted as paths).
fn safe_component(name: &str) -> String {
    let ok = !name.is_empty()
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if ok {
        name.to_owned()
    } else {
        format!("x-{}", &sha256_hex(name.as_bytes())[..16])
    }
}

/// The `.ready` marker of `dir`, when the artifact is hydrated (a corrupt marker counts as
/// not ready, so the artifact is hydrated again).
pub fn read_ready(dir: &Path) -> Option<Ready> {
    let bytes = fs::read(dir.join(READY_FILE)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// The marker of `dir` when the artifact is hydrated and its launch program still exists
/// (a bare program name is looked up on PATH at launch, so it counts as present). A marker
/// whose program vanished is stale: the artifact hydrates again.
pub fn read_launchable(dir: &Path) -> Option<Ready> {
    let ready = read_ready(dir)?;
    let program = expand(&ready.launch.program, dir);
    let path = Path::new(&program);
    (!path.is_absolute() || path.exists()).then_some(ready)
}

/// The hot check: the artifact directory of `spec` on `platform` and its marker, when it is
/// hydrated and its program is still there. Reads two small files; resolves nothing.
pub fn ready_now(
    homes: &Homes,
    spec: &ArtifactSpec,
    platform: &Platform,
) -> Option<(PathBuf, Ready)> {
    let dir = artifact_dir(&homes.mcp_artifacts(), spec, platform);
    read_launchable(&dir).map(|ready| (dir, ready))
}

/// The artifact that last worked for an entry (`mcp-artifacts/.last-good/NAME.json`): what
/// starts when the current one cannot be hydrated because the network failed.
#[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
struct LastGood {
    dir: PathBuf,
}

fn last_good_file(homes: &Homes, entry: &str) -> PathBuf {
    let safe = entry
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_".contains(c));
    let file = if safe && !entry.is_empty() {
        entry.to_owned()
    } else {
        sha256_hex(entry.as_bytes())[..32].to_owned()
    };
    homes
        .mcp_artifacts()
        .join(".last-good")
        .join(format!("{file}.json"))
}

/// Records `dir` as the artifact that last worked for the MCP `entry`. Best effort: only the
/// fallback needs it, and failing to record it must not fail a launch.
pub fn remember_last_good(homes: &Homes, entry: &str, dir: &Path) {
    let record = LastGood {
        dir: dir.to_path_buf(),
    };
    let path = last_good_file(homes, entry);
    if fs::read(&path)
        .ok()
        .and_then(|b| serde_json::from_slice::<LastGood>(&b).ok())
        .is_some_and(|old| old == record)
    {
        return;
    }
    let bytes = serde_json::to_vec(&record).expect("LastGood serialises");
    let _ = crate::fsx::write_atomic(&path, &bytes, None);
}

/// The artifact that last worked for the MCP `entry`, when it is still launchable. Only a
/// directory inside this tool home's artifacts is trusted.
pub fn last_good(homes: &Homes, entry: &str) -> Option<(PathBuf, Ready)> {
    let bytes = fs::read(last_good_file(homes, entry)).ok()?;
    let record: LastGood = serde_json::from_slice(&bytes).ok()?;
    if !record.dir.starts_with(homes.mcp_artifacts()) {
        return None;
    }
    let ready = read_launchable(&record.dir)?;
    Some((record.dir, ready))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glibc_hosts_prefer_gnu_then_musl() {
        let p = Platform::new("linux", "x86_64", Some(Libc::Gnu));
        assert_eq!(
            p.triples,
            ["x86_64-unknown-linux-gnu", "x86_64-unknown-linux-musl"]
        );
        let m = Platform::new("linux", "aarch64", Some(Libc::Musl));
        assert_eq!(m.triples, ["aarch64-unknown-linux-musl"]);
        assert_eq!(m.label(), "linux/aarch64/musl");
    }

    #[test]
    fn this_host_is_detected() {
        let p = Platform::detect();
        assert_eq!(p.arch, std::env::consts::ARCH);
        assert!(!p.triples.is_empty());
        assert_eq!(p.libc.is_some(), p.os == "linux");
    }

    #[test]
    fn last_good_is_trusted_only_inside_the_artifacts() {
        let tmp = tempfile::tempdir().unwrap();
        let homes = Homes::new(
            tmp.path(),
            tmp.path().join(".codex"),
            tmp.path().join(".cx"),
        );
        let ready = Ready {
            resolver: "npm".into(),
            version: "1.0.0".into(),
            cache_key: "k".into(),
            launch: Launch {
                program: "node".into(),
                ..Launch::default()
            },
            hydrated_at: 0,
        };
        let inside = homes.mcp_artifacts().join("npm").join("abc");
        let outside = tmp.path().join("elsewhere");
        for dir in [&inside, &outside] {
            let bytes = serde_json::to_vec(&ready).unwrap();
            crate::fsx::write_atomic(&dir.join(READY_FILE), &bytes, None).unwrap();
        }
        assert!(last_good(&homes, "e").is_none());
        remember_last_good(&homes, "e", &inside);
        assert_eq!(last_good(&homes, "e"), Some((inside, ready)));
        remember_last_good(&homes, "odd name/..", &outside);
        assert!(last_good(&homes, "odd name/..").is_none());
    }
}
