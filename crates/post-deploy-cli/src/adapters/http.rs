//! Health probes over ureq.

use std::time::Duration;

use post_deploy_core::{HealthSample, HttpProbe, ProbeError};

/// Health probes with ureq: GET, status as seen, body capped.
#[derive(Debug, Default)]
pub struct UreqProbe;

impl UreqProbe {
    /// A probe.
    #[must_use]
    pub fn new() -> Self {
        Self
    }
}

impl HttpProbe for UreqProbe {
    fn get(&self, _url: &str, _timeout: Duration) -> Result<HealthSample, ProbeError> {
        Err(ProbeError("the ureq probe is not wired yet".to_owned()))
    }
}
