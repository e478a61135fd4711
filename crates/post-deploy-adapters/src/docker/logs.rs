//! Logs: read from a cursor, each line passed on once, at a cost in proportion to what was
//! logged since the cursor.
//!
//! `docker logs --since` costs what the container ever logged: the engine decodes its whole
//! log to find the first line at or after `--since` (81 s for 875 MB of json-file log). With
//! `--tail N` the engine reads the log's files backwards from their end, so a read costs its
//! N lines. For the `json-file` and `local` drivers a read is therefore a tail that grows,
//! doubling from a hint, until it provably reaches back past the cursor (see
//! [`TailRead::reaches_back`]), the engine dropping the tail's lines stamped well before the
//! cursor, so what it sends is what is new. The tally then takes each new line once. Other
//! drivers are read with `--since`, and the tick's reason says so. While the wall clock is
//! behind the cursor (it stepped back), new lines are stamped among old ones: a log read from
//! its end is then read by place, after the last line stamped at or after the cursor.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use post_deploy_core::{BehindMark, ControlError, LogCursor};
use serde::Deserialize;

use super::DockerCli;
use super::exec::{READ_TIMEOUT, failed, is_not_found};
use crate::clock::monotonic_now;
use crate::process::{Ended, Invocation, Pipe};
#[cfg(doc)]
use post_deploy_core::ContainerControl;

/// One log read, however many `docker logs` calls it takes.
pub(super) const LOGS_TIMEOUT: Duration = Duration::from_secs(60);
/// The longest log line passed on; docker itself splits lines at 16 KiB.
pub(super) const MAX_LOG_LINE: usize = 64 * 1024;
/// How far behind the present a log read stops (see `read_logs`), and how long after its
/// stamp a line is in the log at the latest.
pub(super) const LOG_SETTLE: TimeDelta = TimeDelta::seconds(1);
/// The first `--tail` of a read whose cursor carries no hint.
pub(super) const FIRST_TAIL: u64 = 1024;
/// A tail this long that still does not reach the cursor: the read goes by `--since`.
pub(super) const MAX_TAIL: u64 = 1 << 24;

/// How a container's log can be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum LogAccess {
    /// From its end (`json-file`, `local`), with the rotation that may drop its oldest lines.
    FromEnd(Rotation),
    /// Only from its start, by `--since`: any other driver, named.
    FromStart(String),
}

/// Takes a stamped line of `docker logs`: its stamp, its text, and the whole line.
type OnStamped<'a> = dyn FnMut(DateTime<Utc>, &[u8], &[u8]) + 'a;

/// The rotation of a log the engine keeps in files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Rotation {
    /// A file is rotated at this size, in bytes; `None`: never (the log only grows).
    pub(super) max_size: Option<u64>,
    /// Files kept, the live one included.
    pub(super) max_file: u64,
}

/// `HostConfig.LogConfig` of `docker inspect`.
#[derive(Debug, Deserialize)]
pub(super) struct LogDriverJson {
    #[serde(rename = "Type", default)]
    kind: String,
    #[serde(rename = "Config", default)]
    config: Option<BTreeMap<String, String>>,
}

impl LogDriverJson {
    pub(super) fn access(&self) -> LogAccess {
        let opt = |k: &str| {
            self.config
                .as_ref()
                .and_then(|c| c.get(k))
                .map(String::as_str)
        };
        let files = |default: u64| {
            opt("max-file")
                .and_then(|v| v.trim().parse::<u64>().ok())
                .filter(|n| *n > 0)
                .unwrap_or(default)
        };
        match self.kind.as_str() {
            // json-file rotates only with max-size; max-file defaults to 1.
            "json-file" => LogAccess::FromEnd(Rotation {
                max_size: opt("max-size").and_then(parse_size),
                max_file: files(1),
            }),
            // local rotates at 20 MB into 5 files unless told otherwise.
            "local" => LogAccess::FromEnd(Rotation {
                max_size: match opt("max-size") {
                    None => Some(20 * 1024 * 1024),
                    Some(v) => parse_size(v),
                },
                max_file: files(5),
            }),
            other => LogAccess::FromStart(other.to_owned()),
        }
    }
}

/// `10m`, `1g`, `512k`, `2048` as docker reads `max-size` (binary units); `None` for `-1`
/// (no limit) or what it cannot read.
pub(super) fn parse_size(v: &str) -> Option<u64> {
    let v = v.trim().to_ascii_lowercase();
    let v = v.strip_suffix('b').unwrap_or(&v);
    let v = v.strip_suffix('i').unwrap_or(v);
    let (digits, unit) = match v
        .char_indices()
        .find(|(_, c)| !c.is_ascii_digit() && *c != '.')
    {
        Some((i, _)) => (v.get(..i)?, v.get(i..)?),
        None => (v, ""),
    };
    let unit: f64 = match unit.trim() {
        "" => 1.0,
        "k" => 1024.0,
        "m" => 1024.0 * 1024.0,
        "g" => 1024.0 * 1024.0 * 1024.0,
        "t" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    };
    let n: f64 = digits.parse().ok()?;
    if !(n.is_finite() && n > 0.0) {
        return None;
    }
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "a positive, finite size, rounded down to whole bytes (saturating)"
    )]
    let bytes = (n * unit) as u64;
    Some(bytes)
}

impl DockerCli {
    /// [`ContainerControl::read_logs`]: the lines after `cursor`, up to a moment ago.
    pub(super) fn logs_since(
        &self,
        container: &str,
        cursor: &LogCursor,
        sink: &mut dyn FnMut(&[u8]),
    ) -> Result<LogCursor, ControlError> {
        // Only lines stamped up to a moment ago (the horizon) are taken: the daemon stamps
        // stdout and stderr lines on separate goroutines before writing them, so a line
        // stamped just before the newest one read could still be on its way into the log
        // and would be skipped by the next read. The horizon is applied here, over the whole
        // output, not with `--until`: the daemon stops reading at the first line stamped
        // after `--until`, and a line stamped before it but written just after it would be
        // missed, then skipped for good.
        let now = self.clock.now();
        let started = monotonic_now();
        match self.log_access(container)? {
            LogAccess::FromEnd(rotation) => {
                if now < cursor.since || cursor.behind.is_some() {
                    return self.logs_while_behind(container, cursor, now, rotation, started, sink);
                }
                let horizon = read_horizon(now, cursor)?;
                self.logs_from_end(container, cursor, horizon, rotation, started, sink)
            }
            LogAccess::FromStart(driver) => {
                let horizon = read_horizon(now, cursor)?;
                let note = format!(
                    "logs read with docker logs --since (the {driver} log driver cannot be \
                     read from its end)"
                );
                let mut next = self.logs_from_start(container, cursor, horizon, started, sink)?;
                next.note = Some(note);
                Ok(next)
            }
        }
    }

    /// A read while the clock is behind the cursor (it stepped back), or the first one after
    /// it caught up. The lines logged since the step are stamped before the cursor, among
    /// lines read already, so they are found by their place in the log instead: after the
    /// anchor, the last line stamped at or after the cursor (see [`BehindMark`]). Once the
    /// clock is past the cursor again the rest of those lines are read the same way, then
    /// the lines stamped after the cursor as usual, and the mark is dropped.
    ///
    /// Without an anchor in the log (nothing was read before the step, or it rotated away)
    /// the lines cannot be told apart: [`ControlError::ClockBehind`] while behind; once
    /// caught up, the usual read, saying that lines may be missing. A step back that no read
    /// sees (it is caught up before the next one) leaves no mark: the lines logged during it
    /// are stamped before the cursor and are not read.
    fn logs_while_behind(
        &self,
        container: &str,
        cursor: &LogCursor,
        now: DateTime<Utc>,
        rotation: Rotation,
        started: std::time::Instant,
        sink: &mut dyn FnMut(&[u8]),
    ) -> Result<LogCursor, ControlError> {
        let found = self.logs_after_anchor(container, cursor, started, sink)?;
        if now < cursor.since {
            let Some((mark, entries)) = found else {
                return Err(clock_behind(cursor.since, now));
            };
            return Ok(LogCursor {
                lines_read: entries,
                note: None,
                behind: Some(mark),
                ..cursor.clone()
            });
        }
        let usual = LogCursor {
            behind: None,
            ..cursor.clone()
        };
        let horizon = read_horizon(now, &usual)?;
        let mut next = self.logs_from_end(container, &usual, horizon, rotation, started, sink)?;
        if found.is_none() {
            next.note = Some(
                "lines may be missing: the lines logged while the clock was behind could not \
                 be told from earlier ones"
                    .to_owned(),
            );
        }
        Ok(next)
    }

    /// The lines after the anchor of `cursor` (its mark's, or the last line stamped at or
    /// after its `since`) that are stamped before `since` and were not read yet, by `--tail`
    /// reads that double until the anchor is in them; the mark after them and how many lines
    /// from the anchor on the log holds (the next read's hint), or `None` when the log holds
    /// no anchor.
    fn logs_after_anchor(
        &self,
        container: &str,
        cursor: &LogCursor,
        started: std::time::Instant,
        sink: &mut dyn FnMut(&[u8]),
    ) -> Result<Option<(BehindMark, u64)>, ControlError> {
        let what = format!("docker logs {container}");
        let mut tail = cursor
            .lines_read
            .saturating_mul(2)
            .clamp(FIRST_TAIL, MAX_TAIL);
        loop {
            let inv = self.docker_call(
                [
                    "logs".to_owned(),
                    "--timestamps".to_owned(),
                    "--tail".to_owned(),
                    tail.to_string(),
                    "--".to_owned(),
                    container.to_owned(),
                ],
                Self::time_left(started, &what)?,
            );
            // Counts the tail's entries; keeps none of its lines.
            let mut read = TailRead::new(DateTime::<Utc>::MAX_UTC);
            // The last anchor so far, the lines from it on, and those of them stamped before
            // the cursor: a line that is an anchor drops what was kept before it, so only the
            // lines after the last anchor are held, not the whole tail.
            let mut anchor: Option<DateTime<Utc>> = None;
            let mut reach: u64 = 0;
            let mut after = TailRead::new(DateTime::<Utc>::MIN_UTC);
            self.logs_call(&what, container, &inv, &mut |at, text, line| {
                read.take(at, text, line);
                let is_anchor = match cursor.behind {
                    Some(mark) => at == mark.anchor,
                    None => at >= cursor.since,
                };
                if is_anchor {
                    anchor = Some(at);
                    reach = 1;
                    after = TailRead::new(DateTime::<Utc>::MIN_UTC);
                } else if anchor.is_some() {
                    reach = reach.saturating_add(1);
                    if at < cursor.since {
                        after.take(at, text, line);
                    }
                }
            })?;
            if let Some(anchor) = anchor {
                let already = cursor.behind.map_or(0, |mark| mark.read);
                let mut count: u64 = 0;
                for (_, text) in after.kept() {
                    count = count.saturating_add(1);
                    if count > already {
                        sink(text);
                    }
                }
                let mark = BehindMark {
                    anchor,
                    read: count.max(already),
                };
                // The next read's hint: as far back as the anchor, not the whole tail (which
                // would double at every read).
                return Ok(Some((mark, reach)));
            }
            if read.short_of(tail) || tail >= MAX_TAIL {
                return Ok(None);
            }
            tail = tail.saturating_mul(2).min(MAX_TAIL);
        }
    }

    /// The container's log driver and its rotation, from `docker inspect`.
    fn log_access(&self, container: &str) -> Result<LogAccess, ControlError> {
        let what = format!("docker inspect {container}");
        let c = self.capture(
            &what,
            &self.docker_call(
                [
                    "inspect",
                    "--type",
                    "container",
                    "--format",
                    "{{json .HostConfig.LogConfig}}",
                    "--",
                    container,
                ],
                READ_TIMEOUT,
            ),
        )?;
        if !c.status.success() {
            return Err(if is_not_found(&c.stderr_tail) {
                ControlError::ContainerNotFound(container.to_owned())
            } else {
                failed(&what, &c)
            });
        }
        serde_json::from_slice::<LogDriverJson>(&c.stdout)
            .map(|j| j.access())
            .map_err(|e| ControlError::BadOutput {
                what,
                detail: e.to_string(),
            })
    }

    /// What is left of the read's time limit, or the error that says it ran out.
    fn time_left(started: std::time::Instant, what: &str) -> Result<Duration, ControlError> {
        LOGS_TIMEOUT
            .checked_sub(started.elapsed())
            .filter(|d| !d.is_zero())
            .ok_or_else(|| ControlError::TimedOut {
                what: what.to_owned(),
                after: LOGS_TIMEOUT,
            })
    }

    /// Runs one `docker logs` call, handing each stamped line to `on_line`.
    fn logs_call(
        &self,
        what: &str,
        container: &str,
        inv: &Invocation,
        on_line: &mut OnStamped<'_>,
    ) -> Result<(), ControlError> {
        let mut complaints = String::new();
        let ended = self.exec.stream(inv, MAX_LOG_LINE, &mut |pipe, line| {
            match split_stamp(line) {
                Some((at, text)) => on_line(at, text, line),
                // docker's own messages carry no timestamp.
                None if pipe == Pipe::Stderr && complaints.len() < 2048 => {
                    complaints.push_str(String::from_utf8_lossy(line).trim());
                    complaints.push(' ');
                }
                None => {}
            }
        })?;
        match ended {
            Ended::TimedOut => Err(ControlError::TimedOut {
                what: what.to_owned(),
                after: LOGS_TIMEOUT,
            }),
            Ended::Finished(status) if status.success() => Ok(()),
            Ended::Finished(_) if is_not_found(&complaints) => {
                Err(ControlError::ContainerNotFound(container.to_owned()))
            }
            Ended::Finished(status) => Err(ControlError::Failed {
                what: what.to_owned(),
                detail: format!(
                    "{status}: {}",
                    post_deploy_core::text::quote(complaints.trim())
                ),
            }),
        }
    }

    /// `docker logs --since`: what the engine finds by reading the log from its start.
    fn logs_from_start(
        &self,
        container: &str,
        cursor: &LogCursor,
        horizon: DateTime<Utc>,
        started: std::time::Instant,
        sink: &mut dyn FnMut(&[u8]),
    ) -> Result<LogCursor, ControlError> {
        // `--since` is inclusive to the nanosecond: lines stamped exactly `since` come again
        // and the tally skips the ones already read.
        let what = format!("docker logs {container}");
        let since = cursor.since.to_rfc3339_opts(SecondsFormat::Nanos, true);
        let inv = self.docker_call(
            [
                "logs",
                "--timestamps",
                "--since",
                since.as_str(),
                "--",
                container,
            ],
            Self::time_left(started, &what)?,
        );
        let mut tally = LogTally::new(cursor, horizon);
        let mut lines: u64 = 0;
        self.logs_call(&what, container, &inv, &mut |at, text, _| {
            lines = lines.saturating_add(1);
            if tally.admit(at) {
                sink(text);
            }
        })?;
        Ok(LogCursor {
            lines_read: lines,
            ..tally.cursor()
        })
    }

    /// `docker logs --tail N`, N doubling until the tail reaches back past the cursor.
    fn logs_from_end(
        &self,
        container: &str,
        cursor: &LogCursor,
        horizon: DateTime<Utc>,
        rotation: Rotation,
        started: std::time::Instant,
        sink: &mut dyn FnMut(&[u8]),
    ) -> Result<LogCursor, ControlError> {
        let what = format!("docker logs {container}");
        let mut tail = cursor
            .lines_read
            .saturating_mul(2)
            .clamp(FIRST_TAIL, MAX_TAIL);
        // The engine drops the tail's lines stamped before this, so what it sends is what is
        // new and two settle delays before it; a tail with fewer entries than asked for
        // dropped some (or holds the whole log).
        let floor = cursor
            .since
            .checked_sub_signed(LOG_SETTLE.checked_mul(2).unwrap_or(LOG_SETTLE))
            .unwrap_or(cursor.since)
            .to_rfc3339_opts(SecondsFormat::Nanos, true);
        loop {
            let inv = self.docker_call(
                [
                    "logs".to_owned(),
                    "--timestamps".to_owned(),
                    "--since".to_owned(),
                    floor.clone(),
                    "--tail".to_owned(),
                    tail.to_string(),
                    "--".to_owned(),
                    container.to_owned(),
                ],
                Self::time_left(started, &what)?,
            );
            let mut read = TailRead::new(cursor.since);
            self.logs_call(&what, container, &inv, &mut |at, text, line| {
                read.take(at, text, line);
            })?;
            let short = read.short_of(tail);
            if read.reaches_back(cursor.since) || short {
                let mut tally = LogTally::new(cursor, horizon);
                for (at, text) in read.kept() {
                    if tally.admit(at) {
                        sink(text);
                    }
                }
                let note = (short && read.may_have_lost(cursor.since, rotation)).then(|| {
                    format!(
                        "lines may be missing: the log rotated past the previous read (its \
                         oldest line is stamped {})",
                        read.oldest
                            .map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true))
                            .unwrap_or_default()
                    )
                });
                return Ok(LogCursor {
                    lines_read: read.entries,
                    note,
                    ..tally.cursor()
                });
            }
            if tail >= MAX_TAIL {
                let mut next = self.logs_from_start(container, cursor, horizon, started, sink)?;
                next.note = Some(format!(
                    "logs read with docker logs --since (the last {MAX_TAIL} lines did not \
                     reach back to the previous read)"
                ));
                return Ok(next);
            }
            tail = tail.saturating_mul(2).min(MAX_TAIL);
        }
    }
}

/// The horizon of a read from `cursor` at `now`: a settle delay before `now` (see
/// [`DockerCli::logs_since`]).
///
/// # Errors
///
/// [`ControlError::ClockBehind`] when `now` is before the cursor. A read only takes lines
/// stamped up to its horizon, so a cursor is always a settle delay behind the clock that made
/// it: one ahead of the clock means the clock stepped back. The engine stamps lines by that
/// same clock, so the lines logged since are stamped before the cursor, among the lines read
/// already; reading them by their stamps would count some twice and lose others for good.
/// A container's log read from its end is then read by place instead
/// ([`DockerCli::logs_while_behind`]); a log read only by stamps (a Swarm service's, another
/// driver's) leaves the signal missing until the clock passes the cursor again (the window
/// may then end blind, and says why).
pub(super) fn read_horizon(
    now: DateTime<Utc>,
    cursor: &LogCursor,
) -> Result<DateTime<Utc>, ControlError> {
    if now < cursor.since {
        return Err(clock_behind(cursor.since, now));
    }
    Ok(now.checked_sub_signed(LOG_SETTLE).unwrap_or(cursor.since))
}

/// [`ControlError::ClockBehind`]: the clock reads `now`, before `since`.
fn clock_behind(since: DateTime<Utc>, now: DateTime<Utc>) -> ControlError {
    ControlError::ClockBehind {
        behind: since
            .signed_duration_since(now)
            .to_std()
            .unwrap_or(Duration::ZERO),
    }
}

/// One `docker logs --tail N` call: the lines at or after the cursor, kept until the call
/// shows that it reached back far enough, and what shows it.
#[derive(Debug, Default)]
pub(super) struct TailRead {
    since: Option<DateTime<Utc>>,
    /// Log entries read: the partial entries of a line longer than 16 KiB each count.
    pub(super) entries: u64,
    /// Bytes read, stamps included.
    pub(super) bytes: u64,
    /// The oldest stamp read.
    pub(super) oldest: Option<DateTime<Utc>>,
    /// A line was cut at [`MAX_LOG_LINE`]: its entries are not all counted.
    cut: bool,
    stamps: Vec<(DateTime<Utc>, usize)>,
    text: Vec<u8>,
}

impl TailRead {
    pub(super) fn new(since: DateTime<Utc>) -> Self {
        Self {
            since: Some(since),
            ..Self::default()
        }
    }

    /// Takes one stamped line: `text` is `line` without its stamp.
    pub(super) fn take(&mut self, at: DateTime<Utc>, text: &[u8], line: &[u8]) {
        self.entries = self.entries.saturating_add(stamps_in(line));
        self.bytes = self
            .bytes
            .saturating_add(u64::try_from(line.len()).unwrap_or(u64::MAX));
        self.cut |= line.len() >= MAX_LOG_LINE;
        if self.oldest.is_none_or(|o| at < o) {
            self.oldest = Some(at);
        }
        // Lines before the cursor were read by an earlier read: only the others are kept.
        if self.since.is_none_or(|s| at >= s) {
            self.text.extend_from_slice(text);
            self.stamps.push((at, text.len()));
        }
    }

    /// Whether every line not in this read is stamped before `since`: the read goes back far
    /// enough. A line `X` logged before the tail's first entry was written before every entry
    /// `F` of the tail, and a line is in the log at most [`LOG_SETTLE`] after its stamp, so
    /// `stamp(X) <= written(X) < written(F) <= stamp(F) + settle`. So it is enough that one
    /// entry of the tail is stamped at or before `since - settle`, however stdout and stderr
    /// lines are interleaved out of stamp order: a line read so stamped ([`Self::reaches_back`]),
    /// or fewer entries than the tail asked for ([`Self::short_of`]), since the engine dropped
    /// the missing ones for being stamped before `since - 2 settle` (or the log holds no more).
    pub(super) fn reaches_back(&self, since: DateTime<Utc>) -> bool {
        let bound = since.checked_sub_signed(LOG_SETTLE).unwrap_or(since);
        self.oldest.is_some_and(|o| o <= bound)
    }

    /// Whether fewer entries than `tail` came (see [`Self::reaches_back`]); not when a line
    /// was cut, since its entries were not all counted.
    pub(super) fn short_of(&self, tail: u64) -> bool {
        !self.cut && self.entries < tail
    }

    /// Whether lines after `since` may have been deleted with a rotated file: the tail was
    /// short, nothing at or before `since` came, and the log rotates. A log that deleted a
    /// file keeps at least `max_file - 1` full files, and all of it is newer than `since`,
    /// so the engine sent all of it; what docker prints of an entry is at least a quarter of
    /// what the file holds of it, so a read smaller than a quarter of those files shows that
    /// nothing was deleted (a quiet container on a rotating log is not warned about).
    pub(super) fn may_have_lost(&self, since: DateTime<Utc>, rotation: Rotation) -> bool {
        let Some(max_size) = rotation.max_size else {
            return false;
        };
        let after = self.oldest.is_none_or(|o| o > since);
        let kept_at_least = max_size.saturating_mul(rotation.max_file.saturating_sub(1));
        after && self.bytes.saturating_mul(4) >= kept_at_least
    }

    /// The lines kept, in the order read.
    pub(super) fn kept(&self) -> impl Iterator<Item = (DateTime<Utc>, &[u8])> {
        let mut start = 0_usize;
        self.stamps.iter().map(move |&(at, len)| {
            let end = start.saturating_add(len);
            let text = self.text.get(start..end).unwrap_or_default();
            start = end;
            (at, text)
        })
    }
}

/// How many log entries a line of `docker logs --timestamps` holds: docker writes the
/// pieces of a line longer than 16 KiB as entries of their own, each with its stamp, on one
/// output line. Counts the stamps (`2026-11-27T03:25:58.814415879Z `), never fewer than 1.
pub(super) fn stamps_in(line: &[u8]) -> u64 {
    const SHAPE: &[u8; 31] = b"dddd-dd-ddTdd:dd:dd.dddddddddZ ";
    let matches = |w: &[u8]| {
        w.iter().zip(SHAPE).all(|(b, s)| match s {
            b'd' => b.is_ascii_digit(),
            _ => b == s,
        })
    };
    let found = line
        .windows(SHAPE.len())
        .filter(|w| w.get(29) == Some(&b'Z') && matches(w))
        .count();
    u64::try_from(found).unwrap_or(u64::MAX).max(1)
}

/// The log lines of one read that are new after a cursor, and the cursor after them.
#[derive(Debug, Clone)]
pub(super) struct LogTally {
    /// Lines stamped after this are left for a later read.
    pub(super) horizon: DateTime<Utc>,
    pub(super) since: DateTime<Utc>,
    /// Lines stamped exactly `since` still to skip: they were read last time.
    pub(super) skip: u64,
    pub(super) last: DateTime<Utc>,
    pub(super) at_last: u64,
}

impl LogTally {
    pub(super) fn new(cursor: &LogCursor, horizon: DateTime<Utc>) -> Self {
        Self {
            horizon,
            since: cursor.since,
            skip: cursor.seen_at_since,
            last: cursor.since,
            at_last: cursor.seen_at_since,
        }
    }

    /// Whether a line stamped `at` is new; records it when it is.
    pub(super) fn admit(&mut self, at: DateTime<Utc>) -> bool {
        if at < self.since || at > self.horizon {
            return false;
        }
        if at == self.since && self.skip > 0 {
            self.skip = self.skip.saturating_sub(1);
            return false;
        }
        // stdout and stderr arrive on their own pipes, not in time order: keep the latest.
        if at > self.last {
            self.last = at;
            self.at_last = 1;
        } else if at == self.last {
            self.at_last = self.at_last.saturating_add(1);
        }
        true
    }

    pub(super) fn cursor(&self) -> LogCursor {
        LogCursor {
            seen_at_since: self.at_last,
            ..LogCursor::at(self.last)
        }
    }
}

/// Splits `2026-11-27T03:25:58.814415879Z text\n` into its time and its text.
pub(super) fn split_stamp(line: &[u8]) -> Option<(DateTime<Utc>, &[u8])> {
    let space = line.iter().take(64).position(|&b| b == b' ')?;
    let stamp = std::str::from_utf8(line.get(..space)?).ok()?;
    let at = DateTime::parse_from_rfc3339(stamp)
        .ok()?
        .with_timezone(&Utc);
    Some((at, line.get(space.saturating_add(1)..)?))
}
