//! The placeholder grammar of asset templates and `bin` paths: expansion and glob matching.

use crate::names::{alias_in, arch_aliases, libc_in, os_aliases};
use crate::{Libc, Target};

/// One placeholder of the grammar, written `{name}` in a template.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Placeholder {
    /// `{triple}`: each of the platform's target triples, best first.
    Triple,
    /// `{os}`: the os and its aliases (`macos`, `darwin`, `apple`, ...).
    Os,
    /// `{arch}`: the arch and its aliases (`x86_64`, `x86-64`, `amd64`, `x64`).
    Arch,
    /// `{libc}`: `musl` on musl hosts; `gnu`, then `musl`, on glibc hosts; empty elsewhere.
    Libc,
    /// `{tag}`: the release tag (`v1.2.3`).
    Tag,
    /// `{version}`: the tag without a leading `v` (`1.2.3`).
    Version,
    /// `{exe}`: `.exe` on Windows, empty elsewhere.
    Exe,
}

impl Placeholder {
    /// Every placeholder, in the order the docs list them.
    pub const ALL: [Self; 7] = [
        Self::Triple,
        Self::Os,
        Self::Arch,
        Self::Libc,
        Self::Tag,
        Self::Version,
        Self::Exe,
    ];

    /// Its name between the braces.
    pub fn name(self) -> &'static str {
        match self {
            Self::Triple => "triple",
            Self::Os => "os",
            Self::Arch => "arch",
            Self::Libc => "libc",
            Self::Tag => "tag",
            Self::Version => "version",
            Self::Exe => "exe",
        }
    }

    fn parse(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.name() == key)
    }

    fn index(self) -> usize {
        self as usize
    }

    /// The values this placeholder stands for on `target`, best first (never empty).
    fn candidates(self, target: &Target<'_>, tag: &str) -> Vec<String> {
        let own = |list: &[&str], fallback: &str| -> Vec<String> {
            if list.is_empty() {
                vec![fallback.to_owned()]
            } else {
                list.iter().map(|s| (*s).to_owned()).collect()
            }
        };
        match self {
            Self::Triple if !target.triples.is_empty() => target.triples.to_vec(),
            Self::Os => own(os_aliases(target.os), target.os),
            Self::Arch => own(arch_aliases(target.arch), target.arch),
            // A glibc host also runs static musl builds; a musl host runs no glibc ones.
            Self::Libc => match target.libc {
                Some(Libc::Musl) => vec!["musl".to_owned()],
                Some(Libc::Gnu) => vec!["gnu".to_owned(), "musl".to_owned()],
                None => vec![String::new()],
            },
            _ => vec![Bindings::new(target, tag).values[self.index()].clone()],
        }
    }
}

/// One value per placeholder: what a template's placeholders took for the chosen asset, used
/// again to expand its `bin` path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bindings {
    values: [String; 7],
}

impl Bindings {
    /// The platform's own values: its best triple, Rust's os and arch names, its libc.
    pub fn new(target: &Target<'_>, tag: &str) -> Self {
        let windows = target.os == "windows";
        Self {
            values: [
                target.triples.first().cloned().unwrap_or_default(),
                target.os.to_owned(),
                target.arch.to_owned(),
                target.libc.map(Libc::as_str).unwrap_or_default().to_owned(),
                tag.to_owned(),
                tag.strip_prefix('v').unwrap_or(tag).to_owned(),
                if windows { ".exe" } else { "" }.to_owned(),
            ],
        }
    }

    /// The values asset `name` spells: the triple, os and arch aliases and libc it names
    /// (lowercase, as the alias tables write them), the platform's own for the rest.
    pub fn for_asset(name: &str, target: &Target<'_>, tag: &str) -> Self {
        let mut bindings = Self::new(target, tag);
        let lower = name.to_ascii_lowercase();
        let triple = target
            .triples
            .iter()
            .find(|t| crate::contains_word(&lower, t));
        if let Some(triple) = triple {
            bindings.values[Placeholder::Triple.index()] = triple.clone();
        }
        if let Some(os) = alias_in(&lower, os_aliases(target.os)) {
            bindings.values[Placeholder::Os.index()] = os.to_owned();
        }
        if let Some(arch) = alias_in(&lower, arch_aliases(target.arch)) {
            bindings.values[Placeholder::Arch.index()] = arch.to_owned();
        }
        if let Some(libc) = libc_in(&lower) {
            bindings.values[Placeholder::Libc.index()] = libc.as_str().to_owned();
        }
        bindings
    }

    /// The value of one placeholder.
    pub fn get(&self, placeholder: Placeholder) -> &str {
        &self.values[placeholder.index()]
    }

    /// `template` with every placeholder replaced by its value; text in braces that is not a
    /// placeholder stays as written.
    pub fn expand(&self, template: &str) -> String {
        parse(template)
            .iter()
            .map(|token| match token {
                Token::Text(text) => text,
                Token::Key(key) => self.get(*key),
            })
            .collect()
    }

    /// Takes the values of the placeholders `template` has from `matched`.
    pub(crate) fn take_from(&mut self, template: &str, matched: &Self) {
        for token in parse(template) {
            if let Token::Key(key) = token {
                self.set(key, matched.get(key));
            }
        }
    }

    fn set(&mut self, placeholder: Placeholder, value: &str) {
        value.clone_into(&mut self.values[placeholder.index()]);
    }
}

enum Token<'t> {
    Text(&'t str),
    Key(Placeholder),
}

fn parse(template: &str) -> Vec<Token<'_>> {
    let mut tokens = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let key = rest[open + 1..]
            .find('}')
            .and_then(|len| Some((Placeholder::parse(&rest[open + 1..open + 1 + len])?, len)));
        match key {
            Some((key, len)) => {
                tokens.push(Token::Text(&rest[..open]));
                tokens.push(Token::Key(key));
                rest = &rest[open + len + 2..];
            }
            None => {
                tokens.push(Token::Text(&rest[..=open]));
                rest = &rest[open + 1..];
            }
        }
    }
    tokens.push(Token::Text(rest));
    tokens
}

/// Every concrete name `template` stands for on `target`, best first, with the values each
/// one took. A placeholder written twice takes the same value both times, so the number of
/// names stays small whatever the template.
pub(crate) fn expansions(
    template: &str,
    target: &Target<'_>,
    tag: &str,
) -> Vec<(String, Bindings)> {
    let tokens = parse(template);
    let mut keys: Vec<Placeholder> = Vec::new();
    for token in &tokens {
        if let Token::Key(key) = token
            && !keys.contains(key)
        {
            keys.push(*key);
        }
    }
    let choices: Vec<Vec<String>> = keys.iter().map(|k| k.candidates(target, tag)).collect();
    let base = Bindings::new(target, tag);
    let mut out: Vec<(String, Bindings)> = Vec::new();
    // An odometer over the choices, the first placeholder turning slowest.
    let mut at = vec![0usize; keys.len()];
    loop {
        let mut bindings = base.clone();
        for (i, key) in keys.iter().enumerate() {
            bindings.set(*key, &choices[i][at[i]]);
        }
        let name = bindings.expand(template);
        if !out.iter().any(|(n, _)| *n == name) {
            out.push((name, bindings));
        }
        let Some(turn) = (0..keys.len())
            .rev()
            .find(|&i| at[i] + 1 < choices[i].len())
        else {
            break;
        };
        at[turn] += 1;
        at[turn + 1..].iter_mut().for_each(|a| *a = 0);
    }
    out
}

/// Every concrete name `template` stands for on `target`, best first: `{triple}` once per
/// triple, `{os}` and `{arch}` once per alias, `{libc}` once per libc the host runs.
pub fn expand_template(template: &str, target: &Target<'_>, tag: &str) -> Vec<String> {
    expansions(template, target, tag)
        .into_iter()
        .map(|(name, _)| name)
        .collect()
}

/// Whether `name` is `pattern` (ASCII case ignored, `*` standing for any run of characters),
/// optionally followed by an archive extension or `.exe`.
pub(crate) fn names_match(pattern: &str, name: &str) -> bool {
    let pattern = pattern.to_ascii_lowercase();
    let name = name.to_ascii_lowercase();
    crate::archive::TEMPLATE_SUFFIXES.iter().any(|suffix| {
        name.strip_suffix(suffix)
            .is_some_and(|stem| glob(pattern.as_bytes(), stem.as_bytes()))
    })
}

/// `*` matches any run of bytes; everything else matches itself.
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p, t));
            p += 1;
        } else if p < pattern.len() && pattern[p] == text[t] {
            p += 1;
            t += 1;
        } else if let Some((sp, st)) = star {
            p = sp + 1;
            t = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&b| b == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target<'a>(
        os: &'a str,
        arch: &'a str,
        libc: Option<Libc>,
        triples: &'a [String],
    ) -> Target<'a> {
        Target {
            os,
            arch,
            libc,
            triples,
        }
    }

    fn gnu_triples() -> Vec<String> {
        vec![
            "x86_64-unknown-linux-gnu".to_owned(),
            "x86_64-unknown-linux-musl".to_owned(),
        ]
    }

    #[test]
    fn placeholders_expand_in_preference_order() {
        let triples = gnu_triples();
        let t = target("linux", "x86_64", Some(Libc::Gnu), &triples);
        assert_eq!(
            expand_template("fff-mcp-{triple}{exe}", &t, "v1"),
            [
                "fff-mcp-x86_64-unknown-linux-gnu",
                "fff-mcp-x86_64-unknown-linux-musl"
            ]
        );
        assert_eq!(
            expand_template("t-{version}-{os}-{arch}.tar.gz", &t, "v1.2.0"),
            [
                "t-1.2.0-linux-x86_64.tar.gz",
                "t-1.2.0-linux-x86-64.tar.gz",
                "t-1.2.0-linux-amd64.tar.gz",
                "t-1.2.0-linux-x64.tar.gz",
            ]
        );
        assert_eq!(
            expand_template("t-{libc}-{tag}", &t, "v2"),
            ["t-gnu-v2", "t-musl-v2"]
        );
        let win = ["x86_64-pc-windows-msvc".to_owned()];
        let w = target("windows", "x86_64", None, &win);
        assert_eq!(expand_template("t{libc}{exe}", &w, "v1"), ["t.exe"]);
    }

    #[test]
    fn unknown_braces_stay_and_repeats_take_one_value() {
        let triples = gnu_triples();
        let t = target("macos", "aarch64", None, &triples);
        assert_eq!(
            expand_template("{nope}-{os}/{os}-{", &t, "v1"),
            [
                "{nope}-macos/macos-{",
                "{nope}-darwin/darwin-{",
                "{nope}-apple/apple-{",
                "{nope}-osx/osx-{",
                "{nope}-mac/mac-{",
            ]
        );
        // Twenty placeholders still give one name per alias, not 5^20.
        assert_eq!(expand_template(&"{os}".repeat(20), &t, "v1").len(), 5);
        // An os the tables do not know is its own spelling.
        let odd = target("plan9", "mips", None, &[]);
        assert_eq!(
            expand_template("t-{os}-{arch}-{triple}", &odd, "v1"),
            ["t-plan9-mips-"]
        );
    }

    #[test]
    fn bindings_follow_the_asset_name() {
        let triples = vec!["aarch64-apple-darwin".to_owned()];
        let t = target("macos", "aarch64", None, &triples);
        let b = Bindings::for_asset("Tool_1.0_Darwin_arm64.tar.gz", &t, "v1.0");
        assert_eq!(
            b.expand("tool_{version}_{os}_{arch}/tool{exe} {triple} {nope}"),
            "tool_1.0_darwin_arm64/tool aarch64-apple-darwin {nope}"
        );
        let plain = Bindings::for_asset("tool.tar.gz", &t, "v1.0");
        assert_eq!(plain.get(Placeholder::Os), "macos");
        assert_eq!(plain.get(Placeholder::Arch), "aarch64");
    }

    #[test]
    fn names_match_case_blind_with_stars_and_archive_suffixes() {
        assert!(names_match("tool-linux-amd64", "Tool-Linux-AMD64.tar.gz"));
        assert!(names_match("tool-*-linux", "tool-1.2-linux.zip"));
        assert!(names_match("tool-*", "tool-"));
        assert!(!names_match("tool-linux", "tool-linux-arm64"));
        assert!(!names_match("tool-linux", "tool-linux.tar.bz2"));
        assert!(names_match("a*b*c", "aXbYbZc"));
        assert!(!names_match("a*b*c", "aXbYbZ"));
    }
}
