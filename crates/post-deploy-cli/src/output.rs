//! What the binary prints: one JSON value on stdout; messages on stderr.

use std::io::Write as _;

use serde::Serialize;

use crate::commands::CliError;

/// Prints `value` as one line of JSON on stdout.
pub(crate) fn json<T: Serialize>(value: &T) {
    let mut out = std::io::stdout().lock();
    let _ = serde_json::to_writer(&mut out, value);
    let _ = out.write_all(b"\n");
    let _ = out.flush();
}

/// Prints a line on stdout (the `status` table).
pub(crate) fn text(value: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(value.as_bytes());
    let _ = out.flush();
}

/// Prints a message on stderr.
pub(crate) fn note(message: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{message}");
}

/// Prints an error on stderr.
pub(crate) fn error(e: &CliError) {
    note(&format!("post-deploy: error: {e}"));
}
