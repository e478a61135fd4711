//! Windows that watch a Docker Swarm service, over the in-memory store in simulated time:
//! the rollback, fencing on the image of the service's spec, the self guard and known good.

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

use post_deploy_core::window::PreviousImageSource;
use post_deploy_core::{ActionKind, ArmRequest, MonitorError, Verdict, WorkItem};
use support::{NEW_IMAGE, OLD_IMAGE, REGISTRY, SERVICE, Scenario, task};

#[test]
fn a_degraded_service_is_rolled_back_once_and_recovers() {
    let s = Scenario::service();
    s.world.break_new_image();
    let armed = s.arm();
    assert!(armed.armed, "{}", armed.reason);
    let outs = s.run(|_, _| {});
    let last = outs.last().unwrap();
    assert_eq!(
        (last.verdict, last.action, last.recovered),
        (Verdict::Degraded, ActionKind::Rollback, Some(true)),
        "{}",
        last.reason
    );
    assert_eq!(
        *s.world.mutations.borrow(),
        [format!("service rollback {SERVICE} api:1.0")]
    );
    let rolled = outs
        .iter()
        .find(|o| o.action == ActionKind::Rollback)
        .unwrap();
    assert!(
        rolled
            .reason
            .contains("service api-svc rolled back to api:1.0")
            && rolled.reason.contains("--rollback"),
        "{}",
        rolled.reason
    );
    // After the rollback the spec runs the previous image: this window put it there, so it is
    // not superseded.
    assert!(!last.reason.contains("superseded"), "{}", last.reason);
    let log = s.log();
    assert!(log.contains("- Service: api-svc"), "{log}");
    let alerts = s.world.alerts.borrow();
    assert!(!alerts.is_empty());
    assert!(
        alerts
            .iter()
            .all(|a| a.service.as_deref() == Some(SERVICE) && a.container.is_none())
    );
}

#[test]
fn a_service_update_by_someone_else_supersedes_the_window() {
    let s = Scenario::service();
    s.world.break_new_image();
    s.arm();
    let outs = s.run(|w, i| {
        if i == 1 {
            // Someone deploys 1.2 by hand: the spec names another image.
            *w.spec_override.borrow_mut() = Some("api:1.2".to_owned());
            *w.image.borrow_mut() = "sha256:fixed".to_owned();
            w.healthy_images
                .borrow_mut()
                .push("sha256:fixed".to_owned());
        }
    });
    let last = outs.last().unwrap();
    assert!(last.finished);
    assert!(
        last.reason
            .starts_with("superseded: service api-svc now runs api:1.2"),
        "{}",
        last.reason
    );
    assert!(s.world.mutations.borrow().is_empty());
}

/// Someone else scales the service to 0 mid-window: its health fails from then on, but its
/// spec is not the one this window armed on, so the window is superseded and never rolls it
/// back (to 0 replicas of the old image). The image of the spec did not change.
#[test]
fn a_spec_change_by_someone_else_supersedes_the_window() {
    let s = Scenario::service();
    s.arm();
    let outs = s.run(|w, i| {
        if i == 1 {
            *w.spec.borrow_mut() = "spec-scaled-to-0".to_owned();
            w.break_new_image();
        }
    });
    let last = outs.last().unwrap();
    assert!(last.finished);
    assert!(
        last.reason.starts_with(
            "superseded: the spec of service api-svc was changed since arm (spec spec-at-arm \
             is now spec-scaled-to-0)"
        ),
        "{}",
        last.reason
    );
    assert_eq!(
        (last.verdict, last.action),
        (Verdict::Healthy, ActionKind::None)
    );
    assert!(s.world.mutations.borrow().is_empty());
}

/// The spec gaining a digest for the same tag (the engine resolved it) is the same image.
#[test]
fn a_digest_added_to_the_same_tag_is_not_a_new_deploy() {
    let s = Scenario::service();
    s.arm();
    let outs = s.run(|w, i| {
        if i == 1 {
            *w.spec_override.borrow_mut() = Some("api:1.1@sha256:0123".to_owned());
        }
    });
    let last = outs.last().unwrap();
    assert_eq!(last.verdict, Verdict::Healthy);
    assert!(!last.reason.contains("superseded"), "{}", last.reason);
}

#[test]
fn the_self_service_only_alerts_whatever_the_input() {
    // By ORCH_POST_DEPLOY_SELF_SERVICE.
    let mut s = Scenario::service();
    s.set("SELF_SERVICE", SERVICE).set("FAIL_THRESHOLD", "1");
    s.world.break_new_image();
    s.arm();
    let outs = s.run(|_, _| {});
    let last = outs.last().unwrap();
    assert_eq!(
        (last.verdict, last.action),
        (Verdict::Degraded, ActionKind::AlertOnly)
    );
    let degraded = outs
        .iter()
        .find(|o| o.verdict == Verdict::Degraded)
        .unwrap();
    assert!(
        degraded
            .reason
            .contains("service api-svc is the orchestrator's own"),
        "{}",
        degraded.reason
    );
    assert!(s.world.mutations.borrow().is_empty());
    // An operator's rollback is refused too.
    let s = {
        let mut s = Scenario::service();
        s.set("SELF_SERVICE", SERVICE);
        s
    };
    s.arm();
    let out = s.monitor().rollback(&s.repo, &s.work_item).unwrap();
    assert!(!out.done, "{}", out.reason);
    assert!(s.world.mutations.borrow().is_empty());
}

#[test]
fn a_service_whose_tasks_include_the_self_container_only_alerts() {
    let mut s = Scenario::service();
    s.set("SELF_CONTAINER", "0badc0ffee00");
    s.world
        .service_tasks
        .borrow_mut()
        .push(task("0badc0ffee0011223344", "api-svc.2.t2"));
    s.world.break_new_image();
    s.arm();
    let outs = s.run(|_, _| {});
    let last = outs.last().unwrap();
    assert_eq!(last.action, ActionKind::AlertOnly, "{}", last.reason);
    let degraded = outs
        .iter()
        .find(|o| o.verdict == Verdict::Degraded)
        .unwrap();
    assert!(
        degraded
            .reason
            .contains("container 0badc0ffee00 is the orchestrator's own"),
        "{}",
        degraded.reason
    );
    assert!(s.world.mutations.borrow().is_empty());
}

#[test]
fn the_5xx_ratio_comes_from_the_services_logs() {
    let s = Scenario::service();
    s.arm();
    let outs = s.run(|w, i| {
        if i == 1 {
            w.log_requests(40, 20);
        }
    });
    let degraded = outs
        .iter()
        .find(|o| o.verdict == Verdict::Degraded)
        .unwrap();
    assert!(degraded.reason.contains("5xx"), "{}", degraded.reason);
    assert_eq!(
        (degraded.window_requests, degraded.window_errors_5xx),
        (40, 20)
    );
    assert_eq!(
        *s.world.mutations.borrow(),
        [format!("service rollback {SERVICE} api:1.0")]
    );
}

#[test]
fn a_missing_service_is_a_monitor_fault_and_the_window_is_blind() {
    let mut s = Scenario::service();
    s.service = Some("gone".into());
    let armed = s.arm();
    assert!(armed.reason.contains("fencing off"), "{}", armed.reason);
    let outs = s.run(|_, _| {});
    let last = outs.last().unwrap();
    assert_eq!(last.verdict, Verdict::Healthy);
    assert_eq!(last.blind, Some(true));
    assert!(
        last.reason.contains("the logs of service gone"),
        "{}",
        last.reason
    );
}

#[test]
fn known_good_works_for_services() {
    let mut s = Scenario::service();
    s.previous_image = None;
    s.arm();
    let outs = s.run(|_, _| {});
    assert_eq!(outs.last().unwrap().verdict, Verdict::Healthy);
    let proved = s.monitor().known_good(&s.repo, Some(SERVICE)).unwrap();
    assert_eq!(proved.len(), 1);
    assert_eq!(
        (proved[0].image.as_str(), proved[0].image_id.as_str()),
        ("api:1.1", NEW_IMAGE)
    );
    assert!(
        s.monitor()
            .known_good(&s.repo, Some("api-1"))
            .unwrap()
            .is_empty()
    );

    // The next deploy (1.0, broken): arm without --previous-image goes back to the proved 1.1.
    let mut next = Scenario::service();
    next.memory.clone_from(&s.memory);
    next.vars.clone_from(&s.vars);
    next.work_item = WorkItem::new("PR-43").unwrap();
    next.world.now.set(s.world.now.get());
    next.previous_image = None;
    *next.world.image.borrow_mut() = OLD_IMAGE.to_owned();
    *next.world.previous_spec.borrow_mut() = Some("api:1.1".to_owned());
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
    let outs = next.run(|_, _| {});
    assert_eq!(outs.last().unwrap().action, ActionKind::Rollback);
    assert_eq!(
        *next.world.mutations.borrow(),
        [format!("service rollback {SERVICE} api:1.1")]
    );
}

#[test]
fn a_failed_service_rollback_is_alerted_and_never_retried() {
    let s = Scenario::service();
    s.world.break_new_image();
    s.world.rollback_fails.set(true);
    s.arm();
    let outs = s.run(|_, _| {});
    let last = outs.last().unwrap();
    assert_eq!(last.recovered, Some(false), "{}", last.reason);
    assert_eq!(s.world.rollbacks(), 1);
    assert!(
        s.world
            .alert_events()
            .contains(&"rollback_failed".to_owned())
    );
}

#[test]
fn arm_takes_at_most_one_target_and_checks_the_service_name() {
    let s = Scenario::service();
    let req = |container: Option<&str>, service: Option<&str>| ArmRequest {
        repo: s.repo.clone(),
        work_item: s.work_item.clone(),
        health_url: "http://api.internal/health".into(),
        container: container.map(Into::into),
        service: service.map(Into::into),
        previous_image: None,
        artefacts_dir: None,
    };
    let both = s.monitor().arm(&req(Some("api-1"), Some(SERVICE)));
    assert!(matches!(both, Err(MonitorError::TwoTargets)), "{both:?}");
    for bad in ["-rm", "a b", "x;y", ""] {
        let e = s.monitor().arm(&req(None, Some(bad)));
        assert!(matches!(e, Err(MonitorError::Service(_))), "{bad:?}: {e:?}");
    }
    assert!(s.file_names().is_empty(), "nothing written");
}

/// A bad deploy whose previous image (`api:1.0`) is not on this engine, only in its
/// registry.
fn previous_only_in_registry(s: &Scenario) {
    s.world.break_new_image();
    s.world.previous_present.set(false);
    s.world
        .registry
        .borrow_mut()
        .push(("api:1.0".into(), OLD_IMAGE.into()));
}

/// On a swarm of several nodes the previous image may be in the registry alone: the nodes
/// pull it, so the service is rolled back to it.
#[test]
fn a_previous_image_only_its_registry_has_is_rolled_back_to() {
    let s = Scenario::service();
    previous_only_in_registry(&s);
    s.arm();
    let last = s.run(|_, _| {}).pop().unwrap();
    assert_eq!(
        (last.verdict, last.action, last.recovered),
        (Verdict::Degraded, ActionKind::Rollback, Some(true)),
        "{}",
        last.reason
    );
    assert_eq!(
        *s.world.mutations.borrow(),
        [format!("service rollback {SERVICE} api:1.0")]
    );
}

/// A container is recreated from this engine's image: a registry's word is not enough.
#[test]
fn a_container_is_not_rolled_back_to_an_image_only_a_registry_has() {
    let s = Scenario::new();
    previous_only_in_registry(&s);
    s.arm();
    let outs = s.run(|_, _| {});
    let reasons: Vec<&str> = outs.iter().map(|o| o.reason.as_str()).collect();
    assert_eq!(
        outs.last().unwrap().action,
        ActionKind::AlertOnly,
        "{reasons:?}"
    );
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("alert only: previous image api:1.0 is not on the engine")),
        "{reasons:?}"
    );
    assert_eq!(s.world.rollbacks(), 0);
}

/// The registry does not answer, or has no such image: the rollback is refused rather than
/// an update to an image no node can pull, and the reason says which.
#[test]
fn a_service_is_not_rolled_back_to_an_image_no_node_can_pull() {
    for down in [true, false] {
        let s = Scenario::service();
        s.world.break_new_image();
        s.world.previous_present.set(false);
        s.world.registry_down.set(down);
        s.arm();
        let outs = s.run(|_, _| {});
        let last = outs.last().unwrap();
        let reasons: Vec<&str> = outs.iter().map(|o| o.reason.as_str()).collect();
        assert_eq!(
            (last.verdict, last.action),
            (Verdict::Degraded, ActionKind::AlertOnly),
            "{reasons:?}"
        );
        let want = if down {
            format!(
                "alert only: cannot check the images (the registry {REGISTRY} (asked for \
                 api:1.0) failed"
            )
        } else {
            "alert only: previous image api:1.0 is neither on the engine nor in its registry"
                .to_owned()
        };
        assert!(reasons.iter().any(|r| r.contains(&want)), "{reasons:?}");
        assert_eq!(s.world.rollbacks(), 0);
    }
}

/// `arm` without `--previous-image` finds a service's proved image in its registry when this
/// engine no longer has it, and not when the registry cannot answer for it.
#[test]
fn known_good_of_a_service_counts_what_its_registry_answers_for() {
    let mut s = Scenario::service();
    s.previous_image = None;
    s.arm();
    s.run(|_, _| {});
    for down in [false, true] {
        let mut next = Scenario::service();
        next.memory.clone_from(&s.memory);
        next.vars.clone_from(&s.vars);
        next.work_item = WorkItem::new(if down { "PR-44" } else { "PR-43" }).unwrap();
        next.world.now.set(s.world.now.get());
        next.previous_image = None;
        *next.world.image.borrow_mut() = OLD_IMAGE.to_owned();
        next.world
            .removed_images
            .borrow_mut()
            .push("api:1.1".into());
        next.world
            .registry
            .borrow_mut()
            .push(("api:1.1".into(), NEW_IMAGE.into()));
        next.world.registry_down.set(down);
        let armed = next.arm();
        assert_eq!(
            armed.previous_image.as_deref(),
            (!down).then_some("api:1.1"),
            "{}",
            armed.reason
        );
    }
}
