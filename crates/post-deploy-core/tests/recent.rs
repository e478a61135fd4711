//! The recent span through the window's transition: over random per-tick counts and tick
//! times, the recent counts and rules equal a brute-force recount of the last `RECENT_S`
//! seconds; with `RECENT_S` 0 or longer than the window every verdict is the window rule's.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    missing_docs,
    reason = "tests"
)]

use chrono::{DateTime, Utc};
use post_deploy_core::access_log::LogCounts;
use post_deploy_core::window::machine::{Command, Input, Need, Observed, Transition, transition};
use post_deploy_core::window::{Progress, WindowTarget};
use post_deploy_core::{
    Config, ContainerInfo, HealthSample, HealthSignal, LogCursor, LogSignal, LogTiming, RepoName,
    RuleName, Signals, TickOutcome, Verdict, WorkItem,
};
use proptest::prelude::*;

const WINDOW_S: i64 = 3600;
const MIN: u64 = 20;
/// 5XX_THRESHOLD in thousandths.
const MILLI: u64 = 50;

fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).unwrap()
}

fn config(recent_s: u64, confidence: &str) -> Config {
    Config::from_vars([
        ("ORCH_POST_DEPLOY_REPOS", "api".to_owned()),
        ("ORCH_POST_DEPLOY_WINDOW_S", WINDOW_S.to_string()),
        ("ORCH_POST_DEPLOY_INTERVAL_S", "10".to_owned()),
        ("ORCH_POST_DEPLOY_MIN_REQUESTS", MIN.to_string()),
        ("ORCH_POST_DEPLOY_5XX_THRESHOLD", "0.05".to_owned()),
        ("ORCH_POST_DEPLOY_RECENT_S", recent_s.to_string()),
        ("ORCH_POST_DEPLOY_CONFIDENCE", confidence.to_owned()),
    ])
    .unwrap()
}

fn info() -> ContainerInfo {
    ContainerInfo {
        id: "c0ffee".to_owned(),
        name: "api-1".to_owned(),
        image_id: "sha256:new".to_owned(),
        image_ref: "api:new".to_owned(),
        running: true,
    }
}

/// A window with nothing to roll back to: DEGRADED is ALERT_ONLY, and it keeps ticking.
fn target(config: &Config) -> WindowTarget {
    WindowTarget {
        version: 1,
        repo: RepoName::new("api").unwrap(),
        work_item: WorkItem::new("PR-7").unwrap(),
        health_url: "http://api.internal/health".to_owned(),
        container: Some("api-1".to_owned()),
        service: None,
        previous_image: None,
        previous_image_source: None,
        armed_image: Some(info()),
        armed_spec: None,
        artefacts_dir: None,
        settings: config.window.clone(),
        prometheus: None,
        armed_at: t0(),
        deadline: t0() + chrono::Duration::seconds(WINDOW_S),
    }
}

/// One tick at `now` that reads `requests` lines, `errors` of them 5xx.
fn tick(
    config: &Config,
    target: &WindowTarget,
    progress: &mut Progress,
    now: DateTime<Utc>,
    (requests, errors): (u64, u64),
) -> TickOutcome {
    let input = Input {
        target,
        progress,
        switches: &config.switches,
        scope: &config.scope,
        now,
        notes: &[],
    };
    let mut observed = Observed::default();
    loop {
        match transition(Command::Tick, &input, &observed) {
            Transition::Need(Need::Container) => observed.container = Some(Ok(info())),
            Transition::Need(Need::Signals) => {
                observed.signals = Some(Signals {
                    health: HealthSignal::Sample {
                        sample: HealthSample::pass(200, std::time::Duration::from_millis(3)),
                    },
                    logs: LogSignal::Counted {
                        counts: LogCounts {
                            total: requests,
                            errors_5xx: errors,
                            unparsed: 0,
                        },
                        cursor: LogCursor::at(now),
                        timing: LogTiming::default(),
                    },
                });
            }
            Transition::Done(end) => {
                if let Some(next) = end.progress {
                    *progress = next;
                }
                return end.outcome;
            }
            other => panic!("{other:?}"),
        }
    }
}

/// `errors / requests > 0.05` over at least MIN requests, in integers.
fn fires(requests: u64, errors: u64) -> bool {
    requests >= MIN && errors * 1000 > MILLI * requests
}

/// Ticks: seconds after the previous one (at least half the 10 s interval, so none is a
/// duplicate), requests, and the share of them that are 5xx (in percent).
fn ticks() -> impl Strategy<Value = Vec<(i64, u64, u64)>> {
    proptest::collection::vec((5i64..40, 0u64..40, 0u64..=20), 1..60).prop_map(|v| {
        v.into_iter()
            .map(|(gap, n, pct)| (gap, n, n * pct / 100))
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn the_recent_rule_is_a_recount_of_the_last_recent_s(
        recent_s in prop_oneof![Just(10u64), 10u64..200, Just(60)],
        ticks in ticks(),
    ) {
        let config = config(recent_s, "0");
        let target = target(&config);
        let mut progress = Progress::new(t0());
        let mut at = t0();
        let mut seen: Vec<(DateTime<Utc>, u64, u64)> = Vec::new();
        for (gap, n, e) in ticks {
            at += chrono::Duration::seconds(gap);
            if at >= target.deadline {
                break;
            }
            seen.push((at, n, e));
            let out = tick(&config, &target, &mut progress, at, (n, e));
            // Brute force: the ticks later than now - RECENT_S.
            let edge = at - chrono::Duration::seconds(recent_s as i64);
            let (rn, re) = seen
                .iter()
                .filter(|(t, ..)| *t > edge)
                .fold((0, 0), |(a, b), (_, n, e)| (a + n, b + e));
            let (wn, we) = seen.iter().fold((0, 0), |(a, b), (_, n, e)| (a + n, b + e));
            prop_assert_eq!((out.recent_requests, out.recent_errors_5xx), (rn, re));
            prop_assert_eq!((out.window_requests, out.window_errors_5xx), (wn, we));
            let want = if fires(wn, we) {
                Some(RuleName::ErrorRatio)
            } else if fires(rn, re) {
                Some(RuleName::RecentErrorRatio)
            } else {
                None
            };
            prop_assert_eq!(out.rule, want, "{}", out.reason);
            prop_assert_eq!(out.verdict == Verdict::Degraded, want.is_some());
            if want == Some(RuleName::RecentErrorRatio) {
                let words = format!("in the last {recent_s} s");
                prop_assert!(out.reason.starts_with("5xx_recent: recent 5xx ratio"), "{}", out.reason);
                prop_assert!(out.reason.contains(&words), "{}", out.reason);
            }
        }
    }

    #[test]
    fn off_or_longer_than_the_window_every_verdict_is_the_window_rules(
        recent_s in prop_oneof![Just(0u64), Just(WINDOW_S as u64), (WINDOW_S as u64)..100_000],
        ticks in ticks(),
    ) {
        let config = config(recent_s, "0");
        let target = target(&config);
        let mut progress = Progress::new(t0());
        let mut at = t0();
        let (mut wn, mut we) = (0, 0);
        for (gap, n, e) in ticks {
            at += chrono::Duration::seconds(gap);
            if at >= target.deadline {
                break;
            }
            wn += n;
            we += e;
            let out = tick(&config, &target, &mut progress, at, (n, e));
            prop_assert_eq!(out.verdict == Verdict::Degraded, fires(wn, we), "{}", out.reason);
            prop_assert!(out.rule != Some(RuleName::RecentErrorRatio));
            prop_assert_eq!((out.recent_requests, out.recent_errors_5xx), (wn, we));
        }
    }

    /// With CONFIDENCE, a tick is DEGRADED only where the same tick without it is.
    #[test]
    fn confidence_never_fires_where_the_raw_rule_would_not(
        recent_s in 10u64..200,
        confidence in 0.5f64..0.9999,
        ticks in ticks(),
    ) {
        let raw = config(recent_s, "0");
        let sure = config(recent_s, &confidence.to_string());
        let (raw_target, sure_target) = (target(&raw), target(&sure));
        let (mut raw_progress, mut sure_progress) = (Progress::new(t0()), Progress::new(t0()));
        let mut at = t0();
        for (gap, n, e) in ticks {
            at += chrono::Duration::seconds(gap);
            if at >= raw_target.deadline {
                break;
            }
            let a = tick(&raw, &raw_target, &mut raw_progress, at, (n, e));
            let b = tick(&sure, &sure_target, &mut sure_progress, at, (n, e));
            if b.verdict == Verdict::Degraded {
                prop_assert_eq!(a.verdict, Verdict::Degraded, "{} / {}", a.reason, b.reason);
                prop_assert!(b.reason.contains("p="), "{}", b.reason);
            }
        }
    }
}

/// The late-onset shape of the contract's motivating case, at the defaults' proportions: 20
/// healthy ticks, then 8.3% errors. The window ratio stays under 5% for a long while; the
/// recent span sees it at the first tick its requests are enough.
#[test]
fn a_late_onset_is_caught_by_the_recent_span_long_before_the_window() {
    let config = config(30, "0");
    let target = target(&config);
    let mut progress = Progress::new(t0());
    let mut first_recent = None;
    let mut first_window = None;
    for i in 1..=300i64 {
        let at = t0() + chrono::Duration::seconds(10 * i);
        let counts = if i <= 100 {
            (12, 0)
        } else {
            (12, u64::from(i % 2 == 0))
        };
        let out = tick(&config, &target, &mut progress, at, counts);
        if out.rule == Some(RuleName::RecentErrorRatio) && first_recent.is_none() {
            first_recent = Some(i);
        }
        if out.rule == Some(RuleName::ErrorRatio) && first_window.is_none() {
            first_window = Some(i);
        }
    }
    // 30 s = 3 ticks of 12 requests: 36 requests, 1 or 2 errors (2.8%, 5.6%): the first
    // with 2 is tick 104. The window ends at 100 errors of 3600 (2.8%).
    assert_eq!(first_recent, Some(104));
    assert_eq!(first_window, None);
}
