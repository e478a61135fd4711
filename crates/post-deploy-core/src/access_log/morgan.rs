//! The access lines of Node's morgan middleware in its predefined formats:
//! - `tiny`: `GET /ok 200 3 - 5.815 ms`
//! - `short`: `127.0.0.1 - GET /ok HTTP/1.1 200 3 - 5.815 ms`
//! - `dev`: `GET /ok 200 5.815 ms - 3`, with the colour codes morgan always writes in it
//!   (`\x1b[0mGET /ok \x1b[32m200\x1b[0m 5.815 ms - 3\x1b[0m`), which are stripped.
//!
//! The line is its words, split at spaces, each without a colour code before or after it; it
//! is one of these when its words are exactly those of a format: an upper-case method, the
//! URL, (`short`: `HTTP/` and the version,) a 3-digit status, the response's length (digits
//! or `-`), and `:response-time ms` (milliseconds; a `-` there: no duration).

use super::duration;
use super::quoted::{digits, skip_sgr, strip_trailing_sgr};

/// The most words of a morgan line (`short`'s ten).
const MAX_WORDS: usize = 10;

/// The status of a morgan `tiny`, `short` or `dev` line and, with `timed`, its response time
/// in milliseconds; `None` when `line` is not one. `line` has no trailing blanks.
#[inline]
pub(super) fn status(line: &[u8], timed: bool) -> Option<(u16, Option<f64>)> {
    // Nearly every other line is ruled out here: `tiny` and `short` end with ` ms`, `dev`
    // starts with a colour code.
    if !(line.ends_with(b" ms") || line.starts_with(b"\x1b[")) {
        return None;
    }
    let mut words: [&[u8]; MAX_WORDS] = [&[]; MAX_WORDS];
    let mut n = 0usize;
    for word in line.split(|b| *b == b' ') {
        *words.get_mut(n)? = strip_trailing_sgr(skip_sgr(word));
        n = n.saturating_add(1);
    }
    let (status, length, time) = match words.get(..n)? {
        // tiny
        [method, url, status, length, b"-", time, b"ms"] if is_request(method, url) => {
            (status, length, time)
        }
        // dev
        [method, url, status, time, b"ms", b"-", length] if is_request(method, url) => {
            (status, length, time)
        }
        // short
        [
            _,
            _,
            method,
            url,
            version,
            status,
            length,
            b"-",
            time,
            b"ms",
        ] if is_request(method, url) && version.starts_with(b"HTTP/") => (status, length, time),
        _ => return None,
    };
    let [a, b, c] = status else {
        return None;
    };
    if !(a.is_ascii_digit() && b.is_ascii_digit() && c.is_ascii_digit()) {
        return None;
    }
    if !(*length == b"-" || (!length.is_empty() && length.iter().all(u8::is_ascii_digit))) {
        return None;
    }
    let ms = if *time == b"-" {
        None
    } else {
        Some(duration::number(time)?)
    };
    Some((digits(*a, *b, *c), if timed { ms } else { None }))
}

/// An upper-case method of 1 to 16 letters, and a URL that is not empty.
#[inline]
fn is_request(method: &[u8], url: &[u8]) -> bool {
    (1..=16).contains(&method.len()) && method.iter().all(u8::is_ascii_uppercase) && !url.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn predefined_formats() {
        assert_eq!(
            status(b"GET /ok?n=1 200 3 - 5.815 ms", true),
            Some((200, Some(5.815)))
        );
        assert_eq!(
            status(b"127.0.0.1 - GET /ok?n=1 HTTP/1.1 503 3 - 201.5 ms", true),
            Some((503, Some(201.5)))
        );
        assert_eq!(
            status(
                b"::ffff:10.0.0.2 alice POST /a HTTP/2.0 201 - - 0.240 ms",
                true
            ),
            Some((201, Some(0.24)))
        );
        assert_eq!(
            status(
                b"\x1b[0mGET /ok?n=1 \x1b[32m200\x1b[0m 5.815 ms - 3\x1b[0m",
                true
            ),
            Some((200, Some(5.815)))
        );
        assert_eq!(
            status(
                b"\x1b[0mGET /x \x1b[31m500\x1b[0m 1.000 ms - -\x1b[0m",
                false
            ),
            Some((500, None))
        );
        // No response time yet.
        assert_eq!(status(b"GET / 200 - - - ms", true), Some((200, None)));
        for bad in [
            &b"GET / 200 3 - 5.815"[..],
            b"get / 200 3 - 5.815 ms",
            b"GET / 2000 3 - 5.815 ms",
            b"GET / - 3 - 5.815 ms",
            b"GET / 200 3x - 5.815 ms",
            b"GET / 200 3 - fast ms",
            b"GET  / 200 3 - 5.815 ms",
            b"127.0.0.1 - GET / XTTP/1.1 200 3 - 5.815 ms",
            b"the request took 5 ms",
            b"a b c d e f g h i j k l ms",
            b"\x1b[0mstarted\x1b[0m",
        ] {
            assert_eq!(status(bad, true), None, "{}", String::from_utf8_lossy(bad));
        }
    }
}
