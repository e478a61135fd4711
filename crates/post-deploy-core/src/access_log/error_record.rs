//! A server's error record about a request it also logs as an access line: not a request.
//!
//! Caddy writes, beside the access line (`"logger":"http.log.access..."`) of a request it
//! answers with an error of its own (a proxy whose upstream is down, the `error` directive),
//! an error record that carries the same `status` and `duration` under a `logger` of
//! `http.log.error` or `http.log.error.<log name>`. Counted as a request, each such request
//! would count twice. Of the servers whose logs the project reads, only Caddy does this:
//! nginx's and lighttpd's error logs quote the request without a status after it, Apache's
//! carry none, and Traefik's and Envoy's own logs have no status key.

use std::sync::LazyLock;

use memchr::memmem::Finder;

use super::json::{is_ws, string_end};

/// Finds the value of a Caddy error logger's `logger` member, built once.
static ERROR_LOGGER: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"\"http.log.error"));

/// Whether a JSON line that holds a status is a request's access line rather than a server's
/// error record about a request it also logs as an access line: Caddy writes, beside the
/// access line (`"logger":"http.log.access..."`) of a request it answers with an error of
/// its own, an error record that carries the same `status` and `duration` under a `logger`
/// of `http.log.error` or `http.log.error.<name>`. Such a line is not a request, so that no
/// request counts twice.
///
/// `body` runs from the line's `{` to its last non-blank byte, a line the status rule
/// accepted. For the lines the JSON block scan leaves to a walk (escapes, configured keys);
/// the block scan rules the error record out in its own pass ([`is_error_logger`]). A search
/// for `"http.log.error`, which nearly every line fails; a hit is the value of a top-level
/// `logger` member when `"logger"` and `:` come right before it and the key is a member of
/// the top-level object (the bytes before it walked for their nesting). Escapes in the name
/// or value are not undone: Caddy writes neither.
#[inline]
pub(super) fn is_access(body: &[u8]) -> bool {
    !ERROR_LOGGER
        .find_iter(body)
        .any(|at| error_logger_at(body, at))
}

/// [`is_access`] once `"http.log.error` was found at `at`.
#[inline(never)]
fn error_logger_at(body: &[u8], at: usize) -> bool {
    let check = || {
        let end = at.checked_add(15)?;
        if !matches!(body.get(end)?, b'"' | b'.') {
            return None;
        }
        let before = body.get(..at)?;
        let before = before.get(..before.iter().rposition(|b| !is_ws(*b))?.checked_add(1)?)?;
        let before = before.strip_suffix(b":")?;
        let before = before.get(..before.iter().rposition(|b| !is_ws(*b))?.checked_add(1)?)?;
        let key = before.len().checked_sub(8)?;
        if before.get(key..)? != b"\"logger\"" {
            return None;
        }
        top_level_key(body, key).then_some(())
    };
    check().is_some()
}

/// [`is_error_logger`], with nearly every string ruled out inline first: by the seven bytes
/// of `logger"`, and a member written as servers write it (`"logger":"` right after) by its
/// value's first fourteen bytes, `http.log.error`.
#[inline(always)]
pub(super) fn may_be_error_logger(body: &[u8], at: usize) -> bool {
    let Some(name) = body
        .get(at.wrapping_add(1)..)
        .and_then(<[u8]>::first_chunk::<9>)
    else {
        // Too short to hold `logger":"http.log.error"`.
        return false;
    };
    if name.first_chunk::<7>() != Some(b"logger\"") {
        return false;
    }
    if name.get(7..9) == Some(b":\"")
        && body
            .get(at.wrapping_add(10)..)
            .and_then(<[u8]>::first_chunk::<14>)
            != Some(b"http.log.error")
    {
        return false;
    }
    is_error_logger(body, at)
}

/// Whether the string whose opening quote is at index `at` of an object `body` without
/// backslashes, at the object's own level (the block scan knows), is the name of a `logger`
/// member whose value names a server's error logger: after the object's `{` or a `,`,
/// `"logger"`, `:` and a string `http.log.error` or `http.log.error.<name>`.
#[inline(never)]
pub(super) fn is_error_logger(body: &[u8], at: usize) -> bool {
    let check = || {
        let rest = body.get(at.checked_add(1)?..)?.strip_prefix(b"logger\"")?;
        let before = body.get(..at)?;
        let prev = before.get(before.iter().rposition(|b| !is_ws(*b))?)?;
        if !matches!(prev, b'{' | b',') {
            return None;
        }
        let value = skip_ws(skip_ws(rest).strip_prefix(b":")?).strip_prefix(b"\"http.log.error")?;
        matches!(value.first(), Some(b'"' | b'.')).then_some(())
    };
    check().is_some()
}

/// `s` without leading JSON whitespace.
fn skip_ws(s: &[u8]) -> &[u8] {
    s.get(s.iter().position(|b| !is_ws(*b)).unwrap_or(s.len())..)
        .unwrap_or_default()
}

/// Whether the quote at index `key` of an object `body` opens the name of one of its own
/// members: outside every string, at the object's own level, after its `{` or a `,`.
fn top_level_key(body: &[u8], key: usize) -> bool {
    let mut depth = 0u32;
    let mut prev = 0u8;
    let mut i = 0usize;
    while i < key {
        let Some(&byte) = body.get(i) else {
            return false;
        };
        match byte {
            b'"' => {
                let Some(close) = i.checked_add(1).and_then(|from| string_end(body, from)) else {
                    return false;
                };
                prev = b'"';
                i = close.saturating_add(1);
                continue;
            }
            b'{' | b'[' => depth = depth.saturating_add(1),
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
        if !is_ws(byte) {
            prev = byte;
        }
        i = i.saturating_add(1);
    }
    i == key && depth == 1 && matches!(prev, b'{' | b',')
}
