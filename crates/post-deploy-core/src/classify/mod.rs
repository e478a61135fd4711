//! Classification: the deterministic rules that turn a window's observations into a verdict.
//!
//! DEGRADED iff one rule fires, checked in this order, the first that fires named:
//! `health` (consecutive failed probes), `5xx` (the window's 5xx ratio), `5xx_recent` (the
//! recent span's), `latency` (the window's share of slow requests, or its quantile from a
//! Prometheus histogram), `latency_recent` (the same over the recent span). A ratio rule
//! judges `k` of `n` against a threshold `t` when `n >= MIN_REQUESTS`: with `CONFIDENCE` 0
//! it fires when `k / n > t` exactly; with `CONFIDENCE` c, when also
//! `P[Binomial(n, t) >= k] < 1 - c` ([`crate::binomial`]). A histogram's quantile is no
//! count of requests: the confidence does not apply to it.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::binomial::tail_at_least;
use crate::config::{Confidence, Ratio, WindowSettings};
use crate::signals::{Millis, Observations, SpanCounts};
pub use crate::vocabulary::Verdict;

/// The name of the rule that fired, as `rule` in a tick's JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[non_exhaustive]
pub enum RuleName {
    /// Consecutive failed health probes.
    #[serde(rename = "health")]
    Health,
    /// The window's 5xx ratio.
    #[serde(rename = "5xx")]
    ErrorRatio,
    /// The recent span's 5xx ratio.
    #[serde(rename = "5xx_recent")]
    RecentErrorRatio,
    /// The window's latency.
    #[serde(rename = "latency")]
    Latency,
    /// The recent span's latency.
    #[serde(rename = "latency_recent")]
    RecentLatency,
}

impl RuleName {
    /// The name as the JSON writes it.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Health => "health",
            Self::ErrorRatio => "5xx",
            Self::RecentErrorRatio => "5xx_recent",
            Self::Latency => "latency",
            Self::RecentLatency => "latency_recent",
        }
    }
}

impl fmt::Display for RuleName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a ratio or latency rule counted over: the window so far, or its recent span.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "over", rename_all = "snake_case")]
pub enum Span {
    /// The window so far.
    #[default]
    Window,
    /// The ticks of the last `seconds`.
    Recent {
        /// The span, whole seconds.
        seconds: u64,
    },
}

impl Span {
    /// `window` or `recent`, as the reason's first word for the ratio.
    fn word(self) -> &'static str {
        match self {
            Self::Window => "window",
            Self::Recent { .. } => "recent",
        }
    }

    /// `recent ` before a rule's name when it is not judged; nothing for the window.
    fn prefix(self) -> &'static str {
        match self {
            Self::Window => "",
            Self::Recent { .. } => "recent ",
        }
    }

    /// ` in the last N s` after a count of the recent span; nothing for the window.
    fn during(self) -> String {
        match self {
            Self::Window => String::new(),
            Self::Recent { seconds } => format!(" in the last {seconds} s"),
        }
    }
}

/// The binomial test of a ratio rule under `CONFIDENCE`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Tail {
    /// `P[Binomial(n, t) >= k]`: how often the count would be this high if the true ratio
    /// were the threshold.
    pub p: f64,
    /// `CONFIDENCE`: the rule needs `p < 1 - confidence`.
    pub confidence: Confidence,
}

impl Tail {
    /// Whether the count is above the threshold with the confidence asked.
    #[must_use]
    pub fn confident(self) -> bool {
        self.p < 1.0 - self.confidence.get()
    }
}

/// A probability for people: four decimals, or two significant digits below 0.001.
fn probability(p: f64) -> String {
    if p == 0.0 || p >= 0.001 {
        format!("{p:.4}")
    } else {
        format!("{p:.1e}")
    }
}

/// One ratio as a rule judges it: `part` of `whole` against `threshold`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RatioCheck {
    /// The count judged (5xx answers, or slow requests).
    pub part: u64,
    /// Over this many (requests, or timed requests).
    pub whole: u64,
    /// `MIN_REQUESTS`.
    pub min_requests: u64,
    /// The ratio above which the rule fires (`5XX_THRESHOLD`, or 1 - `LATENCY_QUANTILE`).
    pub threshold: Ratio,
    /// Window or recent span.
    pub span: Span,
    /// The binomial test, with `CONFIDENCE` on and the ratio judged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tail: Option<Tail>,
    /// For the latency rule, `LATENCY_QUANTILE` (`threshold` is 1 - it): the share is then
    /// compared as `(whole - part) / whole < quantile`, both sides correctly rounded, so a
    /// share exactly at 1 - quantile (5 slow of 100 at 0.95) is not above it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantile: Option<Ratio>,
}

impl RatioCheck {
    fn new(part: u64, whole: u64, threshold: Ratio, span: Span, s: &WindowSettings) -> Self {
        let mut check = Self {
            part,
            whole,
            min_requests: s.min_requests,
            threshold,
            span,
            tail: None,
            quantile: None,
        };
        if s.confidence.is_on() && check.judged() {
            check.tail = Some(Tail {
                p: tail_at_least(whole, part, threshold.get()),
                confidence: s.confidence,
            });
        }
        check
    }

    /// Enough requests to judge (`above` refuses zero whatever `MIN_REQUESTS` says).
    fn judged(&self) -> bool {
        self.whole >= self.min_requests && self.whole > 0
    }

    /// The measured ratio is above the threshold, exactly.
    fn raw(&self) -> bool {
        self.judged()
            && match self.quantile {
                Some(q) => ratio(self.whole.saturating_sub(self.part), self.whole) < q.get(),
                None => above(self.part, self.whole, self.threshold),
            }
    }

    /// The rule fires: above, and with the confidence asked.
    #[must_use]
    pub fn fires(&self) -> bool {
        self.raw() && self.tail.is_none_or(Tail::confident)
    }

    /// ` with confidence c (p=...)` when the test was made.
    fn confidence_text(&self) -> String {
        match self.tail {
            Some(t) => format!(" with confidence {} (p={})", t.confidence, probability(t.p)),
            None => String::new(),
        }
    }

    /// `above T ...` or `within T ...`: how the ratio stands against its threshold.
    fn standing(&self) -> String {
        let t = self.threshold;
        match self.tail {
            _ if !self.raw() => format!("within {t}"),
            Some(tail) if !tail.confident() => format!(
                "above {t}, but not with confidence {} (p={}, not below {})",
                tail.confidence,
                probability(tail.p),
                probability(1.0 - tail.confidence.get())
            ),
            _ => format!("above {t}{}", self.confidence_text()),
        }
    }
}

/// The rule behind a verdict, with its numbers.
#[expect(
    clippy::large_enum_variant,
    reason = "one is made per tick and copied a few times: a few hundred bytes cost nothing"
)]
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Rule {
    /// Consecutive failed health probes reached the threshold.
    FailedProbes {
        /// Failed probes in a row.
        failures: u32,
        /// `FAIL_THRESHOLD`.
        threshold: u32,
    },
    /// The 5xx ratio of the window (or its recent span) is above the threshold, over enough
    /// requests: `part` 5xx answers of `whole` requests.
    ErrorRatio(RatioCheck),
    /// The latency quantile of the window (or its recent span) is above `LATENCY_MS`, from
    /// its access lines: `part` of its `whole` timed requests were slower than `LATENCY_MS`,
    /// more than 1 - `LATENCY_QUANTILE` allows.
    Latency {
        /// The share of slow requests against 1 - `LATENCY_QUANTILE`.
        check: RatioCheck,
        /// `LATENCY_QUANTILE`.
        quantile: Ratio,
        /// `LATENCY_MS`.
        threshold_ms: f64,
    },
    /// The latency quantile of the window (or its recent span) from a Prometheus histogram
    /// is above `LATENCY_MS`.
    LatencyQuantile {
        /// The quantile, in milliseconds.
        quantile_ms: f64,
        /// Requests it is over.
        requests: u64,
        /// `LATENCY_QUANTILE`.
        quantile: Ratio,
        /// `LATENCY_MS`.
        threshold_ms: f64,
        /// Window or recent span.
        span: Span,
    },
    /// No rule fired.
    WithinLimits {
        /// Failed probes in a row.
        failures: u32,
        /// `FAIL_THRESHOLD`.
        fail_threshold: u32,
        /// The latest health probe was missing.
        health_missing: bool,
        /// The window's 5xx ratio.
        ratio: RatioCheck,
        /// The recent span's, when the recent rules are on.
        recent: Option<RatioCheck>,
        /// Where the latency rule stands.
        latency: LatencyCheck,
        /// Where the recent latency rule stands, when the recent rules are on.
        recent_latency: Option<LatencyCheck>,
    },
}

impl Rule {
    /// The rule's name as `rule` writes it; `None` when no rule fired.
    #[must_use]
    pub fn name(&self) -> Option<RuleName> {
        let recent = |span: Span| matches!(span, Span::Recent { .. });
        match self {
            Self::FailedProbes { .. } => Some(RuleName::Health),
            Self::ErrorRatio(check) if recent(check.span) => Some(RuleName::RecentErrorRatio),
            Self::ErrorRatio(_) => Some(RuleName::ErrorRatio),
            Self::Latency { check, .. } if recent(check.span) => Some(RuleName::RecentLatency),
            Self::LatencyQuantile { span, .. } if recent(*span) => Some(RuleName::RecentLatency),
            Self::Latency { .. } | Self::LatencyQuantile { .. } => Some(RuleName::Latency),
            Self::WithinLimits { .. } => None,
        }
    }
}

/// Where a latency rule stands when it did not fire.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(tag = "latency", rename_all = "snake_case")]
#[non_exhaustive]
pub enum LatencyCheck {
    /// `LATENCY_MS` is not set.
    #[default]
    Off,
    /// From access lines: slow among timed requests.
    Timed {
        /// The share of slow requests against 1 - `LATENCY_QUANTILE`.
        check: RatioCheck,
        /// `LATENCY_QUANTILE`.
        quantile: Ratio,
        /// `LATENCY_MS`.
        threshold_ms: f64,
    },
    /// From a Prometheus histogram: the quantile.
    Quantile {
        /// The quantile, in milliseconds; `None` when none was read.
        quantile_ms: Option<f64>,
        /// Requests in the window (or span).
        requests: u64,
        /// `MIN_REQUESTS`.
        min_requests: u64,
        /// `LATENCY_QUANTILE`.
        quantile: Ratio,
        /// `LATENCY_MS`.
        threshold_ms: f64,
        /// Window or recent span.
        span: Span,
    },
}

impl LatencyCheck {
    /// The rule, when it fires.
    fn fired(self) -> Option<Rule> {
        match self {
            Self::Timed {
                check,
                quantile,
                threshold_ms,
            } => check.fires().then_some(Rule::Latency {
                check,
                quantile,
                threshold_ms,
            }),
            Self::Quantile {
                quantile_ms: Some(quantile_ms),
                requests,
                min_requests,
                quantile,
                threshold_ms,
                span,
            } => (requests >= min_requests && requests > 0 && quantile_ms > threshold_ms)
                .then_some(Rule::LatencyQuantile {
                    quantile_ms,
                    requests,
                    quantile,
                    threshold_ms,
                    span,
                }),
            Self::Quantile { .. } | Self::Off => None,
        }
    }
}

impl fmt::Display for LatencyCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Off => Ok(()),
            Self::Timed {
                check,
                quantile,
                threshold_ms,
            } => {
                let RatioCheck {
                    part: slow,
                    whole: timed,
                    min_requests,
                    span,
                    ..
                } = check;
                let (word, during) = (span.word(), span.during());
                if !check.judged() {
                    return write!(
                        f,
                        "; {}latency not judged: {timed} timed requests{during}, fewer than {}",
                        span.prefix(),
                        min_requests.max(1)
                    );
                }
                let is = if check.fires() { "above" } else { "within" };
                write!(
                    f,
                    "; {word} latency: {slow}/{timed} timed requests{during} slower than \
                     {threshold_ms} ms ({:.1}%): the {quantile} quantile is {is} \
                     {threshold_ms} ms",
                    percent(slow, timed)
                )?;
                if check.raw() && !check.fires() {
                    write!(f, " ({})", check.standing())?;
                }
                Ok(())
            }
            Self::Quantile {
                requests,
                min_requests,
                span,
                ..
            } if requests < min_requests => write!(
                f,
                "; {}latency not judged: {requests} requests{}, fewer than {min_requests}",
                span.prefix(),
                span.during()
            ),
            Self::Quantile {
                quantile_ms: None,
                span,
                ..
            } => write!(f, "; {} latency: no quantile read yet", span.word()),
            Self::Quantile {
                quantile_ms: Some(quantile_ms),
                requests,
                quantile,
                threshold_ms,
                span,
                ..
            } => write!(
                f,
                "; {} latency: the {quantile} quantile from Prometheus is {quantile_ms:.1} \
                 ms ({requests} requests{}), within {threshold_ms} ms",
                span.word(),
                span.during()
            ),
        }
    }
}

fn percent(part: u64, whole: u64) -> f64 {
    100.0 * ratio(part, whole)
}

/// A verdict, the rule that gave it, and when.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Classification {
    /// HEALTHY or DEGRADED.
    pub verdict: Verdict,
    /// Why.
    pub rule: Rule,
    /// When it was classified.
    pub at: DateTime<Utc>,
}

fn ratio(errors: u64, requests: u64) -> f64 {
    crate::access_log::ratio(errors, requests).unwrap_or(0.0)
}

/// `errors / requests > threshold`. The quotient is correctly rounded, as is the threshold
/// parsed from its decimal text, so a ratio exactly at the threshold (29/100 against 0.29)
/// compares equal and is not above it; a product `threshold * requests` would not be exact.
fn above(errors: u64, requests: u64, threshold: Ratio) -> bool {
    requests > 0 && ratio(errors, requests) > threshold.get()
}

/// The 5xx ratio's words: `window 5xx ratio 0.0250 (1/40 requests) is within 0.05`.
fn ratio_text(check: &RatioCheck) -> String {
    let RatioCheck {
        part, whole, span, ..
    } = *check;
    if !check.judged() {
        return format!(
            "{}5xx ratio not judged: {whole} requests{}, fewer than {}",
            span.prefix(),
            span.during(),
            check.min_requests
        );
    }
    format!(
        "{} 5xx ratio {:.4} ({part}/{whole} requests{}) is {}",
        span.word(),
        ratio(part, whole),
        span.during(),
        check.standing()
    )
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(name) = self.name() {
            write!(f, "{name}: ")?;
        }
        match *self {
            Self::FailedProbes {
                failures,
                threshold,
            } => write!(
                f,
                "{failures} consecutive failed health probes (threshold {threshold})"
            ),
            Self::ErrorRatio(check) => f.write_str(&ratio_text(&check)),
            Self::Latency {
                check,
                quantile,
                threshold_ms,
            } => write!(
                f,
                "{} latency: {}/{} timed requests{} slower than {threshold_ms} ms ({:.1}%): \
                 the {quantile} quantile is above {threshold_ms} ms{}",
                check.span.word(),
                check.part,
                check.whole,
                check.span.during(),
                percent(check.part, check.whole),
                check.confidence_text()
            ),
            Self::LatencyQuantile {
                quantile_ms,
                requests,
                quantile,
                threshold_ms,
                span,
            } => write!(
                f,
                "{} latency: the {quantile} quantile from Prometheus is {quantile_ms:.1} ms \
                 ({requests} requests{}), above {threshold_ms} ms",
                span.word(),
                span.during()
            ),
            Self::WithinLimits {
                failures,
                fail_threshold,
                health_missing,
                ratio,
                recent,
                latency,
                recent_latency,
            } => {
                if health_missing {
                    write!(f, "health probe missing this tick (not a failure)")?;
                } else {
                    write!(
                        f,
                        "{failures} consecutive failed health probes (threshold {fail_threshold})"
                    )?;
                }
                write!(f, "; {}", ratio_text(&ratio))?;
                if let Some(recent) = recent {
                    write!(f, "; {}", ratio_text(&recent))?;
                }
                write!(f, "{latency}")?;
                if let Some(recent_latency) = recent_latency {
                    write!(f, "{recent_latency}")?;
                }
                Ok(())
            }
        }
    }
}

/// Where a latency rule stands for these counts: off, from access lines, or from
/// Prometheus.
fn latency_check(
    s: &WindowSettings,
    span: Span,
    (requests, timed, slow): (u64, u64, u64),
    quantile_ms: Option<Millis>,
    from_histogram: bool,
) -> LatencyCheck {
    let Some(threshold_ms) = s.latency_ms else {
        return LatencyCheck::Off;
    };
    let quantile = s.latency_quantile;
    if from_histogram {
        return LatencyCheck::Quantile {
            quantile_ms: quantile_ms.map(Millis::get),
            requests,
            min_requests: s.min_requests,
            quantile,
            threshold_ms,
            span,
        };
    }
    // slow / timed > 1 - quantile, compared through the quantile (see `RatioCheck::quantile`);
    // the binomial test takes 1 - quantile as the threshold.
    let share = Ratio::new(1.0 - quantile.get()).unwrap_or(quantile);
    let mut check = RatioCheck::new(slow, timed, share, span, s);
    check.quantile = Some(quantile);
    LatencyCheck::Timed {
        check,
        quantile,
        threshold_ms,
    }
}

/// Classifies a window's observations by the rules in the module's docs; HEALTHY when none
/// fires, and missing data is HEALTHY.
///
/// Pure: the same inputs give the same classification; `now` only stamps it.
#[must_use]
pub fn classify(
    obs: &Observations,
    settings: &WindowSettings,
    now: DateTime<Utc>,
) -> Classification {
    let s = settings;
    let ratio = RatioCheck::new(
        obs.errors_5xx,
        obs.requests,
        s.ratio_threshold,
        Span::Window,
        s,
    );
    let recent_span = |r: &SpanCounts| Span::Recent { seconds: r.seconds };
    let recent = obs.recent.map(|r| {
        RatioCheck::new(
            r.errors_5xx,
            r.requests,
            s.ratio_threshold,
            recent_span(&r),
            s,
        )
    });
    // A histogram's quantile stands in for timed requests once one was read.
    let from_histogram = obs.latency_ms.is_some();
    let latency = latency_check(
        s,
        Span::Window,
        (obs.requests, obs.timed, obs.slow),
        obs.latency_ms,
        from_histogram,
    );
    let recent_latency = obs.recent.map(|r| {
        latency_check(
            s,
            recent_span(&r),
            (r.requests, r.timed, r.slow),
            r.latency_ms,
            from_histogram,
        )
    });
    let failed_probes = !obs.health_missing && obs.consecutive_failures >= s.fail_threshold;
    let rule = if failed_probes {
        Rule::FailedProbes {
            failures: obs.consecutive_failures,
            threshold: s.fail_threshold,
        }
    } else if let Some(check) = [Some(ratio), recent]
        .into_iter()
        .flatten()
        .find(RatioCheck::fires)
    {
        Rule::ErrorRatio(check)
    } else if let Some(rule) = [Some(latency), recent_latency]
        .into_iter()
        .flatten()
        .find_map(LatencyCheck::fired)
    {
        rule
    } else {
        Rule::WithinLimits {
            failures: obs.consecutive_failures,
            fail_threshold: s.fail_threshold,
            health_missing: obs.health_missing,
            ratio,
            recent,
            latency,
            recent_latency,
        }
    };
    let verdict = match rule {
        Rule::WithinLimits { .. } => Verdict::Healthy,
        Rule::FailedProbes { .. }
        | Rule::ErrorRatio(_)
        | Rule::Latency { .. }
        | Rule::LatencyQuantile { .. } => Verdict::Degraded,
    };
    Classification {
        verdict,
        rule,
        at: now,
    }
}

#[cfg(test)]
mod tests;
