//! Settling a rollback a crash interrupted: resumed when the switches allow, else judged from
//! what the container runs; never decided again.

#[allow(
    clippy::wildcard_imports,
    reason = "a part of the machine, over its own vocabulary"
)]
use super::*;

/// A rollback found [`Intended`](RollbackState::Intended) was interrupted by a crash: settle
/// it from what the engine shows, never by deciding it again. The built-in rollback is
/// resumed ([`Need::Resume`]: finished, or the failed container put back); what that does not
/// settle, and a rollback command, is judged from what the container runs. Returns what was
/// found, for the tick's reason; `Err` when something must be observed first.
pub(super) fn reconcile(
    input: &Input<'_>,
    p: &mut Progress,
    observed: &Observed,
    got: &mut Gathered,
) -> Result<Option<String>, Need> {
    let Some(record) = p.rollback.as_ref() else {
        return Ok(None);
    };
    if record.state != RollbackState::Intended {
        return Ok(None);
    }
    let state = match &record.plan {
        RollbackPlan::Docker {
            container,
            previous_image,
            previous_image_id,
        } => {
            let previous = (previous_image.as_str(), previous_image_id.as_str());
            settle_recreate(input, container, previous, observed)?
        }
        // `docker service update` leaves nothing half-done to resume: the engine converges
        // the service on its own; the rollback is judged from the image of its spec.
        RollbackPlan::Service {
            service,
            previous_image,
            previous_image_id,
        } => {
            let current = match current(input.target, observed) {
                Ok(Some(current)) => current,
                Ok(None) => Err(ControlError::ServiceNotFound(service.clone())),
                Err(need) => return Err(need),
            };
            let previous = (previous_image.as_str(), previous_image_id.as_str());
            let what = format!("service {service}");
            judge_by_image(input.target, &what, previous, &current, "")
        }
        RollbackPlan::Command { command } => RollbackState::Unknown {
            detail: format!(
                "a crash interrupted the rollback command `{command}`; its outcome is unknown \
                 and it is not run again"
            ),
        },
    };
    Ok(Some(settled(input, p, state, got)))
}

/// An interrupted built-in recreate of `container`: resumed when the switches allow a
/// rollback now (finishing it changes containers), else, and when resuming did not settle
/// it, judged from the image the container runs.
fn settle_recreate(
    input: &Input<'_>,
    container: &str,
    previous: (&str, &str),
    observed: &Observed,
) -> Result<RollbackState, Need> {
    let may_resume = input.switches.enabled && input.switches.rollback == RollbackMode::Auto;
    let by_image = |why: &str| match &observed.container {
        None => Err(Need::Container),
        Some(current) => Ok(judge_by_image(
            input.target,
            container,
            previous,
            current,
            why,
        )),
    };
    match &observed.resumed {
        None if may_resume => Err(Need::Resume),
        None => by_image(" (not resumed: the switches allow no rollback now)"),
        Some(Ok(ResumedRollback::Finished { detail })) => Ok(RollbackState::Done {
            detail: format!("a crash interrupted the rollback; {detail}"),
        }),
        Some(Ok(ResumedRollback::Reverted { detail })) => Ok(RollbackState::Failed {
            detail: format!("a crash interrupted the rollback; {detail}"),
        }),
        Some(Ok(ResumedRollback::NotSettled { detail })) if detail.is_empty() => by_image(""),
        Some(Ok(ResumedRollback::NotSettled { detail })) => by_image(&format!(" ({detail})")),
        Some(Err(e)) => Ok(RollbackState::Unknown {
            detail: format!(
                "a crash interrupted the rollback of {container} and the engine cannot be \
                 asked ({e}); not run again"
            ),
        }),
    }
}

/// Records how an interrupted rollback was settled in `p`, with its alert when it failed or
/// its outcome is unknown; returns what was found.
fn settled(
    input: &Input<'_>,
    p: &mut Progress,
    state: RollbackState,
    got: &mut Gathered,
) -> String {
    let (event, note) = match &state {
        RollbackState::Unknown { detail } => (Some(AlertEvent::RollbackUnknown), detail.clone()),
        RollbackState::Failed { detail } => (Some(AlertEvent::RollbackFailed), detail.clone()),
        RollbackState::Done { detail } => (None, detail.clone()),
        RollbackState::Intended => (None, String::new()),
    };
    // An automatic rollback was decided on a DEGRADED tick; an operator's leaves the verdict
    // what the signals said, and its alert says the same as the window.
    if !p.rollback.as_ref().is_some_and(|r| r.by_operator) {
        p.ever_degraded = true;
    }
    let verdict = match (&p.last, p.ever_degraded) {
        (_, true) => Verdict::Degraded,
        (Some(last), false) => last.verdict,
        (None, false) => Verdict::Healthy,
    };
    if let Some(event) = event {
        let a = alert(
            input.target,
            event,
            verdict,
            ActionKind::Rollback,
            &note,
            input.now,
        );
        send_once(p, &mut got.alerts, a);
    }
    if let Some(record) = p.rollback.as_mut() {
        record.state = state;
        if record.took_effect() {
            p.since_rollback = Some(Observations::default());
        }
    }
    note
}

/// An interrupted docker rollback judged from the image the container runs alone: the
/// previous image (it took effect), the image it was armed on (it did not), or neither
/// (unknown).
pub(super) fn judge_by_image(
    target: &WindowTarget,
    container: &str,
    (previous_image, previous_image_id): (&str, &str),
    current: &Result<ContainerInfo, ControlError>,
    why: &str,
) -> RollbackState {
    let on_previous =
        |info: &ContainerInfo| runs_image(target, info, previous_image, previous_image_id);
    let on_armed = |info: &ContainerInfo| {
        target
            .armed_image
            .as_ref()
            .is_some_and(|a| runs_image(target, info, &a.image_ref, &a.image_id))
    };
    match current {
        Ok(info) if on_previous(info) => RollbackState::Done {
            detail: format!(
                "a crash interrupted the rollback; reconciled: {container} runs the previous \
                 image {previous_image}{why}"
            ),
        },
        Ok(info) if on_armed(info) => RollbackState::Failed {
            detail: format!(
                "a crash interrupted the rollback of {container}; it still runs the image it \
                 was armed on, {}: the rollback did not take effect{why}; not run again",
                info.image_ref
            ),
        },
        Ok(info) => RollbackState::Unknown {
            detail: format!(
                "a crash interrupted the rollback of {container}; it runs {} and not the \
                 previous image {previous_image}{why}; not run again",
                info.image_ref
            ),
        },
        Err(e) => RollbackState::Unknown {
            detail: format!(
                "a crash interrupted the rollback of {container} and its image cannot be \
                 checked ({e}){why}; not run again"
            ),
        },
    }
}

/// Whether the target runs the image `image_ref` whose id is `image_id`: a container by the
/// id of its image; a service by the image of its spec (a digest only one side carries
/// aside), or by that image's id on this engine.
pub(super) fn runs_image(
    target: &WindowTarget,
    info: &ContainerInfo,
    image_ref: &str,
    image_id: &str,
) -> bool {
    if target.service.is_some() {
        same_service_image(&info.image_ref, image_ref)
            || (!info.image_id.is_empty() && info.image_id == image_id)
    } else {
        info.image_id == image_id
    }
}
