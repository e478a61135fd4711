//! The system clock: the one place that reads the time.

use chrono::{DateTime, Utc};
use post_deploy_core::Clock;

/// The wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[expect(
        clippy::disallowed_methods,
        reason = "the one clock read of the program"
    )]
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}
