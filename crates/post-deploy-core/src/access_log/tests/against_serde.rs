//! JSON lines read as serde_json reads them: the block scan and the walk against a full parser.

use super::*;

/// A top-level object's members in order, duplicates kept: serde_json's own reading.
struct Members(Vec<(String, serde_json::Value)>);

impl<'de> serde::Deserialize<'de> for Members {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Members;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Members, A::Error> {
                let mut members = Vec::new();
                while let Some(member) = map.next_entry()? {
                    members.push(member);
                }
                Ok(Members(members))
            }
        }
        deserializer.deserialize_map(Visit)
    }
}

/// What the JSON rule says, read with serde_json; `None` where the scanner is lenient on
/// purpose (invalid UTF-8 or raw control characters inside strings), so there is no verdict.
fn serde_status(text: &[u8]) -> Option<Option<u16>> {
    if std::str::from_utf8(text).is_err() {
        return None;
    }
    let members = match serde_json::from_slice::<Members>(text) {
        Ok(Members(members)) => members,
        Err(err) if err.to_string().contains("control character") => return None,
        Err(_) => return Some(None),
    };
    Some(members.into_iter().find_map(|(key, value)| {
        if key != "status" && key != "status_code" {
            return None;
        }
        let status = match value {
            serde_json::Value::Number(n) => u16::try_from(n.as_u64()?).ok()?,
            serde_json::Value::String(s)
                if s.len() == 3 && s.bytes().all(|b| b.is_ascii_digit()) =>
            {
                s.parse().ok()?
            }
            _ => return None,
        };
        (100..=599).contains(&status).then_some(status)
    }))
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-1000i64..1000).prop_map(Value::from),
        (-8000i32..8000).prop_map(|x| Value::from(f64::from(x) / 8.0)),
        prop::sample::select(vec![99u64, 100, 200, 404, 500, 503, 599, 600]).prop_map(Value::from),
        "[a-z0-9 _é\"\\\\\t]{0,8}".prop_map(Value::String),
        prop::sample::select(vec!["500", "200", "5000", "ok", "099", " 500"]).prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((json_key(), inner), 0..4)
                .prop_map(|members| Value::Object(members.into_iter().collect())),
        ]
    })
}

fn json_key() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("status".to_owned()),
        Just("status_code".to_owned()),
        Just("st\"atus".to_owned()),
        "[a-z_]{0,6}",
    ]
}

/// A top-level object, members in order (duplicates allowed), with some blanks between tokens.
fn json_object() -> impl Strategy<Value = Vec<u8>> {
    (
        prop::collection::vec((json_key(), json_value()), 0..6),
        prop::sample::select(vec!["", " ", "\t", " \t "]),
    )
        .prop_map(|(members, blank)| {
            let members: Vec<String> = members
                .iter()
                .map(|(key, value)| {
                    format!(
                        "{}{blank}:{blank}{}",
                        serde_json::to_string(key).unwrap(),
                        serde_json::to_string(value).unwrap()
                    )
                })
                .collect();
            format!(
                "{{{blank}{}{blank}}}",
                members.join(&format!("{blank},{blank}"))
            )
            .into_bytes()
        })
}

/// Overwrites, inserts or removes a few bytes, from JSON's own alphabet.
fn mutate(mut text: Vec<u8>, edits: &[(prop::sample::Index, u8, u8)]) -> Vec<u8> {
    const ALPHABET: &[u8] = b"{}[],:\"\\ 015-.eatun";
    for (at, op, byte) in edits {
        let byte = ALPHABET[usize::from(*byte) % ALPHABET.len()];
        let at = at.index(text.len() + 1);
        match op % 3 {
            0 if at < text.len() => text[at] = byte,
            1 => text.insert(at, byte),
            _ if at < text.len() => {
                text.remove(at);
            }
            _ => {}
        }
    }
    text
}

proptest! {
    #[test]
    fn json_agrees_with_serde_json(text in json_object()) {
        prop_assert_eq!(Some(json_classify(&text)), serde_status(&text), "{}", String::from_utf8_lossy(&text));
        prop_assert_eq!(json_walk_classify(&text), json_classify(&text), "{}", String::from_utf8_lossy(&text));
    }

    #[test]
    fn broken_json_agrees_with_serde_json_where_it_parses(
        text in json_object(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), any::<u8>()), 1..4),
    ) {
        let text = mutate(text, &edits);
        let ours = json_classify(&text);
        prop_assert_eq!(ours, relaxed_status(&text), "{}", String::from_utf8_lossy(&text));
        prop_assert_eq!(json_walk_classify(&text), ours, "{}", String::from_utf8_lossy(&text));
        // Where serde_json reads the object, the answers are the same; where it refuses it,
        // the scanner may still count it by its structure (see the module doc of `json`).
        if let Some(Some(theirs)) = serde_status(&text) {
            prop_assert_eq!(ours, Some(theirs), "{}", String::from_utf8_lossy(&text));
        }
        if serde_json::from_slice::<serde_json::Value>(&text).is_ok() {
            prop_assert_eq!(Some(ours), serde_status(&text), "{}", String::from_utf8_lossy(&text));
        }
    }

    #[test]
    fn noisy_json_agrees_with_the_reference(text in noisy_json()) {
        prop_assert_eq!(json_classify(&text), relaxed_status(&text), "{}", String::from_utf8_lossy(&text));
        prop_assert_eq!(json_walk_classify(&text), relaxed_status(&text), "{}", String::from_utf8_lossy(&text));
    }
}

/// Bytes from JSON's alphabet, often starting with `{` and ending with `}`.
fn noisy_json() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        4 => prop::sample::select(vec![
            &b"\""[..], b"{", b"}", b"[", b"]", b",", b":", b" ", b"\\", b"500", b"\"503\"",
            b"\"status\"", b"\"status_code\"", b"\"st\\u0061tus\"", b"\"a\"", b"1", b"x",
        ]).prop_map(<[u8]>::to_vec),
        1 => "[a-z\"{}:,]{1,4}".prop_map(String::into_bytes),
    ];
    (
        prop::collection::vec(piece, 0..24),
        any::<bool>(),
        any::<bool>(),
        prop::option::of(0..140usize),
    )
        .prop_map(|(pieces, open, close, pad)| {
            let mut text = if open { b"{".to_vec() } else { Vec::new() };
            // A first member of any length moves the rest across the scanner's 64-byte blocks.
            if let Some(pad) = pad {
                text.extend_from_slice(b"\"p\":\"");
                text.extend(std::iter::repeat_n(b'x', pad));
                text.extend_from_slice(b"\",");
            }
            text.extend(pieces.concat());
            if close {
                text.push(b'}');
            }
            text
        })
}

/// The JSON rule of the module doc of `json`, written plainly and slowly: the reference the
/// scanner is held to on any input.
fn relaxed_status(text: &[u8]) -> Option<u16> {
    let is_ws = |b: &u8| matches!(b, b' ' | b'\t' | b'\n' | b'\r');
    let start = text.iter().position(|b| !b.is_ascii_whitespace())?;
    let end = text.iter().rposition(|b| !is_ws(b))?;
    let t = &text[start..=end];
    if t[0] != b'{' {
        return None;
    }
    // Pass 1: the structure. Strings as (open, close) quote indices with the depth they sit at.
    let mut stack: Vec<u8> = Vec::new();
    let mut strings = Vec::new();
    let mut prev_of = Vec::new();
    let mut prev = 0u8;
    let mut i = 0;
    while i < t.len() {
        let b = t[i];
        match b {
            b'"' => {
                let open = i;
                i += 1;
                loop {
                    match t.get(i) {
                        None => return None,
                        Some(b'"') => break,
                        Some(b'\\') => i += 2,
                        Some(_) => i += 1,
                    }
                }
                strings.push((open, i, stack.len()));
                prev_of.push(prev);
                prev = b'"';
                i += 1;
                continue;
            }
            b'{' | b'[' => {
                stack.push(b);
                if stack.len() > 127 {
                    return None;
                }
            }
            b'}' | b']' => {
                let want = if b == b'}' { b'{' } else { b'[' };
                if stack.pop() != Some(want) {
                    return None;
                }
                if stack.is_empty() && i != t.len() - 1 {
                    return None;
                }
            }
            b'\\' => return None,
            _ => {}
        }
        if !is_ws(&b) {
            prev = b;
        }
        i += 1;
    }
    if !stack.is_empty() {
        return None;
    }
    // Pass 2: the first top-level member named status or status_code with a valid value.
    strings
        .iter()
        .zip(prev_of)
        .find_map(|(&(open, close, depth), prev)| {
            if depth != 1 || !matches!(prev, b'{' | b',') {
                return None;
            }
            let key: String = serde_json::from_slice(&t[open..=close]).ok()?;
            if key != "status" && key != "status_code" {
                return None;
            }
            let mut rest = &t[close + 1..];
            rest = &rest[rest.iter().position(|b| !is_ws(b))?..];
            rest = rest.strip_prefix(b":")?;
            rest = &rest[rest.iter().position(|b| !is_ws(b))?..];
            let (digits, next) = match rest {
                [b'"', a, b, c, b'"', next, ..] => ([*a, *b, *c], *next),
                [a, b, c, next, ..] => ([*a, *b, *c], *next),
                _ => return None,
            };
            if !digits.iter().all(u8::is_ascii_digit)
                || !(is_ws(&next) || matches!(next, b',' | b'}'))
            {
                return None;
            }
            let status: u16 = std::str::from_utf8(&digits).ok()?.parse().ok()?;
            (100..=599).contains(&status).then_some(status)
        })
}

#[test]
fn json_nesting_limit_is_close_to_serde_json() {
    for depth in [100, 124, 125, 126, 127, 128, 129, 200] {
        let text = format!(
            r#"{{"status":500,"a":{}{}}}"#,
            "[".repeat(depth),
            "]".repeat(depth)
        );
        let ours = json_classify(text.as_bytes());
        let theirs = serde_status(text.as_bytes()).unwrap();
        println!("depth {depth}: ours {ours:?} theirs {theirs:?}");
        assert_eq!(ours, theirs, "depth {depth}");
    }
}
