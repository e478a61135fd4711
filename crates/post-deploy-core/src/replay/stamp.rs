//! RFC 3339 stamps at the start of a line, as `docker logs --timestamps` writes them, read
//! fast: lines of the same second share all but their fraction, so the second is parsed once.

use chrono::{DateTime, Timelike as _, Utc};

/// The bytes a stamp's date and time of day take, to the second: `2026-12-07T00:34:17`.
const TO_SECOND: usize = 19;

/// The longest stamp looked for before the space that ends it (nanoseconds and an offset
/// fit in 35 bytes).
pub(super) const MAX_STAMP_LEN: usize = 40;

/// A reader of stamps that remembers the second of the last one in UTC (`...Z`).
#[derive(Debug, Default)]
pub(super) struct Stamps {
    /// The first [`TO_SECOND`] bytes of the last stamp read in full that ended in `Z`.
    prefix: [u8; TO_SECOND],
    /// That second, in nanoseconds since the Unix epoch; `None` before one was read.
    second: Option<i64>,
}

impl Stamps {
    /// The instant `text` stamps; `None` when it is not an RFC 3339 date and time.
    pub(super) fn parse(&mut self, text: &[u8]) -> Option<DateTime<Utc>> {
        self.parse_nanos(text).map(DateTime::from_timestamp_nanos)
    }

    /// The instant `text` stamps, in nanoseconds since the Unix epoch (the years 1678 to
    /// 2261); `None` when it is not an RFC 3339 date and time in that range.
    pub(super) fn parse_nanos(&mut self, text: &[u8]) -> Option<i64> {
        let (head, tail) = (text.get(..TO_SECOND), text.get(TO_SECOND..));
        if let (Some(second), Some(head), Some(tail)) = (self.second, head, tail)
            && head == self.prefix
            && let Some(nanos) = fraction_then_z(tail)
        {
            return second.checked_add(nanos);
        }
        let at = DateTime::parse_from_rfc3339(std::str::from_utf8(text).ok()?)
            .ok()?
            .with_timezone(&Utc);
        let at_nanos = at.timestamp_nanos_opt()?;
        // Remembered only when the fast path can read the next one exactly: UTC, at most
        // nanoseconds, not a leap second.
        if let (Some(head), Some(tail)) = (head, tail)
            && fraction_then_z(tail).is_some()
            && let Some(second) = at.with_nanosecond(0)
            && let Some(second) = second.timestamp_nanos_opt()
            && let Ok(prefix) = <[u8; TO_SECOND]>::try_from(head)
        {
            self.prefix = prefix;
            self.second = Some(second);
        }
        Some(at_nanos)
    }
}

/// The nanoseconds of `Z` or `.DIGITS` (1 to 9 of them) then `Z`; `None` for anything else.
fn fraction_then_z(tail: &[u8]) -> Option<i64> {
    match tail {
        [b'Z'] => Some(0),
        [b'.', digits @ .., b'Z'] if (1..=9).contains(&digits.len()) => {
            let mut nanos: i64 = 0;
            for d in digits {
                let digit = d.checked_sub(b'0').filter(|d| *d <= 9)?;
                nanos = nanos.checked_mul(10)?.checked_add(i64::from(digit))?;
            }
            let missing = u32::try_from(9_usize.checked_sub(digits.len())?).ok()?;
            nanos.checked_mul(10_i64.checked_pow(missing)?)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn full(text: &str) -> Option<DateTime<Utc>> {
        DateTime::parse_from_rfc3339(text)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    }

    #[test]
    fn docker_stamps_and_others() {
        let mut s = Stamps::default();
        for text in [
            "2026-12-07T00:34:17.123456789Z",
            "2026-12-07T00:34:17.5Z",
            "2026-12-07T00:34:17Z",
            "2026-12-07T00:34:17.000000001Z",
            "2026-12-07T00:34:17.123+02:00",
            "2026-12-07T00:34:17.1234567891Z",
            "2026-12-07t00:34:17.5z",
            "2026-12-07T00:34:18.25Z",
        ] {
            assert_eq!(s.parse(text.as_bytes()), full(text), "{text}");
        }
        for bad in [
            "",
            "2026-12-07T00:34:17.Z",
            "2026-12-07T00:34:17.12a4Z",
            "2026-12-07T00:34:17",
            "2026-13-07T00:34:17Z",
            "hello",
            "2026-12-07T00:34:17.5ZZ",
        ] {
            assert_eq!(s.parse(bad.as_bytes()), None, "{bad}");
        }
    }

    proptest! {
        /// Whatever came before, a stamp reads as chrono reads it.
        #[test]
        fn the_fast_path_reads_as_chrono(
            seconds in 1_700_000_000i64..1_900_000_000,
            nanos in 0u32..1_000_000_000,
            digits in 0usize..=10,
            offset in prop::sample::select(vec!["Z", "+00:00", "-05:30", "z"]),
            before in prop::collection::vec((0i64..4, 0u32..1_000_000_000), 0..4),
        ) {
            let mut s = Stamps::default();
            for (step, n) in before {
                let at = DateTime::from_timestamp(seconds + step - 2, n).unwrap();
                let text = at.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
                prop_assert_eq!(s.parse(text.as_bytes()), Some(at));
            }
            let at = DateTime::from_timestamp(seconds, nanos).unwrap();
            let base = at.format("%Y-%m-%dT%H:%M:%S").to_string();
            let frac = format!("{nanos:09}0");
            let text = if digits == 0 {
                format!("{base}{offset}")
            } else {
                format!("{base}.{}{offset}", &frac[..digits])
            };
            prop_assert_eq!(s.parse(text.as_bytes()), full(&text), "{}", text);
        }
    }
}
