//! Byte classes of sixteen bytes at a time, as bit masks (SSE2 on x86-64, through `wide`).
//!
//! The fields searched in a log line are short, and a call to `memchr` costs more than the
//! search itself for them; so do its branches on the haystack's length, which mispredict when
//! the lengths vary from line to line. Here a search is inlined at its call site, sixteen
//! bytes a step: most fields end within one step, so the loop's exit is well predicted. Lines
//! are cut from one mask of newlines per 64 bytes, a JSON line's structure is read from masks
//! of its quotes and brackets in one pass.

use wide::u8x16;

/// A bit for each of the sixteen bytes that is `A` or `B`: byte i is bit i.
#[inline(always)]
fn mask<const A: u8, const B: u8>(chunk: &[u8; 16]) -> u32 {
    let v = u8x16::new(*chunk);
    if A == B {
        v.simd_eq(u8x16::splat(A)).to_bitmask()
    } else {
        (v.simd_eq(u8x16::splat(A)) | v.simd_eq(u8x16::splat(B))).to_bitmask()
    }
}

/// A bit for each of the sixteen bytes that is one of `\ { } [ ]`.
#[inline(always)]
fn json_special_mask(chunk: &[u8; 16]) -> u32 {
    let v = u8x16::new(*chunk);
    // `[` and `]` differ from `{` and `}` only in the 0x20 bit, which no other byte sets to
    // give `{` or `}`.
    let folded = v | u8x16::splat(0x20);
    (v.simd_eq(u8x16::splat(b'\\'))
        | folded.simd_eq(u8x16::splat(b'{'))
        | folded.simd_eq(u8x16::splat(b'}')))
    .to_bitmask()
}

/// The index of the first byte of `s` whose bit `mask_of` sets.
#[inline(always)]
fn find_by(s: &[u8], mask_of: impl Fn(&[u8; 16]) -> u32) -> Option<usize> {
    let mut offset = 0usize;
    loop {
        let rest = s.get(offset..)?;
        if let Some(chunk) = rest.first_chunk::<16>() {
            let hits = mask_of(chunk);
            if hits != 0 {
                return offset.checked_add(hits.trailing_zeros() as usize);
            }
            offset = offset.checked_add(16)?;
        } else if rest.is_empty() {
            return None;
        } else if let Some(start) = s.len().checked_sub(16) {
            // The last sixteen bytes, overlapping bytes already searched, whose bits are
            // dropped.
            let chunk = s.get(start..)?.first_chunk::<16>()?;
            let seen = u32::try_from(offset.checked_sub(start)?).ok()?;
            let hits = mask_of(chunk).checked_shr(seen)?;
            if hits == 0 {
                return None;
            }
            return offset.checked_add(hits.trailing_zeros() as usize);
        } else {
            // Fewer than sixteen bytes in all, padded with zeros.
            let mut padded = [0u8; 16];
            padded.get_mut(..rest.len())?.copy_from_slice(rest);
            // Only the bits of real bytes: a needle may be zero.
            let real = 1u32.wrapping_shl(rest.len() as u32).wrapping_sub(1);
            let hits = mask_of(&padded) & real;
            if hits == 0 {
                return None;
            }
            return offset.checked_add(hits.trailing_zeros() as usize);
        }
    }
}

/// The index of the first byte of `s` that is `A` or `B`.
#[inline(always)]
pub(super) fn find2<const A: u8, const B: u8>(s: &[u8]) -> Option<usize> {
    find_by(s, mask::<A, B>)
}

/// The index of the first byte of `s` that is `A`.
#[inline(always)]
pub(super) fn find<const A: u8>(s: &[u8]) -> Option<usize> {
    find2::<A, A>(s)
}

/// The quotes of 64 bytes, their bytes that are one of `\ { } [ ]`, and their `l`s (the
/// first byte of a `logger` name), as bit masks: byte i is bit i.
#[inline(always)]
pub(super) fn json_masks64(block: &[u8; 64]) -> (u64, u64, u64) {
    (
        mask64(block, mask::<b'"', b'"'>),
        mask64(block, json_special_mask),
        mask64(block, mask::<b'l', b'l'>),
    )
}

/// The blanks (space, tab) of 64 bytes, their `=` and their `"`, as bit masks (byte i is
/// bit i), and whether any of them is a `\\` or a `'` (which the logfmt masks leave to the
/// walk).
#[inline(always)]
pub(super) fn logfmt_masks64(block: &[u8; 64]) -> (u64, u64, u64, bool) {
    let (chunks, _) = block.as_chunks::<16>();
    let other = chunks.iter().fold(u8x16::splat(0), |acc, chunk| {
        let v = u8x16::new(*chunk);
        acc | v.simd_eq(u8x16::splat(b'\\')) | v.simd_eq(u8x16::splat(b'\''))
    });
    (
        mask64(block, mask::<b' ', b'\t'>),
        mask64(block, mask::<b'=', b'='>),
        mask64(block, mask::<b'"', b'"'>),
        other.to_bitmask() != 0,
    )
}

/// Bit i of the result is the parity of bits 0..=i of `x`: with `x` the quotes of a block,
/// the bytes from an opening quote up to (not including) its closing one.
#[inline(always)]
pub(super) const fn prefix_xor(mut x: u64) -> u64 {
    x ^= x.wrapping_shl(1);
    x ^= x.wrapping_shl(2);
    x ^= x.wrapping_shl(4);
    x ^= x.wrapping_shl(8);
    x ^= x.wrapping_shl(16);
    x ^= x.wrapping_shl(32);
    x
}

/// The bits `mask_of` sets for each sixteen of 64 bytes, as one word: byte i is bit i.
#[inline(always)]
fn mask64(block: &[u8; 64], mask_of: impl Fn(&[u8; 16]) -> u32) -> u64 {
    let (chunks, _) = block.as_chunks::<16>();
    chunks.iter().rev().fold(0u64, |acc, chunk| {
        acc.wrapping_shl(16) | u64::from(mask_of(chunk))
    })
}

/// Calls `each` with every line of `s` that a `\n` ends (without it), in order; returns the
/// index where the rest, with no `\n`, starts.
///
/// The newlines of each 64 bytes are found at once as the bits of a word, so cutting a line
/// costs a `trailing_zeros`, not a search with a start-up cost of its own.
#[inline(always)]
pub(super) fn for_each_line(s: &[u8], mut each: impl FnMut(&[u8])) -> usize {
    let mut start = 0usize;
    let mut base = 0usize;
    let (blocks, tail) = s.as_chunks::<64>();
    let mut padded = [0u8; 64];
    if let Some(head) = padded.get_mut(..tail.len()) {
        head.copy_from_slice(tail);
    }
    for block in blocks.iter().chain(std::iter::once(&padded)) {
        let mut newlines = mask64(block, mask::<b'\n', b'\n'>);
        while newlines != 0 {
            let end = base.wrapping_add(newlines.trailing_zeros() as usize);
            each(s.get(start..end).unwrap_or_default());
            start = end.wrapping_add(1);
            newlines &= newlines.wrapping_sub(1);
        }
        base = base.wrapping_add(64);
    }
    start
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
            assert_eq!(find::<0>(&vec![1; len]), None);
        }
        assert_eq!(find2::<b'"', b'\\'>(b"\x01\x21\x23\"\x00\x5c"), Some(3));
        assert_eq!(find::<b'\n'>(b"0123456789abcdef\x0b\x0a"), Some(17));
        assert_eq!(find::<0xff>(b"\x7f\xfe\xff"), Some(2));
    }

    #[test]
    fn json_masks_select_exactly_quotes_and_brackets() {
        for byte in 0..=255u8 {
            for at in [0, 15, 16, 31, 63] {
                let mut block = [b'a'; 64];
                block[at] = byte;
                let (quotes, special, ells) = json_masks64(&block);
                let bit = 1u64 << at;
                assert_eq!(ells, if byte == b'l' { bit } else { 0 }, "{byte:#x} {at}");
                assert_eq!(quotes, if byte == b'"' { bit } else { 0 }, "{byte:#x} {at}");
                let expected = b"\\{}[]".contains(&byte);
                assert_eq!(special, if expected { bit } else { 0 }, "{byte:#x} {at}");
            }
        }
    }

    #[test]
    fn logfmt_masks_select_exactly_their_bytes() {
        for byte in 0..=255u8 {
            for at in [0, 15, 16, 31, 63] {
                let mut block = [b'a'; 64];
                block[at] = byte;
                let (blanks, eqs, quotes, other) = logfmt_masks64(&block);
                let bit = 1u64 << at;
                let is = |yes: bool| if yes { bit } else { 0 };
                assert_eq!(blanks, is(byte == b' ' || byte == b'\t'), "{byte:#x} {at}");
                assert_eq!(eqs, is(byte == b'='), "{byte:#x} {at}");
                assert_eq!(quotes, is(byte == b'"'), "{byte:#x} {at}");
                assert_eq!(other, byte == b'\\' || byte == b'\'', "{byte:#x} {at}");
            }
        }
        assert_eq!(prefix_xor(0b1001_0100), !0u64 << 7 | 0b1100);
    }

    #[test]
    fn lines_are_cut_at_every_newline() {
        for len in 0..200 {
            let s: Vec<u8> = (0..len)
                .map(|i| if i % 7 == 3 { b'\n' } else { b'a' })
                .collect();
            let mut lines = Vec::new();
            let rest = for_each_line(&s, |line| lines.push(line.to_vec()));
            let mut expected: Vec<Vec<u8>> = s.split(|b| *b == b'\n').map(<[u8]>::to_vec).collect();
            let last = expected.pop().unwrap();
            assert_eq!(lines, expected, "{len}");
            assert_eq!(&s[rest..], &last[..], "{len}");
        }
    }
}
