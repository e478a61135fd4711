//! The keys JSON and logfmt lines are read by: which hold the status, which a duration.
//!
//! A key is a name, or a dotted path into nested JSON objects (`http.response.status_code`).
//! A path matches however its dots are split between nested objects and dotted names: the
//! members `{"http":{"response":{"status_code":503}}}`, `{"http.response":{"status_code":503}}`
//! and `{"http.response.status_code":503}` all hold it (ECS loggers write both). In a logfmt
//! line the key is matched as written, dots included.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The most keys of one kind.
pub const MAX_KEYS: usize = 16;

/// The longest key, in bytes.
pub const MAX_KEY_LEN: usize = 128;

/// The most dot-separated parts of a key: how deep into nested objects a path reaches.
pub const MAX_KEY_PARTS: usize = 8;

/// The status keys when none are configured.
pub const DEFAULT_STATUS_KEYS: &str = "status,status_code";

/// The duration keys when none are configured.
pub const DEFAULT_DURATION_KEYS: &str = "duration_ms:ms,latency_ms:ms,elapsed_ms:ms,\
                                         response_time_ms:ms,request_time:s,duration_s:s,\
                                         response_time:s";

/// One key: an ASCII name, its dots splitting it into the parts of a path.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LogKey(String);

impl LogKey {
    /// Accepts a key: 1 to [`MAX_KEY_LEN`] bytes of printable ASCII other than `" \ = , :`
    /// and space, at most [`MAX_KEY_PARTS`] non-empty dot-separated parts.
    ///
    /// # Errors
    /// [`KeyError`] saying what is wrong with it.
    pub fn new(raw: &str) -> Result<Self, KeyError> {
        if raw.is_empty() {
            return Err(KeyError::Empty);
        }
        if raw.len() > MAX_KEY_LEN {
            return Err(KeyError::TooLong(raw.to_owned()));
        }
        if let Some(c) = raw
            .chars()
            .find(|c| !c.is_ascii_graphic() || matches!(c, '"' | '\\' | '=' | ',' | ':'))
        {
            return Err(KeyError::Character(raw.to_owned(), c));
        }
        if raw.split('.').any(str::is_empty) {
            return Err(KeyError::EmptyPart(raw.to_owned()));
        }
        if raw.split('.').count() > MAX_KEY_PARTS {
            return Err(KeyError::TooDeep(raw.to_owned()));
        }
        Ok(Self(raw.to_owned()))
    }

    /// The key as written.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key's bytes.
    #[must_use]
    pub(super) fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Display for LogKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The unit a duration key's number is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DurationUnit {
    /// Nanoseconds.
    Ns,
    /// Microseconds.
    Us,
    /// Milliseconds.
    Ms,
    /// Seconds.
    S,
}

impl DurationUnit {
    /// The unit's name: `ns`, `us`, `ms` or `s`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Ns => "ns",
            Self::Us => "us",
            Self::Ms => "ms",
            Self::S => "s",
        }
    }
}

impl DurationUnit {
    /// The unit of a CLF line's trailing integer as `ORCH_POST_DEPLOY_LOG_CLF_DURATION_UNIT`
    /// spells it: `us`, `ms` or `s`.
    ///
    /// # Errors
    /// [`KeyError::ClfUnit`] for anything else.
    pub fn parse_clf(s: &str) -> Result<Self, KeyError> {
        match s {
            "us" => Ok(Self::Us),
            "ms" => Ok(Self::Ms),
            "s" => Ok(Self::S),
            _ => Err(KeyError::ClfUnit(s.to_owned())),
        }
    }
}

impl FromStr for DurationUnit {
    type Err = KeyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "ns" => Ok(Self::Ns),
            "us" => Ok(Self::Us),
            "ms" => Ok(Self::Ms),
            "s" => Ok(Self::S),
            _ => Err(KeyError::Unit(s.to_owned())),
        }
    }
}

/// A key that holds a request's duration, and its unit.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DurationKey {
    /// The key.
    pub key: LogKey,
    /// The unit of its number.
    pub unit: DurationUnit,
}

impl fmt::Display for DurationKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.key, self.unit.as_str())
    }
}

impl FromStr for DurationKey {
    type Err = KeyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (key, unit) = s
            .rsplit_once(':')
            .ok_or_else(|| KeyError::NoUnit(s.to_owned()))?;
        Ok(Self {
            key: LogKey::new(key)?,
            unit: unit.parse()?,
        })
    }
}

/// Why a key list was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// An empty entry (`a,,b`, or nothing at all).
    #[error("an entry is empty")]
    Empty,
    /// A key longer than [`MAX_KEY_LEN`].
    #[error("the key {0:?} is longer than {MAX_KEY_LEN} bytes")]
    TooLong(String),
    /// A character a key cannot hold.
    #[error("the key {0:?} holds {1:?}")]
    Character(String, char),
    /// A dotted path with an empty part (`a..b`, `.a`, `a.`).
    #[error("the key {0:?} has an empty part between dots")]
    EmptyPart(String),
    /// More than [`MAX_KEY_PARTS`] parts.
    #[error("the key {0:?} has more than {MAX_KEY_PARTS} dotted parts")]
    TooDeep(String),
    /// More than [`MAX_KEYS`] keys.
    #[error("more than {MAX_KEYS} keys")]
    TooMany,
    /// A duration entry without `:unit`.
    #[error("the entry {0:?} has no `:unit`")]
    NoUnit(String),
    /// A unit that is none of `ns`, `us`, `ms`, `s`.
    #[error("the unit {0:?} is none of ns, us, ms, s")]
    Unit(String),
    /// A unit of a CLF line's trailing integer that is none of `us`, `ms`, `s`.
    #[error("the unit {0:?} is none of us, ms, s")]
    ClfUnit(String),
}

/// The keys JSON and logfmt lines are read by. Keeps its lists in the order given, without
/// duplicates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogKeys {
    status: Vec<LogKey>,
    duration: Vec<DurationKey>,
    /// The unit of the integer after a CLF line's last quoted field.
    clf_unit: DurationUnit,
    /// The status keys are exactly `status`, `status_code`: JSON lines take the fast path.
    default_status: bool,
    /// Bit n: a plain top-level name of n bytes can match a key (a key's length, or where
    /// one of its dots is); bit 127 stands for every length from 127 up.
    plain_lens: u128,
    /// Bit b: a key starts with byte b.
    first_bytes: [u64; 4],
    /// Bit b: a status key starts with byte b.
    status_first_bytes: [u64; 4],
    /// Entry n, bit b: a plain top-level name of n bytes (entry 63: 63 or more) whose first
    /// byte is b modulo 32 can be a duration key or lead into a key's path: the block scan's
    /// one look-up before it compares any bytes (see [`LogKeys::may_lead_to_duration`]).
    duration_names: [u32; 64],
}

impl Default for LogKeys {
    fn default() -> Self {
        Self::new(
            parse_list(DEFAULT_STATUS_KEYS, LogKey::new).unwrap_or_default(),
            parse_list(DEFAULT_DURATION_KEYS, str::parse).unwrap_or_default(),
        )
    }
}

impl LogKeys {
    fn new(status: Vec<LogKey>, duration: Vec<DurationKey>) -> Self {
        let default_status = status.len() == 2
            && status.first().is_some_and(|k| k.as_str() == "status")
            && status.get(1).is_some_and(|k| k.as_str() == "status_code");
        let mut plain_lens = 0u128;
        let mut first_bytes = [0u64; 4];
        let mut duration_names = [0u32; 64];
        let whole = duration.iter().map(|k| (k.key.as_bytes(), true));
        let leading = status.iter().map(|k| (k.as_bytes(), false));
        for (name, whole) in whole.chain(leading) {
            let dots = name
                .iter()
                .enumerate()
                .filter(|(_, b)| **b == b'.')
                .map(|(at, _)| at);
            let first = name.first().map_or(0, |b| u32::from(*b));
            for len in dots.chain(whole.then_some(name.len())) {
                if let Some(slot) = duration_names.get_mut(len.min(63)) {
                    *slot |= 1u32.wrapping_shl(first);
                }
            }
        }
        let names = status
            .iter()
            .map(LogKey::as_bytes)
            .chain(duration.iter().map(|k| k.key.as_bytes()));
        for name in names {
            let dots = name
                .iter()
                .enumerate()
                .filter(|(_, b)| **b == b'.')
                .map(|(at, _)| at);
            for len in dots.chain([name.len()]) {
                plain_lens |= 1u128
                    .checked_shl(u32::try_from(len.min(127)).unwrap_or(127))
                    .unwrap_or(0);
            }
            if let Some(&b) = name.first()
                && let Some(word) = first_bytes.get_mut(usize::from(b >> 6))
            {
                *word |= 1u64 << (b & 63);
            }
        }
        let mut status_first_bytes = [0u64; 4];
        for name in status.iter().map(LogKey::as_bytes) {
            if let Some(&b) = name.first()
                && let Some(word) = status_first_bytes.get_mut(usize::from(b >> 6))
            {
                *word |= 1u64 << (b & 63);
            }
        }
        Self {
            status,
            duration,
            clf_unit: DurationUnit::Us,
            default_status,
            plain_lens,
            first_bytes,
            status_first_bytes,
            duration_names,
        }
    }

    /// Parses the two lists as `ORCH_POST_DEPLOY_LOG_STATUS_KEYS` and
    /// `ORCH_POST_DEPLOY_LOG_DURATION_KEYS` spell them: comma-separated, spaces around entries
    /// ignored; `None` takes the default list.
    ///
    /// # Errors
    /// The first [`KeyError`] of either list, and which list it is in (`false`: status).
    pub fn parse(status: Option<&str>, duration: Option<&str>) -> Result<Self, (bool, KeyError)> {
        let status = parse_list(status.unwrap_or(DEFAULT_STATUS_KEYS), LogKey::new)
            .map_err(|e| (false, e))?;
        let duration = parse_list(duration.unwrap_or(DEFAULT_DURATION_KEYS), str::parse)
            .map_err(|e| (true, e))?;
        Ok(Self::new(status, duration))
    }

    /// Parses a status key list (see [`LogKeys::parse`]).
    ///
    /// # Errors
    /// The first [`KeyError`].
    pub fn parse_status(list: &str) -> Result<Vec<LogKey>, KeyError> {
        parse_list(list, LogKey::new)
    }

    /// Parses a duration key list (see [`LogKeys::parse`]).
    ///
    /// # Errors
    /// The first [`KeyError`].
    pub fn parse_duration(list: &str) -> Result<Vec<DurationKey>, KeyError> {
        parse_list(list, str::parse)
    }

    /// These keys with other status keys; at least one.
    #[must_use]
    pub fn with_status(self, status: Vec<LogKey>) -> Self {
        if status.is_empty() {
            return self;
        }
        Self::new(status, self.duration).with_clf_unit(self.clf_unit)
    }

    /// These keys, with JSON lines read by the walk by paths even when the status keys are
    /// the default ones: for tests that hold the two paths together.
    #[cfg(test)]
    pub(super) fn without_fast_path(mut self) -> Self {
        self.default_status = false;
        self
    }

    /// The keys that hold the status.
    #[must_use]
    pub fn status(&self) -> &[LogKey] {
        &self.status
    }

    /// The keys that hold a duration.
    #[must_use]
    pub fn duration(&self) -> &[DurationKey] {
        &self.duration
    }

    /// Whether the status keys are the default `status`, `status_code`.
    #[must_use]
    pub(super) fn default_status(&self) -> bool {
        self.default_status
    }

    /// The status keys as `ORCH_POST_DEPLOY_LOG_STATUS_KEYS` spells them.
    #[must_use]
    pub fn status_list(&self) -> String {
        join(&self.status)
    }

    /// The duration keys as `ORCH_POST_DEPLOY_LOG_DURATION_KEYS` spells them.
    #[must_use]
    pub fn duration_list(&self) -> String {
        join(&self.duration)
    }

    /// What a key of a JSON or logfmt line is to these keys, given the parts of its path: the
    /// raw (maybe escaped) names of the objects it is nested in, then its own.
    ///
    /// `Some(Status)` when the path is a status key, `Some(Duration(unit))` for a duration key,
    /// `Some(Prefix)` when the path continues into a status or duration key, `None` otherwise.
    pub(super) fn role(&self, parts: &[&[u8]]) -> Option<Role> {
        if let [raw] = parts
            && !raw.contains(&b'\\')
        {
            return self.plain_role(raw);
        }
        let mut prefix = false;
        for key in &self.status {
            match path_match(key.as_bytes(), parts) {
                Match::Whole => return Some(Role::Status),
                Match::Prefix => prefix = true,
                Match::No => {}
            }
        }
        for key in &self.duration {
            match path_match(key.key.as_bytes(), parts) {
                Match::Whole => return Some(Role::Duration(key.unit)),
                Match::Prefix => prefix = true,
                Match::No => {}
            }
        }
        prefix.then_some(Role::Prefix)
    }

    /// Whether `raw`'s first byte and length are those of a key, or of where a key's dot is:
    /// `false` rules out every key without comparing a byte.
    #[inline(always)]
    fn may_be_key(&self, raw: &[u8]) -> bool {
        let len = u32::try_from(raw.len().min(127)).unwrap_or(127);
        let first = raw.first().copied().unwrap_or(0);
        let starts = self
            .first_bytes
            .get(usize::from(first >> 6))
            .is_some_and(|word| word.wrapping_shr(u32::from(first & 63)) & 1 == 1);
        starts && self.plain_lens.checked_shr(len).unwrap_or(0) & 1 == 1
    }

    /// Whether a plain top-level name of `len` bytes that starts with `first` may have the
    /// role [`Role::Duration`] or [`Role::Prefix`] ([`LogKeys::plain_role`] says which):
    /// `false` rules both out without comparing a byte, as for nearly every member.
    #[inline(always)]
    pub(super) fn may_lead_to_duration(&self, first: u8, len: usize) -> bool {
        self.duration_names
            .get(len.min(63))
            .is_some_and(|word| word.wrapping_shr(u32::from(first)) & 1 == 1)
    }

    /// [`LogKeys::role`] of a top-level member whose name has no escape: its first byte and
    /// length are looked up before any bytes are compared, as nearly every member is none of
    /// the keys.
    #[inline]
    pub(super) fn plain_role(&self, raw: &[u8]) -> Option<Role> {
        if !self.may_be_key(raw) {
            return None;
        }
        let mut prefix = false;
        for key in &self.status {
            match plain_match(key.as_bytes(), raw) {
                Match::Whole => return Some(Role::Status),
                Match::Prefix => prefix = true,
                Match::No => {}
            }
        }
        for key in &self.duration {
            match plain_match(key.key.as_bytes(), raw) {
                Match::Whole => return Some(Role::Duration(key.unit)),
                Match::Prefix => prefix = true,
                Match::No => {}
            }
        }
        prefix.then_some(Role::Prefix)
    }

    /// The unit of the duration key the raw logfmt key `raw` is (compared as written), if any.
    #[inline]
    pub(super) fn logfmt_duration(&self, raw: &[u8]) -> Option<DurationUnit> {
        if !self.may_lead_to_duration(*raw.first()?, raw.len()) {
            return None;
        }
        self.duration
            .iter()
            .find(|k| k.key.as_bytes() == raw)
            .map(|k| k.unit)
    }

    /// These keys with other duration keys (an empty list: no line carries a duration).
    #[must_use]
    pub fn with_duration(self, duration: Vec<DurationKey>) -> Self {
        Self::new(self.status, duration).with_clf_unit(self.clf_unit)
    }

    /// These keys, reading the integer after a CLF line's last quoted field in `unit`
    /// (microseconds by default: Apache's `%D`; a number with a point is seconds whatever
    /// this says).
    #[must_use]
    pub fn with_clf_unit(mut self, unit: DurationUnit) -> Self {
        self.clf_unit = unit;
        self
    }

    /// The unit of the integer after a CLF line's last quoted field.
    #[must_use]
    pub fn clf_unit(&self) -> DurationUnit {
        self.clf_unit
    }

    /// Whether a logfmt key that starts with `first` can be a status key, or with `timed` a
    /// status or duration key: [`LogKeys::may_be_logfmt_key`] of the first byte alone.
    #[inline(always)]
    pub(super) fn may_start_logfmt_key(&self, first: u8, timed: bool) -> bool {
        let table = if timed {
            &self.first_bytes
        } else {
            &self.status_first_bytes
        };
        table
            .get(usize::from(first >> 6))
            .is_some_and(|word| word.wrapping_shr(u32::from(first & 63)) & 1 == 1)
    }

    /// Whether a logfmt key of `len` bytes that starts with `first` can be a status key
    /// ([`LogKeys::is_status`]), or with `timed` a duration key
    /// ([`LogKeys::logfmt_duration`]): `false` rules them all out without comparing a byte.
    #[inline(always)]
    pub(super) fn may_be_logfmt_key(&self, first: u8, len: usize, timed: bool) -> bool {
        let len_bit = u32::try_from(len.min(127)).unwrap_or(127);
        let status = self
            .status_first_bytes
            .get(usize::from(first >> 6))
            .is_some_and(|word| word.wrapping_shr(u32::from(first & 63)) & 1 == 1)
            && self.plain_lens.checked_shr(len_bit).unwrap_or(0) & 1 == 1;
        status || (timed && self.may_lead_to_duration(first, len))
    }

    /// Whether the raw logfmt key `raw` is a status key (compared as written).
    #[inline]
    pub(super) fn is_status(&self, raw: &[u8]) -> bool {
        if !self.may_be_key(raw) {
            return false;
        }
        self.status.iter().any(|k| k.as_bytes() == raw)
    }
}

/// What a key is to the configured keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Role {
    /// It holds the status.
    Status,
    /// It holds a duration in this unit.
    Duration(DurationUnit),
    /// An object under it may hold a status or duration key.
    Prefix,
}

/// How a path of raw JSON names matches a dotted key.
enum Match {
    Whole,
    Prefix,
    No,
}

/// [`path_match`] of one part without escapes.
#[inline(always)]
fn plain_match(key: &[u8], raw: &[u8]) -> Match {
    let n = raw.len();
    if key.first() != raw.first() {
        return Match::No;
    }
    if key.len() == n {
        if key == raw { Match::Whole } else { Match::No }
    } else if key.len() > n.saturating_add(1) && key.get(n) == Some(&b'.') && key.starts_with(raw) {
        Match::Prefix
    } else {
        Match::No
    }
}

/// Matches `parts`, joined with dots and unescaped, against `key`.
fn path_match(key: &[u8], parts: &[&[u8]]) -> Match {
    let mut rest = key;
    let count = parts.len();
    for (i, part) in parts.iter().enumerate() {
        let Some(after) = strip_unescaped(rest, part) else {
            return Match::No;
        };
        let last = i.saturating_add(1) == count;
        match after {
            [] if last => return Match::Whole,
            [b'.', more @ ..] if !more.is_empty() => rest = more,
            _ => return Match::No,
        }
    }
    Match::Prefix
}

/// `key` without its start `raw` (a JSON string's body, maybe with escapes), or `None` when
/// it does not start so.
fn strip_unescaped<'k>(key: &'k [u8], raw: &[u8]) -> Option<&'k [u8]> {
    if memchr::memchr(b'\\', raw).is_none() {
        return key.strip_prefix(raw);
    }
    let mut key = key;
    let mut raw = raw;
    loop {
        let (byte, rest) = match raw {
            [] => return Some(key),
            [b'\\', b'u', a, b, c, d, rest @ ..] => {
                let hex = std::str::from_utf8(&[*a, *b, *c, *d])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok())?;
                (hex, rest)
            }
            [b'\\', escape, rest @ ..] => {
                let byte = match escape {
                    b'"' | b'\\' | b'/' => *escape,
                    // A key holds no control character: `\b \f \n \r \t` never match.
                    _ => return None,
                };
                (byte, rest)
            }
            [byte, rest @ ..] => (*byte, rest),
        };
        let [first, after @ ..] = key else {
            return None;
        };
        if *first != byte {
            return None;
        }
        key = after;
        raw = rest;
    }
}

/// Parses a comma-separated list, spaces around entries ignored, duplicates dropped.
fn parse_list<T: PartialEq>(
    list: &str,
    parse: impl Fn(&str) -> Result<T, KeyError>,
) -> Result<Vec<T>, KeyError> {
    let mut out: Vec<T> = Vec::new();
    for entry in list.split(',') {
        let entry = parse(entry.trim())?;
        if !out.contains(&entry) {
            out.push(entry);
        }
    }
    if out.len() > MAX_KEYS {
        return Err(KeyError::TooMany);
    }
    Ok(out)
}

fn join<T: fmt::Display>(items: &[T]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// Recorded as `{"status": ["status", ...], "duration": ["duration_ms:ms", ...],
/// "clf_unit": "us"}`; keys recorded before the CLF unit was read it as `us`.
#[derive(Serialize, Deserialize)]
struct Recorded {
    status: Vec<String>,
    duration: Vec<String>,
    #[serde(default = "default_clf_unit")]
    clf_unit: String,
}

fn default_clf_unit() -> String {
    DurationUnit::Us.as_str().to_owned()
}

impl Serialize for LogKeys {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        Recorded {
            status: self.status.iter().map(ToString::to_string).collect(),
            duration: self.duration.iter().map(ToString::to_string).collect(),
            clf_unit: self.clf_unit.as_str().to_owned(),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for LogKeys {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let recorded = Recorded::deserialize(d)?;
        let status = parse_list(&recorded.status.join(","), LogKey::new)
            .map_err(serde::de::Error::custom)?;
        let duration = if recorded.duration.is_empty() {
            Vec::new()
        } else {
            parse_list(&recorded.duration.join(","), str::parse)
                .map_err(serde::de::Error::custom)?
        };
        let clf_unit =
            DurationUnit::parse_clf(&recorded.clf_unit).map_err(serde::de::Error::custom)?;
        Ok(Self::new(status, duration).with_clf_unit(clf_unit))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let keys = LogKeys::default();
        assert_eq!(keys.status_list(), "status,status_code");
        assert!(keys.default_status());
        assert_eq!(
            keys.duration_list(),
            "duration_ms:ms,latency_ms:ms,elapsed_ms:ms,response_time_ms:ms,request_time:s,\
             duration_s:s,response_time:s"
        );
        assert_eq!(LogKeys::parse(None, None).unwrap(), keys);
    }

    #[test]
    fn lists_parse_and_refuse() {
        let keys = LogKeys::parse(
            Some(" DownstreamStatus , http.response.status_code,status "),
            Some("Duration:ns,event.duration:ns"),
        )
        .unwrap();
        assert_eq!(
            keys.status_list(),
            "DownstreamStatus,http.response.status_code,status"
        );
        assert!(!keys.default_status());
        assert_eq!(keys.duration_list(), "Duration:ns,event.duration:ns");
        for (status, duration, in_duration) in [
            ("", "a:ms", false),
            ("a,,b", "a:ms", false),
            ("a b", "a:ms", false),
            ("a.", "a:ms", false),
            ("a..b", "a:ms", false),
            ("\"a\"", "a:ms", false),
            ("a=b", "a:ms", false),
            ("a.b.c.d.e.f.g.h.i", "a:ms", false),
            ("a", "b", true),
            ("a", "b:min", true),
            ("a", ":ms", true),
            ("a", "b:ms,", true),
        ] {
            let err = LogKeys::parse(Some(status), Some(duration)).unwrap_err();
            assert_eq!(err.0, in_duration, "{status} / {duration}: {}", err.1);
        }
        let many = (0..=MAX_KEYS).map(|i| format!("k{i}")).collect::<Vec<_>>();
        assert_eq!(
            LogKeys::parse(Some(&many.join(",")), None).unwrap_err(),
            (false, KeyError::TooMany)
        );
    }

    #[test]
    fn paths_match_however_the_dots_are_split() {
        let keys = LogKeys::parse(Some("http.response.status_code,status"), Some("d:ms")).unwrap();
        let role = |parts: &[&str]| {
            let parts: Vec<&[u8]> = parts.iter().map(|p| p.as_bytes()).collect();
            keys.role(&parts)
        };
        assert_eq!(role(&["status"]), Some(Role::Status));
        assert_eq!(role(&["d"]), Some(Role::Duration(DurationUnit::Ms)));
        assert_eq!(role(&["http"]), Some(Role::Prefix));
        assert_eq!(role(&["http", "response"]), Some(Role::Prefix));
        assert_eq!(role(&["http.response"]), Some(Role::Prefix));
        assert_eq!(
            role(&["http", "response", "status_code"]),
            Some(Role::Status)
        );
        assert_eq!(role(&["http.response", "status_code"]), Some(Role::Status));
        assert_eq!(role(&["http.response.status_code"]), Some(Role::Status));
        assert_eq!(role(&["http", "response.status_code"]), Some(Role::Status));
        assert_eq!(
            role(&[r"http\u002eresponse", "status_code"]),
            Some(Role::Status)
        );
        assert_eq!(role(&["htt"]), None);
        assert_eq!(role(&["http", "resp"]), None);
        assert_eq!(role(&["http", "response", "status"]), None);
        assert_eq!(role(&["http", "response", "status_code", "x"]), None);
        assert_eq!(role(&["x", "status"]), None);
        assert_eq!(role(&[r"st\u0061tus"]), Some(Role::Status));
        assert_eq!(role(&[r"status\n"]), None);
    }

    #[test]
    fn recorded_keys_round_trip_and_old_files_default() {
        let keys = LogKeys::parse(Some("a.b,c"), Some("x:ns")).unwrap();
        let json = serde_json::to_string(&keys).unwrap();
        assert_eq!(
            json,
            r#"{"status":["a.b","c"],"duration":["x:ns"],"clf_unit":"us"}"#
        );
        assert_eq!(serde_json::from_str::<LogKeys>(&json).unwrap(), keys);
        let ms = keys.clone().with_clf_unit(DurationUnit::Ms);
        let json = serde_json::to_string(&ms).unwrap();
        assert_eq!(serde_json::from_str::<LogKeys>(&json).unwrap(), ms);
        // Recorded before the unit was: microseconds.
        let old: LogKeys =
            serde_json::from_str(r#"{"status":["a.b","c"],"duration":["x:ns"]}"#).unwrap();
        assert_eq!(old, keys);
        assert!(
            serde_json::from_str::<LogKeys>(r#"{"status":["a"],"duration":[],"clf_unit":"ns"}"#)
                .is_err()
        );
        assert!(serde_json::from_str::<LogKeys>(r#"{"status":[],"duration":[]}"#).is_err());
        assert!(serde_json::from_str::<LogKeys>(r#"{"status":["a b"],"duration":[]}"#).is_err());
    }
}
