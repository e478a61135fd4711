//! HAProxy's `option httplog` lines: `10.0.1.2:33317 [06/Feb/2009:12:14:14.655] http-in
//! static/srv1 10/0/30/69/109 200 2750 - - ---- 1/1/1/1/0 0/0 "GET /index.html HTTP/1.1"`.
//!
//! A line is one when, after anything (a syslog header such as `haproxy[14389]: `, or
//! nothing with `log stdout format raw`), it holds a client and a space, the accept date in
//! brackets with milliseconds (`[dd/Mon/yyyy:hh:mm:ss.mmm]`), the frontend, `backend/server`,
//! the five timers `TR/Tw/Tc/Tr/Ta` (each a whole number, `-1` where it was not reached; `Ta`
//! may carry a leading `+` with `option logasap`), the 3-digit status, and ends with the quoted
//! request. The duration is `Ta`, the request's whole time in milliseconds, when it is not
//! `-1`; a leading `+` is ignored.

use memchr::memchr_iter;

use super::quoted::digits;

/// The status of an HAProxy `httplog` line and, with `timed`, its `Ta` in milliseconds;
/// `None` when `line` is not one (see the module doc). `line` has no trailing blanks.
#[inline]
pub(super) fn status(line: &[u8], timed: bool) -> Option<(u16, Option<f64>)> {
    if line.last() != Some(&b'"') {
        return None;
    }
    let after = memchr_iter(b'[', line).find_map(|open| after_accept_date(line, open))?;
    let mut fields = after.split(|b| *b == b' ');
    let frontend = fields.next()?;
    let backend = fields.next()?;
    if frontend.is_empty() || !backend.contains(&b'/') {
        return None;
    }
    let ta = total_time(fields.next()?)?;
    let [a, b, c] = fields.next()? else {
        return None;
    };
    if !(a.is_ascii_digit() && b.is_ascii_digit() && c.is_ascii_digit()) {
        return None;
    }
    // `ta` is a whole number of milliseconds below 2^63: exact enough as f64.
    #[expect(clippy::cast_precision_loss, reason = "a count of milliseconds")]
    let ms = ta.map(|t| t as f64);
    Some((digits(*a, *b, *c), if timed { ms } else { None }))
}

/// The bytes after `] ` when the `[` at `open` opens an accept date with milliseconds and a
/// client (a space, and a token before it) comes before it.
#[inline]
fn after_accept_date(line: &[u8], open: usize) -> Option<&[u8]> {
    if open < 2 || line.get(open.checked_sub(1)?) != Some(&b' ') {
        return None;
    }
    let date = line.get(open.checked_add(1)?..)?;
    let [
        d0,
        d1,
        b'/',
        _,
        _,
        _,
        b'/',
        y0,
        y1,
        y2,
        y3,
        b':',
        h0,
        h1,
        b':',
        m0,
        m1,
        b':',
        s0,
        s1,
        b'.',
        f0,
        f1,
        f2,
        b']',
        b' ',
        rest @ ..,
    ] = date
    else {
        return None;
    };
    let numbers = [d0, d1, y0, y1, y2, y3, h0, h1, m0, m1, s0, s1, f0, f1, f2];
    numbers.iter().all(|b| b.is_ascii_digit()).then_some(rest)
}

/// `TR/Tw/Tc/Tr/Ta`: five whole numbers (`-1` allowed, `+` before `Ta` allowed); `Ta` in
/// milliseconds, or `None` within `Some` when it is `-1`.
#[inline]
fn total_time(timers: &[u8]) -> Option<Option<u64>> {
    let mut parts = timers.split(|b| *b == b'/');
    for _ in 0..4 {
        whole(parts.next()?)?;
    }
    let last = parts.next()?;
    if parts.next().is_some() {
        return None;
    }
    whole(last.strip_prefix(b"+").unwrap_or(last))
}

/// A whole number of up to 18 digits, or `-1` (read as `None` within `Some`).
#[inline]
fn whole(raw: &[u8]) -> Option<Option<u64>> {
    if raw == b"-1" {
        return Some(None);
    }
    if raw.is_empty() || raw.len() > 18 {
        return None;
    }
    raw.iter()
        .try_fold(0u64, |n, b| {
            let digit = b.wrapping_sub(b'0');
            // At most 18 digits: below 10^18 < 2^63.
            (digit < 10).then(|| n.wrapping_mul(10).wrapping_add(u64::from(digit)))
        })
        .map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn httplog_lines() {
        let raw = br#"127.0.0.1:59990 [07/Dec/2026:00:37:53.633] web app/app1 0/0/0/3/4 200 139 - - ---- 7/7/5/5/0 0/0 "GET /ok?n=1 HTTP/1.1""#;
        assert_eq!(status(raw, true), Some((200, Some(4.0))));
        assert_eq!(status(raw, false), Some((200, None)));
        let syslog = br#"<134>Feb  6 12:14:14 localhost haproxy[14389]: 10.0.1.2:33317 [06/Feb/2009:12:14:14.655] http-in static/srv1 10/0/30/69/109 503 2750 - - ---- 1/1/1/1/0 0/0 {1wt.eu} {} "GET /index.html HTTP/1.1""#;
        assert_eq!(status(syslog, true), Some((503, Some(109.0))));
        let logasap = br#"[::1]:5000 [06/Feb/2009:12:14:14.655] fe~ be/<NOSRV> -1/-1/-1/-1/+0 400 0 - - CR-- 1/1/0/0/0 0/0 "<BADREQ>""#;
        assert_eq!(status(logasap, true), Some((400, Some(0.0))));
        let aborted = br#"10.0.1.2:33317 [06/Feb/2009:12:14:14.655] fe be/s1 10/0/30/-1/-1 504 0 - - sH-- 1/1/1/1/0 0/0 "GET / HTTP/1.1""#;
        assert_eq!(status(aborted, true), Some((504, None)));
        for bad in [
            // tcplog: no status, no request.
            &br#"10.0.1.2:33317 [06/Feb/2009:12:14:14.655] fe be/s1 0/0/5007 212 -- 0/0/0/0/3 0/0"#[..],
            // Four timers, a date without milliseconds, no backend/server, no client.
            br#"1.2.3.4:5 [06/Feb/2009:12:14:14.655] fe be/s1 0/0/0/4 200 1 - - ---- 0/0/0/0/0 0/0 "GET / HTTP/1.1""#,
            br#"1.2.3.4:5 [06/Feb/2009:12:14:14] fe be/s1 0/0/0/3/4 200 1 - - ---- 0/0/0/0/0 0/0 "GET / HTTP/1.1""#,
            br#"1.2.3.4:5 [06/Feb/2009:12:14:14.655] fe be 0/0/0/3/4 200 1 - - ---- 0/0/0/0/0 0/0 "GET / HTTP/1.1""#,
            br#"[06/Feb/2009:12:14:14.655] fe be/s1 0/0/0/3/4 200 1 - - ---- 0/0/0/0/0 0/0 "GET / HTTP/1.1""#,
            br#"1.2.3.4:5 [06/Feb/2009:12:14:14.655] fe be/s1 0/0/0/3/x 200 1 "GET / HTTP/1.1""#,
            br#"1.2.3.4:5 [06/Feb/2009:12:14:14.655] fe be/s1 0/0/0/3/4 20x 1 "GET / HTTP/1.1""#,
            br#"1.2.3.4:5 [06/Feb/2009:12:14:14.655] fe be/s1 0/0/0/3/4 200 1 "GET / HTTP/1.1" x"#,
        ] {
            assert_eq!(status(bad, true), None, "{}", String::from_utf8_lossy(bad));
        }
    }
}
