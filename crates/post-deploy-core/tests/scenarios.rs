//! Scenario tests of whole windows over fakes and simulated time.

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

use std::time::Duration;

use post_deploy_core::{ActionKind, Verdict};
use support::{NEW_IMAGE, OLD_IMAGE, Scenario};

fn kinds(outs: &[post_deploy_core::TickOutcome]) -> Vec<(Verdict, ActionKind)> {
    outs.iter().map(|o| (o.verdict, o.action)).collect()
}

#[test]
fn a_healthy_window_finishes_at_the_deadline_without_acting() {
    let s = Scenario::new();
    let armed = s.arm();
    assert!(armed.armed && armed.applies && !armed.already_armed);
    let outs = s.run(|w, _| w.log_requests(10, 0));
    let last = outs.last().unwrap();
    assert!(last.finished);
    assert_eq!(
        (last.verdict, last.action, last.recovered),
        (Verdict::Healthy, ActionKind::None, None)
    );
    // ticks at 0, 30, ..., 300 s
    assert_eq!(outs.len(), 11);
    assert!(outs.iter().all(|o| o.verdict == Verdict::Healthy));
    assert_eq!(s.world.rollbacks(), 0);
    assert!(s.world.alerts.borrow().is_empty());
    assert_eq!(last.window_requests, 110);
    assert!(last.requeue_after.is_none());
    // finished: the same result again, without probing
    let again = s.tick();
    assert!(again.finished && !again.probed);
    assert_eq!(again.verdict, Verdict::Healthy);
}

#[test]
fn degradation_starting_at_each_tick_rolls_back_once_when_it_can_reach_the_threshold() {
    for start in 0..11 {
        let s = Scenario::new();
        s.arm();
        let outs = s.run(|w, i| {
            if i == start {
                w.break_new_image();
            }
        });
        let last = outs.last().unwrap();
        // ticks start..=start+2 fail; the third failure must land by tick 10 (the deadline)
        if start + 2 <= 10 {
            assert_eq!(s.world.rollbacks(), 1, "start {start}");
            let rolled = outs
                .iter()
                .position(|o| o.action == ActionKind::Rollback)
                .unwrap();
            assert_eq!(
                rolled,
                start + 2,
                "start {start}: {:#?}",
                outs.iter()
                    .map(|o| (o.action, o.requeue_after, &o.reason))
                    .collect::<Vec<_>>()
            );
            assert_eq!(
                (last.verdict, last.action, last.recovered),
                (Verdict::Degraded, ActionKind::Rollback, Some(true))
            );
            assert_eq!(*s.world.image.borrow(), OLD_IMAGE);
            assert_eq!(
                s.world.alert_events(),
                ["degraded", "recovered"],
                "start {start}"
            );
            // recovery needs FAIL_THRESHOLD passing probes after the rollback
            assert_eq!(
                outs.len(),
                rolled + 1 + 3,
                "start {start}: {:#?}",
                outs.iter().map(|o| &o.reason).collect::<Vec<_>>()
            );
        } else {
            assert_eq!(s.world.rollbacks(), 0, "start {start}");
            assert_eq!(last.verdict, Verdict::Healthy, "start {start}");
        }
    }
}

#[test]
fn blips_below_the_threshold_never_degrade() {
    let s = Scenario::new();
    s.arm();
    // fail, fail, pass, repeated
    s.world
        .health_script
        .borrow_mut()
        .extend([false, false, true].repeat(5));
    let outs = s.run(|_, _| {});
    assert!(
        outs.iter().all(|o| o.verdict == Verdict::Healthy),
        "{:?}",
        kinds(&outs)
    );
    assert_eq!(s.world.rollbacks(), 0);
    assert!(outs.iter().any(|o| o.consecutive_failures == 2));
}

#[test]
fn a_rollback_that_does_not_heal_ends_not_recovered_after_verification_past_the_deadline() {
    let mut s = Scenario::new();
    s.set("WINDOW_S", "90");
    s.world.break_new_image();
    s.world.rollback_heals.set(false);
    s.arm();
    let outs = s.run(|_, _| {});
    let last = outs.last().unwrap();
    assert_eq!(
        (last.verdict, last.action, last.recovered),
        (Verdict::Degraded, ActionKind::Rollback, Some(false))
    );
    assert_eq!(s.world.rollbacks(), 1, "never a second rollback");
    // rolled back at the deadline tick (t=60 is the 3rd tick), then 3 verification ticks
    let rolled = outs
        .iter()
        .position(|o| o.action == ActionKind::Rollback)
        .unwrap();
    assert_eq!(outs.len() - rolled - 1, 3);
    assert_eq!(s.world.alert_events(), ["degraded", "not_recovered"]);
}

#[test]
fn a_failed_rollback_alerts_and_is_not_retried() {
    let s = Scenario::new();
    s.world.break_new_image();
    s.world.rollback_fails.set(true);
    s.arm();
    let outs = s.run(|_, _| {});
    let last = outs.last().unwrap();
    assert_eq!(s.world.rollbacks(), 1);
    assert_eq!(
        (last.verdict, last.action, last.recovered),
        (Verdict::Degraded, ActionKind::AlertOnly, Some(false))
    );
    assert!(last.reason.contains("rollback failed"), "{}", last.reason);
    assert_eq!(
        s.world.alert_events(),
        ["degraded", "rollback_failed", "not_recovered"]
    );
}

#[test]
fn the_ratio_is_judged_only_once_min_requests_is_reached() {
    let s = Scenario::new();
    s.arm();
    // 10 requests, 5 of them 5xx, per tick: 50 % but under 20 requests at the first tick
    let outs = s.run(|w, _| w.log_requests(10, 5));
    assert_eq!(outs[0].verdict, Verdict::Healthy);
    assert!(outs[0].reason.contains("not judged"), "{}", outs[0].reason);
    assert_eq!(outs[1].verdict, Verdict::Degraded);
    assert_eq!(outs[1].action, ActionKind::Rollback);
    assert!(outs[1].reason.contains("10/20"), "{}", outs[1].reason);
    assert_eq!(s.world.rollbacks(), 1);
}

/// De-duplication at a tick boundary is the adapter's (`LogTally` in the docker adapter, tested
/// there over overlapping reads); the core's part is to start each read from the cursor the
/// previous one answered, kept in `window.json` between ticks, and to add up what each read
/// passed on. Checked against the core keeping the cursor of arm (`p.log_cursor` not updated):
/// the second read starts at arm again.
#[test]
fn each_log_read_starts_where_the_previous_one_stopped() {
    for s in [Scenario::new(), Scenario::on_files()] {
        s.arm();
        let mut logged = 0;
        let outs = s.run(|w, i| {
            // some lines share the cursor's exact timestamp (ties)
            w.log_requests(i as u64 % 4, 0);
            logged += i as u64 % 4;
        });
        let reads = s.world.log_reads.borrow();
        assert_eq!(reads.len(), outs.len());
        assert_eq!(reads[0].0, post_deploy_core::LogCursor::at(support::t0()));
        for (i, pair) in reads.windows(2).enumerate() {
            assert_eq!(
                pair[1].0,
                pair[0].1,
                "read {} did not start where read {i} stopped",
                i + 1
            );
        }
        // ties at the cursor's instant were carried over at least once
        assert!(reads.iter().any(|(given, _, _)| given.seen_at_since > 0));
        let passed: u64 = reads.iter().map(|(_, _, n)| n).sum();
        assert_eq!(passed, logged);
        assert_eq!(outs.last().unwrap().window_requests, logged);
        let mut so_far = 0;
        for (out, (_, _, n)) in outs.iter().zip(reads.iter()) {
            so_far += n;
            assert_eq!(out.window_requests, so_far);
        }
    }
}

#[test]
fn a_duplicate_tick_does_not_probe_and_says_when_the_next_is_due() {
    let s = Scenario::new();
    s.arm();
    let first = s.tick();
    assert!(first.probed);
    s.world.advance(Duration::from_secs(10));
    let dup = s.tick();
    assert!(!dup.probed && !dup.finished);
    assert_eq!(dup.requeue_after, Some(Duration::from_secs(20)));
    assert_eq!(dup.ticks, 1);
    assert!(dup.reason.contains("duplicate"), "{}", dup.reason);
}

/// Arms, probes once, moves the clock by `step` (back when negative) and ticks again.
fn second_tick_after(step: chrono::Duration) -> post_deploy_core::TickOutcome {
    let s = Scenario::new();
    s.arm();
    assert!(s.tick().probed);
    s.world.now.set(s.world.now.get() + step);
    s.tick()
}

/// The contract's rule is half an interval (15 s of 30 s), pinned on both sides: `elapsed <
/// interval`, `>` for `>=` or a quarter interval each fail here.
#[test]
fn a_tick_is_a_duplicate_up_to_exactly_half_an_interval() {
    let just_before = second_tick_after(chrono::Duration::nanoseconds(15_000_000_000 - 1));
    assert!(!just_before.probed, "{}", just_before.reason);
    assert!(
        just_before.reason.contains("duplicate"),
        "{}",
        just_before.reason
    );
    // The next probe is due a whole interval after the previous one.
    assert_eq!(
        just_before.requeue_after,
        Some(Duration::from_nanos(15_000_000_001))
    );
    let at_half = second_tick_after(chrono::Duration::seconds(15));
    assert!(at_half.probed, "{}", at_half.reason);
    assert_eq!(at_half.ticks, 2);
    // At the very same instant: a duplicate, the whole interval still to wait.
    let same = second_tick_after(chrono::Duration::zero());
    assert!(!same.probed, "{}", same.reason);
    assert_eq!(same.requeue_after, Some(Duration::from_secs(30)));
}

/// A probe recorded later than now (the clock stepped back, by as little as a nanosecond or by
/// an hour) is not recent: the tick probes. Checked against `last <= now` becoming `last < now`
/// (the same-instant case above) and against dropping the check (these).
#[test]
fn with_the_clock_one_step_back_the_previous_probe_is_not_recent() {
    for back in [
        chrono::Duration::nanoseconds(1),
        chrono::Duration::seconds(1),
        chrono::Duration::hours(1),
    ] {
        let out = second_tick_after(-back);
        assert!(out.probed, "{back}: {}", out.reason);
        assert_eq!(out.ticks, 2, "{back}");
    }
    // Back, then forward again to just under half an interval after the new probe: a
    // duplicate by the clock as it is now; at half an interval, a probe.
    let s = Scenario::new();
    s.arm();
    assert!(s.tick().probed);
    step_back(&s, Duration::from_secs(3600));
    assert!(s.tick().probed);
    s.world.advance(Duration::from_nanos(15_000_000_000 - 1));
    assert!(!s.tick().probed);
    s.world.advance(Duration::from_nanos(1));
    assert!(s.tick().probed);
}

#[test]
fn shadow_mode_and_the_self_hosting_guard_only_alert() {
    for case in [
        "alert-only",
        "self-repo",
        "self-container",
        "no-previous",
        "previous-missing",
        "already-on-previous",
    ] {
        let mut s = Scenario::new();
        match case {
            "alert-only" => {
                s.set("ROLLBACK", "alert-only");
            }
            "self-repo" => {
                s.set("REPOS", "api,orchestrator");
                s.repo = post_deploy_core::RepoName::new("orchestrator").unwrap();
            }
            "self-container" => {
                s.set("SELF_CONTAINER", "api-1");
            }
            "no-previous" => s.previous_image = None,
            "previous-missing" => s.world.previous_present.set(false),
            "already-on-previous" => {
                *s.world.image.borrow_mut() = OLD_IMAGE.to_owned();
                s.world.healthy_images.borrow_mut().clear();
            }
            other => panic!("unknown case {other}"),
        }
        s.world.break_new_image();
        s.arm();
        let outs = s.run(|_, _| {});
        let last = outs.last().unwrap();
        assert_eq!(s.world.rollbacks(), 0, "{case}");
        assert_eq!(
            (last.verdict, last.action),
            (Verdict::Degraded, ActionKind::AlertOnly),
            "{case}"
        );
        assert!(
            outs.iter().all(|o| o.action != ActionKind::Rollback),
            "{case}"
        );
        assert_eq!(
            s.world.alert_events().first().map(String::as_str),
            Some("degraded"),
            "{case}"
        );
        let degraded_alerts = s
            .world
            .alert_events()
            .iter()
            .filter(|e| *e == "degraded")
            .count();
        assert_eq!(degraded_alerts, 1, "{case}: once per window per event");
    }
}

#[test]
fn the_monitors_own_faults_are_missing_data_never_degraded() {
    let s = Scenario::new();
    s.world.break_new_image();
    s.world.http_broken.set(true);
    s.world.docker_broken.set(true);
    s.arm();
    let outs = s.run(|w, _| w.log_requests(50, 50));
    assert!(outs.iter().all(|o| o.verdict == Verdict::Healthy));
    assert_eq!(s.world.rollbacks(), 0);
    assert!(
        outs[0].reason.contains("monitor fault"),
        "{}",
        outs[0].reason
    );
}

#[test]
fn what_a_log_read_says_is_in_that_ticks_reason_and_not_kept() {
    let s = Scenario::new();
    s.arm();
    *s.world.log_note.borrow_mut() = Some("lines may be missing: the log rotated".into());
    let out = s.tick();
    assert!(
        out.reason.contains("lines may be missing"),
        "{}",
        out.reason
    );
    *s.world.log_note.borrow_mut() = None;
    s.world.advance(Duration::from_secs(60));
    let later = s.tick();
    assert!(
        !later.reason.contains("lines may be missing"),
        "{}",
        later.reason
    );
}

#[test]
fn disarm_finishes_the_window() {
    let s = Scenario::new();
    s.arm();
    s.tick();
    let out = s.monitor().disarm(&s.repo, &s.work_item).unwrap();
    assert!(out.finished);
    assert!(out.reason.contains("disarmed"));
    s.world.advance(Duration::from_secs(60));
    s.world.break_new_image();
    let later = s.tick();
    assert!(later.finished && !later.probed);
    assert!(later.reason.contains("disarmed"));
}

#[test]
fn the_kill_switch_flipped_mid_window_finishes_without_acting() {
    let mut s = Scenario::new();
    s.arm();
    s.tick();
    s.world.break_new_image();
    s.set("ENABLED", "off");
    s.world.advance(Duration::from_secs(30));
    let out = s.tick();
    assert!(out.finished && !out.probed);
    assert!(out.reason.contains("disabled"), "{}", out.reason);
    assert_eq!(s.world.rollbacks(), 0);
    // and arm refuses while disabled
    let mut other = Scenario::new();
    other.set("ENABLED", "no");
    let armed = other.arm();
    assert!(!armed.armed && !armed.applies);
    assert!(
        !other.dir.path().join(".post-deploy-state-api").exists(),
        "nothing written"
    );
}

#[test]
fn arm_is_idempotent_and_respects_the_repo_list() {
    let s = Scenario::new();
    let first = s.arm();
    s.world.advance(Duration::from_secs(100));
    let second = s.arm();
    assert!(second.armed && second.already_armed);
    assert_eq!(first.deadline, second.deadline);

    let mut other = Scenario::new();
    other.set("REPOS", "");
    let out = other.arm();
    assert!(!out.applies && !out.armed);
    assert!(
        out.reason.contains("only the self-hosting repo"),
        "{}",
        out.reason
    );
}

/// After the supersede the target fails every probe, with `FAIL_THRESHOLD` 1, a previous
/// image on the engine and auto mode: only the fencing stands between it and a rollback.
/// Checked against `fenced` answering `None`: the first tick after the supersede rolls back.
#[test]
fn a_superseded_window_stops_acting() {
    let mut s = Scenario::new();
    s.set("FAIL_THRESHOLD", "1");
    s.arm();
    assert!(s.tick().probed);
    *s.world.image.borrow_mut() = "sha256:newer".to_owned();
    s.world.healthy_images.borrow_mut().clear();
    let mut outs = Vec::new();
    for _ in 0..5 {
        s.world.advance(Duration::from_secs(30));
        outs.push(s.tick());
    }
    let first = &outs[0];
    assert!(first.finished, "{}", first.reason);
    assert!(first.reason.contains("superseded"), "{}", first.reason);
    assert!(outs.iter().all(|o| o.finished && !o.probed), "{outs:#?}");
    assert!(
        outs.iter().all(|o| o.action == ActionKind::None),
        "{outs:#?}"
    );
    assert_eq!(s.world.rollbacks(), 0);
    assert!(s.world.alerts.borrow().is_empty());
    assert_eq!(*s.world.image.borrow(), "sha256:newer");
}

#[test]
fn a_rollback_command_runs_once_with_the_target_in_its_environment() {
    let mut s = Scenario::new();
    s.set("ROLLBACK_CMD", "kubectl rollout undo deployment/api");
    s.previous_image = None;
    s.world.break_new_image();
    s.arm();
    let outs = s.run(|_, _| {});
    assert_eq!(
        *s.world.mutations.borrow(),
        ["command kubectl rollout undo deployment/api for api"]
    );
    let last = outs.last().unwrap();
    assert_eq!(
        (last.action, last.recovered),
        (ActionKind::Rollback, Some(true))
    );
}

#[test]
fn damaged_progress_is_kept_named_and_never_rolls_back() {
    let s = Scenario::new();
    s.arm();
    s.tick();
    s.set_file("window.json", Some(b"{ not json"));
    s.world.break_new_image();
    s.world.advance(Duration::from_secs(30));
    let out = s.tick();
    assert!(out.reason.contains("damaged"), "{}", out.reason);
    let kept: Vec<String> = s
        .file_names()
        .into_iter()
        .filter(|n| n.starts_with("window.json.damaged-"))
        .collect();
    assert_eq!(kept.len(), 1);
    assert!(out.reason.contains(&kept[0]), "{}", out.reason);
    assert_eq!(s.file(&kept[0]).unwrap(), b"{ not json");
    // It cannot know what it already did: it ends at once, without acting or alerting.
    assert!(out.finished && !out.probed, "{}", out.reason);
    assert_eq!(out.action, ActionKind::None);
    s.world.advance(Duration::from_secs(30));
    let again = s.tick();
    assert!(again.finished && !again.probed);
    assert_eq!(s.world.rollbacks(), 0);
    assert!(s.world.alerts.borrow().is_empty());
}

#[test]
fn a_finished_window_whose_progress_is_damaged_stays_finished_and_alerts_no_more() {
    // Degraded and alerted, then disarmed; window.json is damaged afterwards.
    let mut s = Scenario::new();
    s.set("FAIL_THRESHOLD", "1");
    s.set("ROLLBACK", "alert-only");
    s.world.break_new_image();
    s.arm();
    assert_eq!(s.tick().action, ActionKind::AlertOnly);
    assert_eq!(s.world.alert_events(), ["degraded"]);
    assert!(s.monitor().disarm(&s.repo, &s.work_item).unwrap().finished);
    s.set_file("window.json", Some(b"{garbage"));
    for _ in 0..3 {
        s.world.advance(Duration::from_secs(30));
        let out = s.tick();
        assert!(out.finished && !out.probed, "{}", out.reason);
    }
    assert_eq!(s.world.alert_events(), ["degraded"], "an alert sent twice");
    let status = s.monitor().status(None, None).unwrap();
    assert_eq!(status[0].phase, "finished");
}

#[test]
fn a_damaged_target_finishes_the_window_and_is_kept() {
    let s = Scenario::new();
    s.arm();
    s.set_file("target.json", Some(b"\x00\xff garbage"));
    s.world.break_new_image();
    let out = s.tick();
    assert!(out.finished);
    assert!(
        out.reason.contains("target.json") && out.reason.contains("damaged"),
        "{}",
        out.reason
    );
    assert_eq!(s.world.rollbacks(), 0);
    // later ticks replay it; arm keeps it
    assert!(s.tick().finished);
    assert!(s.arm().already_armed);
}

#[test]
fn alert_delivery_failures_never_fail_a_tick() {
    let s = Scenario::new();
    s.world.break_new_image();
    s.world.alerts_broken.set(true);
    s.arm();
    let outs = s.run(|_, _| {});
    assert_eq!(outs.last().unwrap().recovered, Some(true));
    assert_eq!(s.world.alert_events(), ["degraded", "recovered"]);
}

#[test]
fn the_state_does_not_grow_with_the_number_of_ticks() {
    let mut s = Scenario::new();
    s.set("WINDOW_S", "100000");
    s.arm();
    let size = || s.file("window.json").unwrap().len();
    // The picture's history fills up to its bound, then merges its points pairwise: the
    // largest state of many ticks is no larger than the largest of the first few hundred
    // (but for counts that take a digit more).
    let largest = |ticks: usize| {
        let mut largest = 0;
        for _ in 0..ticks {
            s.world.log_requests(3, 0);
            s.tick();
            s.world.advance(Duration::from_secs(30));
            largest = largest.max(size());
        }
        largest
    };
    let early = largest(500);
    let late = largest(1500);
    assert!(early < 128 * 1024, "window.json reached {early} bytes");
    assert!(
        late <= early + 2048,
        "window.json grew from {early} to {late} bytes"
    );
}

#[test]
fn the_log_artefact_of_a_window_that_rolls_back_and_recovers() {
    let mut s = Scenario::new();
    let artefacts = s.dir.path().join("artefacts");
    s.artefacts_dir = Some(artefacts.clone());
    s.arm();
    s.run(|w, i| {
        w.log_requests(8, if i == 2 { 4 } else { 0 });
        if i == 1 {
            w.break_new_image();
        }
    });
    let log = s.log();
    let own = s.memory.as_ref().unwrap().log(&s.key(), None);
    assert!(own.is_empty(), "a log beside the state as well: {own}");
    insta::assert_snapshot!(log);
    let _ = NEW_IMAGE;
}

/// Steps the simulated wall clock back by `d` (NTP, a resumed VM).
fn step_back(s: &Scenario, d: Duration) {
    s.world
        .now
        .set(s.world.now.get() - chrono::Duration::from_std(d).unwrap());
}

#[test]
fn a_clock_stepped_back_keeps_the_window_probing_and_detects_a_failure() {
    let s = Scenario::new();
    s.arm();
    assert!(s.tick().probed);
    // The clock steps an hour back; the target breaks right then.
    step_back(&s, Duration::from_secs(3600));
    s.world.break_new_image();
    let mut outs = Vec::new();
    for _ in 0..3 {
        s.world.advance(Duration::from_secs(30));
        outs.push(s.tick());
    }
    assert!(
        outs.iter().all(|o| o.probed),
        "every tick at the interval probes: {:?}",
        outs.iter().map(|o| &o.reason).collect::<Vec<_>>()
    );
    let last = outs.last().unwrap();
    assert_eq!(
        (last.verdict, last.action),
        (Verdict::Degraded, ActionKind::Rollback),
        "{}",
        last.reason
    );
    assert_eq!(s.world.rollbacks(), 1);
    // Duplicate jobs are still recognised by the clock as it is now.
    let dup = s.tick();
    assert!(!dup.probed, "{}", dup.reason);
}

#[test]
fn a_clock_that_ran_ahead_and_came_back_keeps_probing_and_finishes() {
    // One tick with the clock an hour ahead (inside a two-hour window), then the clock
    // comes back: the next ticks probe, and the window finishes once its deadline passes.
    let mut s = Scenario::new();
    s.set("WINDOW_S", "7200");
    s.arm();
    s.tick();
    s.world.advance(Duration::from_secs(3600));
    assert!(s.tick().probed);
    step_back(&s, Duration::from_secs(3600 - 30));
    s.world.break_new_image();
    let outs = s.run(|_, _| {});
    assert!(
        outs.iter().take(3).all(|o| o.probed),
        "{:?}",
        outs.iter().map(|o| &o.reason).collect::<Vec<_>>()
    );
    let last = outs.last().unwrap();
    assert!(last.finished);
    assert_eq!(
        (last.verdict, last.action),
        (Verdict::Degraded, ActionKind::Rollback)
    );
    assert_eq!(s.world.rollbacks(), 1);
}

#[test]
fn verification_with_a_clock_a_day_ahead_then_back_finishes() {
    // A rollback that does not heal: verification runs past the deadline. One verification
    // tick runs with the clock a day ahead; when the clock is back the window still probes
    // and finishes after its verification ticks.
    let s = Scenario::new();
    s.world.rollback_heals.set(false);
    s.world.break_new_image();
    s.arm();
    for _ in 0..3 {
        s.tick();
        s.world.advance(Duration::from_secs(30));
    }
    assert_eq!(s.world.rollbacks(), 1);
    s.world.advance(Duration::from_secs(86_400));
    assert!(s.tick().probed);
    step_back(&s, Duration::from_secs(86_400 - 30));
    let mut finished = None;
    for i in 0..20 {
        let out = s.tick();
        assert!(out.probed || out.finished, "tick {i}: {}", out.reason);
        if out.finished {
            finished = Some(i);
            break;
        }
        s.world.advance(out.requeue_after.unwrap());
    }
    assert!(finished.is_some(), "the window never finished");
    assert_eq!(s.world.rollbacks(), 1);
}

#[test]
fn a_missing_progress_file_is_never_a_fresh_window() {
    // window.json gone (a person, a crash of an older version): the window cannot know what
    // it did, so it never acts again, even though it rolled back before.
    let mut s = Scenario::new();
    s.set("FAIL_THRESHOLD", "1");
    s.world.rollback_heals.set(false);
    s.world.break_new_image();
    s.arm();
    assert_eq!(s.tick().action, ActionKind::Rollback);
    s.set_file("window.json", None);
    s.world.advance(Duration::from_secs(30));
    let out = s.tick();
    assert!(
        out.reason.contains("window.json is missing"),
        "{}",
        out.reason
    );
    let outs = s.run(|_, _| {});
    assert_eq!(s.world.rollbacks(), 1);
    assert!(outs.last().unwrap().finished);
}

#[test]
fn disarm_and_arm_agree_on_a_window_with_a_damaged_target() {
    let s = Scenario::new();
    s.arm();
    s.set_file("target.json", Some(b"{ not json"));
    // arm says the pair has a window; disarm must not say it has none.
    assert!(s.arm().already_armed);
    let out = s.monitor().disarm(&s.repo, &s.work_item).unwrap();
    assert!(out.finished);
    assert!(
        out.reason.contains("target.json") && out.reason.contains("damaged"),
        "{}",
        out.reason
    );
    assert!(!out.reason.contains("not armed"), "{}", out.reason);
    // And both still agree afterwards, as ticks do.
    assert!(s.arm().already_armed);
    let again = s.monitor().disarm(&s.repo, &s.work_item).unwrap();
    assert!(again.reason.contains("damaged"), "{}", again.reason);
    assert!(s.tick().reason.contains("damaged"));
}

/// One monitor, built once, as a host that links the crate keeps it: the switches come from
/// the host's variables at every tick.
#[test]
fn a_linking_host_flipping_rollback_mid_window_sees_it_at_the_next_tick() {
    let s = Scenario::new();
    let vars = std::cell::RefCell::new(s.vars.clone());
    let source = || vars.borrow().clone();
    let set = |name: &str, value: &str| {
        let name = format!("ORCH_POST_DEPLOY_{name}");
        let mut vars = vars.borrow_mut();
        vars.retain(|(k, _)| *k != name);
        vars.push((name, value.to_owned()));
    };
    let monitor = s.monitor().with_switches_from(&source);
    let tick = || {
        let out = monitor.tick(&s.repo, &s.work_item).unwrap();
        s.world.advance(out.requeue_after.unwrap_or_default());
        out
    };
    s.arm();
    assert_eq!(tick().action, ActionKind::None);
    set("ROLLBACK", "alert-only");
    s.world.break_new_image();
    let outs: Vec<_> = (0..3).map(|_| tick()).collect();
    assert_eq!(outs[2].action, ActionKind::AlertOnly, "{}", outs[2].reason);
    assert!(outs[2].reason.contains("alert-only"), "{}", outs[2].reason);
    assert_eq!(s.world.rollbacks(), 0);
    // Back to auto: the next degraded tick rolls back, once.
    set("ROLLBACK", "auto");
    let out = tick();
    assert_eq!(out.action, ActionKind::Rollback, "{}", out.reason);
    assert_eq!(s.world.rollbacks(), 1);
}

#[test]
fn a_linking_host_flipping_the_kill_switch_mid_window_sees_it_at_the_next_tick() {
    let s = Scenario::new();
    let vars = std::cell::RefCell::new(s.vars.clone());
    let source = || vars.borrow().clone();
    let monitor = s.monitor().with_switches_from(&source);
    s.arm();
    let first = monitor.tick(&s.repo, &s.work_item).unwrap();
    assert!(first.probed && !first.finished);
    vars.borrow_mut()
        .push(("ORCH_POST_DEPLOY_ENABLED".to_owned(), "off".to_owned()));
    s.world.break_new_image();
    s.world.advance(Duration::from_secs(30));
    let out = monitor.tick(&s.repo, &s.work_item).unwrap();
    assert!(out.finished, "{}", out.reason);
    assert!(out.reason.contains("disabled"), "{}", out.reason);
    assert_eq!(s.world.rollbacks(), 0);
    // A bad value in the host's variables is a configuration error of that call.
    vars.borrow_mut().push((
        "ORCH_POST_DEPLOY_ROLLBACK".to_owned(),
        "sometimes".to_owned(),
    ));
    let err = monitor.tick(&s.repo, &s.work_item).unwrap_err();
    assert!(
        err.to_string().contains("ORCH_POST_DEPLOY_ROLLBACK"),
        "{err}"
    );
}

/// Runs a window whose container's logs cannot be read on the ticks `missing` says.
fn run_with_missing_logs(
    missing: impl Fn(usize) -> bool,
) -> (Scenario, Vec<post_deploy_core::TickOutcome>) {
    let s = Scenario::new();
    s.arm();
    let outs = s.run(|w, i| w.docker_broken.set(missing(i)));
    (s, outs)
}

#[test]
fn a_window_missing_its_5xx_signal_in_more_than_half_its_ticks_ends_blind() {
    // 11 ticks; the logs are missing in 6 of them.
    let (s, outs) = run_with_missing_logs(|i| i % 2 == 0);
    let last = outs.last().unwrap();
    assert_eq!(outs.len(), 11);
    assert!(last.finished);
    assert_eq!(
        (last.verdict, last.action),
        (Verdict::Healthy, ActionKind::None)
    );
    assert_eq!(last.blind, Some(true), "{}", last.reason);
    assert!(
        last.reason.contains("BLIND") && last.reason.contains("6 of 11"),
        "{}",
        last.reason
    );
    assert_eq!(s.world.alert_events(), ["blind"]);
    // The final result again: still blind, no second alert.
    assert_eq!(s.tick().blind, Some(true));
    assert_eq!(s.world.alert_events(), ["blind"]);
    assert!(s.log().contains("- Blind: yes"), "{}", s.log());
}

#[test]
fn a_window_missing_its_5xx_signal_in_half_its_ticks_or_fewer_is_not_blind() {
    // 11 ticks; missing in 5 (the ticks 1, 3, 5, 7, 9).
    let (s, outs) = run_with_missing_logs(|i| i % 2 == 1);
    let last = outs.last().unwrap();
    assert_eq!(last.blind, Some(false), "{}", last.reason);
    assert!(s.world.alert_events().is_empty());
}

#[test]
fn a_window_without_a_container_or_that_degraded_is_never_blind() {
    // No container named: there is no 5xx signal it was armed to read.
    let mut s = Scenario::new();
    s.container = None;
    s.arm();
    let outs = s.run(|_, _| {});
    assert_eq!(outs.last().unwrap().blind, Some(false));
    // A degradation is not blindness, however much was missing.
    let mut s = Scenario::new();
    s.set("ROLLBACK", "alert-only");
    s.arm();
    let outs = s.run(|w, i| {
        w.docker_broken.set(true);
        if i == 3 {
            w.break_new_image();
        }
    });
    let last = outs.last().unwrap();
    assert_eq!(last.verdict, Verdict::Degraded);
    assert_eq!(last.blind, Some(false));
    assert!(!s.world.alert_events().contains(&"blind".to_owned()));
}
