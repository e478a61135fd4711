//! The operator's commands on a watching window: `extend`, `rollback`, `promote`. Each goes
//! through the same guards and the same at-most-once path as the window's own decisions,
//! and is written to the window's state and log.

use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};

use super::end::{blindness, is_blind};
use super::{
    Gathered, Input, Need, Observed, Rollback, Transition, alert, current, done, end_damaged,
    facts, finish, finished, progress_outcome, reconcile, replay, send_once,
};
use crate::alert::AlertEvent;
use crate::config::RollbackMode;
use crate::decide::{ImageCheck, plan_rollback};
use crate::window::{EndReason, Phase, Progress};

/// The longest a window may watch, from arm, however often it is extended.
pub(super) const MAX_WINDOW: Duration = Duration::from_secs(30 * 24 * 3600);

/// A refusal: nothing changes; the answer is the window as it is, with why.
fn refused(input: &Input<'_>, why: String) -> Transition {
    let Input {
        target, progress, ..
    } = *input;
    let mut outcome = if progress.phase == Phase::Finished {
        replay(target, progress)
    } else {
        progress_outcome(target, progress, None, false)
    };
    outcome.reason = why.clone();
    let mut next = done(None, Vec::new(), None, outcome);
    if let Transition::Done(end) = &mut next {
        end.refused = Some(why);
    }
    next
}

/// Refuses any operator command on a window that is not watching.
fn watching(input: &Input<'_>) -> Result<(), Transition> {
    // A window whose state was damaged is finished, whoever reads it first.
    if let Some(p) = end_damaged(input) {
        let why = p.outcome.as_ref().map_or_else(String::new, |o| {
            format!("the window has finished: {}", o.reason)
        });
        let mut next = finished(input.target, p, Vec::new());
        if let Transition::Done(end) = &mut next {
            end.refused = Some(why);
        }
        return Err(next);
    }
    if input.progress.phase == Phase::Watching {
        return Ok(());
    }
    let why = input.progress.outcome.as_ref().map_or_else(
        || "the window has finished".to_owned(),
        |o| format!("the window has finished: {}", o.reason),
    );
    Err(refused(input, why))
}

fn stamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// One line in the log artefact saying what an operator did.
fn logged(now: DateTime<Utc>, what: &str) -> String {
    format!("\n- {}: {what}\n", stamp(now))
}

/// `extend`: the deadline moves `by` later, at most [`MAX_WINDOW`] from arm in all.
pub(super) fn extend(input: &Input<'_>, by: Duration) -> Transition {
    if let Err(no) = watching(input) {
        return no;
    }
    let Input {
        target,
        progress,
        now,
        ..
    } = *input;
    let limit = add(target.armed_at, MAX_WINDOW);
    let Some(deadline) = chrono::Duration::from_std(by)
        .ok()
        .and_then(|by| progress.deadline(target).checked_add_signed(by))
        .filter(|d| *d <= limit)
    else {
        return refused(
            input,
            format!(
                "refused: a window watches at most {} days from arm (until {})",
                MAX_WINDOW.as_secs() / 86_400,
                stamp(limit)
            ),
        );
    };
    let mut p = progress.clone();
    p.deadline = Some(deadline);
    let what = format!(
        "an operator extended the window by {} s: the deadline is now {}",
        by.as_secs(),
        stamp(deadline)
    );
    let mut outcome = progress_outcome(target, &p, None, false);
    outcome.reason.clone_from(&what);
    done(Some(p), Vec::new(), Some(logged(now, &what)), outcome)
}

/// `promote`: the window ends now as good; it counts as a window that finished never
/// DEGRADED (its image is known good) unless it degraded or rolled back.
pub(super) fn promote(input: &Input<'_>) -> Transition {
    if let Err(no) = watching(input) {
        return no;
    }
    let Input { target, now, .. } = *input;
    let mut p = input.progress.clone();
    let last = p.last.as_ref().map(|l| l.verdict);
    let reason = if p.ever_degraded || p.rollback.is_some() {
        "promoted by an operator; it was DEGRADED or rolled back, so its image is not recorded \
         as known good"
            .to_owned()
    } else if is_blind(&p) {
        // Blind so far by the rule the deadline applies: a promote proves nothing it could
        // not see.
        format!(
            "promoted by an operator after {} ticks, but {}: its image is not recorded as \
             known good",
            p.ticks,
            blindness(target, &p)
        )
    } else {
        "promoted by an operator: the window ended as good".to_owned()
    };
    finish(&mut p, EndReason::Promoted, reason, last, now);
    let mut alerts = Vec::new();
    if let Some(o) = p.outcome.clone().filter(|o| o.blind) {
        let a = alert(
            target,
            AlertEvent::Blind,
            o.verdict,
            o.action,
            &o.reason,
            now,
        );
        send_once(&mut p, &mut alerts, a);
    }
    finished(target, p, alerts)
}

/// `rollback`: the operator's rollback, through the same guards and write-ahead path as an
/// automatic one; the window then verifies recovery as after any rollback.
pub(super) fn rollback(input: &Input<'_>, observed: &Observed) -> Transition {
    if let Err(no) = watching(input) {
        return no;
    }
    let Input { target, now, .. } = *input;
    let mut p = input.progress.clone();
    let mut got = Gathered::default();
    if let Err(need) = reconcile(input, &mut p, observed, &mut got) {
        return Transition::Need(need);
    }
    let current = match current(target, observed) {
        Ok(current) => current,
        Err(need) => return Transition::Need(need),
    };
    let current = current.as_ref();
    let image_check = match (needs_images(input, &p), &observed.image_check) {
        (false, _) => ImageCheck::NotChecked,
        (true, None) => return Transition::Need(Need::ImageCheck),
        (true, Some(check)) => check.clone(),
    };
    let facts = facts(input, observed, &p, image_check, current);
    let plan = match plan_rollback(&facts) {
        Ok(plan) => plan,
        Err(why) => return refused(input, format!("refused: {why}")),
    };
    let mut reason = "an operator asked for a rollback; rolling back".to_owned();
    let step = Rollback {
        target,
        plan: &plan,
        observed,
        now,
        by_operator: true,
        rule: None,
    };
    if let Err(intent) = step.record(&mut p, &mut got, &mut reason) {
        return intent;
    }
    let failed = matches!(
        p.rollback.as_ref().map(|r| &r.state),
        Some(crate::window::RollbackState::Failed { .. })
    );
    if let Some(last) = p.last.as_mut() {
        last.reason.clone_from(&reason);
    }
    let mut outcome = progress_outcome(target, &p, Some(target.settings.interval), false);
    outcome.reason.clone_from(&reason);
    let mut next = done(Some(p), got.alerts, Some(logged(now, &reason)), outcome);
    if let (Transition::Done(end), true) = (&mut next, failed) {
        end.refused = Some(reason);
    }
    next
}

/// Whether the built-in rollback could run, so the previous image must be checked.
fn needs_images(input: &Input<'_>, p: &Progress) -> bool {
    let switches = input.switches;
    input.target.previous_image.is_some()
        && p.rollback.is_none()
        && p.damaged.is_none()
        && switches.enabled
        && switches.rollback == RollbackMode::Auto
        && switches.rollback_cmd.is_none()
}

fn add(at: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(d)
        .ok()
        .and_then(|d| at.checked_add_signed(d))
        .unwrap_or(at)
}
