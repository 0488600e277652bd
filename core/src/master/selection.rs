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
/// [`looks_secret`]. The one rule both sides use (the master to label a file, a follower to
/// decide how to write it, whatever label the revision carries).
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

/// Whether `root` may hold `rel` at all: anything in the Codex home, `skills/**` in
/// `~/.agents`, and flat `resolvers/*.wasm` in the tool home (nothing nested, nothing else).
pub fn root_may_hold(root: Root, rel: &str) -> bool {
    match root {
        Root::Codex => true,
        Root::Agents => rel.split('/').next() == Some("skills"),
        Root::Tool => rel
            .strip_prefix("resolvers/")
            .is_some_and(|name| !name.contains('/') && name.ends_with(".wasm")),
    }
}

/// Whether `rel` (in `root`) is runtime state that is never synced, whatever `master.toml`
/// says: logs, caches, sessions, history, SQLite files, Codex's bundled `skills/.system`,
/// codexport's own temp files. A master never selects it; a follower refuses a revision that
/// lists it.
pub fn is_runtime_state(root: Root, rel: &str) -> bool {
    if root == Root::Codex && (rel == "skills/.system" || rel.starts_with("skills/.system/")) {
        return true;
    }
    rel.split('/').any(|seg| {
        EXCLUDED_SEGMENTS.contains(&seg)
            || seg.contains(".sqlite")
            || seg == "history.jsonl"
            || seg.starts_with(crate::fsx::TEMP_PREFIX)
    })
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

/// Most files one followed link publishes (see `follow_links`): a link that reaches a larger
/// tree publishes the first ones and a warning.
pub const FOLLOW_MAX_FILES: usize = 10_000;

/// Most bytes one followed link publishes; a single larger file is left out with a warning.
pub const FOLLOW_MAX_BYTES: u64 = 256 * 1024 * 1024;

/// File names that hold credentials: reached through a followed link at a path the rules do not
/// class as secret, they are left out (they would reach followers as plain files).
const SECRET_NAMES: [&str; 2] = ["auth.json", ".credentials.json"];

/// A link that leaves its root and that no `follow_links` entry covers: not published.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkippedLink {
    /// The link on this machine.
    pub path: PathBuf,
    /// What it points at, as written.
    pub target: String,
}

/// What one scan found: the selected files, warnings, and the links it did not follow.
#[derive(Debug, Clone, Default)]
pub struct Scan {
    /// Selected files, sorted by root then path.
    pub files: Vec<Selected>,
    /// What was refused, for the log.
    pub warnings: Vec<String>,
    /// Links leaving their root, sorted.
    pub skipped_links: Vec<SkippedLink>,
    /// Whether a link was followed (`follow_links`): what it published may depend on links
    /// elsewhere, so a rescan of one path cannot vouch for it.
    pub followed: bool,
}

impl Scan {
    fn finish(mut self) -> Self {
        self.files
            .sort_by(|a, b| (a.root, &a.path).cmp(&(b.root, &b.path)));
        self.files
            .dedup_by(|a, b| a.root == b.root && a.path == b.path);
        self.skipped_links.sort_by(|a, b| a.path.cmp(&b.path));
        self.skipped_links.dedup();
        self
    }
}

/// The line `master rebuild` and `status` print when links were skipped.
pub fn skipped_links_summary(count: usize) -> String {
    format!(
        "skipped {count} link{} leaving the Codex home; list them in `follow_links` (master.toml) to publish them",
        if count == 1 { "" } else { "s" }
    )
}

/// The selection rules of one master.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    include: Vec<String>,
    exclude: Vec<String>,
    follow_links: Vec<String>,
}

/// Where followed links may lead on this machine, resolved once per scan.
struct Bounds {
    /// Canonical `follow_links` directories.
    follow: Vec<PathBuf>,
    /// Canonical homes nothing is followed into (the Codex home, codexport's home).
    refused: Vec<PathBuf>,
    /// What the watcher watches (roots and `follow_links` directories, as written and
    /// canonical): a followed link may only pass through links inside these or their parents.
    watched: Vec<PathBuf>,
}

impl Bounds {
    fn may_follow(&self, real: &Path) -> bool {
        self.follow.iter().any(|f| real.starts_with(f))
            && !self.refused.iter().any(|r| real.starts_with(r))
    }

    /// Where the link at `link` really leads, resolving one link at a time: `None` when a step
    /// passes outside what the watcher sees (a change there would go unnoticed), loops, or
    /// dangles; else a canonical path that [`Self::may_follow`].
    fn resolve(&self, link: &Path) -> Option<PathBuf> {
        let seen = |p: &Path| {
            self.watched
                .iter()
                .any(|w| p.starts_with(w) || w.starts_with(p))
        };
        let mut out = fs::canonicalize(link.parent()?).ok()?;
        let mut pending: std::collections::VecDeque<std::ffi::OsString> =
            [link.file_name()?.to_os_string()].into();
        let mut hops = 0;
        while let Some(part) = pending.pop_front() {
            let part = Path::new(&part);
            match part.components().next() {
                Some(Component::RootDir) => out = PathBuf::from("/"),
                Some(Component::ParentDir) => {
                    out.pop();
                }
                Some(Component::Normal(name)) => {
                    let next = out.join(name);
                    if !seen(&next) {
                        return None;
                    }
                    let meta = fs::symlink_metadata(&next).ok()?;
                    if meta.file_type().is_symlink() {
                        hops += 1;
                        if hops > 40 {
                            return None;
                        }
                        let target = fs::read_link(&next).ok()?;
                        let mut parts: std::collections::VecDeque<_> = target
                            .components()
                            .map(|c| c.as_os_str().to_os_string())
                            .collect();
                        parts.extend(pending);
                        pending = parts;
                    } else {
                        out = next;
                    }
                }
                _ => {}
            }
        }
        self.may_follow(&out).then_some(out)
    }
}

/// How much one followed link has published so far.
#[derive(Default)]
struct Budget {
    files: usize,
    bytes: u64,
    full: bool,
}

impl Selection {
    /// The built-in rules plus `master.toml`'s additions.
    pub fn new(config: &MasterSettings) -> Self {
        Self {
            include: config.include.clone(),
            exclude: config.exclude.clone(),
            follow_links: config.follow_links.clone(),
        }
    }

    /// Every selected file, sorted by root then path, with warnings and skipped links.
    pub fn select(&self, homes: &Homes) -> Scan {
        let mut scan = Scan::default();
        let bounds = self.bounds(homes, &mut scan.warnings);
        for root in Root::ALL {
            for top in self.tops(root, Some(&mut scan.warnings)) {
                self.walk(homes, &bounds, root, &top, &mut scan);
            }
        }
        scan.finish()
    }

    /// Everything at or under `rel` in `root`, exactly as [`Self::select`] finds it there (the
    /// watcher's incremental path). When a parent of `rel` is not a real directory (a link, a
    /// file, gone), that parent is rescanned instead: the returned path is what was covered.
    pub fn rescan(&self, homes: &Homes, root: Root, rel: &str) -> (String, Scan) {
        let covered = first_non_dir(&root.dir(homes), rel);
        let mut scan = Scan::default();
        let bounds = self.bounds(homes, &mut scan.warnings);
        for top in self.tops(root, None) {
            if covered.is_empty() || top == covered || top.starts_with(&format!("{covered}/")) {
                self.walk(homes, &bounds, root, &top, &mut scan);
            } else if covered.starts_with(&format!("{top}/")) {
                self.walk(homes, &bounds, root, &covered, &mut scan);
            }
        }
        (covered, scan.finish())
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
            Root::Tool => root_may_hold(root, rel),
        };
        included && !self.excluded(root, rel)
    }

    /// Whether a changed absolute path can affect the selection (the watcher's filter): inside
    /// a root and at, under or above one of its top paths and not excluded, or inside a
    /// `follow_links` directory. codexport's own files (hash cache, revisions, objects) never do.
    pub fn affects(&self, homes: &Homes, abs: &Path) -> bool {
        if let Some((root, rel)) = locate(homes, abs) {
            if root != Root::Tool
                && abs.starts_with(&homes.tool)
                && !root.dir(homes).starts_with(&homes.tool)
            {
                return false;
            }
            return rel.is_empty()
                || (!self.excluded(root, &rel)
                    && self.tops(root, None).iter().any(|top| {
                        rel == *top
                            || rel.starts_with(&format!("{top}/"))
                            || top.starts_with(&format!("{rel}/"))
                    }));
        }
        !abs.starts_with(&homes.tool)
            && self
                .follow_dirs(homes)
                .iter()
                .any(|dir| abs.starts_with(dir))
    }

    /// The `follow_links` directories as written, `~` expanded (the watcher watches them).
    pub fn follow_dirs(&self, homes: &Homes) -> Vec<PathBuf> {
        self.follow_links
            .iter()
            .filter_map(|entry| expand_home(entry, &homes.user))
            .collect()
    }

    /// The top paths of `root` the scan starts from; `warnings` gets the refused includes.
    fn tops(&self, root: Root, mut warnings: Option<&mut Vec<String>>) -> Vec<String> {
        match root {
            Root::Codex => INCLUDE_ROOTS
                .iter()
                .map(|s| s.to_string())
                .chain(self.include.iter().cloned())
                .filter(|top| match check_rel_path(top) {
                    Ok(()) => true,
                    Err(why) => {
                        if let Some(w) = warnings.as_deref_mut() {
                            w.push(format!("include `{top}` in master.toml skipped: {why}"));
                        }
                        false
                    }
                })
                .collect(),
            Root::Agents => vec!["skills".into()],
            Root::Tool => vec!["resolvers".into()],
        }
    }

    fn bounds(&self, homes: &Homes, warnings: &mut Vec<String>) -> Bounds {
        let refused: Vec<PathBuf> = [&homes.codex, &homes.tool]
            .into_iter()
            .map(|home| fs::canonicalize(home).unwrap_or_else(|_| home.clone()))
            .collect();
        let mut follow = Vec::new();
        for entry in &self.follow_links {
            let Some(dir) = expand_home(entry, &homes.user) else {
                warnings.push(format!(
                    "`follow_links` entry `{entry}` skipped: write an absolute path or one starting with `~/`"
                ));
                continue;
            };
            let Ok(dir) = fs::canonicalize(&dir) else {
                continue;
            };
            if refused
                .iter()
                .any(|home| home.starts_with(&dir) || dir.starts_with(home))
            {
                warnings.push(format!(
                    "`follow_links` entry `{entry}` skipped: it holds or lies in the Codex home or codexport's home; list the directory the links point into"
                ));
                continue;
            }
            follow.push(dir);
        }
        let mut watched: Vec<PathBuf> = [
            Root::Codex.dir(homes),
            Root::Agents.dir(homes).join("skills"),
            homes.resolvers(),
        ]
        .into_iter()
        .chain(self.follow_dirs(homes))
        .collect();
        watched.extend(
            watched
                .iter()
                .filter_map(|dir| fs::canonicalize(dir).ok())
                .collect::<Vec<_>>(),
        );
        Bounds {
            follow,
            refused,
            watched,
        }
    }

    fn excluded(&self, root: Root, rel: &str) -> bool {
        is_runtime_state(root, rel)
            || self.exclude.iter().any(|pattern| {
                if pattern.contains('/') {
                    let p = pattern.trim_end_matches('/');
                    rel == p || rel.starts_with(&format!("{p}/"))
                } else {
                    rel.split('/').any(|seg| glob_match(pattern, seg))
                }
            })
    }

    /// The one walk both the full scan and the watcher's rescan use: from `start` (relative to
    /// `root`, its parents real directories), never through a link; each link is published as
    /// a link when it stays inside its root, followed when `follow_links` covers its real
    /// target, else skipped.
    fn walk(&self, homes: &Homes, bounds: &Bounds, root: Root, start: &str, scan: &mut Scan) {
        let root_dir = root.dir(homes);
        let abs = root_dir.join(start);
        if self.excluded(root, start) {
            return;
        }
        let Ok(meta) = fs::symlink_metadata(&abs) else {
            return;
        };
        if !meta.is_dir() {
            self.entry(bounds, root, start.to_owned(), &abs, meta.file_type(), scan);
            return;
        }
        let walker = walkdir::WalkDir::new(&abs)
            .follow_links(false)
            .min_depth(1)
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
                    scan.warnings.push(format!("skipped: {e}"));
                    continue;
                }
            };
            let Some(rel) = entry
                .path()
                .strip_prefix(&root_dir)
                .ok()
                .and_then(rel_string)
            else {
                scan.warnings.push(format!(
                    "`{}` skipped: not a UTF-8 path",
                    entry.path().display()
                ));
                continue;
            };
            if !entry.file_type().is_dir() {
                self.entry(bounds, root, rel, entry.path(), entry.file_type(), scan);
            }
        }
    }

    /// One non-directory found by [`Self::walk`].
    fn entry(
        &self,
        bounds: &Bounds,
        root: Root,
        rel: String,
        abs: &Path,
        file_type: fs::FileType,
        scan: &mut Scan,
    ) {
        if !self.selects(root, &rel) {
            return;
        }
        if let Err(why) = check_rel_path(&rel) {
            scan.warnings.push(format!("`{rel}` skipped: {why}"));
            return;
        }
        if file_type.is_file() {
            scan.files
                .push(selected(root, rel, abs.to_path_buf(), None));
            return;
        }
        if !file_type.is_symlink() {
            return;
        }
        let target = match fs::read_link(abs) {
            Ok(t) => t.to_string_lossy().replace('\\', "/"),
            Err(e) => {
                scan.warnings.push(format!("`{rel}` skipped: {e}"));
                return;
            }
        };
        if link_stays_inside(&rel, &target) {
            scan.files
                .push(selected(root, rel, abs.to_path_buf(), Some(target)));
            return;
        }
        match bounds.resolve(abs) {
            Some(real) => {
                scan.followed = true;
                let mut budget = Budget::default();
                self.follow(bounds, root, rel, real, &mut Vec::new(), &mut budget, scan);
            }
            _ => scan.skipped_links.push(SkippedLink {
                path: abs.to_path_buf(),
                target,
            }),
        }
    }

    /// Publishes what a followed link leads to as regular files under `rel`: `real` is
    /// canonical and allowed; nested links are followed only into allowed places, `stack`
    /// (the directories above) guards against cycles, `budget` bounds the size.
    #[allow(clippy::too_many_arguments)]
    fn follow(
        &self,
        bounds: &Bounds,
        root: Root,
        rel: String,
        real: PathBuf,
        stack: &mut Vec<PathBuf>,
        budget: &mut Budget,
        scan: &mut Scan,
    ) {
        let meta = match fs::metadata(&real) {
            Ok(m) => m,
            Err(e) => {
                scan.warnings
                    .push(format!("`{}` skipped: {e}", real.display()));
                return;
            }
        };
        if meta.is_file() {
            let name = rel.rsplit('/').next().unwrap_or_default();
            if !self.selects(root, &rel)
                || check_rel_path(&rel).is_err()
                || (SECRET_NAMES.contains(&name) && classify(root, &rel) == FileClass::Regular)
            {
                return;
            }
            if budget.full {
                return;
            }
            if budget.files >= FOLLOW_MAX_FILES || budget.bytes + meta.len() > FOLLOW_MAX_BYTES {
                budget.full = true;
                scan.warnings.push(format!(
                    "`{rel}` and what follows it skipped: a followed link publishes at most {FOLLOW_MAX_FILES} files and {} MiB",
                    FOLLOW_MAX_BYTES >> 20
                ));
                return;
            }
            budget.files += 1;
            budget.bytes += meta.len();
            scan.files.push(selected(root, rel, real, None));
            return;
        }
        if !meta.is_dir() {
            return;
        }
        if stack.contains(&real) {
            scan.warnings.push(format!(
                "`{rel}` skipped: it links back to `{}` (a cycle)",
                real.display()
            ));
            return;
        }
        let mut names: Vec<_> = match fs::read_dir(&real) {
            Ok(dir) => dir.filter_map(|e| e.ok().map(|e| e.file_name())).collect(),
            Err(e) => {
                scan.warnings
                    .push(format!("`{}` skipped: {e}", real.display()));
                return;
            }
        };
        names.sort();
        stack.push(real.clone());
        for name in names {
            let child = real.join(&name);
            let Some(name) = name.to_str() else {
                scan.warnings
                    .push(format!("`{}` skipped: not a UTF-8 path", child.display()));
                continue;
            };
            let child_rel = format!("{rel}/{name}");
            if self.excluded(root, &child_rel) {
                continue;
            }
            let Ok(lmeta) = fs::symlink_metadata(&child) else {
                continue;
            };
            if lmeta.file_type().is_symlink() {
                match bounds.resolve(&child) {
                    Some(next) => self.follow(bounds, root, child_rel, next, stack, budget, scan),
                    _ => scan.skipped_links.push(SkippedLink {
                        target: fs::read_link(&child)
                            .map(|t| t.to_string_lossy().into_owned())
                            .unwrap_or_default(),
                        path: child,
                    }),
                }
            } else {
                self.follow(bounds, root, child_rel, child, stack, budget, scan);
            }
        }
        stack.pop();
    }
}

fn selected(root: Root, path: String, abs: PathBuf, link: Option<String>) -> Selected {
    Selected {
        root,
        class: classify(root, &path),
        path,
        abs,
        link,
    }
}

/// The shallowest parent of `rel` under `root_dir` that is not a real directory, else `rel`.
fn first_non_dir(root_dir: &Path, rel: &str) -> String {
    let segments: Vec<&str> = rel.split('/').collect();
    for end in 1..segments.len() {
        let parent = segments[..end].join("/");
        match fs::symlink_metadata(root_dir.join(&parent)) {
            Ok(meta) if meta.is_dir() => {}
            _ => return parent,
        }
    }
    rel.to_owned()
}

/// The root and relative path (`""` for the root itself) of an absolute path inside one of the
/// synced roots; the deepest root wins when one lies in another.
pub fn locate(homes: &Homes, abs: &Path) -> Option<(Root, String)> {
    Root::ALL
        .into_iter()
        .filter_map(|root| {
            let dir = root.dir(homes);
            let rel = rel_string(abs.strip_prefix(&dir).ok()?)?;
            Some((dir.components().count(), root, rel))
        })
        .max_by_key(|(depth, _, _)| *depth)
        .map(|(_, root, rel)| (root, rel))
}

/// `~/x` under `home`, or an absolute path as is; `None` for anything else.
fn expand_home(entry: &str, home: &Path) -> Option<PathBuf> {
    if entry == "~" {
        return Some(home.to_path_buf());
    }
    if let Some(rest) = entry.strip_prefix("~/") {
        return Some(home.join(rest));
    }
    let path = Path::new(entry);
    path.is_absolute().then(|| path.to_path_buf())
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
        let scan = Selection::new(&config).select(&h);
        assert!(scan.warnings.is_empty(), "{:?}", scan.warnings);
        let files = scan.files;
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
        let scan = Selection::default().select(&h);
        let links: Vec<_> = scan.files.iter().filter_map(|f| f.link.clone()).collect();
        assert_eq!(links, ["../rules/default.rules"]);
        let skipped: Vec<_> = scan
            .skipped_links
            .iter()
            .map(|l| l.target.as_str())
            .collect();
        assert_eq!(skipped, ["/etc/passwd", "../../x"], "{scan:?}");
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
