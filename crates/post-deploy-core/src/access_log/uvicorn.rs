//! uvicorn access lines: `INFO:     127.0.0.1:54321 - "GET /health HTTP/1.1" 200 OK`.
//!
//! Whatever a log configuration puts before the request (time, logger name, level) is ignored:
//! the line is an access line when it holds a quoted `"METHOD target HTTP/version"` followed by
//! a 3-digit status. The colour codes uvicorn writes on a terminal are allowed.

use memchr::memchr_iter;

use super::quoted::{Request, skip_sgr, strip_trailing_sgr};

/// When a method follows the first quote of the line, whether it opens a uvicorn request;
/// `None` when no method follows it.
#[inline]
pub(super) fn opens_request(line: &[u8], req: &Request) -> Option<bool> {
    let content = line.get(req.first_quote.saturating_add(1)..req.close)?;
    starts_with_method(content).then(|| ends_with_version(content))
}

/// Whether the first later quote before the close that a method follows opens a uvicorn
/// request: the rare line with a prefix that has quotes of its own.
pub(super) fn later_quote_opens_request(line: &[u8], req: &Request) -> bool {
    let Some(head) = line.get(..req.close) else {
        return false;
    };
    for open in memchr_iter(b'"', head).skip(1) {
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
    let len = content
        .iter()
        .take_while(|b| b.is_ascii_uppercase())
        .count();
    len > 0 && content.get(len) == Some(&b' ')
}

/// Whether `content` ends with ` HTTP/` and a version of digits and dots.
#[inline]
fn ends_with_version(content: &[u8]) -> bool {
    let content = strip_trailing_sgr(content);
    let version = content
        .iter()
        .rev()
        .take_while(|b| b.is_ascii_digit() || **b == b'.')
        .count();
    version > 0
        && content
            .get(..content.len().saturating_sub(version))
            .is_some_and(|head| head.ends_with(b" HTTP/"))
}
