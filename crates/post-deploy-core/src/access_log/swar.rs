//! Byte search eight bytes at a time in a register (SWAR), inlined.
//!
//! The fields searched in a log line are short, and a call to `memchr` costs more than the
//! search itself for them; so do its branches on the haystack's length, which mispredict when
//! the lengths vary from line to line. Sixteen bytes a step: most fields end within one step,
//! so the loop's exit is well predicted.

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// The high bit of each byte of `word` that is zero (and maybe of some bytes above the first
/// zero byte, never below it).
#[inline(always)]
const fn zero_bytes(word: u64) -> u64 {
    word.wrapping_sub(ONES) & !word & HIGHS
}

/// The high bit of each byte of `word` that is `A` or `B` (and maybe of bytes above the first).
#[inline(always)]
const fn bits<const A: u8, const B: u8>(word: u64) -> u64 {
    zero_bytes(word ^ ONES.wrapping_mul(A as u64)) | zero_bytes(word ^ ONES.wrapping_mul(B as u64))
}

/// The high bit of each of the sixteen bytes that is `A` or `B` (and maybe of bytes above the
/// first); byte i is bit 8i + 7.
#[inline(always)]
fn bits16<const A: u8, const B: u8>(chunk: &[u8; 16]) -> u128 {
    let word = u128::from_le_bytes(*chunk);
    // Two 64-bit halves, each searched on its own; a borrow never crosses from one into the other.
    let low = bits::<A, B>(word as u64);
    let high = bits::<A, B>(word.wrapping_shr(64) as u64);
    u128::from(high).wrapping_shl(64) | u128::from(low)
}

/// The index of the first byte of `s` that is `A` or `B`.
#[inline(always)]
pub(super) fn find2<const A: u8, const B: u8>(s: &[u8]) -> Option<usize> {
    let mut offset = 0usize;
    loop {
        let rest = s.get(offset..)?;
        if let Some(chunk) = rest.first_chunk::<16>() {
            let hits = bits16::<A, B>(chunk);
            if hits != 0 {
                // The lowest hit is exact: false positives only ever sit above a true one.
                return offset
                    .checked_add(usize::try_from(hits.trailing_zeros().wrapping_shr(3)).ok()?);
            }
            offset = offset.checked_add(16)?;
        } else if rest.is_empty() {
            return None;
        } else if let Some(start) = s.len().checked_sub(16) {
            // The last sixteen bytes, overlapping bytes already searched: no branch per byte.
            let chunk = s.get(start..)?.first_chunk::<16>()?;
            let seen = u32::try_from(offset.checked_sub(start)?).ok()?;
            let hits = bits16::<A, B>(chunk).wrapping_shr(seen.wrapping_mul(8));
            if hits == 0 {
                return None;
            }
            return offset
                .checked_add(usize::try_from(hits.trailing_zeros().wrapping_shr(3)).ok()?);
        } else {
            let index = rest.iter().position(|b| *b == A || *b == B)?;
            return offset.checked_add(index);
        }
    }
}

/// The index of the first byte of `s` that is `A`.
#[inline(always)]
pub(super) fn find<const A: u8>(s: &[u8]) -> Option<usize> {
    find2::<A, A>(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_first_hit_at_every_position() {
        for len in 0..80 {
            for (at, byte) in [(len, b'"'), (len, b'\\'), (len / 2, b'"')] {
                let mut s = vec![b'a'; len + 1];
                s[at] = byte;
                s.push(b'"');
                assert_eq!(find2::<b'"', b'\\'>(&s), Some(at), "{len} {at}");
            }
            // Bytes that differ from the needles only in the high bit, or by one.
            assert_eq!(find2::<b'"', b'\\'>(&vec![0xa2; len]), None);
            assert_eq!(find2::<b'"', b'\\'>(&vec![0x5b; len]), None);
            assert_eq!(find::<b'"'>(&vec![0x21; len]), None);
            assert_eq!(find::<b'"'>(&vec![0x23; len]), None);
        }
        assert_eq!(find2::<b'"', b'\\'>(b"\x01\x21\x23\"\x00\x5c"), Some(3));
        assert_eq!(find::<b'\n'>(b"0123456789abcdef\x0b\x0a"), Some(17));
        assert_eq!(find::<0>(b"\x01\x00"), Some(1));
        assert_eq!(find::<0xff>(b"\x7f\xfe\xff"), Some(2));
    }
}
