//! Command lines of the programs inference reads (node, npx, python, uv, cargo): which options
//! take a value, and one scanner that walks an argv past them.

/// How one program's command line takes option values.
#[derive(Debug)]
pub(crate) struct Syntax {
    /// Options that take a value: the next argument (`--from X`), after `=` (`--from=X`), or
    /// for a single-letter option in a cluster, the rest of the cluster (`-p3.12`).
    values: &'static [&'static str],
    /// Whether single-dash letters cluster (`-qp 3.12` is `-q -p 3.12`), as clap and CPython
    /// parse them.
    clusters: bool,
}

/// node's own options that take a value (`node [options] script [args]`).
pub(crate) const NODE: Syntax = Syntax {
    values: &[
        "-e",
        "--eval",
        "-p",
        "--print",
        "-r",
        "--require",
        "--import",
        "--loader",
        "--experimental-loader",
        "-C",
        "--conditions",
        "--env-file",
        "--title",
        "--stack-size",
    ],
    clusters: false,
};

/// npx's options that take a value (`npx [options] [-p pkg] pkg|bin [args]`).
pub(crate) const NPX: Syntax = Syntax {
    values: &[
        "-p",
        "--package",
        "-c",
        "--call",
        "--registry",
        "--cache",
        "--userconfig",
        "--prefix",
    ],
    clusters: false,
};

/// CPython's options that take a value (`python [options] script|-m module|-c cmd [args]`).
pub(crate) const PYTHON: Syntax = Syntax {
    values: &["-c", "-m", "-X", "-W", "--check-hash-based-pycs"],
    clusters: true,
};

/// uv's options that take a value, global ones and those of `uv run` and `uv tool run` (=
/// `uvx`), as uv's own parser knows them (hidden ones included). One table serves all three:
/// no option takes a value in one place and none in another, and one a subcommand lacks is
/// an error for uv, so it never reaches inference.
pub(crate) const UV: Syntax = Syntax {
    values: &[
        "-b",
        "-c",
        "-f",
        "-i",
        "-p",
        "-w",
        "-C",
        "-P",
        "--allow-insecure-host",
        "--build-constraint",
        "--build-constraints",
        "--cache-dir",
        "--color",
        "--config-file",
        "--config-setting",
        "--config-settings",
        "--config-settings-package",
        "--constraint",
        "--constraints",
        "--default-index",
        "--directory",
        "--env-file",
        "--exclude-newer",
        "--exclude-newer-package",
        "--extra",
        "--extra-index-url",
        "--find-links",
        "--fork-strategy",
        "--from",
        "--generate-shell-completion",
        "--group",
        "--index",
        "--index-strategy",
        "--index-url",
        "--keyring-provider",
        "--link-mode",
        "--max-recursion-depth",
        "--no-binary-package",
        "--no-build-isolation-package",
        "--no-build-package",
        "--no-editable-package",
        "--no-extra",
        "--no-group",
        "--no-sources-package",
        "--only-group",
        "--override",
        "--overrides",
        "--package",
        "--prerelease",
        "--prerelease-package",
        "--preview-feature",
        "--preview-features",
        "--project",
        "--python",
        "--python-fetch",
        "--python-platform",
        "--python-preference",
        "--refresh-package",
        "--reinstall-package",
        "--resolution",
        "--torch-backend",
        "--trusted-host",
        "--upgrade-group",
        "--upgrade-package",
        "--with",
        "--with-editable",
        "--with-requirements",
    ],
    clusters: true,
};

/// cargo's options that take a value, global ones and those of `cargo run`.
pub(crate) const CARGO: Syntax = Syntax {
    values: &[
        "-C",
        "-F",
        "-j",
        "-p",
        "-Z",
        "--bin",
        "--color",
        "--config",
        "--example",
        "--features",
        "--jobs",
        "--manifest-path",
        "--message-format",
        "--package",
        "--profile",
        "--target",
        "--target-dir",
    ],
    clusters: true,
};

/// One argument of a command line, classified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Arg<'a> {
    /// An option. `name` is the option itself (`--from`, `-p`, also from `--from=X` or a
    /// cluster `-qp`), or the whole argument for a flag; `value` is its value, `None` for a
    /// flag or a value option at the very end.
    Opt {
        /// The option.
        name: &'a str,
        /// Its value.
        value: Option<&'a str>,
    },
    /// `--`: every argument after it is positional.
    DashDash,
    /// A positional argument (`-` included).
    Positional(&'a str),
}

impl Syntax {
    /// Walks `args` with this syntax.
    pub(crate) fn scan<'a>(&'static self, args: &'a [String]) -> Scan<'a> {
        Scan {
            syntax: self,
            args,
            next: 0,
            positional_only: false,
        }
    }

    fn takes_value(&self, name: &str) -> Option<&'static str> {
        self.values.iter().copied().find(|v| *v == name)
    }
}

/// An iterator over the [`Arg`]s of a command line; [`Scan::rest`] is what it has not read.
#[derive(Debug)]
pub(crate) struct Scan<'a> {
    syntax: &'static Syntax,
    args: &'a [String],
    next: usize,
    positional_only: bool,
}

impl<'a> Scan<'a> {
    /// The arguments after the last one returned (and after its value).
    pub(crate) fn rest(&self) -> &'a [String] {
        &self.args[self.next.min(self.args.len())..]
    }

    /// The value of an option that takes one: `=`-joined, else the next argument (never a
    /// `--`, which ends the options: `cargo run --bin -- x` has no `--bin` value).
    fn value(&mut self, joined: Option<&'a str>) -> Option<&'a str> {
        joined.or_else(|| {
            let value = self.args.get(self.next).filter(|v| *v != "--")?;
            self.next += 1;
            Some(value.as_str())
        })
    }

    /// A single-dash cluster (`-qp`, `-p3.12`, `-um`): its first letter that takes a value,
    /// with that value (the rest of the cluster, else the next argument).
    fn cluster(&mut self, arg: &'a str) -> Option<Arg<'a>> {
        let letters = arg.strip_prefix('-')?;
        let (at, name) = letters.char_indices().find_map(|(at, c)| {
            let mut buf = [0; 4];
            let option = format!("-{}", c.encode_utf8(&mut buf));
            self.syntax.takes_value(&option).map(|name| (at, name))
        })?;
        let attached = &letters[at + name.len() - 1..];
        let value = if attached.is_empty() {
            self.value(None)
        } else {
            Some(attached)
        };
        Some(Arg::Opt { name, value })
    }
}

impl<'a> Iterator for Scan<'a> {
    type Item = Arg<'a>;

    fn next(&mut self) -> Option<Arg<'a>> {
        let arg = self.args.get(self.next)?.as_str();
        self.next += 1;
        if self.positional_only || arg == "-" || !arg.starts_with('-') {
            return Some(Arg::Positional(arg));
        }
        if arg == "--" {
            self.positional_only = true;
            return Some(Arg::DashDash);
        }
        let (name, joined) = match arg.split_once('=') {
            Some((name, value)) if name.starts_with("--") => (name, Some(value)),
            _ => (arg, None),
        };
        if let Some(name) = self.syntax.takes_value(name) {
            let value = self.value(joined);
            return Some(Arg::Opt { name, value });
        }
        if self.syntax.clusters
            && !arg.starts_with("--")
            && let Some(opt) = self.cluster(arg)
        {
            return Some(opt);
        }
        Some(Arg::Opt {
            name,
            value: joined,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<String> {
        line.split(' ').map(str::to_owned).collect()
    }

    fn opt<'a>(name: &'a str, value: Option<&'a str>) -> Arg<'a> {
        Arg::Opt { name, value }
    }

    #[test]
    fn values_come_from_the_next_argument_an_equals_sign_or_the_cluster() {
        let line = args("-q --from pkg==1 --with=x -qp 3.12 -p3.11 --offline srv --flag");
        let mut scan = UV.scan(&line);
        let got: Vec<Arg<'_>> = scan.by_ref().take(7).collect();
        assert_eq!(
            got,
            [
                opt("-q", None),
                opt("--from", Some("pkg==1")),
                opt("--with", Some("x")),
                opt("-p", Some("3.12")),
                opt("-p", Some("3.11")),
                opt("--offline", None),
                Arg::Positional("srv"),
            ]
        );
        assert_eq!(scan.rest(), ["--flag"]);
    }

    #[test]
    fn everything_after_dash_dash_is_positional_and_a_trailing_option_has_no_value() {
        let line = args("-r x -- -v");
        assert_eq!(
            NODE.scan(&line).collect::<Vec<_>>(),
            [opt("-r", Some("x")), Arg::DashDash, Arg::Positional("-v")]
        );
        let line = args("--with");
        assert_eq!(UV.scan(&line).collect::<Vec<_>>(), [opt("--with", None)]);
    }

    #[test]
    fn clusters_only_where_the_program_parses_them() {
        let line = args("-um http.server 8000");
        let mut scan = PYTHON.scan(&line);
        assert_eq!(scan.next(), Some(opt("-m", Some("http.server"))));
        assert_eq!(scan.rest(), ["8000"]);
        let line = args("-yp pkg");
        let mut scan = NPX.scan(&line);
        assert_eq!(scan.next(), Some(opt("-yp", None)));
        assert_eq!(scan.next(), Some(Arg::Positional("pkg")));
    }
}
