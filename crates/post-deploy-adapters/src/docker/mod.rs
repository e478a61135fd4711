//! Container control over the docker CLI.
//!
//! Reads go through `docker inspect`, `docker image inspect` and `docker logs`, whose JSON is
//! read with serde. The built-in rollback either re-tags a compose service's image and lets
//! compose recreate the service, or recreates a plain container under its own name from its
//! own inspected configuration; a recreate a crash interrupted is finished, or the failed
//! container put back, by the next tick (`resume_rollback`). Every call is argv only (see
//! [`crate::process`]) and bounded in time, and every mutating call is checked against the
//! orchestrator's own container first: the core never decides to touch it, and this adapter
//! refuses to anyway.
//!
//! Docker Swarm services are read and rolled back through `docker service inspect`, `docker
//! service logs` and `docker service update`; the orchestrator's own service, and any service
//! whose tasks include its own container, is never updated.
//!
//! Its parts, one file each: `exec` (how docker is called), `inspect` (the JSON types),
//! `logs`, `compose`, `plan` (the plain recreate plan), `recreate` (its execution, and the
//! resumption of an interrupted one), `self_guard` (the orchestrator's own container),
//! `swarm` (Swarm services), `swarm_tasks` (a service's tasks on every node, for the self
//! guard) and `registry` (whether a service's previous image can be pulled:
//! on this engine, or its registry answers for it, through `docker manifest inspect`).

mod compose;
mod exec;
mod fuzzing;
mod inspect;
mod logs;
mod plan;
mod recreate;
mod registry;
mod self_guard;
mod swarm;
mod swarm_tasks;
#[cfg(test)]
#[expect(
    clippy::arithmetic_side_effects,
    reason = "tests: an overflow is a failed test"
)]
mod tests;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use post_deploy_core::config::{CommandLine, ComposeProgram};
use post_deploy_core::{
    Clock, CommandOutcome, ContainerControl, ContainerInfo, ControlError, LogCursor,
    ResumedRollback, ServiceInfo, ServiceRollback,
};

use crate::clock::SystemClock;
use crate::process::{Captured, Ended, Invocation, Status, StdoutTo};
use crate::switchboard::Switchboard;
use compose::ComposeService;
use exec::{Exec, RealExec};
use recreate::{SETTLE, not_settled};

/// The orchestrator's own Swarm service when none is configured, as the contract's default.
const DEFAULT_SELF_SERVICE: &str = "orchestrator";

#[doc(hidden)]
pub use fuzzing::{
    FUZZ_CREATED_ID, FUZZ_PREVIOUS_IMAGE, FUZZ_SELF_CONTAINER, parse_inspect_for_fuzzing,
};

/// The docker CLI as [`ContainerControl`].
#[derive(Clone)]
pub struct DockerCli {
    /// The `docker` and `compose` programs, as the switches are now.
    board: Switchboard,
    self_container: String,
    /// The orchestrator's own Swarm service: never updated.
    self_service: String,
    exec: Arc<dyn Exec>,
    settle: Duration,
    /// Names a parked container and bounds log reads.
    clock: Arc<dyn Clock + Send + Sync>,
}

impl fmt::Debug for DockerCli {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DockerCli")
            .field("docker", &self.board.docker())
            .field("compose", &self.board.compose())
            .field("self_container", &self.self_container)
            .field("self_service", &self.self_service)
            .finish_non_exhaustive()
    }
}

impl DockerCli {
    /// Drives `docker` (a program name or path) and `compose`; never mutates
    /// `self_container`.
    #[must_use]
    pub fn new(docker: String, compose: ComposeProgram, self_container: String) -> Self {
        Self::switched(
            Switchboard::fixed_parts(docker, compose, None),
            self_container,
        )
    }

    /// Drives the `docker` and `compose` programs the switches of `board` name at each call
    /// (`ORCH_POST_DEPLOY_DOCKER`, `ORCH_POST_DEPLOY_COMPOSE`); never mutates `self_container`.
    #[must_use]
    pub fn switched(board: Switchboard, self_container: String) -> Self {
        Self {
            board,
            self_container,
            self_service: DEFAULT_SELF_SERVICE.to_owned(),
            exec: Arc::new(RealExec),
            settle: SETTLE,
            clock: Arc::new(SystemClock),
        }
    }

    /// The same, never updating the Swarm service `self_service` either
    /// (`ORCH_POST_DEPLOY_SELF_SERVICE`; without this call, `orchestrator`).
    #[must_use]
    pub fn with_self_service(self, self_service: String) -> Self {
        Self {
            self_service,
            ..self
        }
    }

    /// The same, reading the time from `clock` instead of the system clock: the name a failed
    /// container is parked under, and how far a log read goes, follow it.
    #[must_use]
    pub fn with_clock(self, clock: Arc<dyn Clock + Send + Sync>) -> Self {
        Self { clock, ..self }
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
        self.logs_since(container, cursor, sink)
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

    fn inspect_service(&self, service: &str) -> Result<ServiceInfo, ControlError> {
        self.service_info(service)
    }

    fn service_image_id(&self, image: &str) -> Result<Option<String>, ControlError> {
        self.pullable_image_id(image)
    }

    fn read_service_logs(
        &self,
        service: &str,
        cursor: &LogCursor,
        sink: &mut dyn FnMut(&[u8]),
    ) -> Result<LogCursor, ControlError> {
        self.service_logs_since(service, cursor, sink)
    }

    fn rollback_service(
        &self,
        service: &str,
        previous_image: &str,
    ) -> Result<ServiceRollback, ControlError> {
        self.roll_back_service(service, previous_image)
    }

    fn run_command(
        &self,
        command: &CommandLine,
        env: &[(String, String)],
        timeout: Duration,
    ) -> Result<CommandOutcome, ControlError> {
        if let Some((_, service)) = env
            .iter()
            .find(|(k, v)| k == "POST_DEPLOY_SERVICE" && *v == self.self_service)
        {
            return Err(ControlError::SelfService(service.clone()));
        }
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
