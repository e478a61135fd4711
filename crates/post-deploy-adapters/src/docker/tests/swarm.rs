//! Swarm services against the fake engine: inspect, logs from a cursor, the rollback by
//! `docker service update`, and the self guard.

use post_deploy_core::{ServiceRollback, same_service_image};

use super::*;

const SVC: &str = "svc0000aaaa1111";
const SELF_SVC: &str = "svcself99998888";
const SELF_CID: &str = "cafe0000cafe0000";

/// An engine with the service `api` (on `app:cur`, its previous spec on `app:prev`), the
/// orchestrator's own service, and the orchestrator's own container.
fn engine() -> Engine {
    let mut e = Engine {
        images: images(),
        self_id: SELF_CID.into(),
        self_service_id: SELF_SVC.into(),
        ..Engine::default()
    };
    e.services.push(fs(SVC, "api", "app:cur", Some("app:prev")));
    e.services
        .push(fs(SELF_SVC, "orchestrator", "orch:1", Some("orch:0")));
    e.containers.push(task("aaaa1111", "api.1.x1", SVC));
    e.containers
        .push(task(SELF_CID, "orchestrator.1.y1", SELF_SVC));
    e
}

fn update_calls(exec: &FakeExec) -> Vec<Vec<String>> {
    exec.0
        .lock()
        .unwrap()
        .calls
        .iter()
        .filter(|c| c.len() > 2 && c[1] == "service" && c[2] == "update")
        .cloned()
        .collect()
}

#[test]
fn inspect_service_reads_the_spec_its_previous_spec_and_its_tasks() {
    let (cli, _) = fake(engine(), "orchestrator");
    let info = cli.inspect_service("api").unwrap();
    assert_eq!(
        (info.id.as_str(), info.name.as_str(), info.image.as_str()),
        (SVC, "api", "app:cur")
    );
    assert_eq!(info.image_id, "sha256:cur");
    assert_eq!(info.previous_spec_image.as_deref(), Some("app:prev"));
    let tasks: Vec<(&str, &str)> = info
        .tasks
        .iter()
        .map(|t| (t.id.as_str(), t.name.as_str()))
        .collect();
    assert_eq!(tasks, [("aaaa1111", "api.1.taaaa1111")]);
    let target = info.as_target();
    assert_eq!(
        (target.image_ref.as_str(), target.image_id.as_str()),
        ("app:cur", "sha256:cur")
    );
    assert!(matches!(
        cli.inspect_service("nope"),
        Err(ControlError::ServiceNotFound(s)) if s == "nope"
    ));
}

#[test]
fn a_spec_image_that_is_not_on_the_engine_is_still_recorded() {
    let mut e = engine();
    e.services[0].image = "registry.example/app:2@sha256:abcd".into();
    let (cli, _) = fake(e, "orchestrator");
    let info = cli.inspect_service("api").unwrap();
    assert_eq!(info.image, "registry.example/app:2@sha256:abcd");
    assert_eq!(info.image_id, "");
}

#[test]
fn rollback_uses_the_previous_spec_when_it_runs_the_previous_image() {
    let (cli, exec) = fake(engine(), "orchestrator");
    let how = cli.rollback_service("api", "app:prev").unwrap();
    assert_eq!(how, ServiceRollback::PreviousSpec);
    let calls = update_calls(&exec);
    assert_eq!(calls.len(), 1);
    let argv = &calls[0];
    assert!(argv.contains(&"--rollback".to_owned()), "{argv:?}");
    assert!(argv.contains(&"--detach=false".to_owned()), "{argv:?}");
    // By its id, after `--`: a name cannot move under the update.
    assert_eq!(after_dashes(argv), [SVC.to_owned()]);
    let e = exec.0.lock().unwrap();
    assert_eq!(e.services[0].image, "app:prev");
    assert!(e.violations.is_empty(), "{:?}", e.violations);
}

#[test]
fn rollback_sets_the_image_when_the_previous_spec_runs_another() {
    for previous_spec in [Some("app:other"), None] {
        let mut e = engine();
        e.services[0].previous = previous_spec.map(str::to_owned);
        let (cli, exec) = fake(e, "orchestrator");
        let how = cli.rollback_service("api", "app:prev").unwrap();
        assert_eq!(how, ServiceRollback::Image);
        let calls = update_calls(&exec);
        assert!(has(&calls[0], "--image", "app:prev"), "{:?}", calls[0]);
        assert!(!calls[0].contains(&"--rollback".to_owned()));
        assert_eq!(exec.0.lock().unwrap().services[0].image, "app:prev");
    }
}

#[test]
fn the_previous_spec_matches_a_previous_image_with_or_without_its_digest() {
    let mut e = engine();
    e.services[0].previous = Some("app:prev@sha256:1111".into());
    let (cli, _) = fake(e, "orchestrator");
    assert_eq!(
        cli.rollback_service("api", "app:prev").unwrap(),
        ServiceRollback::PreviousSpec
    );
    assert!(same_service_image("app:prev@sha256:1111", "app:prev"));
}

#[test]
fn an_update_that_does_not_converge_is_a_failed_rollback() {
    for use_previous_spec in [true, false] {
        let mut e = engine();
        e.pause_updates = true;
        if !use_previous_spec {
            e.services[0].previous = None;
        }
        let (cli, _) = fake(e, "orchestrator");
        let err = cli.rollback_service("api", "app:prev").unwrap_err();
        let text = err.to_string();
        assert!(
            matches!(err, ControlError::Failed { .. }) && text.contains("did not converge"),
            "{text}"
        );
        assert!(text.contains("paused"), "{text}");
    }
}

#[test]
fn the_self_service_is_never_updated() {
    // By the configured name, by its id or an id prefix, and a service whose tasks include
    // the self container, however the self container is configured.
    for (self_container, reference) in [
        ("orchestrator", "orchestrator"),
        ("orchestrator", SELF_SVC),
        ("orchestrator", "svcself9"),
        (SELF_CID, "orchestrator"),
        ("cafe0000", SELF_SVC),
    ] {
        let (cli, exec) = fake(engine(), self_container);
        let err = cli.rollback_service(reference, "orch:0").unwrap_err();
        assert!(
            matches!(err, ControlError::SelfService(_)),
            "{reference}: {err}"
        );
        assert!(update_calls(&exec).is_empty(), "{reference}");
    }
    // Another name for the self service, configured.
    let mut e = engine();
    e.services[1].name = "stack_orchestrator".into();
    let (cli, exec) = fake(e, "nobody");
    let cli = cli.with_self_service("stack_orchestrator".into());
    assert!(matches!(
        cli.rollback_service("stack_orchestrator", "orch:0"),
        Err(ControlError::SelfService(_))
    ));
    assert!(update_calls(&exec).is_empty());
}

#[test]
fn a_service_running_the_self_container_is_never_updated() {
    let mut e = engine();
    // The orchestrator's container is a task of `api` too.
    e.containers.push(task("beef0000beef0000", "api.2.z2", SVC));
    e.self_id = "beef0000beef0000".into();
    let (cli, exec) = fake(e, "beef0000beef");
    let err = cli.rollback_service("api", "app:prev").unwrap_err();
    assert!(matches!(err, ControlError::SelfService(_)), "{err}");
    assert!(update_calls(&exec).is_empty());
    assert!(exec.0.lock().unwrap().violations.is_empty());
}

/// A task of `api` on another node: the manager lists it, this engine has no container of it.
fn remote(id: &str, container_id: &str, slot: u64) -> FakeTask {
    FakeTask {
        id: id.into(),
        service_id: SVC.into(),
        node_id: "worker1node".into(),
        slot,
        container_id: container_id.into(),
        state: "running".into(),
    }
}

const REMOTE_CID: &str = "d00d0000d00d0000d00d0000d00d0000";

#[test]
fn inspect_service_lists_the_tasks_of_every_node() {
    let mut e = engine();
    e.remote_tasks.push(remote("rtask2", REMOTE_CID, 2));
    // A global service's task is named by its node; one not started has no container yet.
    e.remote_tasks.push(FakeTask {
        slot: 0,
        ..remote("rtask3", "e0e0e0e0", 0)
    });
    e.remote_tasks.push(remote("rtask4", "", 4));
    let (cli, _) = fake(e, "orchestrator");
    let info = cli.inspect_service("api").unwrap();
    let tasks: BTreeSet<(&str, &str, bool)> = info
        .tasks
        .iter()
        .map(|t| (t.id.as_str(), t.name.as_str(), t.running))
        .collect();
    assert_eq!(
        tasks,
        BTreeSet::from([
            ("aaaa1111", "api.1.taaaa1111", true),
            (REMOTE_CID, "api.2.rtask2", true),
            ("e0e0e0e0", "api.worker1node.rtask3", true),
            ("", "api.4.rtask4", true),
        ])
    );
}

/// The orchestrator runs as a task of `api` on another node: configured by the id prefix its
/// hostname is, by its full id, or by its task container's name, the service is never
/// updated, though this engine has no such container. Another node's task that is not the
/// orchestrator's stops nothing.
#[test]
fn a_service_running_the_self_container_on_another_node_is_never_updated() {
    for me in [
        &REMOTE_CID[..12],
        REMOTE_CID,
        "api.2.rtask2",
        "/api.2.rtask2",
    ] {
        let mut e = engine();
        e.remote_tasks.push(remote("rtask2", REMOTE_CID, 2));
        e.self_id = REMOTE_CID.into();
        let (cli, exec) = fake(e, me);
        let err = cli.rollback_service("api", "app:prev").unwrap_err();
        assert!(matches!(err, ControlError::SelfService(_)), "{me}: {err}");
        assert!(update_calls(&exec).is_empty(), "{me}");
        assert!(exec.0.lock().unwrap().violations.is_empty(), "{me}");
        // The core sees it among the service's tasks too.
        let info = cli.inspect_service("api").unwrap();
        assert!(info.tasks.iter().any(|t| t.id == REMOTE_CID), "{me}");
    }
    let mut e = engine();
    e.remote_tasks.push(remote("rtask2", REMOTE_CID, 2));
    let (cli, exec) = fake(e, "d00d1");
    cli.rollback_service("api", "app:prev").unwrap();
    assert_eq!(update_calls(&exec).len(), 1);
    assert!(exec.0.lock().unwrap().violations.is_empty());
}

/// The task list is bounded, and what it holds is read as ids, never as flags: a list the
/// guard cannot check whole refuses the rollback.
#[test]
fn a_task_list_that_cannot_be_checked_refuses_the_rollback() {
    let mut e = engine();
    for i in 0..=MAX_TASKS {
        e.remote_tasks.push(remote(&format!("many{i}"), "", 1));
    }
    let (cli, exec) = fake(e, "orchestrator");
    let err = cli.rollback_service("api", "app:prev").unwrap_err();
    assert!(
        matches!(&err, ControlError::BadOutput { detail, .. } if detail.contains("more than the 2000")),
        "{err}"
    );
    assert!(update_calls(&exec).is_empty());

    let mut e = engine();
    e.remote_tasks.push(remote("--rm", REMOTE_CID, 2));
    let (cli, exec) = fake(e, "orchestrator");
    let err = cli.rollback_service("api", "app:prev").unwrap_err();
    assert!(
        matches!(&err, ControlError::BadOutput { detail, .. } if detail.contains("not a task id")),
        "{err}"
    );
    assert!(update_calls(&exec).is_empty());
    let inspects = exec
        .0
        .lock()
        .unwrap()
        .calls
        .iter()
        .filter(|c| has(c, "--type", "task"))
        .count();
    assert_eq!(inspects, 0);
}

/// A task removed between the list and its inspection is left out (the engine says "task …
/// not found" of it and prints the others); an inspection that fails otherwise is an error,
/// and the rollback is refused.
#[test]
fn a_task_gone_since_the_list_is_left_out_and_a_failed_inspection_refuses() {
    let mut e = engine();
    e.remote_tasks.push(remote("rtask2", REMOTE_CID, 2));
    e.vanished_tasks.push("gonetask9".into());
    let (cli, _) = fake(e, "orchestrator");
    let info = cli.inspect_service("api").unwrap();
    assert_eq!(info.tasks.len(), 2, "{:?}", info.tasks);
    assert!(only_gone(
        "Error response from daemon: task gonetask9 not found\n"
    ));
    assert!(!only_gone(""));
    assert!(!only_gone(
        "Error response from daemon: task x not found\npermission denied\n"
    ));

    let mut e = engine();
    e.task_inspect_fails = true;
    let (cli, exec) = fake(e, "orchestrator");
    let err = cli.rollback_service("api", "app:prev").unwrap_err();
    assert!(
        matches!(&err, ControlError::Failed { detail, .. } if detail.contains("Cannot connect")),
        "{err}"
    );
    assert!(update_calls(&exec).is_empty());
    assert!(cli.inspect_service("api").is_err());
}

#[test]
fn a_rollback_command_for_the_self_service_is_refused() {
    let (cli, exec) = fake(engine(), "orchestrator");
    let env = vec![
        ("POST_DEPLOY_CONTAINER".to_owned(), String::new()),
        ("POST_DEPLOY_SERVICE".to_owned(), "orchestrator".to_owned()),
    ];
    let cmd = CommandLine::parse("undo.sh").unwrap();
    let err = cli
        .run_command(&cmd, &env, Duration::from_secs(5))
        .unwrap_err();
    assert!(matches!(err, ControlError::SelfService(_)), "{err}");
    assert!(exec.0.lock().unwrap().calls.is_empty());
}

#[test]
fn service_logs_are_read_from_the_cursor_once() {
    let mut e = engine();
    e.services[0].logs = vec![
        "2026-01-01T00:00:01Z 10.0.0.1 - - [x] \"GET / HTTP/1.1\" 200 1".into(),
        "2026-01-01T00:00:02Z 10.0.0.1 - - [x] \"GET / HTTP/1.1\" 500 1".into(),
        "2026-01-01T00:00:02Z 10.0.0.2 - - [x] \"GET / HTTP/1.1\" 200 1".into(),
    ];
    let (cli, exec) = fake(e, "orchestrator");
    let mut text = Vec::new();
    let cursor = cli
        .read_service_logs("api", &LogCursor::at(t("2026-01-01T00:00:00Z")), &mut |b| {
            text.extend_from_slice(b)
        })
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&text).lines().count(), 3);
    assert_eq!(
        cursor,
        LogCursor {
            since: t("2026-01-01T00:00:02Z"),
            seen_at_since: 2,
            ..LogCursor::at(t("2026-01-01T00:00:02Z"))
        }
    );
    let argv = exec.0.lock().unwrap().calls.last().cloned().unwrap();
    assert_eq!(&argv[1..5], ["service", "logs", "--raw", "--timestamps"]);
    assert!(
        has(&argv, "--since", "2026-01-01T00:00:00.000000000Z"),
        "{argv:?}"
    );
    assert_eq!(after_dashes(&argv), ["api".to_owned()]);
    // Again from the cursor: nothing new.
    let mut again = Vec::new();
    let next = cli
        .read_service_logs("api", &cursor, &mut |b| again.extend_from_slice(b))
        .unwrap();
    assert!(again.is_empty());
    assert_eq!(next, cursor);
    assert!(matches!(
        cli.read_service_logs("gone", &cursor, &mut |_| {}),
        Err(ControlError::ServiceNotFound(s)) if s == "gone"
    ));
}

#[derive(Debug, Clone)]
enum SvcRef {
    Name(usize),
    Id(usize),
    Prefix(usize, usize),
}

const SERVICES: [(&str, &str); 3] = [
    (SVC, "api"),
    (SELF_SVC, "orchestrator"),
    ("svcweb77776666", "web"),
];

proptest! {
    /// Whatever service is asked for, by whatever reference, and whatever the self container
    /// is a task of, no update reaches the self service or a service running the self
    /// container.
    #[test]
    fn no_update_ever_reaches_the_self_service(
        calls in proptest::collection::vec(
            (prop_oneof![
                (0..3_usize).prop_map(SvcRef::Name),
                (0..3_usize).prop_map(SvcRef::Id),
                (0..3_usize, 3..14_usize).prop_map(|(i, n)| SvcRef::Prefix(i, n)),
            ], any::<bool>()),
            1..8,
        ),
        self_task_of in 0..3_usize,
        configured_by_id in any::<bool>(),
    ) {
        let mut e = engine();
        e.services.push(fs("svcweb77776666", "web", "app:cur", None));
        // The self container is a task of one service (the self service, or another).
        e.containers.retain(|c| c.id != SELF_CID);
        e.containers.push(task(SELF_CID, "orch.1.q", SERVICES[self_task_of].0));
        let me = if configured_by_id { &SELF_CID[..8] } else { "orch.1.q" };
        let (cli, exec) = fake(e, me);
        for (r, via_previous_spec) in calls {
            let reference = match r {
                SvcRef::Name(i) => SERVICES[i].1.to_owned(),
                SvcRef::Id(i) => SERVICES[i].0.to_owned(),
                SvcRef::Prefix(i, n) => SERVICES[i].0[..n].to_owned(),
            };
            let image = if via_previous_spec { "app:prev" } else { "app:cur" };
            let _ = cli.rollback_service(&reference, image);
        }
        let e = exec.0.lock().unwrap();
        prop_assert!(e.violations.is_empty(), "{:?}", e.violations);
    }
}
