//! The shape CLF and uvicorn lines share: a quoted request, then a space and a 3-digit status.

use super::simd;

/// A quoted request found in a line, and the status that follows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Request {
    /// Index of the first `"` of the line.
    pub(super) first_quote: usize,
    /// Index of the `"` that closes the request: the first unescaped quote after `first_quote`
    /// that a space and a 3-digit status follow.
    pub(super) close: usize,
    /// The three digits as a number, 0..=999 (the caller checks the range).
    pub(super) status: u16,
}

/// Finds the request and its status, in one pass over the quotes of `line`.
///
/// A quote inside the request that is not followed by a status (a raw `"` that gunicorn or a
/// query string left unescaped) is stepped over; one escaped as `\"` (Apache) is never a close.
#[cfg(test)]
pub(super) fn find(line: &[u8]) -> Option<Request> {
    find_from(line, 0)
}

/// [`find`] in a `line` that has no `"` before index `from`: the search for its first quote
/// starts there (and ends there at once when the caller found that quote).
#[inline]
pub(super) fn find_from(line: &[u8], from: usize) -> Option<Request> {
    let first_quote = if line.get(from) == Some(&b'"') {
        from
    } else {
        from.checked_add(simd::find::<b'"'>(line.get(from..)?)?)?
    };
    let mut from = first_quote.checked_add(1)?;
    loop {
        let close = from.checked_add(simd::find::<b'"'>(line.get(from..)?)?)?;
        if let Some(status) = status_after(line, close)
            && !is_escaped(line, close)
        {
            return Some(Request {
                first_quote,
                close,
                status,
            });
        }
        from = close.checked_add(1)?;
    }
}

/// The status right after the quote at `close`: `" ` then an optional colour code (uvicorn on
/// a terminal), three digits, then the end of the line, a space, a tab or a colour code.
#[inline]
fn status_after(line: &[u8], close: usize) -> Option<u16> {
    let [b'"', b' ', rest @ ..] = line.get(close..)? else {
        return None;
    };
    let [a, b, c, tail @ ..] = skip_sgr(rest) else {
        return None;
    };
    if !(a.is_ascii_digit() && b.is_ascii_digit() && c.is_ascii_digit()) {
        return None;
    }
    if !matches!(tail.first(), None | Some(b' ' | b'\t' | 0x1b)) {
        return None;
    }
    Some(digits(*a, *b, *c))
}

/// The value of three ASCII digits.
#[inline]
pub(super) fn digits(a: u8, b: u8, c: u8) -> u16 {
    // Each term is at most 900, 90 and 9: nothing wraps.
    u16::from(a & 0x0f)
        .wrapping_mul(100)
        .wrapping_add(u16::from(b & 0x0f).wrapping_mul(10))
        .wrapping_add(u16::from(c & 0x0f))
}

/// Whether the quote at `quote` is escaped: an odd number of backslashes right before it.
#[inline]
fn is_escaped(line: &[u8], quote: usize) -> bool {
    let Some(before) = line.get(..quote) else {
        return false;
    };
    if before.last() != Some(&b'\\') {
        return false;
    }
    before.iter().rev().take_while(|&&b| b == b'\\').count() & 1 == 1
}

/// `s` without one leading ANSI colour code (`ESC [ digits/semicolons m`), if it has one.
#[inline]
pub(super) fn skip_sgr(s: &[u8]) -> &[u8] {
    let Some(params) = s.strip_prefix(b"\x1b[") else {
        return s;
    };
    let n = params
        .iter()
        .position(|b| !(b.is_ascii_digit() || *b == b';'))
        .unwrap_or(params.len());
    match params.get(n..) {
        Some([b'm', rest @ ..]) => rest,
        _ => s,
    }
}

/// `s` without one trailing ANSI colour code, if it ends with one.
pub(super) fn strip_trailing_sgr(s: &[u8]) -> &[u8] {
    if s.last() != Some(&b'm') {
        return s;
    }
    let Some(esc) = memchr::memrchr(0x1b, s) else {
        return s;
    };
    match (s.get(..esc), s.get(esc..)) {
        (Some(head), Some(code)) if skip_sgr(code).is_empty() => head,
        _ => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_request_and_status() {
        let line = br#"1.2.3.4 - - [d] "GET / HTTP/1.1" 503 12 "-" "x""#;
        let req = find(line).unwrap();
        assert_eq!(req.first_quote, 16);
        assert_eq!(req.close, 31);
        assert_eq!(req.status, 503);
    }

    #[test]
    fn escaped_quotes_are_not_closes() {
        let line = br#"h - - [d] "GET /a\" 500 b HTTP/1.1" 200 1"#;
        assert_eq!(find(line).unwrap().status, 200);
        // An escaped backslash before the quote: the quote closes.
        let line = br#"h - - [d] "GET /a\\" 500 1"#;
        assert_eq!(find(line).unwrap().status, 500);
    }

    #[test]
    fn raw_quotes_without_status_are_stepped_over() {
        let line = br#"h - - [d] "GET /?q="x" HTTP/1.1" 404 1"#;
        assert_eq!(find(line).unwrap().status, 404);
    }

    #[test]
    fn status_must_be_three_digits_then_a_separator() {
        assert_eq!(find(br#""GET / HTTP/1.1" 99 1"#), None);
        assert_eq!(find(br#""GET / HTTP/1.1" 5000 1"#), None);
        assert_eq!(find(br#""GET / HTTP/1.1" 50x"#), None);
        assert_eq!(find(br#""GET / HTTP/1.1"  500"#), None);
        assert_eq!(find(br#""GET / HTTP/1.1" 500"#).unwrap().status, 500);
        assert_eq!(find(b"\"GET / HTTP/1.1\" 500\t1").unwrap().status, 500);
        assert_eq!(
            find(b"\"GET / HTTP/1.1\" \x1b[31m500 Internal")
                .unwrap()
                .status,
            500
        );
    }

    #[test]
    fn colour_codes() {
        assert_eq!(skip_sgr(b"\x1b[1mGET"), b"GET");
        assert_eq!(skip_sgr(b"\x1b[1;31mGET"), b"GET");
        assert_eq!(skip_sgr(b"\x1b[1GET"), b"\x1b[1GET");
        assert_eq!(skip_sgr(b"\x1b["), b"\x1b[");
        assert_eq!(strip_trailing_sgr(b"HTTP/1.1\x1b[0m"), b"HTTP/1.1");
        assert_eq!(strip_trailing_sgr(b"HTTP/1.1m"), b"HTTP/1.1m");
        assert_eq!(strip_trailing_sgr(b"\x1b[0mx m"), b"\x1b[0mx m");
    }
}
