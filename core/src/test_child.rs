//! Tests that need a second process (a lock held by a killed process, a file another program
//! holds open) run a helper test of this same test binary as that process.

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdout, Command, Stdio};

/// A helper test running in a child process, and its stdout.
pub(crate) struct TestChild {
    pub(crate) child: Child,
    stdout: BufReader<ChildStdout>,
}

/// Starts the `#[ignore]`d helper test `name` (its full path, `lock::tests::hold`) of this test
/// binary with `vars` set.
pub(crate) fn spawn(name: &str, vars: &[(&str, &std::ffi::OsStr)]) -> TestChild {
    let exe = std::env::current_exe().expect("the test binary's path");
    let mut command = Command::new(exe);
    command
        .args([
            name,
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    for (key, value) in vars {
        command.env(key, value);
    }
    let mut child = command.spawn().expect("the test binary starts");
    let stdout = BufReader::new(child.stdout.take().expect("piped"));
    TestChild { child, stdout }
}

impl TestChild {
    /// Reads the child's stdout until the line `marker` (it printed it when ready).
    pub(crate) fn wait_for(&mut self, marker: &str) {
        let mut line = String::new();
        loop {
            line.clear();
            let n = self.stdout.read_line(&mut line).expect("child stdout");
            assert!(n > 0, "the child exited before printing `{marker}`");
            // libtest prints `test NAME ... ` before the test's own output, on the same line.
            if line.trim_end().ends_with(marker) {
                return;
            }
        }
    }
}

impl Drop for TestChild {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
