//! Signals: what one tick learns about the target, and how the window accumulates them.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::access_log::{AccessLogCounter, LogCounts, LogFormat};
use crate::config::scrub_userinfo;
use crate::traits::{ContainerControl, HttpProbe, LogCursor};

/// Why a health probe failed: the target's fault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ProbeFailure {
    /// It answered, with a status that is not 2xx.
    Status {
        /// The status.
        status: u16,
    },
    /// The connection was refused.
    Refused,
    /// The connection was reset or closed early.
    Reset,
    /// No whole answer within the time limit.
    TimedOut,
    /// Anything else that stopped a probe reaching the target (DNS, TLS, a malformed answer).
    Other {
        /// What happened.
        detail: String,
    },
}

impl fmt::Display for ProbeFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Status { status } => write!(f, "HTTP {status}"),
            Self::Refused => f.write_str("connection refused"),
            Self::Reset => f.write_str("connection reset"),
            Self::TimedOut => f.write_str("timed out"),
            Self::Other { detail } => f.write_str(detail),
        }
    }
}

/// One health probe's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthSample {
    /// `Ok(status)` for a 2xx answer, else why it failed.
    pub outcome: Result<u16, ProbeFailure>,
    /// How long the probe took.
    #[serde(with = "millis")]
    pub latency: Duration,
}

impl HealthSample {
    /// A passing probe.
    #[must_use]
    pub fn pass(status: u16, latency: Duration) -> Self {
        Self {
            outcome: Ok(status),
            latency,
        }
    }

    /// A failed probe.
    #[must_use]
    pub fn fail(failure: ProbeFailure, latency: Duration) -> Self {
        Self {
            outcome: Err(failure),
            latency,
        }
    }

    /// Whether the probe passed.
    #[must_use]
    pub fn passed(&self) -> bool {
        self.outcome.is_ok()
    }
}

impl fmt::Display for HealthSample {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.outcome {
            Ok(status) => write!(f, "{status} in {} ms", self.latency.as_millis()),
            Err(why) => write!(f, "failed ({why}) after {} ms", self.latency.as_millis()),
        }
    }
}

mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_millis(u64::deserialize(d)?))
    }
}

/// The health signal of one tick.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum HealthSignal {
    /// A probe was made.
    Sample {
        /// Its result.
        sample: HealthSample,
    },
    /// The monitor could not probe (its own fault): missing, never a failure.
    Missing {
        /// Why.
        why: String,
    },
}

/// A duration in milliseconds: a finite number, not negative. (So it can be compared for
/// equality: it never holds NaN.)
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize)]
#[serde(transparent)]
pub struct Millis(f64);

impl Eq for Millis {}

impl Millis {
    /// `ms` milliseconds; `None` for a negative or non-finite number.
    #[must_use]
    pub fn new(ms: f64) -> Option<Self> {
        (ms.is_finite() && ms >= 0.0).then_some(Self(ms))
    }

    /// `seconds` in milliseconds; `None` for a negative or non-finite number.
    #[must_use]
    pub fn from_seconds(seconds: f64) -> Option<Self> {
        Self::new(seconds * 1000.0)
    }

    /// The milliseconds.
    #[must_use]
    pub fn get(self) -> f64 {
        self.0
    }
}

impl<'de> Deserialize<'de> for Millis {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = f64::deserialize(d)?;
        Self::new(raw)
            .ok_or_else(|| serde::de::Error::custom(format!("{raw} ms is not a duration")))
    }
}

impl fmt::Display for Millis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.1} ms", self.0)
    }
}

/// Of one tick's access lines, those with a known duration and those slower than
/// `LATENCY_MS`: what the latency rule counts. Zero until the parser reads durations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LogTiming {
    /// Access lines with a known duration.
    pub timed: u64,
    /// Of those, slower than `LATENCY_MS`.
    pub slow: u64,
}

/// The latency quantile a Prometheus histogram gave for the window, or why it did not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum LatencyReading {
    /// The window's quantile.
    Quantile {
        /// The quantile, in milliseconds.
        ms: Millis,
    },
    /// The query failed (the monitor's own fault, or no requests yet): missing this tick.
    Missing {
        /// Why, naming Prometheus.
        why: String,
    },
}

/// A window's totals so far, as a Prometheus server counts them: they replace the window's
/// counts rather than add to them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowTotals {
    /// Requests in the window.
    pub requests: u64,
    /// Of those, 5xx answers.
    pub errors_5xx: u64,
    /// The latency quantile, when the latency rule asked for one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency: Option<LatencyReading>,
}

/// The access-log signal of one tick: where the window's request and 5xx counts come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum LogSignal {
    /// Lines logged since the previous read were counted.
    Counted {
        /// The counts for this tick.
        counts: LogCounts,
        /// Where the next read starts.
        cursor: LogCursor,
        /// The latency rule's counts for this tick.
        #[serde(default)]
        timing: LogTiming,
    },
    /// A Prometheus server gave the window's totals so far ([`crate::prometheus`]).
    Totals {
        /// The totals.
        totals: WindowTotals,
    },
    /// The window names no container: there is no ratio.
    NoContainer,
    /// The logs could not be read (the monitor's own fault): missing for this tick.
    Missing {
        /// Why.
        why: String,
    },
}

/// What one tick learned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signals {
    /// The health probe.
    pub health: HealthSignal,
    /// The access logs.
    pub logs: LogSignal,
}

/// Probes the target once: a health GET, then the container's access logs since `cursor`.
///
/// Faults of the monitor's own (no docker, no container, unreadable logs, a probe that could
/// not be made) leave that signal [`missing`](HealthSignal::Missing) rather than failed.
pub fn probe_signals(
    health_url: &str,
    timeout: Duration,
    container: Option<&str>,
    cursor: &LogCursor,
    http: &dyn HttpProbe,
    control: &dyn ContainerControl,
) -> Signals {
    // What the HTTP client says may quote the URL: its user info never goes further.
    let scrub = |text: &str| scrub_userinfo(text, health_url);
    let health = match http.get(health_url, timeout) {
        Ok(mut sample) => {
            if let Err(ProbeFailure::Other { detail }) = &mut sample.outcome {
                *detail = scrub(detail);
            }
            HealthSignal::Sample { sample }
        }
        Err(e) => HealthSignal::Missing {
            why: scrub(&format!("health probe not made (monitor fault: {e})")),
        },
    };
    let logs = match container {
        None => LogSignal::NoContainer,
        Some(name) => {
            let mut counter = AccessLogCounter::new(LogFormat::Auto);
            match control.read_logs(name, cursor, &mut |chunk| counter.feed(chunk)) {
                Ok(cursor) => LogSignal::Counted {
                    counts: counter.finish(),
                    cursor,
                    // Durations from log lines come with the parser's duration keys.
                    timing: LogTiming::default(),
                },
                Err(e) => LogSignal::Missing {
                    why: format!("access logs not read (monitor fault: {e})"),
                },
            }
        }
    };
    Signals { health, logs }
}

/// What the window has seen so far: the input of [`crate::classify()`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Observations {
    /// Failed health probes in a row, up to the latest probe made.
    pub consecutive_failures: u32,
    /// Passed health probes in a row, up to the latest probe made.
    pub consecutive_passes: u32,
    /// The latest tick's health probe was missing (a monitor fault): the failure rule cannot
    /// fire on it.
    pub health_missing: bool,
    /// Access lines counted in the window so far.
    pub requests: u64,
    /// Of those, 5xx answers.
    pub errors_5xx: u64,
    /// Access lines with a known duration in the window so far (the latency rule).
    #[serde(default)]
    pub timed: u64,
    /// Of those, slower than `LATENCY_MS`.
    #[serde(default)]
    pub slow: u64,
    /// The window's latency quantile from Prometheus, as last read; `None` when the window
    /// reads no histogram or none was read yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<Millis>,
}

impl Observations {
    /// The observations after one more tick's signals. A missing health probe neither
    /// extends nor breaks a run of failures; missing logs add nothing; Prometheus totals
    /// replace the counts (they are the window's so far), and a missing quantile keeps the
    /// last one read.
    #[must_use]
    pub fn observe(self, signals: &Signals) -> Self {
        let mut next = self.observe_health(&signals.health);
        match &signals.logs {
            LogSignal::Counted { counts, timing, .. } => {
                next.requests = self.requests.saturating_add(counts.total);
                next.errors_5xx = self.errors_5xx.saturating_add(counts.errors_5xx);
                next.timed = self.timed.saturating_add(timing.timed);
                next.slow = self.slow.saturating_add(timing.slow);
            }
            LogSignal::Totals { totals } => {
                next.requests = totals.requests;
                next.errors_5xx = totals.errors_5xx;
                if let Some(LatencyReading::Quantile { ms }) = &totals.latency {
                    next.latency_ms = Some(*ms);
                }
            }
            LogSignal::NoContainer | LogSignal::Missing { .. } => {}
        }
        next
    }

    /// These observations (kept since some point, e.g. a rollback) after one more tick: the
    /// health probe as [`observe`](Self::observe) takes it, and the counts the window gained
    /// on this tick, from the window's observations `before` and `after` it. The same for
    /// counts read as increments or as totals. A window quantile is not one since the point,
    /// so none is kept.
    #[must_use]
    pub fn observe_since(self, signals: &Signals, before: &Self, after: &Self) -> Self {
        let mut next = self.observe_health(&signals.health);
        let gained = |a: u64, b: u64| a.saturating_sub(b);
        next.requests = self
            .requests
            .saturating_add(gained(after.requests, before.requests));
        next.errors_5xx = self
            .errors_5xx
            .saturating_add(gained(after.errors_5xx, before.errors_5xx));
        next.timed = self.timed.saturating_add(gained(after.timed, before.timed));
        next.slow = self.slow.saturating_add(gained(after.slow, before.slow));
        next.latency_ms = None;
        next
    }

    fn observe_health(self, health: &HealthSignal) -> Self {
        let mut next = self;
        match health {
            HealthSignal::Sample { sample } if sample.passed() => {
                next.consecutive_failures = 0;
                next.consecutive_passes = self.consecutive_passes.saturating_add(1);
                next.health_missing = false;
            }
            HealthSignal::Sample { .. } => {
                next.consecutive_failures = self.consecutive_failures.saturating_add(1);
                next.consecutive_passes = 0;
                next.health_missing = false;
            }
            HealthSignal::Missing { .. } => next.health_missing = true,
        }
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::CommandLine;
    use crate::traits::{CommandOutcome, ContainerInfo, ControlError, ProbeError};

    const URL: &str = "http://user:s3cret@127.0.0.1:1/health";

    /// An HTTP client that quotes the URL it was given in its errors, as some do.
    struct Quoting {
        fault: bool,
    }

    impl HttpProbe for Quoting {
        fn get(&self, url: &str, _timeout: Duration) -> Result<HealthSample, ProbeError> {
            if self.fault {
                return Err(ProbeError(format!("bad uri: {url} (user:s3cret, s3cret)")));
            }
            Ok(HealthSample::fail(
                ProbeFailure::Other {
                    detail: format!("connect to {url} failed"),
                },
                Duration::from_millis(3),
            ))
        }
    }

    struct NoEngine;

    impl ContainerControl for NoEngine {
        fn inspect(&self, container: &str) -> Result<ContainerInfo, ControlError> {
            Err(ControlError::ContainerNotFound(container.to_owned()))
        }
        fn image_id(&self, _image: &str) -> Result<Option<String>, ControlError> {
            Ok(None)
        }
        fn read_logs(
            &self,
            container: &str,
            _cursor: &LogCursor,
            _sink: &mut dyn FnMut(&[u8]),
        ) -> Result<LogCursor, ControlError> {
            Err(ControlError::ContainerNotFound(container.to_owned()))
        }
        fn rollback(&self, container: &str, _previous_image: &str) -> Result<(), ControlError> {
            Err(ControlError::ContainerNotFound(container.to_owned()))
        }
        fn run_command(
            &self,
            _command: &CommandLine,
            _env: &[(String, String)],
            _timeout: Duration,
        ) -> Result<CommandOutcome, ControlError> {
            Ok(CommandOutcome::TimedOut)
        }
    }

    #[test]
    fn probe_errors_never_carry_the_urls_user_info() {
        let cursor = LogCursor::at(chrono::DateTime::UNIX_EPOCH);
        for fault in [true, false] {
            let signals = probe_signals(
                URL,
                Duration::from_secs(1),
                None,
                &cursor,
                &Quoting { fault },
                &NoEngine,
            );
            let text = match &signals.health {
                HealthSignal::Missing { why } => why.clone(),
                HealthSignal::Sample { sample } => sample.to_string(),
            };
            assert!(!text.contains("s3cret"), "{text}");
            assert!(
                text.contains("http://***@127.0.0.1:1/health"),
                "the URL is still named: {text}"
            );
        }
    }
}
