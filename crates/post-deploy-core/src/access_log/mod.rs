//! The access-log parser: counts requests and 5xx answers in access lines.
//!
//! One access line is one request. Lines end at `\n`; a trailing `\r` is ignored. A line that
//! is empty or only blanks is not counted at all; any other line is either an access line of
//! the selected format(s), counted in [`LogCounts::total`] (and in [`LogCounts::errors_5xx`]
//! when its status is 500..=599), or counted in [`LogCounts::unparsed`].
//!
//! The formats:
//! - **CLF / Combined** (also gunicorn's default access format):
//!   `host ident authuser [date] "request" status bytes ["referer" "agent" ...]`. The status is
//!   the 3-digit field after the quote that closes the request; a `\"` inside the request does
//!   not close it, nor does a raw `"` that no status follows.
//! - **uvicorn**: a quoted `"METHOD target HTTP/version"` followed by a 3-digit status, with
//!   anything before it (`INFO:     127.0.0.1:54321 - "GET / HTTP/1.1" 200 OK`, or a log
//!   configuration's time and logger name); uvicorn's terminal colour codes are allowed.
//! - **JSON lines**: one JSON object with a member at one of the status keys ([`LogKeys`]:
//!   by default a top-level `status` or `status_code`; a dotted key reaches into nested
//!   objects) holding an integer, or a string of three digits, in 100..=599 (the first such
//!   member counts). A `status` nested in another object, or inside a string, does not count
//!   unless a key names its path. Only the line's structure is checked (strings closed,
//!   brackets nested, one object), not every token: a broken line such as
//!   `{"status":503,"a":01,}` still counts (see `json/`). A server's error record about a
//!   request it also logs as an access line (a top-level `logger` of `http.log.error` or
//!   `http.log.error.<name>`, as Caddy writes) is not a request.
//! - **logfmt**: `key=value` pairs, maybe after a prefix that ends with `:`, one of whose keys
//!   is a status key holding three digits (see `logfmt/mod.rs`).
//! - **HAProxy** `option httplog` and **morgan** `tiny`/`short`/`dev` lines (see `haproxy.rs`,
//!   `morgan.rs`), in auto only.
//! - **Auto**: each line is tried as JSON when its first non-blank byte is `{` (then as CLF or
//!   uvicorn), and as CLF or uvicorn, then logfmt, then HAProxy and morgan, otherwise.
//!
//! Every status outside 100..=599 makes the line unparsed. Lines longer than [`MAX_LINE_LEN`]
//! are unparsed without being looked at, so memory stays bounded whatever the input.
//!
//! Speed: bytes are classified sixteen at a time into bit masks (SSE2 on x86-64, see
//! `simd.rs`): one newline mask per 64 bytes cuts the lines, inlined searches find the quotes
//! inside a line, JSON lines are skimmed for their structure rather than parsed, and nothing
//! is allocated or copied per line (BENCHMARKS.md has the numbers).

mod clf;
mod duration;
mod error_record;
mod haproxy;
mod input;
mod json;
mod keys;
mod line;
mod logfmt;
mod morgan;
pub(crate) mod parts;
mod quoted;
pub(crate) mod read_ahead;
mod simd;
mod uvicorn;

#[cfg(test)]
mod tests;

use std::fmt;
use std::io::{self, Read};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

pub use self::duration::{Histogram, LogDurations, nearest_rank};
pub use self::input::{LogReader, open_log, split_stamp, strip_stamp};
pub use self::keys::{
    DEFAULT_DURATION_KEYS, DEFAULT_STATUS_KEYS, DurationKey, DurationUnit, KeyError, LogKey,
    LogKeys, MAX_KEY_LEN, MAX_KEY_PARTS, MAX_KEYS,
};
use self::line::{Line, classify_timed};

/// Lines longer than this many bytes (without the `\n`) are counted as unparsed, unread.
pub const MAX_LINE_LEN: usize = 1 << 20;

/// The buffer [`count_reader`] reads into.
const READ_BUFFER_LEN: usize = 1 << 20;

/// Which access-line formats to recognise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum LogFormat {
    /// Any of the formats below, line by line.
    #[default]
    Auto,
    /// Common and Combined Log Format.
    Clf,
    /// JSON lines with a status key (`status` or `status_code` by default).
    Json,
    /// uvicorn and gunicorn access lines.
    Uvicorn,
    /// logfmt lines (`key=value` pairs) with a status key.
    Logfmt,
}

impl LogFormat {
    /// Every format, in the order of their names in [`LogFormat::NAMES`].
    pub const ALL: [Self; 5] = [
        Self::Auto,
        Self::Clf,
        Self::Json,
        Self::Uvicorn,
        Self::Logfmt,
    ];

    /// The names [`FromStr`] accepts.
    pub const NAMES: [&'static str; 5] = ["auto", "clf", "json", "uvicorn", "logfmt"];

    /// The lower-case name, as serde and [`FromStr`] spell it.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Clf => "clf",
            Self::Json => "json",
            Self::Uvicorn => "uvicorn",
            Self::Logfmt => "logfmt",
        }
    }
}

impl fmt::Display for LogFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for LogFormat {
    type Err = UnknownLogFormat;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|format| format.as_str() == s)
            .ok_or_else(|| UnknownLogFormat {
                value: s.to_owned(),
            })
    }
}

/// A log format name that is none of `auto`, `clf`, `json`, `uvicorn`, `logfmt`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown log format {value:?}: expected one of auto, clf, json, uvicorn, logfmt")]
#[non_exhaustive]
pub struct UnknownLogFormat {
    /// The name that was given.
    pub value: String,
}

/// Request counts over some log text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LogCounts {
    /// Access lines counted.
    pub total: u64,
    /// Of those, answers with a 5xx status.
    pub errors_5xx: u64,
    /// Lines that were not access lines.
    pub unparsed: u64,
}

/// The share of 5xx answers among `requests`, correctly rounded; `None` when there were none.
/// The one place the ratio is computed: for classification, the log artefact, the progress
/// line and `count-5xx`.
#[must_use]
#[expect(
    clippy::cast_precision_loss,
    reason = "the quotient of the two counts as f64 is correctly rounded, and that is what \
              the threshold is compared with"
)]
pub fn ratio(errors_5xx: u64, requests: u64) -> Option<f64> {
    (requests > 0).then(|| errors_5xx as f64 / requests as f64)
}

impl LogCounts {
    /// The share of 5xx answers among the access lines; `None` when there were none.
    #[must_use]
    pub fn ratio(&self) -> Option<f64> {
        ratio(self.errors_5xx, self.total)
    }

    /// Adds `other` to these counts, saturating at `u64::MAX`.
    pub fn merge(&mut self, other: Self) {
        self.total = self.total.saturating_add(other.total);
        self.errors_5xx = self.errors_5xx.saturating_add(other.errors_5xx);
        self.unparsed = self.unparsed.saturating_add(other.unparsed);
    }

    /// Counts one line; with `timing`, its duration too.
    #[inline]
    fn tally(
        &mut self,
        format: LogFormat,
        keys: &LogKeys,
        line: &[u8],
        timing: Option<&mut Timing>,
    ) {
        if line.len() > MAX_LINE_LEN {
            self.unparsed = self.unparsed.saturating_add(1);
            return;
        }
        let timed = timing.is_some();
        match classify_timed(format, keys, line, timed) {
            (Line::Blank, _) => {}
            (Line::Access(status), ms) => {
                self.total = self.total.saturating_add(1);
                self.errors_5xx = self.errors_5xx.saturating_add(u64::from(status >= 500));
                if let (Some(timing), Some(ms)) = (timing, ms) {
                    timing.record(ms);
                }
            }
            (Line::Other, _) => self.unparsed = self.unparsed.saturating_add(1),
        }
    }
}

/// What a counter that reads durations keeps: the threshold, the counts, the histogram.
#[derive(Debug, Clone, Default)]
struct Timing {
    /// Durations above this many milliseconds are slow.
    threshold_ms: Option<f64>,
    durations: LogDurations,
}

impl Timing {
    #[inline]
    fn record(&mut self, ms: f64) {
        let d = &mut self.durations;
        d.timed = d.timed.saturating_add(1);
        if self.threshold_ms.is_some_and(|t| ms > t) {
            d.slow = d.slow.saturating_add(1);
        }
        if let Some(h) = d.histogram.as_mut() {
            h.record(ms);
        }
    }
}

/// A streaming counter: feed it chunks split anywhere, then finish.
///
/// The counts do not depend on where the chunks are split. Memory is bounded: at most one
/// partial line of up to [`MAX_LINE_LEN`] bytes is kept between chunks.
#[derive(Debug, Clone, Default)]
pub struct AccessLogCounter {
    format: LogFormat,
    keys: LogKeys,
    counts: LogCounts,
    /// The start of a line that the next chunk continues.
    partial: Vec<u8>,
    /// The partial line grew past [`MAX_LINE_LEN`]; its bytes were dropped.
    overlong: bool,
    /// Durations are read, counted and maybe kept in a histogram.
    timing: Option<Timing>,
    /// A leading stamp as `docker logs --timestamps` writes it is skipped on each line.
    stamps: bool,
}

impl AccessLogCounter {
    /// A counter for `format`, with the default keys.
    #[must_use]
    pub fn new(format: LogFormat) -> Self {
        Self {
            format,
            ..Self::default()
        }
    }

    /// A counter for `format` that reads JSON and logfmt lines by `keys`.
    #[must_use]
    pub fn with_keys(format: LogFormat, keys: LogKeys) -> Self {
        Self {
            format,
            keys,
            ..Self::default()
        }
    }

    /// This counter, also reading the access lines' durations (in the same pass as their
    /// status): those slower than `threshold_ms` milliseconds are counted as slow
    /// ([`AccessLogCounter::durations_so_far`]).
    #[must_use]
    pub fn with_latency(mut self, threshold_ms: f64) -> Self {
        self.timing.get_or_insert_with(Timing::default).threshold_ms = Some(threshold_ms);
        self
    }

    /// This counter, also reading the access lines' durations into a histogram (allocated
    /// once, here) for their quantiles.
    #[must_use]
    pub fn with_histogram(mut self) -> Self {
        let timing = self.timing.get_or_insert_with(Timing::default);
        if timing.durations.histogram.is_none() {
            timing.durations.histogram = Some(Box::default());
        }
        self
    }

    /// This counter, skipping the RFC 3339 stamp `docker logs --timestamps` writes before
    /// each line (see [`strip_stamp`]).
    #[must_use]
    pub fn skipping_stamps(mut self) -> Self {
        self.stamps = true;
        self
    }

    /// The durations of the complete lines fed so far: all zero unless the counter was made
    /// [`with_latency`](AccessLogCounter::with_latency) or
    /// [`with_histogram`](AccessLogCounter::with_histogram).
    #[must_use]
    pub fn durations_so_far(&self) -> LogDurations {
        self.timing
            .as_ref()
            .map(|t| t.durations.clone())
            .unwrap_or_default()
    }

    /// Feeds the next chunk; it may end, or start, in the middle of a line, or of a character.
    pub fn feed(&mut self, chunk: &[u8]) {
        let mut rest = chunk;
        if !self.partial.is_empty() || self.overlong {
            let Some(end) = memchr::memchr(b'\n', rest) else {
                self.keep_partial(rest);
                return;
            };
            self.keep_partial(rest.get(..end).unwrap_or_default());
            self.count_partial();
            rest = rest.get(end.saturating_add(1)..).unwrap_or_default();
        }
        let format = self.format;
        let keys = &self.keys;
        let counts = &mut self.counts;
        let stamps = self.stamps;
        let start = match self.timing.as_mut() {
            None => simd::for_each_line(rest, |line| {
                counts.tally(format, keys, unstamped(stamps, line), None);
            }),
            Some(timing) => simd::for_each_line(rest, |line| {
                counts.tally(format, keys, unstamped(stamps, line), Some(&mut *timing));
            }),
        };
        self.keep_partial(rest.get(start..).unwrap_or_default());
    }

    /// Counts one whole line (without its `\n`), as [`feed`](Self::feed) counts each line
    /// of a chunk; for a reader that cuts the lines itself (`replay`, which reads a stamp
    /// before each). Call it only between whole chunks: a line started by `feed` and not
    /// ended is not ended by this one.
    #[inline]
    pub fn count_line(&mut self, line: &[u8]) {
        self.counts
            .tally(self.format, &self.keys, line, self.timing.as_mut());
    }

    /// Adds the counts and durations of `other`'s complete lines to these: a counter of the
    /// same settings that counted other lines.
    pub(crate) fn absorb(&mut self, other: Self) {
        self.counts.merge(other.counts);
        if let (Some(mine), Some(theirs)) = (self.timing.as_mut(), other.timing) {
            mine.durations.merge(theirs.durations);
        }
    }

    /// Counts one line that was too long to be kept (over [`MAX_LINE_LEN`]): unparsed, as
    /// [`feed`](Self::feed) counts such a line.
    pub fn count_overlong_line(&mut self) {
        self.counts.unparsed = self.counts.unparsed.saturating_add(1);
    }

    /// The counts and durations of the lines counted since the previous take, and a fresh
    /// start for the next ones: the same format, keys and latency threshold. A partial line
    /// fed and not ended stays for the next chunk.
    pub fn take(&mut self) -> (LogCounts, LogDurations) {
        let counts = std::mem::take(&mut self.counts);
        let durations = self
            .timing
            .as_mut()
            .map_or_else(LogDurations::default, |t| {
                let histogram = t.durations.histogram.as_mut().map(|_| Box::default());
                std::mem::replace(
                    &mut t.durations,
                    LogDurations {
                        histogram,
                        ..LogDurations::default()
                    },
                )
            });
        (counts, durations)
    }

    /// The counts of the complete lines fed so far.
    #[must_use]
    pub fn counts_so_far(&self) -> LogCounts {
        self.counts
    }

    /// Counts a last unterminated line and returns the totals.
    #[must_use]
    pub fn finish(self) -> LogCounts {
        self.finish_timed().0
    }

    /// Counts a last unterminated line and returns the totals and the durations.
    #[must_use]
    pub fn finish_timed(mut self) -> (LogCounts, LogDurations) {
        if !self.partial.is_empty() || self.overlong {
            self.count_partial();
        }
        (
            self.counts,
            self.timing.map(|t| t.durations).unwrap_or_default(),
        )
    }

    /// Appends the start of a line to the partial line.
    fn keep_partial(&mut self, bytes: &[u8]) {
        if self.overlong || bytes.is_empty() {
            return;
        }
        if self.partial.len().saturating_add(bytes.len()) > MAX_LINE_LEN {
            self.overlong = true;
            self.partial.clear();
        } else {
            self.partial.extend_from_slice(bytes);
        }
    }

    /// Counts the partial line, now complete, and forgets it.
    fn count_partial(&mut self) {
        if self.overlong {
            self.counts.unparsed = self.counts.unparsed.saturating_add(1);
        } else {
            let line = unstamped(self.stamps, &self.partial);
            self.counts
                .tally(self.format, &self.keys, line, self.timing.as_mut());
        }
        self.partial.clear();
        self.overlong = false;
    }
}

/// `line` without its docker stamp when `stamps`. Nearly every line that is not stamped is
/// ruled out here, inline, by its fifth and eleventh bytes (`YYYY-MM-DDT`: a date with a
/// space, as loggers write it, is ruled out too); the stamp is read out of line.
#[inline(always)]
fn unstamped(stamps: bool, line: &[u8]) -> &[u8] {
    if stamps && line.get(4) == Some(&b'-') && matches!(line.get(10), Some(b'T' | b't')) {
        strip_stamp(line)
    } else {
        line
    }
}

/// Counts the access lines `reader` yields until its end, in constant memory.
///
/// # Errors
///
/// The first read error other than [`io::ErrorKind::Interrupted`].
pub fn count_reader(format: LogFormat, reader: impl Read) -> io::Result<LogCounts> {
    count_reader_with(format, LogKeys::default(), reader)
}

/// [`count_reader`], reading JSON and logfmt lines by `keys`.
///
/// # Errors
///
/// The first read error other than [`io::ErrorKind::Interrupted`].
pub fn count_reader_with(
    format: LogFormat,
    keys: LogKeys,
    reader: impl Read,
) -> io::Result<LogCounts> {
    feed_reader(AccessLogCounter::with_keys(format, keys), reader).map(|(counts, _)| counts)
}

/// A recorded log counted as `count-5xx` counts it: [`count_reader_with`] over
/// [`open_log`]`(reader)` (gzip'd input read as its text), skipping each line's docker stamp
/// ([`AccessLogCounter::skipping_stamps`]), and reading the access lines' durations into a
/// histogram for their quantiles. A second thread reads the next buffer while this one counts
/// the last (see `read_ahead`), so a whole file is counted in about the time of its counting
/// alone on a machine with a core to spare; the counts are those of a plain loop.
///
/// # Errors
///
/// The first read error other than [`io::ErrorKind::Interrupted`], a damaged gzip stream
/// included.
pub fn count_log(
    format: LogFormat,
    keys: LogKeys,
    reader: impl Read + Send,
) -> io::Result<(LogCounts, LogDurations)> {
    let reader = open_log(reader)?;
    let mut counter = AccessLogCounter::with_keys(format, keys)
        .with_histogram()
        .skipping_stamps();
    read_ahead::for_each_piece(reader, READ_BUFFER_LEN, |piece| counter.feed(piece))?;
    Ok(counter.finish_timed())
}

/// [`count_log`] of a file, faster on a machine with several cores: a regular, uncompressed
/// file of a few MiB or more is cut after a line into one part per core (at most 8), each
/// read and counted on a thread of its own, and their counts added (the same counts as one
/// stream gives). The file is counted as long as it was when this was called. Anything else
/// (gzip, a pipe, a short file) is [`count_log`].
///
/// # Errors
///
/// As [`count_log`].
pub fn count_log_file(
    format: LogFormat,
    keys: LogKeys,
    file: std::fs::File,
) -> io::Result<(LogCounts, LogDurations)> {
    match parts::count_file(format, &keys, &file, parts::Plan::for_this_machine())? {
        Some(counted) => Ok(counted),
        None => count_log(format, keys, file),
    }
}

/// Feeds `counter` what `reader` yields until its end.
fn feed_reader(
    mut counter: AccessLogCounter,
    mut reader: impl Read,
) -> io::Result<(LogCounts, LogDurations)> {
    read_ahead::sequential(&mut reader, READ_BUFFER_LEN, |piece| counter.feed(piece))?;
    Ok(counter.finish_timed())
}
