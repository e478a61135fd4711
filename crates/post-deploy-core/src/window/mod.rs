//! The window: its persisted state, what was armed (written once) and how far it got
//! (rewritten whole at every tick, bounded in size), its pure [`machine`], and the text of
//! its log artefact ([`logbook`]).

pub mod history;
pub mod logbook;
pub mod machine;
pub mod picture;
pub mod recent;

use std::collections::BTreeSet;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::alert::AlertEvent;
use crate::classify::{RuleName, Verdict};
use crate::config::WindowSettings;
use crate::decide::{ActionKind, RollbackPlan};
use crate::id::{RepoName, WorkItem};
use crate::prometheus::PrometheusSource;
use crate::signals::{HealthSample, Observations, ProbeFailure};
use crate::traits::{ContainerInfo, LogCursor};

/// The version of the state files' layout.
pub const STATE_VERSION: u32 = 1;

/// What a window watches, recorded at arm and never rewritten (`target.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WindowTarget {
    /// Layout version.
    pub version: u32,
    /// The repo.
    pub repo: RepoName,
    /// The work item.
    pub work_item: WorkItem,
    /// The health endpoint.
    pub health_url: String,
    /// The target container, if named.
    pub container: Option<String>,
    /// The target Swarm service, if named instead of a container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// The image to roll back to, if named.
    pub previous_image: Option<String>,
    /// Where the previous image came from: the flag, or the known-good images.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_image_source: Option<PreviousImageSource>,
    /// What the target ran at arm (fencing): the container, or the service as
    /// [`ServiceInfo::as_target`](crate::ServiceInfo::as_target) gives it (the image of its
    /// spec); `None` when it could not be inspected.
    pub armed_image: Option<ContainerInfo>,
    /// A service's spec at arm, as [`ServiceInfo::spec`](crate::ServiceInfo::spec)
    /// fingerprints it (fencing: a spec this window did not write supersedes it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub armed_spec: Option<String>,
    /// Where the log artefact goes; `None`: the window's folder.
    pub artefacts_dir: Option<PathBuf>,
    /// Thresholds, window and interval, as at arm.
    pub settings: WindowSettings,
    /// The Prometheus server the window's counts come from, as at arm; `None`: the
    /// container's access logs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prometheus: Option<PrometheusSource>,
    /// When it was armed.
    pub armed_at: DateTime<Utc>,
    /// When it ends (verification after a rollback may go past it).
    pub deadline: DateTime<Utc>,
}

impl WindowTarget {
    /// The name of what the window watches: its container or its service.
    #[must_use]
    pub fn target_name(&self) -> Option<&str> {
        self.container.as_deref().or(self.service.as_deref())
    }

    /// What the window watches, for people: `container NAME` or `service NAME`.
    #[must_use]
    pub fn describe(&self) -> String {
        match (&self.container, &self.service) {
            (Some(c), _) => format!("container {c}"),
            (None, Some(s)) => format!("service {s}"),
            (None, None) => "no container".to_owned(),
        }
    }
}

/// Where a window's previous image came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PreviousImageSource {
    /// `--previous-image`.
    Flag,
    /// The newest known-good image of the target that is on the engine and is not the one it
    /// runs ([`crate::known_good`]).
    KnownGood,
}

impl Progress {
    /// The window's deadline: the one at arm, or the one an operator moved it to.
    #[must_use]
    pub fn deadline(&self, target: &WindowTarget) -> DateTime<Utc> {
        self.deadline.unwrap_or(target.deadline)
    }
}

/// Watching or finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Ticks probe and act.
    Watching,
    /// Ticks replay the outcome.
    Finished,
}

impl Phase {
    /// The word `status` shows.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Watching => "watching",
            Self::Finished => "finished",
        }
    }
}

/// Where a rollback stands. Written ahead (`Intended`) before anything is run, so a crash can
/// never lead to a second one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
#[non_exhaustive]
pub enum RollbackState {
    /// Decided and about to run; found on load, it means a crash interrupted it.
    Intended,
    /// It ran and succeeded (or a crash was reconciled: the container runs the previous image).
    Done {
        /// How it is known.
        detail: String,
    },
    /// It ran and failed.
    Failed {
        /// Why.
        detail: String,
    },
    /// A crash left its outcome unknown; it is never run again.
    Unknown {
        /// Why.
        detail: String,
    },
}

/// The window's one rollback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RollbackRecord {
    /// How it was (to be) carried out.
    pub plan: RollbackPlan,
    /// Where it stands.
    #[serde(flatten)]
    pub state: RollbackState,
    /// When it was decided.
    pub decided_at: DateTime<Utc>,
    /// An operator asked for it (`post-deploy rollback`), not the signals.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub by_operator: bool,
}

impl RollbackRecord {
    /// Whether it put the target on another image (or may have): success or unknown.
    #[must_use]
    pub fn took_effect(&self) -> bool {
        matches!(
            self.state,
            RollbackState::Done { .. } | RollbackState::Unknown { .. }
        )
    }
}

/// What a window keeps of its rollback apart from its progress (`rollback.json`): written
/// ahead of `window.json` whenever the rollback record changes, so a damaged `window.json`
/// never loses the record of a rollback the window made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RollbackCopy {
    /// The rollback record.
    pub rollback: RollbackRecord,
    /// Whether the window had been DEGRADED when it was written.
    pub ever_degraded: bool,
    /// The first degradation's reason.
    pub degraded_reason: Option<String>,
    /// Ticks that probed when it was written (the window made at least these).
    pub ticks: u64,
}

impl RollbackCopy {
    /// The copy of `p`'s rollback, when it has one.
    #[must_use]
    pub fn of(p: &Progress) -> Option<Self> {
        Some(Self {
            rollback: p.rollback.clone()?,
            ever_degraded: p.ever_degraded,
            degraded_reason: p.degraded_reason.clone(),
            ticks: p.ticks,
        })
    }

    /// Puts the record back into the progress that replaced a damaged one. A rollback only
    /// intended when the state was lost may have run: its outcome is unknown, and it is never
    /// run again.
    pub fn restore(self, p: &mut Progress) {
        let mut rollback = self.rollback;
        if rollback.state == RollbackState::Intended {
            rollback.state = RollbackState::Unknown {
                detail: "the window's state was damaged while its rollback was in flight: its \
                         outcome is unknown and it is not run again"
                    .to_owned(),
            };
        }
        p.rollback = Some(rollback);
        p.ever_degraded = self.ever_degraded;
        p.degraded_reason = self.degraded_reason;
        p.ticks = self.ticks;
    }
}

/// Why a window finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum EndReason {
    /// The deadline passed.
    Deadline,
    /// Health came back after a rollback.
    Recovered,
    /// Verification after a rollback ended without recovery.
    NotRecovered,
    /// The container was found on an image this window did not put there.
    Superseded,
    /// An operator disarmed it.
    Disarmed,
    /// The kill switch was off.
    Disabled,
    /// Its target record was damaged.
    Damaged,
    /// An operator promoted it: it ended as good.
    Promoted,
}

/// The final result, replayed by every tick after the window finished.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    /// DEGRADED if the window was ever DEGRADED.
    pub verdict: Verdict,
    /// ROLLBACK if a rollback took effect, ALERT_ONLY after any other degradation, else NONE.
    pub action: ActionKind,
    /// After a degradation: whether health came back before the window finished.
    pub recovered: Option<bool>,
    /// Why it finished, for programs.
    pub end: EndReason,
    /// Why it finished, for people.
    pub reason: String,
    /// When.
    pub at: DateTime<Utc>,
    /// It finished never DEGRADED, but a signal it was armed to read was missing in more than
    /// half of its probing ticks.
    #[serde(default)]
    pub blind: bool,
}

/// The last tick's result, for `status` and for duplicate ticks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastTick {
    /// Its verdict.
    pub verdict: Verdict,
    /// Its action.
    pub action: ActionKind,
    /// Its reason.
    pub reason: String,
    /// Its health probe, when one was made.
    pub health: Option<HealthSample>,
    /// The rule that fired, when one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<RuleName>,
}

/// How far a window got (`window.json`). Bounded in size whatever the number of ticks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Progress {
    /// Layout version.
    pub version: u32,
    /// Watching or finished.
    pub phase: Phase,
    /// Ticks that probed.
    pub ticks: u64,
    /// Of those, ticks whose 5xx signal was missing although the window was armed to read
    /// one (a container or Prometheus named): a window missing it in more than half is blind.
    #[serde(default)]
    pub ratio_missing: u64,
    /// When the latest probe was made.
    pub last_probe_at: Option<DateTime<Utc>>,
    /// The window's observations so far.
    pub observations: Observations,
    /// Observations since the rollback, for verifying recovery.
    pub since_rollback: Option<Observations>,
    /// Ticks since the rollback.
    pub verification_ticks: u32,
    /// Where the next log read starts.
    pub log_cursor: LogCursor,
    /// The window was DEGRADED at some tick.
    pub ever_degraded: bool,
    /// The first degradation's reason.
    pub degraded_reason: Option<String>,
    /// The window's rollback, if it decided one.
    pub rollback: Option<RollbackRecord>,
    /// Alerts already sent (once per window per event).
    pub alerts_sent: BTreeSet<AlertEvent>,
    /// The latest tick.
    pub last: Option<LastTick>,
    /// Set when an earlier `window.json` was damaged: the name it was kept under. Such a
    /// window takes no action any more.
    pub damaged: Option<String>,
    /// The final result, once finished.
    pub outcome: Option<Outcome>,
    /// The deadline an operator moved the window's to (`post-deploy extend`); `None`: the
    /// deadline at arm.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<DateTime<Utc>>,
    /// The counts of the ticks in the recent span, with their times (bounded: [`recent`]).
    #[serde(default, skip_serializing_if = "recent::RecentTicks::is_empty")]
    pub recent: recent::RecentTicks,
    /// The rule of the first DEGRADED tick (`5xx`, `5xx_recent`, ...), which a finished
    /// window's final result repeats.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub degraded_rule: Option<RuleName>,
    /// The ticks that probed, for the window's picture and `status` (bounded: see
    /// [`history`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<history::TickPoint>,
    /// When the window first became DEGRADED (its rule: `degraded_rule`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub degraded_at: Option<DateTime<Utc>>,
}

impl Progress {
    /// Cuts every text it holds to its bound ([`crate::text`]): reasons and rollback details
    /// to [`MAX_REASON`](crate::text::MAX_REASON) characters, a health probe's failure to a
    /// quote. The last bound before it is stored, so no input can grow `window.json` past its
    /// cap: its other fields are numbers, times, names and sets of known size.
    pub fn bound_text(&mut self) {
        use crate::text::{bound_reason_in_place, quote};
        if let Some(reason) = self.degraded_reason.as_mut() {
            bound_reason_in_place(reason);
        }
        if let Some(last) = self.last.as_mut() {
            bound_reason_in_place(&mut last.reason);
            if let Some(HealthSample {
                outcome: Err(ProbeFailure::Other { detail }),
                ..
            }) = last.health.as_mut()
            {
                *detail = quote(detail);
            }
        }
        if let Some(record) = self.rollback.as_mut() {
            match &mut record.state {
                RollbackState::Done { detail }
                | RollbackState::Failed { detail }
                | RollbackState::Unknown { detail } => bound_reason_in_place(detail),
                RollbackState::Intended => {}
            }
        }
        if let Some(outcome) = self.outcome.as_mut() {
            bound_reason_in_place(&mut outcome.reason);
        }
        if let Some(kept_as) = self.damaged.as_mut() {
            bound_reason_in_place(kept_as);
        }
    }

    /// A window that has not ticked yet; its logs are read from `armed_at`.
    #[must_use]
    pub fn new(armed_at: DateTime<Utc>) -> Self {
        Self {
            version: STATE_VERSION,
            phase: Phase::Watching,
            ticks: 0,
            ratio_missing: 0,
            last_probe_at: None,
            observations: Observations::default(),
            since_rollback: None,
            verification_ticks: 0,
            log_cursor: LogCursor::at(armed_at),
            ever_degraded: false,
            degraded_reason: None,
            rollback: None,
            alerts_sent: BTreeSet::new(),
            last: None,
            damaged: None,
            outcome: None,
            deadline: None,
            history: Vec::new(),
            degraded_at: None,
            recent: recent::RecentTicks::default(),
            degraded_rule: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::text::{MAX_QUOTED, MAX_REASON};

    #[test]
    fn every_text_of_the_progress_is_bounded_before_it_is_stored() {
        let huge = "x".repeat(2 * 1024 * 1024);
        let mut p = Progress::new(DateTime::UNIX_EPOCH);
        p.degraded_reason = Some(huge.clone());
        p.last = Some(LastTick {
            verdict: Verdict::Degraded,
            action: ActionKind::Rollback,
            reason: huge.clone(),
            rule: None,
            health: Some(HealthSample::fail(
                ProbeFailure::Other {
                    detail: huge.clone(),
                },
                Duration::from_millis(1),
            )),
        });
        p.rollback = Some(RollbackRecord {
            plan: RollbackPlan::Docker {
                container: "api-1".into(),
                previous_image: "api:1.0".into(),
                previous_image_id: "sha256:old".into(),
            },
            state: RollbackState::Failed {
                detail: huge.clone(),
            },
            decided_at: DateTime::UNIX_EPOCH,
            by_operator: false,
        });
        p.damaged = Some(huge.clone());
        p.bound_text();
        let json = serde_json::to_vec(&p).unwrap();
        // Four reasons and one quote, each within its bound, and the rest.
        assert!(
            json.len() < 5 * MAX_REASON * 4 + MAX_QUOTED * 4,
            "{} bytes",
            json.len()
        );
        let last = p.last.as_ref().unwrap();
        assert_eq!(last.reason.chars().count(), MAX_REASON);
        let Some(HealthSample {
            outcome: Err(ProbeFailure::Other { detail }),
            ..
        }) = &last.health
        else {
            panic!("{last:?}")
        };
        assert_eq!(detail.chars().count(), MAX_QUOTED);
    }
}
