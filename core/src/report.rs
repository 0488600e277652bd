//! The one way a failure reaches the user: an `error:` line, its causes, `hint:` lines.

use std::error::Error as StdError;
use std::io::{self, Write};

use crate::exit::{Diagnose, ExitStatus};

/// The text [`report`] prints for `err`: `error: <err>`, one `  caused by: <cause>` line per
/// source in its chain, then one `hint: <repair>` line per hint of `diagnosis`.
///
/// `diagnosis` is the error of the chain that knows its status and repairs (often `err`
/// itself); the caller finds it because only the caller knows every crate's error type.
pub fn render(err: &(dyn StdError + 'static), diagnosis: Option<&dyn Diagnose>) -> String {
    let mut out = format!("error: {err}\n");
    let mut source = err.source();
    while let Some(cause) = source {
        out.push_str(&format!("  caused by: {cause}\n"));
        source = cause.source();
    }
    for hint in diagnosis.map(Diagnose::hints).unwrap_or_default() {
        out.push_str(&format!("hint: {hint}\n"));
    }
    out
}

/// Prints [`render`] of `err` on stderr and returns its exit status: the diagnosis's, else
/// [`ExitStatus::Unexpected`].
///
/// A broken pipe anywhere in the chain means the reader went away (`codexport mcp list |
/// head`): nothing is printed and the status is success.
pub fn report(err: &(dyn StdError + 'static), diagnosis: Option<&dyn Diagnose>) -> ExitStatus {
    if is_broken_pipe(err) {
        return ExitStatus::Success;
    }
    // A closed stderr leaves nowhere to complain to: the exit status still tells.
    let _ = io::stderr()
        .lock()
        .write_all(render(err, diagnosis).as_bytes());
    diagnosis.map_or(ExitStatus::Unexpected, Diagnose::exit_status)
}

/// Whether some error of the chain is an I/O error of kind `BrokenPipe`.
fn is_broken_pipe(err: &(dyn StdError + 'static)) -> bool {
    let mut next = Some(err);
    while let Some(cause) = next {
        if cause
            .downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
        {
            return true;
        }
        next = cause.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("cannot write `out`")]
    struct Outer(#[source] io::Error);

    impl Diagnose for Outer {
        fn exit_status(&self) -> ExitStatus {
            ExitStatus::InvalidInput
        }
        fn hints(&self) -> Vec<String> {
            vec![
                "free some space".to_owned(),
                "or write elsewhere".to_owned(),
            ]
        }
    }

    #[test]
    fn renders_the_error_its_causes_then_one_line_per_hint() {
        let err = Outer(io::Error::other("disk full"));
        assert_eq!(
            render(&err, Some(&err)),
            "error: cannot write `out`\n  caused by: disk full\nhint: free some space\nhint: or write elsewhere\n"
        );
        assert_eq!(report(&err, Some(&err)), ExitStatus::InvalidInput);
        assert_eq!(report(&err, None), ExitStatus::Unexpected);
    }

    #[test]
    fn a_broken_pipe_anywhere_in_the_chain_is_quiet_success() {
        let err = Outer(io::Error::from(io::ErrorKind::BrokenPipe));
        assert_eq!(report(&err, Some(&err)), ExitStatus::Success);
    }
}
