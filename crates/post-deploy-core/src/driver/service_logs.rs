//! The logs of a Swarm service, read through the same path as a container's.

use std::time::Duration;

use crate::config::CommandLine;
use crate::traits::{CommandOutcome, ContainerControl, ContainerInfo, ControlError, LogCursor};

/// A control whose logs are a Swarm service's: [`probe_signals`] reads a target's logs
/// through [`ContainerControl::read_logs`], which this answers with
/// [`ContainerControl::read_service_logs`]; everything else is the control's own.
pub(super) struct ServiceLogs<'c>(pub(super) &'c dyn ContainerControl);

impl ContainerControl for ServiceLogs<'_> {
    fn inspect(&self, container: &str) -> Result<ContainerInfo, ControlError> {
        self.0.inspect(container)
    }

    fn image_id(&self, image: &str) -> Result<Option<String>, ControlError> {
        self.0.image_id(image)
    }

    fn read_logs(
        &self,
        service: &str,
        cursor: &LogCursor,
        sink: &mut dyn FnMut(&[u8]),
    ) -> Result<LogCursor, ControlError> {
        self.0.read_service_logs(service, cursor, sink)
    }

    fn rollback(&self, container: &str, previous_image: &str) -> Result<(), ControlError> {
        self.0.rollback(container, previous_image)
    }

    fn run_command(
        &self,
        command: &CommandLine,
        env: &[(String, String)],
        timeout: Duration,
    ) -> Result<CommandOutcome, ControlError> {
        self.0.run_command(command, env, timeout)
    }
}
