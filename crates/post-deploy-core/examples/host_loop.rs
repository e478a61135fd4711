//! A host's job loop: arm windows after deploys, then tick each from a delayed queue until it
//! finishes, the way an orchestrator links `post-deploy-core`.
//!
//! The effects are in-memory stand-ins so that the example runs anywhere, instantly: a
//! simulated clock, two targets (`api` breaks after its deploy; `web` stays healthy), a
//! container control that rolls `api` back, and alerts printed to stderr. A real host plugs
//! in its own HTTP client, clock, container runtime and alert channel.
//!
//! Run: `cargo run -p post-deploy-core --example host_loop`

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::arithmetic_side_effects,
    reason = "an example prints what it does, and its simulated times stay small"
)]

use std::cell::{Cell, RefCell};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use post_deploy_core::config::CommandLine;
use post_deploy_core::{
    Alert, AlertError, AlertSink, ArmRequest, Clock, CommandOutcome, Config, ContainerControl,
    ContainerInfo, ControlError, Effects, HealthSample, HttpProbe, LogCursor, Monitor, ProbeError,
    ProbeFailure, RepoName, WorkItem,
};

/// A simulated world: time, the containers whose new image went bad, and those rolled back.
struct Sim {
    now: Cell<DateTime<Utc>>,
    broken: RefCell<Vec<String>>,
    rolled_back: RefCell<Vec<String>>,
}

impl Sim {
    fn on_previous(&self, container: &str) -> bool {
        self.rolled_back.borrow().iter().any(|c| c == container)
    }
}

impl Clock for Sim {
    fn now(&self) -> DateTime<Utc> {
        self.now.get()
    }
}

impl HttpProbe for Sim {
    fn get(&self, url: &str, _timeout: Duration) -> Result<HealthSample, ProbeError> {
        let broken = self
            .broken
            .borrow()
            .iter()
            .any(|c| url.contains(c.as_str()) && !self.on_previous(c));
        Ok(if broken {
            HealthSample::fail(
                ProbeFailure::Status { status: 502 },
                Duration::from_millis(40),
            )
        } else {
            HealthSample::pass(200, Duration::from_millis(8))
        })
    }
}

impl ContainerControl for Sim {
    fn inspect(&self, container: &str) -> Result<ContainerInfo, ControlError> {
        let image = if self.on_previous(container) {
            "previous"
        } else {
            "new"
        };
        Ok(ContainerInfo {
            id: format!("{container}-id"),
            name: container.to_owned(),
            image_id: format!("sha256:{container}-{image}"),
            image_ref: format!("{container}:{image}"),
            running: true,
        })
    }

    fn image_id(&self, image: &str) -> Result<Option<String>, ControlError> {
        Ok(image
            .strip_suffix(":previous")
            .map(|c| format!("sha256:{c}-previous")))
    }

    fn read_logs(
        &self,
        _: &str,
        cursor: &LogCursor,
        _: &mut dyn FnMut(&[u8]),
    ) -> Result<LogCursor, ControlError> {
        Ok(cursor.clone())
    }

    fn rollback(&self, container: &str, previous_image: &str) -> Result<(), ControlError> {
        println!("    -> rolling {container} back to {previous_image}");
        self.rolled_back.borrow_mut().push(container.to_owned());
        Ok(())
    }

    fn run_command(
        &self,
        _: &CommandLine,
        _: &[(String, String)],
        _: Duration,
    ) -> Result<CommandOutcome, ControlError> {
        Ok(CommandOutcome::Exited {
            code: 0,
            stderr_tail: String::new(),
        })
    }
}

impl AlertSink for Sim {
    fn send(&self, alert: &Alert) -> Result<(), AlertError> {
        eprintln!("    alert: {}", alert.text);
        Ok(())
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sim = Sim {
        now: Cell::new(DateTime::from_timestamp(1_800_000_000, 0).ok_or("bad start time")?),
        broken: RefCell::new(Vec::new()),
        rolled_back: RefCell::new(Vec::new()),
    };
    let state = std::env::temp_dir().join(format!("post-deploy-host-loop-{}", std::process::id()));
    let config = Config::from_vars([
        ("ORCH_POST_DEPLOY_REPOS", "api,web"),
        ("ORCH_POST_DEPLOY_WINDOW_S", "300"),
        ("ORCH_POST_DEPLOY_INTERVAL_S", "30"),
        ("ORCH_POST_DEPLOY_STATE_DIR", &state.display().to_string()),
    ])?;
    let monitor = Monitor::new(
        config,
        Effects {
            http: &sim,
            clock: &sim,
            control: &sim,
            alerts: &sim,
        },
    );

    // deploy -> done: arm a window per deploy and queue its first tick one interval later.
    let mut queue: BinaryHeap<Reverse<(DateTime<Utc>, String, String)>> = BinaryHeap::new();
    for (repo, item) in [("api", "PR-7"), ("web", "PR-9")] {
        let armed = monitor.arm(&ArmRequest {
            repo: RepoName::new(repo)?,
            work_item: WorkItem::new(item)?,
            health_url: format!("http://{repo}.internal/health"),
            container: Some(repo.to_owned()),
            previous_image: Some(format!("{repo}:previous")),
            artefacts_dir: None,
        })?;
        println!("armed {repo} {item}: {}", armed.reason);
        queue.push(Reverse((sim.now.get(), repo.to_owned(), item.to_owned())));
    }
    // Production turns bad for api two minutes later.
    let breaks_at = sim.now.get() + chrono::Duration::seconds(120);

    // The job loop: take the next due job, tick it, requeue it after `requeue_after`.
    while let Some(Reverse((due, repo, item))) = queue.pop() {
        sim.now.set(due);
        if due >= breaks_at && sim.broken.borrow().is_empty() {
            sim.broken.borrow_mut().push("api".to_owned());
        }
        let out = monitor.tick(&RepoName::new(&repo)?, &WorkItem::new(&item)?)?;
        println!(
            "{} {repo:>3} {item}: {} {} | {}",
            due.format("%H:%M:%S"),
            out.verdict,
            out.action,
            out.reason
        );
        match out.requeue_after {
            Some(delay) => queue.push(Reverse((
                due + chrono::Duration::from_std(delay)?,
                repo,
                item,
            ))),
            None => println!(
                "    finished: verdict {}, action {}, recovered {:?}",
                out.verdict, out.action, out.recovered
            ),
        }
    }
    let _ = std::fs::remove_dir_all(&state);
    Ok(())
}
