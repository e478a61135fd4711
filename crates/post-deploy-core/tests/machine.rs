//! The window's transition alone, under arbitrary observations, clock steps (backwards
//! included), duplicate ticks and crashes between the transition and the save: at most one
//! rollback, a sticky final result, and an end by the deadline plus the verification ticks.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    missing_docs,
    reason = "tests"
)]

use std::time::Duration;

use chrono::{DateTime, Utc};
use post_deploy_core::access_log::LogCounts;
use post_deploy_core::window::machine::{Command, Input, Need, Observed, Transition, transition};
use post_deploy_core::window::{Progress, WindowTarget};
use post_deploy_core::{
    ActionKind, Config, ContainerInfo, ControlError, HealthSample, HealthSignal, ImageCheck,
    LogCursor, LogSignal, ProbeFailure, RepoName, ResumedRollback, Signals, TickOutcome, Verdict,
    WorkItem,
};
use proptest::prelude::*;

const NEW: &str = "sha256:new";
const OLD: &str = "sha256:old";
const FAIL_THRESHOLD: u32 = 2;

fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).unwrap()
}

fn config(rollback_cmd: bool) -> Config {
    let mut vars = vec![
        ("ORCH_POST_DEPLOY_REPOS", "api".to_owned()),
        ("ORCH_POST_DEPLOY_WINDOW_S", "300".to_owned()),
        ("ORCH_POST_DEPLOY_INTERVAL_S", "30".to_owned()),
        (
            "ORCH_POST_DEPLOY_FAIL_THRESHOLD",
            FAIL_THRESHOLD.to_string(),
        ),
        ("ORCH_POST_DEPLOY_MIN_REQUESTS", "5".to_owned()),
    ];
    if rollback_cmd {
        vars.push(("ORCH_POST_DEPLOY_ROLLBACK_CMD", "./rollback.sh".to_owned()));
    }
    Config::from_vars(vars).unwrap()
}

fn info(image: &str) -> ContainerInfo {
    ContainerInfo {
        id: "c0ffee".to_owned(),
        name: "api-1".to_owned(),
        image_id: image.to_owned(),
        image_ref: format!("api:{image}"),
        running: true,
    }
}

fn target(config: &Config) -> WindowTarget {
    WindowTarget {
        version: 1,
        repo: RepoName::new("api").unwrap(),
        work_item: WorkItem::new("PR-7").unwrap(),
        health_url: "http://api.internal/health".to_owned(),
        container: Some("api-1".to_owned()),
        service: None,
        previous_image: Some("api:old".to_owned()),
        previous_image_source: None,
        armed_image: Some(info(NEW)),
        armed_spec: None,
        artefacts_dir: None,
        settings: config.window.clone(),
        prometheus: None,
        armed_at: t0(),
        deadline: t0() + chrono::Duration::seconds(300),
    }
}

/// What the world answers on one call, whatever the transition asks.
#[derive(Debug, Clone)]
struct World {
    health: Option<bool>,
    requests: u64,
    errors: u64,
    /// The image the container runs: new, old, or another deploy's.
    image: &'static str,
    inspect_fails: bool,
    previous_present: bool,
    rollback_ok: bool,
    resume: u8,
}

/// Where a call dies, if it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Crash {
    None,
    /// Before the rollback intent is written: nothing of the call is saved.
    BeforeIntent,
    /// After the intent is written, with the rollback carried out, before its result is saved.
    AfterRollback,
    /// After the transition is done, before its progress is saved.
    BeforeSave,
}

#[derive(Debug, Clone)]
struct Call {
    /// Seconds the clock moves before the call (negative: it steps back).
    step_s: i64,
    world: World,
    crash: Crash,
    /// A tick, or an operator's command.
    command: Command,
}

fn a_world() -> impl Strategy<Value = World> {
    (
        prop_oneof![Just(None), any::<bool>().prop_map(Some)],
        0u64..20,
        0u64..20,
        prop_oneof![4 => Just(NEW), 4 => Just(OLD), 1 => Just("sha256:other")],
        prop::bool::weighted(0.1),
        prop::bool::weighted(0.8),
        prop::bool::weighted(0.7),
        0u8..4,
    )
        .prop_map(
            |(
                health,
                requests,
                errors,
                image,
                inspect_fails,
                previous_present,
                rollback_ok,
                resume,
            )| {
                World {
                    health,
                    requests,
                    errors: errors.min(requests),
                    image,
                    inspect_fails,
                    previous_present,
                    rollback_ok,
                    resume,
                }
            },
        )
}

fn a_call() -> impl Strategy<Value = Call> {
    (
        prop_oneof![
            6 => Just(30i64),
            2 => 0i64..15,
            2 => -7200i64..0,
            1 => 0i64..172_800,
        ],
        a_world(),
        prop_oneof![
            6 => Just(Crash::None),
            1 => Just(Crash::BeforeIntent),
            1 => Just(Crash::AfterRollback),
            1 => Just(Crash::BeforeSave),
        ],
        prop_oneof![
            16 => Just(Command::Tick),
            1 => Just(Command::Rollback),
            1 => (1u64..4000).prop_map(|s| Command::Extend(Duration::from_secs(s))),
            1 => Just(Command::Promote),
            1 => Just(Command::Disarm),
        ],
    )
        .prop_map(|(step_s, world, crash, command)| Call {
            step_s,
            world,
            crash,
            command,
        })
}

fn observe(need: Need, world: &World, observed: &mut Observed) {
    match need {
        Need::Resume => {
            observed.resumed = Some(match world.resume {
                0 => Ok(ResumedRollback::NotSettled {
                    detail: String::new(),
                }),
                1 => Ok(ResumedRollback::Finished {
                    detail: "finished".to_owned(),
                }),
                2 => Ok(ResumedRollback::Reverted {
                    detail: "put back".to_owned(),
                }),
                _ => Err(ControlError::ContainerNotFound("api-1".to_owned())),
            });
        }
        Need::Container => {
            observed.container = Some(if world.inspect_fails {
                Err(ControlError::ContainerNotFound("api-1".to_owned()))
            } else {
                Ok(info(world.image))
            });
        }
        Need::Signals => {
            let health = match world.health {
                None => HealthSignal::Missing {
                    why: "monitor fault".to_owned(),
                },
                Some(true) => HealthSignal::Sample {
                    sample: HealthSample::pass(200, Duration::from_millis(5)),
                },
                Some(false) => HealthSignal::Sample {
                    sample: HealthSample::fail(
                        ProbeFailure::Status { status: 503 },
                        Duration::from_millis(5),
                    ),
                },
            };
            let logs = LogSignal::Counted {
                counts: LogCounts {
                    total: world.requests,
                    errors_5xx: world.errors,
                    unparsed: 0,
                },
                cursor: LogCursor::at(t0()),
                timing: post_deploy_core::LogTiming::default(),
            };
            observed.signals = Some(Signals { health, logs });
        }
        Need::ImageCheck => {
            observed.image_check = Some(if world.previous_present {
                ImageCheck::Present {
                    previous_id: OLD.to_owned(),
                    current_id: None,
                }
            } else {
                ImageCheck::Absent
            });
        }
        _ => panic!("a need this test does not know: {need:?}"),
    }
}

/// A driver over the transition alone: what is saved survives a crash, nothing else does.
struct Driver {
    config: Config,
    target: WindowTarget,
    saved: Progress,
    now: DateTime<Utc>,
    /// Rollbacks carried out (a crash after the intent counts: it may have run).
    rollbacks: usize,
    /// The first final answer seen.
    final_answer: Option<(Verdict, ActionKind)>,
}

impl Driver {
    fn new(rollback_cmd: bool) -> Self {
        let config = config(rollback_cmd);
        let target = target(&config);
        Self {
            saved: Progress::new(target.armed_at),
            config,
            target,
            now: t0(),
            rollbacks: 0,
            final_answer: None,
        }
    }

    /// One call; `None` when it crashed.
    fn call(&mut self, world: &World, crash: Crash) -> Option<TickOutcome> {
        self.call_with(Command::Tick, world, crash)
    }

    fn call_with(&mut self, command: Command, world: &World, crash: Crash) -> Option<TickOutcome> {
        let loaded = self.saved.clone();
        let input = Input {
            target: &self.target,
            progress: &loaded,
            switches: &self.config.switches,
            scope: &self.config.scope,
            now: self.now,
            notes: &[],
        };
        let mut observed = Observed::default();
        for _ in 0..16 {
            match transition(command, &input, &observed) {
                Transition::Need(need) => observe(need, world, &mut observed),
                Transition::Rollback { intent, .. } => {
                    if crash == Crash::BeforeIntent {
                        return None;
                    }
                    self.saved = *intent;
                    self.rollbacks += 1;
                    if crash == Crash::AfterRollback {
                        return None;
                    }
                    observed.rollback = Some(if world.rollback_ok {
                        Ok("rolled back".to_owned())
                    } else {
                        Err("exit 1".to_owned())
                    });
                }
                Transition::Done(end) => {
                    if crash == Crash::BeforeSave {
                        return None;
                    }
                    if let Some(progress) = end.progress {
                        self.saved = progress;
                    }
                    return Some(end.outcome);
                }
                other => panic!("a transition this test does not know: {other:?}"),
            }
        }
        panic!("the transition never ended: {observed:?}");
    }

    fn check_sticky(&mut self, out: &TickOutcome) {
        if !out.finished {
            assert!(
                self.final_answer.is_none(),
                "a finished window went on: {out:?}"
            );
            return;
        }
        let answer = (out.verdict, out.action);
        match self.final_answer {
            None => self.final_answer = Some(answer),
            Some(first) => assert_eq!(first, answer, "the final result changed: {out:?}"),
        }
        assert!(out.requeue_after.is_none());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn at_most_one_rollback_a_sticky_end_and_an_end_by_the_deadline(
        calls in prop::collection::vec(a_call(), 0..40),
        rollback_cmd in any::<bool>(),
        last_world in a_world(),
    ) {
        let mut d = Driver::new(rollback_cmd);
        for call in &calls {
            d.now += chrono::Duration::seconds(call.step_s);
            if let Some(out) = d.call_with(call.command, &call.world, call.crash) {
                d.check_sticky(&out);
            }
            prop_assert!(d.rollbacks <= 1, "{} rollbacks", d.rollbacks);
        }
        // Then the clock is past the deadline and the host ticks at the interval, without
        // crashes: the window finishes within the verification ticks it is owed.
        d.now = d.now.max(d.saved.deadline(&d.target));
        let mut finished_after = None;
        for i in 0..=FAIL_THRESHOLD + 1 {
            d.now += chrono::Duration::seconds(30);
            let out = d.call(&last_world, Crash::None).unwrap();
            d.check_sticky(&out);
            if out.finished {
                finished_after = Some(i);
                break;
            }
        }
        prop_assert!(finished_after.is_some(), "the window never finished past its deadline");
        prop_assert!(d.rollbacks <= 1, "{} rollbacks", d.rollbacks);
        // Finished: every later call replays the same result, whatever it observes.
        let again = d.call(&last_world, Crash::None).unwrap();
        d.check_sticky(&again);
        prop_assert!(again.finished && !again.probed);
    }
}
