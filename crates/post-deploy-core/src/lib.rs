//! post-deploy-core: decides whether production degraded after a deploy, and what to do.
//!
//! When a deploy reaches `done`, a host *arms* an observation window for (repo, work item)
//! and then *ticks* it from its job loop every interval. Each tick probes the target
//! ([`probe_signals`]), classifies the window ([`classify()`]), decides ([`decide_action`]),
//! carries the decision out ([`run_rollback`], alerts), persists, and says when to tick again.
//! [`Monitor`] is that loop step; the pure functions are exported for hosts that compose
//! their own.
//!
//! # In scope
//!
//! - Configuration from a map of `ORCH_POST_DEPLOY_*` variables ([`Config::from_vars`]),
//!   identifiers that cannot escape their folder ([`RepoName`], [`WorkItem`]).
//! - The deterministic rules: classification and the action a verdict leads to, including
//!   the self-hosting guard (the orchestrator's own repo and container are ALERT_ONLY).
//! - The access-log parser behind the 5xx ratio ([`access_log`]).
//! - The window's state under `.post-deploy-state-<repo>/<work item>/`: atomic writes, a
//!   lock per window, a write-ahead rollback intent, damaged files kept aside.
//!
//! # Out of scope
//!
//! - Sockets, processes and clock reads: HTTP, the docker CLI, webhooks and the clock come in
//!   through the [`HttpProbe`], [`ContainerControl`], [`AlertSink`] and [`Clock`] traits, which
//!   the host implements (the `post-deploy` binary has ureq, docker CLI and webhook adapters).
//! - Scheduling: the host runs the next tick after [`TickOutcome::requeue_after`].
//!
//! No public function panics, on any input: errors are values.

#![cfg_attr(
    test,
    allow(
        clippy::arithmetic_side_effects,
        clippy::indexing_slicing,
        reason = "tests compute and index freely"
    )
)]

pub mod access_log;
pub mod alert;
pub mod classify;
pub mod config;
pub mod decide;
pub mod id;
pub mod logbook;
pub mod machine;
pub mod monitor;
pub mod rollback;
pub mod signals;
pub mod store;
pub mod traits;
pub mod window;

pub use access_log::{AccessLogCounter, LogCounts, LogFormat};
pub use alert::{Alert, AlertEvent, AlertSubject};
pub use classify::{Classification, Rule, Verdict, classify};
pub use config::{Config, ConfigError, RollbackMode, Switches, WindowSettings};
pub use decide::{
    Action, ActionKind, AlertOnlyReason, Decision, Facts, ImageCheck, RollbackPlan, decide_action,
};
pub use id::{IdError, RepoName, WorkItem};
pub use monitor::{
    ArmOutcome, ArmRequest, Effects, Monitor, MonitorError, NoTrace, Step, TickOutcome, Trace,
    WindowStatus,
};
pub use rollback::run_rollback;
pub use signals::{
    HealthSample, HealthSignal, LogSignal, Observations, ProbeFailure, Signals, probe_signals,
};
pub use store::StoreError;
pub use traits::{
    AlertError, AlertSink, Clock, CommandOutcome, ContainerControl, ContainerInfo, ControlError,
    HttpProbe, LogCursor, ProbeError, ResumedRollback,
};
