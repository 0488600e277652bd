//! The archive kind an asset's file name implies.

/// How a download is unpacked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "kebab-case")
)]
pub enum ArchiveKind {
    /// The file itself.
    Raw,
    /// `.tar.gz` / `.tgz`.
    TarGz,
    /// `.tar.xz` / `.txz`.
    TarXz,
    /// `.tar`.
    Tar,
    /// `.zip`.
    Zip,
    /// A lone `.gz` file.
    Gz,
}

impl ArchiveKind {
    /// The kind an asset's file name implies (`raw` when no archive suffix matches).
    pub fn from_name(name: &str) -> Self {
        let lower = name.to_ascii_lowercase();
        if lower.ends_with(".tar.gz") || lower.ends_with(".tgz") {
            Self::TarGz
        } else if lower.ends_with(".tar.xz") || lower.ends_with(".txz") {
            Self::TarXz
        } else if lower.ends_with(".tar") {
            Self::Tar
        } else if lower.ends_with(".zip") {
            Self::Zip
        } else if lower.ends_with(".gz") {
            Self::Gz
        } else {
            Self::Raw
        }
    }
}

/// The suffixes an asset may carry after what a template names (`fff-mcp-{triple}` matches
/// `fff-mcp-x86_64-unknown-linux-gnu.tar.gz`).
pub(crate) const TEMPLATE_SUFFIXES: [&str; 9] = [
    "", ".tar.gz", ".tgz", ".tar.xz", ".txz", ".tar", ".zip", ".gz", ".exe",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_suffix_decides() {
        assert_eq!(ArchiveKind::from_name("x.tar.gz"), ArchiveKind::TarGz);
        assert_eq!(ArchiveKind::from_name("x.TXZ"), ArchiveKind::TarXz);
        assert_eq!(ArchiveKind::from_name("x.ZIP"), ArchiveKind::Zip);
        assert_eq!(ArchiveKind::from_name("x.gz"), ArchiveKind::Gz);
        assert_eq!(
            ArchiveKind::from_name("fff-mcp-x86_64-unknown-linux-gnu"),
            ArchiveKind::Raw
        );
    }
}
