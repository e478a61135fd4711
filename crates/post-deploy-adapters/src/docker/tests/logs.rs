//! Log stamps and the tally that reads each line once.

use super::*;

fn cur(since: DateTime<Utc>, seen_at_since: u64) -> LogCursor {
    LogCursor {
        seen_at_since,
        ..LogCursor::at(since)
    }
}

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
    assert_eq!(cursor, cur(b, 2));
    // `--since` is inclusive: the two lines at `b` come again, and a third one at `b` is new.
    let mut tally = LogTally::new(&cursor, far());
    let admitted: Vec<bool> = [b, b, b, c].into_iter().map(|x| tally.admit(x)).collect();
    assert_eq!(admitted, [false, false, true, true]);
    assert_eq!(tally.cursor(), cur(c, 1));
    // Nothing new: the cursor stays, ties cumulative.
    let mut tally = LogTally::new(&cur(c, 1), far());
    assert!(!tally.admit(c) && !tally.admit(a));
    assert_eq!(tally.cursor(), cur(c, 1));
    assert!(tally.admit(c));
    assert_eq!(tally.cursor(), cur(c, 2));
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
            .logs
            .entry("web".to_owned())
            .or_default()
            .extend(lines.iter().map(|(at, text)| {
                format!(
                    "{} {text}\n",
                    at.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
                )
            }));
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
    // Every read asked from at or before where the previous one stopped: docker repeats the
    // lines at the cursor's instant, and only the tally keeps them from counting twice.
    let calls = &exec.0.lock().unwrap().calls;
    let reads = calls
        .iter()
        .filter(|c| c.get(1).map(String::as_str) == Some("logs"))
        .count();
    assert!(reads >= 4, "{calls:?}");
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

/// A clock that says what the test set.
struct At(Mutex<DateTime<Utc>>);

impl post_deploy_core::Clock for At {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

fn stamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
}

/// A fake engine holding `web`'s log, and a CLI on it whose clock reads `now`.
fn on_log(lines: Vec<String>, log_config: &str, now: DateTime<Utc>) -> (DockerCli, Arc<FakeExec>) {
    let (cli, exec) = fake(
        Engine {
            containers: vec![fc("a1", "web", None)],
            logs: [("web".to_owned(), lines)].into_iter().collect(),
            log_config: log_config.to_owned(),
            ..Engine::default()
        },
        "orchestrator",
    );
    (cli.with_clock(Arc::new(At(Mutex::new(now)))), exec)
}

/// `n` lines `line i`, 10 ms apart from `base`.
fn ten_ms_lines(base: DateTime<Utc>, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            let at = base + chrono::Duration::milliseconds(10 * i as i64);
            format!("{} line {i}\n", stamp(at))
        })
        .collect()
}

fn read(cli: &DockerCli, cursor: &LogCursor) -> (LogCursor, Vec<String>) {
    let mut text = Vec::new();
    let next = cli
        .read_logs("web", cursor, &mut |t| text.extend_from_slice(t))
        .unwrap();
    let lines = String::from_utf8(text)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    (next, lines)
}

fn log_calls(exec: &FakeExec) -> Vec<Vec<String>> {
    exec.0
        .lock()
        .unwrap()
        .calls
        .iter()
        .filter(|c| c.get(1).is_some_and(|v| v == "logs"))
        .cloned()
        .collect()
}

#[test]
fn a_read_tails_only_as_far_back_as_the_cursor() {
    let base = t("2026-01-01T00:00:00Z");
    // 100 000 earlier lines, then the cursor, then 1 500 new ones.
    let lines = ten_ms_lines(base, 101_500);
    let since = split_stamp(lines[100_000].as_bytes()).unwrap().0;
    let now = base + chrono::Duration::seconds(2_000);
    let (cli, exec) = on_log(lines, "", now);
    let (next, got) = read(&cli, &LogCursor::at(since));
    assert_eq!(got.len(), 1_500);
    assert_eq!(got[0], "line 100000");
    assert_eq!(got[1_499], "line 101499");
    // 1 500 new lines and the 100 of the settle delay before them: 1024, then 2048 lines;
    // the engine sends the 1 700 stamped from two settle delays before the cursor on.
    let calls = log_calls(&exec);
    let tails: Vec<Vec<&str>> = calls.iter().map(|c| values(c, "--tail")).collect();
    assert_eq!(tails, [vec!["1024"], vec!["2048"]]);
    let floor = stamp(since - chrono::Duration::seconds(2));
    assert!(
        calls
            .iter()
            .all(|c| values(c, "--since") == [floor.as_str()])
    );
    assert_eq!(next.lines_read, 1_700);
    assert_eq!(next.note, None);
    // The next read starts from the hint, and one call suffices.
    exec.0.lock().unwrap().calls.clear();
    let (_, got) = read(&cli, &next);
    assert!(got.is_empty());
    assert_eq!(values(&log_calls(&exec)[0], "--tail"), ["3400"]);
    assert_eq!(log_calls(&exec).len(), 1);
}

#[test]
fn a_short_log_is_read_whole_and_nothing_is_said() {
    let base = t("2026-01-01T00:00:00Z");
    let (cli, exec) = on_log(
        ten_ms_lines(base, 10),
        "",
        base + chrono::Duration::hours(1),
    );
    let (next, got) = read(&cli, &LogCursor::at(base - chrono::Duration::hours(1)));
    assert_eq!(got.len(), 10);
    assert_eq!(log_calls(&exec).len(), 1);
    assert_eq!(next.note, None);
    assert_eq!(next.since, base + chrono::Duration::milliseconds(90));
}

#[test]
fn a_log_rotated_past_the_cursor_says_lines_may_be_missing() {
    let base = t("2026-01-01T00:00:00Z");
    let lines = ten_ms_lines(base, 200);
    let now = base + chrono::Duration::hours(1);
    let rotating = r#"{"Type":"json-file","Config":{"max-size":"1k","max-file":"2"}}"#;
    // The cursor is before the oldest line still kept, and the log has rotated: lost lines
    // cannot be told apart from none, so the reason says they may be missing.
    let (cli, _) = on_log(lines.clone(), rotating, now);
    let (next, got) = read(&cli, &LogCursor::at(base - chrono::Duration::seconds(5)));
    assert_eq!(got.len(), 200);
    assert!(next.note.unwrap().contains("lines may be missing"));
    // The same log read from a cursor it still holds, or without rotation: nothing to say.
    let (cli, _) = on_log(lines.clone(), rotating, now);
    let (next, got) = read(&cli, &LogCursor::at(base + chrono::Duration::seconds(1)));
    assert_eq!(got.len(), 100);
    assert_eq!(next.note, None);
    let (cli, _) = on_log(lines, r#"{"Type":"json-file","Config":{}}"#, now);
    let (next, _) = read(&cli, &LogCursor::at(base - chrono::Duration::seconds(5)));
    assert_eq!(next.note, None);
}

#[test]
fn other_drivers_are_read_by_since_and_the_reason_says_so() {
    let base = t("2026-01-01T00:00:00Z");
    let (cli, exec) = on_log(
        ten_ms_lines(base, 300),
        r#"{"Type":"journald","Config":null}"#,
        base + chrono::Duration::hours(1),
    );
    let (next, got) = read(&cli, &LogCursor::at(base + chrono::Duration::seconds(2)));
    assert_eq!(got.len(), 100);
    let calls = log_calls(&exec);
    assert_eq!(calls.len(), 1);
    assert_eq!(
        values(&calls[0], "--since"),
        ["2026-01-01T00:00:02.000000000Z"]
    );
    assert!(values(&calls[0], "--tail").is_empty());
    assert!(next.note.unwrap().contains("journald log driver"));
}

#[test]
fn log_configs_and_sizes_are_read_as_docker_reads_them() {
    let access = |j: &str| serde_json::from_str::<LogDriverJson>(j).unwrap().access();
    assert_eq!(
        access(r#"{"Type":"json-file","Config":{}}"#),
        LogAccess::FromEnd(Rotation {
            max_size: None,
            max_file: 1
        })
    );
    assert_eq!(
        access(r#"{"Type":"json-file","Config":{"max-size":"10m","max-file":"3"}}"#),
        LogAccess::FromEnd(Rotation {
            max_size: Some(10 << 20),
            max_file: 3
        })
    );
    assert_eq!(
        access(r#"{"Type":"local","Config":{}}"#),
        LogAccess::FromEnd(Rotation {
            max_size: Some(20 << 20),
            max_file: 5
        })
    );
    assert_eq!(
        access(r#"{"Type":"syslog"}"#),
        LogAccess::FromStart("syslog".into())
    );
    assert_eq!(parse_size("512k"), Some(512 << 10));
    assert_eq!(parse_size("2g"), Some(2 << 30));
    assert_eq!(parse_size("1.5MB"), Some(3 << 19));
    assert_eq!(parse_size("100"), Some(100));
    assert_eq!(parse_size("-1"), None);
    assert_eq!(parse_size("lots"), None);
}

#[test]
fn the_pieces_of_a_long_line_count_as_entries() {
    let s = "2026-11-27T03:25:58.814415879Z ";
    assert_eq!(stamps_in(format!("{s}GET / 200\n").as_bytes()), 1);
    let long = format!("{s}{}{s}{}{s}end\n", "x".repeat(16_384), "y".repeat(16_384));
    assert_eq!(stamps_in(long.as_bytes()), 3);
    assert_eq!(stamps_in(b"no stamp\n"), 1);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Reads that tail a log from its end, at any moments, while lines reach the log out of
    /// stamp order within the settle delay and with ties, count every line exactly once,
    /// whatever the first tail's size.
    #[test]
    fn tail_reads_count_out_of_order_lines_once(
        lines in proptest::collection::vec((0_i64..3, 0_i64..1000, any::<bool>()), 1..2500),
        reads in proptest::collection::vec(0_i64..3000, 1..6),
        hint in 0_u64..600,
    ) {
        let settle = LOG_SETTLE.num_milliseconds();
        let base = t("2026-01-01T00:00:00Z");
        let ms = |n: i64| base + chrono::Duration::milliseconds(n);
        // Earlier lines, well before the cursor, then the window's own.
        let mut log: Vec<(i64, i64, String)> = (0..1500)
            .map(|i| (-10_000 + i, -10_000 + i, format!("old {i}")))
            .collect();
        let mut stamp = 0;
        for (i, (gap, lag, err)) in lines.iter().enumerate() {
            stamp += gap;
            let text = format!("{} {i}", if *err { "err" } else { "out" });
            log.push((stamp, stamp + lag * settle / 1000, text));
        }
        log.sort_by_key(|(_, written, _)| *written);
        let mut times = reads;
        times.sort_unstable();
        times.push(stamp + 10 * settle);
        let (cli, exec) = on_log(Vec::new(), "", base);
        let clock = Arc::new(At(Mutex::new(base)));
        let cli = cli.with_clock(clock.clone());
        let mut cursor = LogCursor { lines_read: hint, ..LogCursor::at(base) };
        let mut seen = Vec::new();
        for now in times {
            *clock.0.lock().unwrap() = ms(now);
            exec.0.lock().unwrap().logs.insert(
                "web".into(),
                log.iter()
                    .filter(|(_, w, _)| *w <= now)
                    .map(|(s, _, text)| format!("{} {text}\n", stamp_of(ms(*s))))
                    .collect(),
            );
            let (next, got) = read(&cli, &cursor);
            seen.extend(got);
            cursor = next;
        }
        let new = log.len() - 1500;
        prop_assert_eq!(seen.len(), new, "{:?}", seen);
        let unique: BTreeSet<&String> = seen.iter().collect();
        prop_assert_eq!(unique.len(), new);
        prop_assert!(seen.iter().all(|l| !l.starts_with("old")));
    }
}

fn stamp_of(at: DateTime<Utc>) -> String {
    stamp(at)
}

/// A log that the test appends to, read by a CLI whose clock the test moves.
struct Stepped {
    cli: DockerCli,
    exec: Arc<FakeExec>,
    clock: Arc<At>,
    cursor: LogCursor,
    seen: Vec<String>,
}

impl Stepped {
    fn new(config: &str, start: DateTime<Utc>) -> Self {
        let (cli, exec) = on_log(Vec::new(), config, start);
        let clock = Arc::new(At(Mutex::new(start)));
        let cli = cli.with_clock(clock.clone());
        Self {
            cli,
            exec,
            clock,
            cursor: LogCursor::at(start),
            seen: Vec::new(),
        }
    }

    fn log(&self, at: DateTime<Utc>, text: &str) {
        let mut engine = self.exec.0.lock().unwrap();
        let log = engine.logs.entry("web".into()).or_default();
        log.push(format!("{} {text}\n", stamp(at)));
    }

    fn clock(&self, now: DateTime<Utc>) {
        *self.clock.0.lock().unwrap() = now;
    }

    /// Reads from the cursor; the lines passed on this time.
    fn read(&mut self) -> Result<Vec<String>, ControlError> {
        let mut text = Vec::new();
        let next = self
            .cli
            .read_logs("web", &self.cursor, &mut |t| text.extend_from_slice(t))?;
        let got: Vec<String> = String::from_utf8(text)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect();
        self.seen.extend(got.iter().cloned());
        self.cursor = next;
        Ok(got)
    }
}

#[test]
fn a_clock_stepped_back_reads_new_lines_by_their_place_and_each_once() {
    let base = t("2026-01-01T00:00:00Z");
    let ms = |n: i64| chrono::Duration::milliseconds(n);
    let mut log = Stepped::new("", base);
    // More lines than the first tail, so a tail that grew would show.
    for i in 0..2_000 {
        log.log(base + ms(10 * i), &format!("pre {i}"));
    }
    log.clock(base + ms(30_000));
    assert_eq!(log.read().unwrap().len(), 2_000);
    assert_eq!(log.cursor.since, base + ms(19_990));

    // The clock steps back an hour; what is logged now is stamped before everything read.
    let back = base - chrono::Duration::hours(1);
    log.clock(back);
    assert_eq!(log.read().unwrap(), Vec::<String>::new());
    for i in 0..10 {
        log.log(back + ms(100 * i), &format!("post {i}"));
    }
    log.clock(back + ms(2_000));
    let got = log.read().unwrap();
    assert_eq!(
        got,
        (0..10).map(|i| format!("post {i}")).collect::<Vec<_>>()
    );
    let mark = log.cursor.behind.unwrap();
    assert_eq!((mark.anchor, mark.read), (base + ms(19_990), 10));
    assert_eq!(
        log.cursor.since,
        base + ms(19_990),
        "the cursor itself stays"
    );
    // Nothing new: nothing passed; more lines: only they. The reads reach back as far as
    // the anchor, from the first tail on: they do not grow with the reads taken.
    let calls = log_calls(&log.exec).len();
    assert!(log.read().unwrap().is_empty());
    assert!(log.read().unwrap().is_empty());
    let tails: Vec<Vec<String>> = log_calls(&log.exec)[calls..]
        .iter()
        .map(|c| values(c, "--tail").into_iter().map(str::to_owned).collect())
        .collect();
    assert_eq!(tails, [["1024"], ["1024"]]);
    for i in 10..15 {
        log.log(back + ms(2_000 + 100 * i), &format!("post {i}"));
    }
    assert_eq!(log.read().unwrap().len(), 5);
    // Even one stamped like a line read before the step is told apart by its place.
    log.log(base + ms(500), "post 15, stamped among the old ones");
    assert_eq!(log.read().unwrap(), ["post 15, stamped among the old ones"]);

    // The clock catches up: the last lines logged while it was behind, then the usual read.
    log.log(back + ms(9_000), "post 16");
    log.clock(base + ms(40_000));
    log.log(base + ms(31_000), "after 0");
    log.log(base + ms(31_500), "after 1");
    let got = log.read().unwrap();
    assert_eq!(got, ["post 16", "after 0", "after 1"]);
    assert_eq!(log.cursor.behind, None);
    assert_eq!(log.cursor.since, base + ms(31_500));
    assert!(log.read().unwrap().is_empty());
    // Every line exactly once.
    let mut all = log.seen.clone();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), log.seen.len());
    assert_eq!(log.seen.len(), 2_000 + 17 + 2);
}

#[test]
fn without_an_anchor_a_clock_behind_leaves_the_signal_missing() {
    let base = t("2026-01-01T00:00:00Z");
    let ms = |n: i64| chrono::Duration::milliseconds(n);
    // Armed, nothing logged since, then the clock steps back: no line marks where the read
    // stopped, so what is logged now cannot be told from what was logged before the arm.
    let mut log = Stepped::new("", base + ms(5_000));
    log.log(base, "before the arm");
    log.clock(base);
    log.log(base + ms(10), "after the step");
    let err = log.read().unwrap_err();
    assert_eq!(
        err,
        ControlError::ClockBehind {
            behind: std::time::Duration::from_millis(5_000)
        }
    );
    assert!(err.to_string().contains("5.0 s behind"), "{err}");
    assert_eq!(
        log.cursor,
        LogCursor::at(base + ms(5_000)),
        "the cursor is kept"
    );
    // Caught up, the usual read goes on from the cursor and says lines may be missing.
    log.clock(base + ms(8_000));
    log.log(base + ms(6_000), "later");
    assert_eq!(log.read().unwrap(), ["later"]);
    assert!(
        log.cursor.note.is_none(),
        "no mark, nothing was read by place"
    );
}

#[test]
fn a_clock_behind_leaves_a_services_and_other_drivers_logs_missing() {
    let base = t("2026-01-01T00:00:00Z");
    let since = base + chrono::Duration::milliseconds(500);
    let (cli, exec) = on_log(
        ten_ms_lines(base, 100),
        "",
        since - chrono::Duration::hours(1),
    );
    // A service's logs: no call, the error says how far behind.
    let err = cli
        .read_service_logs("api", &LogCursor::at(since), &mut |_| panic!("no line"))
        .unwrap_err();
    assert!(matches!(err, ControlError::ClockBehind { .. }), "{err}");
    assert!(err.to_string().contains("3600.0 s behind"), "{err}");
    assert!(exec.0.lock().unwrap().calls.is_empty());
    // A driver read only from its start (`--since`) cannot be read by place either.
    let (cli, exec) = on_log(
        ten_ms_lines(base, 100),
        r#"{"Type":"journald","Config":{}}"#,
        since - chrono::Duration::hours(1),
    );
    let err = cli
        .read_logs("web", &LogCursor::at(since), &mut |_| panic!("no line"))
        .unwrap_err();
    assert!(matches!(err, ControlError::ClockBehind { .. }), "{err}");
    assert!(log_calls(&exec).is_empty());
    // Exactly at the cursor: not behind.
    let (cli, _) = on_log(ten_ms_lines(base, 1), "", since);
    assert!(
        cli.read_logs("web", &LogCursor::at(since), &mut |_| {})
            .is_ok()
    );
}

proptest! {
    /// However the reads fall among the lines logged while the clock is behind, and however
    /// far it stepped back, every line is passed on exactly once and in the log's order, the
    /// catch-up included.
    #[test]
    fn lines_logged_while_the_clock_is_behind_are_read_once(
        pre in 1i64..40,
        back_s in 60i64..7_200,
        events in proptest::collection::vec(proptest::option::of(0usize..5), 1..12),
    ) {
        let base = t("2026-01-01T00:00:00Z");
        let ms = |n: i64| chrono::Duration::milliseconds(n);
        let mut log = Stepped::new("", base);
        for i in 0..pre {
            log.log(base + ms(10 * i), &format!("pre {i}"));
        }
        log.clock(base + ms(10_000));
        prop_assert_eq!(log.read().unwrap().len(), pre as usize);
        let back = base - chrono::Duration::seconds(back_s);
        // A read (a tick) while the clock is behind: what marks where reading goes on. A
        // step back shorter than the time to the next tick has none; the lines logged until
        // the clock catches up are then not read (at most that long).
        log.clock(back);
        prop_assert!(log.read().unwrap().is_empty());
        let mut logged = Vec::new();
        let mut elapsed = 0i64;
        for event in events {
            elapsed += 250;
            match event {
                // Some lines logged now.
                Some(n) => {
                    for _ in 0..n {
                        let text = format!("post {}", logged.len());
                        log.log(back + ms(elapsed), &text);
                        logged.push(text);
                    }
                }
                // A read now.
                None => {
                    log.clock(back + ms(elapsed));
                    log.read().unwrap();
                }
            }
        }
        log.clock(base + ms(20_000));
        for i in 0..3 {
            let text = format!("after {i}");
            log.log(base + ms(11_000 + 100 * i), &text);
            logged.push(text);
        }
        log.read().unwrap();
        prop_assert!(log.read().unwrap().is_empty());
        prop_assert_eq!(&log.seen[pre as usize..], &logged[..]);
        prop_assert_eq!(log.cursor.behind, None);
    }
}
