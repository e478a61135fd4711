//! How a window ends and what it answers: the deadline, recovery, blindness, the final
//! result and the image a window proved.

#[allow(
    clippy::wildcard_imports,
    reason = "a part of the machine, over its own vocabulary"
)]
use super::*;

/// The window's end, when this tick reaches it: recovered, not recovered, or the deadline.
pub(super) fn check_finished(
    target: &WindowTarget,
    p: &mut Progress,
    classification: &Classification,
    alerts: &mut Vec<Alert>,
    now: DateTime<Utc>,
) {
    let Some((end, reason)) = end_of(target, p, classification, now) else {
        return;
    };
    finish(p, end, reason, Some(classification.verdict), now);
    let Some(outcome) = p.outcome.clone() else {
        return;
    };
    let event = match outcome.recovered {
        Some(true) => AlertEvent::Recovered,
        Some(false) => AlertEvent::NotRecovered,
        None if outcome.blind => AlertEvent::Blind,
        None => return,
    };
    let a = alert(
        target,
        event,
        outcome.verdict,
        outcome.action,
        &outcome.reason,
        now,
    );
    send_once(p, alerts, a);
}

pub(super) fn end_of(
    target: &WindowTarget,
    p: &Progress,
    classification: &Classification,
    now: DateTime<Utc>,
) -> Option<(EndReason, String)> {
    let settings = &target.settings;
    let past_deadline = now >= p.deadline(target);
    if p.rollback.as_ref().is_some_and(RollbackRecord::took_effect) {
        let since = p.since_rollback.unwrap_or_default();
        let healthy_since = classify(&since, settings, now).verdict == Verdict::Healthy;
        if since.consecutive_passes >= settings.fail_threshold && healthy_since {
            return Some((
                EndReason::Recovered,
                format!(
                    "rolled back and recovered: {} consecutive health probes passed after the \
                     rollback",
                    since.consecutive_passes
                ),
            ));
        }
        if past_deadline && p.verification_ticks >= settings.fail_threshold {
            return Some((
                EndReason::NotRecovered,
                format!(
                    "rolled back but not recovered by the end of the window ({} verification \
                     ticks)",
                    p.verification_ticks
                ),
            ));
        }
        return None;
    }
    if !past_deadline {
        return None;
    }
    let reason = if p.ever_degraded {
        let first = p.degraded_reason.clone().unwrap_or_default();
        let now_state = if classification.verdict == Verdict::Healthy {
            "healthy again"
        } else {
            "still degraded"
        };
        let acted = match p.rollback.as_ref().map(|r| &r.state) {
            Some(RollbackState::Failed { detail }) => format!("the rollback failed: {detail}"),
            _ => "no rollback".to_owned(),
        };
        format!("window ended DEGRADED ({first}); {acted}; {now_state} at the deadline")
    } else if is_blind(p) {
        format!(
            "window ended HEALTHY after {} ticks, but {}",
            p.ticks,
            blindness(target, p)
        )
    } else {
        format!("window ended HEALTHY after {} ticks", p.ticks)
    };
    Some((EndReason::Deadline, reason))
}

/// The image a finished window proved good: it finished never DEGRADED at its deadline or by
/// an operator's promote, never rolled back, was not blind or damaged, and knew what its
/// target ran.
pub(super) fn proved(target: &WindowTarget, p: &Progress) -> Option<KnownGood> {
    let outcome = p.outcome.as_ref()?;
    let good_end = matches!(outcome.end, EndReason::Deadline | EndReason::Promoted);
    if !good_end || p.ever_degraded || p.rollback.is_some() || outcome.blind || p.damaged.is_some()
    {
        return None;
    }
    let image = target.armed_image.as_ref()?;
    Some(KnownGood {
        target: target.target_name()?.to_owned(),
        image: image.image_ref.clone(),
        image_id: image.image_id.clone(),
        work_item: target.work_item.clone(),
        at: outcome.at,
    })
}

/// The log artefact's outcome section of a finished window.
#[must_use]
pub fn outcome_log(target: &WindowTarget, p: &Progress) -> Option<String> {
    p.outcome.as_ref().map(|outcome| {
        let sent: Vec<String> = p.alerts_sent.iter().map(ToString::to_string).collect();
        logbook::outcome(target, outcome, p.degraded_rule, &sent)
    })
}

/// What the window did so far: ROLLBACK if a rollback took effect, ALERT_ONLY after any
/// other degradation, else NONE.
#[must_use]
pub fn window_action(p: &Progress) -> ActionKind {
    if p.rollback.as_ref().is_some_and(RollbackRecord::took_effect) {
        ActionKind::Rollback
    } else if p.ever_degraded {
        ActionKind::AlertOnly
    } else {
        ActionKind::None
    }
}

/// Finishes the window: its final result, sticky from now on.
pub fn finish(
    p: &mut Progress,
    end: EndReason,
    reason: String,
    last: Option<Verdict>,
    now: DateTime<Utc>,
) {
    let verdict = if p.ever_degraded {
        Verdict::Degraded
    } else {
        Verdict::Healthy
    };
    let rolled_back = p.rollback.as_ref().is_some_and(RollbackRecord::took_effect);
    let recovered = match end {
        _ if !p.ever_degraded && !rolled_back => None,
        EndReason::Recovered => Some(true),
        EndReason::NotRecovered => Some(false),
        _ => Some(last == Some(Verdict::Healthy)),
    };
    // A window that ran its course, or one an operator promoted (it would be proved good),
    // can be blind; one ended otherwise proves nothing and is not called blind.
    let blind =
        matches!(end, EndReason::Deadline | EndReason::Promoted) && !p.ever_degraded && is_blind(p);
    p.phase = Phase::Finished;
    p.outcome = Some(Outcome {
        verdict,
        action: window_action(p),
        recovered,
        end,
        reason,
        at: now,
        blind,
    });
}

/// What made the window blind: which signal was missing, from where, and how often.
pub(super) fn blindness(target: &WindowTarget, p: &Progress) -> String {
    let source = match &target.prometheus {
        Some(source) => format!("Prometheus at {}", source.url.redacted()),
        None => format!("the logs of {}", target.describe()),
    };
    format!(
        "BLIND: the 5xx signal ({source}) was missing in {} of {} probing ticks",
        p.ratio_missing, p.ticks
    )
}

/// Whether the signal the window was armed to read was missing in more than half of its
/// probing ticks.
pub(super) fn is_blind(p: &Progress) -> bool {
    p.ratio_missing > p.ticks.saturating_sub(p.ratio_missing)
}

/// The final result of a finished window, as every later tick answers it.
#[must_use]
pub fn replay(target: &WindowTarget, p: &Progress) -> TickOutcome {
    let o = p.outcome.as_ref();
    TickOutcome {
        verdict: o.map_or(Verdict::Healthy, |o| o.verdict),
        action: o.map_or(ActionKind::None, |o| o.action),
        finished: true,
        requeue_after: None,
        reason: o.map_or_else(String::new, |o| o.reason.clone()),
        recovered: o.and_then(|o| o.recovered),
        blind: o.map(|o| o.blind),
        rule: p.degraded_rule,
        ..progress_outcome(target, p, None, false)
    }
}

/// A watching window's answer, before this tick's verdict and reason are filled in.
#[must_use]
pub fn progress_outcome(
    target: &WindowTarget,
    p: &Progress,
    requeue: Option<Duration>,
    probed: bool,
) -> TickOutcome {
    let last = p.last.as_ref();
    let obs = &p.observations;
    let (timed, slow, quantile) = latency_outcome(target, obs);
    let recent = obs.recent.unwrap_or(crate::signals::SpanCounts {
        seconds: 0,
        requests: obs.requests,
        errors_5xx: obs.errors_5xx,
        timed: obs.timed,
        slow: obs.slow,
        latency_ms: obs.latency_ms,
    });
    let (recent_timed, recent_slow) = match (timed, slow) {
        (None, _) | (_, None) => (None, None),
        (Some(_), Some(None)) => (Some(recent.requests), Some(None)),
        (Some(_), Some(Some(_))) => (Some(recent.timed), Some(Some(recent.slow))),
    };
    // Before any tick of its own (a crash settled, say), the window's verdict so far.
    let so_far = if p.ever_degraded {
        Verdict::Degraded
    } else {
        Verdict::Healthy
    };
    TickOutcome {
        repo: target.repo.clone(),
        work_item: target.work_item.clone(),
        verdict: last.map_or(so_far, |l| l.verdict),
        action: ActionKind::None,
        finished: false,
        requeue_after: requeue,
        reason: last.map_or_else(String::new, |l| l.reason.clone()),
        recovered: None,
        blind: None,
        probed,
        ticks: p.ticks,
        consecutive_failures: p.observations.consecutive_failures,
        window_requests: p.observations.requests,
        window_errors_5xx: p.observations.errors_5xx,
        window_timed_requests: timed,
        window_slow_requests: slow,
        window_latency_ms: quantile,
        recent_requests: recent.requests,
        recent_errors_5xx: recent.errors_5xx,
        rule: last.and_then(|l| l.rule),
        recent_timed_requests: recent_timed,
        recent_slow_requests: recent_slow,
        deadline: Some(p.deadline(target)),
    }
}

/// The latency keys of a window's answer: none when the rule is off; timed and slow requests
/// from access lines; from a Prometheus histogram, its quantile, the requests it is judged
/// over as the timed ones, and no count of slow ones.
pub(super) fn latency_outcome(target: &WindowTarget, obs: &Observations) -> LatencyKeys {
    let from_histogram = target
        .prometheus
        .as_ref()
        .is_some_and(|s| s.latency.is_some());
    let (timed, slow, quantile) = match target.settings.latency_ms {
        None => (None, None, None),
        Some(_) if from_histogram => (
            Some(obs.requests),
            Some(None),
            Some(obs.latency_ms.map(crate::signals::Millis::get)),
        ),
        Some(_) => (Some(obs.timed), Some(Some(obs.slow)), None),
    };
    (timed, slow, quantile)
}

/// `window_timed_requests`, `window_slow_requests` and `window_latency_ms` of an answer.
type LatencyKeys = (Option<u64>, Option<Option<u64>>, Option<Option<f64>>);
