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

/// Caddy's error record beside the access line of a request it answered with an error of its
/// own: the request counts once.
#[test]
fn server_error_records_are_not_requests() {
    let access = r#"{"level":"error","ts":1796603865.29,"logger":"http.log.access.log0","msg":"handled request","request":{"remote_ip":"127.0.0.1","method":"GET","uri":"/down?n=179","headers":{"User-Agent":["Python-urllib/3.11"]}},"duration":0.000140951,"size":0,"status":502,"resp_headers":{"Server":["Caddy"]}}"#;
    let error = r#"{"level":"error","ts":1796603865.29,"logger":"http.log.error.log0","msg":"dial tcp 127.0.0.1:43627: connect: connection refused","request":{"remote_ip":"127.0.0.1","method":"GET","uri":"/down?n=179","headers":{"User-Agent":["Python-urllib/3.11"]}},"duration":0.000140951,"status":502,"err_id":"x","err_trace":"reverseproxy.statusError (reverseproxy.go:1299)"}"#;
    let keys = [
        LogKeys::default(),
        LogKeys::default().without_fast_path(),
        LogKeys::parse(Some("status"), Some("duration:s")).unwrap(),
    ];
    for keys in &keys {
        for format in [LogFormat::Auto, LogFormat::Json] {
            for timed in [false, true] {
                let c = |line: &str| {
                    super::line::classify_timed(format, keys, line.as_bytes(), timed).0
                };
                assert_eq!(c(access), Line::Access(502), "{format} {keys:?}");
                assert_eq!(c(error), Line::Other, "{format} {keys:?}");
                let bare = r#"{"logger":"http.log.error","status":500}"#;
                assert_eq!(c(bare), Line::Other);
                // With escapes elsewhere in the line (the walk's path).
                let escaped = r#"{"logger" : "http.log.error.log0", "msg":"a \"quoted\" word", "status":503}"#;
                assert_eq!(c(escaped), Line::Other);
                // Not the error logger: nested, inside a string, another name, another key.
                for line in [
                    r#"{"status":502,"x":{"logger":"http.log.error"}}"#,
                    r#"{"msg":"\"logger\":\"http.log.error\"","status":502}"#,
                    r#"{"logger":"http.log.errors","status":502}"#,
                    r#"{"logger":"http.log.access","status":502,"m":"http.log.error"}"#,
                    r#"{"log":"http.log.error","status":502}"#,
                    r#"{"mylogger":"http.log.error","status":502}"#,
                    r#"{"a":["logger","http.log.error"],"status":502}"#,
                ] {
                    assert_eq!(c(line), Line::Access(502), "{line}");
                }
            }
        }
    }
    // A log of both: one request.
    let log = format!("{access}\n{error}\n");
    assert_eq!(count(LogFormat::Auto, log.as_bytes()), counts(1, 1, 1));
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
        // As count-5xx reads a recorded log: a gzip stream decompressed, stamps skipped.
        let mut stamped = AccessLogCounter::with_keys(format, keys.clone()).skipping_stamps();
        for chunk in text.chunks(7) {
            stamped.feed(chunk);
        }
        let stamped = stamped.finish();
        match count_log(format, keys.clone(), text) {
            Ok((counts, durations)) => {
                assert!(durations.timed <= counts.total, "{format}: {durations:?}");
                if !text.starts_with(&[0x1f, 0x8b]) {
                    assert_eq!(counts, stamped, "{format}: count_log");
                }
            }
            Err(e) => assert!(text.starts_with(&[0x1f, 0x8b]), "{format}: {e}"),
        }
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
    /// HAProxy's httplog and morgan's lines: read in auto only.
    AutoOnly(u16),
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

/// HAProxy's `option httplog`, raw or after a syslog header, with timers that may be `-1` or
/// carry `+`.
fn haproxy_line() -> impl Strategy<Value = GenLine> {
    (
        prop::sample::select(vec!["", "<134>Dec  7 00:37:53 lb haproxy[7]: "]),
        "[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}:[0-9]{1,5}",
        prop::collection::vec(prop_oneof![Just("-1".to_owned()), "[0-9]{1,5}"], 5),
        prop::bool::ANY,
        any_status(),
        prop::sample::select(vec!["GET", "POST"]),
        path(),
    )
        .prop_map(|(prefix, client, timers, plus, status, method, path)| {
            let ta = if plus { format!("+{}", timers[4]) } else { timers[4].clone() };
            let text = format!(
                "{prefix}{client} [07/Dec/2026:00:37:53.633] web app/app1 {}/{}/{}/{}/{ta} {status} 139 - - ---- 7/7/5/5/0 0/0 \"{method} {path} HTTP/1.1\"",
                timers[0], timers[1], timers[2], timers[3]
            );
            GenLine { text, kind: Kind::AutoOnly(status) }
        })
}

/// morgan's `tiny`, `short` and `dev` lines.
fn morgan_line() -> impl Strategy<Value = GenLine> {
    (
        0u8..3,
        prop::sample::select(vec!["GET", "POST", "DELETE"]),
        path(),
        any_status(),
        prop_oneof![Just("-".to_owned()), "[0-9]{1,5}"],
        prop_oneof![Just("-".to_owned()), "[0-9]{1,4}\\.[0-9]{3}"],
    )
        .prop_map(|(kind, method, path, status, len, ms)| {
            let text = match kind {
                0 => format!("{method} {path} {status} {len} - {ms} ms"),
                1 => {
                    format!("::ffff:127.0.0.1 - {method} {path} HTTP/1.1 {status} {len} - {ms} ms")
                }
                _ => {
                    format!("\x1b[0m{method} {path} \x1b[32m{status}\x1b[0m {ms} ms - {len}\x1b[0m")
                }
            };
            GenLine {
                text,
                kind: Kind::AutoOnly(status),
            }
        })
}

/// Caddy's error record, beside an access line: not a request.
fn caddy_error_line() -> impl Strategy<Value = GenLine> {
    (any_status(), prop::sample::select(vec!["", ".log0"]), path()).prop_map(
        |(status, name, path)| GenLine {
            text: format!(
                r#"{{"level":"error","logger":"http.log.error{name}","msg":"dial tcp: refused","request":{{"uri":"{path}"}},"duration":0.001,"status":{status}}}"#
            ),
            kind: Kind::Noise,
        },
    )
}

fn gen_line() -> impl Strategy<Value = GenLine> {
    prop_oneof![
        4 => clf_line(),
        3 => uvicorn_line(),
        3 => json_line(),
        2 => logfmt_line(),
        1 => haproxy_line(),
        1 => morgan_line(),
        1 => caddy_error_line(),
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
                Kind::Clf(s)
                | Kind::Uvicorn(s)
                | Kind::Json(s)
                | Kind::Logfmt(s)
                | Kind::AutoOnly(s),
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

// --- helpers of the submodules ---------------------------------------------------------------

/// The status the JSON rule gives `text`, through the block scan of the default keys.
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

mod against_serde;
mod durations;
mod keys;
mod parts;
