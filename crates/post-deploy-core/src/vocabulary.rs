//! The shared nouns: the verdict, the action kind, the alert and the ratio.
//!
//! Every behaviour module (`classify`, `decide`, `alert`, `traits`, `config`, `prometheus`)
//! speaks of these; none of them owns them. They live here, depending on nothing but the
//! identifiers, so the behaviour modules depend on this module and not on each other. Each
//! is also re-exported where it lived before (`classify::Verdict`, `decide::ActionKind`,
//! `alert::Alert`, `config::Ratio`).

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::id::{RepoName, WorkItem};

/// HEALTHY or DEGRADED.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Verdict {
    /// Neither rule fired (missing data is HEALTHY).
    Healthy,
    /// A rule fired.
    Degraded,
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Healthy => "HEALTHY",
            Self::Degraded => "DEGRADED",
        })
    }
}

/// NONE, ROLLBACK or ALERT_ONLY: the word the contract's JSON uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ActionKind {
    /// Nothing to do.
    None,
    /// Roll the target back.
    Rollback,
    /// Report, do not touch the target.
    AlertOnly,
}

impl fmt::Display for ActionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::None => "NONE",
            Self::Rollback => "ROLLBACK",
            Self::AlertOnly => "ALERT_ONLY",
        })
    }
}

/// A ratio in `0..=1`.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize)]
#[serde(transparent)]
pub struct Ratio(pub(crate) f64);

impl Ratio {
    /// Parses a ratio; `None` for anything that is not a finite number in `0..=1`.
    #[must_use]
    pub fn new(value: f64) -> Option<Self> {
        (value.is_finite() && (0.0..=1.0).contains(&value)).then_some(Self(value))
    }

    /// The ratio as a number in `0..=1`.
    #[must_use]
    pub fn get(self) -> f64 {
        self.0
    }
}

impl<'de> Deserialize<'de> for Ratio {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = f64::deserialize(d)?;
        Self::new(raw)
            .ok_or_else(|| serde::de::Error::custom(format!("ratio {raw} is not in 0..1")))
    }
}

impl fmt::Display for Ratio {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The events a window alerts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum AlertEvent {
    /// The window became DEGRADED (with the action taken).
    Degraded,
    /// A rollback ran and failed.
    RollbackFailed,
    /// A crash left a rollback's outcome unknown; it is not run again.
    RollbackUnknown,
    /// The window finished with the degradation still standing.
    NotRecovered,
    /// Health came back after a degradation.
    Recovered,
    /// The window finished never DEGRADED but blind: a signal it was armed to read was
    /// missing in more than half of its probing ticks.
    Blind,
}

impl AlertEvent {
    /// The event's name, as in the JSON.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Degraded => "degraded",
            Self::RollbackFailed => "rollback_failed",
            Self::RollbackUnknown => "rollback_unknown",
            Self::NotRecovered => "not_recovered",
            Self::Recovered => "recovered",
            Self::Blind => "blind",
        }
    }
}

impl fmt::Display for AlertEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which window an alert is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertSubject {
    /// The target repo.
    pub repo: RepoName,
    /// The work item.
    pub work_item: WorkItem,
    /// The container, if one was named.
    pub container: Option<String>,
}

/// One alert, as delivered (the webhook's JSON body).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    /// What happened.
    pub event: AlertEvent,
    /// The target repo.
    pub repo: RepoName,
    /// The work item.
    pub work_item: WorkItem,
    /// The window's verdict.
    pub verdict: Verdict,
    /// The action taken.
    pub action: ActionKind,
    /// Why, with numbers.
    pub reason: String,
    /// The container, if one was named.
    pub container: Option<String>,
    /// The Swarm service, if one was named instead of a container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// When.
    pub at: DateTime<Utc>,
    /// One line for chat tools.
    pub text: String,
}

impl Alert {
    /// Builds an alert about `subject` and its chat line.
    #[must_use]
    pub fn new(
        event: AlertEvent,
        subject: &AlertSubject,
        verdict: Verdict,
        action: ActionKind,
        reason: String,
        at: DateTime<Utc>,
    ) -> Self {
        let AlertSubject {
            repo,
            work_item,
            container,
        } = subject;
        let headline = match event {
            AlertEvent::Degraded => format!("production DEGRADED after deploy, action {action}"),
            AlertEvent::RollbackFailed => "rollback FAILED".to_owned(),
            AlertEvent::RollbackUnknown => {
                "rollback outcome UNKNOWN after a crash; not run again".to_owned()
            }
            AlertEvent::NotRecovered => {
                "degradation NOT recovered by the end of the window".to_owned()
            }
            AlertEvent::Recovered => "recovered: health is back".to_owned(),
            AlertEvent::Blind => {
                "window ended BLIND: it could not see what it was armed to watch".to_owned()
            }
        };
        // The reason is a window's, already bounded; cut again so no alert carries more.
        let reason = crate::text::bound_reason(&reason);
        let text = format!("[post-deploy] {repo} {work_item}: {headline}: {reason}");
        Self {
            event,
            repo: repo.clone(),
            work_item: work_item.clone(),
            verdict,
            action,
            reason,
            container: container.clone(),
            service: None,
            at,
            text,
        }
    }
}
