//! The plain-container rollback, carried out: park the failed container, bring its
//! replacement up on the previous image, put the failed one back when that fails, and resume
//! a recreate a crash interrupted.

use std::time::Duration;

use post_deploy_core::{ControlError, ResumedRollback};

use super::DockerCli;
use super::exec::{MUTATE_TIMEOUT, READ_TIMEOUT};
use super::inspect::{ContainerJson, ps_rows};
use super::plan::{RecreatePlan, marked_plan};
use super::self_guard::SelfIdentity;
#[cfg(doc)]
use post_deploy_core::ContainerControl;

/// How long a recreated container must keep running to count as started.
pub(super) const SETTLE: Duration = Duration::from_secs(1);
/// `{name}{PARKED_INFIX}{unix seconds}`.
pub(super) const PARKED_INFIX: &str = "-post-deploy-failed-";
/// replacement this rollback created from any other container, should a crash interrupt it.
pub(super) const LABEL_ROLLBACK_OF: &str = "post-deploy.rollback-of";

impl DockerCli {
    /// A plain container: park the failed one under another name; create its replacement on
    /// the previous image while it still serves; stop it, start the replacement; put the
    /// failed one back when that fails.
    ///
    /// Every step leaves the engine in a state [`ContainerControl::resume_rollback`] settles
    /// if a crash stops the rollback there: the parked container is stopped only once the
    /// replacement is created and connected (so the replacement carries the host ports the
    /// failed one had), and a put-back starts the parked container before it takes its name
    /// back (so it is never under its name stopped).
    pub(super) fn recreate(
        &self,
        me: &SelfIdentity,
        target: &ContainerJson,
        previous_image: &str,
        previous_id: &str,
    ) -> Result<(), ControlError> {
        let name = target.short_name();
        if name.is_empty() {
            return Err(ControlError::BadOutput {
                what: format!("docker inspect {}", target.id),
                detail: "no name".to_owned(),
            });
        }
        let parked = format!("{name}{PARKED_INFIX}{}", self.clock.now().timestamp());
        let plan = self.replacement_plan(target, name, previous_image, &parked);
        self.mutate(
            me,
            &[name, parked.as_str()],
            &format!("docker rename {name} {parked}"),
            &self.docker_call(["rename", "--", name, &parked], MUTATE_TIMEOUT),
        )?;
        let parked_ids = [parked.as_str(), target.id.as_str()];
        self.finish_recreate(
            me,
            name,
            &parked_ids,
            &plan,
            previous_id,
            None,
            target.state.running,
        )
    }

    /// How `parked` (the failed container, inspected under any name) is created again as
    /// `name` on `image`, marked as the replacement of `parked_name`.
    pub(super) fn replacement_plan(
        &self,
        parked: &ContainerJson,
        name: &str,
        image: &str,
        parked_name: &str,
    ) -> RecreatePlan {
        // Without the image's own defaults every setting is carried over as it is.
        let defaults = self
            .image_json(&parked.image)
            .ok()
            .flatten()
            .map(|i| i.config);
        let as_named = ContainerJson {
            name: format!("/{name}"),
            ..parked.clone()
        };
        marked_plan(&as_named, defaults.as_ref(), image, Some(parked_name))
    }

    /// From a parked failed container (`parked`: its name, then its id) to a running
    /// replacement: creates it (or takes `created`, the replacement an interrupted run
    /// created), connects the networks it is not on yet, stops the parked container, starts
    /// and checks the replacement. When that fails, removes the replacement and puts the
    /// parked container back (started when `restart` says so).
    #[expect(
        clippy::too_many_arguments,
        reason = "one step of a rollback, shared by the rollback and its resumption"
    )]
    pub(super) fn finish_recreate(
        &self,
        me: &SelfIdentity,
        name: &str,
        parked: &[&str],
        plan: &RecreatePlan,
        previous_id: &str,
        created: Option<&ContainerJson>,
        restart: bool,
    ) -> Result<(), ControlError> {
        let parked_name = parked.first().copied().unwrap_or_default();
        match self.bring_up(me, name, parked, plan, previous_id, created) {
            Ok(()) => {
                // Parked, it must not come back by itself (restart policy, daemon restart).
                let _ = self.mutate(
                    me,
                    parked,
                    &format!("docker update --restart no {parked_name}"),
                    &self.docker_call(
                        ["update", "--restart", "no", "--", parked_name],
                        MUTATE_TIMEOUT,
                    ),
                );
                Ok(())
            }
            Err((e, created)) => {
                if let Some(id) = created {
                    let _ = self.mutate(
                        me,
                        &[id.as_str()],
                        &format!("docker rm -f {id}"),
                        &self.docker_call(["rm", "--force", "--", &id], MUTATE_TIMEOUT),
                    );
                }
                Err(self.put_back(me, parked, name, restart, e))
            }
        }
    }

    /// Creates (unless `created` is given), connects, stops the parked container, starts and
    /// checks the replacement; on failure, the error and the id of the replacement.
    pub(super) fn bring_up(
        &self,
        me: &SelfIdentity,
        name: &str,
        parked: &[&str],
        plan: &RecreatePlan,
        previous_id: &str,
        created: Option<&ContainerJson>,
    ) -> Result<(), (ControlError, Option<String>)> {
        let id = match created {
            Some(c) => c.id.clone(),
            None => {
                let out = self
                    .mutate(
                        me,
                        &[name],
                        &format!("docker create --name {name}"),
                        &self.docker_call(plan.create.iter().cloned(), MUTATE_TIMEOUT),
                    )
                    .map_err(|e| (e, None))?;
                let id = String::from_utf8_lossy(&out.stdout)
                    .lines()
                    .map(str::trim)
                    .rfind(|l| !l.is_empty())
                    .map(str::to_owned);
                let Some(id) = id else {
                    let e = ControlError::BadOutput {
                        what: format!("docker create --name {name}"),
                        detail: "no container id".to_owned(),
                    };
                    return Err((e, Some(name.to_owned())));
                };
                id
            }
        };
        let fail = |e: ControlError| (e, Some(id.clone()));
        for connect in &plan.connect {
            // A replacement an interrupted run created may be on some of them already.
            if created.is_some_and(|c| {
                connect
                    .last()
                    .is_some_and(|n| c.network_settings.networks.contains_key(n))
            }) {
                continue;
            }
            let args = connect.iter().cloned().chain(std::iter::once(id.clone()));
            self.mutate(
                me,
                &[id.as_str()],
                &format!("docker network connect for {name}"),
                &self.docker_call(args, MUTATE_TIMEOUT),
            )
            .map_err(fail)?;
        }
        let parked_name = parked.first().copied().unwrap_or_default();
        self.mutate(
            me,
            parked,
            &format!("docker stop {parked_name}"),
            &self.docker_call(["stop", "--", parked_name], MUTATE_TIMEOUT),
        )
        .map_err(fail)?;
        self.mutate(
            me,
            &[id.as_str()],
            &format!("docker start {name}"),
            &self.docker_call(["start", "--", id.as_str()], MUTATE_TIMEOUT),
        )
        .map_err(fail)?;
        let check = |when: &str| -> Result<(), ControlError> {
            let now = self.inspect_json(&id)?;
            if now.image != previous_id {
                return Err(ControlError::Failed {
                    what: format!("recreating {name}"),
                    detail: format!(
                        "the new container runs {}, not the previous image {previous_id}",
                        now.image
                    ),
                });
            }
            if !now.state.running || now.state.restarting {
                return Err(ControlError::Failed {
                    what: format!("recreating {name}"),
                    detail: format!(
                        "the new container is not running {when} (status {})",
                        now.state.status
                    ),
                });
            }
            Ok(())
        };
        check("after start").map_err(fail)?;
        if !self.settle.is_zero() {
            std::thread::sleep(self.settle);
            check(&format!("{} s after start", self.settle.as_secs())).map_err(fail)?;
        }
        Ok(())
    }

    /// Puts the failed container back under its name: starts it first if it ran (a crash
    /// between the two leaves it running under the parked name, which a resumption settles;
    /// never stopped under its own), then renames it. Returns `error`, with what went wrong
    /// doing so.
    pub(super) fn put_back(
        &self,
        me: &SelfIdentity,
        parked: &[&str],
        name: &str,
        start: bool,
        error: ControlError,
    ) -> ControlError {
        let parked_name = parked.first().copied().unwrap_or_default();
        let mut notes = Vec::new();
        let started = !start
            || match self.mutate(
                me,
                parked,
                &format!("docker start {parked_name}"),
                &self.docker_call(["start", "--", parked_name], MUTATE_TIMEOUT),
            ) {
                Ok(_) => true,
                Err(e) => {
                    notes.push(format!("starting the failed container again failed: {e}"));
                    false
                }
            };
        let mut touches = parked.to_vec();
        touches.push(name);
        match self.mutate(
            me,
            &touches,
            &format!("docker rename {parked_name} {name}"),
            &self.docker_call(["rename", "--", parked_name, name], MUTATE_TIMEOUT),
        ) {
            Err(e) => notes.push(format!("putting the failed container back failed too: {e}")),
            Ok(_) if started => notes.push(format!("the failed container is back as {name}")),
            Ok(_) => {}
        }
        let note = notes.join("; ");
        match error {
            ControlError::Failed { what, detail } => ControlError::Failed {
                what,
                detail: format!("{detail}; {note}"),
            },
            other => ControlError::Failed {
                what: format!("recreating {name}"),
                detail: format!("{other}; {note}"),
            },
        }
    }

    /// The newest container parked by a rollback of `name`
    /// (`{name}-post-deploy-failed-{seconds}`, the largest seconds), if any.
    pub(super) fn newest_parked(&self, name: &str) -> Result<Option<ContainerJson>, ControlError> {
        let what = format!("listing the parked containers of {name}");
        let prefix = format!("{name}{PARKED_INFIX}");
        let c = self.succeed(
            &what,
            &self.docker_call(
                [
                    "ps".to_owned(),
                    "--all".to_owned(),
                    "--no-trunc".to_owned(),
                    "--filter".to_owned(),
                    format!("name=^/{prefix}"),
                    "--format".to_owned(),
                    "{{json .}}".to_owned(),
                ],
                READ_TIMEOUT,
            ),
        )?;
        let mut newest: Option<(u64, String)> = None;
        for row in ps_rows(&what, &c.stdout)? {
            // The filter is a pattern; only the exact shape counts.
            let stamp = row
                .names
                .split(',')
                .map(|n| n.trim().trim_start_matches('/'))
                .filter_map(|n| n.strip_prefix(prefix.as_str()))
                .filter(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))
                .filter_map(|t| t.parse::<u64>().ok())
                .max();
            if let Some(stamp) = stamp
                && newest.as_ref().is_none_or(|(best, _)| stamp > *best)
            {
                newest = Some((stamp, row.id));
            }
        }
        match newest {
            None => Ok(None),
            Some((_, id)) => match self.inspect_json(&id) {
                Ok(c) => Ok(Some(c)),
                // Removed meanwhile.
                Err(ControlError::ContainerNotFound(_)) => Ok(None),
                Err(e) => Err(e),
            },
        }
    }

    /// [`ContainerControl::resume_rollback`] for a plain container; `current` is what runs
    /// under `name`, if anything.
    pub(super) fn resume_recreate(
        &self,
        me: &SelfIdentity,
        name: &str,
        current: Option<&ContainerJson>,
        previous_image: &str,
    ) -> Result<ResumedRollback, ControlError> {
        let previous_id = self.image_json(previous_image)?.map(|i| i.id);
        let parked = self.newest_parked(name)?;
        if let Some(p) = &parked
            && me.is(p)
        {
            return Err(ControlError::SelfContainer(p.short_name().to_owned()));
        }
        let parked_ids = parked.as_ref().map(|p| [p.short_name(), p.id.as_str()]);
        let finished = |how: &str| ResumedRollback::Finished {
            detail: format!(
                "finished the interrupted rollback: {name} runs the previous image {previous_image} ({how})"
            ),
        };
        let on_previous = |c: &ContainerJson| previous_id.as_deref() == Some(c.image.as_str());
        match (current, &parked) {
            // It got that far: at most the parked container's restart policy is left to do.
            (Some(c), _) if on_previous(c) && c.state.running && !c.state.restarting => {
                if let Some(ids) = &parked_ids {
                    let _ = self.mutate(
                        me,
                        ids,
                        &format!("docker update --restart no {}", ids[0]),
                        &self.docker_call(
                            ["update", "--restart", "no", "--", ids[0]],
                            MUTATE_TIMEOUT,
                        ),
                    );
                }
                Ok(finished("the engine showed it running"))
            }
            // The replacement this rollback created, not running yet: connect, stop, start.
            (Some(c), Some(p))
                if !c.state.running
                    && c.config.labels.get(LABEL_ROLLBACK_OF).map(String::as_str)
                        == Some(p.short_name()) =>
            {
                let Some(ids) = &parked_ids else {
                    return Ok(not_settled(""));
                };
                let expected = previous_id.clone().unwrap_or_else(|| c.image.clone());
                let plan = self.replacement_plan(p, name, previous_image, p.short_name());
                match self.finish_recreate(me, name, ids, &plan, &expected, Some(c), true) {
                    Ok(()) => Ok(finished("started the replacement it had created")),
                    Err(e) => Ok(self.reverted(name, p, &e)),
                }
            }
            // The failed container runs under its name: the rollback never changed it, or
            // put it back already. It is not run again.
            (Some(c), _) if !on_previous(c) && c.state.running => Ok(ResumedRollback::Reverted {
                detail: format!(
                    "the rollback had not changed {name} or had put it back: {name} runs {} again, \
                     not the previous image {previous_image}; not run again",
                    c.config.image
                ),
            }),
            (Some(_), _) => Ok(not_settled(
                "the container under the name shows no step of this rollback to finish",
            )),
            // Parked, nothing under the name: finish the recreate from the parked container's
            // own configuration, or put it back when that cannot be done.
            (None, Some(p)) => {
                let Some(ids) = &parked_ids else {
                    return Ok(not_settled(""));
                };
                let result = match &previous_id {
                    Some(id) => {
                        let plan = self.replacement_plan(p, name, previous_image, p.short_name());
                        self.finish_recreate(me, name, ids, &plan, id, None, true)
                    }
                    None => Err(self.put_back(
                        me,
                        ids,
                        name,
                        true,
                        ControlError::Failed {
                            what: format!("finishing the rollback of {name}"),
                            detail: format!(
                                "the previous image {previous_image} is not on the engine any more"
                            ),
                        },
                    )),
                };
                match result {
                    Ok(()) => Ok(finished("recreated it from the parked container")),
                    Err(e) => Ok(self.reverted(name, p, &e)),
                }
            }
            (None, None) => Ok(not_settled(&format!(
                "no container under the name {name} and none parked"
            ))),
        }
    }

    /// What a resumption that could not finish left: the parked container `p` back under
    /// `name`, running, or (if putting it back failed) not settled.
    pub(super) fn reverted(
        &self,
        name: &str,
        p: &ContainerJson,
        e: &ControlError,
    ) -> ResumedRollback {
        match self.inspect_json(name) {
            Ok(now) if now.id == p.id && now.state.running => ResumedRollback::Reverted {
                detail: format!(
                    "could not finish the interrupted rollback ({e}); put the parked container back: \
                     {name} runs {} again",
                    p.config.image
                ),
            },
            _ => not_settled(&format!(
                "could not finish the interrupted rollback, nor put the parked container back: {e}"
            )),
        }
    }
}

pub(super) fn not_settled(detail: &str) -> ResumedRollback {
    ResumedRollback::NotSettled {
        detail: detail.to_owned(),
    }
}
