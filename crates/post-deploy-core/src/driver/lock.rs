//! The window's lock: a tick retries it briefly, an operator waits for a tick in flight.

#[allow(
    clippy::wildcard_imports,
    reason = "a part of the driver, over its own vocabulary"
)]
use super::*;

impl Monitor<'_> {
    /// Takes the window's lock for a tick, which does not wait for another tick; but a lock
    /// seen taken for less than [`LOCK_GLITCH`] is not another tick.
    ///
    /// A process that another thread of the host starts inherits the lock's file for a
    /// moment, between its fork and its exec; a tick that closed the file while that lasts
    /// leaves the lock held by the child until the exec. Only a tick that holds the lock for
    /// longer than that makes this one give up.
    pub(super) fn lock_briefly(&self, key: &WindowKey) -> Result<Option<WindowLock>, MonitorError> {
        retry(
            || self.store.try_lock(key),
            LOCK_GLITCH,
            Duration::from_millis(5),
        )
    }

    /// Waits for the window's lock: arm, disarm and the operator's commands may wait for a
    /// tick in flight (a rollback command runs for at most [`ROLLBACK_COMMAND_TIMEOUT`]),
    /// unlike a tick, which waits no longer than [`LOCK_GLITCH`].
    pub(super) fn wait_for_lock(&self, key: &WindowKey) -> Result<WindowLock, MonitorError> {
        let what = format!("{} {}", key.repo, key.work_item);
        self.wait_for(|| self.store.try_lock(key), &what)
    }

    /// Waits for a lock that `try_lock` takes, for as long as a tick in flight may hold one.
    pub(super) fn wait_for(
        &self,
        try_lock: impl Fn() -> Result<Option<WindowLock>, StoreError>,
        what: &str,
    ) -> Result<WindowLock, MonitorError> {
        let limit = ROLLBACK_COMMAND_TIMEOUT.saturating_add(Duration::from_secs(60));
        retry(try_lock, limit, Duration::from_millis(20))?.ok_or_else(|| MonitorError::Busy {
            key: what.to_owned(),
            waited: limit,
        })
    }
}

/// Takes a lock with `try_lock`, trying again every `step` while it is taken, for `limit` in
/// all; `Ok(None)` when it stayed taken.
pub(super) fn retry(
    try_lock: impl Fn() -> Result<Option<WindowLock>, StoreError>,
    limit: Duration,
    step: Duration,
) -> Result<Option<WindowLock>, MonitorError> {
    let mut waited = Duration::ZERO;
    loop {
        if let Some(lock) = try_lock()? {
            return Ok(Some(lock));
        }
        if waited >= limit {
            return Ok(None);
        }
        // Sleeping is not reading the clock: the wait is counted in steps.
        std::thread::sleep(step);
        waited = waited.saturating_add(step);
    }
}

/// How long a tick retries a lock that is taken before it concludes another tick holds it.
const LOCK_GLITCH: Duration = Duration::from_millis(100);
