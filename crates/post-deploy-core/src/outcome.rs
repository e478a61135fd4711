//! What the driver answers: an arm, a tick, a window as `status` shows it. The binary prints
//! these as JSON, with the keys the contract names.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::classify::{RuleName, Verdict};
use crate::decide::ActionKind;
use crate::id::{RepoName, WorkItem};
use crate::window::PreviousImageSource;

/// What arm did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ArmOutcome {
    /// The pair has a window (new or earlier).
    pub armed: bool,
    /// It had one before this call.
    pub already_armed: bool,
    /// The monitor applies to the repo.
    pub applies: bool,
    /// Why, for people.
    pub reason: String,
    /// When the window ends; `None` when not armed.
    pub deadline: Option<DateTime<Utc>>,
    /// The image the window rolls back to, as recorded (for example `app:1.4`).
    pub previous_image: Option<String>,
    /// Where it came from: `flag`, `known_good`, or `None` when there is none.
    pub previous_image_source: Option<PreviousImageSource>,
    /// The repo.
    pub repo: RepoName,
    /// The work item.
    pub work_item: WorkItem,
}

/// What an operator command (`extend`, `rollback`, `promote`) did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OperatorOutcome {
    /// The repo.
    pub repo: RepoName,
    /// The work item.
    pub work_item: WorkItem,
    /// The command was carried out; `false`: refused (or a rollback that failed), and why.
    pub done: bool,
    /// What was done, or why not.
    pub reason: String,
    /// The window has finished.
    pub finished: bool,
    /// The window's deadline after the command; `None` when there is no window.
    pub deadline: Option<DateTime<Utc>>,
}

/// What one tick did, or the final result of a finished window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TickOutcome {
    /// The repo.
    pub repo: RepoName,
    /// The work item.
    pub work_item: WorkItem,
    /// This tick's verdict; for a finished window, DEGRADED if it ever was.
    pub verdict: Verdict,
    /// This tick's action; for a finished window, the window's.
    pub action: ActionKind,
    /// The window has finished: the host stops ticking it.
    pub finished: bool,
    /// When to tick again; `None` when finished.
    #[serde(rename = "requeue_after_s", serialize_with = "ser_secs")]
    pub requeue_after: Option<Duration>,
    /// Why, with the numbers.
    pub reason: String,
    /// After a degradation, once finished: whether health came back.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recovered: Option<bool>,
    /// Once finished: whether the window was blind (never DEGRADED, but a signal it was armed
    /// to read was missing in more than half of its probing ticks).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blind: Option<bool>,
    /// This tick probed the target.
    pub probed: bool,
    /// Ticks that probed, this window.
    pub ticks: u64,
    /// Consecutive failed health probes.
    pub consecutive_failures: u32,
    /// Requests counted in the window so far.
    pub window_requests: u64,
    /// 5xx answers among them.
    pub window_errors_5xx: u64,
    /// Requests counted in the recent span (the window's when the recent rules are off).
    pub recent_requests: u64,
    /// 5xx answers among them.
    pub recent_errors_5xx: u64,
    /// The rule that fired at this tick (for a finished window: at its first DEGRADED
    /// tick); `None` when none did.
    pub rule: Option<RuleName>,
    /// With the latency rule on: requests with a known duration in the window (from
    /// Prometheus: the requests it counted, over which its histogram's quantile is judged).
    /// `None` (no key) when the rule is off.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window_timed_requests: Option<u64>,
    /// With the latency rule on: of the timed requests, those slower than `LATENCY_MS`;
    /// `Some(None)` (null) from Prometheus, whose histogram gives a quantile, not this count.
    /// `None` (no key) when the rule is off.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window_slow_requests: Option<Option<u64>>,
    /// With the latency rule on and a Prometheus latency histogram: the window's quantile in
    /// milliseconds as last read, `Some(None)` (null) before one was. `None` (no key)
    /// otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window_latency_ms: Option<Option<f64>>,
    /// With the latency rule on: timed requests in the recent span (as for the window).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recent_timed_requests: Option<u64>,
    /// With the latency rule on: of those, slower than `LATENCY_MS` (as for the window).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recent_slow_requests: Option<Option<u64>>,
    /// When the window ends; `None` when no window.
    pub deadline: Option<DateTime<Utc>>,
}

#[expect(
    clippy::ref_option,
    reason = "serde's serialize_with passes a reference to the field"
)]
fn ser_secs<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        // Whole seconds, rounded up so a host never ticks early.
        Some(d) => s.serialize_u64(d.as_secs().saturating_add(u64::from(d.subsec_nanos() > 0))),
        None => s.serialize_none(),
    }
}

/// One window, as `status` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WindowStatus {
    /// The repo.
    pub repo: RepoName,
    /// The work item.
    pub work_item: WorkItem,
    /// `watching` or `finished`.
    pub phase: String,
    /// DEGRADED if the window ever was, else HEALTHY.
    pub verdict: Verdict,
    /// ROLLBACK if a rollback took effect, ALERT_ONLY after another degradation, else NONE.
    pub action: ActionKind,
    /// Ticks that probed.
    pub ticks: u64,
    /// When it was armed.
    pub armed_at: Option<DateTime<Utc>>,
    /// When it ends.
    pub deadline: Option<DateTime<Utc>>,
    /// The latest reason.
    pub reason: String,
    /// The rule of the window's first DEGRADED tick; `None` while it was never DEGRADED.
    pub rule: Option<RuleName>,
    /// Requests counted in the window so far, as the tick prints it.
    pub window_requests: u64,
    /// 5xx answers among them.
    pub window_errors_5xx: u64,
    /// Requests counted in the recent span at the latest tick (the window's when the recent
    /// rules are off).
    pub recent_requests: u64,
    /// 5xx answers among them.
    pub recent_errors_5xx: u64,
    /// With the latency rule on: requests with a known duration in the window.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window_timed_requests: Option<u64>,
    /// With the latency rule on: of those, slower than `LATENCY_MS` (null from Prometheus).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window_slow_requests: Option<Option<u64>>,
    /// With the latency rule on: timed requests in the recent span.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recent_timed_requests: Option<u64>,
    /// With the latency rule on: of those, slower than `LATENCY_MS`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recent_slow_requests: Option<Option<u64>>,
    /// The latest ticks at a glance, oldest first, one character each
    /// ([`strip`](crate::window::history::strip)).
    pub strip: String,
}
