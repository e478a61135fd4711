//! Windows whose counts come from Prometheus, and the latency rule, over simulated time and
//! the in-memory store: the server's answers are the test's to set, tick by tick.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    reason = "tests"
)]

mod support;

use std::time::Duration;

use post_deploy_core::{ActionKind, Verdict};
use support::{Prom, Scenario};

const INTERVAL: Duration = Duration::from_secs(30);

/// A window reading Prometheus (with credentials in its URL), latency rule at p95 > 500 ms.
fn scenario() -> Scenario {
    let mut s = Scenario::new();
    s.set("PROMETHEUS_URL", "http://bob:s3cret@prom.internal:9090")
        .set("PROMETHEUS_REQUESTS", r#"req_total{job="api"}"#)
        .set("PROMETHEUS_ERRORS", r#"err_total{job="api",code=~"5.."}"#)
        .set("PROMETHEUS_LATENCY", r#"dur_bucket{job="api"}"#)
        .set("LATENCY_MS", "500");
    s
}

fn prom(requests: f64, errors: f64, latency_s: f64) -> Option<Prom> {
    Some(Prom {
        requests,
        errors,
        latency_s,
        error: None,
    })
}

#[test]
fn the_5xx_ratio_prometheus_reports_rolls_back_and_the_logs_are_not_read() {
    let s = scenario();
    // The container's own log says all is well; Prometheus is the source.
    s.world.log_requests(500, 0);
    s.arm();
    *s.world.prometheus.borrow_mut() = prom(10.0, 0.0, 0.1);
    let first = s.tick();
    assert_eq!(first.verdict, Verdict::Healthy);
    assert_eq!((first.window_requests, first.window_errors_5xx), (10, 0));
    s.world.advance(INTERVAL);
    *s.world.prometheus.borrow_mut() = prom(100.4, 9.6, 0.1);
    let second = s.tick();
    assert_eq!(second.verdict, Verdict::Degraded, "{}", second.reason);
    assert_eq!(second.action, ActionKind::Rollback);
    assert!(second.reason.contains("5xx ratio"), "{}", second.reason);
    // Totals, rounded: not 10 + 100.
    assert_eq!(
        (second.window_requests, second.window_errors_5xx),
        (100, 10)
    );
    assert_eq!(s.world.rollbacks(), 1);
    // The range is the whole seconds since arm; the first tick's at least one.
    let fetched = s.world.fetched.borrow();
    assert!(fetched[0].contains("%5B1s%5D"), "{}", fetched[0]);
    assert!(
        fetched.iter().any(|u| u.contains("%5B30s%5D")),
        "{fetched:?}"
    );
    assert!(fetched[0].starts_with("http://bob:s3cret@prom.internal:9090/api/v1/query?query="));
}

#[test]
fn totals_replace_the_counts_and_recovery_counts_only_what_came_after_the_rollback() {
    let s = scenario();
    s.arm();
    *s.world.prometheus.borrow_mut() = prom(100.0, 50.0, 0.1);
    let degraded = s.tick();
    assert_eq!(degraded.action, ActionKind::Rollback);
    // After the rollback the window's totals still hold the errors from before it; what
    // came since is clean, so the window recovers.
    let mut last = degraded;
    for i in 1..=3 {
        s.world.advance(INTERVAL);
        *s.world.prometheus.borrow_mut() = prom(100.0 + 40.0 * f64::from(i), 50.0, 0.1);
        last = s.tick();
    }
    assert!(last.finished, "{}", last.reason);
    assert_eq!(last.recovered, Some(true), "{}", last.reason);
    assert_eq!(last.window_requests, 220);
}

#[test]
fn the_latency_histogram_rolls_back_and_the_answer_says_so() {
    let s = scenario();
    s.arm();
    *s.world.prometheus.borrow_mut() = prom(40.0, 0.0, 0.8125);
    let out = s.tick();
    assert_eq!(out.verdict, Verdict::Degraded);
    assert_eq!(out.action, ActionKind::Rollback);
    assert!(
        out.reason
            .starts_with("latency: window latency: the 0.95 quantile from Prometheus is 812.5 ms"),
        "{}",
        out.reason
    );
    let json = serde_json::to_value(&out).unwrap();
    assert_eq!(json["window_timed_requests"], 40);
    assert!(json["window_slow_requests"].is_null());
    assert_eq!(json["window_latency_ms"], 812.5);
    assert!(
        s.world
            .fetched
            .borrow()
            .iter()
            .any(|u| u.contains("histogram_quantile%280.95%2C")),
        "the quantile was asked"
    );
}

#[test]
fn low_traffic_is_not_judged_however_bad() {
    let s = scenario();
    s.arm();
    let outs = s.run(|w, i| {
        let n = f64::from(u32::try_from(i).unwrap());
        *w.prometheus.borrow_mut() = prom(n.min(19.0), n.min(19.0), 9.0);
    });
    let last = outs.last().unwrap();
    assert!(outs.iter().all(|o| o.verdict == Verdict::Healthy));
    assert_eq!(last.action, ActionKind::None);
    assert_eq!(last.blind, Some(false));
    assert!(
        outs[3]
            .reason
            .contains("5xx ratio not judged: 3 requests, fewer than 20"),
        "{}",
        outs[3].reason
    );
    assert!(
        outs[3]
            .reason
            .contains("latency not judged: 3 requests, fewer than 20"),
        "{}",
        outs[3].reason
    );
    assert_eq!(s.world.rollbacks(), 0);
}

#[test]
fn prometheus_down_is_a_missing_signal_never_degraded_and_a_blind_window() {
    let s = scenario();
    s.arm();
    let outs = s.run(|w, i| {
        *w.prometheus.borrow_mut() = match i {
            0 => prom(5.0, 0.0, 0.1),
            1 => Some(Prom {
                error: Some("1:5: parse error: unexpected <by>".into()),
                ..Prom::default()
            }),
            // Down, with the server unreachable, for the rest of the window.
            _ => None,
        };
    });
    assert!(outs.iter().all(|o| o.verdict == Verdict::Healthy));
    let error = &outs[1].reason;
    assert!(
        error.contains("Prometheus at http://prom.internal:9090/")
            && error.contains("parse error: unexpected <by>"),
        "{error}"
    );
    let down = &outs[2].reason;
    assert!(
        down.contains("request count not read from Prometheus"),
        "{down}"
    );
    for o in &outs {
        assert!(!o.reason.contains("s3cret"), "{}", o.reason);
    }
    let last = outs.last().unwrap();
    assert_eq!(last.blind, Some(true), "{}", last.reason);
    assert!(
        last.reason
            .contains("BLIND: the 5xx signal (Prometheus at http://prom.internal:9090/…)"),
        "{}",
        last.reason
    );
    assert!(s.world.alert_events().contains(&"blind".to_owned()));
    assert!(!s.log().contains("s3cret"));
}

#[test]
fn a_latency_quantile_that_is_missing_leaves_the_counts() {
    let s = scenario();
    s.arm();
    *s.world.prometheus.borrow_mut() = prom(25.0, 0.0, f64::NAN);
    let out = s.tick();
    assert_eq!(out.verdict, Verdict::Healthy);
    assert_eq!(out.window_requests, 25);
    assert!(
        out.reason
            .contains("latency quantile not read from Prometheus"),
        "{}",
        out.reason
    );
    let json = serde_json::to_value(&out).unwrap();
    assert!(json["window_latency_ms"].is_null());
}

#[test]
fn the_latency_rule_from_logs_reports_its_counts_and_off_adds_no_keys() {
    let mut s = Scenario::new();
    s.set("LATENCY_MS", "250").set("LATENCY_QUANTILE", "0.99");
    s.world.log_requests(30, 0);
    s.arm();
    let out = s.tick();
    let json = serde_json::to_value(&out).unwrap();
    // CLF lines without a number after their last field carry no duration: none timed.
    assert_eq!(json["window_timed_requests"], 0);
    assert_eq!(json["window_slow_requests"], 0);
    assert!(json.get("window_latency_ms").is_none());
    assert!(
        out.reason
            .contains("latency not judged: 0 timed requests, fewer than 20"),
        "{}",
        out.reason
    );
    let plain = Scenario::new();
    plain.arm();
    let json = serde_json::to_value(plain.tick()).unwrap();
    for key in [
        "window_timed_requests",
        "window_slow_requests",
        "window_latency_ms",
    ] {
        assert!(json.get(key).is_none(), "{key}");
    }
}

#[test]
fn the_log_artefact_of_a_window_read_from_prometheus() {
    let s = scenario();
    s.arm();
    *s.world.prometheus.borrow_mut() = prom(12.0, 0.0, 0.2);
    s.tick();
    s.world.advance(INTERVAL);
    *s.world.prometheus.borrow_mut() = prom(30.0, 1.0, 0.75);
    s.tick();
    let log = s.log();
    assert!(!log.contains("s3cret"));
    insta::assert_snapshot!(log);
}

/// Logs `n` JSON access lines with status 200 taking `ms` milliseconds, stamped now.
fn log_json(s: &Scenario, n: u64, ms: u64) {
    let now = s.world.now.get();
    let mut logs = s.world.logs.borrow_mut();
    for _ in 0..n {
        logs.push((
            now,
            format!(r#"{{"level":"info","path":"/api","status":200,"duration_ms":{ms}}}"#),
        ));
    }
}

#[test]
fn slow_json_requests_in_the_logs_trip_the_latency_rule_and_roll_back() {
    let mut s = Scenario::new();
    s.set("LATENCY_MS", "500");
    s.arm();
    // Fast answers, and a few lines without a duration: counted for the ratio only.
    log_json(&s, 30, 40);
    s.world.log_requests(5, 0);
    let first = s.tick();
    assert_eq!(first.verdict, Verdict::Healthy, "{}", first.reason);
    let json = serde_json::to_value(&first).unwrap();
    assert_eq!(json["window_timed_requests"], 30);
    assert_eq!(json["window_slow_requests"], 0);
    assert_eq!(first.window_requests, 35);
    s.world.advance(INTERVAL);
    // Every answer is 200, but each takes 900 ms: the 5xx ratio stays 0, latency fires.
    log_json(&s, 30, 900);
    let second = s.tick();
    assert_eq!(second.verdict, Verdict::Degraded, "{}", second.reason);
    assert_eq!(second.action, ActionKind::Rollback, "{}", second.reason);
    assert!(second.reason.contains("latency"), "{}", second.reason);
    assert_eq!(second.window_errors_5xx, 0);
    let json = serde_json::to_value(&second).unwrap();
    assert_eq!(json["window_timed_requests"], 60);
    assert_eq!(json["window_slow_requests"], 30);
    assert_eq!(s.world.rollbacks(), 1);
}

/// With the recent span shorter than the time since arm, each count is asked again over the
/// span (`RECENT_S`, 120 s by default), and the recent counts are those answers.
#[test]
fn the_recent_span_is_asked_over_its_own_range() {
    let s = scenario();
    s.arm();
    *s.world.prometheus.borrow_mut() = prom(10.0, 0.0, 0.1);
    s.tick();
    s.world.advance(Duration::from_secs(150));
    s.world.fetched.borrow_mut().clear();
    let out = s.tick();
    let fetched = s.world.fetched.borrow();
    for range in ["%5B150s%5D", "%5B120s%5D"] {
        let asked = fetched.iter().filter(|u| u.contains(range)).count();
        // requests, 5xx and the latency quantile, over the window and over the span
        assert_eq!(asked, 3, "{range}: {fetched:?}");
    }
    assert_eq!((out.recent_requests, out.recent_errors_5xx), (10, 0));
}
