//! The self guard, alone and against the fake engine under any sequence of calls.

use super::*;

#[test]
fn self_identity_matches_names_ids_and_id_prefixes() {
    let me = SelfIdentity {
        names: vec!["orchestrator".into()],
        ids: vec!["abc123def456".into()],
    };
    for r in ["orchestrator", "/orchestrator", "abc123def456", "abc1", "a"] {
        assert!(me.names(r), "{r}");
    }
    for r in ["orchestrator2", "web", "abd", "", "/"] {
        assert!(!me.names(r), "{r}");
    }
}

#[derive(Debug, Clone)]
enum Ref {
    Name(usize),
    Slash(usize),
    Id(usize),
    Prefix(usize, usize),
    Raw(String),
}

#[derive(Debug, Clone)]
enum Call {
    Inspect(Ref),
    ImageId(bool),
    Logs(Ref),
    Rollback(Ref, bool),
    Resume(Ref, bool),
    RunCommand(Ref),
}

const NAMES: [&str; 4] = ["orchestrator", "web", "api", "p_web_1"];

fn a_ref() -> impl Strategy<Value = Ref> {
    prop_oneof![
        (0..4_usize).prop_map(Ref::Name),
        (0..4_usize).prop_map(Ref::Slash),
        (0..4_usize).prop_map(Ref::Id),
        (0..4_usize, 1..13_usize).prop_map(|(i, n)| Ref::Prefix(i, n)),
        "[a-f0-9]{1,4}|orchestrator[-a-z0-9]{0,3}|[a-z]{1,6}".prop_map(Ref::Raw),
    ]
}

fn a_call() -> impl Strategy<Value = Call> {
    prop_oneof![
        a_ref().prop_map(Call::Inspect),
        any::<bool>().prop_map(Call::ImageId),
        a_ref().prop_map(Call::Logs),
        (a_ref(), any::<bool>()).prop_map(|(r, p)| Call::Rollback(r, p)),
        (a_ref(), any::<bool>()).prop_map(|(r, p)| Call::Resume(r, p)),
        a_ref().prop_map(Call::RunCommand),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Whatever is asked, in whatever order, naming containers however docker would
    /// resolve them: no mutating docker call (nor a rollback command) reaches the
    /// orchestrator's own container, and it ends as it started.
    #[test]
    fn the_self_container_never_receives_a_mutating_call(
        ids in proptest::collection::vec("[a-f0-9]{64}", 4),
        services in proptest::collection::vec(proptest::option::weighted(0.7, (0..3_usize, 0..2_usize)), 4),
        present in proptest::collection::vec(any::<bool>(), 4),
        self_by_id in any::<bool>(),
        calls in proptest::collection::vec(a_call(), 1..8),
    ) {
        let mut containers = Vec::new();
        for i in 0..4 {
            // the orchestrator is there in most cases, maybe in the same compose service as another
            if i == 0 || present[i] {
                // mostly one project, so the orchestrator often shares a service with a target
                let svc = services[i].map(|(p, s)| (["p", "p", "q"][p], ["web", "api"][s]));
                containers.push(fc(&ids[i], NAMES[i], svc));
            }
        }
        let self_id = ids[0].clone();
        let self_container = if self_by_id { ids[0][..12].to_owned() } else { "orchestrator".to_owned() };
        let engine = Engine { containers, images: images(), self_id: self_id.clone(), ..Engine::default() };
        let before = engine.containers[0].clone();
        let (cli, exec) = fake(engine, &self_container);
        let resolve = |r: &Ref| -> String {
            match r {
                Ref::Name(i) => NAMES[*i].to_owned(),
                Ref::Slash(i) => format!("/{}", NAMES[*i]),
                Ref::Id(i) => ids[*i].clone(),
                Ref::Prefix(i, n) => ids[*i][..*n].to_owned(),
                Ref::Raw(s) => s.clone(),
            }
        };
        let cursor = LogCursor::at(t("2026-01-01T00:00:00Z"));
        for call in &calls {
            match call {
                Call::Inspect(r) => { let _ = cli.inspect(&resolve(r)); }
                Call::ImageId(p) => { let _ = cli.image_id(if *p { "app:prev" } else { "gone:1" }); }
                Call::Logs(r) => { let _ = cli.read_logs(&resolve(r), &cursor, &mut |_| {}); }
                Call::Rollback(r, p) => {
                    let target = resolve(r);
                    let result = cli.rollback(&target, if *p { "app:prev" } else { "gone:1" });
                    let e = exec.0.lock().unwrap();
                    if e.find(&target).is_some_and(|i| e.containers[i].id == self_id) {
                        prop_assert!(matches!(result, Err(ControlError::SelfContainer(_))), "{result:?}");
                    }
                }
                Call::Resume(r, p) => {
                    let target = resolve(r);
                    let result = cli.resume_rollback(&target, if *p { "app:prev" } else { "gone:1" });
                    let e = exec.0.lock().unwrap();
                    if e.find(&target).is_some_and(|i| e.containers[i].id == self_id) {
                        prop_assert!(matches!(result, Err(ControlError::SelfContainer(_))), "{result:?}");
                    }
                }
                Call::RunCommand(r) => {
                    let env = vec![("POST_DEPLOY_CONTAINER".to_owned(), resolve(r))];
                    let _ = cli.run_command(&CommandLine::parse("rollback-cmd --now").unwrap(), &env, Duration::from_secs(5));
                }
            }
        }
        let e = exec.0.lock().unwrap();
        prop_assert!(e.violations.is_empty(), "{:?}\ncalls: {:#?}", e.violations, e.calls);
        let after = e.containers.iter().find(|c| c.id == self_id);
        prop_assert_eq!(after, Some(&before));
    }
}
