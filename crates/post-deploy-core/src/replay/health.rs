//! A recorded health trace: one probe a line, a stamp, one space, an HTTP status or `fail`.

use std::io::{BufRead, Read as _};
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::stamp::Stamps;
use super::{Input, ReplayError, quote};
use crate::signals::{HealthSample, ProbeFailure};

/// The longest health line read; a longer one is an error, not a probe.
const MAX_HEALTH_LINE: u64 = 4096;

/// What a probe that got no answer says.
pub(super) const NO_ANSWER: &str = "no answer (recorded)";

/// The probes of a health trace, read in step with the ticks.
pub(super) struct HealthTrace<'a> {
    reader: Box<dyn BufRead + 'a>,
    stamps: Stamps,
    /// Lines read so far.
    line: u64,
    /// A probe read past the span asked for last: the next span's first.
    ahead: Option<(DateTime<Utc>, HealthSample)>,
    buffer: Vec<u8>,
}

impl<'a> HealthTrace<'a> {
    pub(super) fn new(reader: Box<dyn BufRead + 'a>) -> Self {
        Self {
            reader,
            stamps: Stamps::default(),
            line: 0,
            ahead: None,
            buffer: Vec::new(),
        }
    }

    /// The last probe stamped in a tick's span: after `from` (at or after it when `from_in`)
    /// and at or before `until`. Probes stamped before the span are passed over.
    pub(super) fn probe_in(
        &mut self,
        from: DateTime<Utc>,
        from_in: bool,
        until: DateTime<Utc>,
    ) -> Result<Option<HealthSample>, ReplayError> {
        let mut last: Option<(DateTime<Utc>, HealthSample)> = None;
        loop {
            let next = match self.ahead.take() {
                Some(probe) => Some(probe),
                None => self.next_probe()?,
            };
            let Some((at, sample)) = next else { break };
            if at > until {
                self.ahead = Some((at, sample));
                break;
            }
            let in_span = at > from || (from_in && at == from);
            if in_span && last.as_ref().is_none_or(|(seen, _)| at >= *seen) {
                last = Some((at, sample));
            }
        }
        Ok(last.map(|(_, sample)| sample))
    }

    /// Reads the rest, so that a malformed line anywhere is found.
    pub(super) fn check_rest(&mut self) -> Result<(), ReplayError> {
        while self.next_probe()?.is_some() {}
        Ok(())
    }

    /// The next probe, blank lines passed over; `None` at the end.
    fn next_probe(&mut self) -> Result<Option<(DateTime<Utc>, HealthSample)>, ReplayError> {
        loop {
            self.buffer.clear();
            let read = (&mut self.reader)
                .take(MAX_HEALTH_LINE)
                .read_until(b'\n', &mut self.buffer)
                .map_err(|source| ReplayError::Read {
                    input: Input::Health,
                    source,
                })?;
            if read == 0 {
                return Ok(None);
            }
            self.line = self.line.saturating_add(1);
            if self.buffer.last() != Some(&b'\n') && read as u64 >= MAX_HEALTH_LINE {
                return Err(self.error(format!("longer than {MAX_HEALTH_LINE} bytes")));
            }
            if self.buffer.trim_ascii().is_empty() {
                continue;
            }
            let buffer = std::mem::take(&mut self.buffer);
            let probe = self.probe(buffer.trim_ascii());
            self.buffer = buffer;
            return probe.map(Some);
        }
    }

    fn probe(&mut self, line: &[u8]) -> Result<(DateTime<Utc>, HealthSample), ReplayError> {
        let expected = "expected an RFC 3339 stamp, one space, and an HTTP status or `fail`";
        let (stamp, what) = match memchr::memchr(b' ', line) {
            Some(space) => (
                line.get(..space).unwrap_or_default(),
                line.get(space.saturating_add(1)..)
                    .unwrap_or_default()
                    .trim_ascii(),
            ),
            None => (line, &b""[..]),
        };
        let Some(at) = self.stamps.parse(stamp) else {
            return Err(self.error(format!("{expected}: {}", quote(line))));
        };
        let sample = if what.eq_ignore_ascii_case(b"fail") {
            HealthSample::fail(
                ProbeFailure::Other {
                    detail: NO_ANSWER.to_owned(),
                },
                Duration::ZERO,
            )
        } else {
            match std::str::from_utf8(what)
                .ok()
                .filter(|s| s.len() == 3)
                .and_then(|s| s.parse::<u16>().ok())
                .filter(|s| (100..=599).contains(s))
            {
                Some(status) if (200..=299).contains(&status) => {
                    HealthSample::pass(status, Duration::ZERO)
                }
                Some(status) => HealthSample::fail(ProbeFailure::Status { status }, Duration::ZERO),
                None => return Err(self.error(format!("{expected}: {}", quote(line)))),
            }
        };
        Ok((at, sample))
    }

    fn error(&self, why: String) -> ReplayError {
        ReplayError::Line {
            input: Input::Health,
            line: self.line,
            why,
        }
    }
}
