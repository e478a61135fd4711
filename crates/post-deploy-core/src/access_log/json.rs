//! JSON lines: one JSON object per line with a top-level `status` or `status_code` field.
//!
//! A small hand-written scanner instead of serde: it walks the object once, without
//! allocating, checks the JSON grammar (structure, numbers, literals, escapes) and looks only
//! at top-level keys, so a `status` nested inside another object or inside a string never
//! counts. It is lenient in two ways that cost a pass over every byte to check: string contents
//! are not checked for valid UTF-8 or for raw control characters.

use super::swar;

/// How deep objects and arrays may nest below the top-level object: as deep as serde_json
/// reads.
const MAX_DEPTH: u32 = 126;

/// The status of a JSON access line, or `None` when `line` is not one.
///
/// `line` starts at its first non-blank byte and must hold exactly one JSON object (blanks may
/// follow). The status is the value of the first top-level `status` or `status_code` key that
/// holds an integer in 100..=599 or a string of three digits in that range; a key spelled with
/// escapes (`"st\u0061tus"`) is the same key.
#[inline]
pub(super) fn status(line: &[u8]) -> Option<u16> {
    // Most log lines hold no backslash at all: then no string has an escape, and the end of a
    // string is simply the next quote, which is half the search.
    if memchr::memchr(b'\\', line).is_some() {
        object::<true>(line)
    } else {
        object::<false>(line)
    }
}

/// [`status`], for a line that has backslashes (`ESC`) or not.
#[inline(always)]
fn object<const ESC: bool>(line: &[u8]) -> Option<u16> {
    let mut rest = skip_ws(line.strip_prefix(b"{")?);
    let mut found = None;
    if let Some(tail) = rest.strip_prefix(b"}") {
        rest = tail;
    } else {
        loop {
            // Compared in place, closing quote included: fixed-size loads, no branch on the
            // key's length.
            let plain_status = match rest.get(1..8) {
                Some(b"status\"") => true,
                Some(b"status_") => rest.get(8..13) == Some(b"code\""),
                _ => false,
            };
            let (key, escaped, tail) = string::<ESC>(rest)?;
            let value_start = match tail {
                [b':', value @ ..] => skip_ws(value),
                _ => skip_ws(skip_ws(tail).strip_prefix(b":")?),
            };
            let after = value::<ESC>(value_start)?;
            if (plain_status || (escaped && is_escaped_status_key(key))) && found.is_none() {
                let len = value_start.len().checked_sub(after.len())?;
                found = value_status(value_start.get(..len)?);
            }
            match skip_ws(after).split_first() {
                Some((b',', tail)) => rest = skip_ws(tail),
                Some((b'}', tail)) => {
                    rest = tail;
                    break;
                }
                _ => return None,
            }
        }
    }
    if skip_ws(rest).is_empty() {
        found
    } else {
        None
    }
}

/// Whether the raw key, which has escapes, is `status` or `status_code` once unescaped.
fn is_escaped_status_key(raw: &[u8]) -> bool {
    unescaped_eq(raw, b"status") || unescaped_eq(raw, b"status_code")
}

/// Whether the raw string body `raw`, once unescaped, is the ASCII `target`.
fn unescaped_eq(raw: &[u8], target: &[u8]) -> bool {
    let mut raw = raw;
    let mut target = target.iter();
    loop {
        let (byte, rest) = match raw {
            [] => return target.next().is_none(),
            [b'\\', b'u', a, b, c, d, rest @ ..] => {
                match hex4([*a, *b, *c, *d]).map(u8::try_from) {
                    Some(Ok(byte)) if byte.is_ascii() => (byte, rest),
                    _ => return false,
                }
            }
            [b'\\', escape, rest @ ..] => {
                let byte = match escape {
                    b'b' => 0x08,
                    b'f' => 0x0c,
                    b'n' => b'\n',
                    b'r' => b'\r',
                    b't' => b'\t',
                    other => *other,
                };
                (byte, rest)
            }
            [byte, rest @ ..] => (*byte, rest),
        };
        if target.next() != Some(&byte) {
            return false;
        }
        raw = rest;
    }
}

/// The value of four hex digits.
fn hex4(digits: [u8; 4]) -> Option<u16> {
    digits.iter().try_fold(0u16, |acc, d| {
        let digit = u16::try_from(char::from(*d).to_digit(16)?).ok()?;
        acc.checked_mul(16)?.checked_add(digit)
    })
}

/// The status held by a raw value: an integer, or a string of three digits, in 100..=599.
#[inline(always)]
fn value_status(value: &[u8]) -> Option<u16> {
    let ([a, b, c] | [b'"', a, b, c, b'"']) = value else {
        return None;
    };
    if !(a.is_ascii_digit() && b.is_ascii_digit() && c.is_ascii_digit()) {
        return None;
    }
    Some(super::quoted::digits(*a, *b, *c)).filter(|s| (100..=599).contains(s))
}

/// `s` without leading JSON whitespace.
#[inline(always)]
fn skip_ws(s: &[u8]) -> &[u8] {
    // Log lines are compact JSON: nearly always there is nothing to skip.
    match s.first() {
        Some(b' ' | b'\t' | b'\n' | b'\r') => skip_some_ws(s),
        _ => s,
    }
}

/// `s` without leading JSON whitespace, of which there is some.
#[inline(never)]
fn skip_some_ws(s: &[u8]) -> &[u8] {
    match s
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
    {
        Some(n) => s.get(n..).unwrap_or_default(),
        None => &[],
    }
}

/// A string at the start of `s`: its raw body (escapes kept), whether it has escapes, and what
/// follows the closing quote. Without `ESC` the caller knows there is no backslash.
#[inline(always)]
fn string<const ESC: bool>(s: &[u8]) -> Option<(&[u8], bool, &[u8])> {
    let body = s.strip_prefix(b"\"")?;
    if !ESC {
        let at = swar::find::<b'"'>(body)?;
        return Some((body.get(..at)?, false, body.get(at..)?.get(1..)?));
    }
    let mut from = 0usize;
    loop {
        let at = from.checked_add(swar::find2::<b'"', b'\\'>(body.get(from..)?)?)?;
        match body.get(at..)? {
            [b'"', tail @ ..] => return Some((body.get(..at)?, from > 0, tail)),
            [b'\\', b'u', hex @ ..] => {
                if !hex.get(..4)?.iter().all(u8::is_ascii_hexdigit) {
                    return None;
                }
                from = at.checked_add(6)?;
            }
            [
                b'\\',
                b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't',
                ..,
            ] => {
                from = at.checked_add(2)?;
            }
            _ => return None,
        }
    }
}

/// Any JSON value at the start of `s`; returns what follows it.
#[inline(always)]
fn value<const ESC: bool>(s: &[u8]) -> Option<&[u8]> {
    match s.first()? {
        b'{' | b'[' => container::<ESC>(s),
        _ => scalar::<ESC>(s),
    }
}

/// A string, number or literal at the start of `s`; returns what follows it.
#[inline(always)]
fn scalar<const ESC: bool>(s: &[u8]) -> Option<&[u8]> {
    match s.first()? {
        b'"' => string::<ESC>(s).map(|(_, _, tail)| tail),
        b't' => s.strip_prefix(b"true"),
        b'f' => s.strip_prefix(b"false"),
        b'n' => s.strip_prefix(b"null"),
        _ => number(s),
    }
}

/// A number at the start of `s` (`-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`).
#[inline(always)]
fn number(s: &[u8]) -> Option<&[u8]> {
    let s = s.strip_prefix(b"-").unwrap_or(s);
    let s = match s.split_first()? {
        (b'0', tail) => tail,
        (b'1'..=b'9', tail) => skip_digits(tail),
        _ => return None,
    };
    let s = match s.strip_prefix(b".") {
        Some(fraction) => at_least_one_digit(fraction)?,
        None => s,
    };
    match s.split_first() {
        Some((b'e' | b'E', exponent)) => {
            let exponent = match exponent.split_first() {
                Some((b'+' | b'-', tail)) => tail,
                _ => exponent,
            };
            at_least_one_digit(exponent)
        }
        _ => Some(s),
    }
}

/// `s` without its leading digits.
#[inline(always)]
fn skip_digits(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|b| b.is_ascii_digit()).count();
    s.get(n..).unwrap_or_default()
}

/// `s` without its leading digits, of which there must be one at least.
#[inline(always)]
fn at_least_one_digit(s: &[u8]) -> Option<&[u8]> {
    let rest = skip_digits(s);
    (rest.len() < s.len()).then_some(rest)
}

/// An object or array at the start of `s`, nested at most [`MAX_DEPTH`] deep; returns what
/// follows it. Iterative, so no input can exhaust the stack.
#[inline(never)]
fn container<const ESC: bool>(s: &[u8]) -> Option<&[u8]> {
    // Bit i of `objects` says whether the container i levels up from the innermost one is an
    // object (1) or an array (0); MAX_DEPTH < 128 keeps every level in the word.
    let mut objects: u128 = 0;
    let mut depth: u32 = 0;
    let mut rest = s;
    'value: loop {
        // `rest` starts a value.
        match rest.split_first()? {
            (open @ (b'{' | b'['), tail) => {
                let is_object = *open == b'{';
                depth = depth.checked_add(1).filter(|d| *d <= MAX_DEPTH)?;
                objects = objects.wrapping_shl(1) | u128::from(is_object);
                rest = skip_ws(tail);
                let close = if is_object { b'}' } else { b']' };
                match rest.split_first() {
                    Some((byte, tail)) if *byte == close => {
                        rest = tail;
                        depth = depth.checked_sub(1)?;
                        objects = objects.wrapping_shr(1);
                    }
                    _ => {
                        if is_object {
                            rest = member_value::<ESC>(rest)?;
                        }
                        continue 'value;
                    }
                }
            }
            _ => rest = scalar::<ESC>(rest)?,
        }
        // After a value: close containers, or go on to the next element.
        loop {
            if depth == 0 {
                return Some(rest);
            }
            let in_object = objects & 1 == 1;
            rest = skip_ws(rest);
            match (rest.split_first()?, in_object) {
                ((b',', tail), _) => {
                    rest = skip_ws(tail);
                    if in_object {
                        rest = member_value::<ESC>(rest)?;
                    }
                    continue 'value;
                }
                ((b'}', tail), true) | ((b']', tail), false) => {
                    rest = tail;
                    depth = depth.checked_sub(1)?;
                    objects = objects.wrapping_shr(1);
                }
                _ => return None,
            }
        }
    }
}

/// A member's key and colon at the start of `s`; returns where its value starts.
#[inline]
fn member_value<const ESC: bool>(s: &[u8]) -> Option<&[u8]> {
    let (_, _, tail) = string::<ESC>(s)?;
    Some(skip_ws(skip_ws(tail).strip_prefix(b":")?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_level_status() {
        assert_eq!(status(br#"{"status":500}"#), Some(500));
        assert_eq!(status(br#"{ "a" : 1 , "status" : 404 } "#), Some(404));
        assert_eq!(status(br#"{"status_code":"503"}"#), Some(503));
        assert_eq!(
            status(br#"{"msg":"x","status_code":201,"t":[1,{"a":null}]}"#),
            Some(201)
        );
    }

    #[test]
    fn not_a_status() {
        assert_eq!(status(br#"{"status":"ok"}"#), None);
        assert_eq!(status(br#"{"status":600}"#), None);
        assert_eq!(status(br#"{"status":99}"#), None);
        assert_eq!(status(br#"{"status":500.0}"#), None);
        assert_eq!(status(br#"{"status":5e2}"#), None);
        assert_eq!(status(br#"{"status":-500}"#), None);
        assert_eq!(status(br#"{"status":"5000"}"#), None);
        assert_eq!(status(br#"{"status":" 500"}"#), None);
        assert_eq!(status(br#"{"status":true}"#), None);
        assert_eq!(status(br#"{"status":[500]}"#), None);
        assert_eq!(status(br#"{"status":{"code":500}}"#), None);
        assert_eq!(status(br#"{"Status":500}"#), None);
        assert_eq!(status(br#"{}"#), None);
    }

    #[test]
    fn the_first_valid_status_wins() {
        assert_eq!(status(br#"{"status":"ok","status_code":502}"#), Some(502));
        assert_eq!(status(br#"{"status":200,"status_code":502}"#), Some(200));
        assert_eq!(status(br#"{"status":200,"status":502}"#), Some(200));
    }

    #[test]
    fn nested_and_quoted_status_do_not_count() {
        assert_eq!(status(br#"{"http":{"status":500}}"#), None);
        assert_eq!(status(br#"{"a":[{"status":500}]}"#), None);
        assert_eq!(status(br#"{"msg":"\"status\":500"}"#), None);
        assert_eq!(
            status(br#"{"msg":"{\"status\":500}","status":200}"#),
            Some(200)
        );
        assert_eq!(
            status(br#"{"http":{"status":500},"status":201}"#),
            Some(201)
        );
    }

    #[test]
    fn escaped_keys() {
        assert_eq!(status(br#"{"st\u0061tus":500}"#), Some(500));
        assert_eq!(status(br#"{"status\u005fcode":500}"#), Some(500));
        assert_eq!(status(br#"{"st\"atus":500}"#), None);
        assert_eq!(status(br#"{"status\n":500}"#), None);
        assert!(unescaped_eq(br"a\/b", b"a/b"));
        assert!(unescaped_eq(br"\t\n\r\b\f", b"\t\n\r\x08\x0c"));
        assert!(!unescaped_eq(br"\u00e9", b"e"));
        assert!(!unescaped_eq(b"ab", b"abc"));
    }

    #[test]
    fn invalid_json_is_not_an_access_line() {
        for line in [
            &br#"{"status":500"#[..],
            br#"{"status":500,}"#,
            br#"{"status":500} x"#,
            br#"{"status":500}{}"#,
            br#"{"status" 500}"#,
            br#"{status:500}"#,
            br#"{'status':500}"#,
            br#"{"status":0500}"#,
            br#"{"a":01,"status":500}"#,
            br#"{"a":1.,"status":500}"#,
            br#"{"a":.5,"status":500}"#,
            br#"{"a":1e,"status":500}"#,
            br#"{"a":-,"status":500}"#,
            br#"{"a":tru,"status":500}"#,
            br#"{"a":nul,"status":500}"#,
            br#"{"a":truex,"status":500}"#,
            br#"{"a":"\x","status":500}"#,
            br#"{"a":"\u12g4","status":500}"#,
            br#"{"a":"\u12","status":500}"#,
            br#"{"a":[1,],"status":500}"#,
            br#"{"a":[1 2],"status":500}"#,
            br#"{"a":{"b"},"status":500}"#,
            br#"{"a":{"b":1,},"status":500}"#,
            br#"{"a":{1:2},"status":500}"#,
            br#"{"a":[},"status":500}"#,
            br#"{"a":{],"status":500}"#,
            br#"{"a":"unterminated,"status":500}"#,
            br#"{,"status":500}"#,
            br#"["status",500]"#,
        ] {
            assert_eq!(status(line), None, "{}", String::from_utf8_lossy(line));
        }
    }

    #[test]
    fn valid_values_of_every_kind() {
        let line = br#"{"a":[],"b":{},"c":[1,-2.5e+3,0.1E-2,true,false,null,"\u00e9\"\\\/\b\f\n\r\t"],"d":{"e":[{"f":[[]]}]},"status":502}"#;
        assert_eq!(status(line), Some(502));
    }

    #[test]
    fn depth_is_limited() {
        let deep = |n: usize| {
            let mut s = br#"{"status":500,"a":"#.to_vec();
            s.extend(std::iter::repeat_n(b'[', n));
            s.extend(std::iter::repeat_n(b']', n));
            s.push(b'}');
            s
        };
        assert_eq!(status(&deep(MAX_DEPTH as usize)), Some(500));
        assert_eq!(status(&deep(MAX_DEPTH as usize + 1)), None);
        assert_eq!(status(&deep(100_000)), None);
    }
}
