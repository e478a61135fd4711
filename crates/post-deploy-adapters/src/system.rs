//! The whole set of real adapters for a configuration, as the binary runs them.

use post_deploy_core::config::VarSource;
use post_deploy_core::{Config, Effects};

use crate::clock::SystemClock;
use crate::docker::DockerCli;
use crate::env::ProcessEnv;
use crate::http::UreqProbe;
use crate::switchboard::Switchboard;
use crate::webhook::{WEBHOOK_TIMEOUT, WebhookSink};

/// The real adapters for a [`Config`]: ureq probes, the system clock, the docker CLI and the
/// webhook sink, the last two reading their switches from one [`Switchboard`].
///
/// ```no_run
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use post_deploy_adapters::System;
/// use post_deploy_core::{Config, Monitor};
///
/// let config = Config::from_vars(std::env::vars())?;
/// let system = System::new(&config);
/// let monitor = Monitor::new(config, system.effects()).with_switches_from(system.switchboard());
/// # let _ = monitor;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct System {
    http: UreqProbe,
    clock: SystemClock,
    docker: DockerCli,
    alerts: WebhookSink,
    switchboard: Switchboard,
}

impl System {
    /// The adapters for `config`; their switches are re-read from the process environment
    /// ([`ProcessEnv`]) whenever the switchboard is asked for its variables.
    #[must_use]
    pub fn new(config: &Config) -> Self {
        Self::with_source(config, ProcessEnv)
    }

    /// The adapters for `config`; their switches are re-read from `source`, the host's own
    /// variables, whenever the switchboard is asked for its variables.
    #[must_use]
    pub fn with_source(config: &Config, source: impl VarSource + Send + Sync + 'static) -> Self {
        let switchboard = Switchboard::new(config.switches.clone(), source);
        Self {
            http: UreqProbe::new(),
            clock: SystemClock,
            docker: DockerCli::switched(switchboard.clone(), config.scope.self_container.clone())
                .with_self_service(config.scope.self_service.clone()),
            alerts: WebhookSink::switched(switchboard.clone(), WEBHOOK_TIMEOUT),
            switchboard,
        }
    }

    /// The adapters as the core takes them.
    #[must_use]
    pub fn effects(&self) -> Effects<'_> {
        Effects {
            http: &self.http,
            clock: &self.clock,
            control: &self.docker,
            alerts: &self.alerts,
        }
    }

    /// The switches the docker CLI and the webhook sink read: a [`VarSource`] to give the
    /// driver, so the switches it reads at a tick are the ones they use.
    #[must_use]
    pub fn switchboard(&self) -> &Switchboard {
        &self.switchboard
    }

    /// The clock.
    #[must_use]
    pub fn clock(&self) -> &SystemClock {
        &self.clock
    }

    /// The health probe.
    #[must_use]
    pub fn http(&self) -> &UreqProbe {
        &self.http
    }

    /// Container control.
    #[must_use]
    pub fn docker(&self) -> &DockerCli {
        &self.docker
    }

    /// Alert delivery.
    #[must_use]
    pub fn alerts(&self) -> &WebhookSink {
        &self.alerts
    }
}
