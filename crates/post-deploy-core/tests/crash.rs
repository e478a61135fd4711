//! Crash-point injection: a tick dies at each of its steps in turn, then a fresh monitor
//! resumes from the folder. Never two rollbacks, never a lost decision, every window finishes.

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

use std::cell::Cell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Barrier, Mutex};
use std::time::Duration;

use post_deploy_core::config::CommandLine;
use post_deploy_core::store::Store as _;
use post_deploy_core::{
    ActionKind, Alert, AlertError, AlertSink, Clock, CommandOutcome, ContainerControl,
    ContainerInfo, ControlError, Effects, HealthSample, HttpProbe, LogCursor, Monitor, ProbeError,
    ProbeFailure, ResumedRollback, Step, TickOutcome, Verdict,
};
use support::{CrashAt, OLD_IMAGE, Scenario};

const STEPS: [Step; 6] = [
    Step::Loaded,
    Step::Probed,
    Step::IntentWritten,
    Step::RollbackRan,
    Step::StateWritten,
    Step::LogWritten,
];

/// Ticks until the rollback tick, crashing there at `crash` (or inside the rollback).
fn crash_then_resume(s: &Scenario, crash: Option<Step>, during_rollback: bool) {
    s.world.break_new_image();
    s.arm();
    // Two failing ticks; the third decides ROLLBACK.
    for _ in 0..2 {
        assert_eq!(s.tick().action, ActionKind::None);
        s.world.advance(Duration::from_secs(30));
    }
    s.world.crash_during_rollback.set(during_rollback);
    let trace = CrashAt(Cell::new(crash));
    let crashing = s.monitor().with_trace(&trace);
    let died = catch_unwind(AssertUnwindSafe(|| crashing.tick(&s.repo, &s.work_item))).is_err();
    assert!(
        died,
        "the tick should have crashed at {crash:?} (during rollback: {during_rollback})"
    );
    s.world.crash_during_rollback.set(false);
}

fn finish(s: &Scenario) -> post_deploy_core::TickOutcome {
    s.world.advance(Duration::from_secs(30));
    s.run(|_, _| {}).pop().unwrap()
}

#[test]
fn a_crash_at_any_step_never_rolls_back_twice_and_every_window_finishes() {
    for plan in ["docker", "command"] {
        for (crash, during) in STEPS
            .iter()
            .map(|s| (Some(*s), false))
            .chain([(None, true)])
        {
            let mut s = Scenario::on_files();
            if plan == "command" {
                s.set("ROLLBACK_CMD", "./rollback.sh");
            }
            crash_then_resume(&s, crash, during);
            let ran_before_resume = s.world.rollbacks();
            let last = finish(&s);
            let case = format!("{plan}, crash at {crash:?}, during rollback {during}");
            assert!(
                s.world.rollbacks() <= 1,
                "{case}: {} rollbacks",
                s.world.rollbacks()
            );
            assert!(last.finished, "{case}");
            // The decision is never lost: the window stays DEGRADED.
            assert_eq!(last.verdict, Verdict::Degraded, "{case}");
            match crash {
                // Died before the intent was on disk: the next tick decides again, once.
                Some(Step::Loaded | Step::Probed) => {
                    assert_eq!(ran_before_resume, 0, "{case}");
                    assert_eq!(s.world.rollbacks(), 1, "{case}");
                    assert_eq!(
                        (last.action, last.recovered),
                        (ActionKind::Rollback, Some(true)),
                        "{case}"
                    );
                }
                // Intent written, nothing run: never re-run blindly. A command's outcome is
                // unknown to the next tick, which alerts; a docker rollback is judged from the
                // container, which still runs the image it was armed on: it did not take
                // effect, and the window says so (rollback_failed, ALERT_ONLY).
                Some(Step::IntentWritten) => {
                    assert_eq!(s.world.rollbacks(), 0, "{case}");
                    let (event, action) = if plan == "command" {
                        ("rollback_unknown", ActionKind::Rollback)
                    } else {
                        ("rollback_failed", ActionKind::AlertOnly)
                    };
                    assert!(
                        s.world.alert_events().contains(&event.to_owned()),
                        "{case}: {:?}",
                        s.world.alert_events()
                    );
                    assert_eq!(last.action, action, "{case}");
                }
                // The rollback ran (and healed) before the crash.
                _ => {
                    assert_eq!(s.world.rollbacks(), 1, "{case}");
                    assert_eq!(*s.world.image.borrow(), OLD_IMAGE, "{case}");
                    assert_eq!(last.action, ActionKind::Rollback, "{case}");
                    assert_eq!(last.recovered, Some(true), "{case}");
                    let after_state_write =
                        matches!(crash, Some(Step::StateWritten | Step::LogWritten));
                    let unknown = s
                        .world
                        .alert_events()
                        .contains(&"rollback_unknown".to_owned());
                    // Docker rollbacks are reconciled from what the container runs; a command's
                    // interrupted outcome is unknown and alerted.
                    assert_eq!(unknown, plan == "command" && !after_state_write, "{case}");
                }
            }
            // Every state file is readable afterwards.
            for name in ["target.json", "window.json"] {
                let bytes = std::fs::read(s.window_dir().join(name)).unwrap();
                serde_json::from_slice::<serde_json::Value>(&bytes).unwrap();
            }
        }
    }
}

/// A built-in rollback interrupted before it could finish is settled by the next tick through
/// the control's resumption: finished (the rollback took effect and is verified) or reverted
/// (the failed container is back: the rollback failed, alerted). Never decided or run again.
#[test]
fn an_interrupted_docker_rollback_is_settled_by_resuming_it() {
    for finished in [true, false] {
        let s = Scenario::on_files();
        // The crash leaves the rollback half done: the container still on the new image.
        s.world.rollback_heals.set(false);
        crash_then_resume(&s, None, true);
        assert_eq!(s.world.rollbacks(), 1);
        let detail = if finished {
            "finished the interrupted rollback: api-1 runs the previous image api:1.0"
        } else {
            "put the parked container back: api-1 runs api:1.1 again"
        };
        *s.world.resume.borrow_mut() = Some(if finished {
            ResumedRollback::Finished {
                detail: detail.to_owned(),
            }
        } else {
            ResumedRollback::Reverted {
                detail: detail.to_owned(),
            }
        });
        s.world.advance(Duration::from_secs(30));
        let settled = s.tick();
        let case = format!("finished {finished}: {settled:?}");
        assert!(settled.reason.contains(detail), "{case}");
        assert_eq!(
            *s.world.resumes.borrow(),
            ["resume api-1 api:1.0"],
            "{case}"
        );
        let last = finish(&s);
        assert_eq!(s.world.rollbacks(), 1, "{case}: never run again");
        assert_eq!(s.world.resumes.borrow().len(), 1, "{case}: settled once");
        assert!(last.finished, "{case}");
        let events = s.world.alert_events();
        assert!(!events.contains(&"rollback_unknown".to_owned()), "{case}");
        assert_eq!(
            events.contains(&"rollback_failed".to_owned()),
            !finished,
            "{case}: {events:?}"
        );
        if finished {
            assert_eq!(
                (last.action, last.recovered),
                (ActionKind::Rollback, Some(true)),
                "{case}"
            );
        } else {
            assert_eq!(last.action, ActionKind::AlertOnly, "{case}");
            assert_eq!(*s.world.image.borrow(), support::NEW_IMAGE, "{case}");
        }
    }
}

/// An interrupted rollback settled by a tick that comes too soon to probe (a duplicate): the
/// settlement is saved all the same, so the next tick does not resume it again. (A
/// cargo-mutants survivor: `p != loaded` for `p == loaded` in `duplicate` went unseen.)
#[test]
fn a_rollback_settled_by_a_duplicate_tick_is_saved() {
    let s = Scenario::on_files();
    s.world.rollback_heals.set(false);
    crash_then_resume(&s, None, true);
    *s.world.resume.borrow_mut() = Some(ResumedRollback::Finished {
        detail: "finished the interrupted rollback".to_owned(),
    });
    // Sooner than half an interval after the crashed tick's probe.
    s.world.advance(Duration::from_secs(1));
    let settled = s.tick();
    assert!(!settled.probed, "{}", settled.reason);
    assert!(settled.reason.contains("duplicate"), "{}", settled.reason);
    assert!(
        settled.reason.contains("finished the interrupted rollback"),
        "{}",
        settled.reason
    );
    let saved: serde_json::Value =
        serde_json::from_slice(&std::fs::read(s.window_dir().join("window.json")).unwrap())
            .unwrap();
    assert_eq!(saved["rollback"]["state"], "done", "{saved}");
    s.world.advance(Duration::from_secs(1));
    assert!(!s.tick().probed);
    assert_eq!(s.world.resumes.borrow().len(), 1, "resumed again");
    assert_eq!(s.world.rollbacks(), 1);
}

/// A thread-safe world for ticks on several threads at once: a failing target on the new
/// image, and counts of probes and rollbacks. A probe takes a while, so the other ticks arrive
/// while the first holds the window.
struct Shared {
    now: chrono::DateTime<chrono::Utc>,
    image: Mutex<String>,
    probes: AtomicUsize,
    rollbacks: AtomicUsize,
}

impl Clock for Shared {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.now
    }
}

impl HttpProbe for Shared {
    fn get(&self, _url: &str, _timeout: Duration) -> Result<HealthSample, ProbeError> {
        self.probes.fetch_add(1, Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(500));
        Ok(if *self.image.lock().unwrap() == OLD_IMAGE {
            HealthSample::pass(200, Duration::from_millis(1))
        } else {
            HealthSample::fail(
                ProbeFailure::Status { status: 503 },
                Duration::from_millis(1),
            )
        })
    }
}

impl ContainerControl for Shared {
    fn inspect(&self, container: &str) -> Result<ContainerInfo, ControlError> {
        let image_id = self.image.lock().unwrap().clone();
        let image_ref = if image_id == OLD_IMAGE {
            "api:1.0"
        } else {
            "api:1.1"
        };
        Ok(ContainerInfo {
            id: "0123456789abcdef".to_owned(),
            name: container.to_owned(),
            image_id,
            image_ref: image_ref.to_owned(),
            running: true,
        })
    }

    fn image_id(&self, image: &str) -> Result<Option<String>, ControlError> {
        Ok((image == "api:1.0").then(|| OLD_IMAGE.to_owned()))
    }

    fn read_logs(
        &self,
        _container: &str,
        cursor: &LogCursor,
        _sink: &mut dyn FnMut(&[u8]),
    ) -> Result<LogCursor, ControlError> {
        Ok(cursor.clone())
    }

    fn rollback(&self, _container: &str, _previous_image: &str) -> Result<(), ControlError> {
        self.rollbacks.fetch_add(1, Ordering::SeqCst);
        *self.image.lock().unwrap() = OLD_IMAGE.to_owned();
        Ok(())
    }

    fn resume_rollback(
        &self,
        _container: &str,
        _previous_image: &str,
    ) -> Result<ResumedRollback, ControlError> {
        Ok(ResumedRollback::NotSettled {
            detail: String::new(),
        })
    }

    fn run_command(
        &self,
        _command: &CommandLine,
        _env: &[(String, String)],
        _timeout: Duration,
    ) -> Result<CommandOutcome, ControlError> {
        self.rollbacks.fetch_add(1, Ordering::SeqCst);
        Ok(CommandOutcome::Exited {
            code: 0,
            stderr_tail: String::new(),
        })
    }
}

impl AlertSink for Shared {
    fn send(&self, _alert: &Alert) -> Result<(), AlertError> {
        Ok(())
    }
}

/// Eight threads tick the same window over the file store at the same instant, released
/// together by a barrier, with a target that degrades at its first failed probe: exactly one
/// tick probes and rolls back; the others find the window taken (or, arriving after it was
/// released, the probe just made). Checked against a store whose `try_lock` always grants
/// the lock: several ticks probe and roll back.
#[test]
fn concurrent_ticks_of_one_window_act_once() {
    const THREADS: usize = 8;
    let mut s = Scenario::on_files();
    s.set("FAIL_THRESHOLD", "1");
    s.world.break_new_image();
    s.arm();
    let shared = Shared {
        now: s.world.now.get(),
        image: Mutex::new(support::NEW_IMAGE.to_owned()),
        probes: AtomicUsize::new(0),
        rollbacks: AtomicUsize::new(0),
    };
    let (config, repo, work_item) = (s.config(), s.repo.clone(), s.work_item.clone());
    let barrier = Barrier::new(THREADS);
    let outs: Vec<TickOutcome> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..THREADS)
            .map(|_| {
                scope.spawn(|| {
                    let monitor = Monitor::new(
                        config.clone(),
                        Effects {
                            http: &shared,
                            clock: &shared,
                            control: &shared,
                            alerts: &shared,
                        },
                    );
                    barrier.wait();
                    monitor.tick(&repo, &work_item).unwrap()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let reasons: Vec<&str> = outs.iter().map(|o| o.reason.as_str()).collect();
    assert_eq!(shared.probes.load(Ordering::SeqCst), 1, "{reasons:#?}");
    assert_eq!(shared.rollbacks.load(Ordering::SeqCst), 1, "{reasons:#?}");
    assert_eq!(outs.iter().filter(|o| o.probed).count(), 1, "{reasons:#?}");
    assert_eq!(
        outs.iter()
            .filter(|o| o.action == ActionKind::Rollback && o.probed)
            .count(),
        1,
        "{reasons:#?}"
    );
    for out in outs.iter().filter(|o| !o.probed) {
        assert!(
            out.reason.contains("another tick") || out.reason.contains("duplicate"),
            "{}",
            out.reason
        );
    }
    // While one tick holds the window, the others are turned away rather than queued.
    assert!(
        outs.iter().any(|o| o.reason.contains("another tick")),
        "{reasons:#?}"
    );
}

#[test]
fn a_held_lock_turns_every_tick_away() {
    let s = Scenario::on_files();
    s.world.break_new_image();
    s.arm();
    // A tick that holds the lock makes every other tick of the pair return without acting.
    let store = post_deploy_core::store::FileStore::new(s.dir.path());
    let held = store.try_lock(&s.key()).unwrap().expect("free");
    for _ in 0..8 {
        let out = s.tick();
        assert!(!out.probed && !out.finished);
        assert!(out.reason.contains("another tick"), "{}", out.reason);
    }
    drop(held);
    assert!(s.tick().probed);
}

/// A crash right after the rollback intent of a docker rollback was written, then the next
/// call runs with `vars` on top of the scenario's: it settles the rollback first, from what
/// the container runs, and never resumes (changes containers) when the switches forbid it.
fn settled_under(vars: &[(&str, &str)]) -> (Scenario, post_deploy_core::TickOutcome) {
    let mut s = Scenario::on_files();
    crash_then_resume(&s, Some(Step::IntentWritten), false);
    *s.world.resume.borrow_mut() = Some(ResumedRollback::Finished {
        detail: "would have finished it".to_owned(),
    });
    for (k, v) in vars {
        s.set(k, v);
    }
    s.world.advance(Duration::from_secs(30));
    let out = s.tick();
    (s, out)
}

#[test]
fn the_kill_switch_after_a_crash_mid_rollback_settles_and_alerts_without_touching_containers() {
    let (s, out) = settled_under(&[("ENABLED", "false")]);
    assert!(out.finished, "{}", out.reason);
    assert!(out.reason.contains("disabled"), "{}", out.reason);
    assert!(out.reason.contains("crash interrupted"), "{}", out.reason);
    assert!(
        s.world.resumes.borrow().is_empty(),
        "resumed with the kill switch off"
    );
    assert_eq!(s.world.rollbacks(), 0);
    assert!(
        s.world
            .alert_events()
            .contains(&"rollback_failed".to_owned()),
        "{:?}",
        s.world.alert_events()
    );
}

#[test]
fn shadow_mode_after_a_crash_mid_rollback_settles_without_touching_containers() {
    let (s, out) = settled_under(&[("ROLLBACK", "alert-only")]);
    assert!(
        s.world.resumes.borrow().is_empty(),
        "resumed in shadow mode"
    );
    assert_eq!(s.world.rollbacks(), 0);
    assert!(out.reason.contains("crash interrupted"), "{}", out.reason);
    assert!(
        s.world
            .alert_events()
            .contains(&"rollback_failed".to_owned()),
        "{:?}",
        s.world.alert_events()
    );
}

#[test]
fn disarm_after_a_crash_mid_rollback_settles_it_first() {
    let s = Scenario::on_files();
    crash_then_resume(&s, Some(Step::IntentWritten), false);
    *s.world.resume.borrow_mut() = Some(ResumedRollback::Finished {
        detail: "finished it".to_owned(),
    });
    let out = s.monitor().disarm(&s.repo, &s.work_item).unwrap();
    assert!(out.finished);
    assert!(
        out.reason.contains("disarmed") && out.reason.contains("finished it"),
        "{}",
        out.reason
    );
    assert_eq!(s.world.resumes.borrow().len(), 1);
    assert_eq!(out.action, ActionKind::Rollback);
}

#[test]
fn busy_and_duplicate_answers_tell_the_windows_verdict_so_far() {
    let s = Scenario::on_files();
    crash_then_resume(&s, Some(Step::IntentWritten), false);
    // The next call settles the crash (no probe: the previous probe was just now).
    let settled = s.tick();
    assert!(!settled.probed, "{}", settled.reason);
    assert_eq!(settled.verdict, Verdict::Degraded, "{}", settled.reason);
    // Another tick holds the lock: the busy answer still says DEGRADED.
    let store = post_deploy_core::store::FileStore::new(s.dir.path());
    let held = store.try_lock(&s.key()).unwrap().expect("free");
    let busy = s.tick();
    drop(held);
    assert!(busy.reason.contains("another tick"), "{}", busy.reason);
    assert_eq!(busy.verdict, Verdict::Degraded);
    assert!(busy.ticks > 0);
}

/// The value of `series` in a metrics text.
fn metric(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

/// A crash at any step of the rollback's tick, or of the tick that finishes the window (its
/// state saved, its metrics not yet written): the window still counts once as finished and
/// its rollback once.
#[test]
fn a_crash_at_any_step_neither_loses_nor_doubles_a_count() {
    let rollback_tick = STEPS
        .iter()
        .map(|s| (Some(*s), false))
        .chain([(None, true)]);
    // A healthy last tick writes no intent and runs no rollback.
    let last_tick = [
        Step::Loaded,
        Step::Probed,
        Step::StateWritten,
        Step::LogWritten,
    ]
    .map(|s| (Some(s), false));
    let cases = rollback_tick
        .map(|c| (false, c))
        .chain(last_tick.into_iter().map(|c| (true, c)));
    for (crash_on_last, (crash, during)) in cases {
        let mut s = Scenario::new();
        s.set("METRICS_FILE", "/metrics/post-deploy.prom");
        let case = format!(
            "crash at {crash:?}, during rollback {during}, on the last tick {crash_on_last}"
        );
        if crash_on_last {
            s.arm();
            // Healthy to the deadline (ticks at 0, 30, … 300 s); the last tick, which
            // finishes the window, dies at `crash`.
            for _ in 0..10 {
                assert!(!s.tick().finished, "{case}");
                s.world.advance(Duration::from_secs(30));
            }
            let trace = CrashAt(Cell::new(crash));
            let crashing = s.monitor().with_trace(&trace);
            let died = catch_unwind(AssertUnwindSafe(|| crashing.tick(&s.repo, &s.work_item)));
            assert!(died.is_err(), "{case}");
        } else {
            crash_then_resume(&s, crash, during);
        }
        let last = finish(&s);
        assert!(last.finished, "{case}");
        // The finished window ticked again: nothing more is counted.
        s.tick();
        let text = s
            .memory
            .as_ref()
            .unwrap()
            .metrics_file(std::path::Path::new("/metrics/post-deploy.prom"))
            .unwrap();
        let finished: f64 = text
            .lines()
            .filter(|l| l.starts_with("post_deploy_windows_finished_total{"))
            .filter_map(|l| l.rsplit_once(' ')?.1.parse::<f64>().ok())
            .sum();
        assert_eq!(finished, 1.0, "{case}\n{text}");
        let rollbacks = metric(&text, r#"post_deploy_rollbacks_total{repo="api"}"#);
        let expected = (!crash_on_last).then_some(1.0);
        assert_eq!(rollbacks, expected, "{case}\n{text}");
        assert!(
            !text.contains("post_deploy_window_watching{"),
            "{case}\n{text}"
        );
    }
}
