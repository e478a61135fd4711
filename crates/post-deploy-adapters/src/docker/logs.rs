//! Logs: `docker logs --timestamps` read from a cursor, each line passed on once.

use std::time::Duration;

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use post_deploy_core::{ControlError, LogCursor};

use super::DockerCli;
use super::exec::is_not_found;
use crate::process::{Ended, Pipe};
#[cfg(doc)]
use post_deploy_core::ContainerControl;

/// One `docker logs` read.
pub(super) const LOGS_TIMEOUT: Duration = Duration::from_secs(60);
/// The longest log line passed on; docker itself splits lines at 16 KiB.
pub(super) const MAX_LOG_LINE: usize = 64 * 1024;
/// How far behind the present a log read stops (see `read_logs`).
pub(super) const LOG_SETTLE: TimeDelta = TimeDelta::seconds(1);

impl DockerCli {
    /// [`ContainerControl::read_logs`]: the lines after `cursor`, up to a moment ago.
    pub(super) fn logs_since(
        &self,
        container: &str,
        cursor: &LogCursor,
        sink: &mut dyn FnMut(&[u8]),
    ) -> Result<LogCursor, ControlError> {
        // `--since` is inclusive to the nanosecond: lines stamped exactly `since` come again
        // and the tally skips the ones already read. Only lines stamped up to a moment ago
        // (the horizon) are taken: the daemon stamps stdout and stderr lines on separate
        // goroutines before writing them, so a line stamped just before the newest one read
        // could still be on its way into the log and would be skipped by the next `--since`.
        // The horizon is applied here, over the whole output, not with `--until`: the daemon
        // stops reading at the first line stamped after `--until`, and a line stamped before
        // it but written just after it would be missed, then skipped for good.
        let since = cursor.since.to_rfc3339_opts(SecondsFormat::Nanos, true);
        let horizon = self
            .clock
            .now()
            .checked_sub_signed(LOG_SETTLE)
            .unwrap_or(cursor.since);
        let what = format!("docker logs {container}");
        let inv = self.docker_call(
            [
                "logs",
                "--timestamps",
                "--since",
                since.as_str(),
                "--",
                container,
            ],
            LOGS_TIMEOUT,
        );
        let mut tally = LogTally::new(cursor, horizon);
        let mut complaints = String::new();
        let ended = self.exec.stream(
            &inv,
            MAX_LOG_LINE,
            &mut |pipe, line| match split_stamp(line) {
                Some((at, text)) if tally.admit(at) => sink(text),
                Some(_) => {}
                // docker's own messages carry no timestamp.
                None if pipe == Pipe::Stderr && complaints.len() < 2048 => {
                    complaints.push_str(String::from_utf8_lossy(line).trim());
                    complaints.push(' ');
                }
                None => {}
            },
        )?;
        match ended {
            Ended::TimedOut => Err(ControlError::TimedOut {
                what,
                after: LOGS_TIMEOUT,
            }),
            Ended::Finished(status) if status.success() => Ok(tally.cursor()),
            Ended::Finished(_) if is_not_found(&complaints) => {
                Err(ControlError::ContainerNotFound(container.to_owned()))
            }
            Ended::Finished(status) => Err(ControlError::Failed {
                what,
                detail: format!("{status}: {}", complaints.trim()),
            }),
        }
    }
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
            since: self.last,
            seen_at_since: self.at_last,
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
