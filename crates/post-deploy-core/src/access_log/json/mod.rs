//! JSON lines: one JSON object per line with a top-level `status` or `status_code` field.
//!
//! The line is not checked against the whole JSON grammar: it is scanned for its *structure*
//! only, which is what decides where a key sits. A line counts when
//! - it is one object: it opens with `{`, and the `}` that closes that object is its last
//!   non-blank byte;
//! - its strings are closed (a `\` escapes the byte after it) and its brackets nest properly
//!   (every `}` closes a `{`, every `]` a `[`, at most [`MAX_DEPTH`] levels below the top);
//!   there is no `\` outside a string;
//! - a member of that top-level object (a string after the object's `{` or a `,`, then `:`)
//!   is `status` or `status_code`, spelled plainly or with escapes, and holds an integer of
//!   three digits or a string of three digits in 100..=599, followed by a blank, `,` or `}`.
//!   The first such member counts.
//!
//! So a `status` nested in another object or array, or inside a string, never counts, exactly
//! as with a full parser. What is *not* checked is the text between the strings and brackets:
//! numbers, `true`/`false`/`null`, the commas and colons between other members, the escapes
//! inside strings, UTF-8 and control characters. A line that is valid JSON is read exactly as
//! serde_json reads it (a test holds the two together); a broken line whose strings and brackets
//! still balance, such as `{"status":503,"a":01,}`, counts by its top-level status where a
//! strict parser would refuse it. That is the trade for speed: checking every token cost
//! more than half the parse time, and a log line broken in such a way is still a request.
//!
//! Two paths give that same answer. A line without a backslash is read in one pass over its
//! blocks of 64 bytes: there every quote opens or closes a string, so a prefix xor of the
//! block's quote mask marks the bytes inside strings, the brackets outside strings give the
//! depth, and a `"status` found by `memmem` is a key of the top-level object when its quote
//! opens a string at depth 1 (after a `{` or `,`, checked by `member_status`). A line with a
//! backslash is walked byte by byte outside its strings (jumping over strings sixteen bytes at
//! a time), with the nesting on a bit stack.

use std::sync::LazyLock;

use memchr::memchr;
use memchr::memmem::Finder;

use super::keys::{DurationUnit, LogKeys, MAX_KEY_PARTS, Role};
use super::{error_record, simd};

/// How deep objects and arrays may nest below the top-level object: as deep as serde_json
/// reads.
pub(super) const MAX_DEPTH: u32 = 126;

/// Finds the start of a `status` or `status_code` key, built once.
static STATUS_KEY: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"\"status"));

/// The status of a JSON access line, or `None` when `line` is not one (see the module doc).
///
/// `line` starts at its first non-blank byte.
#[cfg(test)]
pub(super) fn status(line: &[u8]) -> Option<u16> {
    match scan(line, None) {
        JsonLine::Access(status, _) => Some(status),
        JsonLine::ErrorRecord | JsonLine::Not => None,
    }
}

/// What a JSON line is to [`read`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum JsonLine {
    /// An access line: its status, and its duration in milliseconds when one was wanted.
    Access(u16, Option<f64>),
    /// A line the status rule accepts that is a server's error record about a request it
    /// also logs as an access line ([`error_record`]): not a request.
    ErrorRecord,
    /// Not a JSON access line.
    Not,
}

/// [`status`] for the default status keys, telling a server's error record apart
/// ([`error_record`]), and with `keys` the first top-level member at one of their duration
/// keys that holds a duration, in milliseconds, all in the same block scan: the opening
/// quotes of the top-level object's strings are looked at as they go by, a `logger` name
/// found by its first bytes (an `l` mask), a duration key by its first byte and length. A
/// line with escapes, or whose top-level member could lead into a nested duration key, is
/// read by [`status_timed`]'s walk instead, and the error-record check apart.
#[inline]
pub(super) fn read(line: &[u8], keys: Option<&LogKeys>) -> JsonLine {
    scan(line, keys)
}

#[inline(always)]
fn scan(line: &[u8], keys: Option<&LogKeys>) -> JsonLine {
    let Some(end) = line.iter().rposition(|b| !is_ws(*b)) else {
        return JsonLine::Not;
    };
    let (Some(b'{'), Some(b'}'), Some(body), Some(interior)) = (
        line.first(),
        line.get(end),
        line.get(..=end),
        line.get(1..end),
    ) else {
        return JsonLine::Not;
    };
    let Some(first) = STATUS_KEY.find(interior) else {
        // Without a plain `"status` only a key spelled with escapes could be one.
        return if memchr(b'\\', interior).is_some() {
            slow(body, keys)
        } else {
            JsonLine::Not
        };
    };
    match first.checked_add(1) {
        Some(key) => structure(body, key, keys),
        None => JsonLine::Not,
    }
}

/// The walk, for a line the block scan leaves to it, and the error-record check apart.
#[inline(never)]
fn slow(body: &[u8], keys: Option<&LogKeys>) -> JsonLine {
    let found = match keys {
        None => walk(body).map(|status| (status, None)),
        Some(keys) => walk_keys(body, keys, true),
    };
    match found {
        Some(_) if !error_record::is_access(body) => JsonLine::ErrorRecord,
        Some((status, ms)) => JsonLine::Access(status, ms),
        None => JsonLine::Not,
    }
}

/// [`status`] of a `body` (from its `{` to its last `}`) in which a `"status` starts at index
/// `key`: one pass over blocks of 64 bytes, from masks of their quotes and brackets; with
/// `keys`, the duration too.
#[inline]
fn structure(body: &[u8], key: usize, keys: Option<&LogKeys>) -> JsonLine {
    let mut scan = Scan {
        error_record: false,
        body,
        key,
        depth: 0,
        objects: 0,
        carry: 0,
        found: None,
        keys,
        ms: None,
        loggers: 0,
        opening: 0,
        quotes: 0,
    };
    let (blocks, tail) = body.as_chunks::<64>();
    let last = if tail.is_empty() {
        None
    } else {
        tail_masks(body, tail)
    };
    let masks = blocks.iter().map(simd::json_masks64).chain(last);
    for (index, (quotes, special, ells)) in masks.enumerate() {
        let Some(base) = index.checked_mul(64) else {
            return JsonLine::Not;
        };
        match scan.block(base, quotes, special, ells) {
            Next::More => {}
            Next::Answer(None) => return JsonLine::Not,
            Next::Answer(Some(_)) if scan.error_record => return JsonLine::ErrorRecord,
            Next::Answer(Some(status)) => return JsonLine::Access(status, scan.ms),
            Next::Walk => return slow(body, keys),
        }
    }
    JsonLine::Not
}

/// [`simd::json_masks64`] of the `tail` of `body` that is left after its blocks of 64 bytes.
#[inline]
fn tail_masks(body: &[u8], tail: &[u8]) -> Option<(u64, u64, u64)> {
    match body.len().checked_sub(64) {
        // The last 64 bytes, of which only the tail's bits are kept.
        Some(start) => {
            let (quotes, special, ells) =
                simd::json_masks64(body.get(start..)?.first_chunk::<64>()?);
            let seen = u32::try_from(64usize.checked_sub(tail.len())?).ok()?;
            Some((
                quotes.checked_shr(seen)?,
                special.checked_shr(seen)?,
                ells.checked_shr(seen)?,
            ))
        }
        None => {
            let mut padded = [0u8; 64];
            padded.get_mut(..tail.len())?.copy_from_slice(tail);
            Some(simd::json_masks64(&padded))
        }
    }
}

/// What [`Scan::block`] found.
enum Next {
    /// Nothing decided yet: on to the next block.
    More,
    /// The top-level object closed: the line's answer.
    Answer(Option<u16>),
    /// A backslash: escapes are for [`walk`].
    Walk,
}

/// The state of [`structure`] between blocks.
struct Scan<'a> {
    /// Whether a top-level `logger` member names a server's error logger
    /// ([`error_record`]).
    error_record: bool,
    /// The keys whose durations are read; `None`: only the status.
    keys: Option<&'a LogKeys>,
    /// The first top-level duration member.
    ms: Option<f64>,
    /// The opening quotes of the current block not looked at yet, while a duration is
    /// wanted.
    opening: u64,
    /// The opening quotes of the current block not looked at yet that an `l` follows (a
    /// `logger` name may), until an error logger is found.
    loggers: u64,
    /// All the quotes of the current block, while a duration is wanted.
    quotes: u64,
    body: &'a [u8],
    /// The next `"status` to look at; `usize::MAX` when there is none, or one was found.
    key: usize,
    /// How many objects and arrays are open.
    depth: u32,
    /// Bit i: whether the container i levels up from the innermost one is an object.
    objects: u128,
    /// All ones when the previous block ended inside a string.
    carry: u64,
    /// The first top-level status member.
    found: Option<u16>,
}

impl Scan<'_> {
    /// Reads the block of 64 bytes that starts at `base`, given the bits of its quotes and of
    /// its `\ { } [ ]`.
    #[inline(always)]
    fn block(&mut self, base: usize, quotes: u64, special: u64, ells: u64) -> Next {
        // Bit i is set from a string's opening quote up to the byte before its closing one.
        let in_string = simd::prefix_xor(quotes) ^ self.carry;
        self.carry = 0u64.wrapping_sub(in_string.wrapping_shr(63));
        let opening = quotes & in_string;
        if self.keys.is_some() && self.ms.is_none() {
            self.opening = opening;
            self.quotes = quotes;
        }
        if !self.error_record {
            // Only the strings that open with `l` can be a `logger` name.
            let next_is_l = self.body.get(base.wrapping_add(64)) == Some(&b'l');
            let ell_after = ells.wrapping_shr(1) | u64::from(next_is_l).wrapping_shl(63);
            self.loggers = opening & ell_after;
        }
        let mut bits = special;
        while bits != 0 {
            let offset = bits.trailing_zeros();
            bits &= bits.wrapping_sub(1);
            let at = base.wrapping_add(offset as usize);
            let Some(&byte) = self.body.get(at) else {
                return Next::Answer(None);
            };
            if byte == b'\\' {
                return Next::Walk;
            }
            if in_string.wrapping_shr(offset) & 1 == 1 {
                continue;
            }
            if self.durations_before(base, offset) {
                return Next::Walk;
            }
            self.keys_before(base, in_string, at);
            if byte == b'{' || byte == b'[' {
                let Some(depth) = self
                    .depth
                    .checked_add(1)
                    .filter(|d| *d <= MAX_DEPTH.saturating_add(1))
                else {
                    return Next::Answer(None);
                };
                self.depth = depth;
                self.objects = self.objects.wrapping_shl(1) | u128::from(byte == b'{');
            } else {
                if self.depth == 0 || (self.objects & 1 == 1) != (byte == b'}') {
                    return Next::Answer(None);
                }
                self.depth = self.depth.wrapping_sub(1);
                self.objects = self.objects.wrapping_shr(1);
                if self.depth == 0 {
                    let last = at.checked_add(1) == Some(self.body.len());
                    return Next::Answer(if last { self.found } else { None });
                }
            }
        }
        if self.durations_before(base, 64) {
            return Next::Walk;
        }
        self.keys_before(base, in_string, base.saturating_add(64));
        Next::More
    }

    /// Looks at the opening quotes of the current block before offset `upto` (at most 64),
    /// at the current depth, for a server's error logger and a duration member; `true` when
    /// the walk must decide (a member whose object could hold a nested duration key).
    #[inline(always)]
    fn durations_before(&mut self, base: usize, upto: u32) -> bool {
        if self.opening | self.loggers == 0 {
            return false;
        }
        let mask = 1u64
            .checked_shl(upto)
            .map_or(u64::MAX, |bit| bit.wrapping_sub(1));
        let loggers = self.loggers & mask;
        self.loggers &= !mask;
        let mut bits = self.opening & mask;
        self.opening &= !mask;
        if self.depth != 1 {
            return false;
        }
        self.look_for_loggers(base, loggers);
        let Some(keys) = self.keys else {
            return false;
        };
        while bits != 0 {
            let offset = bits.trailing_zeros();
            let at = base.wrapping_add(offset as usize);
            bits &= bits.wrapping_sub(1);
            // The next quote of the block, if any, closes the string.
            let later = self.quotes
                & 1u64
                    .checked_shl(offset.wrapping_add(1))
                    .map_or(0, |b| 0u64.wrapping_sub(b));
            let start = at.wrapping_add(1);
            let close = if later == 0 {
                match self.body.get(start..).and_then(|rest| memchr(b'"', rest)) {
                    Some(len) => start.wrapping_add(len),
                    None => continue,
                }
            } else {
                base.wrapping_add(later.trailing_zeros() as usize)
            };
            // Nearly every string is ruled out here, by its first byte and length alone.
            let len = close.wrapping_sub(start);
            match self.body.get(start) {
                Some(&first) if keys.may_lead_to_duration(first, len) => {}
                _ => continue,
            }
            match member_duration(self.body, at, close, keys) {
                Member::Duration(ms) => {
                    // The first one counts: no more strings to look at for a duration.
                    self.ms = Some(ms);
                    self.opening = 0;
                    return false;
                }
                Member::Prefix => return true,
                Member::No => {}
            }
        }
        false
    }

    /// Whether one of the strings whose opening quotes are the bits of `loggers` (offsets in
    /// the block at `base`, at the top level) names a server's error logger: nearly always
    /// none or two a line, each ruled out by its first bytes.
    #[inline(always)]
    fn look_for_loggers(&mut self, base: usize, mut loggers: u64) {
        while loggers != 0 && !self.error_record {
            let at = base.wrapping_add(loggers.trailing_zeros() as usize);
            loggers &= loggers.wrapping_sub(1);
            if error_record::may_be_error_logger(self.body, at) {
                self.error_record = true;
                self.loggers = 0;
            }
        }
    }

    /// Looks at the `"status` keys of the current block before index `end`, at the current
    /// depth.
    #[inline(always)]
    fn keys_before(&mut self, base: usize, in_string: u64, end: usize) {
        while self.key < end {
            let offset = u32::try_from(self.key.wrapping_sub(base)).unwrap_or(u32::MAX);
            // The key's quote opens a string, of the top-level object.
            if in_string.checked_shr(offset).unwrap_or(0) & 1 == 1 && self.depth == 1 {
                self.found = member_status(self.body, self.key);
                if self.found.is_some() {
                    self.key = usize::MAX;
                    return;
                }
            }
            let from = self.key.saturating_add(1);
            self.key = self
                .body
                .get(from..)
                .and_then(|rest| STATUS_KEY.find(rest))
                .and_then(|next| from.checked_add(next))
                .unwrap_or(usize::MAX);
        }
    }
}

/// [`status`] of any `body` (from its `{` to its last non-blank byte): a walk over its
/// structure.
#[inline(never)]
fn walk(body: &[u8]) -> Option<u16> {
    // Bit i of `objects` says whether the container i levels up from the innermost one is an
    // object (1) or an array (0); MAX_DEPTH < 128 keeps every level in the word.
    let mut objects: u128 = 0;
    let mut depth: u32 = 0;
    // The last non-blank byte outside strings (`"` for a string).
    let mut prev = 0u8;
    let mut found = None;
    let mut i = 0usize;
    while let Some(&byte) = body.get(i) {
        match byte {
            b'"' => {
                if depth == 1 && found.is_none() && matches!(prev, b'{' | b',') {
                    found = member_status(body, i);
                }
                prev = b'"';
                i = string_end(body, i.checked_add(1)?)?.checked_add(1)?;
                continue;
            }
            b'{' | b'[' => {
                depth = depth
                    .checked_add(1)
                    .filter(|d| *d <= MAX_DEPTH.saturating_add(1))?;
                objects = objects.wrapping_shl(1) | u128::from(byte == b'{');
            }
            b'}' | b']' => {
                if depth == 0 || (objects & 1 == 1) != (byte == b'}') {
                    return None;
                }
                depth = depth.checked_sub(1)?;
                objects = objects.wrapping_shr(1);
                if depth == 0 {
                    return if i.checked_add(1)? == body.len() {
                        found
                    } else {
                        None
                    };
                }
            }
            b'\\' => return None,
            _ => {}
        }
        if !is_ws(byte) {
            prev = byte;
        }
        i = i.checked_add(1)?;
    }
    None
}

/// The status of a JSON access line read by `keys` (the walk by paths, used for any status
/// keys other than the default `status`, `status_code`, and whenever a duration is wanted),
/// or `None` when `line` is not one. The same rule as [`status`], with the keys' paths: the
/// first member, in the line's order, that sits at a status key's path and holds a status
/// counts. With `timed`, so does the first member at a duration key's path that holds a
/// number (or a string of one), read in the key's unit, in milliseconds.
///
/// `line` starts at its first non-blank byte.
#[inline(never)]
pub(super) fn status_timed(line: &[u8], keys: &LogKeys, timed: bool) -> Option<(u16, Option<f64>)> {
    let end = line.iter().rposition(|b| !is_ws(*b))?;
    let (Some(b'{'), Some(b'}')) = (line.first(), line.get(end)) else {
        return None;
    };
    walk_keys(line.get(..=end)?, keys, timed)
}

/// [`walk`], following the names of the objects on the way to a key.
fn walk_keys(body: &[u8], keys: &LogKeys, timed: bool) -> Option<(u16, Option<f64>)> {
    let mut objects: u128 = 0;
    let mut depth: u32 = 0;
    // The names of the members whose objects are open, while each is on the way to a key:
    // the innermost open object is on such a path when `depth == tracked + 1`.
    let mut parts: [&[u8]; MAX_KEY_PARTS] = [&[]; MAX_KEY_PARTS];
    let mut tracked: usize = 0;
    // The member just read leads to a key: an object as its value is on the path.
    let mut pending = false;
    let mut prev = 0u8;
    let mut found = None;
    let mut ms = None;
    let mut i = 0usize;
    while let Some(&byte) = body.get(i) {
        match byte {
            b'"' => {
                pending = false;
                let close = string_end(body, i.checked_add(1)?)?;
                let on_path = usize::try_from(depth).ok() == tracked.checked_add(1);
                let looking = found.is_none() || (timed && ms.is_none());
                if looking && on_path && objects & 1 == 1 && matches!(prev, b'{' | b',') {
                    let raw = body.get(i.checked_add(1)?..close)?;
                    let after = skip_ws(body.get(close.checked_add(1)?..)?);
                    if let (Some(b':'), Some(slot)) = (after.first(), parts.get_mut(tracked)) {
                        *slot = raw;
                        match keys.role(parts.get(..=tracked)?) {
                            Some(Role::Status) if found.is_none() => {
                                found = value_status(skip_ws(after.get(1..)?));
                            }
                            Some(Role::Duration(unit)) if timed && ms.is_none() => {
                                ms = value_duration(skip_ws(after.get(1..)?), unit);
                            }
                            Some(Role::Prefix) => pending = true,
                            Some(Role::Status | Role::Duration(_)) | None => {}
                        }
                    }
                }
                prev = b'"';
                i = close.checked_add(1)?;
                continue;
            }
            b'{' | b'[' => {
                depth = depth
                    .checked_add(1)
                    .filter(|d| *d <= MAX_DEPTH.saturating_add(1))?;
                objects = objects.wrapping_shl(1) | u128::from(byte == b'{');
                if byte == b'{' && pending && prev == b':' {
                    tracked = tracked.saturating_add(1);
                }
                pending = false;
            }
            b'}' | b']' => {
                if depth == 0 || (objects & 1 == 1) != (byte == b'}') {
                    return None;
                }
                if tracked > 0 && usize::try_from(depth).ok() == tracked.checked_add(1) {
                    tracked = tracked.saturating_sub(1);
                }
                depth = depth.checked_sub(1)?;
                objects = objects.wrapping_shr(1);
                if depth == 0 {
                    return if i.checked_add(1)? == body.len() {
                        found.map(|s| (s, ms))
                    } else {
                        None
                    };
                }
            }
            b'\\' => return None,
            b':' => {}
            _ => {
                if !is_ws(byte) {
                    pending = false;
                }
            }
        }
        if !is_ws(byte) {
            prev = byte;
        }
        i = i.checked_add(1)?;
    }
    None
}

/// When the string opening at index `at` of `body` is a `status` or `status_code` key, its
/// member's status; `None` otherwise.
///
/// The caller knows that the quote opens a string of the top-level object; this checks that
/// a `{` or `,` comes before it and a `:` after it.
#[inline]
fn member_status(body: &[u8], at: usize) -> Option<u16> {
    let before = body.get(..at)?;
    let prev = before.iter().rposition(|b| !is_ws(*b))?;
    if !matches!(before.get(prev), Some(b'{' | b',')) {
        return None;
    }
    let key_start = at.checked_add(1)?;
    let after_key = match body.get(key_start..)? {
        [b's', b't', b'a', b't', b'u', b's', b'"', ..] => key_start.checked_add(7)?,
        [
            b's',
            b't',
            b'a',
            b't',
            b'u',
            b's',
            b'_',
            b'c',
            b'o',
            b'd',
            b'e',
            b'"',
            ..,
        ] => key_start.checked_add(12)?,
        _ => {
            let close = string_end(body, key_start)?;
            let raw = body.get(key_start..close)?;
            if memchr(b'\\', raw).is_none() || !is_escaped_status_key(raw) {
                return None;
            }
            close.checked_add(1)?
        }
    };
    let rest = skip_ws(body.get(after_key..)?).strip_prefix(b":")?;
    value_status(skip_ws(rest))
}

/// What a top-level string is to the duration keys.
enum Member {
    /// A member at a duration key holding this many milliseconds.
    Duration(f64),
    /// A member whose value could hold a nested duration key.
    Prefix,
    /// Anything else.
    No,
}

/// What the string whose quote is at index `at` of `body` and closes at index `close` (a
/// line without backslashes, the quote opening a string of the top-level object) is to the
/// duration `keys`.
#[inline(never)]
fn member_duration(body: &[u8], at: usize, close: usize, keys: &LogKeys) -> Member {
    let read = || {
        // A member's name follows `{` or `,`; a string after `:` or `[` is a value.
        let prev = match body.get(at.checked_sub(1)?)? {
            b if is_ws(*b) => {
                let before = body.get(..at)?;
                *before.get(before.iter().rposition(|b| !is_ws(*b))?)?
            }
            b => *b,
        };
        if !matches!(prev, b'{' | b',') {
            return Some(Member::No);
        }
        // No backslash in the line: the name is plain.
        let role = keys.plain_role(body.get(at.checked_add(1)?..close)?);
        if role.is_none() || role == Some(Role::Status) {
            return Some(Member::No);
        }
        let Some(value) = skip_ws(body.get(close.checked_add(1)?..)?).strip_prefix(b":") else {
            return Some(Member::No);
        };
        Some(match role {
            Some(Role::Duration(unit)) => {
                value_duration(skip_ws(value), unit).map_or(Member::No, Member::Duration)
            }
            Some(Role::Prefix) => Member::Prefix,
            Some(Role::Status) | None => Member::No,
        })
    };
    read().unwrap_or(Member::No)
}

/// The index of the quote that closes a string whose body starts at index `from`.
#[inline(always)]
pub(super) fn string_end(body: &[u8], mut from: usize) -> Option<usize> {
    loop {
        let at = from.checked_add(simd::find2::<b'"', b'\\'>(body.get(from..)?)?)?;
        if body.get(at) == Some(&b'"') {
            return Some(at);
        }
        // A backslash: the byte after it is escaped, whatever it is.
        from = at.checked_add(2)?;
    }
}

/// Whether `b` is JSON whitespace.
#[inline(always)]
pub(super) fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// `s` without leading JSON whitespace.
#[inline(always)]
fn skip_ws(s: &[u8]) -> &[u8] {
    match s.iter().position(|b| !is_ws(*b)) {
        Some(n) => s.get(n..).unwrap_or_default(),
        None => &[],
    }
}

/// The status a member's value starting `value` holds: an integer, or a string, of three
/// digits in 100..=599, then a blank, `,` or `}`.
#[inline(always)]
fn value_status(value: &[u8]) -> Option<u16> {
    let ([b'"', a, b, c, b'"', next, ..] | [a, b, c, next, ..]) = value else {
        return None;
    };
    if !(a.is_ascii_digit() && b.is_ascii_digit() && c.is_ascii_digit())
        || !(is_ws(*next) || matches!(next, b',' | b'}'))
    {
        return None;
    }
    Some(super::quoted::digits(*a, *b, *c)).filter(|s| (100..=599).contains(s))
}

/// The duration a member's value starting `value` holds, in milliseconds: a non-negative
/// number, or a string holding one, in `unit`, then a blank, `,` or `}`.
#[inline]
fn value_duration(value: &[u8], unit: DurationUnit) -> Option<f64> {
    use super::duration::{number, short_decimal_prefix, to_ms};
    let quoted = value.strip_prefix(b"\"");
    // Nearly always a short decimal: read in one pass, then its end checked.
    let inner = quoted.unwrap_or(value);
    if let Some((ms, len)) = short_decimal_prefix(inner) {
        let ends = match (quoted, inner.get(len)) {
            (Some(_), Some(next)) => *next == b'"',
            (None, Some(next)) => is_ws(*next) || matches!(next, b',' | b'}'),
            (_, None) => false,
        };
        if ends {
            return Some(to_ms(ms, unit));
        }
    }
    let raw = if let Some(inner) = quoted {
        inner.get(..memchr(b'"', inner)?)?
    } else {
        let len = value
            .iter()
            .position(|b| is_ws(*b) || matches!(b, b',' | b'}'))?;
        value.get(..len)?
    };
    number(raw).map(|v| to_ms(v, unit))
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
                    b'"' | b'\\' | b'/' => *escape,
                    _ => return false,
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

#[cfg(test)]
mod tests;
