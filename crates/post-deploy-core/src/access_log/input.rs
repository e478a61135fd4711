//! A log as its text: gzip'd input read through a decoder, found by its magic bytes, and the
//! RFC 3339 stamp `docker logs --timestamps` writes before each line.
//!
//! Both are for any reader of recorded logs (`count-5xx`, a replay of a window): a rotated
//! `access.log.1.gz` or a compressed stream is read as what it holds, and
//! `docker logs -t CONTAINER | post-deploy count-5xx` counts as `docker logs CONTAINER` does.

use std::io::{self, Chain, Cursor, Read, Take};

use flate2::bufread::MultiGzDecoder;

/// The first two bytes of every gzip member.
pub(super) const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// The reader's first bytes, read to look for the magic, then the rest of the reader.
type Rewound<R> = Chain<Take<Cursor<[u8; 2]>>, R>;

/// A log's text: what [`open_log`] returns.
#[derive(Debug)]
pub struct LogReader<R: Read> {
    inner: Inner<R>,
}

#[derive(Debug)]
enum Inner<R: Read> {
    Plain(Rewound<R>),
    /// Every member of the stream (`cat a.gz b.gz` is one log), through a buffer.
    Gzip(Box<MultiGzDecoder<io::BufReader<Rewound<R>>>>),
}

impl<R: Read> LogReader<R> {
    /// Whether the input is gzip-compressed (and is read decompressed).
    #[must_use]
    pub fn is_gzip(&self) -> bool {
        matches!(self.inner, Inner::Gzip(_))
    }
}

impl<R: Read> Read for LogReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match &mut self.inner {
            Inner::Plain(r) => r.read(buf),
            // A decoder's error says what is wrong with the stream, not that it is gzip.
            Inner::Gzip(r) => r.read(buf).map_err(|e| match e.kind() {
                io::ErrorKind::Interrupted => e,
                kind => io::Error::new(kind, format!("not a whole gzip stream: {e}")),
            }),
        }
    }
}

/// `reader` as a log's text: decompressed when it starts with gzip's magic bytes, as it is
/// otherwise. Only the first two bytes are read here.
///
/// # Errors
///
/// The first read error other than [`io::ErrorKind::Interrupted`]. A damaged or truncated
/// gzip stream is an error of the later reads, saying `gzip`.
pub fn open_log<R: Read>(mut reader: R) -> io::Result<LogReader<R>> {
    let mut head = [0u8; 2];
    let mut len = 0usize;
    while let Some(rest) = head.get_mut(len..) {
        if rest.is_empty() {
            break;
        }
        match reader.read(rest) {
            Ok(0) => break,
            Ok(n) => len = len.saturating_add(n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let gzip = len == 2 && head == GZIP_MAGIC;
    let rewound = Cursor::new(head).take(len as u64).chain(reader);
    let inner = if gzip {
        Inner::Gzip(Box::new(MultiGzDecoder::new(io::BufReader::with_capacity(
            1 << 16,
            rewound,
        ))))
    } else {
        Inner::Plain(rewound)
    };
    Ok(LogReader { inner })
}

/// A line's leading RFC 3339 stamp as `docker logs --timestamps` writes it, and the rest of
/// the line after the one space that follows it: `2026-12-07T00:34:17.123456789Z GET ...`.
/// The stamp is `YYYY-MM-DDTHH:MM:SS`, maybe a fraction, then `Z` or an offset `±HH:MM`;
/// only its shape is checked here (parse the stamp for its time). `None` when the line does
/// not start so.
#[must_use]
#[inline]
pub fn split_stamp(line: &[u8]) -> Option<(&[u8], &[u8])> {
    let [
        y0,
        y1,
        y2,
        y3,
        b'-',
        m0,
        m1,
        b'-',
        d0,
        d1,
        b'T' | b't',
        h0,
        h1,
        b':',
        n0,
        n1,
        b':',
        s0,
        s1,
        rest @ ..,
    ] = line
    else {
        return None;
    };
    let digits = [y0, y1, y2, y3, m0, m1, d0, d1, h0, h1, n0, n1, s0, s1];
    if !digits.iter().all(|d| d.is_ascii_digit()) {
        return None;
    }
    let rest = match rest {
        [b'.', fraction @ ..] => {
            let n = fraction.iter().take_while(|b| b.is_ascii_digit()).count();
            if n == 0 {
                return None;
            }
            fraction.get(n..)?
        }
        _ => rest,
    };
    let after_zone = match rest {
        [b'Z' | b'z', after @ ..] => after,
        [b'+' | b'-', a, b, b':', c, d, after @ ..]
            if [a, b, c, d].iter().all(|x| x.is_ascii_digit()) =>
        {
            after
        }
        _ => return None,
    };
    let [b' ', after @ ..] = after_zone else {
        return None;
    };
    let stamp_len = line.len().checked_sub(after_zone.len())?;
    Some((line.get(..stamp_len)?, after))
}

/// `line` without a leading stamp as [`split_stamp`] finds it; the line as it is otherwise.
#[must_use]
#[inline(never)]
pub fn strip_stamp(line: &[u8]) -> &[u8] {
    // Nearly every line that is not stamped is ruled out by its fifth byte.
    if line.get(4) != Some(&b'-') {
        return line;
    }
    split_stamp(line).map_or(line, |(_, rest)| rest)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(bytes).unwrap();
        enc.finish().unwrap()
    }

    fn read_all(bytes: &[u8]) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        open_log(bytes)?.read_to_end(&mut out)?;
        Ok(out)
    }

    /// Yields one byte per read: the magic must be found across short reads.
    struct Trickle<'a>(&'a [u8]);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            match (self.0.split_first(), buf.first_mut()) {
                (Some((b, rest)), Some(slot)) => {
                    *slot = *b;
                    self.0 = rest;
                    Ok(1)
                }
                _ => Ok(0),
            }
        }
    }

    #[test]
    fn plain_and_gzip_read_as_their_text() {
        let text = b"a line\nanother\n".repeat(1000);
        assert_eq!(read_all(&text).unwrap(), text);
        assert_eq!(read_all(&gzip(&text)).unwrap(), text);
        // Members one after another are one log.
        let two = [gzip(b"first\n"), gzip(b"second\n")].concat();
        assert_eq!(read_all(&two).unwrap(), b"first\nsecond\n");
        // Short inputs, and the magic's first byte alone.
        for short in [&b""[..], b"x", b"\x1f", b"\x1fx"] {
            assert_eq!(read_all(short).unwrap(), short);
        }
        let mut out = Vec::new();
        let gz = gzip(&text);
        let mut log = open_log(Trickle(&gz)).unwrap();
        assert!(log.is_gzip());
        log.read_to_end(&mut out).unwrap();
        assert_eq!(out, text);
    }

    #[test]
    fn damaged_gzip_is_an_error_saying_gzip() {
        let gz = gzip(&b"a line of a log\n".repeat(5000));
        let truncated = gz.get(..gz.len() / 2).unwrap();
        let mut corrupt = gz.clone();
        let middle = corrupt.len() / 2;
        *corrupt.get_mut(middle).unwrap() ^= 0xff;
        for bad in [truncated, &corrupt, &gz[..12]] {
            let err = read_all(bad).unwrap_err();
            assert!(err.to_string().contains("gzip"), "{err}");
        }
    }

    /// A line, and its stamp and rest when it has one.
    type Case<'a> = (&'a [u8], Option<(&'a [u8], &'a [u8])>);

    #[test]
    fn docker_stamps() {
        let cases: [Case<'_>; 9] = [
            (
                b"2026-12-07T00:34:17.123456789Z GET / 200",
                Some((b"2026-12-07T00:34:17.123456789Z", b"GET / 200")),
            ),
            (
                b"2026-12-07T00:34:17Z {\"status\":500}",
                Some((b"2026-12-07T00:34:17Z", b"{\"status\":500}")),
            ),
            (
                b"2026-12-07T01:34:17.5+01:00 x",
                Some((b"2026-12-07T01:34:17.5+01:00", b"x")),
            ),
            (
                b"2026-12-07T00:34:17Z ",
                Some((b"2026-12-07T00:34:17Z", b"")),
            ),
            (b"2026-12-07T00:34:17Z", None),
            (b"2026-12-07 00:34:17Z x", None),
            (b"2026-12-07T00:34:17. x", None),
            (b"2026-12-07T00:34:17+0100 x", None),
            (
                b"127.0.0.1 - - [07/Dec/2026:00:34:17 +0000] \"GET / HTTP/1.1\" 200 3",
                None,
            ),
        ];
        for (line, want) in cases {
            assert_eq!(split_stamp(line), want, "{}", String::from_utf8_lossy(line));
            let stripped = want.map_or(line, |(_, rest)| rest);
            assert_eq!(strip_stamp(line), stripped);
        }
    }
}
