//! `codexport master service install|uninstall|status`: `master serve` as a per-user service.

use std::io::Write;

use codexport_core::master::service::{self, Manager, Plan, ServiceSpec};
use codexport_core::{ExitStatus, Homes};

use crate::cli::{ServiceCommand, ServiceInstallArgs, ServiceStatusArgs, ServiceUninstallArgs};
use crate::printer::Printer;
use crate::report::CliError;

/// Dispatches `install`, `uninstall` and `status`.
pub(crate) fn run(command: &ServiceCommand, printer: Printer) -> anyhow::Result<ExitStatus> {
    let homes = crate::commands::homes()?;
    let manager = Manager::current().ok_or_else(|| {
        CliError::new(
            ExitStatus::Usage,
            format!(
                "`master service` supports Linux (systemd) and Windows (Task Scheduler), not `{}`",
                std::env::consts::OS
            ),
        )
        .hint("run `codexport master serve` under your system's own service manager")
    })?;
    match command {
        ServiceCommand::Install(args) => install(&homes, manager, args, printer),
        ServiceCommand::Uninstall(args) => uninstall(&homes, manager, args, printer),
        ServiceCommand::Status(args) => status(&homes, manager, args),
    }
}

/// The environment, read here at the edge for the service plans.
fn var(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// The service runs the installed codexport (`~/.codexport/bin`), never this binary's own path
/// (npm's cache or a cargo target dir); `install` puts the copy there before it writes.
fn spec(homes: &Homes, listen: Option<&str>) -> anyhow::Result<ServiceSpec> {
    Ok(ServiceSpec::master(&homes.codexport(), homes, listen))
}

fn install(
    homes: &Homes,
    manager: Manager,
    args: &ServiceInstallArgs,
    printer: Printer,
) -> anyhow::Result<ExitStatus> {
    let file = service::planned_file(manager, &spec(homes, args.listen.as_deref())?, homes, var);
    let plan = service::install_plan(manager, file);
    if args.dry_run {
        print_plan(&plan)?;
        return Ok(ExitStatus::Success);
    }
    if !homes.master_toml().exists() {
        return Err(CliError::new(
            ExitStatus::Usage,
            "this machine is not a master yet: `master serve` would not start",
        )
        .hint("run `codexport master init` first")
        .into());
    }
    if manager == Manager::Systemd
        && let Some(reason) = service::probe_systemd(
            std::env::var_os(codexport_core::env::XDG_RUNTIME_DIR)
                .as_deref()
                .map(std::path::Path::new),
        )
    {
        return Err(CliError::new(
            ExitStatus::Unexpected,
            format!("no systemd user manager is running for this user: {reason}"),
        )
        .hint("log in through a session that starts `systemd --user`, or run `loginctl enable-linger $USER` and log in again")
        .hint("or run `codexport master serve` under your own supervisor (`codexport master service install --dry-run` prints the unit)")
        .into());
    }
    crate::commands::hook::installed_exe(homes)?;
    run_plan(&plan)?;
    match manager {
        Manager::Systemd => printer.status(format_args!(
            "installed and started `{}`; logs: `journalctl --user -u {}`",
            plan.write[0].path.display(),
            service::UNIT_NAME
        )),
        Manager::Schtasks => printer.status(format_args!(
            "installed and started the scheduled task `{}` (at every logon)",
            service::TASK_NAME
        )),
    }
    Ok(ExitStatus::Success)
}

fn uninstall(
    homes: &Homes,
    manager: Manager,
    args: &ServiceUninstallArgs,
    printer: Printer,
) -> anyhow::Result<ExitStatus> {
    let file = service::planned_file(manager, &spec(homes, None)?, homes, var);
    let plan = service::uninstall_plan(manager, file.path);
    if args.dry_run {
        print_plan(&plan)?;
        return Ok(ExitStatus::Success);
    }
    run_plan(&plan)?;
    printer.status(format_args!(
        "stopped and removed the codexport master service"
    ));
    Ok(ExitStatus::Success)
}

fn status(homes: &Homes, manager: Manager, args: &ServiceStatusArgs) -> anyhow::Result<ExitStatus> {
    let file = service::planned_file(manager, &spec(homes, None)?, homes, var);
    let status = service::status(manager, &file);
    let mut out = std::io::stdout().lock();
    if args.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&status)?)?;
        return Ok(ExitStatus::Success);
    }
    let installed = if !status.installed {
        "not installed (`codexport master service install`)"
    } else if status.current {
        "installed"
    } else {
        "installed, but not what `install` would write now (another binary, homes or --listen): run `codexport master service install` to refresh it"
    };
    writeln!(out, "service: {installed}")?;
    writeln!(out, "  file:  {}", status.path.display())?;
    writeln!(
        out,
        "  state: {}",
        status
            .state
            .as_deref()
            .unwrap_or("unknown (the service manager did not answer)")
    )?;
    Ok(ExitStatus::Success)
}

/// `--dry-run`: the files and commands, on stdout.
fn print_plan(plan: &Plan) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    for file in &plan.write {
        writeln!(out, "# would write {}", file.path.display())?;
        write!(out, "{}", file.text)?;
    }
    for argv in &plan.commands {
        writeln!(out, "# would run: {}", argv.join(" "))?;
    }
    for path in &plan.remove {
        writeln!(out, "# would remove {}", path.display())?;
    }
    Ok(())
}

fn run_plan(plan: &Plan) -> anyhow::Result<()> {
    service::execute(plan)?.map_err(|failed| {
        CliError::new(
            ExitStatus::Unexpected,
            format!("`{}` failed: {}", failed.command, failed.output),
        )
        .into()
    })
}
