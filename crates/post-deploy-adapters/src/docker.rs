//! Container control over the docker CLI.
//!
//! Reads go through `docker inspect`, `docker image inspect` and `docker logs`, whose JSON is
//! read with serde. The built-in rollback either re-tags a compose service's image and lets
//! compose recreate the service, or recreates a plain container under its own name from its
//! own inspected configuration; a recreate a crash interrupted is finished, or the failed
//! container put back, by the next tick (`resume_rollback`). Every call is argv only (see [`super::process`]) and bounded
//! in time, and every mutating call is checked against the orchestrator's own container
//! first: the core never decides to touch it, and this adapter refuses to anyway.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use post_deploy_core::config::{CommandLine, ComposeProgram};
use post_deploy_core::{
    Clock as _, CommandOutcome, ContainerControl, ContainerInfo, ControlError, LogCursor,
    ResumedRollback,
};
use serde::de::IgnoredAny;
use serde::{Deserialize, Deserializer};

use crate::clock::SystemClock;
use crate::process::{self, Captured, Ended, Invocation, Pipe, Status, StdoutTo};

/// A read: `inspect`, `image inspect`, `ps`, `compose version`.
const READ_TIMEOUT: Duration = Duration::from_secs(30);
/// One `docker logs` read.
const LOGS_TIMEOUT: Duration = Duration::from_secs(60);
/// One mutating docker call (`stop` waits for the container's own stop timeout).
const MUTATE_TIMEOUT: Duration = Duration::from_secs(90);
/// `compose up` of one service.
const COMPOSE_TIMEOUT: Duration = Duration::from_secs(300);
/// The most `inspect` output read.
const OUTPUT_LIMIT: usize = 16 * 1024 * 1024;
/// The longest log line passed on; docker itself splits lines at 16 KiB.
const MAX_LOG_LINE: usize = 64 * 1024;
/// How far behind the present a log read stops (see `read_logs`).
const LOG_SETTLE: TimeDelta = TimeDelta::seconds(1);
/// How long a recreated container must keep running to count as started.
const SETTLE: Duration = Duration::from_secs(1);

/// The labels compose puts on the containers it manages.
const LABEL_PROJECT: &str = "com.docker.compose.project";
const LABEL_SERVICE: &str = "com.docker.compose.service";
const LABEL_WORKING_DIR: &str = "com.docker.compose.project.working_dir";
const LABEL_CONFIG_FILES: &str = "com.docker.compose.project.config_files";

/// What a failed container is renamed to while its replacement comes up:
/// `{name}{PARKED_INFIX}{unix seconds}`.
const PARKED_INFIX: &str = "-post-deploy-failed-";
/// The label a replacement is created with: the parked container it replaces. It tells a
/// replacement this rollback created from any other container, should a crash interrupt it.
const LABEL_ROLLBACK_OF: &str = "post-deploy.rollback-of";

/// Runs programs: the real one starts processes, the tests' one records and answers.
trait Exec: Send + Sync {
    fn run(
        &self,
        inv: &Invocation,
        stdout: StdoutTo,
        forward_stderr: bool,
    ) -> Result<Ended<Captured>, ControlError>;

    fn stream(
        &self,
        inv: &Invocation,
        max_line: usize,
        on_line: &mut dyn FnMut(Pipe, &[u8]),
    ) -> Result<Ended<Status>, ControlError>;
}

struct RealExec;

impl Exec for RealExec {
    fn run(
        &self,
        inv: &Invocation,
        stdout: StdoutTo,
        forward_stderr: bool,
    ) -> Result<Ended<Captured>, ControlError> {
        process::run(inv, stdout, forward_stderr)
    }

    fn stream(
        &self,
        inv: &Invocation,
        max_line: usize,
        on_line: &mut dyn FnMut(Pipe, &[u8]),
    ) -> Result<Ended<Status>, ControlError> {
        process::stream_lines(inv, max_line, on_line)
    }
}

/// The docker CLI as [`ContainerControl`].
#[derive(Clone)]
pub struct DockerCli {
    docker: String,
    compose: ComposeProgram,
    self_container: String,
    exec: Arc<dyn Exec>,
    settle: Duration,
}

impl fmt::Debug for DockerCli {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DockerCli")
            .field("docker", &self.docker)
            .field("compose", &self.compose)
            .field("self_container", &self.self_container)
            .finish_non_exhaustive()
    }
}

impl DockerCli {
    /// Drives `docker` (a program name or path) and `compose`; never mutates
    /// `self_container`.
    #[must_use]
    pub fn new(docker: String, compose: ComposeProgram, self_container: String) -> Self {
        Self {
            docker,
            compose,
            self_container,
            exec: Arc::new(RealExec),
            settle: SETTLE,
        }
    }

    fn docker_call<I, S>(&self, args: I, timeout: Duration) -> Invocation
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Invocation::new(self.docker.clone(), timeout).args(args)
    }

    /// Runs `inv` and captures its output; a time-out is an error, a non-zero exit is not.
    fn capture(&self, what: &str, inv: &Invocation) -> Result<Captured, ControlError> {
        match self.exec.run(
            inv,
            StdoutTo::Capture {
                limit: OUTPUT_LIMIT,
            },
            false,
        )? {
            Ended::Finished(c) => Ok(c),
            Ended::TimedOut => Err(ControlError::TimedOut {
                what: what.to_owned(),
                after: inv.timeout,
            }),
        }
    }

    /// Runs `inv`; a non-zero exit is [`ControlError::Failed`].
    fn succeed(&self, what: &str, inv: &Invocation) -> Result<Captured, ControlError> {
        let c = self.capture(what, inv)?;
        if c.status.success() {
            Ok(c)
        } else {
            Err(failed(what, &c))
        }
    }

    /// The one door for mutating calls: refuses when any container it `touches` is the
    /// orchestrator's own.
    fn mutate(
        &self,
        me: &SelfIdentity,
        touches: &[&str],
        what: &str,
        inv: &Invocation,
    ) -> Result<Captured, ControlError> {
        if let Some(hit) = touches.iter().find(|t| me.names(t)) {
            return Err(ControlError::SelfContainer((*hit).to_owned()));
        }
        self.succeed(what, inv)
    }

    fn inspect_json(&self, container: &str) -> Result<ContainerJson, ControlError> {
        let what = format!("docker inspect {container}");
        let c = self.capture(
            &what,
            &self.docker_call(
                ["inspect", "--type", "container", "--", container],
                READ_TIMEOUT,
            ),
        )?;
        if !c.status.success() {
            return Err(if is_not_found(&c.stderr_tail) {
                ControlError::ContainerNotFound(container.to_owned())
            } else {
                failed(&what, &c)
            });
        }
        first_of(&what, &c)
    }

    fn image_json(&self, image: &str) -> Result<Option<ImageJson>, ControlError> {
        let what = format!("docker image inspect {image}");
        let c = self.capture(
            &what,
            &self.docker_call(["image", "inspect", "--", image], READ_TIMEOUT),
        )?;
        if !c.status.success() {
            return if is_not_found(&c.stderr_tail) {
                Ok(None)
            } else {
                Err(failed(&what, &c))
            };
        }
        first_of(&what, &c).map(Some)
    }

    /// Who the orchestrator's own container is: its configured name, and its id and name
    /// on the engine when it is there.
    fn identity(&self) -> SelfIdentity {
        let mut me = SelfIdentity {
            names: vec![self.self_container.clone()],
            ids: Vec::new(),
        };
        if let Ok(c) = self.inspect_json(&self.self_container) {
            me.names.push(c.short_name().to_owned());
            me.ids.push(c.id);
        }
        me
    }

    fn compose_prefix(&self) -> Vec<String> {
        if let ComposeProgram::Command(cmd) = &self.compose {
            return std::iter::once(cmd.program().to_owned())
                .chain(cmd.args().iter().cloned())
                .collect();
        }
        let plugin = self
            .capture(
                "docker compose version",
                &self.docker_call(["compose", "version"], READ_TIMEOUT),
            )
            .is_ok_and(|c| c.status.success());
        if plugin {
            vec![self.docker.clone(), "compose".to_owned()]
        } else {
            vec!["docker-compose".to_owned()]
        }
    }

    /// Compose: tag the previous image as the service's image reference, then recreate the
    /// service alone.
    fn compose_rollback(
        &self,
        me: &SelfIdentity,
        target: &ContainerJson,
        service: &ComposeService,
        previous_image: &str,
        previous_id: &str,
    ) -> Result<(), ControlError> {
        let what = format!(
            "compose rollback of service {} in project {}",
            service.service, service.project
        );
        if let Some(detail) = service.refusal() {
            return Err(ControlError::Failed { what, detail });
        }
        // `up --force-recreate SERVICE` recreates every container of the service.
        let members = self.service_members(service)?;
        if let Some(hit) = members.iter().find(|m| me.names(m)) {
            return Err(ControlError::SelfContainer(hit.clone()));
        }
        let image_ref = target.config.image.as_str();
        if image_ref.is_empty() || image_ref.starts_with("sha256:") || image_ref.starts_with('-') {
            return Err(ControlError::Failed {
                what,
                detail: format!("the service's image reference {image_ref:?} cannot be re-tagged"),
            });
        }
        let files = resolve_config_files(service, |p| p.is_file()).map_err(|detail| {
            ControlError::Failed {
                what: what.clone(),
                detail,
            }
        })?;
        let prefix = self.compose_prefix();
        let (program, lead) = prefix
            .split_first()
            .map_or(("docker-compose", &[][..]), |(p, l)| (p.as_str(), l));
        // Compose must answer before the image reference moves.
        let version = Invocation::new(program, READ_TIMEOUT)
            .args(lead.iter().cloned())
            .args(["version"]);
        self.succeed(&format!("`{}`", version.display()), &version)?;
        let tag = |image: &str| {
            self.mutate(
                me,
                &[],
                &format!("docker tag {image} {image_ref}"),
                &self.docker_call(["tag", "--", image, image_ref], MUTATE_TIMEOUT),
            )
        };
        tag(previous_image)?;
        let mut inv = Invocation::new(program, COMPOSE_TIMEOUT)
            .args(lead.iter().cloned())
            .args(compose_up_args(service, &files));
        inv.cwd = service
            .working_dir
            .as_ref()
            .map(PathBuf::from)
            .filter(|d| d.is_dir());
        let mut touches: Vec<&str> = members.iter().map(String::as_str).collect();
        touches.push(target.short_name());
        if let Err(e) = self.mutate(me, &touches, &format!("`{}`", inv.display()), &inv) {
            // The reference goes back to the image it named, as before the rollback.
            let note = match tag(&target.image) {
                Ok(_) => format!("{image_ref} names {} again", target.image),
                Err(t) => format!("putting {image_ref} back failed too: {t}"),
            };
            return Err(ControlError::Failed {
                what,
                detail: format!("{e}; {note}"),
            });
        }
        // Compose keeps the container's name; look it up again by the service otherwise.
        let now = match self.inspect_json(target.short_name()) {
            Ok(c) if c.config.labels.get(LABEL_SERVICE) == Some(&service.service) => c,
            _ => {
                let members = self.service_members(service)?;
                let first = members.first().ok_or_else(|| ControlError::Failed {
                    what: what.clone(),
                    detail: "compose left no container for the service".to_owned(),
                })?;
                self.inspect_json(first)?
            }
        };
        if now.image != previous_id {
            return Err(ControlError::Failed {
                what,
                detail: format!(
                    "compose recreated {} on {} ({}), not on the previous image {previous_image} ({previous_id}); \
                     does the compose file's image reference depend on variables not set here?",
                    now.short_name(),
                    now.config.image,
                    now.image
                ),
            });
        }
        if !now.state.running {
            return Err(ControlError::Failed {
                what,
                detail: format!("{} is not running after compose up", now.short_name()),
            });
        }
        Ok(())
    }

    /// Every container (ids and names) of a compose service.
    fn service_members(&self, service: &ComposeService) -> Result<Vec<String>, ControlError> {
        let what = format!(
            "listing the containers of compose service {}",
            service.service
        );
        let c = self.succeed(
            &what,
            &self.docker_call(
                [
                    "ps".to_owned(),
                    "--all".to_owned(),
                    "--no-trunc".to_owned(),
                    "--filter".to_owned(),
                    format!("label={LABEL_PROJECT}={}", service.project),
                    "--filter".to_owned(),
                    format!("label={LABEL_SERVICE}={}", service.service),
                    "--format".to_owned(),
                    "{{json .}}".to_owned(),
                ],
                READ_TIMEOUT,
            ),
        )?;
        let mut members = Vec::new();
        for line in c
            .stdout
            .split(|&b| b == b'\n')
            .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
        {
            let row: PsRow = serde_json::from_slice(line).map_err(|e| ControlError::BadOutput {
                what: what.clone(),
                detail: e.to_string(),
            })?;
            members.push(row.id);
            members.extend(
                row.names
                    .split(',')
                    .map(str::trim)
                    .filter(|n| !n.is_empty())
                    .map(str::to_owned),
            );
        }
        Ok(members)
    }

    /// A plain container: park the failed one under another name; create its replacement on
    /// the previous image while it still serves; stop it, start the replacement; put the
    /// failed one back when that fails.
    ///
    /// Every step leaves the engine in a state [`ContainerControl::resume_rollback`] settles
    /// if a crash stops the rollback there: the parked container is stopped only once the
    /// replacement is created and connected (so the replacement carries the host ports the
    /// failed one had), and a put-back starts the parked container before it takes its name
    /// back (so it is never under its name stopped).
    fn recreate(
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
        let parked = format!("{name}{PARKED_INFIX}{}", SystemClock.now().timestamp());
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
    fn replacement_plan(
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
    fn finish_recreate(
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
    fn bring_up(
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
    fn put_back(
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
    fn newest_parked(&self, name: &str) -> Result<Option<ContainerJson>, ControlError> {
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
        for line in c
            .stdout
            .split(|&b| b == b'\n')
            .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
        {
            let row: PsRow = serde_json::from_slice(line).map_err(|e| ControlError::BadOutput {
                what: what.clone(),
                detail: e.to_string(),
            })?;
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
    fn resume_recreate(
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
    fn reverted(&self, name: &str, p: &ContainerJson, e: &ControlError) -> ResumedRollback {
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

fn not_settled(detail: &str) -> ResumedRollback {
    ResumedRollback::NotSettled {
        detail: detail.to_owned(),
    }
}

impl ContainerControl for DockerCli {
    fn inspect(&self, container: &str) -> Result<ContainerInfo, ControlError> {
        let c = self.inspect_json(container)?;
        Ok(ContainerInfo {
            name: c.short_name().to_owned(),
            id: c.id,
            image_id: c.image,
            image_ref: c.config.image,
            running: c.state.running,
        })
    }

    fn image_id(&self, image: &str) -> Result<Option<String>, ControlError> {
        Ok(self.image_json(image)?.map(|i| i.id))
    }

    fn read_logs(
        &self,
        container: &str,
        cursor: &LogCursor,
        sink: &mut dyn FnMut(&[u8]),
    ) -> Result<LogCursor, ControlError> {
        // `--since` is inclusive to the nanosecond: lines stamped exactly `since` come again
        // and the tally skips the ones already read. Only lines stamped up to a moment ago
        // (the horizon) are taken: the daemon stamps stdout and stderr lines on separate
        // goroutines before writing them, so a line stamped just before the newest one read
        // could still be on its way into the log and would be skipped by the next `--since`.
        // The horizon is applied here, over the whole output, not with `--until`: the daemon
        // stops reading at the first line stamped after `--until`, and a line stamped before
        // it but written just after it would be missed, then skipped for good.
        let since = cursor.since.to_rfc3339_opts(SecondsFormat::Nanos, true);
        let horizon = SystemClock
            .now()
            .checked_sub_signed(LOG_SETTLE)
            .unwrap_or(cursor.since);
        let what = format!("docker logs {container}");
        let inv = self.docker_call(
            [
                "logs",
                "--timestamps",
                "--since",
                since.as_str(),
                "--",
                container,
            ],
            LOGS_TIMEOUT,
        );
        let mut tally = LogTally::new(cursor, horizon);
        let mut complaints = String::new();
        let ended = self.exec.stream(
            &inv,
            MAX_LOG_LINE,
            &mut |pipe, line| match split_stamp(line) {
                Some((at, text)) if tally.admit(at) => sink(text),
                Some(_) => {}
                // docker's own messages carry no timestamp.
                None if pipe == Pipe::Stderr && complaints.len() < 2048 => {
                    complaints.push_str(String::from_utf8_lossy(line).trim());
                    complaints.push(' ');
                }
                None => {}
            },
        )?;
        match ended {
            Ended::TimedOut => Err(ControlError::TimedOut {
                what,
                after: LOGS_TIMEOUT,
            }),
            Ended::Finished(status) if status.success() => Ok(tally.cursor()),
            Ended::Finished(_) if is_not_found(&complaints) => {
                Err(ControlError::ContainerNotFound(container.to_owned()))
            }
            Ended::Finished(status) => Err(ControlError::Failed {
                what,
                detail: format!("{status}: {}", complaints.trim()),
            }),
        }
    }

    fn rollback(&self, container: &str, previous_image: &str) -> Result<(), ControlError> {
        if container == self.self_container
            || container.strip_prefix('/') == Some(self.self_container.as_str())
        {
            return Err(ControlError::SelfContainer(container.to_owned()));
        }
        if previous_image.starts_with('-') || previous_image.is_empty() {
            return Err(ControlError::Failed {
                what: format!("rollback of {container}"),
                detail: format!("{previous_image:?} is not an image reference"),
            });
        }
        let me = self.identity();
        if me.names(container) {
            return Err(ControlError::SelfContainer(container.to_owned()));
        }
        let target = self.inspect_json(container)?;
        if me.is(&target) {
            return Err(ControlError::SelfContainer(container.to_owned()));
        }
        let previous_id = self
            .image_json(previous_image)?
            .map(|i| i.id)
            .ok_or_else(|| ControlError::Failed {
                what: format!("rollback of {container}"),
                detail: format!("the previous image {previous_image} is not on the engine"),
            })?;
        match ComposeService::from_labels(&target.config.labels) {
            Some(service) => {
                self.compose_rollback(&me, &target, &service, previous_image, &previous_id)
            }
            None => self.recreate(&me, &target, previous_image, &previous_id),
        }
    }

    /// A plain container's recreate, interrupted, is settled from what the engine shows:
    ///
    /// - the name runs the previous image: it got that far (finished);
    /// - the name holds the replacement it created (labelled with the parked container's
    ///   name), not running: it is connected to what it misses, the parked container stopped
    ///   and the replacement started (finished);
    /// - nothing under the name, a container parked: the recreate is finished from the parked
    ///   container's own configuration, as the rollback would have;
    /// - and when finishing fails, the replacement is removed and the parked container put
    ///   back and started (reverted): finishing is what the window decided, but a window that
    ///   had a container never ends without one;
    /// - the name runs another image: the rollback never changed it, or put it back (reverted,
    ///   not run again).
    ///
    /// The parked container is the newest `{name}-post-deploy-failed-{seconds}`. A compose
    /// service, and anything else, is not settled here: the monitor judges it from the image.
    fn resume_rollback(
        &self,
        container: &str,
        previous_image: &str,
    ) -> Result<ResumedRollback, ControlError> {
        if container == self.self_container
            || container.strip_prefix('/') == Some(self.self_container.as_str())
        {
            return Err(ControlError::SelfContainer(container.to_owned()));
        }
        if previous_image.starts_with('-') || previous_image.is_empty() {
            return Ok(not_settled(&format!(
                "{previous_image:?} is not an image reference"
            )));
        }
        let me = self.identity();
        if me.names(container) {
            return Err(ControlError::SelfContainer(container.to_owned()));
        }
        let current = match self.inspect_json(container) {
            Ok(c) => Some(c),
            Err(ControlError::ContainerNotFound(_)) => None,
            Err(e) => return Err(e),
        };
        if let Some(c) = &current {
            if me.is(c) {
                return Err(ControlError::SelfContainer(container.to_owned()));
            }
            if ComposeService::from_labels(&c.config.labels).is_some() {
                return Ok(not_settled(""));
            }
        }
        let name = current
            .as_ref()
            .map_or(container.strip_prefix('/').unwrap_or(container), |c| {
                c.short_name()
            });
        if name.is_empty() {
            return Ok(not_settled(""));
        }
        self.resume_recreate(&me, name, current.as_ref(), previous_image)
    }

    fn run_command(
        &self,
        command: &CommandLine,
        env: &[(String, String)],
        timeout: Duration,
    ) -> Result<CommandOutcome, ControlError> {
        if let Some((_, target)) = env
            .iter()
            .find(|(k, v)| k == "POST_DEPLOY_CONTAINER" && !v.is_empty())
            && (*target == self.self_container || self.identity().names(target))
        {
            return Err(ControlError::SelfContainer(target.clone()));
        }
        let inv = Invocation::new(command.program(), timeout)
            .args(command.args().iter().cloned())
            .envs(env);
        // Its stdout goes to our stderr: our stdout carries one JSON value.
        Ok(match self.exec.run(&inv, StdoutTo::OurStderr, true)? {
            Ended::TimedOut => CommandOutcome::TimedOut,
            Ended::Finished(Captured {
                status: Status::Code(code),
                stderr_tail,
                ..
            }) => CommandOutcome::Exited { code, stderr_tail },
            Ended::Finished(Captured {
                status: Status::Signalled(detail),
                ..
            }) => CommandOutcome::Signalled { detail },
        })
    }
}

fn failed(what: &str, c: &Captured) -> ControlError {
    let tail = c.stderr_tail.trim();
    ControlError::Failed {
        what: what.to_owned(),
        detail: if tail.is_empty() {
            c.status.to_string()
        } else {
            format!("{}: {tail}", c.status)
        },
    }
}

fn is_not_found(stderr: &str) -> bool {
    let s = stderr.to_ascii_lowercase();
    s.contains("no such container") || s.contains("no such object") || s.contains("no such image")
}

/// The first element of an `inspect` JSON array.
fn first_of<T: for<'de> Deserialize<'de>>(what: &str, c: &Captured) -> Result<T, ControlError> {
    let bad = |detail: String| ControlError::BadOutput {
        what: what.to_owned(),
        detail,
    };
    if c.stdout_truncated {
        return Err(bad(format!("more than {OUTPUT_LIMIT} bytes")));
    }
    let all: Vec<T> = serde_json::from_slice(&c.stdout).map_err(|e| bad(e.to_string()))?;
    all.into_iter()
        .next()
        .ok_or_else(|| bad("an empty list".to_owned()))
}

/// The orchestrator's own container, as names and ids a reference may use.
#[derive(Debug, Clone, PartialEq, Eq)]
struct SelfIdentity {
    names: Vec<String>,
    ids: Vec<String>,
}

impl SelfIdentity {
    /// Whether docker could resolve `reference` to the orchestrator's own container: its
    /// name, its id, or a prefix of its id.
    fn names(&self, reference: &str) -> bool {
        let r = reference.strip_prefix('/').unwrap_or(reference);
        !r.is_empty()
            && (self.names.iter().any(|n| n == r)
                || self.ids.iter().any(|id| {
                    id == r || (r.bytes().all(|b| b.is_ascii_hexdigit()) && id.starts_with(r))
                }))
    }

    fn is(&self, c: &ContainerJson) -> bool {
        self.ids.contains(&c.id) || self.names(c.short_name()) || self.names(&c.id)
    }
}

/// The log lines of one read that are new after a cursor, and the cursor after them.
#[derive(Debug, Clone)]
struct LogTally {
    /// Lines stamped after this are left for a later read.
    horizon: DateTime<Utc>,
    since: DateTime<Utc>,
    /// Lines stamped exactly `since` still to skip: they were read last time.
    skip: u64,
    last: DateTime<Utc>,
    at_last: u64,
}

impl LogTally {
    fn new(cursor: &LogCursor, horizon: DateTime<Utc>) -> Self {
        Self {
            horizon,
            since: cursor.since,
            skip: cursor.seen_at_since,
            last: cursor.since,
            at_last: cursor.seen_at_since,
        }
    }

    /// Whether a line stamped `at` is new; records it when it is.
    fn admit(&mut self, at: DateTime<Utc>) -> bool {
        if at < self.since || at > self.horizon {
            return false;
        }
        if at == self.since && self.skip > 0 {
            self.skip = self.skip.saturating_sub(1);
            return false;
        }
        // stdout and stderr arrive on their own pipes, not in time order: keep the latest.
        if at > self.last {
            self.last = at;
            self.at_last = 1;
        } else if at == self.last {
            self.at_last = self.at_last.saturating_add(1);
        }
        true
    }

    fn cursor(&self) -> LogCursor {
        LogCursor {
            since: self.last,
            seen_at_since: self.at_last,
        }
    }
}

/// Splits `2026-11-27T03:25:58.814415879Z text\n` into its time and its text.
fn split_stamp(line: &[u8]) -> Option<(DateTime<Utc>, &[u8])> {
    let space = line.iter().take(64).position(|&b| b == b' ')?;
    let stamp = std::str::from_utf8(line.get(..space)?).ok()?;
    let at = DateTime::parse_from_rfc3339(stamp)
        .ok()?
        .with_timezone(&Utc);
    Some((at, line.get(space.saturating_add(1)..)?))
}

/// What the compose labels say about a container's service.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ComposeService {
    project: String,
    service: String,
    working_dir: Option<String>,
    config_files: Vec<String>,
}

impl ComposeService {
    fn from_labels(labels: &BTreeMap<String, String>) -> Option<Self> {
        let nonempty = |k: &str| {
            labels
                .get(k)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        Some(Self {
            project: nonempty(LABEL_PROJECT)?,
            service: nonempty(LABEL_SERVICE)?,
            working_dir: nonempty(LABEL_WORKING_DIR),
            config_files: nonempty(LABEL_CONFIG_FILES)
                .map(|v| {
                    v.split(',')
                        .map(str::trim)
                        .filter(|f| !f.is_empty())
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
        })
    }

    /// Why compose cannot be given these labels: a project or service that reads as an
    /// option (a service `--remove-orphans`) would change what `compose up` does. Compose
    /// itself names neither so; only a container labelled by hand can.
    fn refusal(&self) -> Option<String> {
        [("project", &self.project), ("service", &self.service)]
            .into_iter()
            .find(|(_, name)| name.starts_with('-'))
            .map(|(kind, name)| format!("the compose {kind} {name:?} reads as an option"))
    }
}

/// The config files as paths compose can open from anywhere. Compose v2 records absolute
/// paths; v1 records them as given, relative to where it ran, and records as working
/// directory the first file's folder, from which that place can be worked out.
fn resolve_config_files(
    service: &ComposeService,
    exists: impl Fn(&Path) -> bool,
) -> Result<Vec<PathBuf>, String> {
    let wd = service.working_dir.as_deref().map(Path::new);
    let invoked_from = match (wd, service.config_files.first().map(Path::new)) {
        (Some(wd), Some(first)) if first.is_relative() => {
            let parts: Option<Vec<&std::ffi::OsStr>> = first
                .parent()
                .unwrap_or_else(|| Path::new(""))
                .components()
                .filter(|c| *c != Component::CurDir)
                .map(|c| {
                    if let Component::Normal(p) = c {
                        Some(p)
                    } else {
                        None
                    }
                })
                .collect();
            parts.and_then(|parts| {
                let folder: PathBuf = parts.iter().collect();
                wd.ends_with(&folder)
                    .then(|| wd.ancestors().nth(parts.len()))
                    .flatten()
                    .map(Path::to_path_buf)
            })
        }
        _ => None,
    };
    service
        .config_files
        .iter()
        .map(|f| {
            let f = Path::new(f);
            if f.is_absolute() {
                return Ok(f.to_path_buf());
            }
            let candidates: Vec<PathBuf> = invoked_from
                .iter()
                .map(|base| base.join(f))
                .chain(wd.map(|wd| wd.join(f)))
                .collect();
            candidates
                .iter()
                .find(|p| exists(p))
                .cloned()
                .ok_or_else(|| {
                    format!(
                        "compose file {} not found (looked at {})",
                        f.display(),
                        candidates
                            .iter()
                            .map(|p| p.display().to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                })
        })
        .collect()
}

/// `-p P --project-directory D -f F… up -d --no-deps --force-recreate SERVICE`.
fn compose_up_args(service: &ComposeService, files: &[PathBuf]) -> Vec<String> {
    let mut args = vec!["-p".to_owned(), service.project.clone()];
    if let Some(wd) = &service.working_dir {
        args.extend(["--project-directory".to_owned(), wd.clone()]);
    }
    for f in files {
        args.extend(["-f".to_owned(), f.display().to_string()]);
    }
    args.extend(
        [
            "up",
            "-d",
            "--no-deps",
            "--force-recreate",
            service.service.as_str(),
        ]
        .into_iter()
        .map(str::to_owned),
    );
    args
}

/// The docker calls that recreate a plain container.
#[derive(Debug, Clone, PartialEq, Eq)]
struct RecreatePlan {
    /// `create …` (without the program).
    create: Vec<String>,
    /// `network connect … NETWORK` for each further network; the new id goes last.
    connect: Vec<Vec<String>>,
}

/// How `c` is created again on `image`, from its own inspected configuration. Settings
/// equal to its current image's own defaults (`defaults`) are left to the previous image;
/// without them, everything is carried over.
fn recreate_plan(
    c: &ContainerJson,
    defaults: Option<&ImageConfigJson>,
    image: &str,
) -> RecreatePlan {
    marked_plan(c, defaults, image, None)
}

/// [`recreate_plan`], the replacement labelled as the one of `parked` when given. The
/// label a container got as an earlier rollback's replacement is not carried over.
fn marked_plan(
    c: &ContainerJson,
    defaults: Option<&ImageConfigJson>,
    image: &str,
    parked: Option<&str>,
) -> RecreatePlan {
    let cfg = &c.config;
    let hc = &c.host_config;
    let mut a: Vec<String> = vec![
        "create".to_owned(),
        "--name".to_owned(),
        c.short_name().to_owned(),
    ];

    // Environment and labels: what the image does not set itself.
    for e in cfg.env.iter().filter(|e| e.contains('=')) {
        if defaults.is_none_or(|d| !d.env.contains(e)) {
            flag(&mut a, "--env", e);
        }
    }
    for (k, v) in &cfg.labels {
        if k != LABEL_ROLLBACK_OF && defaults.is_none_or(|d| d.labels.get(k) != Some(v)) {
            flag(&mut a, "--label", &format!("{k}={v}"));
        }
    }
    if let Some(parked) = parked {
        flag(&mut a, "--label", &format!("{LABEL_ROLLBACK_OF}={parked}"));
    }

    // Ports: a dynamic binding keeps the host port it got, so URLs keep working.
    for (port, bindings) in &hc.port_bindings {
        let bound = c
            .network_settings
            .ports
            .get(port)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let mut used = vec![false; bound.len()];
        for b in bindings {
            let mut host_port = b.host_port.clone();
            if host_port.is_empty() || host_port == "0" {
                let found = bound.iter().enumerate().find(|(i, got)| {
                    !used.get(*i).copied().unwrap_or(true) && same_host_ip(&b.host_ip, &got.host_ip)
                });
                if let Some((i, got)) = found {
                    if let Some(u) = used.get_mut(i) {
                        *u = true;
                    }
                    host_port.clone_from(&got.host_port);
                }
            }
            flag(
                &mut a,
                "--publish",
                &port_spec(&b.host_ip, &host_port, port),
            );
        }
    }
    if hc.publish_all_ports {
        a.push("--publish-all".to_owned());
    }
    for port in cfg.exposed_ports.keys() {
        if !defaults.is_some_and(|d| d.exposed_ports.contains_key(port))
            && !hc.port_bindings.contains_key(port)
        {
            flag(&mut a, "--expose", port);
        }
    }

    // Mounts: binds and named volumes as given, `--mount`s rebuilt, anonymous volumes reused.
    let mut covered: Vec<&str> = Vec::new();
    for b in &hc.binds {
        flag(&mut a, "--volume", b);
        covered.extend(b.split(':').nth(1));
    }
    for m in &hc.mounts {
        flag(&mut a, "--mount", &mount_spec(m));
        covered.push(&m.target);
    }
    for (path, opts) in &hc.tmpfs {
        flag(
            &mut a,
            "--tmpfs",
            &if opts.is_empty() {
                path.clone()
            } else {
                format!("{path}:{opts}")
            },
        );
        covered.push(path);
    }
    for m in &c.mounts {
        if m.kind == "volume" && !m.name.is_empty() && !covered.contains(&m.destination.as_str()) {
            let ro = if m.rw { "" } else { ":ro" };
            flag(
                &mut a,
                "--volume",
                &format!("{}:{}{ro}", m.name, m.destination),
            );
        }
    }
    for v in &hc.volumes_from {
        flag(&mut a, "--volumes-from", v);
    }

    // Restart policy.
    match hc.restart_policy.name.as_str() {
        "" | "no" => {}
        "on-failure" if hc.restart_policy.maximum_retry_count > 0 => {
            flag(
                &mut a,
                "--restart",
                &format!("on-failure:{}", hc.restart_policy.maximum_retry_count),
            );
        }
        other => flag(&mut a, "--restart", other),
    }

    // Networks: the primary one at create, the others connected before start.
    let short_id = c.id.get(..12).unwrap_or(&c.id);
    let aliases = |ep: &EndpointJson| -> Vec<String> {
        ep.aliases
            .iter()
            .filter(|al| al.as_str() != short_id && **al != c.id && **al != cfg.hostname)
            // a name the container had while parked is not the replacement's
            .filter(|al| !al.starts_with(&format!("{}{PARKED_INFIX}", c.short_name())))
            .cloned()
            .collect()
    };
    let mode = hc.network_mode.as_str();
    let (primary, isolated) = match mode {
        "" | "default" | "bridge" => ("bridge", false),
        "host" | "none" => (mode, true),
        m if m.starts_with("container:") => (m, true),
        m => (m, false),
    };
    if !matches!(mode, "" | "default" | "bridge") {
        flag(&mut a, "--network", mode);
    }
    let is_primary = |key: &str, ep: &EndpointJson| {
        key == primary || (!primary.is_empty() && ep.network_id.starts_with(primary))
    };
    let mut connect = Vec::new();
    if !isolated {
        for (key, ep) in &c.network_settings.networks {
            let ipam = ep.ipam_config.clone().unwrap_or_default();
            if is_primary(key, ep) {
                if primary != "bridge" {
                    for al in aliases(ep) {
                        flag(&mut a, "--network-alias", &al);
                    }
                }
                if !ipam.ipv4_address.is_empty() {
                    flag(&mut a, "--ip", &ipam.ipv4_address);
                }
                if !ipam.ipv6_address.is_empty() {
                    flag(&mut a, "--ip6", &ipam.ipv6_address);
                }
                continue;
            }
            let mut n = vec!["network".to_owned(), "connect".to_owned()];
            for al in aliases(ep) {
                n.extend(["--alias".to_owned(), al]);
            }
            if !ipam.ipv4_address.is_empty() {
                n.extend(["--ip".to_owned(), ipam.ipv4_address.clone()]);
            }
            if !ipam.ipv6_address.is_empty() {
                n.extend(["--ip6".to_owned(), ipam.ipv6_address.clone()]);
            }
            n.extend(["--".to_owned(), key.clone()]);
            connect.push(n);
        }
    }

    // Identity and process settings.
    if !cfg.hostname.is_empty() && !c.id.starts_with(&cfg.hostname) {
        flag(&mut a, "--hostname", &cfg.hostname);
    }
    if !cfg.domainname.is_empty() {
        flag(&mut a, "--domainname", &cfg.domainname);
    }
    if !cfg.user.is_empty() && defaults.is_none_or(|d| d.user != cfg.user) {
        flag(&mut a, "--user", &cfg.user);
    }
    if !cfg.working_dir.is_empty() && defaults.is_none_or(|d| d.working_dir != cfg.working_dir) {
        flag(&mut a, "--workdir", &cfg.working_dir);
    }
    if let Some(sig) = cfg.stop_signal.as_deref().filter(|s| !s.is_empty())
        && defaults.is_none_or(|d| d.stop_signal.as_deref() != Some(sig))
    {
        flag(&mut a, "--stop-signal", sig);
    }
    if let Some(t) = cfg.stop_timeout {
        flag(&mut a, "--stop-timeout", &t.to_string());
    }
    if cfg.tty {
        a.push("--tty".to_owned());
    }
    if cfg.open_stdin {
        a.push("--interactive".to_owned());
    }
    if let Some(h) = &cfg.healthcheck
        && defaults.is_none_or(|d| d.healthcheck.as_ref() != Some(h))
    {
        a.extend(health_flags(h));
    }

    // Host settings.
    for (name, values) in [
        ("--cap-add", &hc.cap_add),
        ("--cap-drop", &hc.cap_drop),
        ("--dns", &hc.dns),
        ("--dns-option", &hc.dns_options),
        ("--dns-search", &hc.dns_search),
        ("--add-host", &hc.extra_hosts),
        ("--security-opt", &hc.security_opt),
        ("--group-add", &hc.group_add),
    ] {
        for v in values {
            flag(&mut a, name, v);
        }
    }
    for (on, name) in [
        (hc.privileged, "--privileged"),
        (hc.readonly_rootfs, "--read-only"),
        (hc.init == Some(true), "--init"),
        (hc.auto_remove, "--rm"),
    ] {
        if on {
            a.push(name.to_owned());
        }
    }
    if !hc.log_config.kind.is_empty() {
        flag(&mut a, "--log-driver", &hc.log_config.kind);
        for (k, v) in &hc.log_config.config {
            flag(&mut a, "--log-opt", &format!("{k}={v}"));
        }
    }
    for (name, mode) in [
        ("--pid", &hc.pid_mode),
        ("--ipc", &hc.ipc_mode),
        ("--uts", &hc.uts_mode),
    ] {
        if mode == "host" || mode.starts_with("container:") {
            flag(&mut a, name, mode);
        }
    }
    if hc.memory > 0 {
        flag(&mut a, "--memory", &hc.memory.to_string());
    }
    if hc.nano_cpus > 0 {
        flag(
            &mut a,
            "--cpus",
            &format!(
                "{}.{:09}",
                hc.nano_cpus.checked_div(1_000_000_000).unwrap_or_default(),
                hc.nano_cpus.checked_rem(1_000_000_000).unwrap_or_default()
            ),
        );
    }
    if hc.cpu_shares > 0 {
        flag(&mut a, "--cpu-shares", &hc.cpu_shares.to_string());
    }
    if hc.shm_size > 0 && hc.shm_size != 67_108_864 {
        flag(&mut a, "--shm-size", &hc.shm_size.to_string());
    }
    for (k, v) in &hc.sysctls {
        flag(&mut a, "--sysctl", &format!("{k}={v}"));
    }
    for d in &hc.devices {
        flag(
            &mut a,
            "--device",
            &format!(
                "{}:{}:{}",
                d.path_on_host, d.path_in_container, d.cgroup_permissions
            ),
        );
    }
    for u in &hc.ulimits {
        flag(
            &mut a,
            "--ulimit",
            &format!("{}={}:{}", u.name, u.soft, u.hard),
        );
    }
    if !hc.runtime.is_empty() && hc.runtime != "runc" {
        flag(&mut a, "--runtime", &hc.runtime);
    }

    // Entrypoint and command: carried over when they are not the image's own.
    let ep = cfg.entrypoint.clone().unwrap_or_default();
    let cmd = cfg.cmd.clone().unwrap_or_default();
    let ep_overridden = defaults.is_none_or(|d| d.entrypoint.clone().unwrap_or_default() != ep);
    let cmd_overridden =
        ep_overridden || defaults.is_none_or(|d| d.cmd.clone().unwrap_or_default() != cmd);
    let mut tail: Vec<String> = Vec::new();
    if ep_overridden {
        let (first, rest) = ep
            .split_first()
            .map_or(("", &[][..]), |(f, r)| (f.as_str(), r));
        flag(&mut a, "--entrypoint", first);
        tail.extend(rest.iter().cloned());
    }
    if cmd_overridden {
        tail.extend(cmd);
    }
    a.push("--".to_owned());
    a.push(image.to_owned());
    a.extend(tail);
    RecreatePlan { create: a, connect }
}

fn flag(a: &mut Vec<String>, name: &str, value: &str) {
    a.push(name.to_owned());
    a.push(value.to_owned());
}

fn same_host_ip(wanted: &str, got: &str) -> bool {
    let any = |ip: &str| matches!(ip, "" | "0.0.0.0" | "::");
    wanted == got || (any(wanted) && any(got))
}

/// `IP:HOSTPORT:PORT/PROTO` as `--publish` takes it.
fn port_spec(host_ip: &str, host_port: &str, port: &str) -> String {
    let ip = if host_ip.contains(':') {
        format!("[{host_ip}]")
    } else {
        host_ip.to_owned()
    };
    match (ip.is_empty(), host_port.is_empty()) {
        (false, _) => format!("{ip}:{host_port}:{port}"),
        (true, false) => format!("{host_port}:{port}"),
        (true, true) => port.to_owned(),
    }
}

/// A `--mount` value: CSV fields, quoted when they hold a comma or a quote.
fn mount_spec(m: &HostMountJson) -> String {
    let mut fields = vec![format!("type={}", m.kind)];
    if !m.source.is_empty() {
        fields.push(format!("source={}", m.source));
    }
    fields.push(format!("target={}", m.target));
    if m.read_only {
        fields.push("readonly".to_owned());
    }
    if let Some(p) = m
        .bind_options
        .as_ref()
        .map(|b| b.propagation.as_str())
        .filter(|p| !p.is_empty())
    {
        fields.push(format!("bind-propagation={p}"));
    }
    if m.volume_options.as_ref().is_some_and(|v| v.no_copy) {
        fields.push("volume-nocopy".to_owned());
    }
    if let Some(t) = &m.tmpfs_options {
        if t.size_bytes > 0 {
            fields.push(format!("tmpfs-size={}", t.size_bytes));
        }
        if t.mode > 0 {
            fields.push(format!("tmpfs-mode={:o}", t.mode));
        }
    }
    fields
        .into_iter()
        .map(|f| {
            if f.contains([',', '"']) {
                format!("\"{}\"", f.replace('"', "\"\""))
            } else {
                f
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn health_flags(h: &HealthJson) -> Vec<String> {
    let mut a = Vec::new();
    match h.test.split_first() {
        Some((kind, _)) if kind == "NONE" => return vec!["--no-healthcheck".to_owned()],
        Some((kind, rest)) if kind == "CMD-SHELL" => {
            a.extend(["--health-cmd".to_owned(), rest.join(" ")])
        }
        // The CLI only takes a shell form: quote each word for it.
        Some((kind, rest)) if kind == "CMD" => a.extend(["--health-cmd".to_owned(), sh_join(rest)]),
        _ => {}
    }
    for (name, ns) in [
        ("--health-interval", h.interval),
        ("--health-timeout", h.timeout),
        ("--health-start-period", h.start_period),
    ] {
        if ns > 0 {
            a.extend([name.to_owned(), format!("{ns}ns")]);
        }
    }
    if h.retries > 0 {
        a.extend(["--health-retries".to_owned(), h.retries.to_string()]);
    }
    a
}

fn sh_join(words: &[String]) -> String {
    words
        .iter()
        .map(|w| format!("'{}'", w.replace('\'', "'\\''")))
        .collect::<Vec<_>>()
        .join(" ")
}

/// `null` reads as the default: docker writes `null` for empty lists and maps.
fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// `docker inspect --type container`, the parts read here.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct ContainerJson {
    #[serde(deserialize_with = "nullable")]
    id: String,
    #[serde(deserialize_with = "nullable")]
    name: String,
    /// The image id.
    #[serde(deserialize_with = "nullable")]
    image: String,
    #[serde(deserialize_with = "nullable")]
    state: StateJson,
    #[serde(deserialize_with = "nullable")]
    config: ConfigJson,
    #[serde(deserialize_with = "nullable")]
    host_config: HostConfigJson,
    #[serde(deserialize_with = "nullable")]
    network_settings: NetworkSettingsJson,
    #[serde(deserialize_with = "nullable")]
    mounts: Vec<MountJson>,
}

impl ContainerJson {
    fn short_name(&self) -> &str {
        self.name.strip_prefix('/').unwrap_or(&self.name)
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct StateJson {
    #[serde(deserialize_with = "nullable")]
    status: String,
    #[serde(deserialize_with = "nullable")]
    running: bool,
    #[serde(deserialize_with = "nullable")]
    restarting: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct ConfigJson {
    #[serde(deserialize_with = "nullable")]
    hostname: String,
    #[serde(deserialize_with = "nullable")]
    domainname: String,
    #[serde(deserialize_with = "nullable")]
    user: String,
    #[serde(deserialize_with = "nullable")]
    env: Vec<String>,
    cmd: Option<Vec<String>>,
    entrypoint: Option<Vec<String>>,
    /// The image reference the container was created from.
    #[serde(deserialize_with = "nullable")]
    image: String,
    #[serde(deserialize_with = "nullable")]
    labels: BTreeMap<String, String>,
    #[serde(deserialize_with = "nullable")]
    working_dir: String,
    healthcheck: Option<HealthJson>,
    #[serde(deserialize_with = "nullable")]
    exposed_ports: BTreeMap<String, IgnoredAny>,
    stop_signal: Option<String>,
    stop_timeout: Option<i64>,
    #[serde(deserialize_with = "nullable")]
    tty: bool,
    #[serde(deserialize_with = "nullable")]
    open_stdin: bool,
}

/// `docker image inspect`, the parts read here.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct ImageJson {
    #[serde(deserialize_with = "nullable")]
    id: String,
    #[serde(deserialize_with = "nullable")]
    config: ImageConfigJson,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct ImageConfigJson {
    #[serde(deserialize_with = "nullable")]
    user: String,
    #[serde(deserialize_with = "nullable")]
    env: Vec<String>,
    cmd: Option<Vec<String>>,
    entrypoint: Option<Vec<String>>,
    #[serde(deserialize_with = "nullable")]
    labels: BTreeMap<String, String>,
    #[serde(deserialize_with = "nullable")]
    working_dir: String,
    healthcheck: Option<HealthJson>,
    #[serde(deserialize_with = "nullable")]
    exposed_ports: BTreeMap<String, IgnoredAny>,
    stop_signal: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct HealthJson {
    #[serde(deserialize_with = "nullable")]
    test: Vec<String>,
    #[serde(deserialize_with = "nullable")]
    interval: i64,
    #[serde(deserialize_with = "nullable")]
    timeout: i64,
    #[serde(deserialize_with = "nullable")]
    start_period: i64,
    #[serde(deserialize_with = "nullable")]
    retries: i64,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct HostConfigJson {
    #[serde(deserialize_with = "nullable")]
    binds: Vec<String>,
    #[serde(deserialize_with = "nullable")]
    port_bindings: BTreeMap<String, Vec<PortBindingJson>>,
    #[serde(deserialize_with = "nullable")]
    restart_policy: RestartPolicyJson,
    #[serde(deserialize_with = "nullable")]
    network_mode: String,
    #[serde(deserialize_with = "nullable")]
    volumes_from: Vec<String>,
    #[serde(deserialize_with = "nullable")]
    cap_add: Vec<String>,
    #[serde(deserialize_with = "nullable")]
    cap_drop: Vec<String>,
    #[serde(deserialize_with = "nullable")]
    dns: Vec<String>,
    #[serde(deserialize_with = "nullable")]
    dns_options: Vec<String>,
    #[serde(deserialize_with = "nullable")]
    dns_search: Vec<String>,
    #[serde(deserialize_with = "nullable")]
    extra_hosts: Vec<String>,
    #[serde(deserialize_with = "nullable")]
    group_add: Vec<String>,
    #[serde(deserialize_with = "nullable")]
    security_opt: Vec<String>,
    #[serde(deserialize_with = "nullable")]
    privileged: bool,
    #[serde(deserialize_with = "nullable")]
    publish_all_ports: bool,
    #[serde(deserialize_with = "nullable")]
    readonly_rootfs: bool,
    #[serde(deserialize_with = "nullable")]
    auto_remove: bool,
    init: Option<bool>,
    #[serde(deserialize_with = "nullable")]
    tmpfs: BTreeMap<String, String>,
    #[serde(deserialize_with = "nullable")]
    mounts: Vec<HostMountJson>,
    #[serde(deserialize_with = "nullable")]
    log_config: LogConfigJson,
    #[serde(deserialize_with = "nullable")]
    pid_mode: String,
    #[serde(deserialize_with = "nullable")]
    ipc_mode: String,
    #[serde(rename = "UTSMode", deserialize_with = "nullable")]
    uts_mode: String,
    #[serde(deserialize_with = "nullable")]
    memory: i64,
    #[serde(deserialize_with = "nullable")]
    nano_cpus: i64,
    #[serde(deserialize_with = "nullable")]
    cpu_shares: i64,
    #[serde(deserialize_with = "nullable")]
    shm_size: i64,
    #[serde(deserialize_with = "nullable")]
    sysctls: BTreeMap<String, String>,
    #[serde(deserialize_with = "nullable")]
    devices: Vec<DeviceJson>,
    #[serde(deserialize_with = "nullable")]
    ulimits: Vec<UlimitJson>,
    #[serde(deserialize_with = "nullable")]
    runtime: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct PortBindingJson {
    #[serde(deserialize_with = "nullable")]
    host_ip: String,
    #[serde(deserialize_with = "nullable")]
    host_port: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct RestartPolicyJson {
    #[serde(deserialize_with = "nullable")]
    name: String,
    #[serde(deserialize_with = "nullable")]
    maximum_retry_count: i64,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct HostMountJson {
    #[serde(rename = "Type", deserialize_with = "nullable")]
    kind: String,
    #[serde(deserialize_with = "nullable")]
    source: String,
    #[serde(deserialize_with = "nullable")]
    target: String,
    #[serde(deserialize_with = "nullable")]
    read_only: bool,
    bind_options: Option<BindOptionsJson>,
    volume_options: Option<VolumeOptionsJson>,
    tmpfs_options: Option<TmpfsOptionsJson>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct BindOptionsJson {
    #[serde(deserialize_with = "nullable")]
    propagation: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct VolumeOptionsJson {
    #[serde(deserialize_with = "nullable")]
    no_copy: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct TmpfsOptionsJson {
    #[serde(deserialize_with = "nullable")]
    size_bytes: i64,
    #[serde(deserialize_with = "nullable")]
    mode: u32,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct LogConfigJson {
    #[serde(rename = "Type", deserialize_with = "nullable")]
    kind: String,
    #[serde(deserialize_with = "nullable")]
    config: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct DeviceJson {
    #[serde(deserialize_with = "nullable")]
    path_on_host: String,
    #[serde(deserialize_with = "nullable")]
    path_in_container: String,
    #[serde(deserialize_with = "nullable")]
    cgroup_permissions: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct UlimitJson {
    #[serde(deserialize_with = "nullable")]
    name: String,
    #[serde(deserialize_with = "nullable")]
    soft: i64,
    #[serde(deserialize_with = "nullable")]
    hard: i64,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct NetworkSettingsJson {
    #[serde(deserialize_with = "nullable")]
    ports: BTreeMap<String, Vec<PortBindingJson>>,
    #[serde(deserialize_with = "nullable")]
    networks: BTreeMap<String, EndpointJson>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct EndpointJson {
    #[serde(deserialize_with = "nullable")]
    aliases: Vec<String>,
    #[serde(rename = "IPAMConfig")]
    ipam_config: Option<IpamJson>,
    #[serde(rename = "NetworkID", deserialize_with = "nullable")]
    network_id: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct IpamJson {
    #[serde(rename = "IPv4Address", deserialize_with = "nullable")]
    ipv4_address: String,
    #[serde(rename = "IPv6Address", deserialize_with = "nullable")]
    ipv6_address: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct MountJson {
    #[serde(rename = "Type", deserialize_with = "nullable")]
    kind: String,
    #[serde(deserialize_with = "nullable")]
    name: String,
    #[serde(deserialize_with = "nullable")]
    destination: String,
    #[serde(rename = "RW", deserialize_with = "nullable")]
    rw: bool,
}

/// One line of `docker ps --format '{{json .}}'`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct PsRow {
    #[serde(rename = "ID", deserialize_with = "nullable")]
    id: String,
    #[serde(rename = "Names", deserialize_with = "nullable")]
    names: String,
}

/// The orchestrator's own container in [`parse_inspect_for_fuzzing`].
#[doc(hidden)]
pub const FUZZ_SELF_CONTAINER: &str = "orchestrator";
/// The previous image in [`parse_inspect_for_fuzzing`].
#[doc(hidden)]
pub const FUZZ_PREVIOUS_IMAGE: &str = "app:previous";
/// The id `docker create` answers in [`parse_inspect_for_fuzzing`].
#[doc(hidden)]
pub const FUZZ_CREATED_ID: &str = "created-id";

/// Runs `docker inspect` output, however hostile, through everything the built-in rollback
/// derives from it, without running anything: for the fuzz target
/// `fuzz/fuzz_targets/docker_inspect.rs` and the replay of its corpus
/// (`fixtures/fuzz-corpus/docker_inspect/`). Not for anything else.
///
/// `bytes` is read as `docker inspect --type container` output, as [`DockerCli`] reads it:
/// the first element is the rollback's target; a second one, if any, is what inspecting the
/// orchestrator's own container (configured as `orchestrator`) returned. The target is refused
/// as the rollback refuses it. Otherwise the result is every argv, without the program, the
/// rollback would run from it onto the previous image `app:previous`: the plain-container
/// `create …` without the image's defaults, then with the same bytes read as `docker image
/// inspect` output for those defaults, the `network connect … -- NETWORK created-id` calls of
/// each, and, when its labels name a compose service, the `-p PROJECT … up … SERVICE` of the
/// compose rollback.
///
/// # Errors
/// [`ControlError::BadOutput`] for output the adapter refuses (not a JSON array of at least
/// one container, or a container without a name); [`ControlError::SelfContainer`] for the
/// orchestrator's own container; [`ControlError::Failed`] for compose labels the compose
/// rollback refuses.
#[doc(hidden)]
pub fn parse_inspect_for_fuzzing(bytes: &[u8]) -> Result<Vec<Vec<String>>, ControlError> {
    let what = "docker inspect (fuzzing)";
    let output = Captured {
        status: Status::Code(0),
        stdout: bytes.to_vec(),
        stdout_truncated: false,
        stderr_tail: String::new(),
    };
    let target: ContainerJson = first_of(what, &output)?;
    // As `DockerCli::identity` finds the orchestrator's own container.
    let mut me = SelfIdentity {
        names: vec![FUZZ_SELF_CONTAINER.to_owned()],
        ids: Vec::new(),
    };
    if let Some(own) = serde_json::from_slice::<Vec<ContainerJson>>(bytes)
        .ok()
        .and_then(|all| all.into_iter().nth(1))
    {
        me.names.push(own.short_name().to_owned());
        me.ids.push(own.id);
    }
    let name = target.short_name();
    if me.names(name) || me.is(&target) {
        return Err(ControlError::SelfContainer(name.to_owned()));
    }
    if name.is_empty() {
        return Err(ControlError::BadOutput {
            what: what.to_owned(),
            detail: "no name".to_owned(),
        });
    }
    let defaults = first_of::<ImageJson>(what, &output).ok().map(|i| i.config);
    let mut argvs = Vec::new();
    for defaults in [None, defaults.as_ref()] {
        let plan = recreate_plan(&target, defaults, FUZZ_PREVIOUS_IMAGE);
        argvs.push(plan.create);
        argvs.extend(plan.connect.into_iter().map(|mut connect| {
            connect.push(FUZZ_CREATED_ID.to_owned());
            connect
        }));
    }
    if let Some(service) = ComposeService::from_labels(&target.config.labels) {
        if let Some(detail) = service.refusal() {
            return Err(ControlError::Failed {
                what: what.to_owned(),
                detail,
            });
        }
        if let Ok(files) = resolve_config_files(&service, |_| true) {
            argvs.push(compose_up_args(&service, &files));
        }
    }
    Ok(argvs)
}

#[cfg(test)]
#[expect(
    clippy::arithmetic_side_effects,
    reason = "tests: an overflow is a failed test"
)]
mod tests {
    use std::collections::BTreeSet;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicU64, Ordering};

    use proptest::prelude::*;
    use serde_json::json;

    use super::*;

    fn fixture(name: &str) -> String {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fixtures/docker")
            .join(name);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    fn container(name: &str) -> ContainerJson {
        serde_json::from_str::<Vec<ContainerJson>>(&fixture(name))
            .unwrap()
            .remove(0)
    }

    fn image(name: &str) -> ImageJson {
        serde_json::from_str::<Vec<ImageJson>>(&fixture(name))
            .unwrap()
            .remove(0)
    }

    /// `flag value` pairs of an argv.
    fn has(argv: &[String], flag: &str, value: &str) -> bool {
        argv.windows(2).any(|w| w[0] == flag && w[1] == value)
    }

    fn values<'a>(argv: &'a [String], flag: &str) -> Vec<&'a str> {
        argv.windows(2)
            .filter(|w| w[0] == flag)
            .map(|w| w[1].as_str())
            .collect()
    }

    /// What comes after `--`: the image, then the command.
    fn after_dashes(argv: &[String]) -> &[String] {
        let i = argv.iter().position(|a| a == "--").unwrap();
        &argv[i + 1..]
    }

    #[test]
    fn inspect_json_is_read_with_serde() {
        let c = container("inspect-plain.json");
        assert_eq!(c.short_name(), "pdrec-web");
        assert_eq!(
            c.image,
            "sha256:323a113c4a69002c90cc001d411070c051bae558aad808849192f2c4f10374b7"
        );
        assert_eq!(c.config.image, "post-deploy-fixture:bad-health");
        assert!(c.state.running);
        // nulls in docker's JSON read as empty
        assert!(c.host_config.volumes_from.is_empty() && c.host_config.cap_add.is_empty());
    }

    #[test]
    fn recreate_argv_keeps_the_containers_own_configuration() {
        let c = container("inspect-plain.json");
        let defaults = image("image-inspect-bad-health.json").config;
        let plan = recreate_plan(&c, Some(&defaults), "pdtest:prev");
        let a = &plan.create;
        assert_eq!(a[..3], ["create", "--name", "pdrec-web"]);
        // ports: the dynamic one keeps the host port it got
        assert!(has(a, "--publish", "127.0.0.1:32774:8080/tcp"), "{a:?}");
        assert!(has(a, "--publish", "127.0.0.1:18081:8081/udp"), "{a:?}");
        // environment as one argv word each, never through a shell; the image's own PATH is left to the image
        assert!(has(a, "--env", "FIXTURE_MESSAGE=hello, world = \"quoted\""));
        assert!(has(a, "--env", "EMPTY="));
        assert!(!values(a, "--env").iter().any(|e| e.starts_with("PATH=")));
        assert!(has(a, "--label", "app=web") && has(a, "--label", "team=a,b"));
        assert!(has(a, "--restart", "on-failure:3"));
        assert!(has(a, "--volume", "pdrec-data:/data"));
        assert!(has(a, "--volume", "/tmp/pdrec-bind:/srv/bind:ro"));
        assert!(has(
            a,
            "--mount",
            "type=tmpfs,target=/cache,tmpfs-size=1048576"
        ));
        assert_eq!(
            values(a, "--volume").len(),
            2,
            "covered mounts are not repeated: {a:?}"
        );
        assert!(has(a, "--network", "pdrec-net"));
        assert_eq!(
            values(a, "--network-alias"),
            ["web-alias"],
            "the old id and hostname aliases are docker's own"
        );
        assert!(has(a, "--user", "1000:1000") && has(a, "--workdir", "/www"));
        assert!(has(a, "--hostname", "web-host") && has(a, "--add-host", "db.internal:10.0.0.5"));
        assert!(has(a, "--stop-signal", "SIGINT"));
        assert!(has(a, "--log-driver", "json-file") && has(a, "--log-opt", "max-size=10m"));
        assert!(has(
            a,
            "--health-cmd",
            "wget -q -O- http://127.0.0.1:8080/cgi-bin/health || exit 1"
        ));
        assert!(has(a, "--health-interval", "5000000000ns") && has(a, "--health-retries", "2"));
        assert!(has(a, "--entrypoint", "/bin/sh"));
        assert_eq!(
            after_dashes(a),
            ["pdtest:prev", "-c", "exec /usr/local/bin/fixture-serve"]
        );
        assert_eq!(
            plan.connect,
            [vec![
                "network",
                "connect",
                "--alias",
                "second",
                "--",
                "pdrec-net2"
            ]]
        );
    }

    #[test]
    fn recreate_argv_without_image_defaults_carries_everything() {
        let c = container("inspect-plain.json");
        let plan = recreate_plan(&c, None, "pdtest:prev");
        assert!(
            values(&plan.create, "--env")
                .iter()
                .any(|e| e.starts_with("PATH="))
        );
        assert_eq!(
            after_dashes(&plan.create),
            ["pdtest:prev", "-c", "exec /usr/local/bin/fixture-serve"]
        );
    }

    #[test]
    fn a_minimal_container_leaves_the_image_its_own_defaults() {
        let c = container("inspect-minimal.json");
        let defaults = image("image-inspect-healthy.json").config;
        let plan = recreate_plan(&c, Some(&defaults), "pdtest:prev");
        let port = &c.network_settings.ports["8080/tcp"][0].host_port;
        assert_eq!(
            plan.create,
            [
                "create",
                "--name",
                "pdrec-min",
                "--publish",
                &format!("127.0.0.1:{port}:8080/tcp"),
                "--log-driver",
                "json-file",
                "--",
                "pdtest:prev"
            ]
        );
        assert!(plan.connect.is_empty());
    }

    #[test]
    fn entrypoint_and_command_overrides_are_carried() {
        let mut c = container("inspect-minimal.json");
        let defaults = image("image-inspect-healthy.json").config;
        c.config.cmd = Some(vec!["sh".into(), "-c".into(), "echo $HOME; exit 3".into()]);
        let plan = recreate_plan(&c, Some(&defaults), "img:1");
        assert!(!plan.create.contains(&"--entrypoint".to_owned()));
        assert_eq!(
            after_dashes(&plan.create),
            ["img:1", "sh", "-c", "echo $HOME; exit 3"]
        );

        c.config.entrypoint = Some(vec!["/bin/tini".into(), "--".into()]);
        c.config.cmd = None;
        let plan = recreate_plan(&c, Some(&defaults), "img:1");
        assert!(has(&plan.create, "--entrypoint", "/bin/tini"));
        assert_eq!(after_dashes(&plan.create), ["img:1", "--"]);
    }

    #[test]
    fn port_mount_and_health_specs() {
        assert_eq!(port_spec("", "", "80/tcp"), "80/tcp");
        assert_eq!(port_spec("", "8080", "80/tcp"), "8080:80/tcp");
        assert_eq!(port_spec("::1", "", "80/tcp"), "[::1]::80/tcp");
        let m = HostMountJson {
            kind: "bind".into(),
            source: "/srv/a,b".into(),
            target: "/x".into(),
            read_only: true,
            bind_options: Some(BindOptionsJson {
                propagation: "rshared".into(),
            }),
            ..HostMountJson::default()
        };
        assert_eq!(
            mount_spec(&m),
            "type=bind,\"source=/srv/a,b\",target=/x,readonly,bind-propagation=rshared"
        );
        let none = HealthJson {
            test: vec!["NONE".into()],
            ..HealthJson::default()
        };
        assert_eq!(health_flags(&none), ["--no-healthcheck"]);
        let cmd = HealthJson {
            test: vec!["CMD".into(), "curl".into(), "it's".into()],
            retries: 3,
            ..HealthJson::default()
        };
        assert_eq!(
            health_flags(&cmd),
            ["--health-cmd", "'curl' 'it'\\''s'", "--health-retries", "3"]
        );
    }

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn split_stamp_reads_dockers_prefix() {
        let (at, text) = split_stamp(b"2026-11-27T03:25:58.814415879Z GET / 200\n").unwrap();
        assert_eq!(at, t("2026-11-27T03:25:58.814415879Z"));
        assert_eq!(text, b"GET / 200\n");
        assert_eq!(split_stamp(b"2026-11-27T03:25:58.8Z \n").unwrap().1, b"\n");
        assert!(split_stamp(b"Error response from daemon: No such container: x\n").is_none());
    }

    #[test]
    fn log_tally_skips_what_was_read_and_counts_ties() {
        let (a, b, c) = (
            t("2026-01-01T00:00:01Z"),
            t("2026-01-01T00:00:02Z"),
            t("2026-01-01T00:00:03Z"),
        );
        // First read: everything from `a` on.
        let mut tally = LogTally::new(&LogCursor::at(a), far());
        let admitted: Vec<bool> = [a, b, b].into_iter().map(|x| tally.admit(x)).collect();
        assert_eq!(admitted, [true, true, true]);
        let cursor = tally.cursor();
        assert_eq!(
            cursor,
            LogCursor {
                since: b,
                seen_at_since: 2
            }
        );
        // `--since` is inclusive: the two lines at `b` come again, and a third one at `b` is new.
        let mut tally = LogTally::new(&cursor, far());
        let admitted: Vec<bool> = [b, b, b, c].into_iter().map(|x| tally.admit(x)).collect();
        assert_eq!(admitted, [false, false, true, true]);
        assert_eq!(
            tally.cursor(),
            LogCursor {
                since: c,
                seen_at_since: 1
            }
        );
        // Nothing new: the cursor stays, ties cumulative.
        let mut tally = LogTally::new(
            &LogCursor {
                since: c,
                seen_at_since: 1,
            },
            far(),
        );
        assert!(!tally.admit(c) && !tally.admit(a));
        assert_eq!(
            tally.cursor(),
            LogCursor {
                since: c,
                seen_at_since: 1
            }
        );
        assert!(tally.admit(c));
        assert_eq!(
            tally.cursor(),
            LogCursor {
                since: c,
                seen_at_since: 2
            }
        );
    }

    /// A horizon beyond every stamp of a test.
    fn far() -> DateTime<Utc> {
        t("2100-01-01T00:00:00Z")
    }

    proptest! {
        /// Lines reach the log out of stamp order (stdout and stderr are stamped on their own
        /// goroutines), each within the settle delay of its stamp; reads at any moments take
        /// everything visible from `since` on and admit up to `now - settle`: every line is
        /// counted exactly once.
        #[test]
        fn log_tally_counts_out_of_order_lines_once(
            lines in proptest::collection::vec((0_i64..5, 0_i64..1000), 1..80),
            reads in proptest::collection::vec(0_i64..4000, 1..8),
        ) {
            let settle = LOG_SETTLE.num_milliseconds();
            let base = t("2026-01-01T00:00:00Z");
            let ms = |n: i64| base + chrono::Duration::milliseconds(n);
            // (stamp, written): stamps advance by 0–4 ms; writes lag by up to the settle delay.
            let mut stamp = 0;
            let mut log: Vec<(i64, i64)> = lines
                .iter()
                .map(|(gap, lag)| {
                    stamp += gap;
                    (stamp, stamp + lag * settle / 1000)
                })
                .collect();
            log.sort_by_key(|(_, written)| *written);
            let mut times: Vec<i64> = reads;
            times.sort_unstable();
            // A last read long after everything was written.
            times.push(stamp + 10 * settle);
            let mut cursor = LogCursor::at(base);
            let mut counted = 0;
            for now in times {
                let mut tally = LogTally::new(&cursor, ms(now - settle));
                counted += log
                    .iter()
                    .filter(|(s, w)| *w <= now && ms(*s) >= cursor.since)
                    .filter(|(s, _)| tally.admit(ms(*s)))
                    .count();
                cursor = tally.cursor();
            }
            prop_assert_eq!(counted, log.len());
        }

        /// However a log is cut into reads, each line is counted once.
        #[test]
        fn log_tally_counts_every_line_once(
            gaps in proptest::collection::vec(0_u8..3, 1..60),
            cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..6),
        ) {
            let mut stamps = Vec::new();
            let mut at = t("2026-01-01T00:00:00Z");
            for g in gaps {
                at += chrono::Duration::nanoseconds(i64::from(g));
                stamps.push(at);
            }
            let mut ends: Vec<usize> = cuts.iter().map(|i| i.index(stamps.len() + 1)).collect();
            ends.push(stamps.len());
            ends.sort_unstable();
            let mut cursor = LogCursor::at(t("2026-01-01T00:00:00Z"));
            let mut counted = 0;
            for end in ends {
                // docker returns every line stamped at or after `since` logged so far
                let mut tally = LogTally::new(&cursor, far());
                counted += stamps[..end].iter().filter(|s| **s >= cursor.since).filter(|s| tally.admit(**s)).count();
                cursor = tally.cursor();
            }
            prop_assert_eq!(counted, stamps.len());
        }
    }

    fn service(wd: Option<&str>, files: &[&str]) -> ComposeService {
        ComposeService {
            project: "p".into(),
            service: "web".into(),
            working_dir: wd.map(str::to_owned),
            config_files: files.iter().map(|f| (*f).to_owned()).collect(),
        }
    }

    #[test]
    fn compose_labels_and_config_files() {
        let labels: BTreeMap<String, String> = [
            (LABEL_PROJECT, "pdtest"),
            (LABEL_SERVICE, "web"),
            (LABEL_WORKING_DIR, "/srv/deploy/fixtures/images"),
            (
                LABEL_CONFIG_FILES,
                "fixtures/images/compose.yaml,fixtures/images/extra.yaml",
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let s = ComposeService::from_labels(&labels).unwrap();
        assert_eq!(s.config_files.len(), 2);
        // compose v1 records files relative to where it ran: /srv/deploy here.
        let files =
            resolve_config_files(&s, |p| p.starts_with("/srv/deploy/fixtures/images/")).unwrap();
        assert_eq!(
            files,
            [
                PathBuf::from("/srv/deploy/fixtures/images/compose.yaml"),
                "/srv/deploy/fixtures/images/extra.yaml".into()
            ]
        );
        assert_eq!(
            compose_up_args(&s, &files),
            [
                "-p",
                "pdtest",
                "--project-directory",
                "/srv/deploy/fixtures/images",
                "-f",
                "/srv/deploy/fixtures/images/compose.yaml",
                "-f",
                "/srv/deploy/fixtures/images/extra.yaml",
                "up",
                "-d",
                "--no-deps",
                "--force-recreate",
                "web"
            ]
        );
        // v2 records absolute paths; a bare file name lives in the working directory.
        let abs = service(Some("/srv/app"), &["/srv/app/compose.yaml"]);
        assert_eq!(
            resolve_config_files(&abs, |_| false).unwrap(),
            [PathBuf::from("/srv/app/compose.yaml")]
        );
        let bare = service(Some("/srv/app"), &["compose.yaml"]);
        assert_eq!(
            resolve_config_files(&bare, |_| true).unwrap(),
            [PathBuf::from("/srv/app/compose.yaml")]
        );
        let gone = service(Some("/srv/app"), &["x/compose.yaml"]);
        assert!(
            resolve_config_files(&gone, |_| false)
                .unwrap_err()
                .contains("not found")
        );
        let mut no_compose = labels.clone();
        no_compose.remove(LABEL_SERVICE);
        assert!(ComposeService::from_labels(&no_compose).is_none());
    }

    #[test]
    fn self_identity_matches_names_ids_and_id_prefixes() {
        let me = SelfIdentity {
            names: vec!["orchestrator".into()],
            ids: vec!["abc123def456".into()],
        };
        for r in ["orchestrator", "/orchestrator", "abc123def456", "abc1", "a"] {
            assert!(me.names(r), "{r}");
        }
        for r in ["orchestrator2", "web", "abd", "", "/"] {
            assert!(!me.names(r), "{r}");
        }
    }

    // ---- a fake engine behind the docker CLI, for the self-container property ----

    #[derive(Debug, Clone, PartialEq, Eq)]
    struct FakeContainer {
        id: String,
        name: String,
        image_ref: String,
        image_id: String,
        running: bool,
        labels: BTreeMap<String, String>,
    }

    #[derive(Debug, Default)]
    struct Engine {
        containers: Vec<FakeContainer>,
        images: BTreeMap<String, String>,
        self_id: String,
        calls: Vec<Vec<String>>,
        violations: Vec<String>,
        next: u64,
        untagged: Vec<String>,
    }

    impl Engine {
        /// As docker resolves a reference: full id, then name, then a unique id prefix.
        fn find(&self, r: &str) -> Option<usize> {
            let r = r.strip_prefix('/').unwrap_or(r);
            if r.is_empty() {
                return None;
            }
            let by = |f: &dyn Fn(&FakeContainer) -> bool| {
                let hits: Vec<usize> = (0..self.containers.len())
                    .filter(|&i| f(&self.containers[i]))
                    .collect();
                (hits.len() == 1).then(|| hits[0])
            };
            by(&|c| c.id == r)
                .or_else(|| by(&|c| c.name == r))
                .or_else(|| by(&|c| c.id.starts_with(r)))
        }

        fn image(&self, r: &str) -> Option<String> {
            self.images.get(r).cloned().or_else(|| {
                self.images
                    .values()
                    .chain(&self.untagged)
                    .find(|id| *id == r)
                    .cloned()
            })
        }

        fn check(&mut self, call: &[String], r: &str) {
            if self
                .find(r)
                .is_some_and(|i| self.containers[i].id == self.self_id)
            {
                self.violations
                    .push(format!("{call:?} names the self container"));
            }
        }

        fn answer(
            &mut self,
            program: &str,
            args: &[String],
            env: &[(String, String)],
        ) -> (i32, String, String) {
            let mut call = vec![program.to_owned()];
            call.extend(args.iter().cloned());
            self.calls.push(call.clone());
            let last = args.last().cloned().unwrap_or_default();
            let no_such =
                |what: &str, r: &str| (1, String::new(), format!("Error: No such {what}: {r}"));
            if program == "docker-compose" && args.iter().any(|a| a == "version") {
                return (
                    0,
                    "docker-compose version 1.29.2\n".to_owned(),
                    String::new(),
                );
            }
            if program == "docker-compose" {
                let project = args
                    .windows(2)
                    .find(|w| w[0] == "-p")
                    .map(|w| w[1].clone())
                    .unwrap_or_default();
                for c in &mut self.containers {
                    if c.labels.get(LABEL_PROJECT) == Some(&project)
                        && c.labels.get(LABEL_SERVICE) == Some(&last)
                    {
                        if c.id == self.self_id {
                            self.violations
                                .push(format!("{call:?} recreates the self container"));
                        }
                        c.image_id = self.images.get(&c.image_ref).cloned().unwrap_or_default();
                        c.running = true;
                    }
                }
                return (0, String::new(), String::new());
            }
            if program == "failing-compose" {
                let up = args.iter().any(|a| a == "up");
                return (
                    i32::from(up),
                    String::new(),
                    if up {
                        "ERROR: boom".into()
                    } else {
                        String::new()
                    },
                );
            }
            if program != "docker" {
                // a rollback command
                if let Some((_, v)) = env.iter().find(|(k, _)| k == "POST_DEPLOY_CONTAINER") {
                    self.check(&call, &v.clone());
                }
                return (0, String::new(), String::new());
            }
            let verb: Vec<&str> = args.iter().take(2).map(String::as_str).collect();
            match verb.as_slice() {
                ["inspect", ..] => match self.find(&last) {
                    Some(i) => {
                        let c = &self.containers[i];
                        let j = json!([{
                            "Id": c.id, "Name": format!("/{}", c.name), "Image": c.image_id,
                            "State": {"Running": c.running, "Status": if c.running { "running" } else { "exited" }},
                            "Config": {"Image": c.image_ref, "Labels": c.labels, "Env": ["A=1"], "Cmd": null},
                            "HostConfig": {"NetworkMode": "default", "RestartPolicy": {"Name": "always"}},
                            "NetworkSettings": {"Networks": {"bridge": {"Aliases": null}}},
                            "Mounts": []
                        }]);
                        (0, j.to_string(), String::new())
                    }
                    None => no_such("container", &last),
                },
                ["image", "inspect"] => match self.image(&last) {
                    Some(id) => (
                        0,
                        json!([{"Id": id, "Config": {}}]).to_string(),
                        String::new(),
                    ),
                    None => no_such("image", &last),
                },
                ["compose", ..] => (
                    1,
                    String::new(),
                    "docker: 'compose' is not a docker command.".to_owned(),
                ),
                ["ps", ..] => {
                    let wanted: Vec<(String, String)> = args
                        .windows(2)
                        .filter(|w| w[0] == "--filter")
                        .filter_map(|w| {
                            w[1].strip_prefix("label=")?
                                .split_once('=')
                                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                        })
                        .collect();
                    // `name=^/PREFIX`: the only name filter the adapter uses
                    let prefixes: Vec<String> = args
                        .windows(2)
                        .filter(|w| w[0] == "--filter")
                        .filter_map(|w| w[1].strip_prefix("name=^/").map(str::to_owned))
                        .collect();
                    let rows: Vec<String> = self
                        .containers
                        .iter()
                        .filter(|c| wanted.iter().all(|(k, v)| c.labels.get(k) == Some(v)))
                        .filter(|c| prefixes.iter().all(|p| c.name.starts_with(p.as_str())))
                        .map(|c| json!({"ID": c.id, "Names": c.name}).to_string())
                        .collect();
                    (0, rows.join("\n"), String::new())
                }
                ["rename", ..] => {
                    let (old, new) = (&args[args.len() - 2], &last);
                    self.check(&call, old);
                    if self.containers.iter().any(|c| c.name == *new) {
                        return (1, String::new(), format!("Error: name {new} is in use"));
                    }
                    match self.find(old) {
                        Some(i) => {
                            self.containers[i].name.clone_from(new);
                            (0, String::new(), String::new())
                        }
                        None => no_such("container", old),
                    }
                }
                ["stop" | "start" | "update" | "rm", ..] => {
                    self.check(&call, &last);
                    match self.find(&last) {
                        Some(i) if verb[0] == "rm" => {
                            self.containers.remove(i);
                            (0, String::new(), String::new())
                        }
                        Some(i) => {
                            if verb[0] != "update" {
                                self.containers[i].running = verb[0] == "start";
                            }
                            (0, String::new(), String::new())
                        }
                        None => no_such("container", &last),
                    }
                }
                ["network", "connect"] => {
                    self.check(&call, &last);
                    (0, String::new(), String::new())
                }
                ["create", ..] => {
                    let name = args
                        .windows(2)
                        .find(|w| w[0] == "--name")
                        .map(|w| w[1].clone())
                        .unwrap_or_default();
                    self.check(&call, &name);
                    let image = after_dashes(args).first().cloned().unwrap_or_default();
                    if self.containers.iter().any(|c| c.name == name) {
                        return (1, String::new(), format!("Conflict: name {name} in use"));
                    }
                    let Some(image_id) = self.image(&image) else {
                        return no_such("image", &image);
                    };
                    self.next += 1;
                    let id = format!("{:064x}", 0xfeed_0000_u64 + self.next);
                    let labels = args
                        .windows(2)
                        .take_while(|w| w[0] != "--")
                        .filter(|w| w[0] == "--label")
                        .filter_map(|w| w[1].split_once('='))
                        .map(|(k, v)| (k.to_owned(), v.to_owned()))
                        .collect();
                    self.containers.push(FakeContainer {
                        id: id.clone(),
                        name,
                        image_ref: image,
                        image_id,
                        running: false,
                        labels,
                    });
                    (0, format!("{id}\n"), String::new())
                }
                ["tag", ..] => {
                    let (src, dst) = (&args[args.len() - 2], &last);
                    match self.image(src) {
                        Some(id) => {
                            // an image whose last tag moves stays, by its id
                            self.untagged.extend(self.images.insert(dst.clone(), id));
                            (0, String::new(), String::new())
                        }
                        None => no_such("image", src),
                    }
                }
                ["logs", ..] => match self.find(&last) {
                    Some(_) => (0, String::new(), String::new()),
                    None => no_such("container", &last),
                },
                _ => (1, String::new(), format!("unknown call {call:?}")),
            }
        }
    }

    struct FakeExec(Mutex<Engine>);

    impl Exec for FakeExec {
        fn run(
            &self,
            inv: &Invocation,
            _: StdoutTo,
            _: bool,
        ) -> Result<Ended<Captured>, ControlError> {
            if inv.program == "missing-compose" {
                return Err(ControlError::ProgramMissing {
                    program: inv.program.clone(),
                    detail: "not found".into(),
                });
            }
            let (code, stdout, stderr) =
                self.0
                    .lock()
                    .unwrap()
                    .answer(&inv.program, &inv.args, &inv.env);
            Ok(Ended::Finished(Captured {
                status: Status::Code(code),
                stdout: stdout.into_bytes(),
                stdout_truncated: false,
                stderr_tail: stderr,
            }))
        }

        fn stream(
            &self,
            inv: &Invocation,
            _: usize,
            on_line: &mut dyn FnMut(Pipe, &[u8]),
        ) -> Result<Ended<Status>, ControlError> {
            let (code, _, stderr) =
                self.0
                    .lock()
                    .unwrap()
                    .answer(&inv.program, &inv.args, &inv.env);
            if !stderr.is_empty() {
                on_line(Pipe::Stderr, format!("{stderr}\n").as_bytes());
            }
            Ok(Ended::Finished(Status::Code(code)))
        }
    }

    fn fake(engine: Engine, self_container: &str) -> (DockerCli, Arc<FakeExec>) {
        let exec = Arc::new(FakeExec(Mutex::new(engine)));
        let cli = DockerCli {
            docker: "docker".into(),
            compose: ComposeProgram::Auto,
            self_container: self_container.into(),
            exec: exec.clone(),
            settle: Duration::ZERO,
        };
        (cli, exec)
    }

    fn compose_file() -> String {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fixtures/images/compose.yaml")
            .display()
            .to_string()
    }

    fn fc(id: &str, name: &str, service: Option<(&str, &str)>) -> FakeContainer {
        let mut labels = BTreeMap::new();
        if let Some((p, s)) = service {
            labels.insert(LABEL_PROJECT.to_owned(), p.to_owned());
            labels.insert(LABEL_SERVICE.to_owned(), s.to_owned());
            labels.insert(LABEL_WORKING_DIR.to_owned(), "/nonexistent".to_owned());
            labels.insert(LABEL_CONFIG_FILES.to_owned(), compose_file());
        }
        FakeContainer {
            id: id.to_owned(),
            name: name.to_owned(),
            image_ref: "app:cur".into(),
            image_id: "sha256:cur".into(),
            running: true,
            labels,
        }
    }

    fn images() -> BTreeMap<String, String> {
        [("app:cur", "sha256:cur"), ("app:prev", "sha256:prev")]
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect()
    }

    #[test]
    fn plain_rollback_parks_the_failed_container_and_recreates_it() {
        let engine = Engine {
            containers: vec![
                fc("aaaa1111", "orchestrator", None),
                fc("bbbb2222", "web", None),
            ],
            images: images(),
            self_id: "aaaa1111".into(),
            ..Engine::default()
        };
        let (cli, exec) = fake(engine, "orchestrator");
        cli.rollback("web", "app:prev").unwrap();
        let e = exec.0.lock().unwrap();
        let web = e.containers.iter().find(|c| c.name == "web").unwrap();
        assert_eq!((web.image_id.as_str(), web.running), ("sha256:prev", true));
        let parked = e
            .containers
            .iter()
            .find(|c| c.name.starts_with("web-post-deploy-failed-"))
            .unwrap();
        assert_eq!((parked.id.as_str(), parked.running), ("bbbb2222", false));
        let verbs: Vec<&str> = e
            .calls
            .iter()
            .filter(|c| c[0] == "docker")
            .map(|c| c[1].as_str())
            .collect();
        assert!(
            // the replacement is created while the failed one still serves
            verbs.ends_with(&["rename", "create", "stop", "start", "inspect", "update"]),
            "{verbs:?}"
        );
        assert!(e.violations.is_empty());
    }

    #[test]
    fn a_compose_failure_leaves_the_image_reference_as_it_was() {
        let engine = Engine {
            containers: vec![fc("cccc3333", "p_web_1", Some(("p", "web")))],
            images: images(),
            ..Engine::default()
        };
        for (program, expect) in [
            ("missing-compose", "could not be run"),
            ("failing-compose", "names sha256:cur again"),
        ] {
            let (cli, exec) = fake(
                Engine {
                    containers: engine.containers.clone(),
                    images: images(),
                    ..Engine::default()
                },
                "orchestrator",
            );
            let cli = DockerCli {
                compose: ComposeProgram::Command(CommandLine::parse(program).unwrap()),
                ..cli
            };
            let err = cli.rollback("p_web_1", "app:prev").unwrap_err().to_string();
            assert!(err.contains(expect), "{program}: {err}");
            let e = exec.0.lock().unwrap();
            assert_eq!(e.images["app:cur"], "sha256:cur", "{program}");
            assert_eq!(e.containers[0].image_id, "sha256:cur");
        }
    }

    #[test]
    fn a_service_shared_with_the_orchestrator_is_not_recreated() {
        let engine = Engine {
            containers: vec![
                fc("aaaa1111", "orchestrator", Some(("p", "web"))),
                fc("cccc3333", "p_web_1", Some(("p", "web"))),
            ],
            images: images(),
            self_id: "aaaa1111".into(),
            ..Engine::default()
        };
        let (cli, exec) = fake(engine, "orchestrator");
        assert_eq!(
            cli.rollback("p_web_1", "app:prev"),
            Err(ControlError::SelfContainer("aaaa1111".into()))
        );
        let e = exec.0.lock().unwrap();
        assert!(
            !e.calls
                .iter()
                .any(|c| c[0] == "docker-compose" || c.get(1).is_some_and(|v| v == "tag"))
        );
    }

    #[test]
    fn compose_rollback_retags_and_recreates_the_service() {
        let engine = Engine {
            containers: vec![fc("cccc3333", "p_web_1", Some(("p", "web")))],
            images: images(),
            self_id: "none".into(),
            ..Engine::default()
        };
        let (cli, exec) = fake(engine, "orchestrator");
        cli.rollback("p_web_1", "app:prev").unwrap();
        let e = exec.0.lock().unwrap();
        assert_eq!(e.images["app:cur"], "sha256:prev");
        let up = e
            .calls
            .iter()
            .find(|c| c[0] == "docker-compose" && c.contains(&"up".to_owned()))
            .unwrap();
        assert_eq!(
            up[up.len() - 5..],
            ["up", "-d", "--no-deps", "--force-recreate", "web"]
        );
        assert!(has(up, "-f", &compose_file()) && has(up, "-p", "p"));
    }

    /// Fails `docker create` as an engine would when the image vanished meanwhile.
    struct FailingCreate(Arc<FakeExec>);

    impl Exec for FailingCreate {
        fn run(
            &self,
            inv: &Invocation,
            o: StdoutTo,
            f: bool,
        ) -> Result<Ended<Captured>, ControlError> {
            if inv.args.first().is_some_and(|a| a == "create") {
                self.0.0.lock().unwrap().images.remove("app:prev");
            }
            self.0.run(inv, o, f)
        }

        fn stream(
            &self,
            inv: &Invocation,
            m: usize,
            l: &mut dyn FnMut(Pipe, &[u8]),
        ) -> Result<Ended<Status>, ControlError> {
            self.0.stream(inv, m, l)
        }
    }

    #[test]
    fn a_failed_create_puts_the_old_container_back() {
        let engine = Engine {
            containers: vec![fc("bbbb2222", "web", None)],
            images: images(),
            ..Engine::default()
        };
        let (cli, exec) = fake(engine, "orchestrator");
        let cli = DockerCli {
            exec: Arc::new(FailingCreate(exec.clone())),
            ..cli
        };
        let err = cli.rollback("web", "app:prev").unwrap_err();
        assert!(
            err.to_string()
                .contains("the failed container is back as web"),
            "{err}"
        );
        let e = exec.0.lock().unwrap();
        assert_eq!(e.containers.len(), 1);
        let old = &e.containers[0];
        assert_eq!(
            (old.id.as_str(), old.name.as_str(), old.running),
            ("bbbb2222", "web", true)
        );
    }

    /// The engine as a crash leaves it: once `after` mutating calls have run, every call
    /// fails until `dead` is cleared, so the engine stays exactly as that step left it.
    struct CrashAfter {
        inner: Arc<FakeExec>,
        after: usize,
        made: Mutex<usize>,
        dead: std::sync::atomic::AtomicBool,
    }

    impl CrashAfter {
        fn new(inner: Arc<FakeExec>, after: usize) -> Self {
            Self {
                inner,
                after,
                made: Mutex::new(0),
                dead: std::sync::atomic::AtomicBool::new(false),
            }
        }

        fn revive(&self) {
            self.dead.store(false, Ordering::SeqCst);
        }
    }

    const MUTATING: [&str; 7] = [
        "rename", "create", "network", "stop", "start", "update", "rm",
    ];

    impl Exec for CrashAfter {
        fn run(
            &self,
            inv: &Invocation,
            o: StdoutTo,
            f: bool,
        ) -> Result<Ended<Captured>, ControlError> {
            if self.dead.load(Ordering::SeqCst) {
                return Err(ControlError::ProgramMissing {
                    program: inv.program.clone(),
                    detail: "crashed".into(),
                });
            }
            let out = self.inner.run(inv, o, f);
            if inv
                .args
                .first()
                .is_some_and(|a| MUTATING.contains(&a.as_str()))
            {
                let mut made = self.made.lock().unwrap();
                *made += 1;
                if *made == self.after {
                    self.dead.store(true, Ordering::SeqCst);
                }
            }
            out
        }

        fn stream(
            &self,
            inv: &Invocation,
            m: usize,
            l: &mut dyn FnMut(Pipe, &[u8]),
        ) -> Result<Ended<Status>, ControlError> {
            self.inner.stream(inv, m, l)
        }
    }

    fn detail(r: &ResumedRollback) -> &str {
        match r {
            ResumedRollback::Finished { detail }
            | ResumedRollback::Reverted { detail }
            | ResumedRollback::NotSettled { detail } => detail,
            _ => "",
        }
    }

    fn mutating_calls(e: &Engine, from: usize) -> Vec<Vec<String>> {
        e.calls[from..]
            .iter()
            .filter(|c| c[0] == "docker" && MUTATING.contains(&c[1].as_str()))
            .cloned()
            .collect()
    }

    #[test]
    fn a_recreate_interrupted_after_any_step_is_finished() {
        // rename, create, stop, start, update: the plain recreate's mutating calls in order
        for (after, how) in [
            (1, "recreated it from the parked container"),
            (2, "started the replacement it had created"),
            (3, "started the replacement it had created"),
            (4, "the engine showed it running"),
            (5, "the engine showed it running"),
        ] {
            let engine = Engine {
                containers: vec![
                    fc("aaaa1111", "orchestrator", None),
                    fc("bbbb2222", "web", None),
                ],
                images: images(),
                self_id: "aaaa1111".into(),
                ..Engine::default()
            };
            let (cli, exec) = fake(engine, "orchestrator");
            let crash = Arc::new(CrashAfter::new(exec.clone(), after));
            let cli = DockerCli {
                exec: crash.clone(),
                ..cli
            };
            // after the last step only the outcome is lost
            assert_eq!(
                cli.rollback("web", "app:prev").is_err(),
                after < 5,
                "crash after {after}"
            );
            crash.revive();
            let from = exec.0.lock().unwrap().calls.len();

            let resumed = cli.resume_rollback("web", "app:prev").unwrap();
            assert!(
                matches!(resumed, ResumedRollback::Finished { .. }),
                "after {after}: {resumed:?}"
            );
            assert_eq!(
                detail(&resumed),
                format!(
                    "finished the interrupted rollback: web runs the previous image app:prev ({how})"
                ),
                "after {after}"
            );
            let e = exec.0.lock().unwrap();
            let web = e.containers.iter().find(|c| c.name == "web").unwrap();
            assert_eq!((web.image_id.as_str(), web.running), ("sha256:prev", true));
            let parked: Vec<&FakeContainer> = e
                .containers
                .iter()
                .filter(|c| c.name.starts_with("web-post-deploy-failed-"))
                .collect();
            assert_eq!(parked.len(), 1, "after {after}: {parked:?}");
            assert_eq!(
                (parked[0].id.as_str(), parked[0].running),
                ("bbbb2222", false)
            );
            let made = mutating_calls(&e, from);
            assert!(
                !made.iter().any(|c| c[1] == "rename" || c[1] == "rm"),
                "after {after}: nothing parked again, nothing removed: {made:?}"
            );
            assert_eq!(
                made.iter().filter(|c| c[1] == "create").count(),
                usize::from(after == 1),
                "after {after}: {made:?}"
            );
            assert!(
                made.last().is_some_and(|c| c[1] == "update"),
                "after {after}: the parked container is told not to restart: {made:?}"
            );
            assert!(e.violations.is_empty());
        }
    }

    #[test]
    fn a_parked_stopped_container_with_nothing_under_its_name_is_recreated() {
        // as a crash after `stop` left it before the replacement was created first
        let mut parked = fc("bbbb2222", "web-post-deploy-failed-100", None);
        parked.running = false;
        let older = fc("cccc3333", "web-post-deploy-failed-99", None);
        let engine = Engine {
            containers: vec![older, parked],
            images: images(),
            ..Engine::default()
        };
        let (cli, exec) = fake(engine, "orchestrator");
        let resumed = cli.resume_rollback("web", "app:prev").unwrap();
        assert!(
            matches!(&resumed, ResumedRollback::Finished { detail } if detail.contains("recreated it from the parked container")),
            "{resumed:?}"
        );
        let e = exec.0.lock().unwrap();
        let web = e.containers.iter().find(|c| c.name == "web").unwrap();
        assert_eq!((web.image_id.as_str(), web.running), ("sha256:prev", true));
        assert_eq!(
            web.labels.get(LABEL_ROLLBACK_OF).map(String::as_str),
            Some("web-post-deploy-failed-100"),
            "the newest parked container is the one replaced"
        );
        // the older parked container is left alone
        let older = e.containers.iter().find(|c| c.id == "cccc3333").unwrap();
        assert_eq!(older.name, "web-post-deploy-failed-99");
        assert!(!e.calls.iter().any(|c| {
            c.iter()
                .any(|a| a == "web-post-deploy-failed-99" || a == "cccc3333")
        }));
    }

    #[test]
    fn a_recreate_that_cannot_be_finished_puts_the_parked_container_back() {
        // killed after the rename; the previous image is gone, or creating fails
        for failing_create in [false, true] {
            let engine = Engine {
                containers: vec![fc("bbbb2222", "web-post-deploy-failed-100", None)],
                images: images(),
                ..Engine::default()
            };
            let (cli, exec) = fake(engine, "orchestrator");
            let cli = if failing_create {
                DockerCli {
                    exec: Arc::new(FailingCreate(exec.clone())),
                    ..cli
                }
            } else {
                exec.0.lock().unwrap().images.remove("app:prev");
                cli
            };
            let resumed = cli.resume_rollback("web", "app:prev").unwrap();
            assert!(
                matches!(&resumed, ResumedRollback::Reverted { detail }
                    if detail.contains("put the parked container back: web runs app:cur again")),
                "failing create {failing_create}: {resumed:?}"
            );
            let e = exec.0.lock().unwrap();
            assert_eq!(e.containers.len(), 1, "{:?}", e.containers);
            let old = &e.containers[0];
            assert_eq!(
                (old.id.as_str(), old.name.as_str(), old.running),
                ("bbbb2222", "web", true)
            );
        }
    }

    #[test]
    fn what_shows_no_step_of_the_rollback_is_left_alone() {
        let mut stopped_on_previous = fc("dddd4444", "api", None);
        stopped_on_previous.image_id = "sha256:prev".into();
        stopped_on_previous.image_ref = "app:prev".into();
        stopped_on_previous.running = false;
        let engine = Engine {
            containers: vec![
                fc("bbbb2222", "web", None),
                fc("cccc3333", "p_web_1", Some(("p", "web"))),
                stopped_on_previous,
            ],
            images: images(),
            ..Engine::default()
        };
        let (cli, exec) = fake(engine, "orchestrator");
        // the failed container runs under its name: never changed, or put back already
        let web = cli.resume_rollback("web", "app:prev").unwrap();
        assert!(
            matches!(&web, ResumedRollback::Reverted { detail } if detail.contains("web runs app:cur again") && detail.contains("not run again")),
            "{web:?}"
        );
        // a compose service, a container this rollback did not create, nothing at all
        for name in ["p_web_1", "api", "ghost"] {
            let r = cli.resume_rollback(name, "app:prev").unwrap();
            assert!(
                matches!(r, ResumedRollback::NotSettled { .. }),
                "{name}: {r:?}"
            );
        }
        let e = exec.0.lock().unwrap();
        assert_eq!(mutating_calls(&e, 0), Vec::<Vec<String>>::new());
    }

    #[test]
    fn resuming_never_touches_the_orchestrators_own_container() {
        // the orchestrator itself, and an orchestrator that happens to look parked
        let engine = Engine {
            containers: vec![
                fc("aaaa1111", "orchestrator", None),
                fc("eeee5555", "web-post-deploy-failed-7", None),
            ],
            images: images(),
            self_id: "eeee5555".into(),
            ..Engine::default()
        };
        let (cli, exec) = fake(engine, "web-post-deploy-failed-7");
        assert!(matches!(
            cli.resume_rollback("web", "app:prev"),
            Err(ControlError::SelfContainer(_))
        ));
        let (cli2, exec2) = fake(
            Engine {
                containers: vec![fc("aaaa1111", "orchestrator", None)],
                images: images(),
                self_id: "aaaa1111".into(),
                ..Engine::default()
            },
            "orchestrator",
        );
        assert!(matches!(
            cli2.resume_rollback("orchestrator", "app:prev"),
            Err(ControlError::SelfContainer(_))
        ));
        for e in [exec.0.lock().unwrap(), exec2.0.lock().unwrap()] {
            assert_eq!(mutating_calls(&e, 0), Vec::<Vec<String>>::new());
            assert!(e.violations.is_empty());
        }
    }

    #[test]
    fn read_errors_are_the_monitors_own() {
        let (cli, _) = fake(
            Engine {
                images: images(),
                ..Engine::default()
            },
            "orchestrator",
        );
        assert_eq!(
            cli.inspect("ghost"),
            Err(ControlError::ContainerNotFound("ghost".into()))
        );
        assert_eq!(cli.image_id("nope:1"), Ok(None));
        assert_eq!(cli.image_id("app:prev"), Ok(Some("sha256:prev".into())));
        let cursor = LogCursor::at(t("2026-01-01T00:00:00Z"));
        assert_eq!(
            cli.read_logs("ghost", &cursor, &mut |_| {}),
            Err(ControlError::ContainerNotFound("ghost".into()))
        );
        let missing = DockerCli::new(
            "/nonexistent/docker".into(),
            ComposeProgram::Auto,
            "orchestrator".into(),
        );
        assert!(
            matches!(missing.inspect("web"), Err(ControlError::ProgramMissing { program, .. }) if program == "/nonexistent/docker")
        );
        assert!(matches!(
            missing.read_logs("web", &cursor, &mut |_| {}),
            Err(ControlError::ProgramMissing { .. })
        ));
    }

    #[derive(Debug, Clone)]
    enum Ref {
        Name(usize),
        Slash(usize),
        Id(usize),
        Prefix(usize, usize),
        Raw(String),
    }

    #[derive(Debug, Clone)]
    enum Call {
        Inspect(Ref),
        ImageId(bool),
        Logs(Ref),
        Rollback(Ref, bool),
        Resume(Ref, bool),
        RunCommand(Ref),
    }

    const NAMES: [&str; 4] = ["orchestrator", "web", "api", "p_web_1"];

    fn a_ref() -> impl Strategy<Value = Ref> {
        prop_oneof![
            (0..4_usize).prop_map(Ref::Name),
            (0..4_usize).prop_map(Ref::Slash),
            (0..4_usize).prop_map(Ref::Id),
            (0..4_usize, 1..13_usize).prop_map(|(i, n)| Ref::Prefix(i, n)),
            "[a-f0-9]{1,4}|orchestrator[-a-z0-9]{0,3}|[a-z]{1,6}".prop_map(Ref::Raw),
        ]
    }

    fn a_call() -> impl Strategy<Value = Call> {
        prop_oneof![
            a_ref().prop_map(Call::Inspect),
            any::<bool>().prop_map(Call::ImageId),
            a_ref().prop_map(Call::Logs),
            (a_ref(), any::<bool>()).prop_map(|(r, p)| Call::Rollback(r, p)),
            (a_ref(), any::<bool>()).prop_map(|(r, p)| Call::Resume(r, p)),
            a_ref().prop_map(Call::RunCommand),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Whatever is asked, in whatever order, naming containers however docker would
        /// resolve them: no mutating docker call (nor a rollback command) reaches the
        /// orchestrator's own container, and it ends as it started.
        #[test]
        fn the_self_container_never_receives_a_mutating_call(
            ids in proptest::collection::vec("[a-f0-9]{64}", 4),
            services in proptest::collection::vec(proptest::option::weighted(0.7, (0..3_usize, 0..2_usize)), 4),
            present in proptest::collection::vec(any::<bool>(), 4),
            self_by_id in any::<bool>(),
            calls in proptest::collection::vec(a_call(), 1..8),
        ) {
            let mut containers = Vec::new();
            for i in 0..4 {
                // the orchestrator is there in most cases, maybe in the same compose service as another
                if i == 0 || present[i] {
                    // mostly one project, so the orchestrator often shares a service with a target
                    let svc = services[i].map(|(p, s)| (["p", "p", "q"][p], ["web", "api"][s]));
                    containers.push(fc(&ids[i], NAMES[i], svc));
                }
            }
            let self_id = ids[0].clone();
            let self_container = if self_by_id { ids[0][..12].to_owned() } else { "orchestrator".to_owned() };
            let engine = Engine { containers, images: images(), self_id: self_id.clone(), ..Engine::default() };
            let before = engine.containers[0].clone();
            let (cli, exec) = fake(engine, &self_container);
            let resolve = |r: &Ref| -> String {
                match r {
                    Ref::Name(i) => NAMES[*i].to_owned(),
                    Ref::Slash(i) => format!("/{}", NAMES[*i]),
                    Ref::Id(i) => ids[*i].clone(),
                    Ref::Prefix(i, n) => ids[*i][..*n].to_owned(),
                    Ref::Raw(s) => s.clone(),
                }
            };
            let cursor = LogCursor::at(t("2026-01-01T00:00:00Z"));
            for call in &calls {
                match call {
                    Call::Inspect(r) => { let _ = cli.inspect(&resolve(r)); }
                    Call::ImageId(p) => { let _ = cli.image_id(if *p { "app:prev" } else { "gone:1" }); }
                    Call::Logs(r) => { let _ = cli.read_logs(&resolve(r), &cursor, &mut |_| {}); }
                    Call::Rollback(r, p) => {
                        let target = resolve(r);
                        let result = cli.rollback(&target, if *p { "app:prev" } else { "gone:1" });
                        let e = exec.0.lock().unwrap();
                        if e.find(&target).is_some_and(|i| e.containers[i].id == self_id) {
                            prop_assert!(matches!(result, Err(ControlError::SelfContainer(_))), "{result:?}");
                        }
                    }
                    Call::Resume(r, p) => {
                        let target = resolve(r);
                        let result = cli.resume_rollback(&target, if *p { "app:prev" } else { "gone:1" });
                        let e = exec.0.lock().unwrap();
                        if e.find(&target).is_some_and(|i| e.containers[i].id == self_id) {
                            prop_assert!(matches!(result, Err(ControlError::SelfContainer(_))), "{result:?}");
                        }
                    }
                    Call::RunCommand(r) => {
                        let env = vec![("POST_DEPLOY_CONTAINER".to_owned(), resolve(r))];
                        let _ = cli.run_command(&CommandLine::parse("rollback-cmd --now").unwrap(), &env, Duration::from_secs(5));
                    }
                }
            }
            let e = exec.0.lock().unwrap();
            prop_assert!(e.violations.is_empty(), "{:?}\ncalls: {:#?}", e.violations, e.calls);
            let after = e.containers.iter().find(|c| c.id == self_id);
            prop_assert_eq!(after, Some(&before));
        }
    }

    // ---- against the real engine ----

    static UNIQUE: AtomicU64 = AtomicU64::new(0);

    /// Whether a docker engine answers. Under CI a missing engine fails the test.
    fn engine_available() -> bool {
        let answers = matches!(
            process::run(
                &Invocation::new("docker", Duration::from_secs(20)).args(["info"]),
                StdoutTo::Capture { limit: 1 << 20 },
                false
            ),
            Ok(Ended::Finished(Captured {
                status: Status::Code(0),
                ..
            }))
        );
        if !answers {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI is set but `docker info` fails: docker tests cannot run"
            );
            // Straight to the stream, past the test harness's capture, so the skip is seen.
            let _ = std::io::Write::write_all(
                &mut std::io::stderr(),
                b"note: docker test SKIPPED: `docker info` fails (run .ci/docker-up; CI=true makes this fail)\n",
            );
        }
        answers
    }

    fn docker(args: &[&str]) -> Captured {
        match process::run(
            &Invocation::new("docker", Duration::from_secs(60)).args(args.iter().copied()),
            StdoutTo::Capture { limit: 1 << 20 },
            false,
        )
        .unwrap()
        {
            Ended::Finished(c) => c,
            Ended::TimedOut => panic!("docker {args:?} timed out"),
        }
    }

    struct Removed(String);

    impl Drop for Removed {
        fn drop(&mut self) {
            docker(&["rm", "-f", &self.0]);
        }
    }

    /// On the real engine, across many reads while the container writes on both streams,
    /// every line is read exactly once, without its timestamp.
    #[test]
    fn real_engine_logs_are_read_once_across_reads() {
        if !engine_available() {
            return;
        }
        let name = format!(
            "pdunit-logs-{}-{}",
            std::process::id(),
            UNIQUE.fetch_add(1, Ordering::Relaxed)
        );
        let _guard = Removed(name.clone());
        let script = "i=0; while [ $i -lt 3000 ]; do echo \"out $i\"; echo \"err $i\" >&2; i=$((i+1)); done; sleep 300";
        let run = docker(&[
            "run",
            "-d",
            "--name",
            &name,
            "--entrypoint",
            "/bin/sh",
            "post-deploy-fixture:healthy",
            "-c",
            script,
        ]);
        assert!(run.status.success(), "{}", run.stderr_tail);
        let cli = DockerCli::new("docker".into(), ComposeProgram::Auto, "orchestrator".into());
        let mut cursor = LogCursor::at(t("2000-01-01T00:00:00Z"));
        let mut seen: Vec<String> = Vec::new();
        for _ in 0..400 {
            let mut chunk = Vec::new();
            cursor = cli
                .read_logs(&name, &cursor, &mut |text| chunk.extend_from_slice(text))
                .unwrap();
            seen.extend(String::from_utf8(chunk).unwrap().lines().map(str::to_owned));
            if seen.len() >= 6000 {
                break;
            }
        }
        // one more read after everything was written adds nothing
        cursor = cli
            .read_logs(&name, &cursor, &mut |text| {
                seen.push(String::from_utf8_lossy(text).trim().to_owned())
            })
            .unwrap();
        let _ = cursor;
        let unique: BTreeSet<&String> = seen.iter().collect();
        assert_eq!(seen.len(), 6000, "lines counted twice or lost");
        assert_eq!(unique.len(), 6000);
        assert!(unique.contains(&"out 0".to_owned()) && unique.contains(&"err 2999".to_owned()));
    }

    #[test]
    fn real_engine_inspect_and_missing_things() {
        if !engine_available() {
            return;
        }
        let cli = DockerCli::new("docker".into(), ComposeProgram::Auto, "orchestrator".into());
        assert_eq!(
            cli.inspect("pdunit-no-such-container"),
            Err(ControlError::ContainerNotFound(
                "pdunit-no-such-container".into()
            ))
        );
        assert_eq!(cli.image_id("pdunit-no-such-image:1"), Ok(None));
        assert!(
            cli.image_id("post-deploy-fixture:healthy")
                .unwrap()
                .unwrap()
                .starts_with("sha256:")
        );
    }

    #[test]
    fn run_command_reports_how_it_ended() {
        let cli = DockerCli::new(
            "/nonexistent/docker".into(),
            ComposeProgram::Auto,
            "orchestrator".into(),
        );
        let cmd = |raw: &str| CommandLine::parse(raw).unwrap();
        let env = vec![(
            "POST_DEPLOY_PREVIOUS_IMAGE".to_owned(),
            "app:1; rm -rf /".to_owned(),
        )];
        let out = cli.run_command(&cmd("sh -c 'echo to-stderr-not-stdout; echo \"$POST_DEPLOY_PREVIOUS_IMAGE\" >&2; exit 7'"), &env, Duration::from_secs(10));
        assert_eq!(
            out,
            Ok(CommandOutcome::Exited {
                code: 7,
                stderr_tail: "app:1; rm -rf /".into()
            })
        );
        assert_eq!(
            cli.run_command(&cmd("sleep 30"), &[], Duration::from_millis(200)),
            Ok(CommandOutcome::TimedOut)
        );
        assert!(matches!(
            cli.run_command(&cmd("sh -c 'kill -9 $$'"), &[], Duration::from_secs(10)),
            Ok(CommandOutcome::Signalled { .. })
        ));
        assert!(
            matches!(cli.run_command(&cmd("pd-no-such-rollback"), &[], Duration::from_secs(5)), Err(ControlError::ProgramMissing { program, .. }) if program == "pd-no-such-rollback")
        );
        let me = vec![(
            "POST_DEPLOY_CONTAINER".to_owned(),
            "orchestrator".to_owned(),
        )];
        assert_eq!(
            cli.run_command(&cmd("true"), &me, Duration::from_secs(5)),
            Err(ControlError::SelfContainer("orchestrator".into()))
        );
        assert_eq!(
            cli.rollback("orchestrator", "app:1"),
            Err(ControlError::SelfContainer("orchestrator".into()))
        );
        assert_eq!(
            cli.rollback("/orchestrator", "app:1"),
            Err(ControlError::SelfContainer("/orchestrator".into()))
        );
    }
}
