//! Docker Swarm services: `docker service inspect`, `docker service logs` from a cursor, and
//! the built-in rollback by `docker service update`, never of the orchestrator's own service
//! nor of a service whose tasks include its own container.

use std::time::Duration;

use chrono::SecondsFormat;
use post_deploy_core::{
    ContainerInfo, ControlError, LogCursor, ROLLBACK_COMMAND_TIMEOUT, ServiceInfo, ServiceRollback,
    same_service_image,
};
use serde::Deserialize;

use super::DockerCli;
use super::exec::{READ_TIMEOUT, failed, first_of};
use super::inspect::{nullable, ps_rows};
use super::logs::{LOGS_TIMEOUT, LogTally, MAX_LOG_LINE, read_horizon, split_stamp};
use crate::process::{Ended, Pipe};

/// The label the engine puts on every task container of a service: the service's id.
pub(super) const LABEL_SERVICE_ID: &str = "com.docker.swarm.service.id";

/// How long `docker service update` may take to converge, as a rollback command.
pub(super) const SERVICE_UPDATE_TIMEOUT: Duration = ROLLBACK_COMMAND_TIMEOUT;

/// `docker service inspect`, the parts read here.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(super) struct ServiceJson {
    #[serde(rename = "ID", deserialize_with = "nullable")]
    pub(super) id: String,
    #[serde(deserialize_with = "nullable")]
    pub(super) spec: SpecJson,
    #[serde(deserialize_with = "nullable")]
    pub(super) previous_spec: Option<SpecJson>,
    #[serde(deserialize_with = "nullable")]
    pub(super) update_status: Option<UpdateStatusJson>,
    /// A fingerprint of the whole spec, as inspected: any change of it (image, replicas,
    /// environment, anything) changes it.
    #[serde(skip)]
    pub(super) spec_print: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(super) struct SpecJson {
    #[serde(deserialize_with = "nullable")]
    pub(super) name: String,
    #[serde(deserialize_with = "nullable")]
    pub(super) task_template: TaskTemplateJson,
}

impl SpecJson {
    pub(super) fn image(&self) -> &str {
        &self.task_template.container_spec.image
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(super) struct TaskTemplateJson {
    #[serde(deserialize_with = "nullable")]
    pub(super) container_spec: ContainerSpecJson,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(super) struct ContainerSpecJson {
    #[serde(deserialize_with = "nullable")]
    pub(super) image: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(super) struct UpdateStatusJson {
    #[serde(deserialize_with = "nullable")]
    pub(super) state: String,
    #[serde(deserialize_with = "nullable")]
    pub(super) message: String,
}

/// A 64-bit FNV-1a fingerprint of `bytes`, in hex: tells one spec from another, no secret in
/// it (a spec's environment may hold some).
fn fingerprint(bytes: &[u8]) -> String {
    let hash = bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    format!("{hash:016x}")
}

/// What the engine says when a service is not there.
fn no_such_service(stderr: &str) -> bool {
    let s = stderr.to_ascii_lowercase();
    s.contains("no such service") || s.contains("no such task or service")
}

impl DockerCli {
    /// `docker service inspect SERVICE`.
    pub(super) fn service_json(&self, service: &str) -> Result<ServiceJson, ControlError> {
        let what = format!("docker service inspect {service}");
        let c = self.capture(
            &what,
            &self.docker_call(["service", "inspect", "--", service], READ_TIMEOUT),
        )?;
        if !c.status.success() {
            return Err(if no_such_service(&c.stderr_tail) {
                ControlError::ServiceNotFound(service.to_owned())
            } else {
                failed(&what, &c)
            });
        }
        let raw: serde_json::Value = first_of(&what, &c)?;
        let bad = |e: serde_json::Error| ControlError::BadOutput {
            what: what.clone(),
            detail: e.to_string(),
        };
        let mut json: ServiceJson = serde_json::from_value(raw.clone()).map_err(bad)?;
        json.spec_print = raw
            .get("Spec")
            .map(|spec| fingerprint(spec.to_string().as_bytes()))
            .unwrap_or_default();
        Ok(json)
    }

    /// The task containers of the service: every task's on every node of the swarm (by the
    /// manager's task list), and any container of this engine labelled with the service's id
    /// (a task the list no longer keeps), each once.
    fn service_tasks(&self, json: &ServiceJson) -> Result<Vec<ContainerInfo>, ControlError> {
        let mut tasks = self.swarm_tasks(&json.id, &json.spec.name)?;
        for local in self.local_service_tasks(&json.id)? {
            if !tasks.iter().any(|t| !t.id.is_empty() && t.id == local.id) {
                tasks.push(local);
            }
        }
        Ok(tasks)
    }

    /// The task containers of the service `service_id` on this engine, by id and name.
    fn local_service_tasks(&self, service_id: &str) -> Result<Vec<ContainerInfo>, ControlError> {
        let what = format!("docker ps of the tasks of service {service_id}");
        let c = self.succeed(
            &what,
            &self.docker_call(
                [
                    "ps".to_owned(),
                    "--all".to_owned(),
                    "--no-trunc".to_owned(),
                    "--filter".to_owned(),
                    format!("label={LABEL_SERVICE_ID}={service_id}"),
                    "--format".to_owned(),
                    "{{json .}}".to_owned(),
                ],
                READ_TIMEOUT,
            ),
        )?;
        let mut tasks = Vec::new();
        for row in ps_rows(&what, &c.stdout)? {
            tasks.push(ContainerInfo {
                id: row.id,
                name: row.names.trim_start_matches('/').to_owned(),
                image_id: String::new(),
                image_ref: String::new(),
                running: true,
            });
        }
        Ok(tasks)
    }

    /// [`ContainerControl::inspect_service`](post_deploy_core::ContainerControl::inspect_service).
    pub(super) fn service_info(&self, service: &str) -> Result<ServiceInfo, ControlError> {
        let json = self.service_json(service)?;
        let image = json.spec.image().to_owned();
        let image_id = match self.image_json(&image) {
            Ok(Some(i)) => i.id,
            // Not on this engine (another node's, or not pulled): the spec still says it.
            Ok(None) | Err(_) => String::new(),
        };
        Ok(ServiceInfo {
            tasks: self.service_tasks(&json)?,
            id: json.id,
            name: json.spec.name.clone(),
            image,
            image_id,
            previous_spec_image: json.previous_spec.as_ref().map(|s| s.image().to_owned()),
            spec: json.spec_print,
        })
    }

    /// Refuses when `service` is the orchestrator's own service, by the name it was given or
    /// the name the engine reports, or when one of its tasks is the orchestrator's own
    /// container.
    fn refuse_self_service(&self, service: &str, json: &ServiceJson) -> Result<(), ControlError> {
        let me = self.self_service.as_str();
        let own = service == me
            || json.spec.name == me
            || (!json.id.is_empty() && json.id == me)
            || (!me.is_empty()
                && me.bytes().all(|b| b.is_ascii_hexdigit())
                && json.id.starts_with(me));
        if own {
            return Err(ControlError::SelfService(service.to_owned()));
        }
        let identity = self.identity();
        let tasks = self.service_tasks(json)?;
        if tasks.iter().any(|t| identity.is_task(t)) {
            return Err(ControlError::SelfService(service.to_owned()));
        }
        Ok(())
    }

    /// [`ContainerControl::rollback_service`](post_deploy_core::ContainerControl::rollback_service):
    /// `docker service update --rollback` when the previous spec runs `previous_image`, else
    /// `--image previous_image`; then the update must have converged.
    pub(super) fn roll_back_service(
        &self,
        service: &str,
        previous_image: &str,
    ) -> Result<ServiceRollback, ControlError> {
        let what = format!("rollback of service {service}");
        if service == self.self_service {
            return Err(ControlError::SelfService(service.to_owned()));
        }
        if previous_image.starts_with('-') || previous_image.is_empty() {
            return Err(ControlError::Failed {
                what,
                detail: format!("{previous_image:?} is not an image reference"),
            });
        }
        let json = self.service_json(service)?;
        self.refuse_self_service(service, &json)?;
        let how = match &json.previous_spec {
            Some(p) if same_service_image(p.image(), previous_image) => {
                ServiceRollback::PreviousSpec
            }
            _ => ServiceRollback::Image,
        };
        // The service by its id, as inspected and checked: a name cannot move under it.
        let mut args = vec![
            "service".to_owned(),
            "update".to_owned(),
            "--detach=false".to_owned(),
        ];
        match how {
            ServiceRollback::PreviousSpec => args.push("--rollback".to_owned()),
            _ => {
                args.push("--image".to_owned());
                args.push(previous_image.to_owned());
            }
        }
        args.push("--".to_owned());
        args.push(json.id.clone());
        let update = format!("docker service update of {service}");
        self.succeed(&update, &self.docker_call(args, SERVICE_UPDATE_TIMEOUT))?;
        let after = self.service_json(&json.id)?;
        let state = after.update_status.as_ref().map(|u| u.state.as_str());
        let converged = match state {
            Some("completed" | "rollback_completed") | None => true,
            Some(_) => false,
        };
        if !converged {
            let status = after.update_status.unwrap_or_default();
            return Err(ControlError::Failed {
                what,
                detail: format!(
                    "the update did not converge: {} ({})",
                    status.state, status.message
                ),
            });
        }
        if !same_service_image(after.spec.image(), previous_image) {
            return Err(ControlError::Failed {
                what,
                detail: format!(
                    "after the update the service runs {}, not {previous_image}",
                    after.spec.image()
                ),
            });
        }
        Ok(how)
    }

    /// [`ContainerControl::read_service_logs`](post_deploy_core::ContainerControl::read_service_logs):
    /// every task's lines after `cursor`, up to a moment ago, as for a container.
    pub(super) fn service_logs_since(
        &self,
        service: &str,
        cursor: &LogCursor,
        sink: &mut dyn FnMut(&[u8]),
    ) -> Result<LogCursor, ControlError> {
        // As `docker logs`: `--since` is inclusive, the tally skips the lines read already and
        // leaves the ones stamped after the horizon for the next read. `--raw` leaves out the
        // task and node before each line, so the line is the service's own.
        let since = cursor.since.to_rfc3339_opts(SecondsFormat::Nanos, true);
        let horizon = read_horizon(self.clock.now(), cursor)?;
        let what = format!("docker service logs {service}");
        let inv = self.docker_call(
            [
                "service",
                "logs",
                "--raw",
                "--timestamps",
                "--since",
                since.as_str(),
                "--",
                service,
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
            Ended::Finished(_) if no_such_service(&complaints) => {
                Err(ControlError::ServiceNotFound(service.to_owned()))
            }
            Ended::Finished(status) => Err(ControlError::Failed {
                what,
                detail: format!("{status}: {}", complaints.trim()),
            }),
        }
    }
}
