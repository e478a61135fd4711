//! Common and Combined Log Format: `host ident authuser [date] "request" status bytes ...`.
//!
//! gunicorn's default access format is the same shape, so it is read here too.

use memchr::memchr_iter;

use super::quoted::Request;

/// Whether `req` sits in a CLF line: the quote that opens the request follows the `] ` that
/// closes the date.
#[inline]
pub(super) fn accepts(line: &[u8], req: &Request) -> bool {
    // Nearly always the first quote of the line; a prefix with quotes of its own is the rare case.
    if after_date(line, req.first_quote) {
        return true;
    }
    line.get(..req.close)
        .is_some_and(|head| memchr_iter(b'"', head).skip(1).any(|q| after_date(line, q)))
}

/// Whether the bytes right before index `quote` are `] `.
#[inline]
fn after_date(line: &[u8], quote: usize) -> bool {
    line.get(..quote).is_some_and(|before| before.ends_with(b"] "))
}
