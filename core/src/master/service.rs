//! Running `codexport master serve` as a per-user service: a systemd user unit on Linux, a
//! scheduled task at logon on Windows. Each action is a plan (files to write, commands to
//! run) so `--dry-run` prints exactly what `install` would do.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Serialize;

use crate::error::Error;
use crate::{Homes, env, fsx};

/// The systemd unit's file name.
pub const UNIT_NAME: &str = "codexport-master.service";
/// The Windows scheduled task's name.
pub const TASK_NAME: &str = "CodexportMaster";
/// What the service does, for `Description=` and the task's description.
const DESCRIPTION: &str = "codexport master: serves this Codex home to followers";

/// Which service manager a plan targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Manager {
    /// A systemd user unit (`systemctl --user`).
    Systemd,
    /// A per-user scheduled task at logon (`schtasks`).
    Schtasks,
}

impl Manager {
    /// The manager of the OS this program runs on, if codexport supports one there.
    pub fn current() -> Option<Self> {
        match std::env::consts::OS {
            "linux" => Some(Manager::Systemd),
            "windows" => Some(Manager::Schtasks),
            _ => None,
        }
    }
}

/// The process the service runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServiceSpec {
    /// Absolute path of the codexport binary.
    pub exe: PathBuf,
    /// Its arguments (`master serve ...`).
    pub args: Vec<String>,
    /// Variables the service needs that a service manager would not give it (non-default
    /// Codex or tool homes).
    pub env: Vec<(String, String)>,
}

impl ServiceSpec {
    /// `<exe> master serve [--listen ADDR]` with the homes this command runs with.
    pub fn master(exe: &Path, homes: &Homes, listen: Option<&str>) -> Self {
        let mut args = vec!["master".to_owned(), "serve".to_owned()];
        if let Some(listen) = listen {
            args.extend(["--listen".to_owned(), listen.to_owned()]);
        }
        let mut vars = Vec::new();
        if homes.codex != homes.user.join(".codex") {
            vars.push((
                env::CODEX_HOME.to_owned(),
                homes.codex.display().to_string(),
            ));
        }
        if !homes.tool_is_default() {
            vars.push((
                env::CODEXPORT_HOME.to_owned(),
                homes.tool.display().to_string(),
            ));
        }
        Self {
            exe: exe.to_path_buf(),
            args,
            env: vars,
        }
    }
}

/// A file a plan writes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedFile {
    /// Where.
    pub path: PathBuf,
    /// The text (the task XML is stored as UTF-16, as `schtasks` expects).
    pub text: String,
    /// Whether the bytes on disk are UTF-16LE with a byte-order mark.
    #[serde(skip)]
    pub utf16: bool,
}

/// What an action does: files to write or remove, then commands to run, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Plan {
    /// Files written first.
    pub write: Vec<PlannedFile>,
    /// Files removed after the commands ran.
    pub remove: Vec<PathBuf>,
    /// Commands (program and arguments), run in order.
    pub commands: Vec<Vec<String>>,
    /// Commands whose failure does not stop the plan (stopping a service that is not running).
    #[serde(skip)]
    pub tolerated: Vec<usize>,
}

/// Where systemd looks for user units: `$XDG_CONFIG_HOME/systemd/user`, else
/// `~/.config/systemd/user`.
pub fn unit_path(user_home: &Path, xdg_config_home: Option<&Path>) -> PathBuf {
    xdg_config_home
        .filter(|p| p.is_absolute())
        .map_or_else(|| user_home.join(".config"), Path::to_path_buf)
        .join("systemd/user")
        .join(UNIT_NAME)
}

/// The systemd user unit for `spec`.
pub fn systemd_unit(spec: &ServiceSpec) -> String {
    let mut exec = systemd_quote(&spec.exe.display().to_string());
    for arg in &spec.args {
        exec.push(' ');
        exec.push_str(&systemd_quote(arg));
    }
    let mut env = String::new();
    for (name, value) in &spec.env {
        env.push_str(&format!(
            "Environment={}\n",
            systemd_quote(&format!("{name}={value}"))
        ));
    }
    format!(
        "# Written by `codexport master service install`; remove with `codexport master service uninstall`.
[Unit]
Description={DESCRIPTION}
Wants=network-online.target
After=network-online.target

[Service]
Type=simple
ExecStart={exec}
{env}Restart=on-failure
RestartSec=5

[Install]
WantedBy=default.target
"
    )
}

/// Quotes a word for a systemd command line or assignment: `%` and `$` are escaped (systemd
/// expands them), and words with spaces, quotes or backslashes are double-quoted.
fn systemd_quote(word: &str) -> String {
    let escaped = word.replace('%', "%%").replace('$', "$$");
    if !escaped.is_empty()
        && !escaped
            .chars()
            .any(|c| c.is_whitespace() || matches!(c, '"' | '\'' | '\\' | ';'))
    {
        return escaped;
    }
    let mut out = String::from("\"");
    for c in escaped.chars() {
        if matches!(c, '"' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// The Task Scheduler definition for `spec`: at logon of `user` (`DOMAIN\name`, so no admin
/// right is needed), only while that user is logged on, restarted on failure, never timed out.
pub fn task_xml(spec: &ServiceSpec, user: Option<&str>) -> String {
    let exe = spec.exe.display().to_string();
    let (command, arguments) = if spec.env.is_empty() {
        (exe, windows_args(&spec.args))
    } else {
        // The task format has no environment: `cmd` sets it, then starts codexport.
        let mut line = String::from("/d /c ");
        for (name, value) in &spec.env {
            line.push_str(&format!("set \"{name}={value}\"&& "));
        }
        line.push_str(&format!("\"{exe}\" {}", windows_args(&spec.args)));
        ("cmd.exe".to_owned(), line)
    };
    let user_id = user.map_or_else(String::new, |u| {
        format!("      <UserId>{}</UserId>\n", xml_escape(u))
    });
    format!(
        r#"<?xml version="1.0" encoding="UTF-16"?>
<Task version="1.2" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">
  <RegistrationInfo>
    <Description>{DESCRIPTION}</Description>
  </RegistrationInfo>
  <Triggers>
    <LogonTrigger>
      <Enabled>true</Enabled>
{user_id}    </LogonTrigger>
  </Triggers>
  <Principals>
    <Principal id="Author">
{user_id}      <LogonType>InteractiveToken</LogonType>
      <RunLevel>LeastPrivilege</RunLevel>
    </Principal>
  </Principals>
  <Settings>
    <MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy>
    <DisallowStartIfOnBatteries>false</DisallowStartIfOnBatteries>
    <StopIfGoingOnBatteries>false</StopIfGoingOnBatteries>
    <StartWhenAvailable>true</StartWhenAvailable>
    <Hidden>true</Hidden>
    <ExecutionTimeLimit>PT0S</ExecutionTimeLimit>
    <RestartOnFailure>
      <Interval>PT1M</Interval>
      <Count>999</Count>
    </RestartOnFailure>
  </Settings>
  <Actions Context="Author">
    <Exec>
      <Command>{}</Command>
      <Arguments>{}</Arguments>
    </Exec>
  </Actions>
</Task>
"#,
        xml_escape(&command),
        xml_escape(&arguments)
    )
}

/// Windows command-line words: quoted when they hold spaces or quotes.
fn windows_args(args: &[String]) -> String {
    args.iter()
        .map(|a| {
            if a.is_empty() || a.contains([' ', '\t', '"']) {
                format!("\"{}\"", a.replace('"', "\\\""))
            } else {
                a.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

/// UTF-16LE with a byte-order mark: the encoding the task XML declares.
pub fn utf16le_with_bom(text: &str) -> Vec<u8> {
    let mut bytes = vec![0xFF, 0xFE];
    for unit in text.encode_utf16() {
        bytes.extend_from_slice(&unit.to_le_bytes());
    }
    bytes
}

/// Where the task XML is kept (for `schtasks /Create /XML` and for `status` to compare).
pub fn task_xml_path(homes: &Homes) -> PathBuf {
    homes.tool.join("service").join(format!("{TASK_NAME}.xml"))
}

fn words(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

/// The plan that installs and starts the service.
pub fn install_plan(manager: Manager, file: PlannedFile) -> Plan {
    match manager {
        Manager::Systemd => Plan {
            write: vec![file],
            commands: vec![
                words(&["systemctl", "--user", "daemon-reload"]),
                words(&["systemctl", "--user", "enable", "--now", UNIT_NAME]),
                // A reinstall with a new binary path must restart what is running.
                words(&["systemctl", "--user", "restart", UNIT_NAME]),
            ],
            ..Plan::default()
        },
        Manager::Schtasks => {
            let xml = file.path.display().to_string();
            Plan {
                write: vec![file],
                commands: vec![
                    words(&["schtasks", "/Create", "/TN", TASK_NAME, "/XML", &xml, "/F"]),
                    words(&["schtasks", "/End", "/TN", TASK_NAME]),
                    words(&["schtasks", "/Run", "/TN", TASK_NAME]),
                ],
                tolerated: vec![1],
                ..Plan::default()
            }
        }
    }
}

/// The plan that stops and removes the service (`path`: the unit file or the task XML).
pub fn uninstall_plan(manager: Manager, path: PathBuf) -> Plan {
    match manager {
        Manager::Systemd => Plan {
            commands: vec![
                words(&["systemctl", "--user", "disable", "--now", UNIT_NAME]),
                words(&["systemctl", "--user", "daemon-reload"]),
            ],
            remove: vec![path],
            tolerated: vec![0, 1],
            ..Plan::default()
        },
        Manager::Schtasks => Plan {
            commands: vec![
                words(&["schtasks", "/End", "/TN", TASK_NAME]),
                words(&["schtasks", "/Delete", "/TN", TASK_NAME, "/F"]),
            ],
            remove: vec![path],
            tolerated: vec![0],
            ..Plan::default()
        },
    }
}

/// The file for `spec` under `manager`; `var` looks up environment variables
/// (`XDG_CONFIG_HOME`, `USERDOMAIN`, `USERNAME`), read at the CLI edge.
pub fn planned_file(
    manager: Manager,
    spec: &ServiceSpec,
    homes: &Homes,
    var: impl Fn(&str) -> Option<String>,
) -> PlannedFile {
    match manager {
        Manager::Systemd => PlannedFile {
            path: unit_path(
                &homes.user,
                var(env::XDG_CONFIG_HOME).as_deref().map(Path::new),
            ),
            text: systemd_unit(spec),
            utf16: false,
        },
        Manager::Schtasks => {
            let user = match (var(env::USERDOMAIN), var(env::USERNAME)) {
                (Some(domain), Some(name)) => Some(format!("{domain}\\{name}")),
                (None, Some(name)) => Some(name),
                _ => None,
            };
            PlannedFile {
                path: task_xml_path(homes),
                text: task_xml(spec, user.as_deref()),
                utf16: true,
            }
        }
    }
}

/// Why a systemd user manager cannot take the unit, or `None` when it can.
///
/// `runtime_dir` is `$XDG_RUNTIME_DIR`; `state` is what `systemctl --user is-system-running`
/// printed (`None` when it could not be run).
pub fn systemd_unavailable(runtime_dir: Option<&Path>, state: Option<&str>) -> Option<String> {
    let Some(dir) = runtime_dir.filter(|d| !d.as_os_str().is_empty()) else {
        return Some(format!(
            "`{}` is not set: no systemd user session (a container, `su`, or an SSH login without lingering)",
            env::XDG_RUNTIME_DIR
        ));
    };
    if !dir.join("systemd/private").exists() && !dir.join("bus").exists() {
        return Some(format!(
            "no systemd user manager listens in `{}`",
            dir.display()
        ));
    }
    match state.map(str::trim) {
        None => Some("`systemctl` could not be run".to_owned()),
        Some("running" | "degraded" | "starting" | "initializing") => None,
        Some(other) => Some(format!(
            "`systemctl --user is-system-running` says `{other}`"
        )),
    }
}

/// Checks this machine's systemd user manager (see [`systemd_unavailable`]); `runtime_dir`
/// is `$XDG_RUNTIME_DIR`.
pub fn probe_systemd(runtime_dir: Option<&Path>) -> Option<String> {
    let state = Command::new("systemctl")
        .args(["--user", "is-system-running"])
        .output()
        .ok()
        .map(|out| String::from_utf8_lossy(&out.stdout).into_owned());
    systemd_unavailable(runtime_dir, state.as_deref())
}

/// A command of a plan that failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandFailed {
    /// The command line.
    pub command: String,
    /// Its stderr (or why it could not start).
    pub output: String,
}

/// Runs `plan`: writes, commands (stopping at the first failure that is not tolerated),
/// removals.
pub fn execute(plan: &Plan) -> Result<Result<(), CommandFailed>, Error> {
    for file in &plan.write {
        let bytes = if file.utf16 {
            utf16le_with_bom(&file.text)
        } else {
            file.text.clone().into_bytes()
        };
        fsx::write_atomic(&file.path, &bytes, Some(0o644))
            .map_err(|e| Error::io("write", &file.path, e))?;
    }
    for (i, argv) in plan.commands.iter().enumerate() {
        let line = argv.join(" ");
        let failure = match Command::new(&argv[0]).args(&argv[1..]).output() {
            Ok(out) if out.status.success() => None,
            Ok(out) => Some(String::from_utf8_lossy(&out.stderr).trim().to_owned()),
            Err(e) => Some(e.to_string()),
        };
        if let Some(output) = failure
            && !plan.tolerated.contains(&i)
        {
            return Ok(Err(CommandFailed {
                command: line,
                output,
            }));
        }
    }
    for path in &plan.remove {
        match std::fs::remove_file(path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io("remove", path, e)),
        }
    }
    Ok(Ok(()))
}

/// What `status` reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServiceStatus {
    /// The manager.
    pub manager: Manager,
    /// The unit file or task XML.
    pub path: PathBuf,
    /// Whether it exists.
    pub installed: bool,
    /// Whether it is what `install` would write now (same binary, homes, flags).
    pub current: bool,
    /// What the manager says (`active`, `inactive`, `Running`, ...), when it could be asked.
    pub state: Option<String>,
}

/// Reads the service's state: the file, and the manager's word on it.
pub fn status(manager: Manager, file: &PlannedFile) -> ServiceStatus {
    let on_disk = std::fs::read(&file.path).ok();
    let expected = if file.utf16 {
        utf16le_with_bom(&file.text)
    } else {
        file.text.clone().into_bytes()
    };
    let query = match manager {
        Manager::Systemd => words(&["systemctl", "--user", "is-active", UNIT_NAME]),
        Manager::Schtasks => words(&["schtasks", "/Query", "/TN", TASK_NAME, "/FO", "LIST"]),
    };
    let state = Command::new(&query[0])
        .args(&query[1..])
        .output()
        .ok()
        .map(|out| String::from_utf8_lossy(&out.stdout).into_owned())
        .and_then(|text| match manager {
            Manager::Systemd => text.lines().next().map(|l| l.trim().to_owned()),
            Manager::Schtasks => text
                .lines()
                .find_map(|l| l.strip_prefix("Status:").map(|s| s.trim().to_owned())),
        })
        .filter(|s| !s.is_empty());
    ServiceStatus {
        manager,
        path: file.path.clone(),
        installed: on_disk.is_some(),
        current: on_disk.as_deref() == Some(expected.as_slice()),
        state,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(homes: &Homes) -> ServiceSpec {
        ServiceSpec::master(Path::new("/home/al/.cargo/bin/codexport"), homes, None)
    }

    #[test]
    fn unit_golden_default_homes() {
        let homes = Homes::new("/home/al", "/home/al/.codex", "/home/al/.codexport");
        assert_eq!(
            systemd_unit(&spec(&homes)),
            "# Written by `codexport master service install`; remove with `codexport master service uninstall`.
[Unit]
Description=codexport master: serves this Codex home to followers
Wants=network-online.target
After=network-online.target

[Service]
Type=simple
ExecStart=/home/al/.cargo/bin/codexport master serve
Restart=on-failure
RestartSec=5

[Install]
WantedBy=default.target
"
        );
    }

    #[test]
    fn unit_carries_non_default_homes_and_quotes_what_systemd_would_expand() {
        let homes = Homes::new("/home/al", "/srv/codex home", "/srv/cx%1");
        let spec = ServiceSpec::master(
            Path::new("/opt/my tools/codexport"),
            &homes,
            Some("100.64.0.5:17342"),
        );
        let unit = systemd_unit(&spec);
        assert!(unit.contains(
            "ExecStart=\"/opt/my tools/codexport\" master serve --listen 100.64.0.5:17342\n\
             Environment=\"CODEX_HOME=/srv/codex home\"\n\
             Environment=CODEXPORT_HOME=/srv/cx%%1\n\
             Restart=on-failure\n"
        ));
        assert_eq!(systemd_quote("a$b"), "a$$b");
        assert_eq!(systemd_quote(r#"say "hi"\"#), r#""say \"hi\"\\""#);
    }

    #[test]
    #[cfg_attr(
        windows,
        ignore = "systemd is Linux: `/cfg` is not an absolute XDG_CONFIG_HOME on Windows (no drive)"
    )]
    fn unit_path_honours_xdg_config_home() {
        assert_eq!(
            unit_path(Path::new("/home/al"), None),
            Path::new("/home/al/.config/systemd/user/codexport-master.service")
        );
        assert_eq!(
            unit_path(Path::new("/home/al"), Some(Path::new("/cfg"))),
            Path::new("/cfg/systemd/user/codexport-master.service")
        );
        assert_eq!(
            unit_path(Path::new("/home/al"), Some(Path::new("relative"))),
            Path::new("/home/al/.config/systemd/user/codexport-master.service")
        );
    }

    #[test]
    fn task_golden() {
        // A literal spec: `Homes` joins paths with this (Linux) host's separator.
        let spec = ServiceSpec {
            exe: r"C:\Users\Al\.cargo\bin\codexport.exe".into(),
            args: words(&["master", "serve"]),
            env: Vec::new(),
        };
        assert_eq!(
            task_xml(&spec, Some(r"PC\Al")),
            r#"<?xml version="1.0" encoding="UTF-16"?>
<Task version="1.2" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">
  <RegistrationInfo>
    <Description>codexport master: serves this Codex home to followers</Description>
  </RegistrationInfo>
  <Triggers>
    <LogonTrigger>
      <Enabled>true</Enabled>
      <UserId>PC\Al</UserId>
    </LogonTrigger>
  </Triggers>
  <Principals>
    <Principal id="Author">
      <UserId>PC\Al</UserId>
      <LogonType>InteractiveToken</LogonType>
      <RunLevel>LeastPrivilege</RunLevel>
    </Principal>
  </Principals>
  <Settings>
    <MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy>
    <DisallowStartIfOnBatteries>false</DisallowStartIfOnBatteries>
    <StopIfGoingOnBatteries>false</StopIfGoingOnBatteries>
    <StartWhenAvailable>true</StartWhenAvailable>
    <Hidden>true</Hidden>
    <ExecutionTimeLimit>PT0S</ExecutionTimeLimit>
    <RestartOnFailure>
      <Interval>PT1M</Interval>
      <Count>999</Count>
    </RestartOnFailure>
  </Settings>
  <Actions Context="Author">
    <Exec>
      <Command>C:\Users\Al\.cargo\bin\codexport.exe</Command>
      <Arguments>master serve</Arguments>
    </Exec>
  </Actions>
</Task>
"#
        );
    }

    #[test]
    fn task_sets_non_default_homes_through_cmd_and_escapes_xml() {
        let spec = ServiceSpec {
            exe: r"C:\Program Files\codexport.exe".into(),
            args: words(&["master", "serve"]),
            env: vec![("CODEX_HOME".into(), r"D:\Codex & Co".into())],
        };
        let xml = task_xml(&spec, None);
        assert!(xml.contains("<Command>cmd.exe</Command>"), "{xml}");
        assert!(xml.contains(
            r#"<Arguments>/d /c set &quot;CODEX_HOME=D:\Codex &amp; Co&quot;&amp;&amp; &quot;C:\Program Files\codexport.exe&quot; master serve</Arguments>"#
        ), "{xml}");
        assert!(!xml.contains("<UserId>"));
    }

    #[test]
    #[cfg_attr(
        windows,
        ignore = "systemd is Linux: `/cfg` is not an absolute XDG_CONFIG_HOME on Windows (no drive)"
    )]
    fn planned_files_take_their_variables_from_the_caller() {
        let homes = Homes::new("/home/al", "/home/al/.codex", "/home/al/.codexport");
        let vars = |name: &str| match name {
            "XDG_CONFIG_HOME" => Some("/cfg".to_owned()),
            "USERDOMAIN" => Some("PC".to_owned()),
            "USERNAME" => Some("Al".to_owned()),
            _ => None,
        };
        let unit = planned_file(Manager::Systemd, &spec(&homes), &homes, vars);
        assert_eq!(
            unit.path,
            Path::new("/cfg/systemd/user/codexport-master.service")
        );
        let task = planned_file(Manager::Schtasks, &spec(&homes), &homes, vars);
        assert!(task.utf16 && task.text.contains("<UserId>PC\\Al</UserId>"));
        assert_eq!(task.path, homes.tool.join("service/CodexportMaster.xml"));
    }

    #[test]
    fn utf16_has_a_bom_and_little_endian_units() {
        assert_eq!(utf16le_with_bom("<é"), [0xFF, 0xFE, b'<', 0, 0xE9, 0]);
    }

    #[test]
    fn plans_name_every_command() {
        let file = PlannedFile {
            path: "/u/codexport-master.service".into(),
            text: String::new(),
            utf16: false,
        };
        let plan = install_plan(Manager::Systemd, file);
        assert_eq!(
            plan.commands[1],
            ["systemctl", "--user", "enable", "--now", UNIT_NAME]
        );
        let plan = uninstall_plan(Manager::Schtasks, "x.xml".into());
        assert_eq!(
            plan.commands[1],
            ["schtasks", "/Delete", "/TN", TASK_NAME, "/F"]
        );
        assert_eq!(plan.remove, [PathBuf::from("x.xml")]);
    }

    #[test]
    fn systemd_detection_explains_what_is_missing() {
        let dir = tempfile::tempdir().unwrap();
        let none = systemd_unavailable(None, Some("running")).unwrap();
        assert!(none.contains("XDG_RUNTIME_DIR"), "{none}");
        let empty = systemd_unavailable(Some(dir.path()), Some("running")).unwrap();
        assert!(empty.contains("no systemd user manager"), "{empty}");
        std::fs::write(dir.path().join("bus"), "").unwrap();
        assert_eq!(
            systemd_unavailable(Some(dir.path()), Some("degraded\n")),
            None
        );
        let offline = systemd_unavailable(Some(dir.path()), Some("offline\n")).unwrap();
        assert!(offline.contains("`offline`"), "{offline}");
        assert!(systemd_unavailable(Some(dir.path()), None).is_some());
    }

    /// The text of a file that is UTF-16LE with a byte-order mark, or UTF-8.
    #[cfg(windows)]
    fn text_of(bytes: &[u8]) -> String {
        match bytes.strip_prefix(&[0xFF, 0xFE]) {
            Some(units) => String::from_utf16_lossy(
                &units
                    .chunks_exact(2)
                    .map(|c| u16::from_le_bytes([c[0], c[1]]))
                    .collect::<Vec<_>>(),
            ),
            None => String::from_utf8_lossy(bytes).into_owned(),
        }
    }

    /// The install plan's `schtasks /Create /XML` and the uninstall plan's `/Delete`, run for
    /// real. Wine 8's `schtasks` implements only `/Create`, `/Change` and `/Delete` (it accepts
    /// `/Run`, `/End` and `/Query`, does nothing and exits 0), and its Task Scheduler stores the
    /// task's settings but drops its triggers, principal and the `Exec` action: what a real
    /// Task Scheduler runs, and when, is not shown under wine.
    #[cfg(windows)]
    #[test]
    #[ignore = "registers a real scheduled task: CI runs it under wine (.ci/run), never run it on a Windows whose Task Scheduler matters"]
    fn schtasks_registers_the_task_xml_and_deletes_it() {
        let dir = tempfile::tempdir().unwrap();
        let homes = Homes::new(
            dir.path(),
            dir.path().join(".codex"),
            dir.path().join("tool home 日本語"),
        );
        let spec = ServiceSpec::master(
            Path::new(r"C:\Program Files\codexport\codexport.exe"),
            &homes,
            Some("127.0.0.1:17342"),
        );
        let file = planned_file(Manager::Schtasks, &spec, &homes, |name| {
            std::env::var(name).ok()
        });
        let install = install_plan(Manager::Schtasks, file.clone());
        assert_eq!(install.commands[0][..2], ["schtasks", "/Create"]);
        let create = Plan {
            write: install.write.clone(),
            commands: vec![install.commands[0].clone()],
            ..Plan::default()
        };
        execute(&create).unwrap().unwrap();
        let registered = Path::new(&std::env::var_os("SystemRoot").unwrap())
            .join("System32")
            .join("Tasks")
            .join(TASK_NAME);
        // What wine keeps of the task: its description and settings (see above).
        let xml = text_of(&std::fs::read(&registered).unwrap());
        for kept in [
            "<Description>codexport master: serves this Codex home to followers</Description>",
            "<MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy>",
            "<ExecutionTimeLimit>PT0S</ExecutionTimeLimit>",
            "<Hidden>true</Hidden>",
        ] {
            assert!(xml.contains(kept), "{kept} in {xml}");
        }
        // The XML schtasks read: the action with the homes and the listen address.
        let ours = text_of(&std::fs::read(&file.path).unwrap());
        assert!(ours.contains("<Command>cmd.exe</Command>"), "{ours}");
        assert!(ours.contains("tool home 日本語"), "{ours}");
        assert!(
            ours.contains("master serve --listen 127.0.0.1:17342"),
            "{ours}"
        );

        let uninstall = uninstall_plan(Manager::Schtasks, file.path.clone());
        assert_eq!(uninstall.commands[1][..2], ["schtasks", "/Delete"]);
        let delete = Plan {
            commands: vec![uninstall.commands[1].clone()],
            remove: uninstall.remove.clone(),
            ..Plan::default()
        };
        execute(&delete).unwrap().unwrap();
        assert!(!registered.exists());
        assert!(!file.path.exists());
    }

    #[cfg(unix)]
    #[test]
    fn execute_writes_runs_and_stops_at_a_failure() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/unit");
        let plan = Plan {
            write: vec![PlannedFile {
                path: path.clone(),
                text: "x".into(),
                utf16: false,
            }],
            commands: vec![words(&["false"]), words(&["true"]), words(&["false"])],
            tolerated: vec![0],
            remove: vec![dir.path().join("never")],
        };
        let failed = execute(&plan).unwrap().unwrap_err();
        assert_eq!(failed.command, "false");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "x");
        let removal = Plan {
            remove: vec![path.clone(), dir.path().join("absent")],
            ..Plan::default()
        };
        execute(&removal).unwrap().unwrap();
        assert!(!path.exists());
    }
}
