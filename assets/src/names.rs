//! What an asset's name says: os and arch aliases, libc, word boundaries, auxiliary files.

use crate::Libc;

/// The operating systems asset names are read for (Rust's names).
pub const KNOWN_OSES: [&str; 8] = [
    "linux", "macos", "windows", "android", "freebsd", "netbsd", "openbsd", "illumos",
];

/// The architectures asset names are read for (Rust's names). `x86_64` comes before `x86`:
/// its spellings are taken out of a name before 32-bit `x86` is looked for.
pub const KNOWN_ARCHES: [&str; 8] = [
    "x86_64",
    "aarch64",
    "x86",
    "arm",
    "riscv64",
    "powerpc64",
    "s390x",
    "loongarch64",
];

/// How release names spell `os` (a Rust name), the Rust name first; none for an unknown os.
pub fn os_aliases(os: &str) -> &'static [&'static str] {
    match os {
        "linux" => &["linux"],
        "macos" => &["macos", "darwin", "apple", "osx", "mac"],
        "windows" => &["windows", "win64", "win32", "win", "msvc"],
        "android" => &["android"],
        "freebsd" => &["freebsd"],
        "netbsd" => &["netbsd"],
        "openbsd" => &["openbsd"],
        "illumos" => &["illumos"],
        _ => &[],
    }
}

/// How release names spell `arch` (a Rust name), the Rust name first; none for an unknown arch.
pub fn arch_aliases(arch: &str) -> &'static [&'static str] {
    match arch {
        "x86_64" => &["x86_64", "x86-64", "amd64", "x64"],
        "aarch64" => &["aarch64", "arm64"],
        "x86" => &["x86", "i686", "i386", "386"],
        "arm" => &["arm", "armv7", "armv6", "armhf"],
        "riscv64" => &["riscv64", "riscv64gc"],
        "powerpc64" => &["powerpc64", "powerpc64le", "ppc64", "ppc64le"],
        "s390x" => &["s390x"],
        "loongarch64" => &["loongarch64", "loong64"],
        _ => &[],
    }
}

/// Whether `word` occurs in `name` (ASCII case ignored) with no letter or digit right before
/// or after it: `linux` is in `tool_Linux_amd64` but not in `mylinuxtool`.
pub fn contains_word(name: &str, word: &str) -> bool {
    find_word(&name.to_ascii_lowercase(), &word.to_ascii_lowercase()).is_some()
}

/// The byte offset of the first word-bounded `word` in `lower` (both lowercase).
fn find_word(lower: &str, word: &str) -> Option<usize> {
    if word.is_empty() {
        return None;
    }
    let bytes = lower.as_bytes();
    lower.match_indices(word).map(|(at, _)| at).find(|&at| {
        let before = at.checked_sub(1).map(|i| bytes[i]);
        let after = bytes.get(at + word.len()).copied();
        !before.is_some_and(|b| b.is_ascii_alphanumeric())
            && !after.is_some_and(|b| b.is_ascii_alphanumeric())
    })
}

/// The first of `aliases` that `name` spells as a word.
pub(crate) fn alias_in<'w>(name: &str, aliases: &[&'w str]) -> Option<&'w str> {
    let lower = name.to_ascii_lowercase();
    aliases
        .iter()
        .copied()
        .find(|a| find_word(&lower, a).is_some())
}

/// The operating systems `name` mentions. Android's triples also say `linux`, so a name
/// that says `android` is for Android only.
pub(crate) fn oses_in(name: &str) -> Vec<&'static str> {
    let lower = name.to_ascii_lowercase();
    if find_word(&lower, "android").is_some() {
        return vec!["android"];
    }
    KNOWN_OSES
        .into_iter()
        .filter(|os| {
            os_aliases(os)
                .iter()
                .any(|a| find_word(&lower, a).is_some())
        })
        .collect()
}

/// The architectures `name` mentions; each spelling found is blanked out before the next
/// arch is looked for, so `x86_64` and `x86-64` do not also count as 32-bit `x86`.
pub(crate) fn arches_in(name: &str) -> Vec<&'static str> {
    let mut rest = name.to_ascii_lowercase();
    let mut found = Vec::new();
    for arch in KNOWN_ARCHES {
        let mut hit = false;
        for alias in arch_aliases(arch) {
            while let Some(at) = find_word(&rest, alias) {
                hit = true;
                rest.replace_range(at..at + alias.len(), "-");
            }
        }
        if hit {
            found.push(arch);
        }
    }
    found
}

/// The libc `name` is built for, when it says (`musl`, `gnu`, `glibc` as words).
pub(crate) fn libc_in(name: &str) -> Option<Libc> {
    let lower = name.to_ascii_lowercase();
    if find_word(&lower, "musl").is_some() {
        Some(Libc::Musl)
    } else if find_word(&lower, "gnu").is_some() || find_word(&lower, "glibc").is_some() {
        Some(Libc::Gnu)
    } else {
        None
    }
}

/// A macOS build for every arch (`universal`, Python's `universal2`).
pub(crate) fn is_universal(name: &str) -> bool {
    alias_in(name, &["universal", "universal2"]).is_some()
}

/// Whether `name` is a list of checksums for several assets (`checksums.txt`, `SHA256SUMS`).
pub fn is_checksum_list(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.contains("checksum") || lower.contains("sha256sum") || lower == "sha256.txt"
}

/// Files that accompany binaries and are never the binary: checksums, signatures and
/// certificates, SBOMs and other metadata, OS packages, and archive formats the host cannot
/// unpack.
pub fn is_auxiliary(name: &str) -> bool {
    const SUFFIXES: [&str; 33] = [
        // Checksums.
        ".sha256",
        ".sha256sum",
        ".sha512",
        ".sha512sum",
        ".sha1",
        ".md5",
        ".b3",
        // Signatures and certificates.
        ".sig",
        ".asc",
        ".pem",
        ".crt",
        ".cert",
        ".minisig",
        ".sigstore",
        // Metadata.
        ".sbom",
        ".spdx",
        ".json",
        ".jsonl",
        ".txt",
        ".yml",
        ".yaml",
        // OS packages.
        ".deb",
        ".rpm",
        ".apk",
        ".msi",
        ".pkg",
        ".dmg",
        ".snap",
        ".appimage",
        ".flatpak",
        // Archives the host does not unpack: downloading one as a raw binary runs nothing.
        ".zst",
        ".bz2",
        ".7z",
    ];
    let lower = name.to_ascii_lowercase();
    SUFFIXES.iter().any(|s| lower.ends_with(s)) || is_checksum_list(&lower)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_need_non_alphanumeric_neighbours() {
        assert!(contains_word("tool_Linux_amd64.tar.gz", "linux"));
        assert!(!contains_word("mylinuxtool", "linux"));
        assert!(!contains_word("machine-linux", "mac"));
        assert!(contains_word(
            "x-x86_64-unknown-linux-gnu",
            "x86_64-unknown-linux-gnu"
        ));
        assert!(!contains_word(
            "x-x86_64-unknown-linux-gnux32",
            "x86_64-unknown-linux-gnu"
        ));
        assert!(!contains_word("anything", ""));
    }

    #[test]
    fn x86_64_is_not_also_x86_and_android_is_not_linux() {
        assert_eq!(arches_in("t-x86_64-linux"), ["x86_64"]);
        assert_eq!(arches_in("t-x86-64-linux"), ["x86_64"]);
        assert_eq!(arches_in("t_linux_386"), ["x86"]);
        assert_eq!(arches_in("t-linux-armv7"), ["arm"]);
        assert!(arches_in("t-linux").is_empty());
        assert_eq!(oses_in("t-aarch64-linux-android"), ["android"]);
        assert_eq!(oses_in("t-Darwin-arm64"), ["macos"]);
        assert!(oses_in("mylinuxtool").is_empty());
    }

    #[test]
    fn libc_is_read_as_a_word() {
        assert_eq!(libc_in("t-linux-musl"), Some(Libc::Musl));
        assert_eq!(libc_in("t-x86_64-unknown-linux-gnu"), Some(Libc::Gnu));
        assert_eq!(libc_in("t-arm-unknown-linux-gnueabihf"), None);
    }

    #[test]
    fn auxiliary_files_are_recognised() {
        for name in [
            "t.tar.gz.sha256",
            "checksums.txt",
            "SHA256SUMS",
            "t.tar.gz.minisig",
            "t.intoto.jsonl",
            "t.sbom.json",
            "t_amd64.deb",
            "t.AppImage",
            "t-x86_64.pkg.tar.zst",
        ] {
            assert!(is_auxiliary(name), "{name}");
        }
        for name in [
            "t-linux-amd64.tar.gz",
            "t.exe",
            "t-x86_64-unknown-linux-gnu",
        ] {
            assert!(!is_auxiliary(name), "{name}");
        }
    }

    #[test]
    fn unknown_names_have_no_aliases() {
        assert!(os_aliases("plan9").is_empty());
        assert_eq!(arch_aliases("x86_64")[0], "x86_64");
    }
}
