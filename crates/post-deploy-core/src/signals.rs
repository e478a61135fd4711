//! Signals: what one tick learns about the target, and how the window accumulates them.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::access_log::{AccessLogCounter, LogCounts, LogDurations, LogFormat, LogKeys};
use crate::config::WindowSettings;
use crate::text::quote;
use crate::traits::{ContainerControl, HttpProbe, LogCursor};
use crate::url::Secrets;

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
/// `LATENCY_MS`: what the latency rule counts (zero when `LATENCY_MS` is not set).
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
    /// The same over the recent span, when the recent rules are on and the span is shorter
    /// than the time since arm (else the window's totals are the span's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recent: Option<RecentTotals>,
}

/// A Prometheus server's counts over the recent span.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecentTotals {
    /// Requests in the span.
    pub requests: u64,
    /// Of those, 5xx answers.
    pub errors_5xx: u64,
    /// The latency quantile over the span, when the latency rule asked for one.
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
    /// Missing for this tick: the logs could not be read (the monitor's own fault), or the
    /// window's logs hold at least `MIN_REQUESTS` lines but not one access line (a format
    /// the parser does not understand, or keys it was not told).
    Missing {
        /// Why.
        why: String,
        /// The lines read, when the logs were read but held no access line.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        read: Option<LogRead>,
    },
}

/// Log lines that were read and counted, with where the next read starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogRead {
    /// The counts of the lines read.
    pub counts: LogCounts,
    /// Where the next read starts.
    pub cursor: LogCursor,
}

impl LogSignal {
    /// The counts of the lines read this tick, whether or not they made the signal.
    #[must_use]
    pub fn counts(&self) -> Option<&LogCounts> {
        match self {
            Self::Counted { counts, .. }
            | Self::Missing {
                read: Some(LogRead { counts, .. }),
                ..
            } => Some(counts),
            _ => None,
        }
    }

    /// Where the next read starts, when the logs were read.
    #[must_use]
    pub fn cursor(&self) -> Option<&LogCursor> {
        match self {
            Self::Counted { cursor, .. }
            | Self::Missing {
                read: Some(LogRead { cursor, .. }),
                ..
            } => Some(cursor),
            _ => None,
        }
    }
}

/// What one tick learned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signals {
    /// The health probe.
    pub health: HealthSignal,
    /// The access logs.
    pub logs: LogSignal,
}

/// Probes the target once: a health GET, then the container's access logs since `cursor`,
/// read by the window's `settings` (time limit, log keys); `window` is what the window saw
/// before this tick.
///
/// Faults of the monitor's own (no docker, no container, unreadable logs, a probe that could
/// not be made) leave that signal [`missing`](HealthSignal::Missing) rather than failed. So do
/// logs that hold, over the window so far, at least `MIN_REQUESTS` lines but not one access
/// line: the 5xx signal is then missing, not zero ([`LogSignal::Missing`] with what was read).
pub fn probe_signals(
    health_url: &str,
    settings: &WindowSettings,
    container: Option<&str>,
    cursor: &LogCursor,
    window: &Observations,
    http: &dyn HttpProbe,
    control: &dyn ContainerControl,
) -> Signals {
    let timeout = settings.health_timeout;
    // What the HTTP client or the server says may quote the URL or the credentials sent: its
    // user info never goes further, in any form, and the text is quoted, never whole.
    let secrets = Secrets::of(health_url);
    let health = match http.get(health_url, timeout) {
        Ok(mut sample) => {
            if let Err(ProbeFailure::Other { detail }) = &mut sample.outcome {
                *detail = secrets.quote(detail);
            }
            HealthSignal::Sample { sample }
        }
        Err(e) => HealthSignal::Missing {
            why: format!(
                "health probe not made (monitor fault: {})",
                secrets.quote(&e.to_string())
            ),
        },
    };
    let logs = match container {
        None => LogSignal::NoContainer,
        Some(name) => {
            let mut counter =
                AccessLogCounter::with_keys(LogFormat::Auto, settings.log_keys.clone());
            if let Some(threshold_ms) = settings.latency_ms {
                // The durations are read in the same pass as the statuses.
                counter = counter.with_latency(threshold_ms);
            }
            match control.read_logs(name, cursor, &mut |chunk| counter.feed(chunk)) {
                Ok(cursor) => {
                    let (counts, durations) = counter.finish_timed();
                    log_signal(counts, &durations, cursor, window, settings)
                }
                Err(e) => LogSignal::Missing {
                    why: format!(
                        "access logs not read (monitor fault: {})",
                        quote(&e.to_string())
                    ),
                    read: None,
                },
            }
        }
    };
    Signals { health, logs }
}

/// The 5xx signal of one tick's log lines, counted into `counts` and `durations`, given what
/// the window saw before them: counted, or missing when the window's logs hold at least
/// `MIN_REQUESTS` lines but not one access line. The one place this is decided, for a live
/// tick ([`probe_signals`]) and a replayed one ([`crate::replay`]).
#[must_use]
pub fn log_signal(
    counts: LogCounts,
    durations: &LogDurations,
    cursor: LogCursor,
    window: &Observations,
    settings: &WindowSettings,
) -> LogSignal {
    let lines = window.unparsed.saturating_add(counts.unparsed);
    if counts.total == 0 && window.requests == 0 && lines >= settings.min_requests.max(1) {
        LogSignal::Missing {
            why: no_access_line(lines, &settings.log_keys),
            read: Some(LogRead { counts, cursor }),
        }
    } else {
        LogSignal::Counted {
            counts,
            cursor,
            timing: LogTiming {
                timed: durations.timed,
                slow: durations.slow,
            },
        }
    }
}

/// The reason of a 5xx signal missing because no line of the window is an access line.
fn no_access_line(lines: u64, keys: &LogKeys) -> String {
    format!(
        "5xx signal missing: {lines} log lines read in the window, not one an access line \
         (looked for CLF/Combined, uvicorn, JSON and logfmt lines; status keys {})",
        keys.status_list().replace(',', ", ")
    )
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
    /// Lines of the window's logs that were not access lines.
    #[serde(default)]
    pub unparsed: u64,
    /// The counts of the recent span at the latest tick; `None` when the recent rules are
    /// off (or the span is the whole window).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recent: Option<SpanCounts>,
}

/// The counts of the recent span: the ticks later than the latest tick's time minus
/// `RECENT_S`, or a Prometheus server's counts over that span.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SpanCounts {
    /// The span, whole seconds.
    pub seconds: u64,
    /// Access lines (requests) in the span.
    pub requests: u64,
    /// Of those, 5xx answers.
    pub errors_5xx: u64,
    /// Requests with a known duration in the span.
    #[serde(default)]
    pub timed: u64,
    /// Of those, slower than `LATENCY_MS`.
    #[serde(default)]
    pub slow: u64,
    /// The span's latency quantile from Prometheus, as last read.
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
                next.unparsed = self.unparsed.saturating_add(counts.unparsed);
                next.timed = self.timed.saturating_add(timing.timed);
                next.slow = self.slow.saturating_add(timing.slow);
            }
            // Read, but not one access line: the lines still count toward "not understood".
            LogSignal::Missing {
                read: Some(read), ..
            } => {
                next.unparsed = self.unparsed.saturating_add(read.counts.unparsed);
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
        // Recovery is judged on what came after the rollback as a whole.
        next.recent = None;
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

    /// What the health signal says after one probe of `URL` through `http` (default
    /// settings, no container, no engine): the reason it is missing, or the sample.
    fn health_text(http: &dyn HttpProbe) -> String {
        let signals = probe_signals(
            URL,
            &WindowSettings::default(),
            None,
            &LogCursor::at(chrono::DateTime::UNIX_EPOCH),
            &Observations::default(),
            http,
            &NoEngine,
        );
        match &signals.health {
            HealthSignal::Missing { why } => why.clone(),
            HealthSignal::Sample { sample } => sample.to_string(),
        }
    }

    #[test]
    fn probe_errors_never_carry_the_urls_user_info() {
        for fault in [true, false] {
            let text = health_text(&Quoting { fault });
            assert!(!text.contains("s3cret"), "{text}");
            assert!(
                text.contains("http://***@127.0.0.1:1/health"),
                "the URL is still named: {text}"
            );
        }
    }

    /// An HTTP client whose errors carry a megabyte and the `Authorization` header it sent.
    struct Echoing {
        fault: bool,
    }

    impl HttpProbe for Echoing {
        fn get(&self, _url: &str, _timeout: Duration) -> Result<HealthSample, ProbeError> {
            let text = format!(
                "proxy said: Authorization: Basic dXNlcjpzM2NyZXQ= {}",
                "x".repeat(1 << 20)
            );
            if self.fault {
                return Err(ProbeError(text));
            }
            Ok(HealthSample::fail(
                ProbeFailure::Other { detail: text },
                Duration::from_millis(3),
            ))
        }
    }

    #[test]
    fn what_a_probe_says_is_scrubbed_then_quoted() {
        for fault in [true, false] {
            let text = health_text(&Echoing { fault });
            assert!(text.chars().count() < 400, "{} characters", text.len());
            assert!(text.contains("Authorization: Basic ***"), "{text}");
            assert!(!text.contains("dXNlcjpzM2NyZXQ"), "{text}");
        }
    }

    /// An engine whose container logs `lines`, whatever the cursor.
    struct Logging {
        lines: &'static str,
    }

    impl ContainerControl for Logging {
        fn inspect(&self, c: &str) -> Result<ContainerInfo, ControlError> {
            NoEngine.inspect(c)
        }
        fn image_id(&self, image: &str) -> Result<Option<String>, ControlError> {
            NoEngine.image_id(image)
        }
        fn read_logs(
            &self,
            _container: &str,
            cursor: &LogCursor,
            sink: &mut dyn FnMut(&[u8]),
        ) -> Result<LogCursor, ControlError> {
            sink(self.lines.as_bytes());
            Ok(cursor.clone())
        }
        fn rollback(&self, c: &str, image: &str) -> Result<(), ControlError> {
            NoEngine.rollback(c, image)
        }
        fn run_command(
            &self,
            command: &CommandLine,
            env: &[(String, String)],
            timeout: Duration,
        ) -> Result<CommandOutcome, ControlError> {
            NoEngine.run_command(command, env, timeout)
        }
    }

    /// Ticks `times` times over a container that logs `lines` each tick; the last signal and
    /// the window's observations.
    fn ticks(
        lines: &'static str,
        settings: &WindowSettings,
        times: usize,
    ) -> (LogSignal, Observations) {
        let cursor = LogCursor::at(chrono::DateTime::UNIX_EPOCH);
        let mut window = Observations::default();
        let mut last = LogSignal::NoContainer;
        for _ in 0..times {
            let signals = probe_signals(
                "http://127.0.0.1:1/",
                settings,
                Some("app"),
                &cursor,
                &window,
                &Quoting { fault: false },
                &Logging { lines },
            );
            window = window.observe(&signals);
            last = signals.logs;
        }
        (last, window)
    }

    const NOT_ACCESS: &str = "starting\nlevel=info msg=ready\n{\"code\":503}\n\n\nready\n";

    #[test]
    fn logs_without_one_access_line_leave_the_5xx_signal_missing() {
        let settings = WindowSettings {
            min_requests: 8,
            ..WindowSettings::default()
        };
        // 4 lines a tick, blank ones not counted: 4 lines are fewer than 8, still counted as 0.
        let (first, window) = ticks(NOT_ACCESS, &settings, 1);
        assert!(matches!(first, LogSignal::Counted { .. }), "{first:?}");
        assert_eq!(window.unparsed, 4);
        // 8 lines over the window, not one an access line: missing, and the cursor moves on.
        let (second, window) = ticks(NOT_ACCESS, &settings, 2);
        let LogSignal::Missing {
            why,
            read: Some(read),
        } = &second
        else {
            panic!("{second:?}");
        };
        assert_eq!(read.counts.unparsed, 4);
        assert_eq!(second.cursor(), Some(&read.cursor));
        assert_eq!(window.unparsed, 8);
        assert_eq!(window.requests, 0);
        assert_eq!(
            why,
            "5xx signal missing: 8 log lines read in the window, not one an access line \
             (looked for CLF/Combined, uvicorn, JSON and logfmt lines; status keys status, \
             status_code)"
        );
        // The keys the window reads by are named.
        let keyed = WindowSettings {
            min_requests: 1,
            log_keys: crate::access_log::LogKeys::parse(Some("DownstreamStatus"), None).unwrap(),
            ..WindowSettings::default()
        };
        let (signal, _) = ticks(NOT_ACCESS, &keyed, 1);
        let LogSignal::Missing { why, .. } = &signal else {
            panic!("{signal:?}");
        };
        assert!(why.contains("status keys DownstreamStatus)"), "{why}");
    }

    #[test]
    fn one_access_line_in_the_window_keeps_the_signal() {
        let settings = WindowSettings {
            min_requests: 2,
            ..WindowSettings::default()
        };
        let (signal, window) = ticks("status=503 path=/\nhello\nworld\n", &settings, 3);
        assert!(matches!(signal, LogSignal::Counted { .. }), "{signal:?}");
        assert_eq!(
            (window.requests, window.errors_5xx, window.unparsed),
            (3, 3, 6)
        );
        // Nothing logged at all is not missing: there is nothing to misread.
        let (signal, _) = ticks(
            "",
            &WindowSettings {
                min_requests: 0,
                ..settings
            },
            2,
        );
        assert!(matches!(signal, LogSignal::Counted { .. }), "{signal:?}");
    }

    #[test]
    fn observations_of_old_state_files_have_no_unparsed_lines() {
        let old = r#"{"consecutive_failures":0,"consecutive_passes":2,"health_missing":false,"requests":5,"errors_5xx":1}"#;
        let obs: Observations = serde_json::from_str(old).unwrap();
        assert_eq!(obs.unparsed, 0);
        let old_missing = r#"{"kind":"missing","why":"x"}"#;
        let signal: LogSignal = serde_json::from_str(old_missing).unwrap();
        assert_eq!(signal.cursor(), None);
        assert_eq!(signal.counts(), None);
    }
}
