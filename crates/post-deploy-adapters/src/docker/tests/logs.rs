//! Log stamps and the tally that reads each line once.

use super::*;

#[test]
fn split_stamp_reads_dockers_prefix() {
    let (at, text) = split_stamp(b"2026-11-27T03:25:58.814415879Z GET / 200\n").unwrap();
    assert_eq!(at, t("2026-11-27T03:25:58.814415879Z"));
    assert_eq!(text, b"GET / 200\n");
    assert_eq!(split_stamp(b"2026-11-27T03:25:58.8Z \n").unwrap().1, b"\n");
    assert!(split_stamp(b"Error response from daemon: No such container: x\n").is_none());
}

#[test]
fn log_tally_skips_what_was_read_and_counts_ties() {
    let (a, b, c) = (
        t("2026-01-01T00:00:01Z"),
        t("2026-01-01T00:00:02Z"),
        t("2026-01-01T00:00:03Z"),
    );
    // First read: everything from `a` on.
    let mut tally = LogTally::new(&LogCursor::at(a), far());
    let admitted: Vec<bool> = [a, b, b].into_iter().map(|x| tally.admit(x)).collect();
    assert_eq!(admitted, [true, true, true]);
    let cursor = tally.cursor();
    assert_eq!(
        cursor,
        LogCursor {
            since: b,
            seen_at_since: 2
        }
    );
    // `--since` is inclusive: the two lines at `b` come again, and a third one at `b` is new.
    let mut tally = LogTally::new(&cursor, far());
    let admitted: Vec<bool> = [b, b, b, c].into_iter().map(|x| tally.admit(x)).collect();
    assert_eq!(admitted, [false, false, true, true]);
    assert_eq!(
        tally.cursor(),
        LogCursor {
            since: c,
            seen_at_since: 1
        }
    );
    // Nothing new: the cursor stays, ties cumulative.
    let mut tally = LogTally::new(
        &LogCursor {
            since: c,
            seen_at_since: 1,
        },
        far(),
    );
    assert!(!tally.admit(c) && !tally.admit(a));
    assert_eq!(
        tally.cursor(),
        LogCursor {
            since: c,
            seen_at_since: 1
        }
    );
    assert!(tally.admit(c));
    assert_eq!(
        tally.cursor(),
        LogCursor {
            since: c,
            seen_at_since: 2
        }
    );
}

/// The whole read, over a fake engine that answers `docker logs --since` as docker does (every
/// line stamped at or after `since`, so each read overlaps the previous one): every line is
/// passed on once across reads, ties at the cursor's instant included, without its stamp.
/// Checked against `LogTally::admit` not skipping the lines already read at `since`.
#[test]
fn read_logs_passes_each_line_on_once_although_docker_repeats_the_cursors_instant() {
    let (cli, exec) = fake(
        Engine {
            containers: vec![fc("c0ffee", "web", None)],
            ..Engine::default()
        },
        "orchestrator",
    );
    let (a, b, c) = (
        t("2020-01-01T00:00:01.000000001Z"),
        t("2020-01-01T00:00:02Z"),
        t("2020-01-01T00:00:03Z"),
    );
    let append = |lines: &[(DateTime<Utc>, &str)]| {
        exec.0
            .lock()
            .unwrap()
            .log
            .extend(lines.iter().map(|(at, text)| (*at, (*text).to_owned())));
    };
    let mut cursor = LogCursor::at(t("2020-01-01T00:00:00Z"));
    let read = |cursor: &mut LogCursor| {
        let mut text = Vec::new();
        *cursor = cli
            .read_logs("web", cursor, &mut |line| text.extend_from_slice(line))
            .unwrap();
        String::from_utf8(text).unwrap()
    };
    append(&[(a, "one"), (b, "two"), (b, "three")]);
    assert_eq!(read(&mut cursor), "one\ntwo\nthree\n");
    // Nothing new: docker repeats both lines at `b`, none is passed on.
    assert_eq!(read(&mut cursor), "");
    // A third line at `b` and one at `c`: only they are new.
    append(&[(b, "four"), (c, "five")]);
    assert_eq!(read(&mut cursor), "four\nfive\n");
    assert_eq!(read(&mut cursor), "");
    let calls = &exec.0.lock().unwrap().calls;
    let sinces: Vec<&str> = calls
        .iter()
        .filter(|c| c.get(1).map(String::as_str) == Some("logs"))
        .flat_map(|c| values(c, "--since"))
        .collect();
    assert_eq!(
        sinces,
        [
            "2020-01-01T00:00:00.000000000Z",
            "2020-01-01T00:00:02.000000000Z",
            "2020-01-01T00:00:02.000000000Z",
            "2020-01-01T00:00:03.000000000Z",
        ]
    );
}

proptest! {
    /// Lines reach the log out of stamp order (stdout and stderr are stamped on their own
    /// goroutines), each within the settle delay of its stamp; reads at any moments take
    /// everything visible from `since` on and admit up to `now - settle`: every line is
    /// counted exactly once.
    #[test]
    fn log_tally_counts_out_of_order_lines_once(
        lines in proptest::collection::vec((0_i64..5, 0_i64..1000), 1..80),
        reads in proptest::collection::vec(0_i64..4000, 1..8),
    ) {
        let settle = LOG_SETTLE.num_milliseconds();
        let base = t("2026-01-01T00:00:00Z");
        let ms = |n: i64| base + chrono::Duration::milliseconds(n);
        // (stamp, written): stamps advance by 0–4 ms; writes lag by up to the settle delay.
        let mut stamp = 0;
        let mut log: Vec<(i64, i64)> = lines
            .iter()
            .map(|(gap, lag)| {
                stamp += gap;
                (stamp, stamp + lag * settle / 1000)
            })
            .collect();
        log.sort_by_key(|(_, written)| *written);
        let mut times: Vec<i64> = reads;
        times.sort_unstable();
        // A last read long after everything was written.
        times.push(stamp + 10 * settle);
        let mut cursor = LogCursor::at(base);
        let mut counted = 0;
        for now in times {
            let mut tally = LogTally::new(&cursor, ms(now - settle));
            counted += log
                .iter()
                .filter(|(s, w)| *w <= now && ms(*s) >= cursor.since)
                .filter(|(s, _)| tally.admit(ms(*s)))
                .count();
            cursor = tally.cursor();
        }
        prop_assert_eq!(counted, log.len());
    }

    /// However a log is cut into reads, each line is counted once.
    #[test]
    fn log_tally_counts_every_line_once(
        gaps in proptest::collection::vec(0_u8..3, 1..60),
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..6),
    ) {
        let mut stamps = Vec::new();
        let mut at = t("2026-01-01T00:00:00Z");
        for g in gaps {
            at += chrono::Duration::nanoseconds(i64::from(g));
            stamps.push(at);
        }
        let mut ends: Vec<usize> = cuts.iter().map(|i| i.index(stamps.len() + 1)).collect();
        ends.push(stamps.len());
        ends.sort_unstable();
        let mut cursor = LogCursor::at(t("2026-01-01T00:00:00Z"));
        let mut counted = 0;
        for end in ends {
            // docker returns every line stamped at or after `since` logged so far
            let mut tally = LogTally::new(&cursor, far());
            counted += stamps[..end].iter().filter(|s| **s >= cursor.since).filter(|s| tally.admit(**s)).count();
            cursor = tally.cursor();
        }
        prop_assert_eq!(counted, stamps.len());
    }
}
