//! Rollbacks (compose and plain) and their resumption, against the fake engine.

use super::*;

#[test]
fn plain_rollback_parks_the_failed_container_and_recreates_it() {
    let engine = Engine {
        containers: vec![
            fc("aaaa1111", "orchestrator", None),
            fc("bbbb2222", "web", None),
        ],
        images: images(),
        self_id: "aaaa1111".into(),
        ..Engine::default()
    };
    let (cli, exec) = fake(engine, "orchestrator");
    cli.rollback("web", "app:prev").unwrap();
    let e = exec.0.lock().unwrap();
    let web = e.containers.iter().find(|c| c.name == "web").unwrap();
    assert_eq!((web.image_id.as_str(), web.running), ("sha256:prev", true));
    let parked = e
        .containers
        .iter()
        .find(|c| c.name.starts_with("web-post-deploy-failed-"))
        .unwrap();
    assert_eq!((parked.id.as_str(), parked.running), ("bbbb2222", false));
    let verbs: Vec<&str> = e
        .calls
        .iter()
        .filter(|c| c[0] == "docker")
        .map(|c| c[1].as_str())
        .collect();
    assert!(
        // the replacement is created while the failed one still serves
        verbs.ends_with(&["rename", "create", "stop", "start", "inspect", "update"]),
        "{verbs:?}"
    );
    assert!(e.violations.is_empty());
}

/// A clock of its own, fixed at `.0`.
struct Fixed(DateTime<Utc>);

impl post_deploy_core::Clock for Fixed {
    fn now(&self) -> DateTime<Utc> {
        self.0
    }
}

#[test]
fn the_parked_name_follows_the_injected_clock() {
    let engine = Engine {
        containers: vec![fc("bbbb2222", "web", None)],
        images: images(),
        ..Engine::default()
    };
    let (cli, exec) = fake(engine, "orchestrator");
    let cli = cli.with_clock(Arc::new(Fixed(t("2027-01-15T08:00:00Z"))));
    cli.rollback("web", "app:prev").unwrap();
    let e = exec.0.lock().unwrap();
    let parked = e.containers.iter().find(|c| c.id == "bbbb2222").unwrap();
    assert_eq!(parked.name, "web-post-deploy-failed-1800000000");
}

#[test]
fn a_compose_failure_leaves_the_image_reference_as_it_was() {
    let engine = Engine {
        containers: vec![fc("cccc3333", "p_web_1", Some(("p", "web")))],
        images: images(),
        ..Engine::default()
    };
    for (program, expect) in [
        ("missing-compose", "could not be run"),
        ("failing-compose", "names sha256:cur again"),
    ] {
        let (cli, exec) = fake(
            Engine {
                containers: engine.containers.clone(),
                images: images(),
                ..Engine::default()
            },
            "orchestrator",
        );
        let cli = DockerCli {
            board: Switchboard::fixed_parts(
                "docker".into(),
                ComposeProgram::Command(CommandLine::parse(program).unwrap()),
                None,
            ),
            ..cli
        };
        let err = cli.rollback("p_web_1", "app:prev").unwrap_err().to_string();
        assert!(err.contains(expect), "{program}: {err}");
        let e = exec.0.lock().unwrap();
        assert_eq!(e.images["app:cur"], "sha256:cur", "{program}");
        assert_eq!(e.containers[0].image_id, "sha256:cur");
    }
}

#[test]
fn a_service_shared_with_the_orchestrator_is_not_recreated() {
    let engine = Engine {
        containers: vec![
            fc("aaaa1111", "orchestrator", Some(("p", "web"))),
            fc("cccc3333", "p_web_1", Some(("p", "web"))),
        ],
        images: images(),
        self_id: "aaaa1111".into(),
        ..Engine::default()
    };
    let (cli, exec) = fake(engine, "orchestrator");
    assert_eq!(
        cli.rollback("p_web_1", "app:prev"),
        Err(ControlError::SelfContainer("aaaa1111".into()))
    );
    let e = exec.0.lock().unwrap();
    assert!(
        !e.calls
            .iter()
            .any(|c| c[0] == "docker-compose" || c.get(1).is_some_and(|v| v == "tag"))
    );
}

#[test]
fn compose_rollback_retags_and_recreates_the_service() {
    let engine = Engine {
        containers: vec![fc("cccc3333", "p_web_1", Some(("p", "web")))],
        images: images(),
        self_id: "none".into(),
        ..Engine::default()
    };
    let (cli, exec) = fake(engine, "orchestrator");
    cli.rollback("p_web_1", "app:prev").unwrap();
    let e = exec.0.lock().unwrap();
    assert_eq!(e.images["app:cur"], "sha256:prev");
    let up = e
        .calls
        .iter()
        .find(|c| c[0] == "docker-compose" && c.contains(&"up".to_owned()))
        .unwrap();
    assert_eq!(
        up[up.len() - 5..],
        ["up", "-d", "--no-deps", "--force-recreate", "web"]
    );
    assert!(has(up, "-f", &compose_file()) && has(up, "-p", "p"));
}

/// Fails `docker create` as an engine would when the image vanished meanwhile.
struct FailingCreate(Arc<FakeExec>);

impl Exec for FailingCreate {
    fn run(&self, inv: &Invocation, o: StdoutTo, f: bool) -> Result<Ended<Captured>, ControlError> {
        if inv.args.first().is_some_and(|a| a == "create") {
            self.0.0.lock().unwrap().images.remove("app:prev");
        }
        self.0.run(inv, o, f)
    }

    fn stream(
        &self,
        inv: &Invocation,
        m: usize,
        l: &mut dyn FnMut(Pipe, &[u8]),
    ) -> Result<Ended<Status>, ControlError> {
        self.0.stream(inv, m, l)
    }
}

#[test]
fn a_failed_create_puts_the_old_container_back() {
    let engine = Engine {
        containers: vec![fc("bbbb2222", "web", None)],
        images: images(),
        ..Engine::default()
    };
    let (cli, exec) = fake(engine, "orchestrator");
    let cli = DockerCli {
        exec: Arc::new(FailingCreate(exec.clone())),
        ..cli
    };
    let err = cli.rollback("web", "app:prev").unwrap_err();
    assert!(
        err.to_string()
            .contains("the failed container is back as web"),
        "{err}"
    );
    let e = exec.0.lock().unwrap();
    assert_eq!(e.containers.len(), 1);
    let old = &e.containers[0];
    assert_eq!(
        (old.id.as_str(), old.name.as_str(), old.running),
        ("bbbb2222", "web", true)
    );
}

/// The engine as a crash leaves it: once `after` mutating calls have run, every call
/// fails until `dead` is cleared, so the engine stays exactly as that step left it.
struct CrashAfter {
    inner: Arc<FakeExec>,
    after: usize,
    made: Mutex<usize>,
    dead: std::sync::atomic::AtomicBool,
}

impl CrashAfter {
    fn new(inner: Arc<FakeExec>, after: usize) -> Self {
        Self {
            inner,
            after,
            made: Mutex::new(0),
            dead: std::sync::atomic::AtomicBool::new(false),
        }
    }

    fn revive(&self) {
        self.dead.store(false, Ordering::SeqCst);
    }
}

const MUTATING: [&str; 7] = [
    "rename", "create", "network", "stop", "start", "update", "rm",
];

impl Exec for CrashAfter {
    fn run(&self, inv: &Invocation, o: StdoutTo, f: bool) -> Result<Ended<Captured>, ControlError> {
        if self.dead.load(Ordering::SeqCst) {
            return Err(ControlError::ProgramMissing {
                program: inv.program.clone(),
                detail: "crashed".into(),
            });
        }
        let out = self.inner.run(inv, o, f);
        if inv
            .args
            .first()
            .is_some_and(|a| MUTATING.contains(&a.as_str()))
        {
            let mut made = self.made.lock().unwrap();
            *made += 1;
            if *made == self.after {
                self.dead.store(true, Ordering::SeqCst);
            }
        }
        out
    }

    fn stream(
        &self,
        inv: &Invocation,
        m: usize,
        l: &mut dyn FnMut(Pipe, &[u8]),
    ) -> Result<Ended<Status>, ControlError> {
        self.inner.stream(inv, m, l)
    }
}

fn detail(r: &ResumedRollback) -> &str {
    match r {
        ResumedRollback::Finished { detail }
        | ResumedRollback::Reverted { detail }
        | ResumedRollback::NotSettled { detail } => detail,
        _ => "",
    }
}

fn mutating_calls(e: &Engine, from: usize) -> Vec<Vec<String>> {
    e.calls[from..]
        .iter()
        .filter(|c| c[0] == "docker" && MUTATING.contains(&c[1].as_str()))
        .cloned()
        .collect()
}

#[test]
fn a_recreate_interrupted_after_any_step_is_finished() {
    // rename, create, stop, start, update: the plain recreate's mutating calls in order
    for (after, how) in [
        (1, "recreated it from the parked container"),
        (2, "started the replacement it had created"),
        (3, "started the replacement it had created"),
        (4, "the engine showed it running"),
        (5, "the engine showed it running"),
    ] {
        let engine = Engine {
            containers: vec![
                fc("aaaa1111", "orchestrator", None),
                fc("bbbb2222", "web", None),
            ],
            images: images(),
            self_id: "aaaa1111".into(),
            ..Engine::default()
        };
        let (cli, exec) = fake(engine, "orchestrator");
        let crash = Arc::new(CrashAfter::new(exec.clone(), after));
        let cli = DockerCli {
            exec: crash.clone(),
            ..cli
        };
        // after the last step only the outcome is lost
        assert_eq!(
            cli.rollback("web", "app:prev").is_err(),
            after < 5,
            "crash after {after}"
        );
        crash.revive();
        let from = exec.0.lock().unwrap().calls.len();

        let resumed = cli.resume_rollback("web", "app:prev").unwrap();
        assert!(
            matches!(resumed, ResumedRollback::Finished { .. }),
            "after {after}: {resumed:?}"
        );
        assert_eq!(
            detail(&resumed),
            format!(
                "finished the interrupted rollback: web runs the previous image app:prev ({how})"
            ),
            "after {after}"
        );
        let e = exec.0.lock().unwrap();
        let web = e.containers.iter().find(|c| c.name == "web").unwrap();
        assert_eq!((web.image_id.as_str(), web.running), ("sha256:prev", true));
        let parked: Vec<&FakeContainer> = e
            .containers
            .iter()
            .filter(|c| c.name.starts_with("web-post-deploy-failed-"))
            .collect();
        assert_eq!(parked.len(), 1, "after {after}: {parked:?}");
        assert_eq!(
            (parked[0].id.as_str(), parked[0].running),
            ("bbbb2222", false)
        );
        let made = mutating_calls(&e, from);
        assert!(
            !made.iter().any(|c| c[1] == "rename" || c[1] == "rm"),
            "after {after}: nothing parked again, nothing removed: {made:?}"
        );
        assert_eq!(
            made.iter().filter(|c| c[1] == "create").count(),
            usize::from(after == 1),
            "after {after}: {made:?}"
        );
        assert!(
            made.last().is_some_and(|c| c[1] == "update"),
            "after {after}: the parked container is told not to restart: {made:?}"
        );
        assert!(e.violations.is_empty());
    }
}

#[test]
fn a_parked_stopped_container_with_nothing_under_its_name_is_recreated() {
    // as a crash after `stop` left it before the replacement was created first
    let mut parked = fc("bbbb2222", "web-post-deploy-failed-100", None);
    parked.running = false;
    let older = fc("cccc3333", "web-post-deploy-failed-99", None);
    let engine = Engine {
        containers: vec![older, parked],
        images: images(),
        ..Engine::default()
    };
    let (cli, exec) = fake(engine, "orchestrator");
    let resumed = cli.resume_rollback("web", "app:prev").unwrap();
    assert!(
        matches!(&resumed, ResumedRollback::Finished { detail } if detail.contains("recreated it from the parked container")),
        "{resumed:?}"
    );
    let e = exec.0.lock().unwrap();
    let web = e.containers.iter().find(|c| c.name == "web").unwrap();
    assert_eq!((web.image_id.as_str(), web.running), ("sha256:prev", true));
    assert_eq!(
        web.labels.get(LABEL_ROLLBACK_OF).map(String::as_str),
        Some("web-post-deploy-failed-100"),
        "the newest parked container is the one replaced"
    );
    // the older parked container is left alone
    let older = e.containers.iter().find(|c| c.id == "cccc3333").unwrap();
    assert_eq!(older.name, "web-post-deploy-failed-99");
    assert!(!e.calls.iter().any(|c| {
        c.iter()
            .any(|a| a == "web-post-deploy-failed-99" || a == "cccc3333")
    }));
}

#[test]
fn a_recreate_that_cannot_be_finished_puts_the_parked_container_back() {
    // killed after the rename; the previous image is gone, or creating fails
    for failing_create in [false, true] {
        let engine = Engine {
            containers: vec![fc("bbbb2222", "web-post-deploy-failed-100", None)],
            images: images(),
            ..Engine::default()
        };
        let (cli, exec) = fake(engine, "orchestrator");
        let cli = if failing_create {
            DockerCli {
                exec: Arc::new(FailingCreate(exec.clone())),
                ..cli
            }
        } else {
            exec.0.lock().unwrap().images.remove("app:prev");
            cli
        };
        let resumed = cli.resume_rollback("web", "app:prev").unwrap();
        assert!(
            matches!(&resumed, ResumedRollback::Reverted { detail }
                if detail.contains("put the parked container back: web runs app:cur again")),
            "failing create {failing_create}: {resumed:?}"
        );
        let e = exec.0.lock().unwrap();
        assert_eq!(e.containers.len(), 1, "{:?}", e.containers);
        let old = &e.containers[0];
        assert_eq!(
            (old.id.as_str(), old.name.as_str(), old.running),
            ("bbbb2222", "web", true)
        );
    }
}

#[test]
fn what_shows_no_step_of_the_rollback_is_left_alone() {
    let mut stopped_on_previous = fc("dddd4444", "api", None);
    stopped_on_previous.image_id = "sha256:prev".into();
    stopped_on_previous.image_ref = "app:prev".into();
    stopped_on_previous.running = false;
    let engine = Engine {
        containers: vec![
            fc("bbbb2222", "web", None),
            fc("cccc3333", "p_web_1", Some(("p", "web"))),
            stopped_on_previous,
        ],
        images: images(),
        ..Engine::default()
    };
    let (cli, exec) = fake(engine, "orchestrator");
    // the failed container runs under its name: never changed, or put back already
    let web = cli.resume_rollback("web", "app:prev").unwrap();
    assert!(
        matches!(&web, ResumedRollback::Reverted { detail } if detail.contains("web runs app:cur again") && detail.contains("not run again")),
        "{web:?}"
    );
    // a compose service, a container this rollback did not create, nothing at all
    for name in ["p_web_1", "api", "ghost"] {
        let r = cli.resume_rollback(name, "app:prev").unwrap();
        assert!(
            matches!(r, ResumedRollback::NotSettled { .. }),
            "{name}: {r:?}"
        );
    }
    let e = exec.0.lock().unwrap();
    assert_eq!(mutating_calls(&e, 0), Vec::<Vec<String>>::new());
}

#[test]
fn resuming_never_touches_the_orchestrators_own_container() {
    // the orchestrator itself, and an orchestrator that happens to look parked
    let engine = Engine {
        containers: vec![
            fc("aaaa1111", "orchestrator", None),
            fc("eeee5555", "web-post-deploy-failed-7", None),
        ],
        images: images(),
        self_id: "eeee5555".into(),
        ..Engine::default()
    };
    let (cli, exec) = fake(engine, "web-post-deploy-failed-7");
    assert!(matches!(
        cli.resume_rollback("web", "app:prev"),
        Err(ControlError::SelfContainer(_))
    ));
    let (cli2, exec2) = fake(
        Engine {
            containers: vec![fc("aaaa1111", "orchestrator", None)],
            images: images(),
            self_id: "aaaa1111".into(),
            ..Engine::default()
        },
        "orchestrator",
    );
    assert!(matches!(
        cli2.resume_rollback("orchestrator", "app:prev"),
        Err(ControlError::SelfContainer(_))
    ));
    for e in [exec.0.lock().unwrap(), exec2.0.lock().unwrap()] {
        assert_eq!(mutating_calls(&e, 0), Vec::<Vec<String>>::new());
        assert!(e.violations.is_empty());
    }
}

#[test]
fn read_errors_are_the_monitors_own() {
    let (cli, _) = fake(
        Engine {
            images: images(),
            ..Engine::default()
        },
        "orchestrator",
    );
    assert_eq!(
        cli.inspect("ghost"),
        Err(ControlError::ContainerNotFound("ghost".into()))
    );
    assert_eq!(cli.image_id("nope:1"), Ok(None));
    assert_eq!(cli.image_id("app:prev"), Ok(Some("sha256:prev".into())));
    let cursor = LogCursor::at(t("2026-01-01T00:00:00Z"));
    assert_eq!(
        cli.read_logs("ghost", &cursor, &mut |_| {}),
        Err(ControlError::ContainerNotFound("ghost".into()))
    );
    let missing = DockerCli::new(
        "/nonexistent/docker".into(),
        ComposeProgram::Auto,
        "orchestrator".into(),
    );
    assert!(
        matches!(missing.inspect("web"), Err(ControlError::ProgramMissing { program, .. }) if program == "/nonexistent/docker")
    );
    assert!(matches!(
        missing.read_logs("web", &cursor, &mut |_| {}),
        Err(ControlError::ProgramMissing { .. })
    ));
}
