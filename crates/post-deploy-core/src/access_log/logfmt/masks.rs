//! A logfmt line's pairs checked all at once from bit masks of its bytes, without a step per
//! pair; then only the pairs whose key can be a status or duration key are read.
//!
//! For the bytes from the first key to the end (at most [`MAX_LEN`], with no `\` and no `'`:
//! other lines are walked), with blanks B (space, tab), `=` E, `"` Q and the line's bytes L,
//! bit i standing for byte i:
//! - `inq = prefix_xor(Q)`: the bytes from a quote with an even number of quotes before it
//!   (an opener, O) up to the next quote (a closer, C);
//! - separators `SEP = B & L & !inq`, token bytes `T = L & !SEP`, token starts
//!   `TS = T & !(T << 1)`;
//! - key bytes `A = T & !E & !Q`; key ends `KE = (A + TS) & !A` (the carry of a token start
//!   runs through the key bytes after it and stops on the first other byte);
//! - value starts `V = KE << 1`.
//!
//! The line is taken as checked when `TS ⊆ A`, `KE ⊆ E & L`, `O ⊆ V`, no token byte follows a
//! closer (`(C << 1) & T = 0`) and no quote is open at the end. Then the walk
//! (`super::pairs`) reads exactly these tokens, each a pair, and so accepts the line, by
//! induction over the positions it reaches, each a token start with an even number of quotes
//! before it (true of the first: nothing before it but blanks, which are separators):
//! - its key runs over the bytes that are not `=`, `"` or a blank. No quote is open, so the
//!   blanks there are separators, and that run is the run of A from the start; it is not empty
//!   (`TS ⊆ A`) and ends on `=` (`KE ⊆ E`), as the walk requires;
//! - if the value opens with `"`, that quote is an opener; with no `\` the walk's closing quote
//!   is the next quote, the closer, which exists (no quote open at the end); a blank or the end
//!   follows it (no token byte follows a closer), as the walk requires. The bytes from the
//!   opener to the closer are inside quotes, so no separator: the token is key, `=`, value;
//! - otherwise the value is bare, and holds no `"`: its first one would be an opener that is
//!   no value's start (the value starts of the other tokens lie in those tokens or right after
//!   them), against `O ⊆ V`. With no quote open its blanks are separators, so the walk's value
//!   (up to the next blank or the end) ends where the token does;
//! - after the value the walk steps over blanks outside quotes, that is separators, to the next
//!   token start, with an even number of quotes before it again, or to the end.
//!
//! So the walk visits the token starts in order, reads each token as key `=` value (quotes
//! stripped), and what it answers depends only on those pairs: the same pairs read here, in
//! the same order, by the same [`super::visit`], give its answer. When a check fails the line
//! is left to the walk, which alone says whether it is logfmt (`a=b"c status=200` is: a bare
//! value may hold a `"`).

use super::super::keys::LogKeys;
use super::super::simd;
use super::{Found, visit};

/// The most bytes, from the first key to the end, that the masks read; longer lines are
/// walked.
pub(super) const MAX_LEN: usize = 256;

/// The 64-bit words of [`MAX_LEN`] bytes.
const WORDS: usize = MAX_LEN / 64;

/// The token starts, key ends (their `=`), separators and quotes of a checked line, a word
/// per 64 bytes.
struct Tokens {
    starts: [u64; WORDS],
    key_ends: [u64; WORDS],
    seps: [u64; WORDS],
    quotes: [u64; WORDS],
}

/// What the walk would answer for `s` (the bytes from the first key to the end), or `None`
/// when the masks cannot tell and the walk must read it.
#[inline]
pub(super) fn status_timed(s: &[u8], keys: &LogKeys, timed: bool) -> Option<Found> {
    read(s, &check(s)?, keys, timed)
}

/// [`status_timed`], but `None` too when a quote of `s` is followed by a space and a digit or
/// `ESC`: only then may a line whose quotes are all in `s` hold a quoted request, as CLF and
/// uvicorn lines do (`" ` and a status, maybe after a colour code: see `quoted::find`).
#[inline]
pub(super) fn status_timed_without_request(s: &[u8], keys: &LogKeys, timed: bool) -> Option<Found> {
    let tokens = check(s)?;
    for (word, &quotes) in tokens.quotes.iter().enumerate() {
        let mut bits = quotes;
        while bits != 0 {
            let at = word
                .wrapping_mul(64)
                .wrapping_add(bits.trailing_zeros() as usize);
            bits &= bits.wrapping_sub(1);
            if let Some([b' ', next]) = s.get(at.wrapping_add(1)..at.wrapping_add(3))
                && (next.is_ascii_digit() || *next == 0x1b)
            {
                return None;
            }
        }
    }
    read(s, &tokens, keys, timed)
}

/// The status and duration of the pairs of `s`, whose `tokens` the masks checked.
#[inline(always)]
fn read(s: &[u8], tokens: &Tokens, keys: &LogKeys, timed: bool) -> Option<Found> {
    let mut found = None;
    let mut ms = None;
    for (word, &starts) in tokens.starts.iter().enumerate() {
        let mut bits = starts;
        while bits != 0 {
            let at = word
                .wrapping_mul(64)
                .wrapping_add(bits.trailing_zeros() as usize);
            bits &= bits.wrapping_sub(1);
            let first = *s.get(at)?;
            if !keys.may_start_logfmt_key(first, timed) {
                continue;
            }
            // Checked: the key runs up to the token's first `=`, its key end.
            let key_end = next_bit(&tokens.key_ends, at)?;
            let key_len = key_end.checked_sub(at)?;
            if !keys.may_be_logfmt_key(first, key_len, timed) {
                continue;
            }
            let key = s.get(at..key_end)?;
            let value_start = key_end.checked_add(1)?;
            let value_end = next_bit(&tokens.seps, value_start).unwrap_or(s.len());
            let value = s.get(value_start..value_end)?;
            // Checked: a value that opens with a quote ends with the quote that closes it.
            let raw = match value {
                [b'"', inner @ .., _] => inner,
                _ => value,
            };
            visit(key, raw, keys, timed, &mut found, &mut ms);
            if found.is_some() && (ms.is_some() || !timed) {
                return Some(found.map(|status| (status, ms)));
            }
        }
    }
    Some(found.map(|status| (status, ms)))
}

/// The tokens of `s` when the masks prove it pairs as the walk reads them (see the module
/// doc), `None` when they do not.
#[inline]
fn check(s: &[u8]) -> Option<Tokens> {
    if s.len() > MAX_LEN {
        return None;
    }
    let mut tokens = Tokens {
        starts: [0; WORDS],
        key_ends: [0; WORDS],
        seps: [0; WORDS],
        quotes: [0; WORDS],
    };
    // What each word takes from the one before it: all ones when a quote is open at its end,
    // and its last bit of token bytes, key ends and closers; the carry of the key-end sum.
    let mut in_quote = 0u64;
    let mut prev_token = 0u64;
    let mut prev_key_end = 0u64;
    let mut prev_close = 0u64;
    let mut carry = false;
    let words = (tokens.starts.iter_mut())
        .zip(tokens.key_ends.iter_mut())
        .zip(tokens.seps.iter_mut())
        .zip(tokens.quotes.iter_mut());
    for (word, (((starts, key_ends), seps), quotes)) in words.enumerate() {
        let Some(rest) = s.get(word.wrapping_mul(64)..).filter(|r| !r.is_empty()) else {
            break;
        };
        let (blank, eq, quote, other) = word_masks(s, rest)?;
        if other {
            return None;
        }
        let real = u64::MAX
            .checked_shr(64u32.saturating_sub(u32::try_from(rest.len()).ok()?))
            .unwrap_or(0);
        let inq = simd::prefix_xor(quote) ^ in_quote;
        in_quote = 0u64.wrapping_sub(inq >> 63);
        let open = quote & inq;
        let close = quote & !inq;
        let sep = blank & real & !inq;
        let token = real & !sep;
        let start = token & !(token << 1 | prev_token);
        prev_token = token >> 63;
        let key = token & !eq & !quote;
        if start & !key != 0 {
            return None;
        }
        let (sum, c1) = key.overflowing_add(start);
        let (sum, c2) = sum.overflowing_add(u64::from(carry));
        carry = c1 || c2;
        let key_end = sum & !key;
        if key_end & !(eq & real) != 0 {
            return None;
        }
        let value = key_end << 1 | prev_key_end;
        prev_key_end = key_end >> 63;
        if open & !value != 0 || (close << 1 | prev_close) & token != 0 {
            return None;
        }
        prev_close = close >> 63;
        *starts = start;
        *key_ends = key_end;
        *seps = sep;
        *quotes = quote & real;
    }
    // A quote still open, or a key running to the end of the last full word: not pairs.
    (in_quote == 0 && !carry).then_some(tokens)
}

/// [`simd::logfmt_masks64`] of the 64 bytes that start `rest`, the end of `s`: when fewer
/// are left, the last 64 bytes of `s` (bytes it has already read, whose bits are dropped),
/// or, in a shorter `s`, what is left padded with zeros.
#[inline(always)]
fn word_masks(s: &[u8], rest: &[u8]) -> Option<(u64, u64, u64, bool)> {
    if let Some(block) = rest.first_chunk::<64>() {
        return Some(simd::logfmt_masks64(block));
    }
    if let Some(start) = s.len().checked_sub(64) {
        let (blank, eq, quote, other) = simd::logfmt_masks64(s.get(start..)?.first_chunk()?);
        let seen = u32::try_from(64usize.checked_sub(rest.len())?).ok()?;
        return Some((
            blank.checked_shr(seen)?,
            eq.checked_shr(seen)?,
            quote.checked_shr(seen)?,
            other,
        ));
    }
    let mut padded = [0u8; 64];
    padded.get_mut(..rest.len())?.copy_from_slice(rest);
    Some(simd::logfmt_masks64(&padded))
}

/// The index of the first set bit at or after `from` in `words`.
#[inline]
fn next_bit(words: &[u64; WORDS], from: usize) -> Option<usize> {
    let mut word = from >> 6;
    let mut bits = words.get(word)? & u64::MAX << (from & 63);
    while bits == 0 {
        word = word.wrapping_add(1);
        bits = *words.get(word)?;
    }
    Some(
        word.wrapping_mul(64)
            .wrapping_add(bits.trailing_zeros() as usize),
    )
}
