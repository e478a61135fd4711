//! The windows' metrics for Prometheus: the records kept in
//! `<state dir>/.post-deploy-metrics.json` ([`Records`]) and the text format written to
//! `ORCH_POST_DEPLOY_METRICS_FILE` ([`Records::text`]). Pure: the driver loads, locks and
//! writes.
//!
//! The counters cannot lose or double an increment through a crash: a window is counted
//! from its own saved state, and the records say which watching windows are not counted
//! yet. A window enters [`Records::watching`] while it watches; it leaves it in the very
//! write that adds it to `post_deploy_windows_finished_total`, so a crash before that write
//! leaves it to be counted by the next one, and a crash after it finds nothing left to
//! count. A rollback is counted once per window the same way ([`Watching::rollback_counted`]).
//! Each write looks at the watching windows only, so its cost does not grow with the number
//! of windows that ever finished.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::classify::Verdict;
use crate::decide::ActionKind;
use crate::window::{Phase, Progress, RollbackState, WindowTarget};

/// The layout version of the records.
pub const RECORDS_VERSION: u32 = 1;

/// What the metrics file is made of, kept between commands.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Records {
    /// Layout version.
    pub version: u32,
    /// `post_deploy_windows_finished_total`, by (repo, verdict, action).
    pub finished: Vec<FinishedCount>,
    /// `post_deploy_rollbacks_total`, by repo.
    pub rollbacks: BTreeMap<String, u64>,
    /// `post_deploy_blind_windows_total`, by repo.
    pub blind: BTreeMap<String, u64>,
    /// The windows that watch, by `repo/work item`.
    pub watching: BTreeMap<String, Watching>,
    /// `post_deploy_last_tick_timestamp_seconds`: the latest tick that ran.
    pub last_tick: Option<DateTime<Utc>>,
}

/// One series of `post_deploy_windows_finished_total`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FinishedCount {
    /// The repo.
    pub repo: String,
    /// `HEALTHY` or `DEGRADED`.
    pub verdict: Verdict,
    /// `NONE`, `ROLLBACK` or `ALERT_ONLY`.
    pub action: ActionKind,
    /// Windows that finished so.
    pub count: u64,
}

/// A watching window, as the metrics show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Watching {
    /// The repo.
    pub repo: String,
    /// The work item.
    pub work_item: String,
    /// Requests in the window so far.
    pub requests: u64,
    /// Of those, 5xx answers.
    pub errors_5xx: u64,
    /// The window was DEGRADED at some tick.
    pub degraded: bool,
    /// Its deadline.
    pub deadline: DateTime<Utc>,
    /// Its rollback is in `post_deploy_rollbacks_total` already.
    pub rollback_counted: bool,
}

/// A window as the records need it, read from its saved state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WindowView {
    /// It watches.
    Watching {
        /// Requests so far.
        requests: u64,
        /// 5xx answers so far.
        errors_5xx: u64,
        /// It was DEGRADED at some tick.
        degraded: bool,
        /// Its deadline.
        deadline: DateTime<Utc>,
        /// A rollback ran (its outcome is known, or a crash left it unknown).
        rolled_back: bool,
    },
    /// It finished so.
    Finished {
        /// The final verdict.
        verdict: Verdict,
        /// The final action.
        action: ActionKind,
        /// A rollback ran.
        rolled_back: bool,
        /// It finished blind.
        blind: bool,
    },
    /// There is no window (its folder was removed), or its state cannot be read now.
    Unknown,
}

impl WindowView {
    /// The view of a window's saved state.
    #[must_use]
    pub fn of(target: &WindowTarget, progress: &Progress) -> Self {
        let rolled_back = ran(progress);
        match (&progress.outcome, progress.phase) {
            (Some(_), _) => Self::of_finished(progress),
            (None, Phase::Watching) => Self::Watching {
                requests: progress.observations.requests,
                errors_5xx: progress.observations.errors_5xx,
                degraded: progress.ever_degraded,
                deadline: progress.deadline(target),
                rolled_back,
            },
            // Finished without an outcome is no state the project writes.
            (None, Phase::Finished) => Self::Unknown,
        }
    }
}

impl WindowView {
    /// The view of a window that finished, from its progress alone (its target may be
    /// damaged); [`WindowView::Unknown`] when it has no outcome.
    #[must_use]
    pub fn of_finished(progress: &Progress) -> Self {
        let Some(o) = &progress.outcome else {
            return Self::Unknown;
        };
        Self::Finished {
            verdict: o.verdict,
            action: o.action,
            rolled_back: ran(progress),
            blind: o.blind,
        }
    }
}

/// Whether the window's rollback ran: its outcome is known, or a crash left it unknown.
fn ran(progress: &Progress) -> bool {
    progress
        .rollback
        .as_ref()
        .is_some_and(|r| r.state != RollbackState::Intended)
}

/// The key of a window in [`Records::watching`].
#[must_use]
pub fn window_key(repo: &str, work_item: &str) -> String {
    format!("{repo}/{work_item}")
}

fn bump(counter: &mut u64) {
    *counter = counter.saturating_add(1);
}

impl Records {
    /// No counts yet.
    #[must_use]
    pub fn new() -> Self {
        Self {
            version: RECORDS_VERSION,
            ..Self::default()
        }
    }

    /// Brings the records up to a window's saved state: a watching window is listed (and
    /// its rollback counted once); a listed window that finished is counted and unlisted in
    /// the same change; a window no longer there is unlisted. A window that is not listed
    /// and finished was counted already, or never watched while metrics were kept.
    pub fn sync(&mut self, repo: &str, work_item: &str, view: &WindowView) {
        let key = window_key(repo, work_item);
        match *view {
            WindowView::Watching {
                requests,
                errors_5xx,
                degraded,
                deadline,
                rolled_back,
            } => {
                let entry = self.watching.entry(key).or_insert_with(|| Watching {
                    repo: repo.to_owned(),
                    work_item: work_item.to_owned(),
                    requests,
                    errors_5xx,
                    degraded,
                    deadline,
                    rollback_counted: false,
                });
                entry.requests = requests;
                entry.errors_5xx = errors_5xx;
                entry.degraded = degraded;
                entry.deadline = deadline;
                if rolled_back && !entry.rollback_counted {
                    entry.rollback_counted = true;
                    bump(self.rollbacks.entry(repo.to_owned()).or_default());
                }
            }
            WindowView::Finished {
                verdict,
                action,
                rolled_back,
                blind,
            } => {
                let Some(entry) = self.watching.remove(&key) else {
                    return;
                };
                if rolled_back && !entry.rollback_counted {
                    bump(self.rollbacks.entry(repo.to_owned()).or_default());
                }
                if blind {
                    bump(self.blind.entry(repo.to_owned()).or_default());
                }
                match self
                    .finished
                    .iter_mut()
                    .find(|f| f.repo == repo && f.verdict == verdict && f.action == action)
                {
                    Some(f) => bump(&mut f.count),
                    None => self.finished.push(FinishedCount {
                        repo: repo.to_owned(),
                        verdict,
                        action,
                        count: 1,
                    }),
                }
            }
            WindowView::Unknown => {}
        }
    }

    /// Unlists a window whose folder is gone: it cannot be counted any more.
    pub fn forget(&mut self, repo: &str, work_item: &str) {
        self.watching.remove(&window_key(repo, work_item));
    }

    /// The records in the Prometheus text format: all eight families, each with `# HELP`
    /// and `# TYPE`, also before they have a sample.
    #[must_use]
    pub fn text(&self) -> String {
        let mut out = String::new();
        let gauges: [(&str, &str, Sample); 5] = [
            (
                "post_deploy_window_watching",
                "1 for each window that is watching.",
                |_| "1".to_owned(),
            ),
            (
                "post_deploy_window_requests",
                "Requests counted in the watching window so far.",
                |w| w.requests.to_string(),
            ),
            (
                "post_deploy_window_errors_5xx",
                "5xx answers counted in the watching window so far.",
                |w| w.errors_5xx.to_string(),
            ),
            (
                "post_deploy_window_degraded",
                "1 when the watching window was DEGRADED at some tick, else 0.",
                |w| u8::from(w.degraded).to_string(),
            ),
            (
                "post_deploy_window_deadline_timestamp_seconds",
                "The watching window's deadline, in seconds since the epoch.",
                |w| w.deadline.timestamp().to_string(),
            ),
        ];
        for (name, help, value) in gauges {
            family(&mut out, name, help, "gauge");
            for w in self.watching.values() {
                let _ = writeln!(
                    out,
                    "{name}{{repo=\"{}\",work_item=\"{}\"}} {}",
                    label(&w.repo),
                    label(&w.work_item),
                    value(w)
                );
            }
        }
        let name = "post_deploy_windows_finished_total";
        family(
            &mut out,
            name,
            "Windows that finished, however they finished, by final verdict and action.",
            "counter",
        );
        let mut finished: Vec<_> = self.finished.iter().collect();
        finished.sort_by(|a, b| {
            (a.repo.as_str(), a.verdict.to_string(), a.action.to_string()).cmp(&(
                b.repo.as_str(),
                b.verdict.to_string(),
                b.action.to_string(),
            ))
        });
        for f in finished {
            let _ = writeln!(
                out,
                "{name}{{repo=\"{}\",verdict=\"{}\",action=\"{}\"}} {}",
                label(&f.repo),
                f.verdict,
                f.action,
                f.count
            );
        }
        for (name, help, counts) in [
            (
                "post_deploy_rollbacks_total",
                "Rollbacks that ran.",
                &self.rollbacks,
            ),
            (
                "post_deploy_blind_windows_total",
                "Windows that finished blind: a signal they were armed to read was missing in \
                 more than half of their ticks.",
                &self.blind,
            ),
        ] {
            family(&mut out, name, help, "counter");
            for (repo, n) in counts {
                let _ = writeln!(out, "{name}{{repo=\"{}\"}} {n}", label(repo));
            }
        }
        let name = "post_deploy_last_tick_timestamp_seconds";
        family(
            &mut out,
            name,
            "When the latest tick ran, in seconds since the epoch.",
            "gauge",
        );
        if let Some(at) = self.last_tick {
            let _ = writeln!(out, "{name} {}", at.timestamp());
        }
        out
    }
}

/// A per-window gauge's sample of a watching window.
type Sample = fn(&Watching) -> String;

fn family(out: &mut String, name: &str, help: &str, kind: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// A label value as the text format escapes it. Identifiers never need it; it is here so
/// that no value can break a line.
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests;
