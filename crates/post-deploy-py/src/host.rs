//! One call of the engine for a Python host: the configuration from the host's variables, the
//! real adapters, the driver, and every answer, faults included, as the JSON value the binary
//! prints for the same command.
//!
//! Nothing here touches Python: [`crate`] reads the arguments and the variables under the GIL,
//! calls these functions with the GIL released, and converts the answer.
//!
//! What is read when: every call loads the whole configuration from the variables as they are
//! at that call, exactly as one run of the binary does. `arm` records the window's settings
//! (thresholds, window, interval) in its state, so later changes to those variables do not
//! change an armed window; the switches (`ENABLED`, `ROLLBACK`, `ROLLBACK_CMD`, `WEBHOOK_URL`,
//! `DOCKER`, `COMPOSE`) govern each call as they are then.

use std::any::Any;
use std::io::Write as _;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::time::Duration;

use post_deploy_adapters::System;
use post_deploy_core::config::MAX_SECONDS;
// An answer names the pair it was asked about, cut as reasons quote outside text: a refused
// identifier may be megabytes.
use post_deploy_core::text::clip;
use post_deploy_core::{
    ArmRequest, Config, ConfigError, IdError, Monitor, MonitorError, RepoName, TickOutcome,
    WorkItem,
};
use serde::Serialize;
use serde_json::{Map, Value, json};

/// The host's side of one call: its variables, read when the call began, and the state
/// folder it gave (which overrides `ORCH_POST_DEPLOY_STATE_DIR`, like `--state-dir`).
#[derive(Debug)]
pub(crate) struct Env {
    /// The `ORCH_POST_DEPLOY_*` variables, or why they could not be read (a value that is not
    /// a `str`, a mapping that raised).
    pub(crate) vars: Result<Vec<(String, String)>, String>,
    /// The state folder, when the host gave one.
    pub(crate) state_dir: Option<PathBuf>,
}

/// What `arm` takes, as the host gave it.
#[derive(Debug)]
pub(crate) struct Arm {
    pub(crate) repo: String,
    pub(crate) work_item: String,
    pub(crate) health_url: String,
    pub(crate) container: Option<String>,
    pub(crate) service: Option<String>,
    pub(crate) previous_image: Option<String>,
    pub(crate) artefacts_dir: Option<PathBuf>,
}

/// Why a call could not run: the `error` object of the answer.
#[derive(Debug, Serialize)]
struct Fault {
    /// `identifier`, `config`, `argument`, `unsupported`, `state`, `busy` or `internal`.
    kind: &'static str,
    /// What the binary would have printed on stderr, naming the value.
    message: String,
}

impl Fault {
    fn new(kind: &'static str, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
}

impl From<IdError> for Fault {
    fn from(e: IdError) -> Self {
        Self::new("identifier", e.to_string())
    }
}

impl From<ConfigError> for Fault {
    fn from(e: ConfigError) -> Self {
        Self::new("config", e.to_string())
    }
}

impl From<MonitorError> for Fault {
    fn from(e: MonitorError) -> Self {
        let kind = match &e {
            MonitorError::Store(_) => "state",
            MonitorError::Config(_) => "config",
            MonitorError::Busy { .. } => "busy",
            _ => "argument",
        };
        Self::new(kind, e.to_string())
    }
}

/// Runs `f` on a monitor built from `env`: the configuration and the switches both come from
/// the variables read for this call.
fn with_monitor<T>(
    env: Env,
    f: impl FnOnce(&Monitor<'_>) -> Result<T, MonitorError>,
) -> Result<T, Fault> {
    let vars = env.vars.map_err(|why| Fault::new("config", why))?;
    let mut config = Config::from_vars(vars.iter().map(|(k, v)| (k, v)))?;
    if let Some(dir) = env.state_dir {
        config.state_dir = dir;
    }
    let system = System::with_source(&config, move || vars.clone());
    let monitor = Monitor::new(config, system.effects()).with_switches_from(system.switchboard());
    let out = f(&monitor);
    // What could not be written besides the answer (the metrics file), said once on the
    // process's stderr, as the binary says it.
    for notice in monitor.take_notices() {
        let _ = writeln!(std::io::stderr().lock(), "{notice}");
    }
    Ok(out?)
}

/// `arm`: the binary's JSON for `post-deploy arm`, or `armed: false` with the `error`.
pub(crate) fn arm(env: Env, args: Arm) -> Value {
    let (repo, work_item) = (args.repo.clone(), args.work_item.clone());
    let run = || -> Result<Value, Fault> {
        let req = ArmRequest {
            repo: RepoName::new(&args.repo)?,
            work_item: WorkItem::new(&args.work_item)?,
            health_url: args.health_url,
            container: args.container,
            service: args.service,
            previous_image: args.previous_image,
            // Recorded for the window's whole life: later ticks may run from another directory.
            artefacts_dir: args
                .artefacts_dir
                .map(|d| std::path::absolute(&d).unwrap_or(d)),
        };
        let out = with_monitor(env, |m| m.arm(&req))?;
        Ok(to_value(&out))
    };
    guarded(run).unwrap_or_else(|fault| {
        answer(
            json!({
                "armed": false,
                "already_armed": false,
                "applies": false,
                "deadline": null,
                "previous_image": null,
                "previous_image_source": null,
                "repo": clip(&repo),
                "work_item": clip(&work_item),
            }),
            fault,
        )
    })
}

/// `tick`: the binary's JSON for `post-deploy tick`, `requeue_after_s` in seconds as a float;
/// or `finished: true` with the `error`.
pub(crate) fn tick(env: Env, repo: String, work_item: String) -> Value {
    let run = || -> Result<Value, Fault> {
        let (r, w) = (RepoName::new(&repo)?, WorkItem::new(&work_item)?);
        let out = with_monitor(env, |m| m.tick(&r, &w))?;
        Ok(tick_value(&out, None))
    };
    guarded(run).unwrap_or_else(|fault| answer(ended(&repo, &work_item), fault))
}

/// `disarm`: the binary's JSON for `post-deploy disarm` (`disarmed`, and the window's result);
/// or `disarmed: false`, `finished: true` with the `error`.
pub(crate) fn disarm(env: Env, repo: String, work_item: String) -> Value {
    let run = || -> Result<Value, Fault> {
        let (r, w) = (RepoName::new(&repo)?, WorkItem::new(&work_item)?);
        let out = with_monitor(env, |m| m.disarm(&r, &w))?;
        // As the binary says it: the pair has a window, and it is now finished.
        let disarmed = out.deadline.is_some();
        Ok(tick_value(&out, Some(disarmed)))
    };
    guarded(run).unwrap_or_else(|fault| {
        let mut value = ended(&repo, &work_item);
        if let Value::Object(map) = &mut value {
            map.insert("disarmed".to_owned(), Value::Bool(false));
        }
        answer(value, fault)
    })
}

/// `status`: the binary's `status --json` array; or one object holding the `error`.
pub(crate) fn status(env: Env, repo: Option<String>, work_item: Option<String>) -> Value {
    let run = || -> Result<Value, Fault> {
        let r = repo.as_deref().map(RepoName::new).transpose()?;
        let w = work_item.as_deref().map(WorkItem::new).transpose()?;
        let rows = with_monitor(env, |m| m.status(r.as_ref(), w.as_ref()))?;
        Ok(to_value(&rows))
    };
    guarded(run).unwrap_or_else(|fault| Value::Array(vec![answer(json!({}), fault)]))
}

/// An operator's command on a window.
#[derive(Debug)]
pub(crate) enum Operator {
    /// Move the deadline later by this many seconds (`None`: a number too large to read).
    Extend(Option<i64>),
    /// Roll back now, through the same guards as an automatic rollback.
    Rollback,
    /// End the window now as good.
    Promote,
}

/// `extend`, `rollback`, `promote`: the binary's JSON for the same command (`done`,
/// `reason`, `finished`, `deadline`); or `done: false` with the `error`.
pub(crate) fn operator(env: Env, repo: String, work_item: String, op: Operator) -> Value {
    let run = || -> Result<Value, Fault> {
        let (r, w) = (RepoName::new(&repo)?, WorkItem::new(&work_item)?);
        let out = match op {
            Operator::Extend(by) => {
                let by = by
                    .and_then(|s| u64::try_from(s).ok())
                    .filter(|s| (1..=MAX_SECONDS).contains(s))
                    .ok_or_else(|| {
                        Fault::new(
                            "argument",
                            format!(
                                "invalid by_s={}: expected a whole number of seconds from 1 to \
                                 {MAX_SECONDS} (30 days)",
                                by.map_or_else(|| "(too large)".to_owned(), |s| s.to_string())
                            ),
                        )
                    })?;
                with_monitor(env, |m| m.extend(&r, &w, Duration::from_secs(by)))?
            }
            Operator::Rollback => with_monitor(env, |m| m.rollback(&r, &w))?,
            Operator::Promote => with_monitor(env, |m| m.promote(&r, &w))?,
        };
        Ok(to_value(&out))
    };
    guarded(run).unwrap_or_else(|fault| {
        answer(
            json!({
                "repo": clip(&repo),
                "work_item": clip(&work_item),
                "done": false,
                "finished": false,
                "deadline": null,
            }),
            fault,
        )
    })
}

/// `known_good`: the binary's `known-good --json` array for the repo, one container's or
/// service's when named; or one object holding the `error`.
pub(crate) fn known_good(
    env: Env,
    repo: String,
    container: Option<String>,
    service: Option<String>,
) -> Value {
    let run = || -> Result<Value, Fault> {
        let r = RepoName::new(&repo)?;
        if container.is_some() && service.is_some() {
            return Err(Fault::new(
                "argument",
                "give container= or service=, not both",
            ));
        }
        let target = container.as_deref().or(service.as_deref());
        let rows = with_monitor(env, |m| m.known_good(&r, target))?;
        Ok(to_value(&rows))
    };
    guarded(run).unwrap_or_else(|fault| Value::Array(vec![answer(json!({}), fault)]))
}

/// A tick's outcome as the binary prints it, but `requeue_after_s` as the float it is, and
/// `disarmed` first when `disarm` answers.
fn tick_value(out: &TickOutcome, disarmed: Option<bool>) -> Value {
    let mut value = to_value(out);
    if let Value::Object(map) = &mut value {
        let requeue = out.requeue_after.map(|d: Duration| d.as_secs_f64());
        map.insert("requeue_after_s".to_owned(), json!(requeue));
        if let Some(d) = disarmed {
            map.insert("disarmed".to_owned(), Value::Bool(d));
        }
    }
    value
}

/// The keys of a tick that did nothing: the shape a host reads, with nothing to report.
fn ended(repo: &str, work_item: &str) -> Value {
    json!({
        "repo": clip(repo),
        "work_item": clip(work_item),
        "verdict": "HEALTHY",
        "action": "NONE",
        "finished": true,
        "requeue_after_s": null,
        "probed": false,
        "ticks": 0,
        "consecutive_failures": 0,
        "window_requests": 0,
        "window_errors_5xx": 0,
        "recent_requests": 0,
        "recent_errors_5xx": 0,
        "rule": null,
        "deadline": null,
    })
}

/// `base` with the fault as its `error` and its message as the `reason`.
fn answer(mut base: Value, fault: Fault) -> Value {
    if let Value::Object(map) = &mut base {
        map.insert("reason".to_owned(), Value::String(fault.message.clone()));
        map.insert("error".to_owned(), to_value(&fault));
    }
    base
}

/// The value serde makes of `x`: the binary's JSON, key for key.
fn to_value<T: Serialize>(x: &T) -> Value {
    serde_json::to_value(x).unwrap_or_else(|e| {
        Value::Object(Map::from_iter([(
            "error".to_owned(),
            json!({ "kind": "internal", "message": format!("encoding the answer: {e}") }),
        )]))
    })
}

/// Runs `f`; a panic (which no public function of the core should raise) becomes a fault,
/// so a host's job loop never sees one.
fn guarded(f: impl FnOnce() -> Result<Value, Fault>) -> Result<Value, Fault> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|panic| {
        Err(Fault::new(
            "internal",
            format!("post-deploy panicked: {}", panic_message(&*panic)),
        ))
    })
}

fn panic_message(panic: &(dyn Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)")
}
