//! Runs one plan step inside an artifact directory, logging every command's output.

use std::fs::{self, File};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Component, Path, PathBuf};
use std::process::{Command, Stdio};

use codexport_core::store::{ObjectStore, sha256_hex};

use super::{LOG_FILE, Reporter, archive, download, expand};
use crate::Error;
use crate::plan::{ARTIFACT_PLACEHOLDER, Step};

/// How many lines of a failed command's output an error shows.
const TAIL_LINES: usize = 20;

pub(super) struct StepRunner<'a> {
    entry: &'a str,
    dir: &'a Path,
    store: &'a ObjectStore,
    reporter: &'a Reporter,
    log: File,
    log_path: PathBuf,
    downloads: usize,
}

impl<'a> StepRunner<'a> {
    pub(super) fn new(
        entry: &'a str,
        dir: &'a Path,
        store: &'a ObjectStore,
        reporter: &'a Reporter,
    ) -> Result<Self, Error> {
        let log_path = dir.join(LOG_FILE);
        let log = File::create(&log_path).map_err(|e| Error::io("create", &log_path, e))?;
        Ok(Self {
            entry,
            dir,
            store,
            reporter,
            log,
            log_path,
            downloads: 0,
        })
    }

    pub(super) fn finish(self) -> Result<(), Error> {
        self.log
            .sync_all()
            .map_err(|e| Error::io("write", &self.log_path, e))
    }

    fn note(&mut self, line: &str) {
        // The log is best effort: a full disk shows up in the steps themselves.
        let _ = writeln!(self.log, "{line}");
    }

    pub(super) fn step(&mut self, step: &Step) -> Result<(), Error> {
        match step {
            Step::Download {
                url,
                sha256,
                archive,
                strip,
                dest,
            } => {
                let dest = confined(self.dir, dest)?;
                self.downloads += 1;
                let tmp = self.dir.join(format!(".download-{}", self.downloads));
                self.note(&format!("download {url}"));
                let actual = download::fetch(url, &tmp, self.reporter)?;
                if let Some(expected) = sha256
                    && !expected.eq_ignore_ascii_case(&actual)
                {
                    let _ = fs::remove_file(&tmp);
                    self.note(&format!(
                        "sha256 mismatch: expected {expected}, got {actual}"
                    ));
                    return Err(Error::Integrity {
                        what: url.clone(),
                        expected: expected.to_lowercase(),
                        actual,
                    });
                }
                self.note(&format!(
                    "sha256 {actual} verified; unpacking as {archive:?}"
                ));
                let scratch = self.dir.join(format!(".unpack-{}", self.downloads));
                let unpacked = archive::extract(*archive, &tmp, &dest, *strip, &scratch, url);
                let _ = fs::remove_file(&tmp);
                unpacked
            }
            Step::NpmInstall { spec } => {
                let npm = self.tool("npm")?;
                let mut cmd = Command::new(npm);
                cmd.args(["install", "--prefix"])
                    .arg(self.dir)
                    .args([
                        "--no-audit",
                        "--no-fund",
                        "--save-exact",
                        "--loglevel=error",
                    ])
                    .arg(spec)
                    .env("npm_config_update_notifier", "false");
                self.run(&format!("npm install {spec}"), cmd)
            }
            Step::UvTool {
                from,
                package,
                with,
            } => {
                let uv = self.tool("uv")?;
                let from = expand(from, self.dir);
                let mut cmd = Command::new(uv);
                cmd.args(["tool", "install", "--from", &from]);
                for extra in with {
                    cmd.args(["--with", extra]);
                }
                cmd.arg(package)
                    .env(codexport_core::env::UV_TOOL_DIR, self.dir.join("tools"))
                    .env(codexport_core::env::UV_TOOL_BIN_DIR, self.dir.join("bin"))
                    .env("UV_NO_PROGRESS", "1")
                    // Bytecode now, so even the first start after hydration is a warm one.
                    .env("UV_COMPILE_BYTECODE", "1");
                self.run(&format!("uv tool install --from {from} {package}"), cmd)
            }
            Step::CargoInstall {
                crate_name,
                version,
                git,
                rev,
                bin,
            } => {
                let cargo = self.tool("cargo")?;
                let mut cmd = Command::new(cargo);
                cmd.args(["install", "--locked", "--root"])
                    .arg(self.dir)
                    .args(["--bin", bin]);
                if let Some(version) = version {
                    cmd.args(["--version", version]);
                }
                if let Some(git) = git {
                    cmd.args(["--git", git]);
                }
                if let Some(rev) = rev {
                    cmd.args(["--rev", rev]);
                }
                cmd.arg(crate_name)
                    // A target dir from the caller's shell would be shared and locked.
                    .env_remove("CARGO_TARGET_DIR");
                self.run(&format!("cargo install {crate_name}"), cmd)
            }
            Step::CopySource { object, dest } => {
                let dest = confined(self.dir, dest)?;
                let bytes = self.store.read(object).map_err(|e| {
                    Error::io("read packed source", self.store.root().join(object), e)
                })?;
                let actual = sha256_hex(&bytes);
                if &actual != object {
                    return Err(Error::Integrity {
                        what: format!("object {object}"),
                        expected: object.clone(),
                        actual,
                    });
                }
                self.note(&format!("copy-source {object} -> {}", dest.display()));
                let scratch = self.dir.join(".unpack-source");
                archive::extract_tar_gz_bytes(
                    &bytes,
                    &dest,
                    &scratch,
                    &format!("packed source {object}"),
                )
            }
            Step::Run { program, args, cwd } => {
                let is_path = program.contains('/') || program.contains('\\');
                let exe = if is_path {
                    confined(self.dir, program)?
                } else {
                    self.tool(program)?
                };
                let cwd = match cwd {
                    Some(cwd) => confined(self.dir, cwd)?,
                    None => self.dir.to_path_buf(),
                };
                let args: Vec<String> = args.iter().map(|a| expand(a, self.dir)).collect();
                let mut cmd = Command::new(exe);
                cmd.args(&args).current_dir(cwd);
                self.run(&format!("{program} {}", args.join(" ")), cmd)
            }
            Step::MakeExecutable { path } => {
                let path = confined(self.dir, path)?;
                if !path.is_file() {
                    // Named from the folder the archive was unpacked into (`asset/`), as a
                    // `bin` hint is written.
                    let base = unpacked_into(self.dir, &path);
                    return Err(Error::MissingProgram {
                        entry: self.entry.to_owned(),
                        path: relative(&base, &path),
                        found: some_files(&base),
                    });
                }
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt;
                    fs::set_permissions(&path, fs::Permissions::from_mode(0o755))
                        .map_err(|e| Error::io("chmod", &path, e))?;
                }
                Ok(())
            }
        }
    }

    fn tool(&self, name: &str) -> Result<PathBuf, Error> {
        find_tool(self.entry, name)
    }

    /// Runs `cmd` with its stdout and stderr appended to the log (never to ours: the
    /// launcher's stdout belongs to the MCP server).
    fn run(&mut self, description: &str, mut cmd: Command) -> Result<(), Error> {
        self.note(&format!("$ {description}"));
        let start = self
            .log
            .stream_position()
            .map_err(|e| Error::io("write", &self.log_path, e))?;
        let out = self
            .log
            .try_clone()
            .map_err(|e| Error::io("write", &self.log_path, e))?;
        let err = out
            .try_clone()
            .map_err(|e| Error::io("write", &self.log_path, e))?;
        cmd.stdin(Stdio::null()).stdout(out).stderr(err);
        let spinner = self.reporter.spinner(description.to_owned());
        let status = cmd.status();
        spinner.finish_and_clear();
        let status = status.map_err(|e| Error::io("run", description, e))?;
        // The children appended through their own handles; move ours to the end.
        let _ = self.log.seek(SeekFrom::End(0));
        if status.success() {
            return Ok(());
        }
        Err(Error::StepFailed {
            entry: self.entry.to_owned(),
            step: description.to_owned(),
            status: status.to_string(),
            tail: tail(&self.log_path, start),
            log: self.log_path.clone().into_boxed_path(),
        })
    }
}

/// The path of `name` on PATH, or [`Error::ToolMissing`] saying how to install it.
pub fn find_tool(entry: &str, name: &str) -> Result<PathBuf, Error> {
    which::which(name).map_err(|_| Error::ToolMissing {
        entry: entry.to_owned(),
        tool: name.to_owned(),
        install: install_hint(name),
    })
}

/// How to install a tool plans use.
pub(crate) fn install_hint(tool: &str) -> String {
    match tool {
        "npm" | "node" | "npx" => {
            "install Node.js 18 or newer with npm (https://nodejs.org, or `apt-get install nodejs npm`)"
                .to_owned()
        }
        "uv" | "uvx" => {
            "install uv: `pip install uv` or `curl -LsSf https://astral.sh/uv/install.sh | sh`"
                .to_owned()
        }
        "cargo" => "install Rust: `curl --proto '=https' -sSf https://sh.rustup.rs | sh`".to_owned(),
        other => format!("install `{other}` on this machine and put it on PATH"),
    }
}

/// The last lines the log got after byte `start`.
fn tail(log: &Path, start: u64) -> String {
    let mut text = String::new();
    if let Ok(mut f) = File::open(log) {
        let _ = f.seek(SeekFrom::Start(start));
        let mut bytes = Vec::new();
        let _ = f.read_to_end(&mut bytes);
        text = String::from_utf8_lossy(&bytes).into_owned();
    }
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(TAIL_LINES)..].join("\n")
}

/// `rel` (relative, or under `${artifact}/`) joined to `dir`, refusing anything that leaves it,
/// lexically or through a symlink.
pub(crate) fn confined(dir: &Path, rel: &str) -> Result<PathBuf, Error> {
    let escape = || Error::PathEscape {
        path: rel.to_owned(),
    };
    let trimmed = rel
        .strip_prefix(ARTIFACT_PLACEHOLDER)
        .map(|r| r.trim_start_matches(['/', '\\']))
        .unwrap_or(rel);
    let mut path = dir.to_path_buf();
    for component in Path::new(trimmed).components() {
        match component {
            Component::CurDir => {}
            Component::Normal(part) => path.push(part),
            _ => return Err(escape()),
        }
    }
    // The deepest existing ancestor, resolved, must still lie inside the artifact dir.
    let root = fs::canonicalize(dir).map_err(|e| Error::io("read", dir, e))?;
    let mut probe = path.as_path();
    loop {
        if let Ok(real) = fs::canonicalize(probe) {
            if !real.starts_with(&root) {
                return Err(escape());
            }
            break;
        }
        match probe.parent() {
            Some(parent) => probe = parent,
            None => break,
        }
    }
    Ok(path)
}

/// How many of an artifact's files a missing-program error names.
const FILES_SHOWN: usize = 8;

/// The folder below `dir` that `path` lies in (its first component), else `dir` itself.
fn unpacked_into(dir: &Path, path: &Path) -> PathBuf {
    let rel = path.strip_prefix(dir).unwrap_or(path);
    match rel.components().next() {
        Some(first) if rel.components().count() > 1 && dir.join(first).is_dir() => dir.join(first),
        _ => dir.to_path_buf(),
    }
}

/// `path` relative to `dir`, `/`-separated, as a hint would write it.
fn relative(dir: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(dir).unwrap_or(path);
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    parts.join("/")
}

/// A few of the files an artifact holds (sorted, the step log left out), so an error can say
/// where the program might be (the error renderer escapes what the names hold). The walk
/// stops early: an archive may hold a million entries.
fn some_files(dir: &Path) -> Vec<String> {
    let mut files: Vec<String> = walkdir::WalkDir::new(dir)
        .min_depth(1)
        .max_depth(4)
        .sort_by_file_name()
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file() && e.file_name() != LOG_FILE)
        .take(FILES_SHOWN)
        .map(|e| relative(dir, e.path()))
        .collect();
    files.sort();
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confined_paths_stay_inside() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        assert_eq!(confined(dir, "a/b").unwrap(), dir.join("a/b"));
        assert_eq!(confined(dir, "${artifact}/a").unwrap(), dir.join("a"));
        for bad in ["../x", "/etc/passwd", "a/../../x"] {
            assert!(
                matches!(confined(dir, bad), Err(Error::PathEscape { .. })),
                "{bad}"
            );
        }
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink("/tmp", dir.join("out")).unwrap();
            assert!(matches!(
                confined(dir, "out/x"),
                Err(Error::PathEscape { .. })
            ));
        }
    }

    #[test]
    fn missing_tools_name_an_install_command() {
        let err = find_tool("e", "definitely-not-a-tool-xyz").unwrap_err();
        assert!(matches!(err, Error::ToolMissing { .. }));
        assert!(install_hint("uv").contains("pip install uv"));
    }
}
