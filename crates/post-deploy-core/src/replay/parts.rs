//! A log file replayed in parts, one thread a part.
//!
//! Which tick a line counts in depends on the lines before it only through the latest stamp
//! read so far: a line counts in the first tick at or after that stamp (lines stamped before
//! arm in none). So each part of the file (cut as `count-5xx` cuts one, just after a line)
//! counts its lines by the latest stamp of the part alone, into one counter per tick; then,
//! in the file's order, a part's counters of ticks before the latest stamp of the parts before
//! it are added into that stamp's tick, which is where one stream would have counted them.
//! The ticks then run in order over the added counts, as they run in one stream. Arm time
//! comes first: `from`, or the first stamped line, read before the parts.

use std::fs::File;
use std::io;

use chrono::{DateTime, Utc};

use super::health::HealthTrace;
use super::lines::{self, Lines, Sink};
use super::stamp::Stamps;
use super::{Input, ReplayError, ReplayReport, ReplaySetup, Window, conclude, counter, nanos};
use crate::access_log::AccessLogCounter;
use crate::access_log::parts::{Plan, for_each_piece_of_span, on_threads, spans};
use crate::config::WindowSettings;

/// How far into the file its first stamped line is looked for; a file whose first line is
/// not found there is replayed in one stream.
const FIRST_LINE_SEARCH: usize = 64 << 10;

/// A file ready to be replayed in parts: its parts and its arm time.
pub(super) struct Prepared {
    spans: Vec<(u64, u64)>,
    armed_at: DateTime<Utc>,
}

/// The parts `file` is replayed in, or `None` for one stream: not a regular, uncompressed file
/// of a few MiB, no arm time found in its first 64 KiB (its first line then decides in one
/// stream, or its error is found there), or a window whose ticks fall outside the nanosecond
/// range the parts count in.
///
/// # Errors
///
/// A read error of the file.
pub(super) fn prepare(
    setup: &ReplaySetup,
    file: &File,
    plan: Plan,
) -> io::Result<Option<Prepared>> {
    let Some(spans) = spans(file, plan)? else {
        return Ok(None);
    };
    let armed_at = match setup.from {
        Some(from) => Some(from),
        None => first_stamp(file)?,
    };
    let Some(armed_at) = armed_at else {
        return Ok(None);
    };
    let deadline = chrono::TimeDelta::from_std(setup.settings.window)
        .ok()
        .and_then(|w| armed_at.checked_add_signed(w));
    let in_range = armed_at.timestamp_nanos_opt().is_some()
        && deadline.and_then(|d| d.timestamp_nanos_opt()).is_some();
    Ok(in_range.then_some(Prepared { spans, armed_at }))
}

/// The stamp of the file's first non-blank line, when that line ends within its first
/// [`FIRST_LINE_SEARCH`] bytes and holds a stamp.
fn first_stamp(file: &File) -> io::Result<Option<DateTime<Utc>>> {
    let mut head = Vec::with_capacity(FIRST_LINE_SEARCH);
    let span = (0, u64::try_from(FIRST_LINE_SEARCH).unwrap_or(u64::MAX));
    for_each_piece_of_span(file, span, FIRST_LINE_SEARCH, |piece| {
        head.extend_from_slice(piece);
        true
    })?;
    // Complete lines only: the last piece may be cut.
    let Some(last_newline) = memchr::memrchr(b'\n', &head) else {
        return Ok(None);
    };
    let whole = head.get(..last_newline).unwrap_or_default();
    let Some(line) = whole.split(|b| *b == b'\n').find(|l| !lines::is_blank(l)) else {
        return Ok(None);
    };
    let (stamp, _) = lines::split(line);
    Ok(Stamps::default()
        .parse_nanos(stamp)
        .map(DateTime::from_timestamp_nanos))
}

/// The ticks of a window armed at `armed_ns`: which one a stamp falls in.
#[derive(Debug, Clone, Copy)]
struct Ticks {
    armed_ns: i64,
    interval_ns: i128,
    /// The number of ticks; `last + 1` stands for after the last one.
    last: u64,
}

impl Ticks {
    /// The tick a line whose latest stamp so far is `at` (at or after arm) counts in: the
    /// first whose time is at or after it (the first for a line stamped at arm), or
    /// `last + 1` when the last tick is before it.
    fn of(self, at: i64) -> u64 {
        let since = i128::from(at).saturating_sub(i128::from(self.armed_ns));
        let k = since
            .saturating_add(self.interval_ns.saturating_sub(1))
            .checked_div(self.interval_ns)
            .unwrap_or(0)
            .max(1);
        u64::try_from(k)
            .unwrap_or(u64::MAX)
            .min(self.last.saturating_add(1))
    }
}

/// The lines of one part, by tick.
struct Part {
    /// Every line of the part, blank ones included (for the line numbers of later parts).
    numbered: u64,
    /// The stamped lines.
    stamped: u64,
    /// The first error, with its line number within the part.
    error: Option<ReplayError>,
    /// The latest stamp at or after arm.
    latest: Option<i64>,
    /// A counter for each tick the part's lines fall in, in increasing order.
    ticks: Vec<(u64, AccessLogCounter)>,
    /// The lines before arm.
    outside: AccessLogCounter,
}

/// Where a part's lines go.
struct ByTick<'a> {
    settings: &'a WindowSettings,
    ticks: Ticks,
    latest: Option<i64>,
    counters: Vec<(u64, AccessLogCounter)>,
    outside: AccessLogCounter,
}

impl Sink for ByTick<'_> {
    fn line(&mut self, at: i64, body: &[u8], overlong: bool) -> Result<(), ReplayError> {
        let counter = if at < self.ticks.armed_ns {
            &mut self.outside
        } else {
            let latest = self.latest.map_or(at, |l| l.max(at));
            self.latest = Some(latest);
            let k = self.ticks.of(latest);
            if self.counters.last().is_none_or(|(last, _)| *last != k) {
                self.counters.push((k, counter(self.settings)));
            }
            match self.counters.last_mut() {
                Some((_, counter)) => counter,
                None => &mut self.outside,
            }
        };
        if overlong {
            counter.count_overlong_line();
        } else {
            counter.count_line(body);
        }
        Ok(())
    }
}

/// Reads the part of `file` from `start` to `end`.
fn read_part(
    settings: &WindowSettings,
    ticks: Ticks,
    file: &File,
    span: (u64, u64),
    buffer_len: usize,
) -> Part {
    let mut lines = Lines::new(ByTick {
        settings,
        ticks,
        latest: None,
        counters: Vec::new(),
        outside: counter(settings),
    });
    let mut error = None;
    let read = for_each_piece_of_span(file, span, buffer_len, |piece| {
        error = lines.piece(piece).err();
        error.is_none()
    });
    if let Err(source) = read {
        error = Some(ReplayError::Read {
            input: Input::Log,
            source,
        });
    }
    if error.is_none() {
        error = lines.finish().err();
    }
    Part {
        numbered: lines.line,
        stamped: lines.stamped,
        error,
        latest: lines.sink.latest,
        ticks: lines.sink.counters,
        outside: lines.sink.outside,
    }
}

/// Replays `file` in the parts `prepared` names (see the module doc).
pub(super) fn replay(
    setup: &ReplaySetup,
    file: &File,
    prepared: Prepared,
    mut health: Option<HealthTrace<'_>>,
    plan: Plan,
) -> Result<ReplayReport, ReplayError> {
    let mut window = Window::arm(setup, prepared.armed_at)?;
    let ticks = Ticks {
        armed_ns: nanos(prepared.armed_at),
        interval_ns: i128::try_from(setup.settings.interval.as_nanos()).unwrap_or(i128::MAX),
        last: window.last,
    };
    let settings = &setup.settings;
    let parts = on_threads(&prepared.spans, |start, end| {
        read_part(settings, ticks, file, (start, end), plan.buffer_len)
    });
    // The parts' counters, in the ticks one stream would have counted them in.
    let mut merged: Vec<(u64, AccessLogCounter)> = Vec::new();
    let mut latest: Option<i64> = None;
    let (mut stamped, mut numbered, mut unparsed_outside) = (0u64, 0u64, 0u64);
    for part in parts {
        let part = part.ok_or_else(|| ReplayError::Read {
            input: Input::Log,
            source: io::Error::other("a part of the log stopped"),
        })?;
        if let Some(error) = part.error {
            return Err(renumbered(error, numbered));
        }
        stamped = stamped.saturating_add(part.stamped);
        numbered = numbered.saturating_add(part.numbered);
        unparsed_outside = unparsed_outside.saturating_add(part.outside.counts_so_far().unparsed);
        let floor = latest.map(|at| ticks.of(at));
        for (k, counter) in part.ticks {
            let k = floor.map_or(k, |floor| k.max(floor));
            match merged.last_mut() {
                Some((last, into)) if *last == k => into.absorb(counter),
                _ => merged.push((k, counter)),
            }
        }
        latest = latest.max(part.latest);
    }
    let mut counted = merged.into_iter().peekable();
    window.run_ticks(health.as_mut(), |k| {
        counted
            .next_if(|(at, _)| *at == k)
            .map(|(_, counter)| counter)
    })?;
    // The lines of ticks that did not run (after a DEGRADED one, or after the last).
    for (_, counter) in counted {
        unparsed_outside = unparsed_outside.saturating_add(counter.counts_so_far().unparsed);
    }
    conclude(window, health, stamped, unparsed_outside)
}

/// A part's error with its line numbered in the whole file, `before` lines coming before the
/// part.
fn renumbered(error: ReplayError, before: u64) -> ReplayError {
    match error {
        ReplayError::Line { input, line, why } => ReplayError::Line {
            input,
            line: line.saturating_add(before),
            why,
        },
        other => other,
    }
}
