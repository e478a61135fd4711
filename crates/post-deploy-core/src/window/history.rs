//! The window's ticks for its picture and for `status`: one point per tick that probed,
//! coalesced two by two when there are more than [`MAX_POINTS`], so `window.json` stays
//! small whatever the window's length and interval.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::classify::{Classification, RuleName, Verdict};
use crate::signals::{HealthSignal, LogSignal, Observations, Signals};

/// At most this many points are kept; one more, and neighbours are merged pairwise.
pub const MAX_POINTS: usize = 240;

/// The health probes of one point's ticks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthCounts {
    /// Probes that passed.
    pub pass: u32,
    /// Probes that failed.
    pub fail: u32,
    /// Ticks whose probe was missing (a monitor fault).
    pub missing: u32,
}

impl HealthCounts {
    /// What one tick's health signal adds.
    #[must_use]
    pub fn of(signal: &HealthSignal) -> Self {
        match signal {
            HealthSignal::Sample { sample } if sample.outcome.is_ok() => Self {
                pass: 1,
                ..Self::default()
            },
            HealthSignal::Sample { .. } => Self {
                fail: 1,
                ..Self::default()
            },
            HealthSignal::Missing { .. } => Self {
                missing: 1,
                ..Self::default()
            },
        }
    }

    fn plus(self, other: Self) -> Self {
        Self {
            pass: self.pass.saturating_add(other.pass),
            fail: self.fail.saturating_add(other.fail),
            missing: self.missing.saturating_add(other.missing),
        }
    }

    /// The one word a point's health is shown as: a failure wins over a missing probe,
    /// which wins over a pass.
    #[must_use]
    pub fn worst(self) -> TickHealth {
        if self.fail > 0 {
            TickHealth::Fail
        } else if self.missing > 0 || self.pass == 0 {
            TickHealth::Missing
        } else {
            TickHealth::Pass
        }
    }
}

/// A point's health, as the picture and `status` show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TickHealth {
    /// Every probe passed.
    Pass,
    /// A probe failed.
    Fail,
    /// A probe was missing.
    Missing,
}

/// One tick that probed, or several coalesced ones (the latest's time and totals).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TickPoint {
    /// The (latest) tick's time.
    pub at: DateTime<Utc>,
    /// How many ticks it holds.
    pub ticks: u32,
    /// Their health probes.
    pub health: HealthCounts,
    /// Requests in the window so far, at `at`.
    pub window_requests: u64,
    /// Of those, 5xx answers.
    pub window_errors_5xx: u64,
    /// Requests with a known duration in the window so far (the latency rule).
    pub window_timed: u64,
    /// Of those, slower than `LATENCY_MS`.
    pub window_slow: u64,
    /// Requests in the recent span at `at`, when the window judges one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recent_requests: Option<u64>,
    /// Of those, 5xx answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recent_errors_5xx: Option<u64>,
    /// A tick's 5xx signal was missing although the window was armed to read one.
    #[serde(default)]
    pub ratio_missing: bool,
    /// A tick was DEGRADED.
    #[serde(default)]
    pub degraded: bool,
    /// The rule that fired at the first DEGRADED tick of the point.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<RuleName>,
}

impl TickPoint {
    /// The window's 5xx ratio at this point; `None` before any request.
    #[must_use]
    pub fn window_ratio(&self) -> Option<f64> {
        crate::access_log::ratio(self.window_errors_5xx, self.window_requests)
    }

    /// The recent span's 5xx ratio at this point; `None` without one, or before a request.
    #[must_use]
    pub fn recent_ratio(&self) -> Option<f64> {
        crate::access_log::ratio(self.recent_errors_5xx?, self.recent_requests?)
    }

    /// The window's share of slow requests at this point; `None` before a timed one.
    #[must_use]
    pub fn slow_share(&self) -> Option<f64> {
        crate::access_log::ratio(self.window_slow, self.window_timed)
    }

    /// `self` followed by `later`, as one point.
    fn merge(self, later: Self) -> Self {
        Self {
            ticks: self.ticks.saturating_add(later.ticks),
            health: self.health.plus(later.health),
            ratio_missing: self.ratio_missing || later.ratio_missing,
            degraded: self.degraded || later.degraded,
            rule: self.rule.or(later.rule),
            ..later
        }
    }
}

/// The point of one tick that probed.
#[must_use]
pub fn point(
    at: DateTime<Utc>,
    signals: &Signals,
    window: &Observations,
    classification: &Classification,
    reads_ratio: bool,
) -> TickPoint {
    let degraded = classification.verdict == Verdict::Degraded;
    TickPoint {
        at,
        ticks: 1,
        health: HealthCounts::of(&signals.health),
        window_requests: window.requests,
        window_errors_5xx: window.errors_5xx,
        window_timed: window.timed,
        window_slow: window.slow,
        recent_requests: window.recent.map(|r| r.requests),
        recent_errors_5xx: window.recent.map(|r| r.errors_5xx),
        ratio_missing: reads_ratio && matches!(signals.logs, LogSignal::Missing { .. }),
        degraded,
        rule: if degraded {
            classification.rule.name()
        } else {
            None
        },
    }
}

/// Adds `point` to `points`. Every point holds the same number of ticks (the first's), but
/// the last, which is filled up to it; past [`MAX_POINTS`] neighbours are merged pairwise,
/// so the picture keeps its whole span, evenly, at half the resolution.
pub fn push(points: &mut Vec<TickPoint>, point: TickPoint) {
    let bucket = points.first().map_or(1, |p| p.ticks.max(1));
    match points.last_mut() {
        Some(last) if last.ticks < bucket => *last = last.clone().merge(point),
        _ => points.push(point),
    }
    if points.len() <= MAX_POINTS {
        return;
    }
    let old = std::mem::take(points);
    let mut pending: Option<TickPoint> = None;
    for p in old {
        match pending.take() {
            None => pending = Some(p),
            Some(first) => points.push(first.merge(p)),
        }
    }
    points.extend(pending);
}

/// The latest `n` points at a glance, oldest first, one character each, as a terminal
/// shows them: `x` a failed health probe, `?` a missing one, `.` a tick whose 5xx signal was
/// missing; else a bar as high as the tick's 5xx ratio (the recent span's, else the
/// window's) against `threshold`: `▁` none, up to `█` at or above it. A DEGRADED tick whose
/// bar is not full is `!`.
#[must_use]
pub fn strip(points: &[TickPoint], threshold: f64, n: usize) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let from = points.len().saturating_sub(n);
    points
        .iter()
        .skip(from)
        .map(|p| match p.health.worst() {
            TickHealth::Fail => 'x',
            TickHealth::Missing if p.health.pass == 0 => '?',
            _ if p.ratio_missing => '.',
            _ => {
                let ratio = p.recent_ratio().or_else(|| p.window_ratio()).unwrap_or(0.0);
                let level = if threshold > 0.0 {
                    (ratio / threshold * 7.0).ceil().clamp(0.0, 7.0)
                } else if ratio > 0.0 {
                    7.0
                } else {
                    0.0
                };
                // A level is 0..=7, exactly representable.
                #[expect(
                    clippy::cast_possible_truncation,
                    clippy::cast_sign_loss,
                    reason = "a whole number in 0..=7"
                )]
                let bar = BARS.get(level as usize).copied().unwrap_or('█');
                if p.degraded && bar != '█' { '!' } else { bar }
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;

    fn at(s: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_700_000_000 + s, 0).single().unwrap()
    }

    fn p(s: i64, requests: u64, fail: bool) -> TickPoint {
        TickPoint {
            at: at(s),
            ticks: 1,
            health: if fail {
                HealthCounts {
                    fail: 1,
                    ..HealthCounts::default()
                }
            } else {
                HealthCounts {
                    pass: 1,
                    ..HealthCounts::default()
                }
            },
            window_requests: requests,
            window_errors_5xx: 0,
            window_timed: 0,
            window_slow: 0,
            recent_requests: None,
            recent_errors_5xx: None,
            ratio_missing: false,
            degraded: fail,
            rule: fail.then_some(RuleName::Health),
        }
    }

    #[test]
    fn coalescing_keeps_every_tick_the_span_and_the_failures() {
        let mut points = Vec::new();
        for i in 0..10_000_i64 {
            push(&mut points, p(i * 30, u64::try_from(i).unwrap(), i == 7777));
            assert!(points.len() <= MAX_POINTS);
        }
        let ticks: u32 = points.iter().map(|p| p.ticks).sum();
        assert_eq!(ticks, 10_000);
        assert_eq!(points.last().unwrap().at, at(9_999 * 30));
        assert_eq!(points.last().unwrap().window_requests, 9_999);
        let failed: Vec<_> = points.iter().filter(|p| p.health.fail > 0).collect();
        assert_eq!(failed.len(), 1);
        assert_eq!(failed[0].health.worst(), TickHealth::Fail);
        assert_eq!(failed[0].rule, Some(RuleName::Health));
        assert!(points.windows(2).all(|w| w[0].at < w[1].at));
        // Evenly: every point but the last holds as many ticks as the first.
        let bucket = points[0].ticks;
        assert!(points[..points.len() - 1].iter().all(|p| p.ticks == bucket));
        assert!(points.last().unwrap().ticks <= bucket);
    }

    #[test]
    fn the_strip_shows_the_latest_ticks_health_and_ratio() {
        let mut points: Vec<TickPoint> = (0..15).map(|i| p(i * 30, 100, false)).collect();
        // 0%, 1%, 3%, 5% (the threshold), 40% of 100 requests: bars in sevenths of the
        // threshold, rounded up (1% is 1.4 sevenths: the third bar); a failed probe; a
        // missing 5xx signal.
        for (i, errors) in [0, 1, 3, 5, 40].into_iter().enumerate() {
            points[9 + i].window_errors_5xx = errors;
        }
        points[7] = p(7 * 30, 100, true);
        points[8].ratio_missing = true;
        let s = strip(&points, 0.05, 8);
        assert_eq!(s.chars().count(), 8);
        assert_eq!(s, "x.▁▃▆██▁");
    }
}
