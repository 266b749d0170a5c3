//! Writing to standard output when it may be a closed pipe.
//!
//! `gatehouse spend | head` closes the pipe after ten lines; `println!`
//! then panics with a backtrace. Commands print with [`outln!`] and
//! [`out!`] instead, which return a write error like any other: a closed
//! pipe becomes [`StdoutClosed`], which `main` turns into a quiet exit with
//! the shell's usual status for it, 128 + SIGPIPE.

/// The exit status of a command whose standard output was closed: what a
/// shell reports for a program killed by SIGPIPE, as `cat` would be.
pub(crate) const STDOUT_CLOSED_EXIT: u8 = 128 + 13;

/// Standard output was closed by its reader; there is nobody left to tell.
#[derive(Debug, thiserror::Error)]
#[error("standard output was closed")]
pub(crate) struct StdoutClosed;

/// Turns a failed write to standard output into an error for `?`.
pub(crate) fn write_failed(error: std::io::Error) -> anyhow::Error {
    if error.kind() == std::io::ErrorKind::BrokenPipe {
        anyhow::Error::new(StdoutClosed)
    } else {
        anyhow::Error::new(error).context("cannot write to standard output")
    }
}

/// `print!` that returns an error (see the module doc) instead of panicking.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        write!(std::io::stdout().lock(), $($arg)*).map_err($crate::cli::output::write_failed)?
    }};
}

/// `println!` that returns an error (see the module doc) instead of panicking.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*).map_err($crate::cli::output::write_failed)?
    }};
}
