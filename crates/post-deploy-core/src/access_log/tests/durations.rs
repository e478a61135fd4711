//! Durations: read back in every format and unit, counted the same however the log is split,
//! the histogram's quantiles, and the block scan held to the walk by paths.

use super::*;

/// Duration keys in every unit: the defaults' `duration_ms` and `request_time`, and keys in
/// ns (flat and nested) and us, and `svc_time` for logfmt values with a unit suffix.
fn timed_keys() -> LogKeys {
    LogKeys::default().with_duration(
        LogKeys::parse_duration(
            "duration_ms:ms,request_time:s,Duration:ns,event.duration:ns,took_us:us,svc_time:ms",
        )
        .unwrap(),
    )
}

/// `value` read in `unit`, in milliseconds, computed apart from the parser.
fn in_ms(value: f64, unit: &str) -> f64 {
    match unit {
        "ns" => value * 1e-6,
        "us" => value * 1e-3,
        "ms" => value,
        _ => value * 1e3,
    }
}

/// A line of some format that carries a duration, its status, and the duration in ms.
fn timed_line() -> impl Strategy<Value = (String, u16, f64)> {
    (
        any_status(),
        0u8..11,
        // Below a day in seconds, with the minutes below: every one a request's.
        0u64..80_000,
        prop::option::of(0u32..1000),
        prop::sample::select(vec!["ns", "us", "ms", "s"]),
        path(),
        prop::bool::ANY,
    )
        .prop_map(|(s, kind, int, frac, unit, p, first)| {
            let num = match frac {
                Some(f) => format!("{int}.{f:03}"),
                None => int.to_string(),
            };
            let v: f64 = num.parse().unwrap();
            let key = match unit {
                "ns" => "Duration",
                "us" => "took_us",
                "ms" => "duration_ms",
                _ => "request_time",
            };
            let clf =
                format!(r#"192.0.2.1 - - [01/May/2024:12:00:00 +0000] "GET {p} HTTP/1.1" {s} 12"#);
            match kind {
                0 | 1 => {
                    let (a, b) = (format!(r#""status":{s}"#), format!(r#""{key}":{num}"#));
                    let (a, b) = if first { (b, a) } else { (a, b) };
                    let q = if kind == 1 { "\"" } else { "" };
                    let b = if kind == 1 {
                        b.replace(&format!(":{num}"), &format!(":{q}{num}{q}"))
                    } else {
                        b
                    };
                    (
                        format!(r#"{{"ts":"x",{a},"path":"{p}",{b}}}"#),
                        s,
                        in_ms(v, unit),
                    )
                }
                2 => (
                    format!(r#"{{"event":{{"kind":"e","duration":{num}}},"status":{s}}}"#),
                    s,
                    in_ms(v, "ns"),
                ),
                3 => (
                    format!("method=GET path={p} status={s} {key}={num}"),
                    s,
                    in_ms(v, unit),
                ),
                4 => (
                    format!("at=info path={p} svc_time={num}{unit} status={s}"),
                    s,
                    in_ms(v, unit),
                ),
                5 => (
                    format!(r#"{clf} "-" "curl/8" {int}"#),
                    s,
                    in_ms(int as f64, "us"),
                ),
                6 => {
                    let num = format!("{int}.{:03}", frac.unwrap_or(0));
                    let v: f64 = num.parse().unwrap();
                    (format!(r#"{clf} "-" "curl/8" {num}"#), s, in_ms(v, "s"))
                }
                7 => (format!("{clf} {int}"), s, in_ms(int as f64, "us")),
                9 => {
                    let plus = if first { "+" } else { "" };
                    let text = format!(
                        r#"192.0.2.1:5000 [07/Dec/2026:00:37:53.633] web app/a1 0/0/1/-1/{plus}{int} {s} 139 - - ---- 1/1/1/1/0 0/0 "GET {p} HTTP/1.1""#
                    );
                    (text, s, int as f64)
                }
                10 => {
                    let num = format!("{int}.{:03}", frac.unwrap_or(0));
                    let v: f64 = num.parse().unwrap();
                    let text = match int % 3 {
                        0 => format!("GET {p} {s} 12 - {num} ms"),
                        1 => format!("127.0.0.1 - GET {p} HTTP/1.1 {s} - - {num} ms"),
                        _ => format!("\x1b[0mGET {p} \x1b[31m{s}\x1b[0m {num} ms - 12\x1b[0m"),
                    };
                    (text, s, v)
                }
                _ => {
                    // Go's time.Duration: minutes, then seconds with a fraction.
                    let minutes = int % 60;
                    (
                        format!("at=info path={p} svc_time={minutes}m{num}s status={s}"),
                        s,
                        minutes as f64 * 60_000.0 + in_ms(v, "s"),
                    )
                }
            }
        })
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 * a.abs().max(b.abs())
}

fn timed(format: LogFormat, keys: &LogKeys, line: &str) -> Option<(u16, Option<f64>)> {
    match crate::access_log::line::classify_timed(format, keys, line.as_bytes(), true) {
        (Line::Access(s), ms) => Some((s, ms)),
        _ => None,
    }
}

/// Feeds `pieces` to a counter with a threshold and a histogram.
fn count_timed<'a>(
    keys: &LogKeys,
    threshold: f64,
    pieces: impl IntoIterator<Item = &'a [u8]>,
) -> (LogCounts, LogDurations) {
    let mut counter = AccessLogCounter::with_keys(LogFormat::Auto, keys.clone())
        .with_latency(threshold)
        .with_histogram();
    for piece in pieces {
        counter.feed(piece);
    }
    counter.finish_timed()
}

#[test]
fn durations_in_every_format() {
    let keys = LogKeys::default();
    let nginx = r#"192.0.2.10 - - [01/May/2024:12:00:01 +0000] "GET / HTTP/1.1" 200 612 "-" "curl/8.5.0" 0.002"#;
    assert_eq!(timed(LogFormat::Clf, &keys, nginx), Some((200, Some(2.0))));
    let apache = r#"192.0.2.10 - - [01/May/2024:12:00:01 +0000] "GET / HTTP/1.1" 500 612 "-" "curl/8.5.0" 1520"#;
    assert_eq!(
        timed(LogFormat::Auto, &keys, apache),
        Some((500, Some(1.52)))
    );
    let common = r#"192.0.2.10 - - [01/May/2024:12:00:01 +0000] "GET / HTTP/1.1" 200 612"#;
    assert_eq!(timed(LogFormat::Auto, &keys, common), Some((200, None)));
    let odd = r#"192.0.2.10 - - [01/May/2024:12:00:01 +0000] "GET / HTTP/1.1" 200 612 "-" "a" -"#;
    assert_eq!(timed(LogFormat::Auto, &keys, odd), Some((200, None)));
    let uvicorn = r#"INFO:     127.0.0.1:5 - "GET / HTTP/1.1" 200 OK"#;
    assert_eq!(timed(LogFormat::Auto, &keys, uvicorn), Some((200, None)));
    assert_eq!(
        timed(
            LogFormat::Json,
            &keys,
            r#"{"status":200,"duration_ms":900}"#
        ),
        Some((200, Some(900.0)))
    );
    assert_eq!(
        timed(
            LogFormat::Auto,
            &keys,
            r#"{"request_time":0.25,"status":"503"}"#
        ),
        Some((503, Some(250.0)))
    );
    // Nested, in a string, or not a number: not a duration.
    for line in [
        r#"{"status":200,"a":{"duration_ms":900}}"#,
        r#"{"status":200,"msg":"\"duration_ms\":900"}"#,
        r#"{"status":200,"duration_ms":null}"#,
        r#"{"status":200,"duration_ms":-3}"#,
    ] {
        assert_eq!(
            timed(LogFormat::Json, &keys, line),
            Some((200, None)),
            "{line}"
        );
    }
    assert_eq!(
        timed(LogFormat::Logfmt, &keys, "status=200 latency_ms=3.5"),
        Some((200, Some(3.5)))
    );
    assert_eq!(
        timed(LogFormat::Logfmt, &keys, "status=200 duration_s=300ms"),
        Some((200, Some(300.0)))
    );
    // Without `timed` nothing is read.
    assert_eq!(
        crate::access_log::line::classify_timed(
            LogFormat::Json,
            &keys,
            br#"{"status":200,"duration_ms":9}"#,
            false
        ),
        (Line::Access(200), None)
    );
}

/// The unit of a CLF line's trailing integer is the configured one; a number with a point is
/// seconds whatever it says.
#[test]
fn clf_trailing_integer_in_the_configured_unit() {
    let gunicorn = r#"127.0.0.1 - - [07/Dec/2026:00:36:36 +0000] "GET /slow HTTP/1.1" 200 3 "-" "curl/8.5.0" 201"#;
    let nginx = r#"127.0.0.1 - - [07/Dec/2026:00:36:36 +0000] "GET /slow HTTP/1.1" 200 3 "-" "curl/8.5.0" 0.201"#;
    for (unit, ms) in [
        (DurationUnit::Us, 0.201),
        (DurationUnit::Ms, 201.0),
        (DurationUnit::S, 201_000.0),
    ] {
        let keys = LogKeys::default().with_clf_unit(unit);
        for format in [LogFormat::Auto, LogFormat::Clf] {
            assert_eq!(
                timed(format, &keys, gunicorn),
                Some((200, Some(ms))),
                "{unit:?}"
            );
            assert_eq!(
                timed(format, &keys, nginx),
                Some((200, Some(201.0))),
                "{unit:?}"
            );
        }
        // Other keys set later keep the unit.
        let keys = keys
            .with_duration(Vec::new())
            .with_status(LogKeys::parse_status("code").unwrap());
        assert_eq!(keys.clf_unit(), unit);
    }
}

/// A duration no request can have taken is not a duration: the line counts for the ratio
/// only, and the quantiles stay those of the real ones.
#[test]
fn impossible_durations_are_not_timed() {
    let keys = LogKeys::default();
    for line in [
        r#"{"status":200,"request_time":1e308}"#,
        r#"{"status":200,"duration_ms":1e400}"#,
        r#"{"status":200,"request_time":86401}"#,
        "status=200 request_time=1e308",
        "status=200 duration_ms=90000000",
        "status=200 latency_ms=25h",
        r#"192.0.2.10 - - [01/May/2024:12:00:01 +0000] "GET / HTTP/1.1" 200 612 "-" "a" 1e300"#,
        r#"192.0.2.10 - - [01/May/2024:12:00:01 +0000] "GET / HTTP/1.1" 200 612 "-" "a" 86400000001"#,
    ] {
        assert_eq!(
            timed(LogFormat::Auto, &keys, line),
            Some((200, None)),
            "{line}"
        );
    }
    // A day exactly is still a request's.
    assert_eq!(
        timed(
            LogFormat::Auto,
            &keys,
            r#"{"status":200,"request_time":86400}"#
        ),
        Some((200, Some(86_400_000.0)))
    );
    let log = b"{\"status\":200,\"request_time\":1e308}\n{\"status\":500,\"duration_ms\":12}\n";
    let (counts, durations) = count_timed(&keys, 100.0, [&log[..]]);
    assert_eq!((counts.total, counts.errors_5xx), (2, 1));
    assert_eq!((durations.timed, durations.slow), (1, 0));
    assert_eq!(durations.quantile(0.99), Some(12.0));
}

proptest! {
    #[test]
    fn durations_read_back_exactly((line, s, ms) in timed_line()) {
        let keys = timed_keys();
        let got = timed(LogFormat::Auto, &keys, &line);
        prop_assert!(matches!(got, Some((g, Some(m))) if g == s && close(m, ms)), "{line}: {got:?} vs {ms}");
    }

    #[test]
    fn durations_count_the_same_however_split(
        lines in prop::collection::vec(
            prop_oneof![
                // HAProxy's and morgan's lines carry durations: timed_line has them.
                gen_line()
                    .prop_filter("untimed", |l| !matches!(l.kind, Kind::AutoOnly(_)))
                    .prop_map(|l| (l.text, None)),
                timed_line().prop_map(|(l, _, ms)| (l, Some(ms))),
            ],
            0..30,
        ),
        threshold in 0.0f64..200_000.0,
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..12),
    ) {
        let keys = timed_keys();
        let text = lines.iter().map(|(l, _)| format!("{l}\n")).collect::<String>();
        let text = text.as_bytes();
        let (counts, whole) = count_timed(&keys, threshold, [text]);
        let durations: Vec<f64> = lines.iter().filter_map(|(_, ms)| *ms).collect();
        prop_assert_eq!(whole.timed, durations.len() as u64);
        prop_assert_eq!(whole.slow, durations.iter().filter(|ms| **ms > threshold).count() as u64);
        prop_assert_eq!(whole.histogram.as_ref().map(|h| h.len()), Some(whole.timed));
        prop_assert_eq!(count_with(LogFormat::Auto, &keys, text), counts);
        let split = count_timed(&keys, threshold, cut(text, &cuts));
        prop_assert_eq!(split, (counts, whole));
    }

    #[test]
    fn percentiles_within_one_percent_of_nearest_rank(
        exps in prop::collection::vec(0.0f64..1.0, 1..400),
        q in prop::sample::select(vec![0.5, 0.9, 0.95, 0.99, 0.999, 1.0, 0.0]),
    ) {
        // Log-uniform over 1 µs..1 h.
        let mut values: Vec<f64> = exps.iter().map(|e| 1e-3 * 3.6e9f64.powf(*e)).collect();
        let mut h = Histogram::default();
        for v in &values {
            h.record(*v);
        }
        values.sort_by(f64::total_cmp);
        let rank = nearest_rank(q, values.len() as u64);
        let exact = values[rank as usize - 1];
        let got = h.quantile(q).unwrap();
        prop_assert!((got - exact).abs() <= 0.01 * exact, "q{q}: {got} vs {exact}");
    }
}

/// A JSON line with the default status and duration keys in every place: top level, nested,
/// in arrays, inside strings, escaped, with values that are and are not durations.
fn timed_json() -> impl Strategy<Value = Vec<u8>> {
    let member = prop_oneof![
        Just(r#""status":200"#.to_owned()),
        Just(r#""status_code":"503""#.to_owned()),
        Just(r#""status":"ok""#.to_owned()),
        prop::sample::select(vec![
            "duration_ms",
            "latency_ms",
            "request_time",
            "response_time",
            "duration"
        ])
        .prop_flat_map(|k| {
            prop_oneof![
                "[0-9]{1,5}(\\.[0-9]{1,4})?",
                Just("null".to_owned()),
                Just("\"12.5\"".to_owned()),
                Just("-3".to_owned()),
                Just("1e3".to_owned()),
            ]
            .prop_map(move |v| format!(r#""{k}":{v}"#))
        }),
        Just(r#""a":{"duration_ms":7}"#.to_owned()),
        Just(r#""b":[{"request_time":0.5},"duration_ms"]"#.to_owned()),
        Just(r#""msg":"\"duration_ms\":9""#.to_owned()),
        Just(r#""d\u0075ration_ms":11"#.to_owned()),
        Just(r#""duration_ms""#.to_owned()),
        "[a-z]{1,6}".prop_map(|k| format!(r#""{k}":"{k}""#)),
        Just(format!(r#""pad":"{}""#, "x".repeat(70))),
    ];
    (
        prop::collection::vec(member, 0..8),
        prop::sample::select(vec!["", " "]),
    )
        .prop_map(|(members, space)| {
            format!("{{{}}}", members.join(&format!(",{space}"))).into_bytes()
        })
}

proptest! {
    /// The block scan reads the same durations as the walk by paths.
    #[test]
    fn json_durations_agree_between_the_scan_and_the_walk(text in timed_json()) {
        let fast = crate::access_log::line::classify_timed(LogFormat::Json, &LogKeys::default(), &text, true);
        let walk = crate::access_log::line::classify_timed(
            LogFormat::Json,
            &LogKeys::default().without_fast_path(),
            &text,
            true,
        );
        prop_assert_eq!(fast, walk, "{}", String::from_utf8_lossy(&text));
        let plain = crate::access_log::line::classify_timed(LogFormat::Json, &LogKeys::default(), &text, false);
        prop_assert_eq!(fast.0, plain.0, "{}", String::from_utf8_lossy(&text));
    }
}

/// Duration keys made of a few short parts, some dotted, and a JSON line whose members
/// (top-level and nested, plain and dotted, before and after padding that moves them across
/// the 64-byte blocks the scan reads) follow those keys' paths, whole or in part, split at
/// their dots in every way: where the scan's look-up by first byte and length could rule out
/// a name the keys need.
fn configured_timed_json() -> impl Strategy<Value = (String, Vec<u8>)> {
    let part = || prop::sample::select(vec!["a", "ab", "abc", "b", "lat", "ms", "x"]);
    let key = prop::collection::vec(part(), 1..4);
    prop::collection::vec(key, 1..4).prop_flat_map(move |keys| {
        let list = keys
            .iter()
            .map(|k| format!("{}:ms", k.join(".")))
            .collect::<Vec<_>>()
            .join(",");
        let paths = keys.clone();
        // A member along one key's path: its parts cut into nested names at some dots,
        // maybe stopping short of the end, holding a number or a string.
        let along = (
            prop::sample::select(paths),
            prop::collection::vec(any::<bool>(), 3),
            0usize..2,
            prop_oneof!["[0-9]{1,4}(\\.[0-9]{1,3})?", Just("\"7\"".to_owned())],
        )
            .prop_map(|(parts, cuts, short, number)| {
                let keep = parts.len().saturating_sub(short).max(1);
                let mut names = vec![String::new()];
                for (i, p) in parts[..keep].iter().enumerate() {
                    let last = names.last_mut().unwrap();
                    if !last.is_empty() {
                        if cuts[i % cuts.len()] {
                            names.push((*p).to_owned());
                            continue;
                        }
                        last.push('.');
                    }
                    last.push_str(p);
                }
                let mut value = number;
                for name in names.iter().skip(1).rev() {
                    value = format!(r#"{{"{name}":{value}}}"#);
                }
                format!(r#""{}":{value}"#, names[0])
            });
        let member = prop_oneof![
            4 => along,
            2 => (part(), "[0-9]{1,3}").prop_map(|(k, v)| format!(r#""{k}":{v}"#)),
            1 => (0usize..80).prop_map(|n| format!(r#""p":"{}""#, "y".repeat(n))),
        ];
        (prop::collection::vec(member, 0..7), 0usize..8).prop_map(move |(mut members, at)| {
            members.insert(at.min(members.len()), r#""status":200"#.to_owned());
            (
                list.clone(),
                format!("{{{}}}", members.join(",")).into_bytes(),
            )
        })
    })
}

proptest! {
    /// With configured duration keys, dotted ones included, the block scan reads the same
    /// durations as the walk by paths.
    #[test]
    fn configured_durations_agree_between_the_scan_and_the_walk(
        (list, text) in configured_timed_json(),
    ) {
        let keys = LogKeys::default().with_duration(LogKeys::parse_duration(&list).unwrap());
        let fast = crate::access_log::line::classify_timed(LogFormat::Json, &keys, &text, true);
        let walk = crate::access_log::line::classify_timed(
            LogFormat::Json,
            &keys.clone().without_fast_path(),
            &text,
            true,
        );
        prop_assert_eq!(fast, walk, "{} {}", list, String::from_utf8_lossy(&text));
    }
}
