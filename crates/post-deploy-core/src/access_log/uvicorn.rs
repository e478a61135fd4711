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
    // Nearly always a method of up to seven letters: decided from one word, without a loop.
    if let Some(word) = content.first_chunk::<8>() {
        let word = u64::from_le_bytes(*word);
        // The high bit of each byte that is not in `A..=Z` (exact per byte: nothing carries
        // across bytes, since every byte is kept below 0x80 before the additions).
        const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
        const HIGHS: u64 = 0x8080_8080_8080_8080;
        let low = word & LOW7;
        let below_a = !(low.wrapping_add(0x3f3f_3f3f_3f3f_3f3f)) & HIGHS; // low < b'A'
        let above_z = low.wrapping_add(0x2525_2525_2525_2525) & HIGHS; // low > b'Z'
        let other = below_a | above_z | (word & HIGHS);
        let len = other.trailing_zeros().wrapping_shr(3);
        // A first byte that is no letter may open a colour code: that is for the loop below.
        if other != 0 && len > 0 {
            return word.wrapping_shr(len.wrapping_mul(8)) & 0xff == u64::from(b' ');
        }
    }
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
    // Nearly always ` HTTP/d.d`: one comparison of the last nine bytes.
    if let Some(tail) = content.last_chunk::<9>()
        && let [b' ', b'H', b'T', b'T', b'P', b'/', major, b'.', minor] = tail
        && major.is_ascii_digit()
        && minor.is_ascii_digit()
    {
        return true;
    }
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
