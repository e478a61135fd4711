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

mod masks;

use memchr::memchr;

use super::keys::LogKeys;
use super::{duration, quoted, simd};

/// A logfmt access line's status and, when asked for, its duration in milliseconds; `None`
/// when the line is not one.
type Found = Option<(u16, Option<f64>)>;

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
///
/// A line of no more than [`masks::MAX_LEN`] bytes from its first key on is checked from bit
/// masks of its bytes first (see [`masks`]); one they cannot prove to be pairs is walked pair
/// by pair, which alone answers for lines with a `\` or a `'`, or a bare value holding a `"`.
#[inline]
pub(super) fn status_timed(line: &[u8], keys: &LogKeys, timed: bool) -> Found {
    let key_start = key_start(line)?;
    match masks::status_timed(line.get(key_start..)?, keys, timed) {
        Some(found) => found,
        None => pairs(line, key_start, keys, timed),
    }
}

/// [`status_timed`] read by the walk alone: the reference the masks are held to.
#[cfg(test)]
fn walk_status_timed(line: &[u8], keys: &LogKeys, timed: bool) -> Found {
    pairs(line, key_start(line)?, keys, timed)
}

/// What reading a line as logfmt first tells a reader that tries the formats with a quoted
/// request (CLF, uvicorn) before logfmt: see [`read_first`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum First {
    /// [`status_timed`] of the line, read by the masks; the line holds no quoted request
    /// (`quoted::find` finds none in it), so no CLF or uvicorn status either.
    Read(Found),
    /// Not known: look for a request first (the line has no `"` before index `quotes_from`
    /// of the body), then, unless `logfmt` is false because [`status_timed`] is `None`,
    /// read it as logfmt.
    Later { quotes_from: usize, logfmt: bool },
}

/// Reads `body` (a line from its first non-blank byte; all the line's quotes are in it) as
/// logfmt before its quoted request is looked for, when that is sure to change nothing: its
/// first `=` comes before any `"` (so the prefix before its first key has none), the masks
/// read it, and none of its quotes is followed by a space and a digit or `ESC`, which every
/// request's closing quote is.
#[inline(always)]
pub(super) fn read_first(body: &[u8], keys: &LogKeys, timed: bool) -> First {
    let Some(at) = simd::find2::<b'=', b'"'>(body) else {
        // No `"`: no request; no `=`: not logfmt.
        return First::Read(None);
    };
    if body.get(at) != Some(&b'=') {
        return First::Later {
            quotes_from: at,
            logfmt: true,
        };
    }
    read_first_from(body, at, keys, timed)
}

/// [`read_first`] of a `body` whose first `=`, before any `"`, is at index `eq`: apart, so
/// that the lines whose first quote comes first (CLF, uvicorn) are read without its code in
/// their way.
#[inline(never)]
fn read_first_from(body: &[u8], eq: usize, keys: &LogKeys, timed: bool) -> First {
    let later = First::Later {
        quotes_from: eq,
        logfmt: true,
    };
    let Some(key_start) = key_start_at(body, eq) else {
        return First::Later {
            quotes_from: eq,
            logfmt: false,
        };
    };
    let Some(rest) = body.get(key_start..) else {
        return later;
    };
    match masks::status_timed_without_request(rest, keys, timed) {
        Some(found) => First::Read(found),
        None => later,
    }
}

/// Where the first key of `line` starts, `None` when what comes before it is not a prefix a
/// logfmt line may have (see the module doc) or the line has no `=`.
#[inline]
fn key_start(line: &[u8]) -> Option<usize> {
    key_start_at(line, simd::find::<b'='>(line)?)
}

/// [`key_start`], given the index of the first `=` of `line`.
#[inline(always)]
fn key_start_at(line: &[u8], eq: usize) -> Option<usize> {
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
    Some(key_start)
}

/// Reads the pairs of `line` from index `at` to its end; the status of the first status pair,
/// or `None` when there is none or something other than a pair; with `timed`, the first
/// duration too.
#[inline]
fn pairs(line: &[u8], mut at: usize, keys: &LogKeys, timed: bool) -> Found {
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
        visit(key, raw, keys, timed, &mut found, &mut ms);
        at = value_start.checked_add(next)?;
    }
}

/// Reads one pair, `key` and its value `raw` (quotes stripped), into what the pairs before
/// it found: the first status pair decides the status (`None` when its value is not one),
/// and with `timed` the first duration key that holds a duration the duration.
#[inline(always)]
fn visit(
    key: &[u8],
    raw: &[u8],
    keys: &LogKeys,
    timed: bool,
    found: &mut Option<u16>,
    ms: &mut Option<f64>,
) {
    if found.is_none() && keys.is_status(key) {
        *found = value_status(raw);
    } else if timed
        && ms.is_none()
        && let Some(unit) = keys.logfmt_duration(key)
    {
        *ms = duration::with_suffix(raw, unit);
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
mod tests;
