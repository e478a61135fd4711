//! The system clock: the one place that reads the time, the wall clock and the monotonic one.

use std::time::Instant;

use chrono::{DateTime, Utc};
use post_deploy_core::Clock;

/// The wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[expect(
        clippy::disallowed_methods,
        reason = "the one wall-clock read of the program"
    )]
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// The monotonic clock, for how long something took (a probe's latency): it never steps.
#[expect(
    clippy::disallowed_methods,
    reason = "the one monotonic-clock read of the program"
)]
#[must_use]
pub fn monotonic_now() -> Instant {
    Instant::now()
}
