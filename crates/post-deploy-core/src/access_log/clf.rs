//! Common and Combined Log Format: `host ident authuser [date] "request" status bytes ...`.
//!
//! gunicorn's default access format is the same shape, so it is read here too.

use memchr::memchr_iter;

use super::quoted::Request;

/// Whether the first quote of the line opens a CLF request. Nearly always it does.
#[inline]
pub(super) fn opens_request(line: &[u8], req: &Request) -> bool {
    after_date(line, req.first_quote)
}

/// Whether another quote before the close opens a CLF request: the rare line with a prefix
/// that has quotes of its own.
pub(super) fn later_quote_opens_request(line: &[u8], req: &Request) -> bool {
    line.get(..req.close)
        .is_some_and(|head| memchr_iter(b'"', head).skip(1).any(|q| after_date(line, q)))
}

/// Whether the bytes right before index `quote` are `] `.
#[inline]
fn after_date(line: &[u8], quote: usize) -> bool {
    line.get(..quote)
        .is_some_and(|before| before.ends_with(b"] "))
}
