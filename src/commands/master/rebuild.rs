//! `codexport master rebuild`: snapshot now and publish when anything changed.

use std::io::Write;

use codexport_core::ExitStatus;
use codexport_core::master::publish::Publisher;
use codexport_core::master::selection::skipped_links_summary;
use codexport_core::settings::MasterSettings;

use crate::cli::MasterRebuildArgs;
use crate::printer::Printer;

/// Rebuilds and prints `seq revision` of the current revision on stdout; the links it skipped
/// are counted (and listed under `-v`).
pub(crate) fn run(
    _args: &MasterRebuildArgs,
    printer: Printer,
    verbose: u8,
) -> anyhow::Result<ExitStatus> {
    let homes = super::super::homes()?;
    let settings = MasterSettings::load(&homes)?;
    let mut publisher = Publisher::new(&homes, &settings, super::mcp_export(&homes, &settings)?)?;
    let rebuilt = publisher.rebuild()?;
    for w in &rebuilt.warnings {
        printer.warn(format_args!("{w}"));
    }
    if !rebuilt.skipped_links.is_empty() {
        printer.warn(skipped_links_summary(rebuilt.skipped_links.len()));
        if verbose > 0 {
            for link in &rebuilt.skipped_links {
                printer.status(format_args!("  {} -> {}", link.path.display(), link.target));
            }
        }
    }
    let rev = &rebuilt.published.revision;
    printer.status(format_args!(
        "{} seq {} ({} files, {} re-read)",
        if rebuilt.changed {
            "published"
        } else {
            "unchanged:"
        },
        rev.seq,
        rev.files.len(),
        rebuilt.rehashed
    ));
    writeln!(std::io::stdout(), "{} {}", rev.seq, rev.revision)?;
    Ok(ExitStatus::Success)
}
