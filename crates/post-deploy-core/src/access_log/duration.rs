//! Request durations: reading them from a line's bytes, counting them against the latency
//! threshold, and a compact histogram for their quantiles.
//!
//! A duration is carried as `f64` milliseconds. Numbers are read without allocating: the bytes
//! are checked to be a plain non-negative decimal number (digits, maybe a point and more
//! digits, maybe an exponent) and handed to `f64`'s own parser, so a value reads back exactly
//! as the standard library rounds it.

use super::keys::DurationUnit;

/// A plain non-negative decimal number: `digits [. digits] [e|E [+|-] digits]`.
#[inline]
pub(super) fn number(raw: &[u8]) -> Option<f64> {
    if let Some(value) = short_decimal(raw) {
        return Some(value);
    }
    let (int, rest) = split_digits(raw);
    if int == 0 {
        return None;
    }
    let rest = match rest {
        [b'.', after @ ..] => {
            let (frac, more) = split_digits(after);
            if frac == 0 {
                return None;
            }
            more
        }
        _ => rest,
    };
    match rest {
        [] => {}
        [b'e' | b'E', after @ ..] => {
            let after = match after {
                [b'+' | b'-', more @ ..] => more,
                _ => after,
            };
            let (exp, more) = split_digits(after);
            if exp == 0 || !more.is_empty() {
                return None;
            }
        }
        _ => return None,
    }
    let value: f64 = std::str::from_utf8(raw).ok()?.parse().ok()?;
    value.is_finite().then_some(value)
}

/// 10^k for k in 0..=15, each exact in `f64`.
const POWERS_OF_TEN: [f64; 16] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
];

/// `digits [. digits]` of at most 15 digits in all, without the standard parser: the digits
/// as one integer N < 10^15 (exact in f64) divided by 10^k (exact for k <= 22), one
/// correctly rounded division, so the same `f64` as `str::parse` gives. `None` for anything
/// else, which [`number`] then reads the long way.
#[inline]
fn short_decimal(raw: &[u8]) -> Option<f64> {
    match short_decimal_prefix(raw) {
        Some((value, len)) if len == raw.len() => Some(value),
        _ => None,
    }
}

/// The value of the `digits [. digits]` that `raw` starts with, when they are at most 15
/// digits, and how many bytes they take; `None` when `raw` does not start so. The caller
/// decides whether the byte after them ends the number.
#[inline]
#[expect(
    clippy::cast_precision_loss,
    reason = "N < 10^15 < 2^53 and 10^k for k <= 15 are exact in f64"
)]
pub(super) fn short_decimal_prefix(raw: &[u8]) -> Option<(f64, usize)> {
    let mut n: u64 = 0;
    let mut int_digits = 0usize;
    // Digits after the point, once there is one.
    let mut frac: Option<usize> = None;
    let mut len = 0usize;
    for &b in raw.iter().take(17) {
        let digit = b.wrapping_sub(b'0');
        if digit < 10 {
            // At most 17 digits: below 10^17 < 2^64.
            n = n.wrapping_mul(10).wrapping_add(u64::from(digit));
            match frac.as_mut() {
                Some(f) => *f = f.wrapping_add(1),
                None => int_digits = int_digits.wrapping_add(1),
            }
        } else if b == b'.' && frac.is_none() && int_digits > 0 {
            frac = Some(0);
        } else {
            break;
        }
        len = len.wrapping_add(1);
    }
    let frac = match frac {
        // A point with no digit after it: not this shape.
        Some(0) => return None,
        Some(f) => f,
        None => 0,
    };
    if int_digits == 0 || int_digits.wrapping_add(frac) > 15 || len == 17 {
        return None;
    }
    Some((n as f64 / POWERS_OF_TEN.get(frac)?, len))
}

/// How many ASCII digits `raw` starts with, and what follows them.
#[inline(always)]
fn split_digits(raw: &[u8]) -> (usize, &[u8]) {
    let n = raw
        .iter()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(raw.len());
    (n, raw.get(n..).unwrap_or_default())
}

/// The longest duration a request is taken to have had: a day, in milliseconds. A longer one
/// is a broken or hostile line, not a slow request.
pub(super) const MAX_REQUEST_MS: f64 = 86_400_000.0;

/// Whether `ms` can be a request's duration: finite, not below zero, at most a day.
#[inline]
pub(super) fn is_request_duration(ms: f64) -> bool {
    (0.0..=MAX_REQUEST_MS).contains(&ms)
}

/// `value` in `unit`, in milliseconds.
#[inline]
pub(super) fn to_ms(value: f64, unit: DurationUnit) -> f64 {
    match unit {
        DurationUnit::Ns => value / 1e6,
        DurationUnit::Us => value / 1e3,
        DurationUnit::Ms => value,
        DurationUnit::S => value * 1e3,
    }
}

/// A number with an optional unit suffix (`12ms`, `0.3s`, `250us`, `250µs`, `900ns`), in
/// milliseconds; without a suffix the number is in `unit`.
#[inline]
pub(super) fn with_suffix(raw: &[u8], unit: DurationUnit) -> Option<f64> {
    let (digits, unit) = if let Some(d) = raw.strip_suffix(b"ms") {
        (d, DurationUnit::Ms)
    } else if let Some(d) = raw.strip_suffix(b"us") {
        (d, DurationUnit::Us)
    } else if let Some(d) = raw.strip_suffix("µs".as_bytes()) {
        (d, DurationUnit::Us)
    } else if let Some(d) = raw.strip_suffix(b"ns") {
        (d, DurationUnit::Ns)
    } else if let Some(d) = raw.strip_suffix(b"s") {
        (d, DurationUnit::S)
    } else {
        (raw, unit)
    };
    number(digits)
        .map(|v| to_ms(v, unit))
        .or_else(|| go_duration(raw))
}

/// A duration as Go's `time.Duration` prints it, with units of more than one kind or in
/// minutes or hours (`1m2.5s`, `1h0m0s`, `5m`): numbers each followed by `h`, `m`, `s`,
/// `ms`, `us`, `µs` or `ns`, summed in milliseconds; `None` for anything else.
fn go_duration(raw: &[u8]) -> Option<f64> {
    const MINUTE_MS: f64 = 60_000.0;
    const HOUR_MS: f64 = 3_600_000.0;
    let mut rest = raw;
    let mut total = 0.0f64;
    while !rest.is_empty() {
        let len = rest
            .iter()
            .position(|b| !(b.is_ascii_digit() || *b == b'.'))?;
        let value = number(rest.get(..len)?)?;
        let (ms, unit_len) = match rest.get(len..)? {
            [b'h', ..] => (value * HOUR_MS, 1),
            [b'm', b's', ..] => (value, 2),
            [b'm', ..] => (value * MINUTE_MS, 1),
            [b's', ..] => (to_ms(value, DurationUnit::S), 1),
            [b'u', b's', ..] => (to_ms(value, DurationUnit::Us), 2),
            [0xc2, 0xb5, b's', ..] => (to_ms(value, DurationUnit::Us), 3),
            [b'n', b's', ..] => (to_ms(value, DurationUnit::Ns), 2),
            _ => return None,
        };
        total += ms;
        rest = rest.get(len.checked_add(unit_len)?..)?;
    }
    (total.is_finite() && !raw.is_empty()).then_some(total)
}

/// The histogram's octaves start at 2^-10 ms (about 1 µs) and end at 2^22 ms (about 70 min).
const LOW_EXP: i32 = -10;

/// How many octaves the histogram spans.
const OCTAVES: usize = 32;

/// Each octave is cut into this many equal buckets: each spans at most 1/128 (0.78%) of its
/// lower bound, and its middle is within 0.4% of any value in it.
const SUB: usize = 128;

/// Buckets between 2^-10 ms and 2^22 ms.
const SPAN_BUCKETS: usize = OCTAVES * SUB;

/// All buckets: one below 2^-10 ms, the span, one above 2^22 ms.
const BUCKETS: usize = SPAN_BUCKETS + 2;

/// A fixed-size histogram of durations (about 32 KiB, allocated once per counter): 128
/// buckets per octave from 2^-10 ms (about 1 µs) to 2^22 ms (about 70 min), found from the
/// bits of the `f64` with no logarithm; a quantile read from it is within 0.4% of the exact
/// nearest-rank value. Durations below 2^-10 ms read as 0; above 2^22 ms, as the largest seen.
#[derive(Clone, PartialEq)]
pub struct Histogram {
    counts: [u64; BUCKETS],
    total: u64,
    /// The largest duration seen, in milliseconds.
    max: f64,
}

impl std::fmt::Debug for Histogram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Histogram")
            .field("total", &self.total)
            .field("max", &self.max)
            .finish_non_exhaustive()
    }
}

impl Default for Histogram {
    fn default() -> Self {
        Self {
            counts: [0; BUCKETS],
            total: 0,
            max: 0.0,
        }
    }
}

impl Histogram {
    /// Records one duration in milliseconds.
    #[inline]
    pub fn record(&mut self, ms: f64) {
        if let Some(slot) = self.counts.get_mut(bucket(ms)) {
            *slot = slot.saturating_add(1);
        }
        self.total = self.total.saturating_add(1);
        if ms > self.max {
            self.max = ms;
        }
    }

    /// Adds `other`'s durations to these.
    pub fn merge(&mut self, other: &Self) {
        for (mine, theirs) in self.counts.iter_mut().zip(other.counts.iter()) {
            *mine = mine.saturating_add(*theirs);
        }
        self.total = self.total.saturating_add(other.total);
        if other.max > self.max {
            self.max = other.max;
        }
    }

    /// How many durations were recorded.
    #[must_use]
    pub fn len(&self) -> u64 {
        self.total
    }

    /// Whether none was recorded.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// The nearest-rank quantile `q` (0..=1) in milliseconds, within 0.4% of the exact one
    /// (see the type's doc); `None` when nothing was recorded.
    #[must_use]
    pub fn quantile(&self, q: f64) -> Option<f64> {
        if self.total == 0 {
            return None;
        }
        let rank = nearest_rank(q, self.total);
        let mut seen = 0u64;
        for (i, count) in self.counts.iter().enumerate() {
            seen = seen.saturating_add(*count);
            if seen >= rank {
                return Some(value_of(i).min(self.max));
            }
        }
        Some(self.max)
    }
}

/// The 1-based nearest rank of quantile `q` among `n` values: `ceil(q * n)`, at least 1.
#[must_use]
#[expect(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "q is clamped to 0..=1, so the product is a non-negative count no larger than n"
)]
pub fn nearest_rank(q: f64, n: u64) -> u64 {
    let q = if q.is_nan() { 1.0 } else { q.clamp(0.0, 1.0) };
    ((q * n as f64).ceil() as u64).clamp(1, n.max(1))
}

/// The bucket of `ms`: its octave from the exponent bits, its place in the octave from the
/// top 7 bits of the mantissa.
#[inline]
#[expect(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "the exponent and mantissa fields are small non-negative integers here"
)]
fn bucket(ms: f64) -> usize {
    if ms.is_nan() || ms < f64::powi(2.0, LOW_EXP) {
        return 0;
    }
    if ms >= f64::powi(2.0, LOW_EXP.wrapping_add(OCTAVES as i32)) {
        return BUCKETS.saturating_sub(1);
    }
    let bits = ms.to_bits();
    let exp = ((bits >> 52) & 0x7ff) as i32;
    let octave = exp.wrapping_sub(1023).wrapping_sub(LOW_EXP) as usize;
    let sub = ((bits >> 45) & 0x7f) as usize;
    octave.wrapping_mul(SUB).wrapping_add(sub).wrapping_add(1)
}

/// The value a bucket stands for: the middle of its span.
#[inline]
#[expect(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap,
    reason = "bucket indices are small integers, exact as f64 and i32"
)]
fn value_of(index: usize) -> f64 {
    match index.checked_sub(1) {
        None => 0.0,
        Some(i) if i >= SPAN_BUCKETS => f64::INFINITY,
        Some(i) => {
            let octave = (i / SUB) as i32;
            let sub = (i % SUB) as f64;
            f64::powi(2.0, LOW_EXP.wrapping_add(octave)) * (1.0 + (sub + 0.5) / SUB as f64)
        }
    }
}

/// The durations of some log text: how many access lines had one, how many of those were
/// slower than the threshold the counter was given, and, when asked for, their histogram.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LogDurations {
    /// Access lines with a duration.
    pub timed: u64,
    /// Of those, slower than the counter's threshold (0 without one).
    pub slow: u64,
    /// The histogram of the durations, when the counter keeps one.
    pub histogram: Option<Box<Histogram>>,
}

impl LogDurations {
    /// The nearest-rank quantile `q` of the durations in milliseconds (from the histogram,
    /// within 0.4%); `None` without a histogram or a duration.
    #[must_use]
    pub fn quantile(&self, q: f64) -> Option<f64> {
        self.histogram.as_ref().and_then(|h| h.quantile(q))
    }

    /// Adds `other`'s durations to these (saturating), histograms included.
    pub fn merge(&mut self, other: Self) {
        self.timed = self.timed.saturating_add(other.timed);
        self.slow = self.slow.saturating_add(other.slow);
        match (self.histogram.as_mut(), other.histogram) {
            (Some(mine), Some(theirs)) => mine.merge(&theirs),
            (None, theirs) => self.histogram = theirs,
            (Some(_), None) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn short_decimals_read_as_the_standard_parser(int in 0u64..10_000_000_000, frac in proptest::option::of("[0-9]{1,6}")) {
            let text = match frac { Some(f) => format!("{int}.{f}"), None => int.to_string() };
            let want: f64 = text.parse().unwrap();
            proptest::prop_assert_eq!(number(text.as_bytes()), Some(want), "{}", text);
        }
    }

    #[test]
    fn numbers() {
        assert_eq!(number(b"0"), Some(0.0));
        assert_eq!(number(b"12.5"), Some(12.5));
        assert_eq!(number(b"1e3"), Some(1000.0));
        assert_eq!(number(b"1.5E-3"), Some(0.0015));
        for bad in [
            &b""[..],
            b"-1",
            b".5",
            b"5.",
            b"1e",
            b"1x",
            b"inf",
            b"NaN",
            b"+1",
        ] {
            assert_eq!(number(bad), None, "{}", String::from_utf8_lossy(bad));
        }
        assert_eq!(with_suffix(b"12ms", DurationUnit::S), Some(12.0));
        assert_eq!(with_suffix(b"0.3s", DurationUnit::Ms), Some(300.0));
        assert_eq!(with_suffix(b"250us", DurationUnit::Ms), Some(0.25));
        assert_eq!(
            with_suffix("250µs".as_bytes(), DurationUnit::Ms),
            Some(0.25)
        );
        assert_eq!(with_suffix(b"900ns", DurationUnit::Ms), Some(0.0009));
        assert_eq!(with_suffix(b"58.33", DurationUnit::Ms), Some(58.33));
        assert_eq!(with_suffix(b"2", DurationUnit::S), Some(2000.0));
        assert_eq!(with_suffix(b"ms", DurationUnit::S), None);
        // Go's time.Duration.
        assert_eq!(with_suffix(b"1m2.5s", DurationUnit::Ms), Some(62_500.0));
        assert_eq!(with_suffix(b"1h0m0s", DurationUnit::Ms), Some(3_600_000.0));
        assert_eq!(with_suffix(b"5m", DurationUnit::Ms), Some(300_000.0));
        assert_eq!(with_suffix(b"2h45m", DurationUnit::Ms), Some(9_900_000.0));
        assert_eq!(with_suffix(b"1s500ms", DurationUnit::Ms), Some(1_500.0));
        assert_eq!(
            with_suffix("1ms250µs".as_bytes(), DurationUnit::Ms),
            Some(1.25)
        );
        for bad in [
            &b"1m2"[..],
            b"m5",
            b"1x",
            b"1m-2s",
            b"1..2s",
            b"1hh",
            b"h",
            b"",
            b"1e999h",
        ] {
            assert_eq!(
                with_suffix(bad, DurationUnit::Ms),
                None,
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn buckets_cover_the_span() {
        assert_eq!(bucket(0.0), 0);
        assert_eq!(bucket(f64::NAN), 0);
        assert_eq!(bucket(0.000_9), 0);
        assert_eq!(bucket(f64::powi(2.0, -10)), 1);
        assert!(bucket(3.6e6) < BUCKETS - 1);
        assert_eq!(bucket(5e6), BUCKETS - 1);
        assert_eq!(bucket(f64::INFINITY), BUCKETS - 1);
        let mut last = 0;
        for ms in [
            0.001, 0.001_5, 0.3, 1.0, 42.0, 999.9, 30_000.0, 3.5e6, 4.1e6,
        ] {
            let i = bucket(ms);
            assert!(i > last && i < BUCKETS - 1, "{ms}");
            last = i;
            let v = value_of(i);
            assert!((v - ms).abs() / ms <= 0.004, "{ms} -> {v}");
        }
    }

    #[test]
    fn quantiles_nearest_rank() {
        let mut h = Histogram::default();
        assert_eq!(h.quantile(0.5), None);
        for ms in 1..=100 {
            h.record(f64::from(ms));
        }
        for (q, want) in [
            (0.5, 50.0),
            (0.95, 95.0),
            (0.99, 99.0),
            (1.0, 100.0),
            (0.0, 1.0),
        ] {
            let got = h.quantile(q).unwrap();
            assert!((got - want).abs() / want <= 0.01, "{q}: {got} vs {want}");
        }
        h.record(1e9);
        assert_eq!(h.quantile(1.0), Some(1e9));
    }
}
