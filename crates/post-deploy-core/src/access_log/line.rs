//! One line: blank, an access line with its status, or something else.

use super::keys::LogKeys;
use super::{LogFormat, clf, json, logfmt, quoted, uvicorn};

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
#[inline]
pub(super) fn classify(format: LogFormat, keys: &LogKeys, raw: &[u8]) -> Line {
    let line = match raw {
        [head @ .., b'\r'] => head,
        _ => raw,
    };
    let Some(start) = line.iter().position(|b| !b.is_ascii_whitespace()) else {
        return Line::Blank;
    };
    let body = line.get(start..).unwrap_or_default();
    let status = match format {
        LogFormat::Auto => {
            if body.first() == Some(&b'{') {
                json_status(body, keys).or_else(|| quoted_status(line, true, true))
            } else {
                quoted_status(line, true, true).or_else(|| logfmt::status(body, keys))
            }
        }
        LogFormat::Clf => quoted_status(line, true, false),
        LogFormat::Json => json_status(body, keys),
        LogFormat::Uvicorn => quoted_status(line, false, true),
        LogFormat::Logfmt => logfmt::status(body, keys),
    };
    match status {
        Some(status) if (100..=599).contains(&status) => Line::Access(status),
        _ => Line::Other,
    }
}

/// The status of a JSON line: the block scan for the default keys, the walk by paths for
/// configured ones.
#[inline]
fn json_status(body: &[u8], keys: &LogKeys) -> Option<u16> {
    if keys.default_status() {
        json::status(body)
    } else {
        json::status_with(body, keys)
    }
}

/// The status of a CLF (`clf`) or uvicorn (`uvicorn`) access line.
#[inline]
fn quoted_status(line: &[u8], clf: bool, uvicorn: bool) -> Option<u16> {
    let req = quoted::find(line)?;
    if !(100..=599).contains(&req.status) {
        return None;
    }
    // Nearly always the request opens at the first quote of the line: decide from that alone.
    if clf && clf::opens_request(line, &req) {
        return Some(req.status);
    }
    let accepted = match uvicorn
        .then(|| uvicorn::opens_request(line, &req))
        .flatten()
    {
        Some(true) => true,
        Some(false) => clf && clf::later_quote_opens_request(line, &req),
        None => {
            (clf && clf::later_quote_opens_request(line, &req))
                || (uvicorn && uvicorn::later_quote_opens_request(line, &req))
        }
    };
    accepted.then_some(req.status)
}
