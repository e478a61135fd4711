//! Known-good images and the operator's commands (`extend`, `rollback`, `promote`) over the
//! in-memory store, in simulated time.

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

use post_deploy_core::window::PreviousImageSource;
use post_deploy_core::{ActionKind, Verdict, WorkItem};
use support::{NEW_IMAGE, OLD_IMAGE, Scenario};

/// A window of `item` on the same repo and store as `s`.
fn another(s: &Scenario, item: &str) -> Scenario {
    let mut other = Scenario::new();
    other.memory.clone_from(&s.memory);
    other.vars.clone_from(&s.vars);
    other.work_item = WorkItem::new(item).unwrap();
    other.world.now.set(s.world.now.get());
    other
}

#[test]
fn a_healthy_window_proves_its_image_and_a_later_arm_rolls_back_to_it() {
    let mut s = Scenario::new();
    s.previous_image = None;
    let first = s.arm();
    // Nothing proved yet: no previous image.
    assert_eq!(first.previous_image, None);
    assert_eq!(first.previous_image_source, None);
    let outs = s.run(|_, _| {});
    assert_eq!(outs.last().unwrap().verdict, Verdict::Healthy);
    let proved = s.monitor().known_good(&s.repo, Some("api-1")).unwrap();
    assert_eq!(proved.len(), 1);
    assert_eq!(
        (proved[0].image.as_str(), proved[0].image_id.as_str()),
        ("api:1.1", NEW_IMAGE)
    );
    assert_eq!(proved[0].work_item, s.work_item);

    // A deploy of another image (1.0, never proved): arm without --previous-image takes the
    // image production proved.
    let mut next = another(&s, "PR-43");
    next.previous_image = None;
    *next.world.image.borrow_mut() = OLD_IMAGE.to_owned();
    next.world
        .healthy_images
        .borrow_mut()
        .retain(|i| i != OLD_IMAGE);
    let armed = next.arm();
    assert_eq!(armed.previous_image.as_deref(), Some("api:1.1"));
    assert_eq!(
        armed.previous_image_source,
        Some(PreviousImageSource::KnownGood)
    );
    // Arming again answers the same.
    assert_eq!(next.arm().previous_image.as_deref(), Some("api:1.1"));
    let outs = next.run(|_, _| {});
    let last = outs.last().unwrap();
    assert_eq!(
        (last.verdict, last.action),
        (Verdict::Degraded, ActionKind::Rollback)
    );
    assert_eq!(
        *next.world.mutations.borrow(),
        ["rollback api-1 api:1.1"],
        "rolled back to the proved image"
    );
    // A window that degraded proves nothing.
    assert_eq!(s.monitor().known_good(&s.repo, None).unwrap().len(), 1);
}

#[test]
fn the_image_a_target_runs_now_is_never_offered() {
    let mut s = Scenario::new();
    s.previous_image = None;
    s.arm();
    s.run(|_, _| {});
    // The same image deployed again: the only proved image is what runs now.
    let mut again = another(&s, "PR-43");
    again.previous_image = None;
    assert_eq!(again.arm().previous_image, None);
}

#[test]
fn a_flag_wins_over_known_good() {
    let mut s = Scenario::new();
    s.previous_image = None;
    s.arm();
    s.run(|_, _| {});
    let next = another(&s, "PR-43");
    let armed = next.arm();
    assert_eq!(armed.previous_image.as_deref(), Some("api:1.0"));
    assert_eq!(armed.previous_image_source, Some(PreviousImageSource::Flag));
}

#[test]
fn extend_keeps_a_window_watching_past_its_old_deadline() {
    let s = Scenario::new();
    let armed = s.arm();
    let out = s
        .monitor()
        .extend(&s.repo, &s.work_item, Duration::from_secs(600))
        .unwrap();
    assert!(out.done, "{}", out.reason);
    let old = armed.deadline.unwrap();
    assert_eq!(out.deadline, Some(old + chrono::Duration::seconds(600)));
    assert_eq!(
        s.monitor().status(None, None).unwrap()[0].deadline,
        out.deadline
    );
    assert!(
        s.log().contains("an operator extended the window by 600 s"),
        "{}",
        s.log()
    );
    // Past the old deadline it still watches; it ends at the new one.
    let outs = s.run(|_, _| {});
    assert!(outs.len() > 11 + 15, "{} ticks", outs.len());
    assert!(s.world.now.get() >= old + chrono::Duration::seconds(600));
    // Beyond 30 days from arm: refused, nothing changes.
    let t = another(&s, "PR-44");
    t.arm();
    let no = t
        .monitor()
        .extend(&t.repo, &t.work_item, Duration::from_secs(31 * 86_400))
        .unwrap();
    assert!(!no.done && no.reason.contains("30 days"), "{}", no.reason);
    // A finished window: refused.
    let no = s
        .monitor()
        .extend(&s.repo, &s.work_item, Duration::from_secs(60))
        .unwrap();
    assert!(!no.done && no.reason.contains("finished"), "{}", no.reason);
}

#[test]
fn an_operator_rollback_runs_once_keeps_the_verdict_and_verifies_recovery() {
    let s = Scenario::new();
    s.arm();
    assert!(s.tick().probed);
    let first = s.monitor().rollback(&s.repo, &s.work_item).unwrap();
    assert!(first.done, "{}", first.reason);
    assert!(first.reason.contains("operator"), "{}", first.reason);
    assert_eq!(s.world.rollbacks(), 1);
    // Asked again: the same guard as an automatic second rollback.
    let again = s.monitor().rollback(&s.repo, &s.work_item).unwrap();
    assert!(
        !again.done && again.reason.contains("already rolled back"),
        "{}",
        again.reason
    );
    assert_eq!(s.world.rollbacks(), 1);
    assert!(
        s.log().contains("an operator asked for a rollback"),
        "{}",
        s.log()
    );
    s.world.advance(Duration::from_secs(30));
    let outs = s.run(|_, _| {});
    let last = outs.last().unwrap();
    assert_eq!(
        last.verdict,
        Verdict::Healthy,
        "the signals never said DEGRADED"
    );
    assert_eq!(last.action, ActionKind::Rollback);
    assert_eq!(last.recovered, Some(true), "{}", last.reason);
    // A window that rolled back is never known good.
    assert!(s.monitor().known_good(&s.repo, None).unwrap().is_empty());
}

#[test]
fn an_operator_rollback_goes_through_the_guards() {
    for (var, value, why) in [
        ("ROLLBACK", "alert-only", "alert-only"),
        ("SELF_REPO", "api", "orchestrator's own"),
    ] {
        let mut s = Scenario::new();
        s.set(var, value);
        s.arm();
        let out = s.monitor().rollback(&s.repo, &s.work_item).unwrap();
        assert!(!out.done, "{var}: {}", out.reason);
        assert!(out.reason.contains(why), "{var}: {}", out.reason);
        assert_eq!(s.world.rollbacks(), 0, "{var}");
    }
    // No previous image on the engine: refused too.
    let s = Scenario::new();
    s.world.previous_present.set(false);
    s.arm();
    let out = s.monitor().rollback(&s.repo, &s.work_item).unwrap();
    assert!(
        !out.done && out.reason.contains("not on the engine"),
        "{}",
        out.reason
    );
    // Not armed: refused.
    let t = another(&s, "PR-99");
    let out = t.monitor().rollback(&t.repo, &t.work_item).unwrap();
    assert!(
        !out.done && out.reason.contains("not armed"),
        "{}",
        out.reason
    );
}

#[test]
fn promote_ends_a_window_as_good_and_records_it() {
    let s = Scenario::new();
    s.arm();
    s.tick();
    let out = s.monitor().promote(&s.repo, &s.work_item).unwrap();
    assert!(out.done && out.finished, "{}", out.reason);
    let replay = s.tick();
    assert!(
        replay.finished && replay.reason.contains("promoted"),
        "{}",
        replay.reason
    );
    assert_eq!(s.monitor().known_good(&s.repo, None).unwrap().len(), 1);
    // Promoting a finished window: refused.
    let no = s.monitor().promote(&s.repo, &s.work_item).unwrap();
    assert!(!no.done, "{}", no.reason);
}

#[test]
fn degraded_blind_disarmed_and_superseded_windows_prove_nothing() {
    // Degraded (alert-only).
    let mut s = Scenario::new();
    s.set("ROLLBACK", "alert-only");
    s.world.break_new_image();
    s.arm();
    s.run(|_, _| {});
    // Blind.
    let b = another(&s, "PR-50");
    b.arm();
    b.world
        .healthy_images
        .borrow_mut()
        .push(NEW_IMAGE.to_owned());
    b.run(|w, _| w.docker_broken.set(true));
    // Disarmed.
    let d = another(&s, "PR-51");
    d.arm();
    d.monitor().disarm(&d.repo, &d.work_item).unwrap();
    assert!(s.monitor().known_good(&s.repo, None).unwrap().is_empty());
}

/// A window whose 5xx signal was missing in more than half of its ticks so far is blind:
/// `promote` finishes it with `blind: true` and its `blind` alert, and proves nothing. Missing
/// in exactly half is not blind (the deadline's rule), and that promote proves its image.
#[test]
fn promoting_a_window_blind_so_far_ends_it_blind_and_proves_nothing() {
    let s = Scenario::new();
    s.arm();
    for missing in [true, false, true] {
        s.world.docker_broken.set(missing);
        s.world.advance(Duration::from_secs(30));
        assert!(!s.tick().finished);
    }
    s.world.docker_broken.set(false);
    let promoted = s.monitor().promote(&s.repo, &s.work_item).unwrap();
    assert!(promoted.done && promoted.finished, "{}", promoted.reason);
    let end = s.tick();
    assert_eq!(end.blind, Some(true), "{}", end.reason);
    assert!(
        end.reason.contains("promoted")
            && end.reason.contains("BLIND")
            && end.reason.contains("2 of 3"),
        "{}",
        end.reason
    );
    assert_eq!(s.world.alert_events(), ["blind"]);
    assert!(s.monitor().known_good(&s.repo, None).unwrap().is_empty());

    // Missing in two of four ticks: not blind, and the promote proves the image.
    let half = another(&s, "PR-60");
    half.arm();
    for missing in [true, false, true, false] {
        half.world.docker_broken.set(missing);
        half.world.advance(Duration::from_secs(30));
        half.tick();
    }
    half.world.docker_broken.set(false);
    assert!(
        half.monitor()
            .promote(&half.repo, &half.work_item)
            .unwrap()
            .done
    );
    assert_eq!(half.tick().blind, Some(false));
    assert_eq!(
        half.monitor().known_good(&half.repo, None).unwrap().len(),
        1
    );
}
