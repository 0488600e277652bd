//! `codexport status`: role, homes, revisions, last sync, reachability.

use std::io::Write;

use codexport_core::ExitStatus;
use codexport_core::master::selection::skipped_links_summary;
use codexport_core::status::status;

use crate::cli::StatusArgs;

/// Prints the status on stdout (text or `--json`); on a master, the skipped links are listed
/// under `-v`.
pub(crate) fn run(args: &StatusArgs, verbose: u8) -> anyhow::Result<ExitStatus> {
    let homes = super::homes()?;
    let s = status(&homes, Some(args.timeout))?;
    let mut out = std::io::stdout().lock();
    if args.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&s)?)?;
        return Ok(ExitStatus::Success);
    }
    let rev = |r: &Option<codexport_core::status::RevisionRef>| match r {
        Some(r) => format!(
            "seq {} ({})",
            r.seq,
            &r.revision[..12.min(r.revision.len())]
        ),
        None => "none".into(),
    };
    writeln!(out, "role:         {}", s.role)?;
    writeln!(out, "codex home:   {}", s.codex_home)?;
    writeln!(out, "tool home:    {}", s.tool_home)?;
    let b = &s.binary;
    match &b.installed {
        Some(copy) if b.running_installed => writeln!(
            out,
            "binary:       {} ({}, the installed copy)",
            copy.display(),
            b.version
        )?,
        Some(copy) => {
            writeln!(out, "binary:       {} ({})", b.running.display(), b.version)?;
            let version = b.installed_version.as_deref().unwrap_or("version unknown");
            writeln!(out, "installed:    {} ({version})", copy.display())?;
        }
        None => {
            writeln!(out, "binary:       {} ({})", b.running.display(), b.version)?;
            writeln!(
                out,
                "installed:    none yet (`hook install`, `master service install` and every apply put one in `{}`)",
                homes.bin().display()
            )?;
        }
    }
    if b.differs {
        eprintln!(
            "warning: this codexport is not the installed copy that hooks and services run, and they differ; on a follower `codexport apply` or `codexport hook install` replaces the copy, on a master `codexport master service install`"
        );
    }
    if let Some(fp) = &s.fingerprint {
        writeln!(out, "fingerprint:  {fp}")?;
    }
    match s.role {
        "master" => {
            writeln!(out, "published:    {}", rev(&s.applied))?;
            if !s.skipped_links.is_empty() {
                writeln!(
                    out,
                    "links:        {}",
                    skipped_links_summary(s.skipped_links.len())
                )?;
                if verbose > 0 {
                    for link in &s.skipped_links {
                        writeln!(out, "  {} -> {}", link.path.display(), link.target)?;
                    }
                }
            }
        }
        "follower" => {
            writeln!(
                out,
                "master:       {}",
                s.master_url.as_deref().unwrap_or("none")
            )?;
            writeln!(out, "applied:      {}", rev(&s.applied))?;
            writeln!(out, "staged:       {}", rev(&s.staged))?;
            writeln!(out, "managed:      {} files", s.managed_files)?;
            match &s.last_sync {
                Some(l) => writeln!(
                    out,
                    "last sync:    {} {}{}",
                    l.at,
                    l.outcome,
                    l.error
                        .as_deref()
                        .map(|e| format!(": {e}"))
                        .unwrap_or_default()
                )?,
                None => writeln!(out, "last sync:    never")?,
            }
            match (s.reachable, &s.reach_error) {
                (Some(true), _) => writeln!(
                    out,
                    "reachable:    yes, master at {}",
                    rev(&s.master_revision)
                )?,
                (Some(false), Some(e)) => writeln!(out, "reachable:    no ({e})")?,
                _ => {}
            }
        }
        _ => writeln!(
            out,
            "hint: run `codexport master init` on the master, `codexport follower join LINK` on a follower"
        )?,
    }
    Ok(ExitStatus::Success)
}
