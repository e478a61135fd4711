//! The effects a host injects: HTTP, the clock, container control and alert delivery.
//!
//! Each trait is small and fallible: implementations return values, never panic. The
//! binary's implementations are ureq, the system clock, the docker CLI (Swarm services
//! included) and a webhook.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::config::CommandLine;
use crate::signals::HealthSample;
use crate::vocabulary::Alert;

/// The wall clock. Only the orchestration step ([`crate::Monitor`]) asks it; every pure
/// function takes `now` as a value.
pub trait Clock {
    /// The current time.
    fn now(&self) -> DateTime<Utc>;
}

/// A failure of the monitor itself, not of the target: the signal is missing for the tick.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ProbeError(pub String);

/// One health probe: GET a URL within a time limit.
pub trait HttpProbe {
    /// GETs `url`, giving up after `timeout` for the whole exchange. A status, a refused
    /// connection, a reset or a time-out is a [`HealthSample`] (the target answered badly);
    /// `Err` is reserved for the monitor's own faults.
    ///
    /// # Errors
    /// [`ProbeError`] when the probe could not be made at all for reasons of the monitor's own.
    fn get(&self, url: &str, timeout: Duration) -> Result<HealthSample, ProbeError>;

    /// GETs `url` for its answer (a Prometheus query): redirects not followed, the status as
    /// the server gave it, at most `max_body` bytes of the body read, `timeout` for the whole
    /// exchange. The status and the body.
    ///
    /// The default cannot fetch, so a host's own client that only probes health still
    /// compiles; a window that reads Prometheus then misses that signal, saying why.
    ///
    /// # Errors
    /// [`ProbeError`] when no answer came (refused, timed out, not HTTP) or its body is
    /// longer than `max_body`.
    fn fetch(
        &self,
        url: &str,
        timeout: Duration,
        max_body: usize,
    ) -> Result<(u16, Vec<u8>), ProbeError> {
        let _ = (url, timeout, max_body);
        Err(ProbeError(
            "this host's HTTP client cannot fetch (HttpProbe::fetch is not implemented)".to_owned(),
        ))
    }
}

/// What the engine says about a container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerInfo {
    /// The container's full id, as the engine reports it; empty when unknown (a state file
    /// written before it was recorded).
    #[serde(default)]
    pub id: String,
    /// The container's name, without docker's leading `/`; empty when unknown.
    #[serde(default)]
    pub name: String,
    /// The image id the container runs (`sha256:…`).
    pub image_id: String,
    /// The image reference it was created from (e.g. `app:1.4`).
    pub image_ref: String,
    /// Whether it is running.
    pub running: bool,
}

/// What the engine says about a Docker Swarm service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceInfo {
    /// The service's full id.
    pub id: String,
    /// The service's name.
    pub name: String,
    /// The image of its spec (`Spec.TaskTemplate.ContainerSpec.Image`), as the spec says it:
    /// with an `@sha256:` digest when the engine resolved one, without when it did not.
    pub image: String,
    /// The id of that image on this engine (`sha256:…`); empty when it is not there.
    pub image_id: String,
    /// The image of its previous spec (what `docker service update --rollback` goes back to),
    /// when it has one.
    pub previous_spec_image: Option<String>,
    /// Its task containers on every node of the swarm, by id and name (the engine's name of a
    /// task container, `service.slot.task`): the self guard looks for the orchestrator's own
    /// container among them.
    pub tasks: Vec<ContainerInfo>,
    /// A fingerprint of its whole spec (image, replicas, environment, anything): another one
    /// later means the spec was changed. Empty when unknown.
    #[serde(default)]
    pub spec: String,
}

impl ServiceInfo {
    /// The service as a window compares its target: its id and name, the image of its spec
    /// (`image_ref`) and that image's id on this engine (`image_id`).
    #[must_use]
    pub fn as_target(&self) -> ContainerInfo {
        ContainerInfo {
            id: self.id.clone(),
            name: self.name.clone(),
            image_id: self.image_id.clone(),
            image_ref: self.image.clone(),
            running: true,
        }
    }
}

/// Whether two image references a service spec may hold name the same image: equal, or equal
/// but for an `@sha256:` digest that only one of them carries (the engine adds the digest when
/// it resolves a tag on a registry). Two different digests are different images.
#[must_use]
pub fn same_service_image(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    let ((name_a, digest_a), (name_b, digest_b)) = (split_digest(a), split_digest(b));
    match (digest_a, digest_b) {
        (Some(x), Some(y)) => x == y,
        _ => !name_a.is_empty() && name_a == name_b,
    }
}

/// `name@digest` as its name and its digest.
fn split_digest(image: &str) -> (&str, Option<&str>) {
    image
        .split_once('@')
        .map_or((image, None), |(name, digest)| (name, Some(digest)))
}

/// How the built-in rollback of a Swarm service was carried out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ServiceRollback {
    /// `docker service update --rollback`: its previous spec runs the previous image.
    PreviousSpec,
    /// `docker service update --image PREVIOUS`.
    Image,
}

impl std::fmt::Display for ServiceRollback {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::PreviousSpec => "docker service update --rollback (its previous spec)",
            Self::Image => "docker service update --image",
        })
    }
}

/// Where the previous log read stopped, so no line is counted twice or skipped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogCursor {
    /// Lines stamped before this instant were read.
    pub since: DateTime<Utc>,
    /// Of the lines stamped exactly `since`, how many were read already (ties).
    #[serde(default)]
    pub seen_at_since: u64,
    /// How many log lines the read that returned this cursor went through: a hint for the
    /// size of the next read (0: none).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub lines_read: u64,
    /// What the read that returned this cursor wants said in the tick's reason: how the log
    /// was read when not the usual way, or that lines may be missing. Not persisted.
    #[serde(skip)]
    pub note: Option<String>,
    /// While the wall clock is behind `since` (it stepped back): where the reads go on from by
    /// place in the log, since the stamps of new lines fall among those of lines read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub behind: Option<BehindMark>,
}

/// Where a log read goes on from while the wall clock is behind the cursor: the lines that
/// follow a known line in the log, by their place rather than their stamps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BehindMark {
    /// The stamp of the last line in the log, in its order, that was stamped at or after the
    /// cursor when the clock was first seen behind it: every line after it was logged after
    /// the clock stepped back.
    pub anchor: DateTime<Utc>,
    /// How many lines after the anchor, stamped before the cursor, were read already.
    pub read: u64,
}

#[expect(
    clippy::trivially_copy_pass_by_ref,
    reason = "serde's skip_serializing_if passes a reference"
)]
fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl LogCursor {
    /// A cursor that starts at `at`, with nothing read yet.
    #[must_use]
    pub fn at(at: DateTime<Utc>) -> Self {
        Self {
            since: at,
            seen_at_since: 0,
            lines_read: 0,
            note: None,
            behind: None,
        }
    }
}

/// How a rollback command ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum CommandOutcome {
    /// It exited with this code (0 is success).
    Exited {
        /// The exit code.
        code: i32,
        /// The end of its standard error, for the reason.
        stderr_tail: String,
    },
    /// It was killed by a signal.
    Signalled {
        /// What ended it, for people.
        detail: String,
    },
    /// It ran past its time limit and was killed.
    TimedOut,
}

/// A fault of container control: the monitor's own, never the target's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ControlError {
    /// The docker CLI (or another program) could not be started.
    #[error("program `{program}` could not be run: {detail}")]
    ProgramMissing {
        /// The program.
        program: String,
        /// What the system said.
        detail: String,
    },
    /// No such container on the engine.
    #[error("container `{0}` not found")]
    ContainerNotFound(String),
    /// The adapter refused to mutate the orchestrator's own container.
    #[error("refused: `{0}` is the orchestrator's own container and is never mutated")]
    SelfContainer(String),
    /// No such Swarm service (or the engine is not a Swarm manager).
    #[error("service `{0}` not found")]
    ServiceNotFound(String),
    /// The adapter refused to update the orchestrator's own Swarm service, or a service whose
    /// tasks include the orchestrator's own container.
    #[error(
        "refused: `{0}` is the orchestrator's own service, or runs its own container, and is never \
         updated"
    )]
    SelfService(String),
    /// This control does not do what was asked (a control without Swarm services).
    #[error("{0} is not supported by this container control")]
    Unsupported(String),
    /// A command ran and failed.
    #[error("{what} failed: {detail}")]
    Failed {
        /// What was being done.
        what: String,
        /// Exit status and the end of its standard error.
        detail: String,
    },
    /// A command ran past its time limit.
    #[error("{what} timed out after {} s", .after.as_secs())]
    TimedOut {
        /// What was being done.
        what: String,
        /// The limit.
        after: Duration,
    },
    /// The wall clock is behind the previous log read: it stepped back. Lines logged since
    /// are stamped before what was read already and cannot be told from it, so none is
    /// read until the clock passes the previous read again.
    #[error(
        "the clock is {:.1} s behind the previous log read (it stepped back): lines logged since \
         cannot be told from lines read already until it catches up",
        .behind.as_secs_f64()
    )]
    ClockBehind {
        /// How far behind.
        behind: Duration,
    },
    /// Output could not be read or understood.
    #[error("{what}: unreadable output: {detail}")]
    BadOutput {
        /// What was being read.
        what: String,
        /// Why it was not understood.
        detail: String,
    },
}

/// How [`ContainerControl::resume_rollback`] settled a built-in rollback that a crash
/// interrupted, from what the engine shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "settled", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ResumedRollback {
    /// The container runs the previous image: the interrupted run got that far, or this call
    /// finished it. The rollback took effect.
    Finished {
        /// What the engine showed and what was done, for the reason.
        detail: String,
    },
    /// The rollback did not take effect: the container runs the image it failed on again,
    /// because this call put the parked container back (finishing failed), or because the
    /// engine shows it never changed.
    Reverted {
        /// What the engine showed and what was done, for the reason.
        detail: String,
    },
    /// This control does not settle it (a compose service, a state it does not recognise, or
    /// a control without the built-in rollback): the monitor decides from
    /// [`ContainerControl::inspect`] alone, and runs nothing.
    NotSettled {
        /// Why, for the reason; may be empty.
        detail: String,
    },
}

/// Container control: inspection, logs and the rollback itself.
pub trait ContainerControl {
    /// What `container` runs.
    ///
    /// # Errors
    /// [`ControlError`] when the engine cannot be asked or the container is not there.
    fn inspect(&self, container: &str) -> Result<ContainerInfo, ControlError>;

    /// The id of `image` on the engine, `None` when it is not there.
    ///
    /// # Errors
    /// [`ControlError`] when the engine cannot be asked.
    fn image_id(&self, image: &str) -> Result<Option<String>, ControlError>;

    /// Streams the container's log text (stdout and stderr, without timestamps) logged after
    /// `cursor` into `sink`, in chunks of any size, and returns the cursor after the last
    /// line read.
    ///
    /// # Errors
    /// [`ControlError`] when the logs cannot be read; the cursor is then unchanged.
    fn read_logs(
        &self,
        container: &str,
        cursor: &LogCursor,
        sink: &mut dyn FnMut(&[u8]),
    ) -> Result<LogCursor, ControlError>;

    /// The built-in rollback: puts `container` back on `previous_image`.
    ///
    /// # Errors
    /// [`ControlError`] when it could not be done; the container is left running something.
    fn rollback(&self, container: &str, previous_image: &str) -> Result<(), ControlError>;

    /// Settles a built-in [`rollback`](Self::rollback) of `container` to `previous_image`
    /// that a crash interrupted, from what the engine shows: finishes it where the engine
    /// shows enough to, or puts the failed container back, so that a container runs under the
    /// name either way. It never starts a rollback of its own: a container that shows no sign
    /// of this rollback is left as it is. The same guards hold as for `rollback` (the
    /// orchestrator's own container is never touched).
    ///
    /// The default settles nothing ([`ResumedRollback::NotSettled`]), for a control that
    /// leaves nothing half-done to resume.
    ///
    /// # Errors
    /// [`ControlError`] when the engine cannot be asked; nothing was changed then.
    fn resume_rollback(
        &self,
        container: &str,
        previous_image: &str,
    ) -> Result<ResumedRollback, ControlError> {
        let _ = (container, previous_image);
        Ok(ResumedRollback::NotSettled {
            detail: String::new(),
        })
    }

    /// What the Swarm service `service` runs, and its task containers on this engine.
    ///
    /// The default answers [`ControlError::Unsupported`], for a control without Swarm.
    ///
    /// # Errors
    /// [`ControlError`] when the engine cannot be asked or the service is not there.
    fn inspect_service(&self, service: &str) -> Result<ServiceInfo, ControlError> {
        Err(unsupported(service))
    }

    /// The id of `image` as the previous image of a Swarm service: its id on this engine, or,
    /// when this engine does not have it, the id its registry answers for (the nodes pull it
    /// from there); `None` when neither has it.
    ///
    /// The default asks [`image_id`](Self::image_id) alone.
    ///
    /// # Errors
    /// [`ControlError`] when the engine or the registry cannot be asked; the error names the
    /// registry.
    fn service_image_id(&self, image: &str) -> Result<Option<String>, ControlError> {
        self.image_id(image)
    }

    /// As [`read_logs`](Self::read_logs), for every task of the Swarm service `service`.
    ///
    /// The default answers [`ControlError::Unsupported`].
    ///
    /// # Errors
    /// [`ControlError`] when the logs cannot be read; the cursor is then unchanged.
    fn read_service_logs(
        &self,
        service: &str,
        cursor: &LogCursor,
        sink: &mut dyn FnMut(&[u8]),
    ) -> Result<LogCursor, ControlError> {
        let _ = (cursor, sink);
        Err(unsupported(service))
    }

    /// The built-in rollback of the Swarm service `service` to `previous_image`:
    /// `docker service update --rollback` when its previous spec runs that image, else
    /// `--image previous_image`; it returns once the update converged (bounded in time).
    /// Never for the orchestrator's own service, nor a service whose tasks include its own
    /// container.
    ///
    /// The default answers [`ControlError::Unsupported`].
    ///
    /// # Errors
    /// [`ControlError`] when it could not be done or did not converge.
    fn rollback_service(
        &self,
        service: &str,
        previous_image: &str,
    ) -> Result<ServiceRollback, ControlError> {
        let _ = previous_image;
        Err(unsupported(service))
    }

    /// Runs a rollback command with `env` added to its environment, never through a shell,
    /// killed after `timeout`.
    ///
    /// # Errors
    /// [`ControlError`] when it could not be started.
    fn run_command(
        &self,
        command: &CommandLine,
        env: &[(String, String)],
        timeout: Duration,
    ) -> Result<CommandOutcome, ControlError>;
}

/// What a control without Swarm answers about `service`.
fn unsupported(service: &str) -> ControlError {
    ControlError::Unsupported(format!("Swarm service `{service}`"))
}

/// A failed alert delivery. It never fails a tick.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("alert delivery failed: {0}")]
pub struct AlertError(pub String);

/// Alert delivery (stderr, a webhook, a chat tool).
pub trait AlertSink {
    /// Delivers one alert.
    ///
    /// # Errors
    /// [`AlertError`] when it could not be delivered; the tick goes on.
    fn send(&self, alert: &Alert) -> Result<(), AlertError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `target.json` files written before the id and name were recorded still load.
    #[test]
    fn container_info_without_id_and_name_still_loads() {
        let old = r#"{"image_id":"sha256:new","image_ref":"api:1.1","running":true}"#;
        let info: ContainerInfo = serde_json::from_str(old).unwrap();
        assert_eq!((info.id.as_str(), info.name.as_str()), ("", ""));
        assert_eq!(info.image_ref, "api:1.1");
    }

    #[test]
    fn service_images_compare_by_digest_when_both_carry_one() {
        let d1 = "app:1.4@sha256:aaaa";
        let d2 = "app:1.4@sha256:bbbb";
        assert!(same_service_image("app:1.4", "app:1.4"));
        assert!(same_service_image(d1, "app:1.4"));
        assert!(same_service_image("app:1.4", d1));
        assert!(!same_service_image(d1, d2));
        assert!(!same_service_image("app:1.4", "app:1.5"));
        assert!(!same_service_image("app:1.4@sha256:aaaa", "app:1.5"));
    }

    /// A control written before services keeps compiling and answers a monitor fault.
    #[test]
    fn a_control_without_swarm_answers_unsupported() {
        struct Plain;
        impl ContainerControl for Plain {
            fn inspect(&self, c: &str) -> Result<ContainerInfo, ControlError> {
                Err(ControlError::ContainerNotFound(c.into()))
            }
            fn image_id(&self, _: &str) -> Result<Option<String>, ControlError> {
                Ok(None)
            }
            fn read_logs(
                &self,
                _: &str,
                c: &LogCursor,
                _: &mut dyn FnMut(&[u8]),
            ) -> Result<LogCursor, ControlError> {
                Ok(c.clone())
            }
            fn rollback(&self, _: &str, _: &str) -> Result<(), ControlError> {
                Ok(())
            }
            fn run_command(
                &self,
                _: &CommandLine,
                _: &[(String, String)],
                _: Duration,
            ) -> Result<CommandOutcome, ControlError> {
                Ok(CommandOutcome::TimedOut)
            }
        }
        let e = Plain.inspect_service("api").unwrap_err();
        assert!(matches!(e, ControlError::Unsupported(_)), "{e}");
        assert!(Plain.rollback_service("api", "app:1").is_err());
        let cursor = LogCursor::at(chrono::DateTime::UNIX_EPOCH);
        assert!(
            Plain
                .read_service_logs("api", &cursor, &mut |_| {})
                .is_err()
        );
    }
}
