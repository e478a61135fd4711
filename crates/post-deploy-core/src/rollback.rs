//! Carrying out a rollback plan through [`ContainerControl`]: a command, or the built-in
//! rollback of a container or a Swarm service.

use std::time::Duration;

use crate::decide::RollbackPlan;
use crate::id::{RepoName, WorkItem};
use crate::text::{quote, quote_end};
use crate::traits::{CommandOutcome, ContainerControl};

/// How long a rollback command may run before it is killed and counted as failed.
pub const ROLLBACK_COMMAND_TIMEOUT: Duration = Duration::from_secs(300);

/// What the rollback is for: the command strategy receives it in its environment.
#[derive(Debug, Clone, Copy)]
pub struct RollbackTarget<'a> {
    /// The repo.
    pub repo: &'a RepoName,
    /// The work item.
    pub work_item: &'a WorkItem,
    /// The container, if named.
    pub container: Option<&'a str>,
    /// The Swarm service, if named instead.
    pub service: Option<&'a str>,
    /// The previous image, if named.
    pub previous_image: Option<&'a str>,
}

/// The environment a rollback command receives: the target, never spliced into its command
/// line; `POST_DEPLOY_SERVICE` only when a service is named.
#[must_use]
pub(crate) fn command_env(target: &RollbackTarget<'_>) -> Vec<(String, String)> {
    let mut env = vec![
        ("POST_DEPLOY_REPO".to_owned(), target.repo.to_string()),
        (
            "POST_DEPLOY_WORK_ITEM".to_owned(),
            target.work_item.to_string(),
        ),
        (
            "POST_DEPLOY_CONTAINER".to_owned(),
            target.container.unwrap_or_default().to_owned(),
        ),
        (
            "POST_DEPLOY_PREVIOUS_IMAGE".to_owned(),
            target.previous_image.unwrap_or_default().to_owned(),
        ),
    ];
    if let Some(service) = target.service {
        env.push(("POST_DEPLOY_SERVICE".to_owned(), service.to_owned()));
    }
    env
}

/// Runs `plan` once. `Ok` with what was done, `Err` with why it failed; never panics, never
/// retries.
///
/// # Errors
/// A description of the failure, for the reason and the `rollback_failed` alert.
pub fn run_rollback(
    plan: &RollbackPlan,
    target: &RollbackTarget<'_>,
    control: &dyn ContainerControl,
    timeout: Duration,
) -> Result<String, String> {
    match plan {
        RollbackPlan::Command { command } => {
            match control.run_command(command, &command_env(target), timeout) {
                Ok(CommandOutcome::Exited { code: 0, .. }) => {
                    Ok(format!("rollback command `{command}` exited 0"))
                }
                Ok(CommandOutcome::Exited { code, stderr_tail }) => {
                    let tail = stderr_tail.trim();
                    Err(if tail.is_empty() {
                        format!("rollback command `{command}` exited {code}")
                    } else {
                        // The end of its standard error, quoted: the last lines say why.
                        format!(
                            "rollback command `{command}` exited {code}: {}",
                            quote_end(tail)
                        )
                    })
                }
                Ok(CommandOutcome::Signalled { detail }) => {
                    Err(format!("rollback command `{command}` {}", quote(&detail)))
                }
                Ok(CommandOutcome::TimedOut) => Err(format!(
                    "rollback command `{command}` ran past {} s and was killed",
                    timeout.as_secs()
                )),
                Err(e) => Err(format!(
                    "rollback command `{command}`: {}",
                    quote(&e.to_string())
                )),
            }
        }
        RollbackPlan::Docker {
            container,
            previous_image,
            ..
        } => control
            .rollback(container, previous_image)
            .map(|()| format!("container {container} recreated on {previous_image}"))
            .map_err(|e| {
                format!(
                    "docker rollback of {container} to {previous_image}: {}",
                    quote(&e.to_string())
                )
            }),
        RollbackPlan::Service {
            service,
            previous_image,
            ..
        } => control
            .rollback_service(service, previous_image)
            .map(|how| {
                format!(
                    "service {service} rolled back to {previous_image} ({})",
                    quote(&how.to_string())
                )
            })
            .map_err(|e| {
                format!(
                    "docker rollback of service {service} to {previous_image}: {}",
                    quote(&e.to_string())
                )
            }),
    }
}
