//! Maps paths in strings from the master's machine to this follower: master paths become
//! portable `${codexDir}` / `${home}` / `${NAME}` forms, which expand to the follower's paths.
//!
//! Strings are rewritten, not parsed as paths: a master path is recognised wherever it starts a
//! token (`/home/al/x`, `--root=/home/al/x`, `file:///home/al/x`, `a:/home/al/bin`) and ends on a
//! whole path component, so `/home/al` never matches `/home/alice`. Longer prefixes win (the
//! Codex home lies inside the home). When the master and the follower run different operating
//! systems, the separators of the path that follows a variable are converted
//! (`${home}/src/x` → `C:\Users\al\src\x` and back).

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::Homes;
use crate::error::Error;
use crate::mcp::manifest::MasterPaths;

/// The portable name of the Codex home.
pub const CODEX_DIR: &str = "codexDir";
/// The portable name of the user's home.
pub const HOME: &str = "home";

/// One operating system's path conventions, as far as rewriting needs them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    Unix,
    Windows,
}

impl Style {
    fn of(os: &str) -> Self {
        if os.eq_ignore_ascii_case("windows") {
            Style::Windows
        } else {
            Style::Unix
        }
    }

    fn separator(self) -> char {
        match self {
            Style::Unix => '/',
            Style::Windows => '\\',
        }
    }
}

/// A master path and the variable that stands for it.
#[derive(Debug, Clone)]
struct Prefix {
    path: String,
    var: String,
}

/// Rewrites master paths into follower paths (see the module docs).
#[derive(Debug, Clone)]
pub struct PathMap {
    /// Master prefixes, longest first.
    prefixes: Vec<Prefix>,
    master: Style,
    follower: Style,
    /// Variable name → follower value (`codexDir`, `home`, then `[pathVariables]`).
    values: BTreeMap<String, String>,
    /// Where an unknown variable must be set (named in the error).
    local_toml: PathBuf,
}

impl PathMap {
    /// A map from `master`'s paths to `follower`'s, with `variables` from the follower's
    /// `local.toml [pathVariables]`. The follower's OS is the one this program runs on.
    pub fn new(
        master: &MasterPaths,
        follower: &Homes,
        variables: &BTreeMap<String, String>,
    ) -> Self {
        Self::for_os(master, follower, variables, std::env::consts::OS)
    }

    /// Like [`PathMap::new`], for a follower running `follower_os` (tests map to Windows from
    /// Linux and back).
    pub fn for_os(
        master: &MasterPaths,
        follower: &Homes,
        variables: &BTreeMap<String, String>,
        follower_os: &str,
    ) -> Self {
        let master_style = Style::of(&master.os);
        let mut prefixes = Vec::new();
        for (path, var) in [(&master.codex_home, CODEX_DIR), (&master.home, HOME)] {
            if let Some(path) = normalise_prefix(path, master_style) {
                prefixes.push(Prefix {
                    path,
                    var: var.to_owned(),
                });
            }
        }
        let mut map = Self {
            prefixes,
            master: master_style,
            follower: Style::of(follower_os),
            values: variables.clone(),
            local_toml: follower.local_toml(),
        };
        map.values.insert(
            CODEX_DIR.to_owned(),
            follower.codex.to_string_lossy().into_owned(),
        );
        map.values.insert(
            HOME.to_owned(),
            follower.user.to_string_lossy().into_owned(),
        );
        map.sort_prefixes();
        map
    }

    fn sort_prefixes(&mut self) {
        self.prefixes
            .sort_by(|a, b| b.path.len().cmp(&a.path.len()).then(a.var.cmp(&b.var)));
    }

    /// Replaces every master path prefix in `text` by its `${var}` form.
    pub fn to_portable(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        let mut at_token_start = true;
        'scan: while let Some(c) = rest.chars().next() {
            if at_token_start {
                for prefix in &self.prefixes {
                    if let Some(len) = self.match_prefix(rest, &prefix.path) {
                        out.push_str("${");
                        out.push_str(&prefix.var);
                        out.push('}');
                        rest = &rest[len..];
                        // What follows a replaced prefix continues its path.
                        at_token_start = false;
                        continue 'scan;
                    }
                }
            }
            out.push(c);
            at_token_start = is_token_start_after(c);
            rest = &rest[c.len_utf8()..];
        }
        out
    }

    /// The byte length of `prefix` at the start of `text`, when it is there and ends on a
    /// whole path component. Windows masters match case-insensitively and with either
    /// separator.
    fn match_prefix(&self, text: &str, prefix: &str) -> Option<usize> {
        let mut t = text.char_indices();
        for p in prefix.chars() {
            let (_, c) = t.next()?;
            let same = match self.master {
                Style::Unix => c == p,
                Style::Windows => {
                    c.eq_ignore_ascii_case(&p) || (is_separator(c) && is_separator(p))
                }
            };
            if !same {
                return None;
            }
        }
        let len = t.next().map_or(text.len(), |(i, _)| i);
        let ends_component = text[len..].chars().next().is_none_or(|next| {
            is_separator(next) || !(next.is_alphanumeric() || "_-.~+@".contains(next))
        });
        ends_component.then_some(len)
    }

    /// Expands every `${NAME}` in `text` to this follower's value, converting the separators
    /// of the path that follows it when the master's OS differs.
    pub fn to_follower(&self, text: &str) -> Result<String, Error> {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(name) = variable_name(after) else {
                out.push_str("${");
                rest = after;
                continue;
            };
            let value = self
                .values
                .get(name)
                .ok_or_else(|| Error::UnknownPathVariable {
                    name: name.to_owned(),
                    local_toml: self.local_toml.clone(),
                })?;
            out.push_str(value);
            rest = &after[name.len() + 1..];
            if self.master != self.follower {
                let tail_len = rest.find(is_token_end).unwrap_or(rest.len());
                let from = self.master.separator();
                let to = self.follower.separator();
                out.extend(
                    rest[..tail_len]
                        .chars()
                        .map(|c| if c == from { to } else { c }),
                );
                rest = &rest[tail_len..];
            }
        }
        out.push_str(rest);
        Ok(out)
    }

    /// Master text → follower text: [`PathMap::to_portable`], then [`PathMap::to_follower`].
    pub fn rewrite(&self, text: &str) -> Result<String, Error> {
        self.to_follower(&self.to_portable(text))
    }
}

/// Trims trailing separators; refuses empty and root-only prefixes (they would match every
/// absolute path).
fn normalise_prefix(path: &str, style: Style) -> Option<String> {
    let trimmed = path.trim_end_matches(is_separator);
    let is_root = match style {
        Style::Unix => trimmed.is_empty(),
        Style::Windows => trimmed.len() <= 2 && trimmed.chars().nth(1).is_none_or(|c| c == ':'),
    };
    (!is_root).then(|| trimmed.to_owned())
}

fn is_separator(c: char) -> bool {
    c == '/' || c == '\\'
}

/// Whether a master path may start right after `prev`: not in the middle of a name.
fn is_token_start_after(prev: char) -> bool {
    !(prev.is_alphanumeric() || "_-.~+@$".contains(prev))
}

/// Where the path that follows a variable ends (lists, quotes, options, whitespace).
fn is_token_end(c: char) -> bool {
    c.is_whitespace() || "\"';,=:$".contains(c)
}

/// `NAME` when `text` starts with `NAME}` and NAME is an identifier.
fn variable_name(text: &str) -> Option<&str> {
    let end = text.find('}')?;
    let name = &text[..end];
    let mut chars = name.chars();
    let first = chars.next()?;
    let ok = (first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    ok.then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn linux_master() -> MasterPaths {
        MasterPaths {
            os: "linux".into(),
            home: "/home/al".into(),
            codex_home: "/home/al/.codex".into(),
        }
    }

    fn windows_master() -> MasterPaths {
        MasterPaths {
            os: "windows".into(),
            home: r"C:\Users\al".into(),
            codex_home: r"C:\Users\al\.codex".into(),
        }
    }

    fn linux_follower() -> Homes {
        Homes::new("/home/bo", "/home/bo/.codex", "/home/bo/.codexport")
    }

    fn windows_follower() -> Homes {
        Homes::new(
            r"D:\Users\bo",
            r"D:\Users\bo\.codex",
            r"D:\Users\bo\.codexport",
        )
    }

    fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn linux_to_linux() -> PathMap {
        PathMap::for_os(&linux_master(), &linux_follower(), &vars(&[]), "linux")
    }

    #[test]
    fn longest_prefix_wins_and_values_and_options_map() {
        let map = linux_to_linux();
        assert_eq!(map.to_portable("/home/al/.codex/x"), "${codexDir}/x");
        assert_eq!(map.to_portable("/home/al/src"), "${home}/src");
        assert_eq!(map.to_portable("/home/al"), "${home}");
        assert_eq!(map.to_portable("--root=/home/al/w"), "--root=${home}/w");
        assert_eq!(
            map.to_portable("/usr/bin:/home/al/bin:/home/al/.codex/bin"),
            "/usr/bin:${home}/bin:${codexDir}/bin"
        );
        assert_eq!(map.to_portable("file:///home/al/x"), "file://${home}/x");
        assert_eq!(
            map.rewrite("/home/al/.codex/hooks.json:session_start:0:0")
                .unwrap(),
            "/home/bo/.codex/hooks.json:session_start:0:0"
        );
    }

    #[test]
    fn only_whole_components_match() {
        let map = linux_to_linux();
        for s in [
            "/home/alice/x",
            "/home/al.bak",
            "/home/al-old/x",
            "/srv/home/al/x",
            "x/home/al",
            "/home/al.codex",
        ] {
            assert_eq!(map.to_portable(s), s, "{s} must not be rewritten");
        }
        assert_eq!(map.to_portable("/home/al/.codexold"), "${home}/.codexold");
        assert_eq!(map.to_portable("/home/al/home/al"), "${home}/home/al");
    }

    #[test]
    fn linux_master_to_windows_follower() {
        let map = PathMap::for_os(&linux_master(), &windows_follower(), &vars(&[]), "windows");
        assert_eq!(
            map.rewrite("/home/al/.codex/skills/a/SKILL.md").unwrap(),
            r"D:\Users\bo\.codex\skills\a\SKILL.md"
        );
        assert_eq!(
            map.rewrite("--dir=/home/al/src/x --v").unwrap(),
            r"--dir=D:\Users\bo\src\x --v"
        );
        // Paths outside the home have no follower form: they stay as they are.
        assert_eq!(map.rewrite("/usr/bin/node").unwrap(), "/usr/bin/node");
    }

    #[test]
    fn windows_master_to_linux_follower() {
        let map = PathMap::for_os(&windows_master(), &linux_follower(), &vars(&[]), "linux");
        assert_eq!(
            map.rewrite(r"C:\Users\al\.codex\hooks\a.ps1").unwrap(),
            "/home/bo/.codex/hooks/a.ps1"
        );
        // Windows paths are case-insensitive and accept either separator.
        assert_eq!(map.rewrite("c:/users/AL/src/x").unwrap(), "/home/bo/src/x");
        assert_eq!(map.to_portable(r"C:\Users\alice"), r"C:\Users\alice");
        assert_eq!(map.rewrite(r"D:\tools\x.exe").unwrap(), r"D:\tools\x.exe");
    }

    #[test]
    fn same_os_keeps_backslashes() {
        let map = linux_to_linux();
        assert_eq!(map.rewrite(r"/home/al/x\.y").unwrap(), r"/home/bo/x\.y");
    }

    #[test]
    fn path_variables_expand_and_unknown_ones_name_the_file() {
        let map = PathMap::for_os(
            &linux_master(),
            &linux_follower(),
            &vars(&[("workspaceRoot", "/srv/work")]),
            "linux",
        );
        assert_eq!(
            map.to_follower("${workspaceRoot}/a and ${home}").unwrap(),
            "/srv/work/a and /home/bo"
        );
        // Not an identifier: left alone.
        assert_eq!(map.to_follower("${1x} ${").unwrap(), "${1x} ${");
        let err = map.to_follower("${nope}/x").unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("`${nope}`"), "{msg}");
        let local_toml = linux_follower().local_toml();
        assert!(msg.contains(&local_toml.display().to_string()), "{msg}");
        assert!(msg.contains("[pathVariables]"), "{msg}");
    }

    #[test]
    fn empty_and_root_master_paths_are_ignored() {
        let master = MasterPaths {
            os: "linux".into(),
            home: "/".into(),
            codex_home: String::new(),
        };
        let map = PathMap::for_os(&master, &linux_follower(), &vars(&[]), "linux");
        assert_eq!(map.to_portable("/usr/bin"), "/usr/bin");
    }

    fn component() -> impl Strategy<Value = String> {
        "[a-zA-Z0-9_.-]{1,8}".prop_filter("not . or ..", |s| s != "." && s != "..")
    }

    proptest! {
        #[test]
        fn linux_windows_round_trip(parts in proptest::collection::vec(component(), 0..5)) {
            let tail: String = parts.iter().map(|p| format!("/{p}")).collect();
            let to_win = PathMap::for_os(&linux_master(), &windows_follower(), &vars(&[]), "windows");
            let win = to_win.rewrite(&format!("/home/al{tail}")).unwrap();
            prop_assert_eq!(&win, &format!(r"D:\Users\bo{}", tail.replace('/', r"\")));
            // And back: a Windows master with that home maps to the Linux follower.
            let win_master = MasterPaths {
                os: "windows".into(),
                home: r"D:\Users\bo".into(),
                codex_home: r"D:\Users\bo\.codex".into(),
            };
            let to_linux = PathMap::for_os(&win_master, &linux_follower(), &vars(&[]), "linux");
            prop_assert_eq!(to_linux.rewrite(&win).unwrap(), format!("/home/bo{tail}"));
        }

        #[test]
        fn text_without_the_prefix_is_unchanged(s in "[a-z/ =:.]{0,30}") {
            prop_assume!(!s.contains("/home/al"));
            prop_assert_eq!(linux_to_linux().to_portable(&s), s);
        }

        #[test]
        fn longer_names_never_match(suffix in "[a-zA-Z0-9_][a-zA-Z0-9_/]{0,10}") {
            let s = format!("/home/al{suffix}");
            prop_assert_eq!(linux_to_linux().to_portable(&s), s);
        }
    }
}
