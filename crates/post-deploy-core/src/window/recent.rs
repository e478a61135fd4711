//! The recent span: the counts of each tick that read signals, with its time, in a bounded
//! ring inside `window.json`, and their sum over the last `RECENT_S` seconds.
//!
//! A tick counts in the span when its time is later than this tick's time minus `RECENT_S`
//! (this one included): a tick exactly `RECENT_S` old is out. Ticks that fell out of the span
//! are dropped, so the ring holds one span's ticks. It keeps each tick apart while the span
//! holds at most [`MAX_ENTRIES`] of them (a 120 s span at intervals of 1 s and more, a day
//! at 90 s); beyond that, the two neighbouring entries that lie closest together are merged
//! into one that counts while its newest tick does. At most one entry straddles the span's
//! edge, so the sum may include ticks up to one entry's width older than the edge, and an
//! entry is at most `2 x span / MAX_ENTRIES` wide (a 30-day span: about 1 hour 25 minutes).
//! The state stays bounded for any window, interval and span: [`MAX_ENTRIES`] entries of a
//! few dozen bytes each.
//!
//! A tick stamped later than now (the wall clock stepped back) is taken as at now: the ticks
//! it holds were read before this one, so they stay in the span, and age from now on.

use std::collections::VecDeque;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::config::WindowSettings;
use crate::signals::{LatencyReading, LogSignal, Observations, Signals, SpanCounts};

/// The most entries the ring keeps.
pub const MAX_ENTRIES: usize = 1024;

/// The counts of one tick (or of neighbouring ticks merged), with their times.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TickCounts {
    /// The (newest) tick's time: the entry counts while it is in the span.
    pub at: DateTime<Utc>,
    /// The oldest tick's time, when ticks were merged into this entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<DateTime<Utc>>,
    /// Requests.
    #[serde(rename = "n")]
    pub requests: u64,
    /// 5xx answers.
    #[serde(rename = "e")]
    pub errors_5xx: u64,
    /// Requests with a known duration.
    #[serde(default, rename = "t", skip_serializing_if = "is_zero")]
    pub timed: u64,
    /// Of those, slower than `LATENCY_MS`.
    #[serde(default, rename = "s", skip_serializing_if = "is_zero")]
    pub slow: u64,
}

#[expect(
    clippy::trivially_copy_pass_by_ref,
    reason = "serde's skip_serializing_if passes a reference"
)]
fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl TickCounts {
    /// One tick's counts at `at`.
    #[must_use]
    pub fn new(at: DateTime<Utc>, requests: u64, errors_5xx: u64, timed: u64, slow: u64) -> Self {
        Self {
            at,
            from: None,
            requests,
            errors_5xx,
            timed,
            slow,
        }
    }

    fn oldest(&self) -> DateTime<Utc> {
        self.from.unwrap_or(self.at)
    }

    /// This entry and the next (newer) one as one.
    fn merged(&self, newer: &Self) -> Self {
        Self {
            at: newer.at,
            from: Some(self.oldest()),
            requests: self.requests.saturating_add(newer.requests),
            errors_5xx: self.errors_5xx.saturating_add(newer.errors_5xx),
            timed: self.timed.saturating_add(newer.timed),
            slow: self.slow.saturating_add(newer.slow),
        }
    }
}

/// The ring of the recent span's ticks, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RecentTicks(VecDeque<TickCounts>);

impl RecentTicks {
    /// Whether no tick is kept.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The entries, oldest first.
    pub fn entries(&self) -> impl Iterator<Item = &TickCounts> {
        self.0.iter()
    }

    /// Ages the ring to `now` for a span of `span`: entries stamped later than now are taken
    /// as at now, entries out of the span are dropped.
    pub fn age(&mut self, now: DateTime<Utc>, span: Duration) {
        for entry in &mut self.0 {
            if entry.at > now {
                entry.at = now;
            }
            if entry.from.is_some_and(|from| from > now) {
                entry.from = Some(now);
            }
        }
        let edge = edge(now, span);
        while self.0.front().is_some_and(|e| e.at <= edge) {
            self.0.pop_front();
        }
    }

    /// Adds a tick's counts (at `counts.at`, aged to it first) and keeps the ring bounded.
    pub fn record(&mut self, counts: TickCounts, span: Duration) {
        self.age(counts.at, span);
        self.0.push_back(counts);
        while self.0.len() > MAX_ENTRIES {
            self.merge_closest();
        }
    }

    /// Merges the two neighbouring entries that lie closest together.
    fn merge_closest(&mut self) {
        let closest = self
            .0
            .iter()
            .zip(self.0.iter().skip(1))
            .enumerate()
            .min_by_key(|(_, (older, newer))| newer.at.signed_duration_since(older.oldest()))
            .map(|(i, _)| i);
        let Some(i) = closest else { return };
        let (Some(older), Some(newer)) = (self.0.get(i).copied(), i.checked_add(1)) else {
            return;
        };
        let Some(newer) = self.0.get(newer).copied() else {
            return;
        };
        if let Some(slot) = self.0.get_mut(i) {
            *slot = older.merged(&newer);
        }
        self.0.remove(i.saturating_add(1));
    }

    /// The counts of the entries later than `now - span`.
    #[must_use]
    pub fn sum(&self, now: DateTime<Utc>, span: Duration) -> SpanCounts {
        let edge = edge(now, span);
        self.0.iter().filter(|e| e.at > edge).fold(
            SpanCounts {
                seconds: span.as_secs(),
                ..SpanCounts::default()
            },
            |acc, e| SpanCounts {
                requests: acc.requests.saturating_add(e.requests),
                errors_5xx: acc.errors_5xx.saturating_add(e.errors_5xx),
                timed: acc.timed.saturating_add(e.timed),
                slow: acc.slow.saturating_add(e.slow),
                ..acc
            },
        )
    }
}

/// The recent span's counts after this tick's `signals`, at `now`, `since_arm` after arm;
/// `None` when the recent rules are off (or the span is the whole window). Counts read from
/// logs go into `ring`, and the span is summed from it; a Prometheus server's counts over
/// the span are taken as they are (the window's, while the span is longer than the time
/// since arm). `window` is the window's observations after this tick, `previous` the span's
/// before it (its last quantile is kept when no new one was read).
pub fn observe(
    ring: &mut RecentTicks,
    settings: &WindowSettings,
    signals: &Signals,
    window: &Observations,
    since_arm: Duration,
    now: DateTime<Utc>,
) -> Option<SpanCounts> {
    let span = settings.recent_span()?;
    let previous = window.recent;
    match &signals.logs {
        LogSignal::Counted { counts, timing, .. } => {
            let tick = TickCounts::new(
                now,
                counts.total,
                counts.errors_5xx,
                timing.timed,
                timing.slow,
            );
            ring.record(tick, span);
        }
        LogSignal::Totals { totals } => {
            let quantile = |reading: &Option<LatencyReading>| match reading {
                Some(LatencyReading::Quantile { ms }) => Some(*ms),
                _ => None,
            };
            return Some(match &totals.recent {
                Some(recent) => SpanCounts {
                    seconds: span.as_secs(),
                    requests: recent.requests,
                    errors_5xx: recent.errors_5xx,
                    timed: 0,
                    slow: 0,
                    latency_ms: quantile(&recent.latency).or(previous.and_then(|p| p.latency_ms)),
                },
                // The span reaches back to arm: it is the window so far.
                None => SpanCounts {
                    seconds: crate::prometheus::range_seconds(since_arm).min(span.as_secs()),
                    requests: window.requests,
                    errors_5xx: window.errors_5xx,
                    timed: 0,
                    slow: 0,
                    latency_ms: window.latency_ms,
                },
            });
        }
        // Nothing read: the span only ages (from Prometheus its counts are then none, and
        // the recent rules are not judged on this tick).
        LogSignal::NoContainer | LogSignal::Missing { .. } => ring.age(now, span),
    }
    Some(ring.sum(now, span))
}

/// `now - span`: a tick at or before it is out of the span.
fn edge(now: DateTime<Utc>, span: Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(span)
        .ok()
        .and_then(|span| now.checked_sub_signed(span))
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap()
    }

    const SPAN: Duration = Duration::from_secs(120);

    #[test]
    fn a_tick_exactly_one_span_old_is_out() {
        let mut ring = RecentTicks::default();
        ring.record(TickCounts::new(at(0), 10, 1, 0, 0), SPAN);
        ring.record(TickCounts::new(at(1), 5, 5, 0, 0), SPAN);
        assert_eq!(ring.sum(at(119), SPAN).requests, 15);
        // at(0) is exactly 120 s old at at(120): out; at(1) is not.
        let s = ring.sum(at(120), SPAN);
        assert_eq!((s.requests, s.errors_5xx), (5, 5));
        assert_eq!(ring.sum(at(121), SPAN).requests, 0);
        // One nanosecond younger than the span is in.
        let just = at(0) + chrono::Duration::nanoseconds(1);
        let mut ring = RecentTicks::default();
        ring.record(TickCounts::new(just, 7, 0, 0, 0), SPAN);
        assert_eq!(ring.sum(at(120), SPAN).requests, 7);
    }

    #[test]
    fn a_tick_stamped_later_than_now_counts_as_now() {
        let mut ring = RecentTicks::default();
        ring.record(TickCounts::new(at(3600), 10, 2, 0, 0), SPAN);
        // The clock stepped back an hour: the tick read before is in the span, at now.
        ring.record(TickCounts::new(at(0), 10, 0, 0, 0), SPAN);
        assert_eq!(ring.sum(at(0), SPAN).requests, 20);
        assert!(ring.entries().all(|e| e.at <= at(0)));
        // ... and ages from now on, not from its old stamp.
        assert_eq!(ring.sum(at(120), SPAN).requests, 0);
    }

    #[test]
    fn thirty_days_at_one_second_stays_bounded() {
        let span = Duration::from_secs(30 * 24 * 3600);
        let mut ring = RecentTicks::default();
        // Every 97th second for 30 days: 26,700 ticks, 1 request each.
        let ticks = 30 * 24 * 3600 / 97;
        for i in 0..ticks {
            ring.record(TickCounts::new(at(i * 97), 1, 0, 0, 0), span);
        }
        assert_eq!(ring.0.len(), MAX_ENTRIES);
        let json = serde_json::to_string(&ring).unwrap();
        assert!(json.len() < 200_000, "{}", json.len());
        let now = at((ticks - 1) * 97);
        let total: u64 = ring.entries().map(|e| e.requests).sum();
        assert_eq!(total, ticks as u64);
        // No entry is wider than 2 x span / MAX_ENTRIES.
        let widest = ring
            .entries()
            .map(|e| e.at.signed_duration_since(e.oldest()))
            .max()
            .unwrap();
        assert!(
            widest.num_seconds() <= 2 * 30 * 24 * 3600 / MAX_ENTRIES as i64,
            "{widest}"
        );
        assert_eq!(ring.sum(now, span).requests, ticks as u64);
    }

    /// The largest a full ring can be, as the store writes it (pretty-printed): every entry
    /// merged, stamped to the nanosecond, with counts of 20 digits. Far under the 1 MiB cap
    /// of `window.json`.
    #[test]
    fn a_full_ring_of_the_largest_entries_is_far_under_the_state_cap() {
        let span = Duration::from_secs(30 * 24 * 3600);
        let mut ring = RecentTicks::default();
        let big = u64::MAX / 4;
        for i in 0..(3 * MAX_ENTRIES as i64) {
            let at = at(i * 7) + chrono::Duration::nanoseconds(123_456_789);
            ring.record(TickCounts::new(at, big, big, big, big), span);
        }
        assert_eq!(ring.0.len(), MAX_ENTRIES);
        assert!(
            ring.entries()
                .all(|e| e.from.is_some() || e.requests == big)
        );
        let bytes = serde_json::to_vec_pretty(&ring).unwrap();
        assert!(bytes.len() < 300_000, "{}", bytes.len());
    }
}
