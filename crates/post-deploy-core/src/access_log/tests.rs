//! Tests of the access-log parser: formats, edge cases, streaming, fixtures, properties.

use std::io::{self, Read};
use std::path::{Path, PathBuf};

use proptest::prelude::*;

use super::line::{Line, classify};
use super::*;

/// The counts of `text` fed whole.
fn count(format: LogFormat, text: &[u8]) -> LogCounts {
    let mut counter = AccessLogCounter::new(format);
    counter.feed(text);
    counter.finish()
}

/// The counts of `text` fed in chunks of `size` bytes.
fn count_in_chunks(format: LogFormat, text: &[u8], size: usize) -> LogCounts {
    let mut counter = AccessLogCounter::new(format);
    for chunk in text.chunks(size) {
        counter.feed(chunk);
    }
    counter.finish()
}

fn counts(total: u64, errors_5xx: u64, unparsed: u64) -> LogCounts {
    LogCounts {
        total,
        errors_5xx,
        unparsed,
    }
}

fn status(format: LogFormat, line: &str) -> Option<u16> {
    match classify(format, &LogKeys::default(), line.as_bytes()) {
        Line::Access(status) => Some(status),
        Line::Blank | Line::Other => None,
    }
}

fn auto(line: &str) -> Option<u16> {
    status(LogFormat::Auto, line)
}

// --- CLF / Combined ---------------------------------------------------------------------------

#[test]
fn clf_common_and_combined() {
    let common =
        r#"127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326"#;
    let combined = r#"10.0.0.8 - - [01/May/2024:12:00:02 +0000] "GET /api HTTP/1.1" 503 97 "https://ex.com/" "Mozilla/5.0 (X11)""#;
    for format in [LogFormat::Auto, LogFormat::Clf] {
        assert_eq!(status(format, common), Some(200));
        assert_eq!(status(format, combined), Some(503));
    }
    assert_eq!(status(LogFormat::Json, common), None);
}

#[test]
fn clf_escaped_quotes_in_request_referer_and_agent() {
    let line =
        r#"h - - [d] "GET /q=\"a\" 500 HTTP/1.1" 200 1 "http://x/\"r\"" "agent \"q\" 502 x""#;
    assert_eq!(status(LogFormat::Clf, line), Some(200));
    // `\\` is an escaped backslash: the quote after it closes the request.
    assert_eq!(
        status(LogFormat::Clf, r#"h - - [d] "GET /a\\" 502 0"#),
        Some(502)
    );
    assert_eq!(
        status(LogFormat::Clf, r#"h - - [d] "GET /a\\\" 502 x" 404 0"#),
        Some(404)
    );
}

#[test]
fn clf_raw_quote_in_request_gunicorn() {
    let line =
        r#"172.18.0.1 - - [01/May/2024:12:00:07 +0000] "GET /x?id="7" HTTP/1.1" 404 9 "-" "-""#;
    assert_eq!(status(LogFormat::Clf, line), Some(404));
}

#[test]
fn clf_bad_requests_count() {
    assert_eq!(
        status(LogFormat::Clf, r#"h - - [d] "-" 400 0 "-" "-""#),
        Some(400)
    );
    assert_eq!(status(LogFormat::Clf, r#"h - - [d] "" 408 0"#), Some(408));
    assert_eq!(
        status(
            LogFormat::Clf,
            r#"h - - [d] "\x16\x03\x01" 400 157 "-" "-""#
        ),
        Some(400)
    );
}

#[test]
fn status_range_599_600_99() {
    let line = |s: &str| format!(r#"h - - [d] "GET / HTTP/1.1" {s} 0"#);
    assert_eq!(auto(&line("599")), Some(599));
    assert_eq!(auto(&line("500")), Some(500));
    assert_eq!(auto(&line("100")), Some(100));
    assert_eq!(auto(&line("600")), None);
    assert_eq!(auto(&line("099")), None);
    assert_eq!(auto(&line("99")), None);
    assert_eq!(auto(&line("5000")), None);
    assert_eq!(auto(&line("-")), None);
    let text = format!("{}\n{}\n{}\n", line("599"), line("600"), line("99"));
    assert_eq!(count(LogFormat::Auto, text.as_bytes()), counts(1, 1, 2));
}

#[test]
fn clf_needs_the_date_before_the_request() {
    assert_eq!(
        status(LogFormat::Clf, r#"h - - "GET / HTTP/1.1" 500 0"#),
        None
    );
    assert_eq!(
        status(
            LogFormat::Clf,
            r#"app="web" h - - [d] "GET / HTTP/1.1" 500 0"#
        ),
        Some(500)
    );
}

// --- uvicorn -----------------------------------------------------------------------------------

#[test]
fn uvicorn_plain_and_prefixed() {
    for (line, want) in [
        (
            r#"INFO:     127.0.0.1:54321 - "GET /health HTTP/1.1" 200 OK"#,
            Some(200),
        ),
        (
            r#"INFO:     1.2.3.4:1 - "POST /a HTTP/1.1" 500 Internal Server Error"#,
            Some(500),
        ),
        (
            r#"2024-05-01 12:00:00,123 uvicorn.access INFO 1.2.3.4:1 - "GET / HTTP/1.1" 502"#,
            Some(502),
        ),
        (
            r#"[2024] [7] [INFO] 1.2.3.4:1 - "DELETE /a HTTP/1.0" 204 No Content"#,
            Some(204),
        ),
        (r#"level="info" 1.2.3.4:1 - "GET / HTTP/2" 503 "#, Some(503)),
        (
            r#"INFO:     1.2.3.4:1 - "GET /a?b="c" HTTP/1.1" 404 Not Found"#,
            Some(404),
        ),
        (
            r#"INFO:     ('1.2.3.4', 1) - "WebSocket /ws" [accepted]"#,
            None,
        ),
        (r#"INFO:     1.2.3.4:1 - "get / HTTP/1.1" 200 OK"#, None),
        (r#"INFO:     1.2.3.4:1 - "GET / HTTP/x" 200 OK"#, None),
        (r#"INFO:     1.2.3.4:1 - "GET / FTP/1.1" 200 OK"#, None),
        (r#"INFO:     1.2.3.4:1 - "GET / HTTP/1.1" 200OK"#, None),
        (
            "INFO:     Uvicorn running on http://0.0.0.0:8000 (Press CTRL+C to quit)",
            None,
        ),
    ] {
        assert_eq!(status(LogFormat::Uvicorn, line), want, "{line}");
        assert_eq!(auto(line), want, "{line}");
        assert_eq!(status(LogFormat::Clf, line), None, "{line}");
    }
}

#[test]
fn uvicorn_colours() {
    let line = "\x1b[32mINFO\x1b[0m:     127.0.0.1:1 - \"\x1b[1mGET /boom HTTP/1.1\x1b[0m\" \x1b[31m503 Service Unavailable\x1b[0m";
    assert_eq!(status(LogFormat::Uvicorn, line), Some(503));
    assert_eq!(auto(line), Some(503));
}

// --- JSON --------------------------------------------------------------------------------------

#[test]
fn json_lines() {
    for (line, want) in [
        (r#"{"level":"info","status":200,"path":"/"}"#, Some(200)),
        (r#"{"status_code":"503"}"#, Some(503)),
        (r#"{"status_code": 502 }"#, Some(502)),
        (r#"  {"status":504}  "#, Some(504)),
        (r#"{"http":{"status":500}}"#, None),
        (r#"{"http":{"status":500},"status":200}"#, Some(200)),
        (r#"{"msg":"\"status\":500"}"#, None),
        (r#"{"msg":"{\"status\":500}","status_code":201}"#, Some(201)),
        (r#"{"status":"5xx"}"#, None),
        (r#"{"status":600}"#, None),
        (r#"{"status":99}"#, None),
        (r#"{"status":500"#, None),
        (r#"{"status":500} trailing"#, None),
        (r#"["status",500]"#, None),
    ] {
        assert_eq!(status(LogFormat::Json, line), want, "{line}");
        assert_eq!(auto(line), want, "{line}");
    }
    assert_eq!(status(LogFormat::Clf, r#"{"status":500}"#), None);
}

#[test]
fn auto_falls_back_from_json_to_quoted_formats() {
    assert_eq!(
        auto(r#"{x} 1.2.3.4 - - [d] "GET / HTTP/1.1" 500 0"#),
        Some(500)
    );
}

// --- lines, blanks, CRLF, garbage ----------------------------------------------------------------

#[test]
fn blank_lines_are_not_counted() {
    assert_eq!(
        count(LogFormat::Auto, b"\n\n \n\t\r\n\r\n   \r\n\x0c\n"),
        counts(0, 0, 0)
    );
    assert_eq!(count(LogFormat::Json, b"\n \n"), counts(0, 0, 0));
    assert_eq!(count(LogFormat::Auto, b""), counts(0, 0, 0));
}

#[test]
fn crlf_line_ends() {
    let text = "h - - [d] \"GET / HTTP/1.1\" 500\r\n{\"status\":502}\r\nINFO: 1.2.3.4:1 - \"GET / HTTP/1.1\" 503\r\nnoise\r\n";
    assert_eq!(count(LogFormat::Auto, text.as_bytes()), counts(3, 3, 1));
    // Only one trailing `\r` goes; another one is part of the line.
    assert_eq!(auto("h - - [d] \"GET / HTTP/1.1\" 500\r\r"), None);
}

#[test]
fn garbage_and_binary() {
    let text: &[u8] =
        b"\x00\x01\xff\xfe\"\"\" 500 \"\n\xc3\x28 {\"status\":500\n{{{{[[[[\n\"\\\n\x1b[\n";
    let got = count(LogFormat::Auto, text);
    assert_eq!(got.total, 0);
    assert_eq!(got.unparsed, 5);
    // Invalid UTF-8 inside an access line does not stop it counting.
    let line = b"h - - [d] \"GET /\xff\xfe HTTP/1.1\" 502 0 \"-\" \"\xc3\x28\"";
    assert_eq!(count(LogFormat::Clf, line), counts(1, 1, 0));
    assert_eq!(
        count(LogFormat::Json, b"{\"a\":\"\xff\",\"status\":500}"),
        counts(1, 1, 0)
    );
}

#[test]
fn very_long_lines() {
    let long_path = "a".repeat(200_000);
    let line = format!("h - - [d] \"GET /{long_path} HTTP/1.1\" 500 0 \"-\" \"-\"\n");
    assert_eq!(count(LogFormat::Auto, line.as_bytes()), counts(1, 1, 0));
    assert_eq!(
        count_in_chunks(LogFormat::Auto, line.as_bytes(), 4096),
        counts(1, 1, 0)
    );

    let json = format!("{{\"msg\":\"{long_path}\",\"status\":503}}\n");
    assert_eq!(count(LogFormat::Json, json.as_bytes()), counts(1, 1, 0));

    // Past MAX_LINE_LEN a line is unparsed, fed whole or in pieces, terminated or not.
    let huge = format!(
        "h - - [d] \"GET /{} HTTP/1.1\" 500 0",
        "a".repeat(MAX_LINE_LEN)
    );
    let text = format!("{huge}\n{line}{huge}");
    for size in [1 << 16, 1000, text.len()] {
        assert_eq!(
            count_in_chunks(LogFormat::Auto, text.as_bytes(), size),
            counts(1, 1, 2)
        );
    }
    // Exactly MAX_LINE_LEN is still read.
    let exact = r#"{"status":500}"#.to_owned() + " ".repeat(MAX_LINE_LEN - 14).as_str();
    assert_eq!(exact.len(), MAX_LINE_LEN);
    assert_eq!(count(LogFormat::Auto, exact.as_bytes()), counts(1, 1, 0));
    assert_eq!(
        count_in_chunks(LogFormat::Auto, exact.as_bytes(), 7777),
        counts(1, 1, 0)
    );
    let over = format!("{exact} ");
    assert_eq!(
        count_in_chunks(LogFormat::Auto, over.as_bytes(), 7777),
        counts(0, 0, 1)
    );
}

/// Lines made of nothing but quotes, escapes and brackets are one unparsed line each. Whether
/// the scans stay linear in the quotes of a line is a benchmark's question, not a test's:
/// `cargo bench -p post-deploy-core --bench access_log -- quotes` times these lines at three
/// lengths (a linear scan doubles with the length, a quadratic one quadruples).
#[test]
fn lines_of_quotes_escapes_and_brackets_are_unparsed() {
    let text = "\"A ".repeat(150_000) + "\\\"".repeat(150_000).as_str() + "\n";
    assert!(text.len() < MAX_LINE_LEN);
    for format in LogFormat::ALL {
        assert_eq!(count(format, text.as_bytes()), counts(0, 0, 1));
    }
    // Every quote opens a would-be request with a method; only the last is followed by a status.
    let text = "\"A ".repeat(300_000) + "\" 500\n";
    assert!(text.len() < MAX_LINE_LEN);
    assert_eq!(count(LogFormat::Auto, text.as_bytes()), counts(0, 0, 1));
    let text = "h - - [d] ".to_owned() + "\"\\".repeat(400_000).as_str() + "\" 500\n";
    assert!(text.len() < MAX_LINE_LEN);
    assert_eq!(count(LogFormat::Auto, text.as_bytes()), counts(0, 0, 1));
    for text in [
        "{\"a\":".repeat(150_000),
        "[".repeat(900_000),
        "{\"a\":[".repeat(100_000),
    ] {
        assert_eq!(count(LogFormat::Auto, text.as_bytes()), counts(0, 0, 1));
    }
}

// --- the counter ---------------------------------------------------------------------------------

#[test]
fn counts_so_far_sees_complete_lines_only() {
    let mut counter = AccessLogCounter::new(LogFormat::Json);
    counter.feed(b"{\"status\":500}\n{\"sta");
    assert_eq!(counter.counts_so_far(), counts(1, 1, 0));
    counter.feed(b"tus\":200}");
    assert_eq!(counter.counts_so_far(), counts(1, 1, 0));
    counter.feed(b"\n{\"status\":503}");
    assert_eq!(counter.counts_so_far(), counts(2, 1, 0));
    assert_eq!(counter.finish(), counts(3, 2, 0));
}

#[test]
fn every_split_of_a_small_log_gives_the_same_counts() {
    let text = std::fs::read(fixture("logs/mixed.log")).unwrap();
    let whole = count(LogFormat::Auto, &text);
    for a in 0..=text.len() {
        for b in (a..=text.len()).step_by(13) {
            let mut counter = AccessLogCounter::new(LogFormat::Auto);
            counter.feed(&text[..a]);
            counter.feed(&text[a..b]);
            counter.feed(&text[b..]);
            assert_eq!(counter.finish(), whole, "split at {a} and {b}");
        }
    }
}

#[test]
fn ratio_and_merge() {
    assert_eq!(LogCounts::default().ratio(), None);
    assert_eq!(counts(4, 1, 9).ratio(), Some(0.25));
    assert_eq!(counts(3, 0, 0).ratio(), Some(0.0));
    let mut sum = counts(1, 2, 3);
    sum.merge(counts(10, 20, 30));
    assert_eq!(sum, counts(11, 22, 33));
    sum.merge(counts(u64::MAX, 1, 0));
    assert_eq!(sum, counts(u64::MAX, 23, 33));
}

#[test]
fn log_format_names() {
    for (format, name) in LogFormat::ALL.into_iter().zip(LogFormat::NAMES) {
        assert_eq!(name.parse::<LogFormat>(), Ok(format));
        assert_eq!(format.to_string(), name);
        assert_eq!(
            serde_json::to_string(&format).unwrap(),
            format!("\"{name}\"")
        );
        assert_eq!(
            serde_json::from_str::<LogFormat>(&format!("\"{name}\"")).unwrap(),
            format
        );
    }
    let err = "nginx".parse::<LogFormat>().unwrap_err();
    assert_eq!(err.value, "nginx");
    assert_eq!(
        err.to_string(),
        "unknown log format \"nginx\": expected one of auto, clf, json, uvicorn, logfmt"
    );
    assert!("CLF".parse::<LogFormat>().is_err());
    assert_eq!(LogFormat::default(), LogFormat::Auto);
}

#[test]
fn log_counts_serialize_snake_case() {
    assert_eq!(
        serde_json::to_string(&counts(3, 2, 1)).unwrap(),
        r#"{"total":3,"errors_5xx":2,"unparsed":1}"#
    );
}

/// A reader that hands out a few bytes at a time and is interrupted now and then.
struct Trickle<'a> {
    data: &'a [u8],
    sizes: Vec<usize>,
    calls: usize,
}

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.calls += 1;
        if self.calls.is_multiple_of(3) {
            return Err(io::Error::from(io::ErrorKind::Interrupted));
        }
        let size = self.sizes[self.calls % self.sizes.len()]
            .min(buf.len())
            .min(self.data.len());
        buf[..size].copy_from_slice(&self.data[..size]);
        self.data = &self.data[size..];
        Ok(size)
    }
}

#[test]
fn count_reader_streams_and_retries_interrupted_reads() {
    let text = std::fs::read(fixture("logs/mixed.log")).unwrap();
    let reader = Trickle {
        data: &text,
        sizes: vec![1, 7, 64, 3],
        calls: 0,
    };
    assert_eq!(
        count_reader(LogFormat::Auto, reader).unwrap(),
        counts(7, 3, 3)
    );
    assert_eq!(
        count_reader(LogFormat::Auto, &text[..]).unwrap(),
        counts(7, 3, 3)
    );
}

#[test]
fn count_reader_passes_read_errors_on() {
    struct Broken;
    impl Read for Broken {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            Err(io::Error::other("disk on fire"))
        }
    }
    let err = count_reader(LogFormat::Auto, Broken).unwrap_err();
    assert_eq!(err.to_string(), "disk on fire");
}

// --- fixtures ------------------------------------------------------------------------------------

fn fixture(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .join(path)
}

#[test]
fn fixture_logs() {
    use LogFormat::{Auto, Clf, Json, Uvicorn};
    for (file, format, want) in [
        ("clf.log", Auto, counts(10, 4, 3)),
        ("clf.log", Clf, counts(10, 4, 3)),
        ("clf.log", Uvicorn, counts(7, 3, 6)),
        ("clf.log", Json, counts(0, 0, 13)),
        ("gunicorn.log", Auto, counts(3, 1, 5)),
        ("gunicorn.log", Clf, counts(3, 1, 5)),
        ("uvicorn.log", Auto, counts(8, 4, 12)),
        ("uvicorn.log", Uvicorn, counts(8, 4, 12)),
        ("uvicorn.log", Clf, counts(0, 0, 20)),
        ("json.log", Auto, counts(7, 3, 7)),
        ("json.log", Json, counts(7, 3, 7)),
        ("json.log", Clf, counts(0, 0, 14)),
        ("mixed.log", Auto, counts(7, 3, 3)),
        ("mixed.log", Json, counts(2, 1, 8)),
    ] {
        let text = std::fs::read(fixture(&format!("logs/{file}"))).unwrap();
        assert_eq!(count(format, &text), want, "{file} as {format}");
        assert_eq!(
            count_in_chunks(format, &text, 5),
            want,
            "{file} as {format} in chunks"
        );
    }
}

/// The invariants every input keeps, in every format: the same counts however it is split,
/// through the counter or a reader; no more 5xx than requests; no more counted than lines.
fn check_invariants(text: &[u8]) {
    check_invariants_with(text, &LogKeys::default());
    check_invariants_with(text, &configured_keys());
}

/// Status keys of the kinds people configure: a renamed key, a dotted path, and the default.
fn configured_keys() -> LogKeys {
    LogKeys::default().with_status(
        LogKeys::parse_status("DownstreamStatus,http.response.status_code,status").unwrap(),
    )
}

/// The counts of `text` fed whole, read by `keys`.
fn count_with(format: LogFormat, keys: &LogKeys, text: &[u8]) -> LogCounts {
    let mut counter = AccessLogCounter::with_keys(format, keys.clone());
    counter.feed(text);
    counter.finish()
}

fn check_invariants_with(text: &[u8], keys: &LogKeys) {
    let count_in_chunks = |format: LogFormat, text: &[u8], size: usize| {
        let mut counter = AccessLogCounter::with_keys(format, keys.clone());
        for chunk in text.chunks(size) {
            counter.feed(chunk);
        }
        counter.finish()
    };
    let lines = text.iter().filter(|&&b| b == b'\n').count() as u64 + 1;
    for format in LogFormat::ALL {
        let whole = count_with(format, keys, text);
        assert!(whole.errors_5xx <= whole.total, "{whole:?}");
        assert!(
            whole.total + whole.unparsed <= lines,
            "{whole:?} > {lines} lines"
        );
        for size in [1, 2, 3, 7, 64, 4096] {
            assert_eq!(
                count_in_chunks(format, text, size),
                whole,
                "{format} in chunks of {size}"
            );
        }
        let third = text.len() / 3;
        let mut counter = AccessLogCounter::with_keys(format, keys.clone());
        counter.feed(&text[..third]);
        counter.feed(&[]);
        counter.feed(&text[third..2 * third]);
        counter.feed(&text[2 * third..]);
        assert_eq!(counter.finish(), whole, "{format} in thirds");
        assert_eq!(
            count_reader_with(format, keys.clone(), text).unwrap(),
            whole,
            "{format} through a reader"
        );
    }
}

/// The regression corpus of the `access_log` fuzz target, replayed by the normal test suite.
#[test]
fn fuzz_corpus_replays() {
    let dir = fixture("fuzz-corpus/access_log");
    let mut files = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read(&path).unwrap();
        let result = std::panic::catch_unwind(|| check_invariants(&text));
        assert!(result.is_ok(), "corpus file {} fails", path.display());
        files += 1;
    }
    assert!(
        files >= 24,
        "the corpus at {} has only {files} files",
        dir.display()
    );
}

// --- properties ----------------------------------------------------------------------------------

/// One generated line and what it must count as.
#[derive(Debug, Clone)]
struct GenLine {
    text: String,
    kind: Kind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Clf(u16),
    Uvicorn(u16),
    Json(u16),
    Logfmt(u16),
    Noise,
    Blank,
}

fn any_status() -> impl Strategy<Value = u16> {
    prop_oneof![
        3 => prop::sample::select(vec![200u16, 201, 204, 301, 304, 400, 404, 499]),
        1 => prop::sample::select(vec![500u16, 502, 503, 504, 599]),
        1 => 100u16..=599,
    ]
}

fn path() -> impl Strategy<Value = String> {
    "/[a-z0-9/._-]{0,20}(\\?[a-z]=[a-z0-9]{0,5})?"
}

fn clf_line() -> impl Strategy<Value = GenLine> {
    let escaped_quote = prop_oneof![
        Just(""),
        Just(r#"\"x\""#),
        Just(r#"\" 500 \""#),
        Just(r#"\\"#)
    ];
    (
        "[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}",
        prop_oneof![Just("-".to_owned()), "[a-z]{1,8}"],
        prop::sample::select(vec!["GET", "POST", "PUT", "DELETE", "HEAD"]),
        path(),
        escaped_quote,
        any_status(),
        prop_oneof![Just("-".to_owned()), "[0-9]{1,6}"],
        prop::option::of(("[a-z:/.-]{0,20}", "[A-Za-z0-9/.;() -]{0,40}", prop::bool::ANY)),
    )
        .prop_map(|(ip, user, method, path, escaped, status, bytes, combined)| {
            let mut text = format!(
                "{ip} - {user} [01/May/2024:12:00:00 +0000] \"{method} {path}{escaped} HTTP/1.1\" {status} {bytes}"
            );
            if let Some((referer, agent, quote_in_agent)) = combined {
                let agent = if quote_in_agent { format!(r#"{agent} \"500\""#) } else { agent };
                text.push_str(&format!(" \"{referer}\" \"{agent}\""));
            }
            GenLine { text, kind: Kind::Clf(status) }
        })
}

fn uvicorn_line() -> impl Strategy<Value = GenLine> {
    (
        prop::sample::select(vec![
            "INFO:     ",
            "2024-05-01 12:00:00,123 uvicorn.access INFO ",
            "[2024-05-01 12:00:01 +0000] [7] [INFO] ",
            "",
        ]),
        "[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}:[0-9]{1,5}",
        prop::sample::select(vec!["GET", "POST", "PATCH", "OPTIONS"]),
        path(),
        any_status(),
        prop::sample::select(vec!["OK", "Not Found", "Internal Server Error", ""]),
        prop::bool::ANY,
    )
        .prop_map(|(prefix, client, method, path, status, phrase, colour)| {
            let text = if colour {
                format!(
                    "{prefix}{client} - \"\x1b[1m{method} {path} HTTP/1.1\x1b[0m\" \x1b[32m{status} {phrase}\x1b[0m"
                )
            } else {
                format!("{prefix}{client} - \"{method} {path} HTTP/1.1\" {status} {phrase}")
            };
            GenLine { text, kind: Kind::Uvicorn(status) }
        })
}

fn json_line() -> impl Strategy<Value = GenLine> {
    let field = prop_oneof![
        "[a-z]{1,8}".prop_map(|k| format!(r#""{k}":"v""#)),
        "[a-z]{1,8}".prop_map(|k| format!(r#""{k}":12.5"#)),
        Just(r#""http":{"status":500,"x":[1,{"status_code":"503"}]}"#.to_owned()),
        Just(r#""msg":"\"status\":500, {\"status_code\":503}""#.to_owned()),
        Just(r#""status":"ok""#.to_owned()),
        Just(r#""status_code":null"#.to_owned()),
    ];
    (
        prop::collection::vec(field.clone(), 0..4),
        prop::sample::select(vec!["status", "status_code"]),
        any_status(),
        prop::bool::ANY,
        prop::collection::vec(field, 0..4),
        prop::sample::select(vec!["", " "]),
    )
        .prop_map(|(before, key, status, quoted, after, space)| {
            let value = if quoted {
                format!("\"{status}\"")
            } else {
                status.to_string()
            };
            let mut fields = before;
            fields.push(format!("\"{key}\":{space}{value}"));
            // A second, different status after the first valid one must not count.
            fields.push(r#""status":599"#.to_owned());
            fields.extend(after);
            GenLine {
                text: format!("{{{}}}", fields.join(&format!(",{space}"))),
                kind: Kind::Json(status),
            }
        })
}

fn noise_line() -> impl Strategy<Value = GenLine> {
    prop_oneof![
        "[A-Za-z0-9:.,()=/_-][A-Za-z0-9 :.,()=/_\\[\\]-]{0,60}",
        "[a-z ]{0,20}".prop_map(|msg| format!(r#"{{"level":"info","msg":"{msg}","pid":7}}"#)),
        "[a-z ]{0,20}".prop_map(|msg| format!(r#"  File "/app/{msg}.py", line 42, in handler"#)),
        "[a-z]{0,8}".prop_map(|m| format!(r#"{{"status":500,"msg":"{m}""#)),
    ]
    .prop_map(|text| GenLine {
        text,
        kind: Kind::Noise,
    })
}

/// A logfmt value: bare (maybe empty, maybe holding `=`) or quoted (with spaces, escapes).
fn logfmt_value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9/._=?-]{0,10}",
        "[a-z0-9 =_.]{0,10}".prop_map(|v| format!("\"{v}\"")),
        "[a-z]{0,4}".prop_map(|v| format!(r#""{v} \"q\" \\""#)),
    ]
}

fn logfmt_line() -> impl Strategy<Value = GenLine> {
    (
        prop::collection::vec(("[a-z_]{1,8}", logfmt_value()), 0..5),
        prop::collection::vec(("[a-z_]{1,8}", logfmt_value()), 0..5),
        any_status(),
        prop::bool::ANY,
        prop::sample::select(vec![
            "",
            "heroku[router]: ",
            "I, [2024-05-01T12:00:00 #1]  INFO -- : ",
        ]),
        prop::sample::select(vec![" ", "  ", "\t"]),
    )
        .prop_map(|(before, after, status, quoted, prefix, sep)| {
            let pair = |(k, v): &(String, String)| {
                // Keep generated keys off the status keys.
                format!("x{k}={v}")
            };
            let mut pairs: Vec<String> = before.iter().map(pair).collect();
            pairs.push(if quoted {
                format!("status=\"{status}\"")
            } else {
                format!("status={status}")
            });
            pairs.push("status_code=599".to_owned());
            pairs.extend(after.iter().map(pair));
            GenLine {
                text: format!("{prefix}{}", pairs.join(sep)),
                kind: Kind::Logfmt(status),
            }
        })
}

fn gen_line() -> impl Strategy<Value = GenLine> {
    prop_oneof![
        4 => clf_line(),
        3 => uvicorn_line(),
        3 => json_line(),
        2 => logfmt_line(),
        2 => noise_line(),
        1 => "[ \t]{0,3}".prop_map(|text| GenLine { text, kind: Kind::Blank }),
    ]
}

/// A log of generated lines, with LF or CRLF ends, and maybe no end on the last line.
fn gen_log() -> impl Strategy<Value = (Vec<u8>, Vec<GenLine>)> {
    (
        prop::collection::vec((gen_line(), prop::bool::ANY), 0..40),
        prop::bool::ANY,
    )
        .prop_map(|(lines, last_terminated)| {
            let mut text = Vec::new();
            let n = lines.len();
            for (i, (line, crlf)) in lines.iter().enumerate() {
                text.extend_from_slice(line.text.as_bytes());
                if i + 1 < n || last_terminated {
                    text.extend_from_slice(if *crlf { b"\r\n" } else { b"\n" });
                }
            }
            (text, lines.into_iter().map(|(line, _)| line).collect())
        })
}

/// The counts the generated lines must give in `format`.
fn expected(format: LogFormat, lines: &[GenLine]) -> LogCounts {
    let mut want = LogCounts::default();
    for line in lines {
        let status = match (format, line.kind) {
            (_, Kind::Blank) => continue,
            (
                LogFormat::Auto,
                Kind::Clf(s) | Kind::Uvicorn(s) | Kind::Json(s) | Kind::Logfmt(s),
            ) => Some(s),
            (LogFormat::Clf, Kind::Clf(s))
            | (LogFormat::Json, Kind::Json(s))
            | (LogFormat::Logfmt, Kind::Logfmt(s)) => Some(s),
            _ => None,
        };
        match status {
            Some(s) => {
                want.total += 1;
                want.errors_5xx += u64::from((500..=599).contains(&s));
            }
            None => want.unparsed += 1,
        }
    }
    want
}

/// Cuts `text` at the given fractions of its length.
fn cut<'a>(text: &'a [u8], cuts: &[prop::sample::Index]) -> Vec<&'a [u8]> {
    let mut at: Vec<usize> = cuts.iter().map(|i| i.index(text.len() + 1)).collect();
    at.sort_unstable();
    let mut pieces = Vec::new();
    let mut start = 0;
    for end in at {
        pieces.push(&text[start..end]);
        start = end;
    }
    pieces.push(&text[start..]);
    pieces
}

fn noisy_bytes() -> impl Strategy<Value = Vec<u8>> {
    let byte = prop_oneof![
        4 => any::<u8>(),
        2 => prop::sample::select(b"\n\r\"\\ {}[]:,5019-.eTHP/] ".to_vec()),
    ];
    prop::collection::vec(byte, 0..400)
}

proptest! {
    #[test]
    fn generated_logs_count_exactly((text, lines) in gen_log()) {
        for format in [LogFormat::Auto, LogFormat::Clf, LogFormat::Json, LogFormat::Logfmt] {
            prop_assert_eq!(count(format, &text), expected(format, &lines), "{}", format);
        }
    }

    #[test]
    fn chunks_split_anywhere_count_the_same(
        (text, _) in gen_log(),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..12),
    ) {
        for format in LogFormat::ALL {
            let whole = count(format, &text);
            let mut counter = AccessLogCounter::new(format);
            let mut so_far = LogCounts::default();
            for piece in cut(&text, &cuts) {
                counter.feed(piece);
                let now = counter.counts_so_far();
                prop_assert!(now.total >= so_far.total && now.unparsed >= so_far.unparsed);
                so_far = now;
            }
            prop_assert_eq!(counter.finish(), whole, "{}", format);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_stay_consistent(
        text in noisy_bytes(),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..8),
    ) {
        let lines = text.iter().filter(|&&b| b == b'\n').count() as u64 + 1;
        for format in LogFormat::ALL {
            let whole = count(format, &text);
            prop_assert!(whole.errors_5xx <= whole.total);
            prop_assert!(whole.total + whole.unparsed <= lines);
            let mut counter = AccessLogCounter::new(format);
            for piece in cut(&text, &cuts) {
                counter.feed(piece);
            }
            prop_assert_eq!(counter.finish(), whole);
        }
    }

    #[test]
    fn mixed_in_noise_keeps_consistent(
        (text, _) in gen_log(),
        noise in noisy_bytes(),
        at in any::<prop::sample::Index>(),
    ) {
        let mut text = text;
        let at = at.index(text.len() + 1);
        text.splice(at..at, noise);
        check_invariants(&text);
    }
}

// --- configured keys ------------------------------------------------------------------------------

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
                .filter_map(
                    |line| match super::line::classify_timed(format, &keys, line, true) {
                        (Line::Access(_), ms) => ms,
                        _ => None,
                    },
                )
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

// --- JSON against serde_json -----------------------------------------------------------------------

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

fn json_classify(text: &[u8]) -> Option<u16> {
    match classify(LogFormat::Json, &LogKeys::default(), text) {
        Line::Access(status) => Some(status),
        Line::Blank | Line::Other => None,
    }
}

/// [`json_classify`] through the walk by paths that configured keys take.
fn json_walk_classify(text: &[u8]) -> Option<u16> {
    match classify(
        LogFormat::Json,
        &LogKeys::default().without_fast_path(),
        text,
    ) {
        Line::Access(status) => Some(status),
        Line::Blank | Line::Other => None,
    }
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

// --- durations ------------------------------------------------------------------------------------

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
        0u8..9,
        0u64..100_000,
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
                _ => {
                    // Go's time.Duration: minutes, then seconds with a fraction.
                    let minutes = int % 600;
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
    match super::line::classify_timed(format, keys, line.as_bytes(), true) {
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
        super::line::classify_timed(
            LogFormat::Json,
            &keys,
            br#"{"status":200,"duration_ms":9}"#,
            false
        ),
        (Line::Access(200), None)
    );
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
                gen_line().prop_map(|l| (l.text, None)),
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
        let fast = super::line::classify_timed(LogFormat::Json, &LogKeys::default(), &text, true);
        let walk = super::line::classify_timed(
            LogFormat::Json,
            &LogKeys::default().without_fast_path(),
            &text,
            true,
        );
        prop_assert_eq!(fast, walk, "{}", String::from_utf8_lossy(&text));
        let plain = super::line::classify_timed(LogFormat::Json, &LogKeys::default(), &text, false);
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
        let fast = super::line::classify_timed(LogFormat::Json, &keys, &text, true);
        let walk = super::line::classify_timed(
            LogFormat::Json,
            &keys.clone().without_fast_path(),
            &text,
            true,
        );
        prop_assert_eq!(fast, walk, "{} {}", list, String::from_utf8_lossy(&text));
    }
}
