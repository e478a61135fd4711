//! Configured status and duration keys, and the corpus of servers and frameworks.

use super::*;

/// A line for [`configured_keys`]: the status where a configured key puts it, or where only
/// the default keys would (then, without `status` among the keys, it is not an access line).
fn keyed_line() -> impl Strategy<Value = (String, Option<u16>)> {
    (any_status(), 0..9u8, path()).prop_map(|(s, kind, p)| match kind {
        0 => (
            format!(r#"{{"@timestamp":"2024-05-01T12:00:00Z","http":{{"request":{{"method":"GET"}},"response":{{"status_code":{s},"body":{{"bytes":12}}}}}},"url":{{"path":"{p}"}}}}"#),
            Some(s),
        ),
        1 => (
            format!(r#"{{"http.response.status_code":"{s}","log.level":"info"}}"#),
            Some(s),
        ),
        2 => (
            format!(r#"{{"http.response":{{"status_code":{s}}}}}"#),
            Some(s),
        ),
        3 => (
            format!(r#"{{"ClientHost":"192.0.2.1","DownstreamStatus":{s},"Duration":1234567,"RequestPath":"{p}"}}"#),
            Some(s),
        ),
        4 => (format!("DownstreamStatus={s} RequestPath={p} Duration=1234567"), Some(s)),
        5 => (format!(r#"{{"http":{{"status_code":{s}}},"response":{{"status_code":{s}}}}}"#), None),
        6 => (format!(r#"{{"http":{{"response":{{"x":{{"status_code":{s}}}}}}}}}"#), None),
        7 => (format!(r#"{{"status_code":{s},"msg":"{p}"}}"#), None),
        _ => (
            format!(r#"127.0.0.1 - - [01/May/2024:12:00:00 +0000] "GET {p} HTTP/1.1" {s} 12"#),
            Some(s),
        ),
    })
}

proptest! {
    #[test]
    fn configured_keys_count_exactly_however_split(
        lines in prop::collection::vec(keyed_line(), 0..30),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..12),
    ) {
        let keys = LogKeys::default().with_status(
            LogKeys::parse_status("DownstreamStatus,http.response.status_code").unwrap(),
        );
        let text = lines.iter().map(|(l, _)| format!("{l}\n")).collect::<String>();
        let mut want = LogCounts::default();
        for (_, status) in &lines {
            match status {
                Some(s) => {
                    want.total += 1;
                    want.errors_5xx += u64::from(*s >= 500);
                }
                None => want.unparsed += 1,
            }
        }
        prop_assert_eq!(count_with(LogFormat::Auto, &keys, text.as_bytes()), want);
        let mut counter = AccessLogCounter::with_keys(LogFormat::Auto, keys.clone());
        for piece in cut(text.as_bytes(), &cuts) {
            counter.feed(piece);
        }
        prop_assert_eq!(counter.finish(), want);
    }

    #[test]
    fn configured_keys_never_panic_and_stay_consistent(
        (text, _) in gen_log(),
        noise in noisy_bytes(),
        at in any::<prop::sample::Index>(),
    ) {
        let mut text = text;
        let at = at.index(text.len() + 1);
        text.splice(at..at, noise);
        check_invariants_with(&text, &configured_keys());
    }
}

#[test]
fn logfmt_lines_in_every_format() {
    let heroku = r#"at=info method=GET path="/" host=app.example.com fwd="192.0.2.1" dyno=web.1 connect=0ms service=18ms status=503 bytes=0 protocol=https"#;
    assert_eq!(status(LogFormat::Logfmt, heroku), Some(503));
    assert_eq!(auto(heroku), Some(503));
    assert_eq!(status(LogFormat::Clf, heroku), None);
    assert_eq!(status(LogFormat::Json, heroku), None);
    // Not logfmt at all, or no status key.
    assert_eq!(auto("Listening on port 8080"), None);
    assert_eq!(auto("level=info msg=\"ready\" port=8080"), None);
    assert_eq!(auto("request failed status=500"), None);
    // A JSON line is never read as logfmt.
    assert_eq!(auto(r#"{"msg":"status=500"}"#), None);
    assert_eq!(status(LogFormat::Logfmt, r#"{"msg":"x" status=500}"#), None);
}

#[test]
fn dotted_and_renamed_keys_in_json() {
    let keys = configured_keys();
    let st = |line: &str| match classify(LogFormat::Auto, &keys, line.as_bytes()) {
        Line::Access(s) => Some(s),
        Line::Blank | Line::Other => None,
    };
    assert_eq!(
        st(r#"{"http":{"response":{"status_code":502}}}"#),
        Some(502)
    );
    assert_eq!(
        st(r#"{"http":{"response":{"status_code":"502"}}}"#),
        Some(502)
    );
    assert_eq!(st(r#"{"http.response.status_code":504}"#), Some(504));
    assert_eq!(st(r#"{"DownstreamStatus":500,"Duration":12}"#), Some(500));
    assert_eq!(st(r#"{"status":201}"#), Some(201));
    // Nested under another name, or in an array, or in a string: not at the path.
    assert_eq!(
        st(r#"{"a":{"http":{"response":{"status_code":502}}}}"#),
        None
    );
    assert_eq!(st(r#"{"http":[{"response":{"status_code":502}}]}"#), None);
    assert_eq!(st(r#"{"http":{"response":"{\"status_code\":502}"}}"#), None);
    assert_eq!(st(r#"{"http":{"response":{"status_code":502}}"#), None);
    // The first member at a key's path, in the line's order.
    assert_eq!(
        st(r#"{"http":{"response":{"status_code":"ok"}},"status":200,"DownstreamStatus":500}"#),
        Some(200)
    );
    // The default keys read the same through either path.
    for line in [
        &br#"{"status":500}"#[..],
        br#"{"http":{"status":500},"status_code":"404"}"#,
        br#"{"st\u0061tus":503}"#,
    ] {
        assert_eq!(json_walk_classify(line), json_classify(line));
    }
}

// --- the corpus of servers and frameworks ---------------------------------------------------------

/// `fixtures/access-logs/expected.json`: per file, the status keys it needs (if any) and the
/// counts it must give, and each access line's duration (and so how many are timed).
#[test]
fn server_corpus_counts_as_expected() {
    let dir = fixture("access-logs");
    let expected: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("expected.json")).unwrap()).unwrap();
    let files = expected["files"].as_object().unwrap();
    let mut logs = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if name.ends_with(".log") {
            assert!(files.contains_key(&name), "{name} has no expected counts");
            logs += 1;
        }
    }
    assert!(logs >= 10, "only {logs} logs in the corpus");
    for (name, want) in files {
        let text = std::fs::read(dir.join(name)).unwrap();
        let keys = match want.get("status_keys").and_then(|k| k.as_str()) {
            Some(list) => LogKeys::default().with_status(LogKeys::parse_status(list).unwrap()),
            None => LogKeys::default(),
        };
        let keys = match want.get("duration_keys").and_then(|k| k.as_str()) {
            Some(list) => keys.with_duration(LogKeys::parse_duration(list).unwrap()),
            None => keys,
        };
        let format: LogFormat = want["format"].as_str().unwrap().parse().unwrap();
        let c = |field: &str| want[field].as_u64().unwrap();
        let want_counts = counts(c("total"), c("errors_5xx"), c("unparsed"));
        let want_ms: Vec<f64> = want["durations_ms"]
            .as_array()
            .map(|d| d.iter().map(|v| v.as_f64().unwrap()).collect())
            .unwrap_or_default();
        for format in [LogFormat::Auto, format] {
            assert_eq!(
                count_with(format, &keys, &text),
                want_counts,
                "{name} as {format}"
            );
            // Each access line's duration, in line order, and the counter's `timed`.
            let got_ms: Vec<f64> = text
                .split(|b| *b == b'\n')
                .filter_map(|line| {
                    match crate::access_log::line::classify_timed(format, &keys, line, true) {
                        (Line::Access(_), ms) => ms,
                        _ => None,
                    }
                })
                .collect();
            assert_eq!(
                got_ms.len(),
                want_ms.len(),
                "{name} as {format}: {got_ms:?}"
            );
            for (got, want) in got_ms.iter().zip(&want_ms) {
                assert!(
                    (got - want).abs() <= 1e-9 * want.max(1.0),
                    "{name}: {got} vs {want}"
                );
            }
            let mut counter = AccessLogCounter::with_keys(format, keys.clone()).with_histogram();
            counter.feed(&text);
            let (counts, durations) = counter.finish_timed();
            assert_eq!(counts, want_counts, "{name} as {format}");
            assert_eq!(durations.timed, want_ms.len() as u64, "{name} as {format}");
        }
        check_invariants_with(&text, &keys);
        let lines = text.iter().filter(|&&b| b == b'\n').count();
        let durations = want["durations_ms"].as_array().map_or(0, Vec::len);
        assert!(
            durations == 0 || durations == c("total") as usize,
            "{name}: one duration per access line, or none"
        );
        assert!(lines as u64 >= c("total") + c("unparsed"));
        if want.get("status_keys").is_some() {
            // Without its keys the file's JSON or logfmt access lines are not found.
            assert!(
                count_with(LogFormat::Auto, &LogKeys::default(), &text).total < c("total"),
                "{name} needs no status keys"
            );
        }
    }
}
