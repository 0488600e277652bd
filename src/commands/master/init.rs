//! `codexport master init`: make this machine a master (idempotent).

use std::io::Write;

use codexport_core::identity::{Identity, MasterKey};
use codexport_core::settings::DEFAULT_MASTER_TOML;
use codexport_core::{Error, ExitStatus, fsx};

use crate::cli::MasterInitArgs;
use crate::printer::Printer;

/// Creates the identity and `master.toml` when missing; prints the fingerprint on stdout.
pub(crate) fn run(_args: &MasterInitArgs, printer: Printer) -> anyhow::Result<ExitStatus> {
    let homes = super::super::homes()?;
    let key = match Identity::load(&homes)? {
        Some(Identity::Master(key)) => key,
        Some(Identity::Follower(_)) => {
            return Err(Error::WrongRole(
                "this machine is a follower; it cannot also be a master".into(),
                "run `codexport follower trust-reset --yes` first to stop following".into(),
            )
            .into());
        }
        None => {
            let key = MasterKey::generate();
            Identity::Master(key.clone()).save(&homes)?;
            printer.status(format_args!("created {}", homes.identity().display()));
            key
        }
    };
    let toml = homes.master_toml();
    if !toml.exists() {
        fsx::write_atomic(&toml, DEFAULT_MASTER_TOML.as_bytes(), None)
            .map_err(|e| Error::io("write", &toml, e))?;
        printer.status(format_args!("created {}", toml.display()));
    }
    writeln!(std::io::stdout(), "{}", key.fingerprint)?;
    Ok(ExitStatus::Success)
}
