//! logfmt lines: `key=value` pairs separated by blanks, as Heroku's router, Rails' lograge,
//! logrus and structlog write them.
//!
//! A line is a logfmt access line when
//! - from its first pair to its end it is nothing but pairs: a key (bytes other than blanks,
//!   `=` and `"`), `=`, and a value: bare (up to the next blank, maybe empty, as in `key=`) or
//!   quoted (`"..."`, a `\` escaping the byte after it; or `'...'`, as lograge writes its
//!   `error`, without escapes; then a blank or the end);
//! - what comes before the first pair, if anything, ends with `:` (a logger's or syslog's
//!   prefix: `2024-05-01T12:00:00+00:00 heroku[router]: at=info ...`, `I, [...] INFO -- : `),
//!   so an application's sentence that happens to hold `status=500` is not a request;
//! - one of its keys is a status key (compared as written, dots included) whose value is
//!   three digits in 100..=599, bare or quoted. The first such pair counts.

use memchr::memchr;

use super::keys::LogKeys;
use super::{duration, quoted, simd};

/// The status of a logfmt access line, or `None` when `line` is not one (see the module doc).
///
/// `line` starts at its first non-blank byte.
#[cfg(test)]
pub(super) fn status(line: &[u8], keys: &LogKeys) -> Option<u16> {
    status_timed(line, keys, false).map(|(s, _)| s)
}

/// [`status`], and with `timed` the value of the first duration key that holds a duration
/// (in the key's unit, or in the unit its suffix names: `12ms`, `0.3s`), in milliseconds.
///
/// `line` starts at its first non-blank byte.
#[inline]
pub(super) fn status_timed(line: &[u8], keys: &LogKeys, timed: bool) -> Option<(u16, Option<f64>)> {
    let eq = memchr(b'=', line)?;
    let head = line.get(..eq)?;
    let key_start = head
        .iter()
        .rposition(|b| is_blank(*b))
        .map_or(Some(0), |at| at.checked_add(1))?;
    let prefix = line.get(..key_start)?;
    if let Some(last) = prefix.iter().rposition(|b| !is_blank(*b))
        && prefix.get(last) != Some(&b':')
    {
        return None;
    }
    pairs(line, key_start, keys, timed)
}

/// Reads the pairs of `line` from index `at` to its end; the status of the first status pair,
/// or `None` when there is none or something other than a pair; with `timed`, the first
/// duration too.
#[inline]
fn pairs(line: &[u8], mut at: usize, keys: &LogKeys, timed: bool) -> Option<(u16, Option<f64>)> {
    let mut found = None;
    let mut ms = None;
    loop {
        while line.get(at).is_some_and(|b| is_blank(*b)) {
            at = at.checked_add(1)?;
        }
        let rest = line.get(at..)?;
        if rest.is_empty() {
            return found.map(|s| (s, ms));
        }
        let key_len = rest
            .iter()
            .position(|b| matches!(b, b'=' | b'"') || is_blank(*b))?;
        if key_len == 0 || rest.get(key_len) != Some(&b'=') {
            return None;
        }
        let key = rest.get(..key_len)?;
        let value_start = at.checked_add(key_len)?.checked_add(1)?;
        let value = line.get(value_start..)?;
        let quote = value.first().copied().filter(|q| matches!(q, b'"' | b'\''));
        let (raw, next) = if let Some(quote) = quote {
            let close = if quote == b'"' {
                quote_end(value)?
            } else {
                memchr(b'\'', value.get(1..)?)?.checked_add(1)?
            };
            let after = close.checked_add(1)?;
            if !value.get(after).is_none_or(|b| is_blank(*b)) {
                return None;
            }
            (value.get(1..close)?, after)
        } else {
            let len = simd::find2::<b' ', b'\t'>(value).unwrap_or(value.len());
            (value.get(..len)?, len)
        };
        if found.is_none() && keys.is_status(key) {
            found = value_status(raw);
        } else if timed
            && ms.is_none()
            && let Some(unit) = keys.logfmt_duration(key)
        {
            ms = duration::with_suffix(raw, unit);
        }
        at = value_start.checked_add(next)?;
    }
}

/// The index of the quote that closes the quoted value opening `value`.
#[inline]
fn quote_end(value: &[u8]) -> Option<usize> {
    let mut from = 1usize;
    loop {
        let at = from.checked_add(simd::find2::<b'"', b'\\'>(value.get(from..)?)?)?;
        if value.get(at) == Some(&b'"') {
            return Some(at);
        }
        from = at.checked_add(2)?;
    }
}

/// Three digits in 100..=599.
#[inline]
fn value_status(raw: &[u8]) -> Option<u16> {
    let [a, b, c] = raw else {
        return None;
    };
    if !(a.is_ascii_digit() && b.is_ascii_digit() && c.is_ascii_digit()) {
        return None;
    }
    Some(quoted::digits(*a, *b, *c)).filter(|s| (100..=599).contains(s))
}

#[inline(always)]
fn is_blank(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st(line: &str) -> Option<u16> {
        status(line.as_bytes(), &LogKeys::default())
    }

    #[test]
    fn heroku_router_and_lograge() {
        assert_eq!(
            st(
                r#"at=info method=GET path="/" host=app.example.com request_id=2f1c fwd="192.0.2.10" dyno=web.1 connect=0ms service=18ms status=200 bytes=1342 protocol=https"#
            ),
            Some(200)
        );
        assert_eq!(
            st(
                r#"2024-05-01T12:00:00.000000+00:00 heroku[router]: at=error code=H12 desc="Request timeout" method=GET path="/slow" host=app.example.com fwd="192.0.2.10" dyno=web.1 connect=0ms service=30000ms status=503 bytes=0 protocol=https"#
            ),
            Some(503)
        );
        assert_eq!(
            st(
                "method=GET path=/jobs/833552.json format=json controller=JobsController action=show status=500 duration=58.33 view=40.43 db=15.26"
            ),
            Some(500)
        );
        assert_eq!(
            st(
                "I, [2024-05-01T12:00:00.123456 #1]  INFO -- : method=GET path=/ status=502 duration=1.2"
            ),
            Some(502)
        );
    }

    #[test]
    fn values_quoted_empty_and_odd() {
        assert_eq!(st(r#"msg="a b \" c" status="503""#), Some(503));
        assert_eq!(st(r#"user= status=404 ref="""#), Some(404));
        assert_eq!(st("path=/search?q=a=b status=201"), Some(201));
        assert_eq!(st("status=abc status_code=502"), Some(502));
        assert_eq!(st("status=200 status=500"), Some(200));
        assert_eq!(st("status=200\t\tx=1  "), Some(200));
        assert_eq!(
            st("status=500 error='PG::QueryCanceled: canceling statement'"),
            Some(500)
        );
        assert_eq!(st("status='502'"), Some(502));
    }

    #[test]
    fn not_logfmt_or_no_status() {
        for line in [
            "status=600",
            "status=99",
            "status=5000",
            "status=500.0",
            "status= 500",
            r#"status="500"x"#,
            r#"msg="unterminated status=500"#,
            "Error: request failed status=500",
            "upstream said status=500",
            "status=500 and then words",
            r#"a="b"c status=500"#,
            "a='b status=500",
            "=500 status=500",
            "Status=500",
            "code=500",
            "no pairs at all",
            "",
        ] {
            assert_eq!(st(line), None, "{line}");
        }
    }

    #[test]
    fn configured_keys() {
        let keys = LogKeys::default().with_status(
            LogKeys::parse_status("DownstreamStatus,http.response.status_code").unwrap(),
        );
        assert_eq!(status(b"DownstreamStatus=502 x=1", &keys), Some(502));
        assert_eq!(status(b"http.response.status_code=504", &keys), Some(504));
        assert_eq!(status(b"status=500", &keys), None);
    }
}
