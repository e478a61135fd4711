//! Common and Combined Log Format: `host ident authuser [date] "request" status bytes ...`.
//!
//! gunicorn's default access format is the same shape, so it is read here too.

use memchr::{memchr_iter, memrchr};

use super::keys::DurationUnit;
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

/// The duration a CLF line carries: the number after its last quoted field (after the status
/// and size when the request is that field), in milliseconds. An integer is in `unit`
/// (microseconds by default: Apache's `%D`), a number with a point seconds (nginx's
/// `$request_time`).
#[inline]
pub(super) fn duration(line: &[u8], req: &Request, unit: DurationUnit) -> Option<f64> {
    let last = memrchr(b'"', line)?;
    let after = line.get(last.checked_add(1)?..)?;
    let mut fields = after
        .split(|b| *b == b' ' || *b == b'\t')
        .filter(|f| !f.is_empty());
    if last == req.close {
        // `status bytes`, then the duration.
        fields.next()?;
        fields.next()?;
    }
    let raw = fields.next()?;
    let value = super::duration::number(raw)?;
    let unit = if raw.contains(&b'.') {
        DurationUnit::S
    } else if raw.iter().all(u8::is_ascii_digit) {
        unit
    } else {
        return None;
    };
    Some(super::duration::to_ms(value, unit))
}
