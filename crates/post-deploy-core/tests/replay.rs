//! `replay` runs the window a live tick runs: the real `Monitor` over a fake engine whose logs
//! and health are the recorded ones, ticked at the replay's tick times, gives the same
//! verdicts, counts and rules, tick by tick, as a replay of the same lines.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    missing_docs,
    reason = "tests"
)]

mod support;

use std::io::Cursor;

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use post_deploy_core::replay::{ReplayReport, ReplaySetup, replay};
use post_deploy_core::{TickOutcome, Verdict};
use proptest::prelude::*;
use support::{Scenario, t0};

/// One tick's recording: its requests (status and duration in ms, spread over its span in
/// order) and its health probe (`None`: no probe, the monitor could not make one).
#[derive(Debug, Clone)]
struct TickTrace {
    requests: Vec<(u16, u32)>,
    health: Option<bool>,
    noise: usize,
}

fn access_line(status: u16, ms: u32) -> String {
    format!(
        "10.0.0.1 - - [07/Dec/2026:09:00:00 +0000] \"GET /api HTTP/1.1\" {status} 12 \"-\" \
         \"curl/8\" {}.{:03}",
        ms / 1000,
        ms % 1000
    )
}

/// The recording as stamped lines, tick by tick: `(stamp, line)`, in order.
fn stamped(trace: &[TickTrace], interval: i64) -> Vec<Vec<(DateTime<Utc>, String)>> {
    trace
        .iter()
        .enumerate()
        .map(|(k, tick)| {
            let from = t0() + TimeDelta::seconds(interval * k as i64);
            let n = tick.requests.len() + tick.noise;
            let mut lines = Vec::new();
            for i in 0..n {
                // Spread over (from, from + interval], the last line exactly at the tick.
                let at =
                    from + TimeDelta::milliseconds(((i + 1) as i64 * interval * 1000) / n as i64);
                let line = match tick.requests.get(i) {
                    Some((status, ms)) => access_line(*status, *ms),
                    None => "worker 3 started".to_owned(),
                };
                lines.push((at, line));
            }
            lines
        })
        .collect()
}

fn stamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

/// The live window: arm at t0, then at each tick time log the tick's lines, script its
/// probe, and tick; until DEGRADED or the last tick.
fn live(s: &Scenario, trace: &[TickTrace], interval: i64) -> Vec<TickOutcome> {
    s.world.now.set(t0());
    assert!(s.arm().armed);
    let mut outs = Vec::new();
    for (k, lines) in stamped(trace, interval).into_iter().enumerate() {
        s.world
            .now
            .set(t0() + TimeDelta::seconds(interval * (k as i64 + 1)));
        s.world.logs.borrow_mut().extend(lines);
        let health = trace[k].health;
        s.world.http_broken.set(health.is_none());
        s.world
            .health_script
            .borrow_mut()
            .push_back(health.unwrap_or(true));
        let out = s.tick();
        s.world.health_script.borrow_mut().clear();
        let degraded = out.verdict == Verdict::Degraded;
        outs.push(out);
        if degraded || outs.last().unwrap().finished {
            break;
        }
    }
    outs
}

fn replayed(s: &Scenario, trace: &[TickTrace], interval: i64) -> ReplayReport {
    let mut log = String::new();
    let mut health = String::new();
    for (k, lines) in stamped(trace, interval).into_iter().enumerate() {
        for (at, line) in lines {
            log.push_str(&format!("{} {line}\n", stamp(at)));
        }
        if let Some(pass) = trace[k].health {
            let at = t0() + TimeDelta::seconds(interval * (k as i64 + 1) - 1);
            let status = if pass { 200 } else { 503 };
            health.push_str(&format!("{} {status}\n", stamp(at)));
        }
    }
    let setup = ReplaySetup {
        settings: s.config().window,
        // The first line is later than arm: arm where the live window armed.
        from: Some(t0()),
        name: "equivalence".to_owned(),
    };
    replay(
        &setup,
        Cursor::new(log.into_bytes()),
        Some(Box::new(Cursor::new(health.into_bytes()))),
    )
    .unwrap()
}

/// What must agree between a live tick and a replayed one.
fn essence(o: &TickOutcome) -> serde_json::Value {
    let mut v = serde_json::to_value(o).unwrap();
    let map = v.as_object_mut().unwrap();
    for key in [
        "repo",
        "work_item",
        "reason",
        "requeue_after_s",
        "deadline",
        "finished",
    ] {
        map.remove(key);
    }
    v
}

fn check(s: &Scenario, trace: &[TickTrace], interval: i64) {
    let live = live(s, trace, interval);
    let replay = replayed(s, trace, interval);
    let replayed: Vec<_> = replay.ticks.iter().map(|t| &t.outcome).collect();
    assert_eq!(live.len(), replayed.len(), "{live:#?}\n{replayed:#?}");
    for (k, (l, r)) in live.iter().zip(&replayed).enumerate() {
        assert_eq!(essence(l), essence(r), "tick {}: {l:#?}\n{r:#?}", k + 1);
    }
    for (k, t) in replay.ticks.iter().enumerate() {
        assert_eq!(t.at, t0() + TimeDelta::seconds(interval * (k as i64 + 1)));
    }
}

fn scenario(latency: bool) -> Scenario {
    let mut s = Scenario::new();
    s.set("WINDOW_S", "300").set("INTERVAL_S", "30");
    if latency {
        s.set("LATENCY_MS", "250");
    }
    s
}

fn steady(n: usize, errors: usize, health: Option<bool>) -> TickTrace {
    TickTrace {
        requests: (0..n)
            .map(|i| (if i < errors { 503 } else { 200 }, 40))
            .collect(),
        health,
        noise: 1,
    }
}

#[test]
fn a_late_degradation_and_failing_health_agree_tick_by_tick() {
    let mut trace: Vec<TickTrace> = (0..6).map(|_| steady(40, 1, Some(true))).collect();
    trace.extend((0..4).map(|_| steady(40, 6, Some(true))));
    check(&scenario(false), &trace, 30);
    let mut health: Vec<TickTrace> = (0..3).map(|_| steady(10, 0, Some(true))).collect();
    health.extend([
        steady(10, 0, Some(false)),
        steady(10, 0, None),
        steady(10, 0, Some(false)),
        steady(10, 0, Some(false)),
        steady(10, 0, Some(true)),
    ]);
    check(&scenario(false), &health, 30);
    // A healthy window to its deadline: the final result agrees too.
    let healthy: Vec<TickTrace> = (0..10).map(|_| steady(30, 1, Some(true))).collect();
    check(&scenario(false), &healthy, 30);
}

#[test]
fn logs_without_access_lines_go_blind_in_both() {
    let trace: Vec<TickTrace> = (0..10)
        .map(|_| TickTrace {
            requests: Vec::new(),
            health: Some(true),
            noise: 30,
        })
        .collect();
    check(&scenario(false), &trace, 30);
    let r = replayed(&scenario(false), &trace, 30);
    assert_eq!(r.ticks.last().unwrap().outcome.blind, Some(true));
}

fn a_tick(latency: bool) -> impl Strategy<Value = TickTrace> {
    let ms = if latency { 1u32..600 } else { 1u32..50 };
    (
        prop::collection::vec(
            (prop::sample::select(vec![200u16, 204, 404, 500, 503]), ms),
            0..40,
        ),
        prop::option::weighted(0.8, any::<bool>()),
        0usize..3,
    )
        .prop_map(|(requests, health, noise)| TickTrace {
            requests,
            health,
            noise,
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Whatever the traffic and the probes, the live window and the replay agree tick by
    /// tick, up to the first DEGRADED tick or the last.
    #[test]
    fn live_and_replay_agree(
        latency in any::<bool>(),
        trace in prop::collection::vec(a_tick(true), 10),
    ) {
        check(&scenario(latency), &trace, 30);
    }
}
