//! Which files a master syncs: include roots, excluded runtime state, secret class, links.
//!
//! It is also the one home of the "secret-looking file name" rule ([`looks_secret`]): synced
//! files it matches are written 0600 on followers, and packed MCP source trees leave them out.

use std::fs;
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::Homes;
use crate::settings::MasterSettings;

/// Entries of the Codex home that are synced (files or directories).
pub const INCLUDE_ROOTS: [&str; 13] = [
    "AGENTS.md",
    "RTK.md",
    "config.toml",
    "auth.json",
    ".credentials.json",
    "multi-auth",
    "hooks.json",
    "hooks",
    "prompts",
    "rules",
    "skills",
    "skill-libraries",
    "mise.toml",
];

/// Path segments that are runtime state anywhere in a path.
pub const EXCLUDED_SEGMENTS: [&str; 10] = [
    "logs",
    "log",
    "cache",
    "caches",
    "tmp",
    "temp",
    "sessions",
    "history",
    "compact-handoffs",
    "shell-snapshots",
];

/// File names that look like credentials, matched (ASCII case-insensitive) against a file's
/// name: `*` any run, `?` one character. Synced ones are [`FileClass::Secret`]; packed MCP
/// source trees leave them out unless `master.toml` includes them on purpose.
pub const SECRET_FILE_NAMES: [&str; 22] = [
    ".env",
    ".env.*",
    "*.pem",
    "*.key",
    "id_rsa*",
    "id_dsa*",
    "id_ecdsa*",
    "id_ed25519*",
    "*.p12",
    "*.pfx",
    "*.keystore",
    "*.jks",
    "*.kdbx",
    ".npmrc",
    ".pypirc",
    ".netrc",
    "_netrc",
    ".pgpass",
    ".git-credentials",
    ".htpasswd",
    "credentials*.json",
    "*.tfstate",
];

/// Templates of secret files, which hold placeholders, not values.
pub const SECRET_TEMPLATES: [&str; 3] = [".env.example", ".env.sample", ".env.template"];

/// Whether a file called `name` looks like it holds credentials ([`SECRET_FILE_NAMES`], minus
/// the [`SECRET_TEMPLATES`]).
pub fn looks_secret(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    !SECRET_TEMPLATES.contains(&name.as_str())
        && SECRET_FILE_NAMES.iter().any(|p| glob_match(p, &name))
}

/// Where a synced file lives, on the master and on every follower.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Root {
    /// The Codex home (`$CODEX_HOME` or `~/.codex`).
    Codex,
    /// `~/.agents` (only its `skills/` is synced).
    Agents,
    /// codexport's tool home (only `resolvers/*.wasm` is synced).
    Tool,
}

impl Root {
    /// Every root.
    pub const ALL: [Root; 3] = [Root::Codex, Root::Agents, Root::Tool];

    /// The root called `name` (see [`Root::name`]).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.name() == name)
    }

    /// The directory this root maps to on the machine of `homes`.
    pub fn dir(self, homes: &Homes) -> PathBuf {
        match self {
            Root::Codex => homes.codex.clone(),
            Root::Agents => homes.user.join(".agents"),
            Root::Tool => homes.tool.clone(),
        }
    }

    /// The lowercase name used in documents and `state.json`.
    pub fn name(self) -> &'static str {
        match self {
            Root::Codex => "codex",
            Root::Agents => "agents",
            Root::Tool => "tool",
        }
    }
}

/// How a follower treats a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileClass {
    /// Plain content.
    Regular,
    /// Credentials: always written 0600, never printed.
    Secret,
    /// `config.toml`, which followers layer before writing.
    Config,
}

/// The secret class of a path in a root: Codex's credential files, and any file whose name
/// [`looks_secret`].
pub fn classify(root: Root, path: &str) -> FileClass {
    let name = path.rsplit('/').next().unwrap_or(path);
    if root == Root::Codex {
        match path {
            "config.toml" => return FileClass::Config,
            "auth.json" | ".credentials.json" => return FileClass::Secret,
            p if p.starts_with("multi-auth/") => return FileClass::Secret,
            _ => {}
        }
    }
    if looks_secret(name) {
        FileClass::Secret
    } else {
        FileClass::Regular
    }
}

/// One selected file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selected {
    /// Its root.
    pub root: Root,
    /// Relative path, `/`-separated.
    pub path: String,
    /// Where it is on this machine.
    pub abs: PathBuf,
    /// The link target when it is a symlink that stays inside its root.
    pub link: Option<String>,
    /// Its class.
    pub class: FileClass,
}

/// The selection rules of one master.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    include: Vec<String>,
    exclude: Vec<String>,
}

impl Selection {
    /// The built-in rules plus `master.toml`'s additions.
    pub fn new(config: &MasterSettings) -> Self {
        Self {
            include: config.include.clone(),
            exclude: config.exclude.clone(),
        }
    }

    /// Every selected file, sorted by root then path, and warnings for what was refused.
    pub fn select(&self, homes: &Homes) -> (Vec<Selected>, Vec<String>) {
        let mut out = Vec::new();
        let mut warnings = Vec::new();
        let codex_roots = INCLUDE_ROOTS
            .iter()
            .map(|s| s.to_string())
            .chain(self.include.iter().cloned());
        for top in codex_roots {
            if let Err(why) = check_rel_path(&top) {
                warnings.push(format!("include `{top}` in master.toml skipped: {why}"));
                continue;
            }
            self.walk(homes, Root::Codex, &top, &mut out, &mut warnings);
        }
        self.walk(homes, Root::Agents, "skills", &mut out, &mut warnings);
        self.walk(homes, Root::Tool, "resolvers", &mut out, &mut warnings);
        out.sort_by(|a, b| (a.root, &a.path).cmp(&(b.root, &b.path)));
        out.dedup_by(|a, b| a.root == b.root && a.path == b.path);
        (out, warnings)
    }

    /// Whether `rel` (in `root`) is selected by these rules, ignoring whether it exists.
    pub fn selects(&self, root: Root, rel: &str) -> bool {
        let first = rel.split('/').next().unwrap_or_default();
        let included = match root {
            Root::Codex => {
                INCLUDE_ROOTS.contains(&first)
                    || self
                        .include
                        .iter()
                        .any(|i| rel == i || rel.starts_with(&format!("{i}/")))
            }
            Root::Agents => first == "skills",
            Root::Tool => {
                first == "resolvers" && rel.ends_with(".wasm") && rel.matches('/').count() == 1
            }
        };
        included && !self.excluded(root, rel)
    }

    /// Whether a changed absolute path can affect the selection (the watcher's filter).
    pub fn affects(&self, homes: &Homes, abs: &Path) -> bool {
        [Root::Codex, Root::Agents, Root::Tool]
            .into_iter()
            .any(|root| {
                abs.strip_prefix(root.dir(homes))
                    .ok()
                    .and_then(rel_string)
                    .is_some_and(|rel| {
                        rel.is_empty() || self.selects(root, &rel) || self.is_ancestor(root, &rel)
                    })
            })
    }

    fn is_ancestor(&self, root: Root, rel: &str) -> bool {
        match root {
            Root::Codex => self
                .include
                .iter()
                .any(|i| i.starts_with(&format!("{rel}/"))),
            _ => false,
        }
    }

    fn excluded(&self, root: Root, rel: &str) -> bool {
        if root == Root::Codex && (rel == "skills/.system" || rel.starts_with("skills/.system/")) {
            return true;
        }
        rel.split('/').any(|seg| {
            EXCLUDED_SEGMENTS.contains(&seg)
                || seg.contains(".sqlite")
                || seg == "history.jsonl"
                || seg.starts_with(".codexport-tmp-")
        }) || self.exclude.iter().any(|pattern| {
            if pattern.contains('/') {
                let p = pattern.trim_end_matches('/');
                rel == p || rel.starts_with(&format!("{p}/"))
            } else {
                rel.split('/').any(|seg| glob_match(pattern, seg))
            }
        })
    }

    fn walk(
        &self,
        homes: &Homes,
        root: Root,
        top: &str,
        out: &mut Vec<Selected>,
        warnings: &mut Vec<String>,
    ) {
        let root_dir = root.dir(homes);
        let start = root_dir.join(top);
        if fs::symlink_metadata(&start).is_err() {
            return;
        }
        let walker = walkdir::WalkDir::new(&start)
            .follow_links(false)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|e| {
                e.path()
                    .strip_prefix(&root_dir)
                    .ok()
                    .and_then(rel_string)
                    .is_some_and(|rel| !self.excluded(root, &rel))
            });
        for entry in walker {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    warnings.push(format!("skipped: {e}"));
                    continue;
                }
            };
            let Some(rel) = entry
                .path()
                .strip_prefix(&root_dir)
                .ok()
                .and_then(rel_string)
            else {
                warnings.push(format!(
                    "`{}` skipped: not a UTF-8 path",
                    entry.path().display()
                ));
                continue;
            };
            let file_type = entry.file_type();
            if file_type.is_dir() {
                continue;
            }
            if !self.selects(root, &rel) {
                continue;
            }
            if let Err(why) = check_rel_path(&rel) {
                warnings.push(format!("`{rel}` skipped: {why}"));
                continue;
            }
            let link = if file_type.is_symlink() {
                let target = match fs::read_link(entry.path()) {
                    Ok(t) => t,
                    Err(e) => {
                        warnings.push(format!("`{rel}` skipped: {e}"));
                        continue;
                    }
                };
                let target = target.to_string_lossy().replace('\\', "/");
                if !link_stays_inside(&rel, &target) {
                    warnings.push(format!(
                        "symlink `{}` -> `{target}` skipped: it points outside `{}`",
                        entry.path().display(),
                        root_dir.display()
                    ));
                    continue;
                }
                Some(target)
            } else if file_type.is_file() {
                None
            } else {
                continue;
            };
            out.push(Selected {
                root,
                class: classify(root, &rel),
                path: rel,
                abs: entry.path().to_path_buf(),
                link,
            });
        }
    }
}

/// `path` relative and `/`-separated, or `None` when not UTF-8.
fn rel_string(path: &Path) -> Option<String> {
    let mut parts = Vec::new();
    for c in path.components() {
        match c {
            Component::Normal(s) => parts.push(s.to_str()?),
            _ => return None,
        }
    }
    Some(parts.join("/"))
}

/// Checks that a listed path is relative, `/`-separated and stays inside its root.
///
/// Refused: empty, absolute, `..` or `.` segments, empty segments, backslashes, NUL, and a
/// drive letter (`C:`), so a path is safe to join on every OS.
pub fn check_rel_path(path: &str) -> Result<(), &'static str> {
    if path.is_empty() {
        return Err("empty path");
    }
    if path.contains('\0') {
        return Err("contains NUL");
    }
    if path.contains('\\') {
        return Err("contains a backslash");
    }
    if path.starts_with('/') {
        return Err("absolute path");
    }
    let b = path.as_bytes();
    if b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':' {
        return Err("starts with a drive letter");
    }
    for seg in path.split('/') {
        match seg {
            "" => return Err("empty path segment"),
            "." | ".." => return Err("`.` or `..` segment"),
            _ => {}
        }
    }
    Ok(())
}

/// Whether a symlink at `link_path` (relative to its root) pointing at `target` resolves,
/// lexically, to a path inside the same root.
pub fn link_stays_inside(link_path: &str, target: &str) -> bool {
    if target.is_empty()
        || target.starts_with('/')
        || target.contains('\\')
        || target.contains('\0')
    {
        return false;
    }
    let b = target.as_bytes();
    if b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':' {
        return false;
    }
    let mut stack: Vec<&str> = link_path.split('/').collect();
    stack.pop();
    for seg in target.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                if stack.pop().is_none() {
                    return false;
                }
            }
            s => stack.push(s),
        }
    }
    !stack.is_empty()
}

/// `*` (any run) and `?` (one character) glob match of a whole string.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn homes(dir: &Path) -> Homes {
        Homes::new(dir, dir.join(".codex"), dir.join(".codexport"))
    }

    fn touch(path: PathBuf) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, b"x").unwrap();
    }

    #[test]
    fn selects_roots_and_skips_runtime_state() {
        let dir = tempfile::tempdir().unwrap();
        let h = homes(dir.path());
        for rel in [
            "AGENTS.md",
            "config.toml",
            "auth.json",
            "multi-auth/a.json",
            "skills/s/SKILL.md",
            "skills/.system/x/SKILL.md",
            "skills/s/cache/blob",
            "rules/default.rules",
            "sessions/2025/01/01/rollout.jsonl",
            "history.jsonl",
            "state_5.sqlite",
            "prompts/p.md",
            "prompts/p.md.bak",
            "notes/n.md",
            "version.json",
        ] {
            touch(h.codex.join(rel));
        }
        touch(h.user.join(".agents/skills/a/SKILL.md"));
        touch(h.tool.join("resolvers/fff.wasm"));
        touch(h.tool.join("resolvers/readme.txt"));
        touch(h.tool.join("identity.json"));
        let config = MasterSettings {
            include: vec!["notes".into()],
            exclude: vec!["*.bak".into()],
            ..Default::default()
        };
        let (files, warnings) = Selection::new(&config).select(&h);
        assert!(warnings.is_empty(), "{warnings:?}");
        let got: Vec<String> = files
            .iter()
            .map(|f| format!("{}:{}:{:?}", f.root.name(), f.path, f.class))
            .collect();
        assert_eq!(
            got,
            [
                "codex:AGENTS.md:Regular",
                "codex:auth.json:Secret",
                "codex:config.toml:Config",
                "codex:multi-auth/a.json:Secret",
                "codex:notes/n.md:Regular",
                "codex:prompts/p.md:Regular",
                "codex:rules/default.rules:Regular",
                "codex:skills/s/SKILL.md:Regular",
                "agents:skills/a/SKILL.md:Regular",
                "tool:resolvers/fff.wasm:Regular",
            ]
        );
        let sel = Selection::new(&config);
        assert!(sel.affects(&h, &h.codex.join("rules/new.rules")));
        assert!(!sel.affects(&h, &h.codex.join("sessions/x.jsonl")));
        assert!(!sel.affects(&h, &h.codex.join("state_5.sqlite-wal")));
    }

    #[cfg(unix)]
    #[test]
    fn links_inside_are_kept_and_escaping_ones_refused() {
        let dir = tempfile::tempdir().unwrap();
        let h = homes(dir.path());
        touch(h.codex.join("rules/default.rules"));
        fs::create_dir_all(h.codex.join("skills")).unwrap();
        std::os::unix::fs::symlink("../rules/default.rules", h.codex.join("skills/in")).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", h.codex.join("skills/abs")).unwrap();
        std::os::unix::fs::symlink("../../x", h.codex.join("skills/up")).unwrap();
        let (files, warnings) = Selection::default().select(&h);
        let links: Vec<_> = files.iter().filter_map(|f| f.link.clone()).collect();
        assert_eq!(links, ["../rules/default.rules"]);
        assert_eq!(warnings.len(), 2, "{warnings:?}");
    }

    #[test]
    fn unsafe_paths_are_refused() {
        for bad in [
            "",
            "/etc/x",
            "../x",
            "a/../../x",
            "a//b",
            "a\\b",
            "C:/x",
            "a\0b",
            "./a",
        ] {
            assert!(check_rel_path(bad).is_err(), "{bad:?}");
        }
        for good in [
            "AGENTS.md",
            "skills/a/SKILL.md",
            "a..b",
            ".credentials.json",
        ] {
            assert!(check_rel_path(good).is_ok(), "{good:?}");
        }
        assert!(link_stays_inside("skills/a", "../rules/x"));
        assert!(link_stays_inside("skills/a", "b"));
        assert!(!link_stays_inside("skills/a", "../../x"));
        assert!(!link_stays_inside("a", ".."));
        assert!(!link_stays_inside("a", "/abs"));
    }

    #[test]
    fn secret_looking_names() {
        for secret in [
            ".env",
            ".env.local",
            ".ENV.production",
            "server.pem",
            "tls.key",
            "id_rsa",
            "id_ed25519.pub",
            "cert.p12",
            "cert.pfx",
            ".npmrc",
            ".pypirc",
            ".netrc",
            "credentials.json",
            "credentials-prod.json",
            "release.keystore",
        ] {
            assert!(looks_secret(secret), "{secret}");
        }
        for plain in [
            ".env.example",
            ".env.sample",
            "env.ts",
            "keys.md",
            "package.json",
            "monkey.py",
            "credentials.md",
            "pem.rs",
        ] {
            assert!(!looks_secret(plain), "{plain}");
        }
        assert_eq!(classify(Root::Agents, "skills/s/.env"), FileClass::Secret);
        assert_eq!(classify(Root::Codex, "prompts/id_rsa"), FileClass::Secret);
        assert_eq!(classify(Root::Codex, "prompts/p.md"), FileClass::Regular);
        assert_eq!(classify(Root::Codex, "config.toml"), FileClass::Config);
    }

    #[test]
    fn globs() {
        assert!(glob_match("*.bak", "p.md.bak"));
        assert!(glob_match("a?c", "abc"));
        assert!(!glob_match("*.bak", "bak"));
        assert!(glob_match("*", ""));
    }
}
