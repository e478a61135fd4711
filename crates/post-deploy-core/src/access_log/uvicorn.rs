//! uvicorn access lines: `INFO:     127.0.0.1:54321 - "GET /health HTTP/1.1" 200 OK`.
//!
//! Whatever a log configuration puts before the request (time, logger name, level) is ignored:
//! the line is an access line when it holds a quoted `"METHOD target HTTP/version"` followed by
//! a 3-digit status. The colour codes uvicorn writes on a terminal are allowed.

use memchr::{memchr_iter, memrchr};

use super::quoted::{Request, skip_sgr, strip_trailing_sgr};

/// Whether `req` sits in a uvicorn line: the first quote before the close that a method
/// follows opens a request of the shape `METHOD target HTTP/version`.
#[inline]
pub(super) fn accepts(line: &[u8], req: &Request) -> bool {
    let Some(head) = line.get(..req.close) else {
        return false;
    };
    for open in memchr_iter(b'"', head) {
        let Some(content) = head.get(open.saturating_add(1)..) else {
            continue;
        };
        if starts_with_method(content) {
            return ends_with_version(content);
        }
    }
    false
}

/// Whether `content` starts with an upper-case method token and a space.
#[inline]
fn starts_with_method(content: &[u8]) -> bool {
    let content = skip_sgr(content);
    let len = content.iter().take_while(|b| b.is_ascii_uppercase()).count();
    len > 0 && content.get(len) == Some(&b' ')
}

/// Whether `content` ends with ` HTTP/` and a version of digits and dots.
#[inline]
fn ends_with_version(content: &[u8]) -> bool {
    let content = strip_trailing_sgr(content);
    let Some(space) = memrchr(b' ', content) else {
        return false;
    };
    let Some(version) = content
        .get(space.saturating_add(1)..)
        .and_then(|word| word.strip_prefix(b"HTTP/"))
    else {
        return false;
    };
    !version.is_empty() && version.iter().all(|b| b.is_ascii_digit() || *b == b'.')
}
