//! A Swarm service's tasks on every node of the swarm, by the container each one runs: the
//! self guard looks for the orchestrator's own container among them, wherever it runs.
//!
//! `docker ps` sees only this engine's containers; on a swarm of several nodes the
//! orchestrator may run on another node. The manager knows every task: `docker service ps
//! --no-trunc --quiet` lists them (history included: a task being shut down may still run),
//! and `docker inspect --type task` gives each one's node, slot and container id. The
//! container's name follows from the task as the engine names it: `<service>.<slot>.<task id>`
//! (`<service>.<node id>.<task id>` for a global service's).

use post_deploy_core::{ContainerInfo, ControlError};
use serde::Deserialize;

use super::DockerCli;
use super::exec::{OUTPUT_LIMIT, READ_TIMEOUT, failed, is_not_found};
use super::inspect::nullable;

/// The most tasks of one service read: `docker service ps` keeps a few old tasks of every
/// slot, so this is some hundreds of replicas. A service with more is not checked task by
/// task: the answer is an error, and the self guard refuses on an error.
pub(super) const MAX_TASKS: usize = 2000;

/// Task ids per `docker inspect --type task` call: the command line stays short.
const TASKS_PER_INSPECT: usize = 100;

/// `docker inspect --type task`, the parts read here.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(super) struct TaskJson {
    #[serde(rename = "ID", deserialize_with = "nullable")]
    pub(super) id: String,
    #[serde(rename = "NodeID", deserialize_with = "nullable")]
    pub(super) node_id: String,
    #[serde(deserialize_with = "nullable")]
    pub(super) slot: u64,
    #[serde(deserialize_with = "nullable")]
    pub(super) status: TaskStatusJson,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(super) struct TaskStatusJson {
    #[serde(deserialize_with = "nullable")]
    pub(super) state: String,
    #[serde(deserialize_with = "nullable")]
    pub(super) container_status: ContainerStatusJson,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(super) struct ContainerStatusJson {
    #[serde(rename = "ContainerID", deserialize_with = "nullable")]
    pub(super) container_id: String,
}

impl TaskJson {
    /// The task's container as the engine of its node names it, when it has one (a task
    /// not started yet has none): `service.slot.task` or, for a global service's task,
    /// `service.node.task`.
    fn container(&self, service_name: &str) -> Option<ContainerInfo> {
        if self.id.is_empty() {
            return None;
        }
        let slot = if self.slot == 0 {
            self.node_id.clone()
        } else {
            self.slot.to_string()
        };
        Some(ContainerInfo {
            id: self.status.container_status.container_id.clone(),
            name: format!("{service_name}.{slot}.{}", self.id),
            image_id: String::new(),
            image_ref: String::new(),
            running: self.status.state == "running",
        })
    }
}

/// Whether every complaint in `stderr` is of a task that is not there (any more).
pub(super) fn only_gone(stderr: &str) -> bool {
    let mut lines = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .peekable();
    lines.peek().is_some()
        && lines.all(|l| {
            let l = l.to_ascii_lowercase();
            (l.contains("task ") && l.ends_with(" not found")) || is_not_found(&l)
        })
}

/// Whether `id` can be a Swarm object's id as `docker service ps --no-trunc` prints it:
/// lower-case letters and digits, nothing that a command line could read as a flag.
fn is_task_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

impl DockerCli {
    /// The task containers of the service `service_id` (named `service_name`) on every node
    /// of the swarm, by container id and name; tasks that have no container yet are left out.
    pub(super) fn swarm_tasks(
        &self,
        service_id: &str,
        service_name: &str,
    ) -> Result<Vec<ContainerInfo>, ControlError> {
        let what = format!("docker service ps of service {service_id}");
        let c = self.succeed(
            &what,
            &self.docker_call(
                ["service", "ps", "--no-trunc", "--quiet", "--", service_id],
                READ_TIMEOUT,
            ),
        )?;
        let bad = |detail: String| ControlError::BadOutput {
            what: what.clone(),
            detail,
        };
        if c.stdout_truncated {
            return Err(bad(format!("more than {OUTPUT_LIMIT} bytes")));
        }
        let text = String::from_utf8_lossy(&c.stdout);
        let mut ids: Vec<&str> = text.split_whitespace().collect();
        ids.sort_unstable();
        ids.dedup();
        if let Some(odd) = ids.iter().find(|id| !is_task_id(id)) {
            return Err(bad(format!(
                "{} is not a task id",
                post_deploy_core::text::quote(odd)
            )));
        }
        if ids.len() > MAX_TASKS {
            return Err(bad(format!(
                "{} tasks, more than the {MAX_TASKS} checked for the orchestrator's own \
                 container",
                ids.len()
            )));
        }
        let mut tasks = Vec::new();
        for chunk in ids.chunks(TASKS_PER_INSPECT) {
            tasks.extend(
                self.inspect_tasks(chunk)?
                    .iter()
                    .filter_map(|t| t.container(service_name)),
            );
        }
        Ok(tasks)
    }

    /// `docker inspect --type task` of `ids`. A task removed since it was listed is left
    /// out (the engine says "task … not found" of it, prints the others and exits 1).
    fn inspect_tasks(&self, ids: &[&str]) -> Result<Vec<TaskJson>, ControlError> {
        let what = format!("docker inspect of {} tasks", ids.len());
        let mut args = vec!["inspect", "--type", "task", "--"];
        args.extend_from_slice(ids);
        let c = self.capture(&what, &self.docker_call(args, READ_TIMEOUT))?;
        let bad = |detail: String| ControlError::BadOutput {
            what: what.clone(),
            detail,
        };
        if c.stdout_truncated {
            return Err(bad(format!("more than {OUTPUT_LIMIT} bytes")));
        }
        let printed = !c.stdout.iter().all(u8::is_ascii_whitespace);
        let answered = c.status.success() || (printed && only_gone(&c.stderr_tail));
        if !answered {
            return Err(failed(&what, &c));
        }
        serde_json::from_slice(&c.stdout).map_err(|e| bad(e.to_string()))
    }
}
