//! Error snapshots: a command's exit code, stdout and stderr, with what differs between runs filtered.

/// Snapshots `$ran.transcript()` (exit code, stdout, stderr) as
/// `tests/snapshots/BINARY__NAME.snap` of the calling test, with [`snapshot_settings`] and any
/// extra `regex => replacement` filters applied. A macro so that insta names the snapshot after
/// the calling test binary and stores it next to it, not in this crate.
///
/// [`snapshot_settings`]: crate::snapshot_settings
#[macro_export]
macro_rules! assert_transcript {
    ($name:expr, $ran:expr $(, $filter:expr => $replacement:expr)* $(,)?) => {{
        #[allow(unused_mut)]
        let mut settings = $crate::snapshot_settings();
        $(settings.add_filter($filter, $replacement);)*
        settings.bind(|| $crate::insta::assert_snapshot!($name, $ran.transcript()));
    }};
}

/// Filters of what differs between runs and machines: the temp dirs (`[TMP]`), artifact keys,
/// key fingerprints, loopback ports, RFC 3339 times (extended and basic), durations and this
/// package's version (and NUL bytes, shown as `[NUL]`).
pub fn snapshot_settings() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    let tmp = std::env::temp_dir();
    let mut roots = vec![tmp.clone()];
    if let Ok(canonical) = tmp.canonicalize() {
        roots.push(canonical);
    }
    for root in roots {
        let root = root.to_string_lossy();
        let root = regex_escape(root.trim_end_matches(['/', '\\']));
        settings.add_filter(&format!(r"{root}[/\\]\.tmp[A-Za-z0-9]+"), "[TMP]");
    }
    // An artifact directory's key hashes inputs that include the temp home.
    settings.add_filter(r"(mcp-artifacts[/\\][\w-]+[/\\])[0-9a-f]{32}", "$1[KEY]");
    // Key fingerprints (the tests' keys are random), whatever the algorithm a link claims.
    settings.add_filter(r"\b([A-Z0-9]+):[A-Za-z0-9_-]{43}\b", "$1:[FINGERPRINT]");
    settings.add_filter(r"127\.0\.0\.1:\d+", "127.0.0.1:[PORT]");
    // A NUL byte would make git take the `.snap` for a binary file.
    settings.add_filter(r"\x00", "[NUL]");
    settings.add_filter(
        r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})",
        "[TIME]",
    );
    // The basic format, as backup names use it.
    settings.add_filter(r"\b\d{8}T\d{6}(\.\d+)?Z\b", "[TIME]");
    settings.add_filter(r"\b\d+(\.\d+)? ?(ns|µs|us|ms|s)\b", "[DURATION]");
    settings.add_filter(
        &format!(r"\b{}\b", regex_escape(env!("CARGO_PKG_VERSION"))),
        "[VERSION]",
    );
    settings
}

/// `text` with every regex metacharacter escaped (for a literal in a snapshot filter).
pub fn regex_escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if r"\.+*?()|[]{}^$#&-~".contains(c) {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}
