//! The window as a pure state machine: what a tick or an operator command does to a window,
//! given what was observed, returned as data.
//!
//! No I/O, no clock, no sleeping: the driver ([`Monitor`](crate::Monitor)) reads the clock once, loads
//! the window, and calls [`transition`] with what it has observed so far. The answer is
//! either something more to observe ([`Transition::Need`]), a rollback to write ahead and run
//! ([`Transition::Rollback`]), or the end of the call ([`Transition::Done`]): the next
//! progress to save, the alerts to deliver, the log text to append and the outcome. The
//! driver fills in what was asked and calls again with the same inputs; the same inputs
//! always give the same answer, so a crash between any two steps loses nothing that the
//! saved state does not say.

use std::time::Duration;

use chrono::{DateTime, Utc};

mod end;
mod operator;
mod settle;

use end::{check_finished, proved};
pub use end::{finish, outcome_log, progress_outcome, replay, window_action};
use settle::{reconcile, runs_image};

use super::{
    EndReason, LastTick, Outcome, Phase, Progress, RollbackRecord, RollbackState, WindowTarget,
};
use super::{history, logbook};
use crate::alert::{Alert, AlertEvent, AlertSubject};
use crate::classify::{Classification, RuleName, Verdict, classify};
use crate::config::{RollbackMode, Scope, Switches};
use crate::decide::{Action, ActionKind, Facts, ImageCheck, RollbackPlan, decide_action};
use crate::known_good::KnownGood;
use crate::outcome::TickOutcome;
use crate::signals::{HealthSignal, LatencyReading, LogSignal, Observations, Signals};
use crate::text::{bound_reason_in_place, quote};
use crate::traits::{
    ContainerInfo, ControlError, ResumedRollback, ServiceInfo, same_service_image,
};

/// What the driver is asked to do to a window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Command {
    /// One step of the window: probe, classify, decide, act.
    Tick,
    /// An operator ends the window early.
    Disarm,
    /// An operator moves a watching window's deadline later by this much.
    Extend(Duration),
    /// An operator asks for the rollback now, through the same guards and the same
    /// at-most-once path as an automatic one.
    Rollback,
    /// An operator ends a watching window now as good.
    Promote,
}

/// What the driver observed so far in this call. Each field stays `None` until a
/// transition asks for it with [`Transition::Need`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Observed {
    /// What resuming an interrupted built-in rollback found and did.
    pub resumed: Option<Result<ResumedRollback, ControlError>>,
    /// What the target container runs now.
    pub container: Option<Result<ContainerInfo, ControlError>>,
    /// What the target Swarm service runs now, and its task containers.
    pub service: Option<Result<ServiceInfo, ControlError>>,
    /// This tick's probe of the target.
    pub signals: Option<Signals>,
    /// The engine's word on the previous image.
    pub image_check: Option<ImageCheck>,
    /// How the rollback of [`Transition::Rollback`] ended: what was done, or why it failed.
    pub rollback: Option<Result<String, String>>,
}

/// Everything a transition depends on besides what is observed.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    /// What the window watches, as armed.
    pub target: &'a WindowTarget,
    /// How far it got, as loaded.
    pub progress: &'a Progress,
    /// The operational switches, as read for this call.
    pub switches: &'a Switches,
    /// Where the monitor applies, and what is its own.
    pub scope: &'a Scope,
    /// The one reading of the clock for this call.
    pub now: DateTime<Utc>,
    /// Notes from loading the window (a damaged file replaced), for this tick's reason.
    pub notes: &'a [String],
}

/// Something the driver must observe before the transition can go on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Need {
    /// Resume the built-in rollback a crash interrupted ([`Observed::resumed`], through
    /// [`ContainerControl::resume_rollback`](crate::ContainerControl::resume_rollback)).
    Resume,
    /// Inspect the target container ([`Observed::container`]).
    Container,
    /// Inspect the target Swarm service ([`Observed::service`], through
    /// [`ContainerControl::inspect_service`](crate::ContainerControl::inspect_service)).
    Service,
    /// Probe the target ([`Observed::signals`]).
    Signals,
    /// Ask the engine about the previous image ([`Observed::image_check`]).
    ImageCheck,
}

/// The end of a call: what to save, deliver and log, and what to answer.
#[derive(Debug, Clone, PartialEq)]
pub struct End {
    /// The progress to save; `None`: unchanged.
    pub progress: Option<Progress>,
    /// Alerts to deliver, once the progress is saved.
    pub alerts: Vec<Alert>,
    /// A row to add to the window's log artefact's table of ticks.
    pub log_row: Option<String>,
    /// A section to add to the window's log artefact (its outcome).
    pub log_section: Option<String>,
    /// An image this window proved, to record as known good (before the progress is saved).
    pub known_good: Option<KnownGood>,
    /// Why an operator command was refused; `None`: it was done (or it was no operator's).
    pub refused: Option<String>,
    /// The answer.
    pub outcome: TickOutcome,
}

/// What a transition says to do next.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Transition {
    /// Observe this, then call again.
    Need(Need),
    /// Save `intent` (the rollback written ahead), deliver `alerts`, carry `plan` out once,
    /// then call again with its result in [`Observed::rollback`].
    Rollback {
        /// The progress with the rollback [`Intended`](RollbackState::Intended).
        intent: Box<Progress>,
        /// Alerts to deliver before the rollback runs.
        alerts: Vec<Alert>,
        /// How to roll back.
        plan: RollbackPlan,
    },
    /// The call is decided.
    Done(Box<End>),
}

/// The next step of `command` on a window. Pure: the same arguments give the same answer.
///
/// Every text it answers is within its bound ([`crate::text`]): the progress to save
/// ([`Progress::bound_text`]), the reasons, the alerts, whatever was observed.
#[must_use]
pub fn transition(command: Command, input: &Input<'_>, observed: &Observed) -> Transition {
    let mut next = match command {
        Command::Tick => tick(input, observed),
        Command::Disarm => disarm(input, observed),
        Command::Extend(by) => operator::extend(input, by),
        Command::Rollback => operator::rollback(input, observed),
        Command::Promote => operator::promote(input),
    };
    match &mut next {
        Transition::Need(_) => {}
        Transition::Rollback { intent, .. } => intent.bound_text(),
        Transition::Done(end) => {
            if let Some(progress) = end.progress.as_mut() {
                progress.bound_text();
            }
            bound_reason_in_place(&mut end.outcome.reason);
            if let Some(refused) = end.refused.as_mut() {
                bound_reason_in_place(refused);
            }
        }
    }
    next
}

fn disarm(input: &Input<'_>, observed: &Observed) -> Transition {
    let Input {
        target, progress, ..
    } = *input;
    if progress.phase != Phase::Watching {
        return done(None, Vec::new(), None, replay(target, progress));
    }
    if let Some(p) = end_damaged(input) {
        return finished(target, p, Vec::new());
    }
    let mut p = progress.clone();
    let mut got = Gathered::default();
    // As a tick would: an interrupted rollback is settled before the window ends.
    match reconcile(input, &mut p, observed, &mut got) {
        Ok(settled) => got.settled = settled,
        Err(need) => return Transition::Need(need),
    }
    let last = p.last.as_ref().map(|l| l.verdict);
    let reason = with_settled("disarmed by an operator".to_owned(), got.settled.as_ref());
    finish(&mut p, EndReason::Disarmed, reason, last, input.now);
    finished(target, p, got.alerts)
}

/// What one tick gathers on its way: alerts to deliver, and notes for the log row.
#[derive(Default)]
struct Gathered {
    alerts: Vec<Alert>,
    row_notes: Vec<String>,
    notes: Vec<String>,
    /// How an interrupted rollback was settled on this tick.
    settled: Option<String>,
}

fn tick(input: &Input<'_>, observed: &Observed) -> Transition {
    let Input {
        target,
        progress,
        now,
        ..
    } = *input;
    if progress.phase == Phase::Finished {
        return done(None, Vec::new(), None, replay(target, progress));
    }
    let mut p = progress.clone();
    let mut got = Gathered {
        notes: input.notes.to_vec(),
        ..Gathered::default()
    };
    // An interrupted rollback is settled first, whatever the switches say now: a window never
    // ends leaving one unspoken for.
    match reconcile(input, &mut p, observed, &mut got) {
        Ok(settled) => {
            got.notes.extend(settled.clone());
            got.settled = settled;
        }
        Err(need) => return Transition::Need(need),
    }
    if let Some(end) = ends_now(input, &p) {
        let (end, reason) = end;
        let reason = with_settled(reason, got.settled.as_ref());
        let last = p.last.as_ref().map(|l| l.verdict);
        finish(&mut p, end, reason, last, now);
        return finished(target, p, got.alerts);
    }
    if let Some(out) = duplicate(input, &p, &got) {
        return out;
    }
    let current = match current(target, observed) {
        Ok(current) => current,
        Err(need) => return Transition::Need(need),
    };
    let current = current.as_ref();
    if let Some(reason) = fenced(target, &p, current).or_else(|| respecced(target, &p, observed)) {
        let reason = with_settled(reason, got.settled.as_ref());
        let last = p.last.as_ref().map(|l| l.verdict);
        finish(&mut p, EndReason::Superseded, reason, last, now);
        return finished(target, p, got.alerts);
    }
    let Some(signals) = &observed.signals else {
        return Transition::Need(Need::Signals);
    };
    let classification = observe(target, &mut p, signals, current, &mut got.notes, now);
    match decide(input, observed, &mut p, &classification, current, &mut got) {
        Ok((action, reason)) => conclude(input, p, signals, &classification, &action, reason, got),
        Err(next) => next,
    }
}

/// What the target runs now, as the window compares it: the container as inspected, or the
/// service as [`ServiceInfo::as_target`] gives it; `None` when the window names neither.
/// `Err` when it must be observed first.
pub(super) fn current(
    target: &WindowTarget,
    observed: &Observed,
) -> Result<Option<Result<ContainerInfo, ControlError>>, Need> {
    match (&target.container, &target.service) {
        (Some(_), _) => match &observed.container {
            None => Err(Need::Container),
            Some(current) => Ok(Some(current.clone())),
        },
        (None, Some(_)) => match &observed.service {
            None => Err(Need::Service),
            Some(current) => Ok(Some(
                current
                    .as_ref()
                    .map(ServiceInfo::as_target)
                    .map_err(Clone::clone),
            )),
        },
        (None, None) => Ok(None),
    }
}

/// Decides what this tick's classification leads to and records it in `p`: the action and
/// the tick's reason, or the next step to take first.
fn decide(
    input: &Input<'_>,
    observed: &Observed,
    p: &mut Progress,
    classification: &Classification,
    current: Option<&Result<ContainerInfo, ControlError>>,
    got: &mut Gathered,
) -> Result<(Action, String), Transition> {
    let Input { target, now, .. } = *input;
    let image_check = match (
        needs_images(classification, p, input),
        &observed.image_check,
    ) {
        (false, _) => ImageCheck::NotChecked,
        (true, None) => return Err(Transition::Need(Need::ImageCheck)),
        (true, Some(check)) => check.clone(),
    };
    let facts = facts(input, observed, p, image_check, current);
    let decision = decide_action(classification, &facts, now);
    let mut reason = classification.rule.to_string();
    match &decision.action {
        Action::None => {}
        Action::AlertOnly { reason: why } => {
            reason = format!("{reason}; alert only: {why}");
            let a = alert(
                target,
                AlertEvent::Degraded,
                Verdict::Degraded,
                ActionKind::AlertOnly,
                &reason,
                now,
            );
            send_once(p, &mut got.alerts, a);
        }
        Action::Rollback { plan } => {
            reason = format!("{reason}; rolling back");
            let step = Rollback {
                target,
                plan,
                observed,
                now,
                by_operator: false,
                rule: classification.rule.name(),
            };
            step.record(p, got, &mut reason)?;
        }
    }
    Ok((decision.action, reason))
}

/// A window that ends at this tick before probing: the kill switch is off, or its state was
/// damaged (it cannot know what it already did, so it neither acts nor alerts again).
fn ends_now(input: &Input<'_>, p: &Progress) -> Option<(EndReason, String)> {
    if !input.switches.enabled {
        return Some((
            EndReason::Disabled,
            "post-deploy is disabled (ORCH_POST_DEPLOY_ENABLED): the window finished without \
             acting"
                .to_owned(),
        ));
    }
    damaged(input, p).map(|reason| (EndReason::Damaged, reason))
}

/// Why a window whose state was damaged ends, whichever command reads it first; `None` when
/// its state is whole.
fn damaged(input: &Input<'_>, p: &Progress) -> Option<String> {
    let kept_as = p.damaged.as_ref()?;
    // What loading found, when it was this call that found it.
    let found = if input.notes.is_empty() {
        format!(
            "the window's state was damaged ({} kept as {kept_as})",
            crate::store::PROGRESS_FILE
        )
    } else {
        input.notes.join("; ")
    };
    Some(format!(
        "{found}: it cannot know what it already did, and ends without acting"
    ))
}

/// A watching window whose state was damaged, finished by whichever command read it first.
fn end_damaged(input: &Input<'_>) -> Option<Progress> {
    if input.progress.phase != Phase::Watching {
        return None;
    }
    let reason = damaged(input, input.progress)?;
    let mut p = input.progress.clone();
    let last = p.last.as_ref().map(|l| l.verdict);
    finish(&mut p, EndReason::Damaged, reason, last, input.now);
    Some(p)
}

/// `reason`, and how an interrupted rollback was settled on this tick, when it was.
fn with_settled(reason: String, settled: Option<&String>) -> String {
    match settled {
        Some(settled) => format!("{reason}; {settled}"),
        None => reason,
    }
}

/// The rollback a tick decided.
struct Rollback<'a> {
    target: &'a WindowTarget,
    plan: &'a RollbackPlan,
    observed: &'a Observed,
    now: DateTime<Utc>,
    by_operator: bool,
    /// The rule that fired, for an automatic rollback.
    rule: Option<RuleName>,
}

impl Rollback<'_> {
    /// Writes the rollback intent into `p`; without a result yet, the [`Transition::Rollback`]
    /// to carry out; with one, records how it ended.
    fn record(
        &self,
        p: &mut Progress,
        got: &mut Gathered,
        reason: &mut String,
    ) -> Result<(), Transition> {
        let Self {
            target,
            plan,
            observed,
            now,
            ..
        } = *self;
        p.rollback = Some(RollbackRecord {
            plan: plan.clone(),
            state: RollbackState::Intended,
            decided_at: now,
            by_operator: self.by_operator,
        });
        // What a call that finds only the intent (a crash came next) answers meanwhile: an
        // operator's rollback leaves the verdict what the signals said.
        let verdict = match (&p.last, self.by_operator) {
            (Some(last), true) => last.verdict,
            (None, true) => Verdict::Healthy,
            (_, false) => Verdict::Degraded,
        };
        p.last = Some(LastTick {
            rule: match (&p.last, self.by_operator) {
                (Some(last), true) => last.rule,
                (None, true) => None,
                (_, false) => self.rule,
            },
            verdict,
            action: ActionKind::Rollback,
            reason: reason.clone(),
            health: observed.signals.as_ref().and_then(|s| match &s.health {
                HealthSignal::Sample { sample } => Some(sample.clone()),
                HealthSignal::Missing { .. } => None,
            }),
        });
        let mut before = std::mem::take(&mut got.alerts);
        if !self.by_operator {
            let event = AlertEvent::Degraded;
            let a = alert(
                target,
                event,
                Verdict::Degraded,
                ActionKind::Rollback,
                reason,
                now,
            );
            send_once(p, &mut before, a);
        }
        let Some(result) = &observed.rollback else {
            return Err(Transition::Rollback {
                intent: Box::new(p.clone()),
                alerts: before,
                plan: plan.clone(),
            });
        };
        // Delivered with the intent, before the rollback ran.
        got.row_notes
            .extend(before.iter().map(|a| format!("alert: {}", a.event)));
        let state = match result {
            Ok(detail) => {
                *reason = format!("{reason}: {detail}");
                got.row_notes.push(format!("rolled back: {detail}"));
                p.since_rollback = Some(Observations::default());
                RollbackState::Done {
                    detail: detail.clone(),
                }
            }
            Err(detail) => {
                *reason = format!("{reason}: FAILED: {detail}");
                got.row_notes.push(format!("rollback FAILED: {detail}"));
                let event = AlertEvent::RollbackFailed;
                let a = alert(target, event, verdict, ActionKind::Rollback, detail, now);
                send_once(p, &mut got.alerts, a);
                RollbackState::Failed {
                    detail: detail.clone(),
                }
            }
        };
        if let Some(record) = p.rollback.as_mut() {
            record.state = state;
        }
        Ok(())
    }
}

/// Records this tick's probe in `p` and classifies the window.
fn observe(
    target: &WindowTarget,
    p: &mut Progress,
    signals: &Signals,
    current: Option<&Result<ContainerInfo, ControlError>>,
    notes: &mut Vec<String>,
    now: DateTime<Utc>,
) -> Classification {
    p.ticks = p.ticks.saturating_add(1);
    let reads_ratio = target.target_name().is_some() || target.prometheus.is_some();
    if reads_ratio && matches!(signals.logs, LogSignal::Missing { .. }) {
        p.ratio_missing = p.ratio_missing.saturating_add(1);
    }
    p.last_probe_at = Some(now);
    let before = p.observations;
    p.observations = before.observe(signals);
    let since_arm = since(target.armed_at, now);
    p.observations.recent = super::recent::observe(
        &mut p.recent,
        &target.settings,
        signals,
        &p.observations,
        since_arm,
        now,
    );
    let after = p.observations;
    p.since_rollback = p
        .since_rollback
        .map(|o| o.observe_since(signals, &before, &after));
    if let Some(cursor) = signals.logs.cursor() {
        p.log_cursor = cursor.clone();
        // How the log was read, or that lines may be missing: said once, for this tick.
        notes.extend(p.log_cursor.note.take());
    }
    if let HealthSignal::Missing { why } = &signals.health {
        notes.push(why.clone());
    }
    if let LogSignal::Missing { why, .. } = &signals.logs {
        notes.push(why.clone());
    }
    if let LogSignal::Totals { totals } = &signals.logs
        && let Some(LatencyReading::Missing { why }) = &totals.latency
    {
        notes.push(why.clone());
    }
    if let Some(Err(e)) = current {
        let what = if target.service.is_some() {
            "service"
        } else {
            "container"
        };
        notes.push(format!(
            "{what} not inspected (monitor fault: {})",
            quote(&e.to_string())
        ));
    }
    let classification = classify(&p.observations, &target.settings, now);
    if classification.verdict == Verdict::Degraded && !p.ever_degraded {
        p.ever_degraded = true;
        p.degraded_reason = Some(classification.rule.to_string());
        p.degraded_rule = classification.rule.name();
        p.degraded_at = Some(now);
    }
    let point = history::point(now, signals, &p.observations, &classification, reads_ratio);
    history::push(&mut p.history, point);
    classification
}

/// The end of a tick that probed: verification, the last tick, the deadline, the log row.
fn conclude(
    input: &Input<'_>,
    mut p: Progress,
    signals: &Signals,
    classification: &Classification,
    action: &Action,
    mut reason: String,
    mut got: Gathered,
) -> Transition {
    let Input { target, now, .. } = *input;
    for note in &got.notes {
        reason = format!("{reason}; {note}");
    }
    if p.rollback.as_ref().is_some_and(RollbackRecord::took_effect)
        && !matches!(action, Action::Rollback { .. })
    {
        p.verification_ticks = p.verification_ticks.saturating_add(1);
    }
    p.last = Some(LastTick {
        rule: classification.rule.name(),
        verdict: classification.verdict,
        action: action.kind(),
        reason: reason.clone(),
        health: match &signals.health {
            HealthSignal::Sample { sample } => Some(sample.clone()),
            HealthSignal::Missing { .. } => None,
        },
    });
    check_finished(target, &mut p, classification, &mut got.alerts, now);
    // A window that finishes on the tick that settled its rollback says how it was settled.
    if let (Some(outcome), Some(settled)) = (p.outcome.as_mut(), &got.settled) {
        outcome.reason = format!("{}; {settled}", outcome.reason);
    }
    got.row_notes
        .extend(got.alerts.iter().map(|a| format!("alert: {}", a.event)));
    let row = logbook::row(
        target,
        now,
        signals,
        &p.observations,
        classification,
        action.kind(),
        &got.row_notes.join(", "),
    );
    if p.phase == Phase::Finished {
        let section = outcome_log(target, &p);
        let outcome = replay(target, &p);
        let known_good = proved(target, &p);
        return Transition::Done(Box::new(End {
            progress: Some(p),
            alerts: got.alerts,
            log_row: Some(row),
            log_section: section,
            known_good,
            refused: None,
            outcome,
        }));
    }
    let interval = target.settings.interval;
    let until_deadline = since(now, p.deadline(target));
    let requeue = if until_deadline.is_zero() {
        interval
    } else {
        interval.min(until_deadline.max(half(interval)))
    };
    let mut outcome = progress_outcome(target, &p, Some(requeue), true);
    outcome.verdict = classification.verdict;
    outcome.action = action.kind();
    outcome.reason = reason;
    Transition::Done(Box::new(End {
        progress: Some(p),
        alerts: got.alerts,
        log_row: Some(row),
        log_section: None,
        known_good: None,
        refused: None,
        outcome,
    }))
}

/// A tick sooner than half an interval after the previous probe: it does not probe. A probe
/// recorded later than now (the clock stepped back) is not recent.
fn duplicate(input: &Input<'_>, p: &Progress, got: &Gathered) -> Option<Transition> {
    let Input {
        target,
        progress: loaded,
        now,
        ..
    } = *input;
    let interval = target.settings.interval;
    let last = p.last_probe_at.filter(|last| *last <= now)?;
    let elapsed = since(last, now);
    if elapsed >= half(interval) {
        return None;
    }
    let wait = interval.saturating_sub(elapsed);
    let mut outcome = progress_outcome(target, p, Some(wait), false);
    let reason = format!(
        "duplicate tick: the previous probe was {} s ago; the next is due in {} s",
        elapsed.as_secs(),
        wait.as_secs()
    );
    outcome.reason = with_settled(reason, got.settled.as_ref());
    // A settled rollback is saved even when the tick goes no further.
    let changed = (p != loaded).then(|| p.clone());
    Some(done(changed, got.alerts.clone(), None, outcome))
}

/// Whether the built-in rollback could run, so the previous image must be checked.
fn needs_images(classification: &Classification, p: &Progress, input: &Input<'_>) -> bool {
    let switches = input.switches;
    input.target.previous_image.is_some()
        && classification.verdict == Verdict::Degraded
        && p.rollback.is_none()
        && p.damaged.is_none()
        && switches.rollback == RollbackMode::Auto
        && switches.rollback_cmd.is_none()
}

fn facts(
    input: &Input<'_>,
    observed: &Observed,
    p: &Progress,
    image_check: ImageCheck,
    current: Option<&Result<ContainerInfo, ControlError>>,
) -> Facts {
    let image_check = match image_check {
        ImageCheck::Present { previous_id, .. } => ImageCheck::Present {
            previous_id,
            current_id: current
                .and_then(|c| c.as_ref().ok())
                .map(|c| c.image_id.clone()),
        },
        other => other,
    };
    let target = input.target;
    Facts {
        repo: target.repo.clone(),
        container: target.container.clone(),
        service: target.service.clone(),
        previous_image: target.previous_image.clone(),
        image_check,
        scope: input.scope.clone(),
        mode: input.switches.rollback,
        rollback_cmd: input.switches.rollback_cmd.clone(),
        rolled_back: p.rollback.is_some(),
        state_damaged: p.damaged.is_some(),
        // The target as the engine knows it, at arm and now: the self guard needs its id
        // and name, whichever of them the configuration and the target were given by, and
        // a service's task containers.
        inspected: target
            .armed_image
            .iter()
            .chain(current.and_then(|c| c.as_ref().ok()))
            .chain(
                observed
                    .service
                    .iter()
                    .flat_map(|s| s.as_ref().ok())
                    .flat_map(|s| &s.tasks),
            )
            .cloned()
            .collect(),
    }
}

/// Adds `alert` to `alerts` unless this window sent its event already.
fn send_once(p: &mut Progress, alerts: &mut Vec<Alert>, alert: Alert) {
    if p.alerts_sent.insert(alert.event) {
        alerts.push(alert);
    }
}

/// An alert about `target`'s window.
#[must_use]
pub fn alert(
    target: &WindowTarget,
    event: AlertEvent,
    verdict: Verdict,
    action: ActionKind,
    reason: &str,
    now: DateTime<Utc>,
) -> Alert {
    let mut alert = Alert::new(
        event,
        &AlertSubject {
            repo: target.repo.clone(),
            work_item: target.work_item.clone(),
            container: target.container.clone(),
        },
        verdict,
        action,
        reason.to_owned(),
        now,
    );
    alert.service.clone_from(&target.service);
    alert
}

fn done(
    progress: Option<Progress>,
    alerts: Vec<Alert>,
    log_section: Option<String>,
    outcome: TickOutcome,
) -> Transition {
    Transition::Done(Box::new(End {
        progress,
        alerts,
        log_row: None,
        log_section,
        known_good: None,
        refused: None,
        outcome,
    }))
}

/// A window that this call finished: save it, log its outcome, replay it, and record the
/// image it proved.
fn finished(target: &WindowTarget, p: Progress, alerts: Vec<Alert>) -> Transition {
    let section = outcome_log(target, &p);
    let outcome = replay(target, &p);
    let known_good = proved(target, &p);
    let mut next = done(Some(p), alerts, section, outcome);
    if let Transition::Done(end) = &mut next {
        end.known_good = known_good;
    }
    next
}

/// Whether the target container was found on an image this window did not put there.
fn fenced(
    target: &WindowTarget,
    p: &Progress,
    current: Option<&Result<ContainerInfo, ControlError>>,
) -> Option<String> {
    let armed = target.armed_image.as_ref()?;
    let Some(Ok(now_running)) = current else {
        return None;
    };
    // A service is compared by the image its spec names, as the spec says it.
    let unchanged = if target.service.is_some() {
        same_service_image(&now_running.image_ref, &armed.image_ref)
    } else {
        now_running.image_id == armed.image_id
    };
    if unchanged {
        return None;
    }
    match p.rollback.as_ref().map(|r| &r.plan) {
        // A rollback command owns its target: whatever it put there is this window's doing.
        Some(RollbackPlan::Command { .. }) => return None,
        Some(
            RollbackPlan::Docker {
                previous_image,
                previous_image_id,
                ..
            }
            | RollbackPlan::Service {
                previous_image,
                previous_image_id,
                ..
            },
        ) if runs_image(target, now_running, previous_image, previous_image_id) => {
            return None;
        }
        _ => {}
    }
    let id = if now_running.image_id.is_empty() {
        String::new()
    } else {
        format!(" ({})", quote(&now_running.image_id))
    };
    Some(format!(
        "superseded: {} now runs {}{id}, not the image at arm {} and not put there by this \
         window",
        target.describe(),
        quote(&now_running.image_ref),
        quote(&armed.image_ref)
    ))
}

/// Whether the target service's spec was changed by someone else since arm (replicas,
/// environment, anything but the image, which [`fenced`] compares): a window whose rollback
/// has not run yet never wrote it, so the service is no longer the deploy it watches.
fn respecced(target: &WindowTarget, p: &Progress, observed: &Observed) -> Option<String> {
    let armed = target.armed_spec.as_ref()?;
    let Some(Ok(now)) = &observed.service else {
        return None;
    };
    if p.rollback.is_some() || now.spec.is_empty() || now.spec == *armed {
        return None;
    }
    Some(format!(
        "superseded: the spec of {} was changed since arm (spec {armed} is now {}), not by \
         this window",
        target.describe(),
        now.spec
    ))
}

/// Time from `from` to `to`, zero when `to` is not later.
fn since(from: DateTime<Utc>, to: DateTime<Utc>) -> Duration {
    to.signed_duration_since(from)
        .to_std()
        .unwrap_or(Duration::ZERO)
}

/// Half of `d`.
#[must_use]
pub fn half(d: Duration) -> Duration {
    d.checked_div(2).unwrap_or(Duration::ZERO)
}
