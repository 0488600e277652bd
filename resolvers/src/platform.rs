//! The follower's platform as resolvers see it: os, arch, libc and ordered target triples.

use serde::{Deserialize, Serialize};

/// The C library a Linux host runs on (one type with the asset rules).
pub use codexport_assets::Libc;

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
    if GLIBC_LOADERS
        .iter()
        .any(|p| std::path::Path::new(p).exists())
    {
        return Libc::Gnu;
    }
    let has_musl_loader = std::fs::read_dir("/lib").is_ok_and(|dir| {
        dir.flatten()
            .any(|e| e.file_name().to_string_lossy().starts_with("ld-musl-"))
    });
    if has_musl_loader || cfg!(target_env = "musl") {
        Libc::Musl
    } else {
        Libc::Gnu
    }
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
}
