use std::io::Cursor;

use chrono::TimeDelta;

use super::*;
use crate::access_log::MAX_LINE_LEN;

pub(super) const OK: &str = "10.0.0.1 - - [07/Dec/2026:09:00:00 +0000] \"GET / HTTP/1.1\" 200 12";
pub(super) const BAD: &str = "10.0.0.1 - - [07/Dec/2026:09:00:00 +0000] \"GET / HTTP/1.1\" 503 12";

pub(super) fn t(s: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_796_634_000 + s, 0).unwrap()
}

pub(super) fn at(s: i64, ms: i64) -> String {
    (t(s) + TimeDelta::milliseconds(ms)).to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
}

pub(super) fn settings() -> WindowSettings {
    WindowSettings {
        window: Duration::from_secs(100),
        interval: Duration::from_secs(10),
        min_requests: 4,
        ..WindowSettings::default()
    }
}

fn run(
    log: &str,
    health: Option<&str>,
    from: Option<DateTime<Utc>>,
) -> Result<ReplayReport, ReplayError> {
    let setup = ReplaySetup {
        settings: settings(),
        from,
        name: "t".to_owned(),
    };
    let health =
        health.map(|h| -> Box<dyn BufRead> { Box::new(Cursor::new(h.as_bytes().to_vec())) });
    replay(&setup, Cursor::new(log.as_bytes().to_vec()), health)
}

fn requests(r: &ReplayReport) -> Vec<u64> {
    r.ticks.iter().map(|t| t.outcome.window_requests).collect()
}

#[test]
fn ticks_fall_every_interval_after_arm_and_count_their_span() {
    // Arm at the first stamp (t(0) + 500 ms); lines at the tick's instant count in it.
    let log = format!(
        "{} {OK}\n{} {OK}\n{} {OK}\n{} {OK}\n",
        at(0, 500),
        at(10, 500),
        at(10, 501),
        at(35, 0)
    );
    let r = run(&log, None, None).unwrap();
    assert_eq!(r.armed_at, t(0) + TimeDelta::milliseconds(500));
    assert_eq!(r.ticks.len(), 10);
    assert_eq!(r.ticks[0].at, r.armed_at + TimeDelta::seconds(10));
    assert_eq!(r.ticks[9].at, r.deadline);
    assert_eq!(&requests(&r)[..4], &[2, 3, 3, 4]);
    assert_eq!((r.lines, r.unparsed), (4, 0));
    assert_eq!(r.verdict(), Verdict::Healthy);
    assert_eq!(r.action(), ActionKind::None);
}

#[test]
fn an_earlier_stamp_counts_in_the_tick_being_read_and_before_arm_in_none() {
    // From t(10): the first line is before arm; the third, stamped before the previous
    // tick, comes late (interleaved stderr) and counts in the tick being read.
    let log = format!(
        "{} {BAD}\n{} {OK}\n{} {BAD}\n{} {OK}\n",
        at(5, 0),
        at(25, 0),
        at(12, 0),
        at(26, 0)
    );
    let r = run(&log, None, Some(t(10))).unwrap();
    let ticks: Vec<_> = r
        .ticks
        .iter()
        .map(|t| (t.outcome.window_requests, t.outcome.window_errors_5xx))
        .collect();
    assert_eq!(&ticks[..3], &[(0, 0), (3, 1), (3, 1)]);
    assert_eq!(r.lines, 4);
}

#[test]
fn it_ends_at_the_first_degraded_tick_and_still_checks_the_rest() {
    let mut log = String::new();
    for s in 1..60 {
        log.push_str(&format!("{} {BAD}\n", at(s, 0)));
    }
    let r = run(&log, None, Some(t(0))).unwrap();
    assert_eq!(r.ticks.len(), 1);
    let d = r.degraded().unwrap();
    assert_eq!(d.at, t(10));
    assert_eq!(r.detected_after(), Some(Duration::from_secs(10)));
    assert_eq!(r.action(), ActionKind::Rollback);
    assert!(r.reason().contains(NOT_RUN), "{}", r.reason());
    assert_eq!(r.lines, 59);
    // A bad line far after the DEGRADED tick is still found, by its number.
    log.push_str("no stamp here\n");
    let e = run(&log, None, Some(t(0))).unwrap_err();
    assert_eq!(
        e.to_string(),
        "--log line 60: expected an RFC 3339 stamp and one space before the line, as \
         `docker logs --timestamps` writes them: \"no stamp here\""
    );
    let first = log.lines().next().unwrap();
    let e = run(first, Some("2026-12-07T09:00:01Z 200\n\nlater 200\n"), None).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("--health line 3: expected an RFC 3339 stamp"),
        "{e}"
    );
}

#[test]
fn health_is_the_last_probe_of_the_span_and_missing_breaks_no_run() {
    let health = [
        // Before arm: in no span.
        format!("{} fail", at(-1, 0)),
        format!("{} 503", at(5, 0)),
        format!("{} fail", at(9, 0)),
        // Tick 2 has none: missing. Ticks 3 and 4 fail: three in a row with tick 1.
        format!("{} 200", at(21, 0)),
        format!("{} 500", at(29, 0)),
        format!("{} fail", at(40, 0)),
    ]
    .join("\n");
    let log = format!("{} {OK}\n", at(0, 0));
    let r = run(&log, Some(&health), None).unwrap();
    let fails: Vec<u32> = r
        .ticks
        .iter()
        .map(|t| t.outcome.consecutive_failures)
        .collect();
    assert_eq!(fails, [1, 1, 2, 3]);
    assert_eq!(r.degraded().unwrap().at, t(40));
    assert!(
        r.ticks[1]
            .outcome
            .reason
            .contains("no health probe recorded in this tick"),
        "{}",
        r.ticks[1].outcome.reason
    );
}

#[test]
fn odd_lines_blank_crlf_overlong_and_empty() {
    let huge = "x".repeat(MAX_LINE_LEN + 10);
    let log = format!(
        "\n{} {OK}\r\n   \n{} {huge}\n{}\n{} {BAD}",
        at(1, 0),
        at(2, 0),
        at(3, 0),
        at(4, 0)
    );
    let r = run(&log, None, None).unwrap();
    // Blank lines are not lines; a stamp alone is an empty line (not an access line, not
    // counted); the overlong line is unparsed; the last line needs no newline.
    assert_eq!((r.lines, r.unparsed), (4, 1));
    assert_eq!(
        (
            r.ticks[0].outcome.window_requests,
            r.ticks[0].outcome.window_errors_5xx
        ),
        (2, 1)
    );
}

#[test]
fn no_arm_time_and_a_deadline_out_of_range() {
    assert!(matches!(
        run("\n\n", None, None),
        Err(ReplayError::NoArmTime)
    ));
    let r = run("", None, Some(t(0))).unwrap();
    assert_eq!((r.ticks.len(), r.lines), (10, 0));
    let far = DateTime::<Utc>::MAX_UTC - TimeDelta::seconds(50);
    assert!(matches!(
        run("", None, Some(far)),
        Err(ReplayError::OutOfRange(_))
    ));
}

#[test]
fn every_piece_split_counts_the_same() {
    let mut log = String::new();
    for i in 0..400 {
        let line = if i % 7 == 0 { BAD } else { OK };
        log.push_str(&format!("{} {line}\n", at(i / 4, (i % 4) * 250)));
    }
    let whole = run(&log, None, None).unwrap();
    for split in [1usize, 3, 61, 4096] {
        struct Pieces<'a>(&'a [u8], usize);
        impl Read for Pieces<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let n = self.1.min(self.0.len()).min(buf.len());
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let setup = ReplaySetup {
            settings: settings(),
            from: None,
            name: "t".to_owned(),
        };
        let r = replay(&setup, Pieces(log.as_bytes(), split), None).unwrap();
        assert_eq!(r, whole, "{split}");
    }
}
