//! The logfmt reader's tests: known lines, and the masks held to the walk.

use super::*;

fn st(line: &str) -> Option<u16> {
    status(line.as_bytes(), &LogKeys::default())
}

#[test]
fn heroku_router_and_lograge() {
    assert_eq!(
        st(
            r#"at=info method=GET path="/" host=app.example.com request_id=2f1c fwd="192.0.2.10" dyno=web.1 connect=0ms service=18ms status=200 bytes=1342 protocol=https"#
        ),
        Some(200)
    );
    assert_eq!(
        st(
            r#"2024-05-01T12:00:00.000000+00:00 heroku[router]: at=error code=H12 desc="Request timeout" method=GET path="/slow" host=app.example.com fwd="192.0.2.10" dyno=web.1 connect=0ms service=30000ms status=503 bytes=0 protocol=https"#
        ),
        Some(503)
    );
    assert_eq!(
        st(
            "method=GET path=/jobs/833552.json format=json controller=JobsController action=show status=500 duration=58.33 view=40.43 db=15.26"
        ),
        Some(500)
    );
    assert_eq!(
        st(
            "I, [2024-05-01T12:00:00.123456 #1]  INFO -- : method=GET path=/ status=502 duration=1.2"
        ),
        Some(502)
    );
}

#[test]
fn values_quoted_empty_and_odd() {
    assert_eq!(st(r#"msg="a b \" c" status="503""#), Some(503));
    assert_eq!(st(r#"user= status=404 ref="""#), Some(404));
    assert_eq!(st("path=/search?q=a=b status=201"), Some(201));
    assert_eq!(st("status=abc status_code=502"), Some(502));
    assert_eq!(st("status=200 status=500"), Some(200));
    assert_eq!(st("status=200\t\tx=1  "), Some(200));
    assert_eq!(
        st("status=500 error='PG::QueryCanceled: canceling statement'"),
        Some(500)
    );
    assert_eq!(st("status='502'"), Some(502));
}

#[test]
fn not_logfmt_or_no_status() {
    for line in [
        "status=600",
        "status=99",
        "status=5000",
        "status=500.0",
        "status= 500",
        r#"status="500"x"#,
        r#"msg="unterminated status=500"#,
        "Error: request failed status=500",
        "upstream said status=500",
        "status=500 and then words",
        r#"a="b"c status=500"#,
        "a='b status=500",
        "=500 status=500",
        "Status=500",
        "code=500",
        "no pairs at all",
        "",
    ] {
        assert_eq!(st(line), None, "{line}");
    }
}

#[test]
fn configured_keys() {
    let keys = LogKeys::default()
        .with_status(LogKeys::parse_status("DownstreamStatus,http.response.status_code").unwrap());
    assert_eq!(status(b"DownstreamStatus=502 x=1", &keys), Some(502));
    assert_eq!(status(b"http.response.status_code=504", &keys), Some(504));
    assert_eq!(status(b"status=500", &keys), None);
}

mod against_the_walk {
    use super::super::{masks, status_timed, walk_status_timed};
    use crate::access_log::keys::LogKeys;
    use proptest::prelude::*;

    /// The answer with the duration's bits, so that equal means the same `f64` bit for bit.
    fn bits(found: Option<(u16, Option<f64>)>) -> Option<(u16, Option<u64>)> {
        found.map(|(status, ms)| (status, ms.map(f64::to_bits)))
    }

    /// The default keys, and configured ones (dotted, with suffixed duration keys, one
    /// starting with the same byte as a non-key token).
    fn key_sets() -> [LogKeys; 2] {
        let configured = LogKeys::default()
            .with_status(
                LogKeys::parse_status("DownstreamStatus,http.response.status_code,st").unwrap(),
            )
            .with_duration(LogKeys::parse_duration("svc:ms,service:ms,request_time:s").unwrap());
        [LogKeys::default(), configured]
    }

    fn assert_same(line: &[u8]) -> Result<(), TestCaseError> {
        for keys in &key_sets() {
            for timed in [false, true] {
                prop_assert_eq!(
                    bits(status_timed(line, keys, timed)),
                    bits(walk_status_timed(line, keys, timed)),
                    "{:?} timed {}",
                    String::from_utf8_lossy(line),
                    timed
                );
            }
        }
        Ok(())
    }

    fn pick(options: &'static [&'static str]) -> impl Strategy<Value = Vec<u8>> {
        prop::sample::select(options).prop_map(|s| s.as_bytes().to_vec())
    }

    fn key() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            4 => pick(&[
                "status", "status_code", "duration_ms", "request_time", "service", "svc", "st",
                "DownstreamStatus", "http.response.status_code", "at", "a", "dyno", "s", "sta",
            ]),
            2 => "[a-z_.]{1,12}".prop_map(String::into_bytes),
            1 => pick(&["", "st\"x", "a:b", "k\\", "k'", "é"]),
        ]
    }

    fn value() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            4 => pick(&[
                "200", "503", "99", "600", "5000", "12ms", "0.3s", "30000ms", "1.5", "", "\"503\"",
                "\"a b\"", "\"\"", "\"/a=b c\"", "a=b", "b\"c", "'x y'", "'502'", "\"a\\\" b\"",
                "\"x\"y", "\"x", "web.1", "-1", "1e3", "b\"c d\"", "x\"y\"", "b\"c\"", "b\"",
            ]),
            2 => "[a-z0-9./:]{0,20}".prop_map(String::into_bytes),
            2 => "\"[a-z =\t:]{0,20}\"".prop_map(String::into_bytes),
        ]
    }

    /// A pair, mostly well formed, or a stray piece.
    fn part() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            8 => (key(), value()).prop_map(|(k, v)| [k, b"=".to_vec(), v].concat()),
            1 => pick(&[" ", "\t", "=", "\"", "'", "\\", ":", "a", "status=", "503", "12ms", "=x"]),
        ]
    }

    /// logfmt lines: a prefix, then parts between runs of blanks; `pad` shifts the pairs over
    /// every offset of a 64-byte block.
    fn line() -> impl Strategy<Value = Vec<u8>> {
        let prefix = pick(&[
            "",
            "heroku[router]: ",
            "I, [x #1]  INFO -- : ",
            "Error: ",
            "x ",
        ]);
        let blanks = pick(&[" ", " ", " ", "  ", "\t", " \t "]);
        let parts = prop::collection::vec((part(), blanks), 0..24);
        (prefix, 0usize..64, parts, pick(&["", "", " ", "\t"])).prop_map(
            |(prefix, pad, parts, end)| {
                let mut line = prefix;
                if pad > 0 {
                    line.extend_from_slice(b"pad=");
                    line.extend(std::iter::repeat_n(b'x', pad));
                    line.push(b' ');
                }
                for (i, (part, blanks)) in parts.into_iter().enumerate() {
                    if i > 0 {
                        line.extend_from_slice(&blanks);
                    }
                    line.extend_from_slice(&part);
                }
                line.extend_from_slice(&end);
                line
            },
        )
    }

    /// Any sequence of logfmt's bytes and tokens.
    fn bytes() -> impl Strategy<Value = Vec<u8>> {
        let piece = pick(&[
            " ",
            "\t",
            "=",
            "\"",
            "'",
            "\\",
            ":",
            "a",
            "x_y",
            "status",
            "status=",
            "status_code=",
            "duration_ms=",
            "service=",
            "svc=",
            "503",
            "200",
            "12ms",
            "0.3s",
            "\"a b\"",
            "heroku[router]: ",
            "path=\"/a=b c\" ",
        ]);
        prop::collection::vec(piece, 0..90).prop_map(|pieces| pieces.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(6000))]

        /// Lines of pairs, well formed or nearly, of every length up to and past the masks'
        /// limit: the masks answer as the walk does, status and duration, with both key sets,
        /// timed and not.
        #[test]
        fn pairs_read_as_the_walk_reads_them(line in line()) {
            assert_same(&line)?;
        }

        /// Any mix of logfmt's bytes, cut at every start.
        #[test]
        fn any_bytes_read_as_the_walk_reads_them(line in bytes(), cut in 0usize..64) {
            assert_same(line.get(cut..).unwrap_or_default())?;
        }
    }

    /// The lines the masks answer for themselves, and those they leave to the walk.
    #[test]
    fn masks_answer_for_plain_pairs_and_leave_the_rest_to_the_walk() {
        let keys = LogKeys::default();
        let heroku = r#"at=info method=GET path="/a b" host=h request_id=2f1c fwd="192.0.2.10" dyno=web.1 connect=0ms service=18ms status=503 bytes=0 duration_ms=12"#;
        for pad in 0..200 {
            let line = format!("pad={} {heroku}", "x".repeat(pad));
            let answer = masks::status_timed(line.as_bytes(), &keys, true);
            if line.len() <= masks::MAX_LEN {
                assert_eq!(answer, Some(Some((503, Some(12.0)))), "{pad}");
            } else {
                assert_eq!(answer, None, "{pad}");
            }
        }
        for line in [
            "status=200 x=\"a\"",
            "status=200 x=",
            "x=1 y=\"\"",
            "status=abc",
            "a=\"=\"",
        ] {
            assert!(
                masks::status_timed(line.as_bytes(), &keys, false).is_some(),
                "{line}"
            );
        }
        for line in [
            r#"a=b"c status=200"#,
            r#"msg="a \" b" status=200"#,
            "status=500 error='a b'",
            r#"a="b"c status=500"#,
            r#"a="b status=500"#,
            "=500 status=500",
            "status=500 words",
            "status=500 x=1 \"",
            "status",
        ] {
            assert_eq!(
                masks::status_timed(line.as_bytes(), &keys, false),
                None,
                "{line}"
            );
        }
        // A last word without `=` that runs to the end of a full 64-byte word: not a pair.
        for len in [64, 128, 192, 256] {
            let line = format!("status=500 {}", "x".repeat(len - 11));
            assert_eq!(
                masks::status_timed(line.as_bytes(), &keys, true),
                None,
                "{len}"
            );
            assert_eq!(status_timed(line.as_bytes(), &keys, true), None, "{len}");
            let line = format!("status=500 {}=", "x".repeat(len - 12));
            assert_eq!(
                status_timed(line.as_bytes(), &keys, false),
                Some((500, None))
            );
        }
        // Left to the walk, which reads a bare value's quote as a byte of it.
        assert_eq!(super::st(r#"a=b"c status=200"#), Some(200));
    }
}

mod logfmt_first {
    use crate::access_log::LogFormat;
    use crate::access_log::keys::LogKeys;
    use crate::access_log::line::{classify_requests_first, classify_timed};
    use proptest::prelude::*;

    fn pick(options: &'static [&'static str]) -> impl Strategy<Value = Vec<u8>> {
        prop::sample::select(options).prop_map(|s| s.as_bytes().to_vec())
    }

    /// Pieces of logfmt, CLF, uvicorn, HAProxy and morgan lines, and of colour codes.
    fn line() -> impl Strategy<Value = Vec<u8>> {
        let piece = pick(&[
            " ",
            "\t",
            "=",
            "\"",
            ":",
            "status=503",
            "status=\"200\"",
            "a=\"x\"",
            "b=\"",
            "c=\"\"",
            "path=\"/a b\"",
            "x=1",
            "duration_ms=12",
            "\" 200",
            "\" 503 12",
            "\" 99",
            "\" \x1b[32m500\x1b[0m",
            "\x1b[0m",
            "\x1b",
            "\"GET / HTTP/1.1\" 502 12 \"-\" \"ua\"",
            "127.0.0.1 - - [01/May/2024:12:00:00 +0000] ",
            "INFO:     1.2.3.4:5 - ",
            "heroku[router]: ",
            "GET /a?b=c 500 1.2 ms - 12",
            "x \"a\": ",
            "200",
            "5",
            "0",
            "'",
            "\\",
            "x",
        ]);
        let pieces = prop::collection::vec(piece, 0..30).prop_map(|pieces| pieces.concat());
        // logfmt pairs that are also a request and its status, or nearly.
        let pair = pick(&[
            "status=503",
            "a=\"GET / HTTP/1.1\"",
            "200\x1b=x",
            "\x1b[32m200\x1b[0m=1",
            "b=\" 200 x\"",
            "c=\"x\"",
            "x=1",
            "INFO:",
            "d=\"POST /a HTTP/2\"",
            "e=\"GET /\"",
            "[01/May/2024:12:00:00]",
            "f=]",
            "500=1",
            "g=\" \x1b[1m502\"",
        ]);
        let pairs = prop::collection::vec(pair, 0..12).prop_map(|pairs| pairs.join(&b' '));
        prop_oneof![pieces, pairs]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]

        /// Reading a line as logfmt before looking for its request answers as the order
        /// that always looks for the request first.
        #[test]
        fn logfmt_first_answers_as_requests_first(line in line()) {
            let configured = LogKeys::default()
                .with_status(LogKeys::parse_status("st,status").unwrap())
                .with_duration(LogKeys::parse_duration("x:ms").unwrap());
            for keys in [LogKeys::default(), configured] {
                for timed in [false, true] {
                    let (a, a_ms) = classify_timed(LogFormat::Auto, &keys, &line, timed);
                    let (b, b_ms) = classify_requests_first(LogFormat::Auto, &keys, &line, timed);
                    prop_assert_eq!(a, b, "{:?}", String::from_utf8_lossy(&line));
                    prop_assert_eq!(a_ms.map(f64::to_bits), b_ms.map(f64::to_bits));
                }
            }
        }
    }

    /// A logfmt line that is also a uvicorn request (its status after a space and a colour
    /// code) is read as the request, as in the order that looks for it first.
    #[test]
    fn a_request_in_logfmt_pairs_is_read_as_the_request() {
        let keys = LogKeys::default();
        for line in [
            &b"a=\"GET / HTTP/1.1\" 200\x1b=x status=503"[..],
            b"a=\"GET / HTTP/1.1\" \x1b[32m201\x1b[0m=1 status=503",
        ] {
            let (first, _) = classify_timed(LogFormat::Auto, &keys, line, false);
            let (reference, _) = classify_requests_first(LogFormat::Auto, &keys, line, false);
            assert_eq!(first, reference);
            assert_ne!(first, crate::access_log::line::Line::Access(503));
        }
        // A quote before the first `=`, in a logger's prefix: read as logfmt after the
        // request is looked for.
        let line = b"app \"web\": status=503";
        let (first, _) = classify_timed(LogFormat::Auto, &keys, line, false);
        assert_eq!(first, crate::access_log::line::Line::Access(503));
    }
}
