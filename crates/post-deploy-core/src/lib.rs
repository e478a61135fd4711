//! post-deploy-core: decides whether production degraded after a deploy, and what to do.
//!
//! When a deploy reaches `done`, a host *arms* an observation window for (repo, work item)
//! and then *ticks* it from its job loop every interval. Each tick probes the target
//! ([`probe_signals`]), classifies the window ([`classify()`]), decides ([`decide_action`]),
//! carries the decision out ([`run_rollback`], alerts), persists, and says when to tick again
//! ([`TickOutcome::requeue_after`]).
//!
//! # The surface
//!
//! - **Configuration and identifiers**: [`Config`] (from a map of `ORCH_POST_DEPLOY_*`
//!   variables), [`Switches`], [`WindowSettings`], [`RollbackMode`], [`VarSource`] (where a
//!   host's switches are read from at every tick), [`ConfigError`]; [`RepoName`], [`WorkItem`].
//! - **The driver and its outcomes**: [`Monitor`] (arm, tick, disarm, status) over
//!   [`Effects`] and a [`Store`]; [`ArmRequest`], [`ArmOutcome`], [`TickOutcome`],
//!   [`WindowStatus`], [`MonitorError`]; [`Trace`] and [`Step`] to observe a tick.
//! - **The pure steps**, for hosts that compose their own loop: [`probe_signals`],
//!   [`classify()`], [`decide_action`], [`run_rollback`], and their values ([`Signals`],
//!   [`Observations`], [`Classification`], [`Verdict`], [`Facts`], [`Action`], ...).
//! - **The traits a host implements** (or takes from the `post-deploy-adapters` crate):
//!   [`HttpProbe`], [`Clock`], [`ContainerControl`] (Docker Swarm services through its
//!   `*_service` methods: [`ServiceInfo`], [`ServiceRollback`]), [`AlertSink`], and their
//!   value types.
//! - **Modules** for what goes deeper: [`config`] (every variable), [`store`] (the [`Store`]
//!   trait, [`FileStore`], [`MemoryStore`]), [`window`] (the window's state and its pure
//!   transition, [`window::machine`]), [`access_log`] (the parser behind the 5xx ratio),
//!   [`prometheus`] (the queries when a Prometheus server is the source of the counts),
//!   [`replay`] (a window's rules over a recorded log and health trace, on a virtual clock),
//!   [`text`] (the bounds of reasons and of the outside text they quote).
//!
//! # In scope
//!
//! - The deterministic rules: classification and the action a verdict leads to, including
//!   the self-hosting guard (the orchestrator's own repo, container and Swarm service are
//!   ALERT_ONLY).
//! - The window as a pure state machine, and its driver: locks, a write-ahead rollback
//!   intent, damaged state kept aside, the window's state under
//!   `.post-deploy-state-<repo>/<work item>/`.
//! - The access-log parser behind the 5xx ratio.
//!
//! # Out of scope
//!
//! - Sockets, processes and clock reads: HTTP, the docker CLI, webhooks and the clock come in
//!   through the traits; the real ones (ureq, docker CLI, webhook, system clock) are the
//!   `post-deploy-adapters` crate.
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
pub mod binomial;
pub mod config;
pub mod store;
pub mod window;

mod alert;
mod classify;
mod decide;
mod driver;
mod id;
pub mod known_good;
pub mod metrics;
mod outcome;
pub mod prometheus;
pub mod replay;
mod rollback;
mod signals;
pub mod text;
mod traits;
mod url;
mod vocabulary;

pub use access_log::{LogCounts, LogFormat};
pub use alert::{Alert, AlertEvent, AlertSubject};
pub use classify::{
    Classification, LatencyCheck, RatioCheck, Rule, RuleName, Span, Tail, Verdict, classify,
};
pub use config::{
    Confidence, Config, ConfigError, RollbackMode, Switches, VarSource, WindowSettings,
};
pub use decide::{
    Action, ActionKind, AlertOnlyReason, Decision, Facts, ImageCheck, RollbackPlan, decide_action,
};
pub use driver::{ArmRequest, Effects, Monitor, MonitorError, Step, Trace};
pub use id::{IdError, RepoName, WorkItem};
pub use outcome::{ArmOutcome, OperatorOutcome, TickOutcome, WindowStatus};
pub use rollback::{ROLLBACK_COMMAND_TIMEOUT, RollbackTarget, run_rollback};
pub use signals::{
    HealthSample, HealthSignal, LatencyReading, LogRead, LogSignal, LogTiming, Millis,
    Observations, ProbeFailure, RecentTotals, Signals, SpanCounts, WindowTotals, log_signal,
    probe_signals,
};
pub use store::{FileStore, MemoryStore, Store, StoreError};
pub use traits::{
    AlertError, AlertSink, BehindMark, Clock, CommandOutcome, ContainerControl, ContainerInfo,
    ControlError, HttpProbe, LogCursor, ProbeError, ResumedRollback, ServiceInfo, ServiceRollback,
    same_service_image,
};
