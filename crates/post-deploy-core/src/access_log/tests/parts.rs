//! A file counted in parts on threads gives the counts and durations of one stream.

use std::io::Write;

use proptest::prelude::*;

use super::super::parts::{Plan, count_file};
use super::*;

/// Keys that time the generated lines too (their durations are in milliseconds).
fn timing_keys() -> LogKeys {
    LogKeys::default()
        .with_duration(LogKeys::parse_duration("duration_ms:ms,service:ms,Ta:ms").unwrap())
}

fn file_of(text: &[u8]) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(text).unwrap();
    file.flush().unwrap();
    file
}

/// What one stream gives: `count_log` over the same bytes.
fn one_stream(format: LogFormat, keys: &LogKeys, text: &[u8]) -> (LogCounts, LogDurations) {
    count_log(format, keys.clone(), text).unwrap()
}

fn in_parts(
    format: LogFormat,
    keys: &LogKeys,
    file: &std::fs::File,
    parts: usize,
    buffer_len: usize,
) -> Option<(LogCounts, LogDurations)> {
    let plan = Plan {
        parts,
        min_len: 1,
        buffer_len,
    };
    count_file(format, keys, file, plan).unwrap()
}

proptest! {
    #[test]
    fn parts_count_as_one_stream(
        (text, _) in gen_log(),
        noise in noisy_bytes(),
        at in any::<prop::sample::Index>(),
        parts in 2usize..9,
        buffer_len in 1usize..300,
    ) {
        let mut text = text;
        let at = at.index(text.len() + 1);
        text.splice(at..at, noise);
        let file = file_of(&text);
        for keys in [LogKeys::default(), timing_keys()] {
            for format in [LogFormat::Auto, LogFormat::Logfmt] {
                let want = one_stream(format, &keys, &text);
                match in_parts(format, &keys, file.as_file(), parts, buffer_len) {
                    Some(got) => prop_assert_eq!(got, want, "{}", format),
                    // Only a file too short to cut, or a gzip'd one, is left to one stream.
                    None => prop_assert!(text.len() < 2 || text.starts_with(&[0x1f, 0x8b])),
                }
            }
        }
    }
}

#[test]
fn a_line_longer_than_a_part_and_than_the_longest_line_counted() {
    let mut text = Vec::new();
    for i in 0..2000 {
        writeln!(
            text,
            "at=info path=/{i} service={i}ms status={}",
            if i % 10 == 0 { 503 } else { 200 }
        )
        .unwrap();
        if i == 700 {
            // Over MAX_LINE_LEN: one unparsed line, wherever the cuts fall.
            text.extend(std::iter::repeat_n(b'x', MAX_LINE_LEN + 10));
            text.push(b'\n');
        }
    }
    let file = file_of(&text);
    let keys = timing_keys();
    let want = one_stream(LogFormat::Auto, &keys, &text);
    assert_eq!(
        want.0,
        LogCounts {
            total: 2000,
            errors_5xx: 200,
            unparsed: 1
        }
    );
    assert_eq!(want.1.timed, 2000);
    for parts in [2, 3, 8] {
        for buffer_len in [4096, 1 << 20] {
            let got = in_parts(LogFormat::Auto, &keys, file.as_file(), parts, buffer_len);
            assert_eq!(
                got,
                Some(want.clone()),
                "{parts} parts, buffer {buffer_len}"
            );
        }
    }
}

#[test]
fn gzip_devices_and_short_files_are_left_to_one_stream() {
    let gz = {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        for _ in 0..1000 {
            encoder.write_all(b"at=info status=500\n").unwrap();
        }
        encoder.finish().unwrap()
    };
    let file = file_of(&gz);
    let keys = LogKeys::default();
    assert_eq!(
        in_parts(LogFormat::Auto, &keys, file.as_file(), 4, 64),
        None
    );
    // Read in one stream by count_log_file, decompressed.
    let (counts, _) =
        count_log_file(LogFormat::Auto, keys.clone(), file.reopen().unwrap()).unwrap();
    assert_eq!(
        counts,
        LogCounts {
            total: 1000,
            errors_5xx: 1000,
            unparsed: 0
        }
    );

    let null = std::fs::File::open("/dev/null").unwrap();
    assert_eq!(in_parts(LogFormat::Auto, &keys, &null, 4, 64), None);

    // With the real plan a file of a few lines is one stream too.
    let small = file_of(b"at=info status=500\n");
    let plan = Plan::for_this_machine();
    assert_eq!(
        count_file(LogFormat::Auto, &keys, small.as_file(), plan).unwrap(),
        None
    );
    let (counts, _) = count_log_file(LogFormat::Auto, keys, small.reopen().unwrap()).unwrap();
    assert_eq!(counts.errors_5xx, 1);
}

#[test]
fn count_log_file_counts_a_big_file_as_one_stream() {
    // Big enough for the real plan to cut it on a machine with several cores.
    let line = b"at=info method=GET path=\"/a b\" service=12ms status=502 bytes=1\n";
    let mut text = Vec::with_capacity(9 << 20);
    let mut i = 0u64;
    while text.len() < 9 << 20 {
        text.extend_from_slice(if i.is_multiple_of(7) {
            line
        } else {
            b"2026-12-07T00:00:00.5Z at=info service=3ms status=200\n"
        });
        i += 1;
    }
    let file = file_of(&text);
    let keys = timing_keys();
    let got = count_log_file(LogFormat::Auto, keys.clone(), file.reopen().unwrap()).unwrap();
    assert_eq!(got, one_stream(LogFormat::Auto, &keys, &text));
    assert_eq!(got.0.total, i);
    assert_eq!(got.0.errors_5xx, i.div_ceil(7));
}

#[test]
fn a_file_without_a_newline_near_a_cut_is_left_to_one_stream() {
    // 3 lines, the middle one of 5 MiB: every cut of two parts falls inside it, and no `\n`
    // comes within the search's reach of the middle.
    let mut text = b"at=info status=500\n".to_vec();
    text.extend(std::iter::repeat_n(b'x', 5 << 20));
    text.extend_from_slice(b"\nat=info status=200\n");
    let file = file_of(&text);
    let keys = LogKeys::default();
    let plan = Plan {
        parts: 2,
        min_len: 1,
        buffer_len: 1 << 16,
    };
    assert_eq!(
        count_file(LogFormat::Auto, &keys, file.as_file(), plan).unwrap(),
        None
    );
    let (counts, _) = count_log_file(LogFormat::Auto, keys, file.reopen().unwrap()).unwrap();
    assert_eq!(
        counts,
        LogCounts {
            total: 2,
            errors_5xx: 1,
            unparsed: 1
        }
    );
}
