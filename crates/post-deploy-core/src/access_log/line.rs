//! One line: blank, an access line with its status, or something else.

use super::json::JsonLine;
use super::keys::LogKeys;
use super::{
    LogFormat, clf, duration, error_record, haproxy, json, logfmt, morgan, quoted, simd, uvicorn,
};

/// What one line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Line {
    /// Empty, or only blanks: not counted at all.
    Blank,
    /// An access line with its status, 100..=599.
    Access(u16),
    /// Any other non-blank line.
    Other,
}

/// Classifies one line, given without its `\n`; a trailing `\r` is ignored.
#[cfg(test)]
#[inline]
pub(super) fn classify(format: LogFormat, keys: &LogKeys, raw: &[u8]) -> Line {
    classify_timed(format, keys, raw, false).0
}

/// [`classify`], and with `timed` the duration an access line carries, in milliseconds
/// (`None` without one, and always `None` when `timed` is false): read in the same pass. A
/// duration no request can have taken (not finite, below zero, longer than a day) is none.
#[inline]
pub(super) fn classify_timed(
    format: LogFormat,
    keys: &LogKeys,
    raw: &[u8],
    timed: bool,
) -> (Line, Option<f64>) {
    classify_in_order(format, keys, raw, timed, true)
}

/// [`classify_timed`] with the requests of CLF and uvicorn always looked for before logfmt
/// is tried: the order `logfmt_first` must answer the same as.
#[cfg(test)]
pub(super) fn classify_requests_first(
    format: LogFormat,
    keys: &LogKeys,
    raw: &[u8],
    timed: bool,
) -> (Line, Option<f64>) {
    classify_in_order(format, keys, raw, timed, false)
}

/// [`classify_timed`]; with `logfmt_first`, a line in `Auto` is read as logfmt before its
/// request is looked for when that is sure to change nothing ([`logfmt::read_first`]).
#[inline(always)]
fn classify_in_order(
    format: LogFormat,
    keys: &LogKeys,
    raw: &[u8],
    timed: bool,
    logfmt_first: bool,
) -> (Line, Option<f64>) {
    let line = match raw {
        [head @ .., b'\r'] => head,
        _ => raw,
    };
    let Some(start) = line.iter().position(|b| !b.is_ascii_whitespace()) else {
        return (Line::Blank, None);
    };
    let body = line.get(start..).unwrap_or_default();
    let found = match format {
        LogFormat::Auto => {
            if body.first() == Some(&b'{') {
                match json_status(body, keys, timed) {
                    JsonLine::Access(status, ms) => Some((status, ms)),
                    // A server's error record is nothing else either.
                    JsonLine::ErrorRecord => None,
                    JsonLine::Not => quoted_status(line, 0, keys, true, true, timed),
                }
            } else {
                if logfmt_first {
                    unbraced_status(line, start, body, keys, timed)
                } else {
                    quoted_status(line, 0, keys, true, true, timed)
                        .or_else(|| logfmt::status_timed(body, keys, timed))
                        .or_else(|| unquoted_status(body, timed))
                }
            }
        }
        LogFormat::Clf => quoted_status(line, 0, keys, true, false, timed),
        LogFormat::Json => match json_status(body, keys, timed) {
            JsonLine::Access(status, ms) => Some((status, ms)),
            JsonLine::ErrorRecord | JsonLine::Not => None,
        },
        LogFormat::Uvicorn => quoted_status(line, 0, keys, false, true, timed),
        LogFormat::Logfmt => logfmt::status_timed(body, keys, timed),
    };
    match found {
        Some((status, ms)) if (100..=599).contains(&status) => (
            Line::Access(status),
            ms.filter(|ms| duration::is_request_duration(*ms)),
        ),
        _ => (Line::Other, None),
    }
}

/// The status of a line in `Auto` that does not open with `{`: a CLF or uvicorn request,
/// then logfmt, then the formats read last, in that order; but a line that is sure to hold no
/// request (its first quote, if any, right after an `=`, and [`logfmt::read_first`] says so)
/// is read as logfmt without looking for one. `body` is `line` from index `start`, its first
/// non-blank byte.
#[inline(always)]
fn unbraced_status(
    line: &[u8],
    start: usize,
    body: &[u8],
    keys: &LogKeys,
    timed: bool,
) -> Option<(u16, Option<f64>)> {
    let requests_first = |from: usize, logfmt: bool| {
        quoted_status(line, start.saturating_add(from), keys, true, true, timed)
            .or_else(|| {
                logfmt
                    .then(|| logfmt::status_timed(body, keys, timed))
                    .flatten()
            })
            .or_else(|| unquoted_status(body, timed))
    };
    let Some(quote) = simd::find::<b'"'>(body) else {
        // No quote: no request.
        return logfmt::status_timed(body, keys, timed).or_else(|| unquoted_status(body, timed));
    };
    let after_eq = quote
        .checked_sub(1)
        .is_some_and(|before| body.get(before) == Some(&b'='));
    if !after_eq {
        // As a CLF or uvicorn request opens: look for it first, from its first quote on.
        return requests_first(quote, true);
    }
    match logfmt::read_first(body, keys, timed) {
        logfmt::First::Read(found) => found.or_else(|| unquoted_status(body, timed)),
        logfmt::First::Later {
            quotes_from,
            logfmt,
        } => requests_first(quotes_from, logfmt),
    }
}

/// The status of the formats read last, after the others failed: HAProxy's `httplog`, whose
/// status comes before its quoted request, and morgan's, which quotes nothing. Each rules a
/// line out by a byte or two at its end or start first, so the lines of the other formats
/// and unparsed lines pay nearly nothing for them.
#[inline(never)]
fn unquoted_status(body: &[u8], timed: bool) -> Option<(u16, Option<f64>)> {
    let end = body.iter().rposition(|b| !b.is_ascii_whitespace())?;
    let body = body.get(..=end)?;
    haproxy::status(body, timed).or_else(|| morgan::status(body, timed))
}

/// The status of a JSON line, and its duration when `timed`, in one pass, or that it is a
/// server's error record: the block scan for the default status keys (which rules the error
/// record out as it goes), the walk by paths for configured ones (then the error-record check
/// apart).
#[inline]
fn json_status(body: &[u8], keys: &LogKeys, timed: bool) -> JsonLine {
    match (keys.default_status(), timed) {
        (true, false) => json::read(body, None),
        (true, true) => json::read(body, Some(keys)),
        (false, _) => match json::status_timed(body, keys, timed) {
            Some(_) if !error_record::is_access(body) => JsonLine::ErrorRecord,
            Some((status, ms)) => JsonLine::Access(status, ms),
            None => JsonLine::Not,
        },
    }
}

/// The status of a CLF (`clf`) or uvicorn (`uvicorn`) access line, and when `timed` the
/// duration after a CLF line's last quoted field (uvicorn lines carry none). `line` has no
/// `"` before index `from`.
#[inline]
fn quoted_status(
    line: &[u8],
    from: usize,
    keys: &LogKeys,
    clf: bool,
    uvicorn: bool,
    timed: bool,
) -> Option<(u16, Option<f64>)> {
    let req = quoted::find_from(line, from)?;
    if !(100..=599).contains(&req.status) {
        return None;
    }
    let as_clf = |req: &quoted::Request| {
        Some((
            req.status,
            timed
                .then(|| clf::duration(line, req, keys.clf_unit()))
                .flatten(),
        ))
    };
    // Nearly always the request opens at the first quote of the line: decide from that alone.
    if clf && clf::opens_request(line, &req) {
        return as_clf(&req);
    }
    let later_clf = || clf && clf::later_quote_opens_request(line, &req);
    match uvicorn
        .then(|| uvicorn::opens_request(line, &req))
        .flatten()
    {
        Some(true) => Some((req.status, None)),
        Some(false) => later_clf().then(|| as_clf(&req)).flatten(),
        None => {
            if later_clf() {
                as_clf(&req)
            } else if uvicorn && uvicorn::later_quote_opens_request(line, &req) {
                Some((req.status, None))
            } else {
                None
            }
        }
    }
}
