//! `codexport mcp ...`: the MCP servers on this machine, and the manifest as it sees it.

pub(crate) mod doctor;
pub(crate) mod hydrate;
pub(crate) mod inspect;
pub(crate) mod list;
pub(crate) mod plan;
pub(crate) mod run;

use codexport_core::mcp::export::McpExport;
use codexport_core::mcp::manifest::McpManifest;
use codexport_core::settings::{MasterSettings, TomlFile};
use codexport_core::store::ObjectStore;
use codexport_core::{ExitStatus, Homes};
use codexport_launcher::manifest::{self, Source};
use codexport_resolvers::{GithubConfig, InferSettings, RegistryExport};

use crate::printer::Printer;
use crate::report::CliError;

/// Which side the manifest was read on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// Built from the Codex config of this master.
    Master,
    /// Received from the master (`mcp-manifest.json`).
    Follower,
}

/// The manifest: the one this machine has (received, else published; see
/// [`codexport_launcher::manifest::load_on_machine`]), else the one this master would export
/// now (inference problems are logged to stderr as warnings).
pub(crate) fn load(homes: &Homes) -> anyhow::Result<(McpManifest, Role)> {
    Ok(match manifest::load_on_machine(homes)? {
        Some((manifest, Source::Received)) => (manifest, Role::Follower),
        Some((manifest, Source::Published)) => (manifest, Role::Master),
        None => (export(homes)?, Role::Master),
    })
}

/// The master's MCP export: the resolver plugins in `~/.codexport/resolvers` (by priority)
/// and the built-ins over this process's environment, steered by the `[mcp.NAME]` hints and
/// `[source]` limits of `settings` (`master.toml`).
pub(crate) fn registry_export(
    homes: &Homes,
    settings: &MasterSettings,
) -> anyhow::Result<RegistryExport> {
    let mut export = RegistryExport::from_process(infer_settings(homes, settings)?);
    export.registry = codexport_resolvers::wasm::master_registry(homes, GithubConfig::from_env());
    Ok(export)
}

/// Builds this master's manifest from `config.toml` and `master.toml`.
fn export(homes: &Homes) -> anyhow::Result<McpManifest> {
    let export = registry_export(homes, &MasterSettings::load(homes)?)?;
    let config = read_codex_config(homes)?;
    let store = ObjectStore::new(homes.objects());
    let outcome = export.export(homes, config.as_ref(), &store);
    for problem in &outcome.problems {
        tracing::warn!("{problem}");
    }
    Ok(outcome.manifest)
}

/// This machine's Codex `config.toml`, parsed (`None` when there is none).
pub(crate) fn read_codex_config(homes: &Homes) -> anyhow::Result<Option<toml_edit::DocumentMut>> {
    Ok(TomlFile::codex(homes.codex_config()).read()?)
}

/// The inference settings of `master.toml`.
fn infer_settings(homes: &Homes, settings: &MasterSettings) -> anyhow::Result<InferSettings> {
    InferSettings::from_config(settings).map_err(|e| {
        let path = homes.master_toml();
        CliError::new(
            ExitStatus::InvalidInput,
            format!("{e} ({})", path.display()),
        )
        .hint(format!(
            "fix `{}`; `docs/mcp.md` shows the `[mcp.NAME]` hint format",
            path.display()
        ))
        .into()
    })
}

/// The manifest's bytes before an apply, for [`after_apply`].
pub(crate) fn manifest_snapshot(homes: &Homes) -> Option<Vec<u8>> {
    std::fs::read(homes.mcp_manifest()).ok()
}

/// One thing [`after_apply`] did or could not do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Note {
    /// Done (a status line).
    Done(String),
    /// Could not be done; the apply itself still succeeded.
    Warning(String),
}

impl std::fmt::Display for Note {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Done(line) => f.write_str(line),
            Self::Warning(line) => write!(f, "warning: {line}"),
        }
    }
}

impl Note {
    /// Prints the note: a warning even under `--quiet`, a status line otherwise.
    pub(crate) fn print(&self, printer: Printer) {
        match self {
            Self::Done(line) => printer.status(line),
            Self::Warning(line) => printer.warn(line),
        }
    }
}

/// After an apply: installs the launcher next to the config that points at it and, when the
/// manifest changed, starts the background hydration. Problems are warnings (the apply itself
/// succeeded); returns one note per thing done, for the caller's summary or log.
pub(crate) fn after_apply(homes: &Homes, manifest_before: Option<&[u8]>) -> Vec<Note> {
    let exe = match codexport_core::binaries::running_exe() {
        Ok(exe) => exe,
        Err(e) => {
            return vec![Note::Warning(format!(
                "cannot find the codexport executable: {e}"
            ))];
        }
    };
    let done = codexport_launcher::install::after_apply(homes, &exe, manifest_before);
    let mut lines = Vec::new();
    if let Err(e) = done.launcher {
        lines.push(Note::Warning(format!(
            "cannot install the MCP launcher at `{}`: {e}",
            homes.launcher().display()
        )));
    }
    match done.hydrate {
        Some(Ok(pid)) => lines.push(Note::Done(format!(
            "hydrating MCP servers in the background (pid {pid}, log `{}`)",
            codexport_launcher::install::hydrate_log(homes).display()
        ))),
        Some(Err(e)) => lines.push(Note::Warning(format!(
            "cannot start the background MCP hydration: {e} (run `codexport mcp hydrate --all`)"
        ))),
        None => {}
    }
    lines
}
