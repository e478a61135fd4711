//! The log cut into lines, each line's stamp read, and the line handed on: the reading every
//! replay does, of the whole log in one stream or of one part of a file.

use super::stamp::{MAX_STAMP_LEN, Stamps};
use super::{Input, ReplayError, quote};
use crate::access_log::MAX_LINE_LEN;

/// Where the stamped lines go.
pub(super) trait Sink {
    /// A non-blank line stamped `at` (nanoseconds since the Unix epoch), with its text after
    /// the stamp; `overlong`: the line was longer than [`MAX_LINE_LEN`] and only its stamp was
    /// kept.
    fn line(&mut self, at: i64, body: &[u8], overlong: bool) -> Result<(), ReplayError>;
}

/// Cuts pieces of a log into lines and hands each stamped line to its sink.
pub(super) struct Lines<S> {
    pub(super) sink: S,
    stamps: Stamps,
    /// The stamped lines read (blank ones aside).
    pub(super) stamped: u64,
    /// The number of the line being read, blank ones included.
    pub(super) line: u64,
    /// The start of a line the next piece continues.
    partial: Vec<u8>,
    /// The partial line grew past [`MAX_LINE_LEN`]: only its start (the stamp) was kept.
    overlong: bool,
}

impl<S: Sink> Lines<S> {
    pub(super) fn new(sink: S) -> Self {
        Self {
            sink,
            stamps: Stamps::default(),
            stamped: 0,
            line: 0,
            partial: Vec::new(),
            overlong: false,
        }
    }

    /// The next piece of the log, which may end in the middle of a line.
    pub(super) fn piece(&mut self, piece: &[u8]) -> Result<(), ReplayError> {
        let mut rest = piece;
        if !self.partial.is_empty() || self.overlong {
            let Some(end) = memchr::memchr(b'\n', rest) else {
                self.keep(rest);
                return Ok(());
            };
            self.keep(rest.get(..end).unwrap_or_default());
            let partial = std::mem::take(&mut self.partial);
            let overlong = std::mem::replace(&mut self.overlong, false);
            self.line(&partial, overlong)?;
            // The buffer is kept for the next partial line.
            self.partial = partial;
            self.partial.clear();
            rest = rest.get(end.saturating_add(1)..).unwrap_or_default();
        }
        while let Some(end) = memchr::memchr(b'\n', rest) {
            self.line(rest.get(..end).unwrap_or_default(), false)?;
            rest = rest.get(end.saturating_add(1)..).unwrap_or_default();
        }
        self.keep(rest);
        Ok(())
    }

    /// The last line, when the log does not end with `\n`.
    pub(super) fn finish(&mut self) -> Result<(), ReplayError> {
        if !self.partial.is_empty() || self.overlong {
            let partial = std::mem::take(&mut self.partial);
            let overlong = std::mem::replace(&mut self.overlong, false);
            self.line(&partial, overlong)?;
        }
        Ok(())
    }

    /// Keeps the start of a line, up to [`MAX_LINE_LEN`] and the stamp.
    fn keep(&mut self, bytes: &[u8]) {
        if self.overlong {
            return;
        }
        let room = MAX_LINE_LEN
            .saturating_add(MAX_STAMP_LEN)
            .saturating_sub(self.partial.len());
        if bytes.len() > room {
            self.partial
                .extend_from_slice(bytes.get(..room).unwrap_or_default());
            self.partial.truncate(MAX_STAMP_LEN.saturating_add(1));
            self.overlong = true;
        } else {
            self.partial.extend_from_slice(bytes);
        }
    }

    /// One line of the log, without its `\n`.
    fn line(&mut self, line: &[u8], overlong: bool) -> Result<(), ReplayError> {
        self.line = self.line.saturating_add(1);
        if !overlong && is_blank(line) {
            return Ok(());
        }
        let (stamp, body) = split(line);
        let Some(at) = self.stamps.parse_nanos(stamp) else {
            return Err(ReplayError::Line {
                input: Input::Log,
                line: self.line,
                why: format!(
                    "expected an RFC 3339 stamp and one space before the line, as `docker \
                     logs --timestamps` writes them: {}",
                    quote(line)
                ),
            });
        };
        self.stamped = self.stamped.saturating_add(1);
        self.sink.line(at, body, overlong)
    }
}

/// Whether a line is not counted at all (nor numbered as a stamped line).
pub(super) fn is_blank(line: &[u8]) -> bool {
    line.trim_ascii().is_empty()
}

/// A line's stamp and its text after the one space that follows the stamp; a line logged
/// empty is its stamp alone.
pub(super) fn split(line: &[u8]) -> (&[u8], &[u8]) {
    let head = line.get(..MAX_STAMP_LEN.saturating_add(1)).unwrap_or(line);
    match memchr::memchr(b' ', head) {
        Some(space) => (
            line.get(..space).unwrap_or_default(),
            line.get(space.saturating_add(1)..).unwrap_or_default(),
        ),
        None => (line.strip_suffix(b"\r").unwrap_or(line), &b""[..]),
    }
}
