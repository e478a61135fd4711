//! The JSON scan's own tests: structure against the walk, escapes, depth, durations.

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
    assert_eq!(status(br#"{"status":0500}"#), None);
    assert_eq!(status(br#"{"status" 500}"#), None);
    assert_eq!(status(br#"{status:500}"#), None);
    assert_eq!(status(br#"{'status':500}"#), None);
    assert_eq!(status(br#"{}"#), None);
}

#[test]
fn the_first_valid_status_wins() {
    assert_eq!(status(br#"{"status":"ok","status_code":502}"#), Some(502));
    assert_eq!(status(br#"{"status":200,"status_code":502}"#), Some(200));
    assert_eq!(status(br#"{"status":200,"status":502}"#), Some(200));
    assert_eq!(
        status(br#"{"a":[1],"status":"ok","status":502}"#),
        Some(502)
    );
}

#[test]
fn nested_and_quoted_status_do_not_count() {
    for (line, want) in [
        (&br#"{"http":{"status":500}}"#[..], None),
        (br#"{"a":[{"status":500}]}"#, None),
        (br#"{"a":["status",500]}"#, None),
        (br#"{"msg":"\"status\":500"}"#, None),
        (br#"{"msg":"{\"status\":500}","status":200}"#, Some(200)),
        (br#"{"http":{"status":500},"status":201}"#, Some(201)),
        // A value that reads `status` is not a key.
        (br#"{"a":"status":500}"#, None),
        // Balanced quotes, but `"status"` would close a string: it is not a key.
        (br#"{"m":", "status":500, "}"#, None),
        (br#"{"m":"{", "status":500, "}"#, None),
    ] {
        assert_eq!(status(line), want, "{}", String::from_utf8_lossy(line));
    }
}

#[test]
fn escaped_keys() {
    assert_eq!(status(br#"{"st\u0061tus":500}"#), Some(500));
    assert_eq!(status(br#"{"\u0073tatus":500}"#), Some(500));
    assert_eq!(status(br#"{"status\u005fcode":500}"#), Some(500));
    assert_eq!(status(br#"{"st\"atus":500}"#), None);
    assert_eq!(status(br#"{"status\n":500}"#), None);
    assert_eq!(status(br#"{"\status":500}"#), None);
    assert!(unescaped_eq(br"a\/b", b"a/b"));
    assert!(unescaped_eq(br"\t\n\r\b\f", b"\t\n\r\x08\x0c"));
    assert!(!unescaped_eq(br"\u00e9", b"e"));
    assert!(!unescaped_eq(b"ab", b"abc"));
}

#[test]
fn broken_structure_is_not_an_access_line() {
    for line in [
        &br#"{"status":500"#[..],
        br#"{"status":500} x"#,
        br#"{"status":500}{}"#,
        br#"{"status":500}}"#,
        br#"{"status":500]"#,
        br#"{"a":[},"status":500}"#,
        br#"{"a":{],"status":500}"#,
        br#"{"a":[,"status":500}"#,
        br#"{"a":"unterminated,"status":500}"#,
        br#"{"status":500,"a":"}"#,
        br#"{"status":500,"a":"\"}"#,
        br#"{"status":500,\"a":1}"#,
        br#"{"status":500,"a":1}\"#,
        br#"["status",500]"#,
        br#"x{"status":500}"#,
    ] {
        assert_eq!(status(line), None, "{}", String::from_utf8_lossy(line));
    }
}

/// The trade made for speed: the tokens between strings and brackets are not checked.
#[test]
fn broken_tokens_between_strings_still_count() {
    for line in [
        &br#"{"status":500,}"#[..],
        br#"{,"status":500}"#,
        br#"{"a":01,"status":500}"#,
        br#"{"a":tru,"status":500}"#,
        br#"{"a":1 2,"status":500}"#,
        br#"{"a":"\x","status":500}"#,
        br#"{"a":{"b"},"status":500}"#,
        br#"{"a":[1,],"status":500}"#,
    ] {
        assert_eq!(status(line), Some(500), "{}", String::from_utf8_lossy(line));
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

/// The block scan and the walk agree on every line without backslashes, wherever the
/// blocks are cut.
#[test]
fn structure_and_walk_agree() {
    let lines = [
        &br#"{"status":500}"#[..],
        br#"{"a":"status","status":501}"#,
        br#"{"a":"x","status":"ok","status_code":"502"}"#,
        br#"{"m":", "status":500, "}"#,
        br#"{"status":500,"m":"}"#,
        br#"{ "status" : 503 , "x":1}"#,
        br#"{"u":{"status":502},"status":200}"#,
        br#"{"u":{"status":502}}"#,
        br#"{"u":["status",{"a":1}],"status":404}"#,
        br#"{"u":"{[","status":404,"v":"]}"}"#,
        br#"{"status":404}}"#,
        br#"{"status":404,"a":{}"#,
        br#"{"a":[}"status":500}"#,
        br#"{"a":"}","status":500,"b":"x}"#,
        br#"{"logger":"http.log.error","status":502}"#,
        br#"{"level":"error","logger":"http.log.error.log0","msg":"x","status":502}"#,
        br#"{"status":502, "logger" : "http.log.error" }"#,
        br#"{"logger":"http.log.access.log0","status":502}"#,
        br#"{"logger":"http.log.errors","status":502}"#,
        br#"{"r":{"logger":"http.log.error"},"status":502}"#,
        br#"{"m":"logger","x":"http.log.error","status":502}"#,
        br#"{"x":"http.log.error","logger":"http.log.error","status":502}"#,
        br#"{"m":"\"logger\":\"http.log.error\"","status":502}"#,
        br#"{"l":"logger","logger":1,"status":502}"#,
        br#"{"logger":"http.log.error","status":502,"a":{}"#,
    ];
    for line in lines {
        // Padding inside a string moves every byte across the 64-byte blocks.
        let padded = (0..140).map(|pad| {
            let mut padded = br#"{"p":""#.to_vec();
            padded.extend(std::iter::repeat_n(b'x', pad));
            padded.extend_from_slice(br#"","#);
            padded.extend_from_slice(&line[1..]);
            padded
        });
        for body in std::iter::once(line.to_vec()).chain(padded) {
            let end = body.len() - 1;
            let key = STATUS_KEY.find(&body[1..end]).unwrap() + 1;
            // The walk, then the error-record check apart: the block scan in one pass.
            let walked = match walk(&body) {
                Some(_) if !error_record::is_access(&body) => JsonLine::ErrorRecord,
                Some(status) => JsonLine::Access(status, None),
                None => JsonLine::Not,
            };
            assert_eq!(
                structure(&body, key, None),
                walked,
                "{}",
                String::from_utf8_lossy(&body)
            );
        }
    }
}
