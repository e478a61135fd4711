//! A file replayed in parts gives the report (or the error) of one stream.

use std::io::{Cursor, Write};

use proptest::prelude::*;

use super::tests::{BAD, OK, at, settings, t};
use super::*;
use crate::access_log::parts::Plan;

/// One generated line: a second and millisecond after t(0), or something else.
#[derive(Debug, Clone)]
enum Gen {
    Stamped {
        s: i64,
        ms: i64,
        bad: bool,
        crlf: bool,
    },
    Blank,
    Unstamped,
}

fn gen_line() -> impl Strategy<Value = Gen> {
    prop_oneof![
        300 => (0i64..140, prop_oneof![3 => Just(0i64), 1 => Just(500), 2 => 0i64..1000], prop::bool::weighted(0.3), prop::bool::weighted(0.1))
            .prop_map(|(s, ms, bad, crlf)| Gen::Stamped { s, ms, bad, crlf }),
        10 => Just(Gen::Blank),
        1 => Just(Gen::Unstamped),
    ]
}

/// A log of mostly rising stamps (each line's second drawn near the previous one's, some
/// going back as interleaved stderr does), and its text.
fn gen_log() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec((gen_line(), -3i64..6), 1..160).prop_map(|lines| {
        let mut text = Vec::new();
        let mut second = 0i64;
        for (line, step) in lines {
            match line {
                Gen::Stamped { s, ms, bad, crlf } => {
                    second = (second + step).max(0);
                    // Mostly near the running second, sometimes anywhere.
                    let s = if s % 9 == 0 { s } else { second };
                    let end = if crlf { "\r\n" } else { "\n" };
                    let body = if bad { BAD } else { OK };
                    write!(text, "{} {body}{end}", at(s, ms)).unwrap();
                }
                Gen::Blank => text.extend_from_slice(b"  \n"),
                Gen::Unstamped => text.extend_from_slice(b"no stamp here\n"),
            }
        }
        text
    })
}

fn health_of(text: Option<&str>) -> Option<Box<dyn BufRead>> {
    text.map(|h| -> Box<dyn BufRead> { Box::new(Cursor::new(h.as_bytes().to_vec())) })
}

/// The one-stream answer and the parts' answer (`None` when the file is not cut), as text.
fn both(
    setup: &ReplaySetup,
    log: &[u8],
    health: Option<&str>,
    plan: Plan,
) -> (String, Option<String>) {
    let show = |r: Result<ReplayReport, ReplayError>| match r {
        Ok(report) => format!("{report:?}"),
        Err(e) => format!("error: {e}"),
    };
    let stream = show(replay(setup, Cursor::new(log.to_vec()), health_of(health)));
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(log).unwrap();
    file.flush().unwrap();
    let parts = parts::prepare(setup, file.as_file(), plan)
        .unwrap()
        .map(|prepared| {
            show(parts::replay(
                setup,
                file.as_file(),
                prepared,
                health_of(health).map(HealthTrace::new),
                plan,
            ))
        });
    (stream, parts)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn parts_replay_as_one_stream(
        log in gen_log(),
        from in prop::option::of(0i64..30),
        interval in 1u64..12,
        ticks in 1u64..40,
        min_requests in 1u64..6,
        latency in prop::bool::ANY,
        health in prop::option::of(prop::collection::vec((0i64..140, prop::bool::weighted(0.7)), 0..40)),
        parts in 2usize..7,
        buffer_len in 1usize..400,
    ) {
        let setup = ReplaySetup {
            settings: WindowSettings {
                window: Duration::from_secs(interval * ticks),
                interval: Duration::from_secs(interval),
                min_requests,
                latency_ms: latency.then_some(5.0),
                ..settings()
            },
            from: from.map(t),
            name: "t".to_owned(),
        };
        let health = health.map(|probes| {
            let mut probes = probes;
            probes.sort_unstable();
            probes
                .iter()
                .map(|(s, ok)| format!("{} {}\n", at(*s, 0), if *ok { "200" } else { "fail" }))
                .collect::<String>()
        });
        let plan = Plan { parts, min_len: 1, buffer_len };
        let (stream, in_parts) = both(&setup, &log, health.as_deref(), plan);
        // Where both inputs are bad, which error comes first may differ: only the log's
        // errors are compared.
        if let Some(in_parts) = in_parts
            && !(stream.starts_with("error: --health") || in_parts.starts_with("error: --health"))
        {
            prop_assert_eq!(in_parts, stream);
        }
    }
}

#[test]
fn a_big_file_is_replayed_in_parts_as_one_stream() {
    // 6 MiB: the real plan cuts it on a machine with two cores or more.
    let mut log = Vec::new();
    let mut i = 0i64;
    while log.len() < 6 << 20 {
        let body = if i % 50 == 0 { BAD } else { OK };
        writeln!(log, "{} {body}", at(i / 400, (i % 400) * 2)).unwrap();
        i += 1;
    }
    let setup = ReplaySetup {
        settings: WindowSettings {
            window: Duration::from_secs(120),
            interval: Duration::from_secs(5),
            ..settings()
        },
        from: None,
        name: "t".to_owned(),
    };
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(&log).unwrap();
    file.flush().unwrap();
    let stream = replay(&setup, Cursor::new(log.clone()), None).unwrap();
    let whole = replay_file(&setup, file.reopen().unwrap(), None).unwrap();
    assert_eq!(whole, stream);
    assert_eq!(whole.lines, u64::try_from(i).unwrap());
    assert_eq!(whole.ticks.len(), 24);
    assert!(whole.ticks[23].outcome.window_requests > 0);
}

#[test]
fn a_bad_line_in_a_later_part_is_named_by_its_line_in_the_file() {
    let mut log = Vec::new();
    for i in 0..3000i64 {
        writeln!(log, "{} {OK}", at(i / 100, i % 100)).unwrap();
        if i == 2500 {
            log.extend_from_slice(b"\n  \nnot stamped\n");
        }
    }
    let setup = ReplaySetup {
        settings: settings(),
        from: None,
        name: "t".to_owned(),
    };
    for parts in [2, 3, 5] {
        let plan = Plan {
            parts,
            min_len: 1,
            buffer_len: 4096,
        };
        let (stream, in_parts) = both(&setup, &log, None, plan);
        assert!(stream.contains("--log line 2504:"), "{stream}");
        assert_eq!(in_parts.as_deref(), Some(stream.as_str()), "{parts} parts");
    }
}

#[test]
fn an_overlong_line_across_a_cut_counts_once() {
    let mut log = Vec::new();
    for i in 0..200i64 {
        writeln!(log, "{} {OK}", at(i / 4, (i % 4) * 100)).unwrap();
        if i == 100 {
            write!(log, "{} ", at(25, 0)).unwrap();
            log.extend(std::iter::repeat_n(
                b'x',
                crate::access_log::MAX_LINE_LEN + 5,
            ));
            log.push(b'\n');
        }
    }
    let setup = ReplaySetup {
        settings: settings(),
        from: None,
        name: "t".to_owned(),
    };
    for parts in [2, 4] {
        let plan = Plan {
            parts,
            min_len: 1,
            buffer_len: 1 << 16,
        };
        let (stream, in_parts) = both(&setup, &log, None, plan);
        assert!(stream.contains("unparsed: 1"), "{stream}");
        assert_eq!(in_parts.as_deref(), Some(stream.as_str()), "{parts} parts");
    }
}
