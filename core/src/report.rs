//! The one way a failure reaches the user: an `error:` line, its causes, `hint:` lines.

use std::borrow::Cow;
use std::error::Error as StdError;
use std::fmt::Write as _;
use std::io::{self, Write};

use crate::exit::{Diagnose, ExitStatus};

/// The text [`report`] prints for `err`: `error: <err>`, one `  caused by: <cause>` line per
/// source in its chain, then one `hint: <repair>` line per hint of `diagnosis`.
///
/// `diagnosis` is the error of the chain that knows its status and repairs (often `err`
/// itself); the caller finds it because only the caller knows every crate's error type.
///
///
/// Every message goes through [`escape_controls`], line by line: a value that came from the
/// network or a file cannot drive the terminal, and the lines of a message that has several
/// (a compiler's output) are indented, so none can pass for an `error:`, `caused by:` or
/// `hint:` line of its own.
pub fn render(err: &(dyn StdError + 'static), diagnosis: Option<&dyn Diagnose>) -> String {
    let mut out = format!("error: {}\n", message(&err.to_string()));
    let mut source = err.source();
    while let Some(cause) = source {
        out.push_str(&format!("  caused by: {}\n", message(&cause.to_string())));
        source = cause.source();
    }
    for hint in diagnosis.map(Diagnose::hints).unwrap_or_default() {
        out.push_str(&format!("hint: {}\n", message(&hint)));
    }
    out
}

/// One message for [`render`]: each line escaped, every line after the first indented.
fn message(text: &str) -> String {
    let lines: Vec<Cow<'_, str>> = text
        .trim_end_matches('\n')
        .split('\n')
        .map(escape_controls)
        .collect();
    lines.join("\n    ")
}

/// `text` with every control character (ANSI escape, CR, LF, tab, NUL, DEL, the C1 range)
/// written out as an escape (`\n`, `\r`, `\t`, `\u{1b}`), so it stays on one line and prints
/// as itself: the one helper for every error message and log line.
pub fn escape_controls(text: &str) -> Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// What is wrong with JSON that came from elsewhere, without quoting any of it: serde's own
/// messages quote the offending value, which the sender chose.
pub(crate) fn json_problem(e: &serde_json::Error) -> String {
    let what = match e.classify() {
        serde_json::error::Category::Io => "could not be read",
        serde_json::error::Category::Syntax => "is not valid JSON",
        serde_json::error::Category::Data => "does not have the expected fields and types",
        serde_json::error::Category::Eof => "ends early",
    };
    format!("{what} (line {}, column {})", e.line(), e.column())
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
    fn control_characters_are_escaped_in_every_line() {
        assert_eq!(escape_controls("plain `x`"), "plain `x`");
        assert_eq!(
            escape_controls("a\napplied seq 999\r\u{1b}[31m\0\u{9b}\t"),
            "a\\napplied seq 999\\r\\u{1b}[31m\\u{0}\\u{9b}\\t"
        );
        let err = Outer(io::Error::other("line\r\nhint: forged\u{1b}[2J\n"));
        assert_eq!(
            render(&err, Some(&err)),
            "error: cannot write `out`\n  caused by: line\\r\n    hint: forged\\u{1b}[2J\nhint: free some space\nhint: or write elsewhere\n"
        );
    }

    #[test]
    fn a_broken_pipe_anywhere_in_the_chain_is_quiet_success() {
        let err = Outer(io::Error::from(io::ErrorKind::BrokenPipe));
        assert_eq!(report(&err, Some(&err)), ExitStatus::Success);
    }
}
