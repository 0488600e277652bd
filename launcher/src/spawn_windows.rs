//! Windows has no exec: the server runs as a child with the launcher's own stdio handles, in a kill-on-close Job Object, and its exit code is the launcher's.
//!
//! - Stdio: the child inherits the very handles Codex gave the launcher, so every byte goes
//!   between Codex and the server without passing through the launcher (no CRLF translation,
//!   no buffering, no relay thread).
//! - Lifetime: the launcher puts itself in a Job Object with `KILL_ON_JOB_CLOSE` before it
//!   spawns, so the server is in the job from its first instruction (no window in which it
//!   could start a grandchild outside it). The job handle is never closed: when the launcher
//!   dies (Codex kills it, or it exits), the system closes it and kills whatever the server
//!   left running. When the launcher may not join a job (an outer job that forbids nesting,
//!   as before Windows 8), the server is assigned right after it is spawned instead.
//! - Ctrl-C and Ctrl-Break: the launcher ignores them and keeps waiting; the server shares the
//!   console and gets the same event, so it decides whether to stop. A console close, logoff
//!   or shutdown ends the launcher as usual, and the job takes the server with it.

use std::os::windows::io::AsRawHandle;
use std::process::Command;

use windows_sys::Win32::Foundation::{FALSE, HANDLE, TRUE};
use windows_sys::Win32::System::Console::{CTRL_BREAK_EVENT, CTRL_C_EVENT, SetConsoleCtrlHandler};
use windows_sys::Win32::System::JobObjects::{
    AssignProcessToJobObject, CreateJobObjectW, JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE,
    JOBOBJECT_EXTENDED_LIMIT_INFORMATION, JobObjectExtendedLimitInformation,
    SetInformationJobObject,
};
use windows_sys::Win32::System::Threading::GetCurrentProcess;
use windows_sys::core::BOOL;

/// Runs `command` to its end as described in the module docs; returns its exit code (the
/// full 32-bit Windows value, as an `i32`).
pub(crate) fn spawn_and_wait(command: &mut Command) -> std::io::Result<i32> {
    let job = kill_on_close_job();
    // SAFETY: `job` is a live job handle and `GetCurrentProcess` a pseudo handle for us.
    let inside = job
        .is_some_and(|job| unsafe { AssignProcessToJobObject(job, GetCurrentProcess()) } != FALSE);
    // A handler routine (unlike ignoring with a null routine) is not inherited: the server
    // keeps the default Ctrl-C behaviour.
    // SAFETY: `let_the_server_decide` is a valid handler for the whole process lifetime.
    unsafe { SetConsoleCtrlHandler(Some(let_the_server_decide), TRUE) };
    let mut child = command.spawn()?;
    if let Some(job) = job
        && !inside
    {
        // SAFETY: both handles are live; a failure leaves the server outside the job, which
        // is what running without one means.
        unsafe { AssignProcessToJobObject(job, child.as_raw_handle() as HANDLE) };
    }
    let status = child.wait()?;
    // `code()` is the exit code as `i32` (Windows always has one).
    Ok(status.code().unwrap_or(1))
}

/// A new job that kills its processes when its last handle closes; `None` when the system
/// refuses one (the server then runs without it, as it would under a plain spawn).
fn kill_on_close_job() -> Option<HANDLE> {
    // SAFETY: null attributes and name are allowed; the handle is checked before use.
    let job = unsafe { CreateJobObjectW(std::ptr::null(), std::ptr::null()) };
    if job.is_null() {
        return None;
    }
    // SAFETY: a zeroed JOBOBJECT_EXTENDED_LIMIT_INFORMATION is a valid "no limits" value.
    let mut limits: JOBOBJECT_EXTENDED_LIMIT_INFORMATION = unsafe { std::mem::zeroed() };
    limits.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
    // SAFETY: `limits` is the structure this information class expects, with its size.
    let set = unsafe {
        SetInformationJobObject(
            job,
            JobObjectExtendedLimitInformation,
            std::ptr::from_ref(&limits).cast(),
            size_of::<JOBOBJECT_EXTENDED_LIMIT_INFORMATION>() as u32,
        )
    };
    // The handle is deliberately never closed (see the module docs), also when setting the
    // limit failed: then the job is inert.
    (set != FALSE).then_some(job)
}

/// Console control handler: Ctrl-C and Ctrl-Break are the server's to act on.
unsafe extern "system" fn let_the_server_decide(event: u32) -> BOOL {
    if matches!(event, CTRL_C_EVENT | CTRL_BREAK_EVENT) {
        TRUE
    } else {
        FALSE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exit_code_passes_whole() {
        let mut cmd = Command::new("cmd.exe");
        cmd.args(["/c", "exit 300"]);
        assert_eq!(spawn_and_wait(&mut cmd).unwrap(), 300);
        let mut cmd = Command::new("cmd.exe");
        cmd.args(["/c", "exit 0"]);
        assert_eq!(spawn_and_wait(&mut cmd).unwrap(), 0);
    }

    #[test]
    fn a_missing_program_is_an_error() {
        let mut cmd = Command::new(r"C:\no\such\program.exe");
        assert!(spawn_and_wait(&mut cmd).is_err());
    }
}
